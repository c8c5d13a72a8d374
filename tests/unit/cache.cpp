// Buffer cache: the numbered behaviours of vfs_bio.md §7 (single context,
// bare-metal configuration: null_lock + poll_wait), over a RAM disk behind a
// real fault injector (faulty_device) and a request recorder.
#include "cache_support.hpp"
#include <biostack/cache/replacement/arc.hpp>
#include <biostack/cache/replacement/clock_sweep.hpp>
#include <biostack/cache/replacement/lru.hpp>
#include <biostack/cache/replacement/s3_fifo.hpp>
#include <biostack/cache/replacement/sieve.hpp>
#include <biostack/cache/replacement/two_q.hpp>
#include <catch2/catch.hpp>
#include <test_support.hpp>

using namespace biostack;
using namespace cache_test;

namespace {
constexpr std::uint32_t bs = 4096;

template <class Repl = biostack::clock_eviction, std::size_t N = 8, class... More>
using cache_of = buffer_cache<rig_device, policies<static_storage<N, bs>, Repl, poll_wait<10000>,
                                                   io_slots<8>, ops_mode, More...>>;

// A cache whose dirty thresholds never trigger, so tests control every
// write; the threshold behaviour is tested on its own with explicit limits.
template <class C>
std::unique_ptr<C> make(rig_t& r, std::size_t cap = C::capacity) {
  auto c = std::make_unique<C>(r.dev, cap);
  auto l = c->limits();
  l.hi_dirty = l.lo_dirty = std::uint64_t{1} << 40;
  c->set_limits(l);
  return c;
}

// Puts block `lbn` in the cache, clean and valid, with pattern `seed` on disk.
template <class C>
void load(C& c, rig_t& r, std::uint64_t lbn, std::uint32_t seed) {
  fill(r.mem.get() + lbn * bs, bs, seed);
  auto h = c.read(lbn);
  REQUIRE(h);
}
// load(), then a hold on the block (bqhold): never reclaimed until dropped.
template <class C>
void load_held(C& c, rig_t& r, std::uint64_t lbn, std::uint32_t seed) {
  load(c, r, lbn, seed);
  auto h = c.get(lbn);
  REQUIRE(h);
  c.hold(*h);
}
} // namespace

TEST_CASE("vfs 1: get miss returns a locked buffer, on no queue, CACHE clear, no I/O") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  auto h = c->get(5);
  REQUIRE(h);
  CHECK_FALSE(h->valid());
  CHECK(h->lbn() == 5);
  CHECK(h->size() == bs);
  const auto st = c->inspect(5);
  CHECK(st.found);
  CHECK(st.busy);
  CHECK(r.reads() == 0);
  // Not on the reclaim queues: a second get of the same block cannot take it.
  auto again = c->get(5, {.flags = get_flags::nowait});
  CHECK(again.error() == errc::no_resources);
  CHECK(c->stats().misses == 1);
}

TEST_CASE("vfs 1: get ignores flag bits get_flags does not name: a miss is never read") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  // read marks its options in one of these bits: a get passing them reads
  // nothing all the same.
  auto h = c->get(5, {.flags = static_cast<get_flags>(0xFC)});
  REQUIRE(h);
  CHECK_FALSE(h->valid());
  CHECK(r.reads() == 0);
}

TEST_CASE("vfs 1: buffers are aligned for DMA and bad blocks are refused") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  auto h = c->get(0);
  REQUIRE(h);
  CHECK(reinterpret_cast<std::uintptr_t>(h->data()) % 32 == 0);
  CHECK(c->get(64).error() == errc::out_of_range); // 256 KiB / 4 KiB = 64 blocks
  CHECK(c->get(UINT64_MAX).error() == errc::out_of_range);
  CHECK(c->get(1, {.size = 100}).error() == errc::misaligned);
  CHECK(c->get(1, {.size = 2 * bs}).error() == errc::invalid_argument);
}

TEST_CASE("vfs 1: storage that cannot meet the device's alignment is refused loudly") {
  rig_t r;
  device_geometry g = r.ram.geometry();
  g.alignment = 64;
  r.ram.set_geometry(g);
  using C32 = buffer_cache<rig_device, policies<static_storage<2, bs, 32>>>;
  using C64 = buffer_cache<rig_device, policies<static_storage<2, bs, 64>>>;
  CHECK(biostack_test::panics([&] { auto c = std::make_unique<C32>(r.dev); }));
  auto c = std::make_unique<C64>(r.dev);
  auto h = c->read(1);
  REQUIRE(h);
  CHECK(reinterpret_cast<std::uintptr_t>(h->data()) % 64 == 0);
}

TEST_CASE("vfs 2: release then get of the same block returns the same buffer, CACHE set") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  auto h = c->get(3);
  REQUIRE(h);
  const auto slot = h->slot();
  fill(h->data(), bs, 9);
  h->mark_valid();
  c->release(std::move(*h));
  auto h2 = c->get(3);
  REQUIRE(h2);
  CHECK(h2->slot() == slot);
  CHECK(h2->valid());
  CHECK(has_pattern(h2->data(), bs, 9));
  CHECK(c->stats().hits == 1);
  CHECK(r.reads() == 0);
}

TEST_CASE("vfs 2: a buffer released without being filled caches nothing") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  { auto h = c->get(3); }
  CHECK_FALSE(c->contains(3));
}

TEST_CASE("vfs 3: get with another size writes a dirty buffer first, then re-creates it") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  auto h = c->get(2);
  REQUIRE(h);
  fill(h->data(), bs, 4);
  c->write_delayed(std::move(*h));
  CHECK(r.writes() == 0);
  auto small = c->get(2, {.size = 1024});
  REQUIRE(small);
  CHECK(r.writes() == 1);
  CHECK(has_pattern(r.media(2, bs), bs, 4)); // the dirty data reached the disk first
  CHECK(small->size() == 1024);
  CHECK_FALSE(small->valid());
  CHECK(c->dirty_count() == 0);
}

TEST_CASE("vfs 3: get with another size of a clean buffer drops it without I/O") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  load(*c, r, 2, 1);
  auto small = c->get(2, {.size = 512});
  REQUIRE(small);
  CHECK(r.writes() == 0);
  CHECK(r.reads() == 1);
  CHECK(small->size() == 512);
  CHECK_FALSE(small->valid());
}

TEST_CASE("vfs 4: size_match with another size cached fails, no I/O, state unchanged") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  load(*c, r, 2, 1);
  const auto before = c->inspect(2);
  auto h = c->get(2, {.size = 512, .flags = get_flags::size_match});
  CHECK(h.error() == errc::invalid_argument);
  const auto after = c->inspect(2);
  CHECK(after.found);
  CHECK(after.valid == before.valid);
  CHECK(after.size == bs);
  CHECK(after.slot == before.slot);
  CHECK(r.reads() == 1);
  CHECK(r.writes() == 0);
}

TEST_CASE("vfs 5: get nowait on a buffer locked elsewhere fails at once") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  auto h = c->get(1);
  REQUIRE(h);
  CHECK(c->get(1, {.flags = get_flags::nowait}).error() == errc::no_resources);
  // Single context: a blocking get would wait forever for our own handle, so
  // it says no_resources instead of hanging.
  CHECK(c->get(1).error() == errc::no_resources);
  h->release();
  CHECK(c->get(1, {.flags = get_flags::nowait}));
}

TEST_CASE("vfs 6: read miss issues exactly one read and returns CACHE; a hit issues none") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  fill(r.mem.get() + 7 * bs, bs, 77);
  {
    auto h = c->read(7);
    REQUIRE(h);
    CHECK(h->valid());
    CHECK(has_pattern(h->data(), bs, 77));
    CHECK(r.reads() == 1);
  }
  {
    auto h = c->read(7);
    REQUIRE(h);
    CHECK(r.reads() == 1);
  }
  CHECK(c->stats().hits == 1);
  CHECK(c->stats().misses == 1);
}

TEST_CASE("vfs 6: a read completing later (held by the device) is waited for by polling") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay(3).only(op::read).always()) == errc::ok);
  auto c = make<cache_of<>>(r);
  fill(r.mem.get() + 4 * bs, bs, 8);
  auto h = c->read(4);
  REQUIRE(h);
  CHECK(has_pattern(h->data(), bs, 8));
  CHECK(r.faulty.stats().released >= 1);
}

TEST_CASE("vfs 7: a failed read returns the error and caches nothing") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::fail(errc::media_error).only(op::read).times(1)) ==
          errc::ok);
  auto c = make<cache_of<>>(r);
  auto h = c->read(6);
  CHECK(h.error() == errc::media_error);
  CHECK_FALSE(c->contains(6));
  CHECK(c->stats().read_errors == 1);
  auto g = c->get(6);
  REQUIRE(g);
  CHECK_FALSE(g->valid()); // the next lookup misses
  CHECK(c->stats().misses == 2);
}

TEST_CASE("vfs 8: read-ahead reads only absent blocks, asynchronously, and they end up clean") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  load(*c, r, 1, 1);
  for (std::uint32_t b = 2; b <= 3; ++b) fill(r.mem.get() + b * bs, bs, b);
  const std::uint64_t ra[] = {1, 2, 3};
  REQUIRE(r.faulty.add_rule(
              fault_rule::delay(1000).only(op::read).range(2 * bs, 2 * bs).always()) == errc::ok);
  {
    auto h = c->read(0, {}, ra);
    REQUIRE(h);
  }
  CHECK(r.reads() == 4);       // 1 (load) + 0 + 2 + 3: block 1 got no I/O
  CHECK(r.faulty.held() == 2); // read-ahead still running: the primary did not wait for it
  CHECK(c->inspect(2).busy);
  r.faulty.release_all();
  for (std::uint64_t b : {2u, 3u}) {
    const auto st = c->inspect(b);
    CHECK(st.found);
    CHECK(st.valid);
    CHECK_FALSE(st.busy);
  }
  auto h2 = c->read(2);
  REQUIRE(h2);
  CHECK(has_pattern(h2->data(), bs, 2));
  CHECK(c->stats().readahead_hits == 1);
  CHECK(r.reads() == 4);
}

TEST_CASE("vfs 8: only read-ahead reads carry bio_flags::read_ahead, as reads, at their block") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  const std::uint64_t ra[] = {5};
  {
    auto h = c->read(4, {}, ra);
    REQUIRE(h);
  }
  {
    auto h = c->get(6);
    REQUIRE(h);
    fill(h->data(), bs, 6);
    CHECK(c->write_sync(std::move(*h)) == errc::ok);
  }
  CHECK(c->sync() == errc::ok);
  REQUIRE(r.dev.size() >= 3);
  const auto& demand = r.dev[0];
  const auto& ahead = r.dev[1];
  CHECK(demand.operation == op::read);
  CHECK(demand.offset == 4 * bs);
  CHECK(demand.flags == bio_flags::none);
  CHECK(ahead.operation == op::read);
  CHECK(ahead.offset == 5 * bs);
  CHECK(ahead.length == bs);
  CHECK(ahead.flags == bio_flags::read_ahead);
  const auto& write = r.dev[2];
  CHECK(write.operation == op::write);
  CHECK(write.offset == 6 * bs);
  CHECK(write.flags == bio_flags::none);
  for (std::size_t k = 3; k < r.dev.size(); ++k) {
    CHECK(r.dev[k].operation == op::flush);
    CHECK(r.dev[k].flags == bio_flags::none);
  }
}

TEST_CASE("vfs 8: a read that hits starts no read-ahead and keeps the cached contents") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  load(*c, r, 0, 0);
  for (std::uint32_t b = 1; b <= 2; ++b) fill(r.mem.get() + b * bs, bs, b);
  const std::uint64_t ra[] = {1, 2};
  const std::uint64_t reads = r.reads();
  {
    auto h = c->read(0, {}, ra);
    REQUIRE(h);
    CHECK(h->valid());
    CHECK(has_pattern(h->data(), bs, 0));
  }
  CHECK(r.reads() == reads); // a hit: no I/O at all, read-ahead included
  CHECK_FALSE(c->contains(1));
  CHECK_FALSE(c->contains(2));
  CHECK(c->stats().hits == 1);
}

namespace {
struct async_result {
  int calls = 0;
  errc status = errc::cancelled;
  bool valid = false;
  std::uint64_t lbn = 0;
};
template <class C>
void on_read(void* ctx, errc st, typename C::handle h) noexcept {
  auto* a = static_cast<async_result*>(ctx);
  ++a->calls;
  a->status = st;
  a->valid = h && h.valid();
  if (h) a->lbn = h.lbn();
}
} // namespace

// A replacement policy forgets an invalidated buffer (its erase) without
// losing the others: round after round, every block of an earlier round is
// reclaimed, so no idle buffer is stranded where the victim search cannot
// reach it.
TEMPLATE_TEST_CASE("replacement: invalidating a cached block strands no other buffer", "",
                   biostack::clock_eviction, clock_sweep, lru, arc, two_q, s3_fifo, sieve) {
  using C = cache_of<TestType, 3>;
  rig_t r;
  auto c = make<C>(r);
  // Ten rounds of six blocks fill the rig's 64 blocks of 4 KiB.
  for (std::uint64_t round = 0; round < 10; ++round) {
    const std::uint64_t base = round * 6;
    for (std::uint64_t b = 0; b < 3; ++b) REQUIRE(c->read(base + b));
    c->invalidate(base + 1, 1); // a tracked buffer leaves the policy
    for (std::uint64_t b = 3; b < 6; ++b) REQUIRE(c->read(base + b));
  }
  std::size_t stale = 0; // blocks of rounds before the last still cached
  for (std::uint64_t lbn = 0; lbn < 54; ++lbn) stale += c->inspect(lbn).found ? 1u : 0u;
  CHECK(stale == 0);
  CHECK(c->resident() == 3);
}

TEST_CASE("vfs 9: read_async on a hit calls back at once, on a miss at completion") {
  using C = cache_of<>;
  rig_t r;
  auto c = make<C>(r);
  load(*c, r, 1, 1);
  async_result hit;
  CHECK(c->read_async(1, &on_read<C>, &hit) == errc::ok);
  CHECK(hit.calls == 1);
  CHECK(hit.status == errc::ok);
  CHECK(hit.valid);

  REQUIRE(r.faulty.add_rule(fault_rule::delay().only(op::read).always()) == errc::ok);
  async_result miss;
  CHECK(c->read_async(9, &on_read<C>, &miss) == errc::ok);
  CHECK(miss.calls == 0);
  r.faulty.release_all();
  CHECK(miss.calls == 1);
  CHECK(miss.status == errc::ok);
  CHECK(miss.valid);
  CHECK(miss.lbn == 9);
  CHECK_FALSE(c->inspect(9).busy); // the callback's handle was released
}

namespace {
// What in_flight() said inside a completion callback.
template <class C>
struct in_flight_probe {
  C* cache = nullptr;
  int calls = 0;
  std::size_t seen = 99;
};
template <class C>
void note_read_in_flight(void* ctx, errc, typename C::handle) noexcept {
  auto* p = static_cast<in_flight_probe<C>*>(ctx);
  ++p->calls;
  p->seen = p->cache->in_flight();
}
template <class C>
void note_write_in_flight(void* ctx, errc) noexcept {
  auto* p = static_cast<in_flight_probe<C>*>(ctx);
  ++p->calls;
  p->seen = p->cache->in_flight();
}
} // namespace

// An I/O is counted before the device can complete it, and until its
// callback has returned: with a device that completes inside submit (the
// rig without delay rules), a late count would let the callback, or another
// thread's wait_all / sync / destructor check, see nothing in flight while
// the I/O is still with the device.
TEST_CASE("vfs 9: an I/O completed inside submit is in flight while its callback runs") {
  using C = cache_of<>;
  rig_t r;
  auto c = make<C>(r);
  in_flight_probe<C> read{c.get()};
  CHECK(c->read_async(9, &note_read_in_flight<C>, &read) == errc::ok);
  CHECK(read.calls == 1);
  CHECK(read.seen == 1);
  in_flight_probe<C> write{c.get()};
  auto h = c->get(10);
  REQUIRE(h);
  fill(h->data(), bs, 10);
  CHECK(c->write_async(std::move(*h), &note_write_in_flight<C>, &write) == errc::ok);
  CHECK(write.calls == 1);
  CHECK(write.seen == 1);
  CHECK(c->in_flight() == 0);
  CHECK(has_pattern(r.media(10, bs), bs, 10));
}

TEST_CASE("vfs 9: read_async of a failing read reports the error and caches nothing") {
  using C = cache_of<>;
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::fail().only(op::read).times(1)) == errc::ok);
  auto c = make<C>(r);
  async_result a;
  CHECK(c->read_async(9, &on_read<C>, &a) == errc::ok);
  CHECK(a.calls == 1);
  CHECK(a.status == errc::io_error);
  CHECK_FALSE(a.valid);
  CHECK_FALSE(c->contains(9));
}

TEST_CASE("vfs 9: read_async and write_async never wait: no_resources when out of slots") {
  using C = buffer_cache<rig_device, policies<static_storage<8, bs>, io_slots<1>, ops_mode>>;
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay().always()) == errc::ok);
  auto c = std::make_unique<C>(r.dev);
  auto h = c->get(1);
  REQUIRE(h);
  CHECK(c->write_async(std::move(*h)) == errc::ok); // takes the only slot
  async_result a;
  CHECK(c->read_async(2, &on_read<C>, &a) == errc::no_resources);
  CHECK(a.calls == 0);
  CHECK_FALSE(c->contains(2)); // the buffer it took was given back
  CHECK(c->read_async(1, &on_read<C>, &a) == errc::no_resources); // busy with its write
  auto g = c->get(3);
  REQUIRE(g);
  fill(g->data(), bs, 3);
  CHECK(c->write_async(std::move(*g)) == errc::no_resources);
  CHECK(c->inspect(3).dirty); // kept dirty, not lost
  r.faulty.release_all();
  CHECK(c->sync() == errc::ok);
  CHECK(has_pattern(r.media(3, bs), bs, 3));
}

TEST_CASE("vfs 10: write_delayed marks dirty and valid, releases, no I/O, counts") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  auto h = c->get(4);
  REQUIRE(h);
  fill(h->data(), bs, 44);
  c->write_delayed(std::move(*h));
  const auto st = c->inspect(4);
  CHECK(st.dirty);
  CHECK(st.valid);
  CHECK_FALSE(st.busy);
  CHECK(r.writes() == 0);
  CHECK(c->dirty_count() == 1);
  CHECK(c->dirty_bytes() == bs);
  CHECK(c->stats().dirty_high_water == bs);
}

TEST_CASE("vfs 11: write_sync / write_async / write_delayed of an INVAL buffer: no I/O") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  for (int how = 0; how < 3; ++how) {
    auto h = c->get(1);
    REQUIRE(h);
    h->mark_valid();
    h->mark_invalid();
    if (how == 0) CHECK(c->write_sync(std::move(*h)) == errc::ok);
    if (how == 1) CHECK(c->write_async(std::move(*h)) == errc::ok);
    if (how == 2) c->write_delayed(std::move(*h));
    CHECK_FALSE(c->contains(1));
  }
  CHECK(r.writes() == 0);
  CHECK(c->dirty_count() == 0);
}

TEST_CASE("vfs 12: dirtying an already dirty buffer does not change the counters") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  for (int i = 0; i < 3; ++i) {
    auto h = c->get(4);
    REQUIRE(h);
    c->write_delayed(std::move(*h));
  }
  CHECK(c->dirty_count() == 1);
  CHECK(c->dirty_bytes() == bs);
}

TEST_CASE("vfs 13: an in-flight write_async stays dirty and counts as running until done") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay().only(op::write).always()) == errc::ok);
  auto c = make<cache_of<>>(r);
  auto h = c->get(4);
  REQUIRE(h);
  fill(h->data(), bs, 3);
  CHECK(c->write_async(std::move(*h)) == errc::ok);
  CHECK(c->inspect(4).dirty);
  CHECK(c->inspect(4).busy);
  CHECK(c->running_bytes() == bs);
  CHECK(c->dirty_bytes() == bs);
  r.faulty.release_all();
  CHECK_FALSE(c->inspect(4).dirty);
  CHECK_FALSE(c->inspect(4).busy);
  CHECK(c->running_bytes() == 0);
  CHECK(c->dirty_bytes() == 0);
  CHECK(has_pattern(r.media(4, bs), bs, 3));
  CHECK(c->stats().writebacks == 1);
}

TEST_CASE("vfs 13: write_async calls its callback after the buffer is released") {
  using C = cache_of<>;
  rig_t r;
  auto c = make<C>(r);
  auto h = c->get(4);
  REQUIRE(h);
  struct ctx_t {
    C* c;
    errc st = errc::cancelled;
    bool busy_at_callback = true;
  } ctx{c.get()};
  CHECK(c->write_async(
            std::move(*h),
            [](void* p, errc st) noexcept {
              auto* x = static_cast<ctx_t*>(p);
              x->st = st;
              x->busy_at_callback = x->c->inspect(4).busy;
            },
            &ctx) == errc::ok);
  CHECK(ctx.st == errc::ok);
  CHECK_FALSE(ctx.busy_at_callback);
}

TEST_CASE("vfs 14: a failed write_sync returns the error; the buffer stays dirty with its data") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::fail(errc::media_error).only(op::write).times(1)) ==
          errc::ok);
  auto c = make<cache_of<>>(r);
  auto h = c->get(4);
  REQUIRE(h);
  fill(h->data(), bs, 14);
  CHECK(c->write_sync(std::move(*h)) == errc::media_error);
  const auto st = c->inspect(4);
  CHECK(st.dirty);
  CHECK(st.error);
  CHECK(c->stats().write_errors == 1);
  {
    auto again = c->get(4);
    REQUIRE(again);
    CHECK(again->valid());
    CHECK(has_pattern(again->data(), bs, 14));
  }
  // The flusher retries it only after the pause.
  const auto pause = c->limits().retry_pause;
  std::size_t passes = 0;
  while (c->inspect(4).dirty && passes < 2 * pause + 2) {
    c->flush_step();
    ++passes;
  }
  CHECK_FALSE(c->inspect(4).dirty);
  CHECK(passes >= pause);
  CHECK(has_pattern(r.media(4, bs), bs, 14));
}

namespace {
// A cache over `r` whose flusher waits `pause` passes before retrying a
// failed write, and whose block 4, filled with pattern `seed`, stays dirty
// after its write_sync failed with media_error.
std::unique_ptr<cache_of<>> with_failed_write(rig_t& r, std::uint32_t pause, std::uint32_t seed) {
  auto c = make<cache_of<>>(r);
  auto l = c->limits();
  l.retry_pause = pause;
  c->set_limits(l);
  REQUIRE(r.faulty.add_rule(fault_rule::fail(errc::media_error).only(op::write).times(1)) ==
          errc::ok);
  auto h = c->get(4);
  REQUIRE(h);
  fill(h->data(), bs, seed);
  REQUIRE(c->write_sync(std::move(*h)) == errc::media_error);
  return c;
}
} // namespace

TEST_CASE("vfs 14: the flusher retries a failed write after exactly retry_pause passes") {
  rig_t r;
  auto c = with_failed_write(r, 3, 41);
  REQUIRE(c->inspect(4).error);
  const std::uint64_t writes = r.writes();
  // Another dirty buffer does not wait: the pause is the failed one's.
  {
    auto h = c->get(5);
    REQUIRE(h);
    fill(h->data(), bs, 51);
    c->write_delayed(std::move(*h));
  }
  c->flush_step(); // pass 1: block 5 only
  CHECK(r.writes() == writes + 1);
  CHECK_FALSE(c->inspect(5).dirty);
  CHECK(c->inspect(4).dirty);
  c->flush_step(); // pass 2: still paused
  CHECK(r.writes() == writes + 1);
  CHECK(c->inspect(4).dirty);
  c->flush_step(); // pass 3: the pause is over
  CHECK(r.writes() == writes + 2);
  CHECK_FALSE(c->inspect(4).dirty);
  CHECK(has_pattern(r.media(4, bs), bs, 41));
}

TEST_CASE("vfs 14: sync writes a failed buffer at once, whatever its retry pause") {
  rig_t r;
  auto c = with_failed_write(r, 1000, 42);
  c->flush_step();
  CHECK(c->inspect(4).dirty);   // the flusher waits out the pause
  CHECK(c->sync() == errc::ok); // the owner asked: no pause
  CHECK_FALSE(c->inspect(4).dirty);
  CHECK(has_pattern(r.media(4, bs), bs, 42));
}

TEST_CASE("vfs 15: pinned buffers are never reclaimed and can be taken back") {
  rig_t r;
  auto c = make<cache_of<lru, 4>>(r);
  {
    load(*c, r, 0, 1);
    auto h = c->get(0);
    REQUIRE(h);
    c->pin(*h);
  }
  for (std::uint64_t b = 1; b < 20; ++b) load(*c, r, b, static_cast<std::uint32_t>(b));
  CHECK(c->inspect(0).found);
  CHECK(c->inspect(0).pinned);
  {
    auto h = c->get(0); // regetblk
    REQUIRE(h);
    CHECK(h->valid());
    CHECK(has_pattern(h->data(), bs, 1));
    c->unpin(*h);
  }
  for (std::uint64_t b = 20; b < 24; ++b) load(*c, r, b, 0);
  CHECK_FALSE(c->contains(0));
}

TEST_CASE("vfs 16: held buffers are skipped by reclaim; dropping an absent hold panics") {
  rig_t r;
  auto c = make<cache_of<lru, 4>>(r);
  load_held(*c, r, 0, 1);
  for (std::uint64_t b = 1; b < 12; ++b) load(*c, r, b, 0);
  CHECK(c->inspect(0).found);
  CHECK(c->inspect(0).holds == 1);
  c->drop(0);
  CHECK(biostack_test::panics([&] { c->drop(0); }));
  CHECK(biostack_test::panics([&] { c->drop(33); }));
  for (std::uint64_t b = 12; b < 16; ++b) load(*c, r, b, 0);
  CHECK_FALSE(c->contains(0));
}

TEST_CASE("vfs 17: second chance: clean A, B, C without AGE: A and B aged, C taken") {
  rig_t r;
  auto c = make<cache_of<biostack::clock_eviction, 3>>(r);
  load(*c, r, 10, 0); // A
  load(*c, r, 11, 0); // B
  load(*c, r, 12, 0); // C
  load(*c, r, 13, 0); // needs a victim
  CHECK(c->contains(10));
  CHECK(c->contains(11));
  CHECK_FALSE(c->contains(12));
  CHECK(c->stats().evictions == 1);
  // A and B carry AGE now and sit at the tail in order: the next miss takes A.
  CHECK(c->replacement().aged(c->inspect(10).slot));
  CHECK(c->replacement().aged(c->inspect(11).slot));
  load(*c, r, 14, 0);
  CHECK_FALSE(c->contains(10));
  CHECK(c->contains(11));
}

TEST_CASE("vfs 17: a hit clears AGE, giving the block another chance") {
  rig_t r;
  auto c = make<cache_of<biostack::clock_eviction, 3>>(r);
  load(*c, r, 10, 0);
  load(*c, r, 11, 0);
  load(*c, r, 12, 0);
  load(*c, r, 13, 0); // ages 10, 11; takes 12
  { auto h = c->read(10); }
  CHECK_FALSE(c->replacement().aged(c->inspect(10).slot));
  load(*c, r, 14, 0); // queue 13, 10, 11: 13 unaged → tail; 10 unaged → tail; 11 aged → taken
  CHECK(c->contains(10));
  CHECK_FALSE(c->contains(11));
}

// clock_sweep says itself which slots it tracks, so the cache keeps no flag
// of its own: a hit sets the reference bit only through the policy, a
// victim stops being tracked, an invalidated block leaves the policy. Both
// ways of finding a block (scan_lookup<3>: scanning; scan_lookup<0>: hashing).
TEMPLATE_TEST_CASE(
    "clock_sweep: a hit gives a second chance; victims and invalidated blocks leave it", "",
    scan_lookup<3>, scan_lookup<0>) {
  using C = cache_of<clock_sweep, 3, TestType>;
  rig_t r;
  auto c = make<C>(r);
  load(*c, r, 10, 0); // slot 0
  load(*c, r, 11, 0); // slot 1
  load(*c, r, 12, 0); // slot 2
  // Every bit set: the sweep clears them all and takes the first, slot 0.
  load(*c, r, 13, 0);
  CHECK_FALSE(c->contains(10));
  const auto& p = c->replacement();
  CHECK(p.referenced_bit(c->inspect(13).slot));
  CHECK_FALSE(p.referenced_bit(c->inspect(11).slot));
  { auto h = c->read(11); } // a hit: referenced again
  CHECK(p.referenced_bit(c->inspect(11).slot));
  CHECK(p.hand() == 1);
  load(*c, r, 14, 0); // from slot 1: 11 referenced (cleared), 12 not: 12 taken
  CHECK(c->contains(11));
  CHECK_FALSE(c->contains(12));
  const auto s14 = c->inspect(14).slot;
  CHECK(p.tracked(s14));
  CHECK(c->invalidate(14, 1) == 1);
  CHECK_FALSE(p.tracked(s14));
  // The invalidated slot is taken before any victim, and tracked again.
  load(*c, r, 15, 0);
  CHECK(c->inspect(15).slot == s14);
  CHECK(p.tracked(s14));
  CHECK(c->contains(11));
  CHECK(c->contains(13));
}

TEST_CASE("vfs 18: EMPTY headers are used before clean buffers are reclaimed") {
  rig_t r;
  auto c = make<cache_of<lru, 3>>(r);
  load(*c, r, 0, 0);
  load(*c, r, 1, 0);
  load(*c, r, 2, 0);
  const auto freed_slot = c->inspect(1).slot;
  {
    auto h = c->get(1);
    REQUIRE(h);
    c->release_invalidate(std::move(*h));
  }
  auto h = c->get(9);
  REQUIRE(h);
  CHECK(h->slot() == freed_slot);
  CHECK(c->contains(0));
  CHECK(c->contains(2));
  CHECK(c->stats().evictions == 0);
}

TEST_CASE("vfs 19: at hi_buffers reclaim frees until below lo_buffers before returning") {
  rig_t r;
  auto c = make<cache_of<lru, 8>>(r);
  auto l = c->limits();
  l.hi_buffers = 8;
  l.lo_buffers = 5;
  c->set_limits(l);
  for (std::uint64_t b = 0; b < 8; ++b) load(*c, r, b, 0);
  CHECK(c->resident() == 8);
  load(*c, r, 8, 0);
  CHECK(c->stats().evictions == 4); // 8 → 4 (< 5), then the new block: 5
  CHECK(c->resident() == 5);
  for (std::uint64_t b = 0; b < 4; ++b) CHECK_FALSE(c->contains(b)); // oldest went first
  CHECK(c->contains(8));
}

TEST_CASE("vfs 20: with every buffer dirty a miss kicks the flusher and succeeds once a "
          "write completes") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay(2).only(op::write).always()) == errc::ok);
  auto c = make<cache_of<lru, 4>>(r);
  for (std::uint64_t b = 0; b < 4; ++b) {
    auto h = c->get(b);
    REQUIRE(h);
    fill(h->data(), bs, static_cast<std::uint32_t>(b));
    c->write_delayed(std::move(*h), true);
  }
  CHECK(r.writes() == 0);
  auto h = c->get(20);
  REQUIRE(h);
  CHECK(r.writes() >= 1); // the flusher was kicked
  h->release();
  CHECK(c->sync() == errc::ok);
  for (std::uint64_t b = 0; b < 4; ++b)
    CHECK(has_pattern(r.media(b, bs), bs, static_cast<std::uint32_t>(b)));
}

TEST_CASE("vfs 20: with everything held or pinned a miss fails instead of hanging") {
  rig_t r;
  auto c = make<cache_of<lru, 2>>(r);
  load(*c, r, 0, 0);
  load(*c, r, 1, 0);
  {
    auto h = c->get(0);
    c->hold(*h);
    auto g = c->get(1);
    c->pin(*g);
  }
  CHECK(c->get(7).error() == errc::no_resources);
  CHECK(c->get(7, {.flags = get_flags::nowait}).error() == errc::no_resources);
  c->drop(0);
  CHECK(c->get(7));
}

namespace {
struct defer_once_hooks {
  using category = owner_hooks_tag;
  int checks = 0;
  std::uint64_t defer_lbn = ~0ull;
  write_decision check_write(const buffer_info& b) noexcept {
    ++checks;
    return b.lbn == defer_lbn ? write_decision::defer : write_decision::allow;
  }
  void on_complete(const buffer_info&, errc) noexcept {}
  bool may_reclaim(const buffer_info&) noexcept { return true; }
  void on_critical_error(const buffer_info&, errc) noexcept {}
};
} // namespace

TEST_CASE("vfs 22: the flusher writes oldest first, skips locked, drops INVAL, defers once") {
  rig_t r;
  auto c = make<cache_of<lru, 8, defer_once_hooks>>(r);
  for (std::uint64_t b : {5u, 3u, 7u, 1u, 2u}) {
    auto h = c->get(b);
    REQUIRE(h);
    c->write_delayed(std::move(*h));
  }
  c->hooks().defer_lbn = 1;
  auto locked = c->get(3); // held by us: the flusher must skip it
  REQUIRE(locked);
  {
    // An INVAL dirty buffer the flusher meets: invalidated while busy and
    // held (bqhold), so releasing the handle cannot destroy it; it stays on
    // the dirty set for the flusher, which must release it, not write it.
    auto h = c->get(2);
    c->hold(*h);
    c->invalidate(2, 1);
    c->release(std::move(*h));
  }
  REQUIRE(c->inspect(2).queued);
  CHECK(c->dirty_count() == 5);
  CHECK(c->flush_step() == 2); // 5 then 7; 3 locked; 1 deferred; 2 dropped
  REQUIRE(r.writes() == 2);
  CHECK(r.dev[r.dev.size() - 2].offset == 5 * bs);
  CHECK(r.dev[r.dev.size() - 1].offset == 7 * bs);
  CHECK(c->inspect(1).dirty);
  CHECK(c->inspect(3).dirty);
  CHECK_FALSE(c->inspect(2).dirty); // its data discarded, as the owner asked
  CHECK_FALSE(c->inspect(2).queued);
  CHECK(c->dirty_count() == 2);
  c->drop(2);
  locked->release();
  CHECK(c->flush_step() == 2); // 3, and 1 now that it was deferred once
  CHECK(c->dirty_count() == 0);
  CHECK(r.writes() == 4);
}

TEST_CASE("vfs 22: the flusher discards, never writes, a held INVAL dirty buffer") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  load_held(*c, r, 6, 1);
  {
    // Modified (dirty), then invalidated while modified: marked, kept for
    // its holder, still on the dirty set when the modification ends.
    auto m = c->modify(6);
    REQUIRE(m);
    c->invalidate(6, 1);
  }
  REQUIRE(c->inspect(6).queued);
  const auto writes = r.writes();
  CHECK(c->flush_step() == 0);
  CHECK(r.writes() == writes); // its data discarded, as the owner asked
  CHECK(c->dirty_count() == 0);
  CHECK(c->inspect(6).found); // the hold keeps the empty buffer
  c->drop(6);
  CHECK_FALSE(c->inspect(6).found);
  CHECK(c->sync() == errc::ok);
  CHECK(r.writes() == writes);
}

namespace {
struct pin_all_hooks {
  using category = owner_hooks_tag;
  write_decision check_write(const buffer_info&) noexcept { return write_decision::pin; }
  void on_complete(const buffer_info&, errc) noexcept {}
  bool may_reclaim(const buffer_info&) noexcept { return true; }
  void on_critical_error(const buffer_info&, errc) noexcept {}
};
} // namespace

TEST_CASE("cache: release_invalidate of a held buffer drops the owner's pin too") {
  rig_t r;
  auto c = make<cache_of<lru, 8, pin_all_hooks>>(r);
  REQUIRE(dirty_block(*c, 4, 0, 4));
  CHECK(c->flush_step() == 0); // the owner pins it instead
  REQUIRE(c->inspect(4).pinned);
  {
    auto h = c->get(4);
    REQUIRE(h);
    c->hold(*h); // held: the release keeps the buffer, so its flags can be seen
    c->release_invalidate(std::move(*h));
  }
  const auto s = c->inspect(4);
  CHECK(s.found);
  CHECK_FALSE(s.pinned);
  c->drop(4);
}

TEST_CASE("vfs 22: the flusher stops when no I/O slot is free and respects the budget") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay().only(op::write).always()) == errc::ok);
  auto c =
      make<buffer_cache<rig_device, policies<static_storage<16, bs>, io_slots<3>, ops_mode>>>(r);
  for (std::uint64_t b = 0; b < 10; ++b) {
    auto h = c->get(b);
    c->write_delayed(std::move(*h), true);
  }
  CHECK(c->flush_step(2) == 2);
  CHECK(c->flush_step() == 1); // one slot left
  CHECK(c->flush_step() == 0);
  r.faulty.release_all();
  CHECK(c->dirty_count() == 7);
}

TEST_CASE("vfs 22: one flush_step starts at most 1024 writes, whatever the budget") {
  // Writes complete inside submit (no fault rule), so neither the I/O
  // slots nor the running-write limit stop the pass: only the cap does.
  using rig_big = rig<1100 * 512>;
  rig_big r;
  using cache_t =
      buffer_cache<decltype(rig_big::dev),
                   policies<static_storage<1100, 512>, lru, poll_wait<10000>, ops_mode>>;
  auto c = quiet_cache<cache_t>(r.dev);
  for (std::uint64_t b = 0; b < 1100; ++b) {
    auto h = c->get(b);
    REQUIRE(h);
    c->write_delayed(std::move(*h), true);
  }
  REQUIRE(c->dirty_count() == 1100);
  CHECK(c->flush_step(5000) == 1024);
  CHECK(r.writes() == 1024);
  CHECK(c->dirty_count() == 76);
  CHECK(c->flush_step(5000) == 76);
  CHECK(c->dirty_count() == 0);
}

// vfs_bio §7 items 23-25 (completion walk through pushed layers, bounded
// layer stacks, short transfers from below) are behaviours of the bio
// layer: they are tested in tests/unit/stack.cpp and tests/unit/chain.cpp.
// The three tests below check what the cache does in the same situations.
TEST_CASE("cache: a write's buffer stays busy until the device's held completion arrives") {
  // recording_device pushes its own layer under the cache's bio; a held
  // completion must not complete the cache's buffer until it climbs back.
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay().only(op::write).always()) == errc::ok);
  auto c = make<cache_of<>>(r);
  auto h = c->get(3);
  REQUIRE(h);
  CHECK(c->write_async(std::move(*h)) == errc::ok);
  CHECK(r.dev.in_flight() == 1);
  CHECK(c->inspect(3).busy);
  CHECK(c->in_flight() == 1);
  r.faulty.release_all();
  CHECK(r.dev.in_flight() == 0);
  CHECK(c->in_flight() == 0);
  CHECK_FALSE(c->inspect(3).busy);
}

TEST_CASE("cache: an exhausted I/O slot pool skips read-ahead and never fails the read") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay(1).only(op::read).always()) == errc::ok);
  auto c =
      make<buffer_cache<rig_device, policies<static_storage<16, bs>, io_slots<1>, ops_mode>>>(r);
  const std::uint64_t ra[] = {1, 2, 3};
  auto h = c->read(0, {}, ra); // read-ahead finds no free slot: skipped, not failed
  REQUIRE(h);
  CHECK(r.reads() == 1);
  auto h2 = c->read(5);
  CHECK(h2);
}

TEST_CASE("cache: a short read from the device fails with io_error and caches nothing") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::short_transfer(2).only(op::read).times(1)) == errc::ok);
  auto c = make<cache_of<>>(r);
  auto h = c->read(1);
  CHECK(h.error() == errc::io_error);
  CHECK_FALSE(c->contains(1));
}

TEST_CASE("cache: release_nocache frees a clean buffer at once and a dirty one once written") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  load(*c, r, 1, 0);
  {
    auto h = c->get(1);
    c->release_nocache(std::move(*h));
  }
  CHECK_FALSE(c->contains(1));
  {
    auto h = c->get(2);
    fill(h->data(), bs, 2);
    h->mark_valid();
    c->hold(*h);
    c->write_delayed(std::move(*h));
    c->drop(2);
    auto g = c->get(2);
    c->release_nocache(std::move(*g));
  }
  CHECK(c->inspect(2).dirty); // dirty data is never dropped silently
  CHECK(c->sync() == errc::ok);
  CHECK_FALSE(c->contains(2));
  CHECK(has_pattern(r.media(2, bs), bs, 2));
}

TEST_CASE("cache: release_invalidate drops the buffer's pin, release_nocache keeps it") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  load(*c, r, 3, 3);
  load(*c, r, 4, 4);
  {
    auto h = c->get(3);
    REQUIRE(h);
    c->pin(*h);
    c->hold(*h); // held: released as garbage, but not freed yet
    c->release_invalidate(std::move(*h));
  }
  const auto inval = c->inspect(3);
  CHECK(inval.found);
  CHECK_FALSE(inval.pinned);
  CHECK_FALSE(inval.busy);
  {
    auto h = c->get(4);
    REQUIRE(h);
    c->pin(*h);
    c->release_nocache(std::move(*h));
  }
  const auto kept = c->inspect(4); // pinned: B_NOCACHE does not free it
  CHECK(kept.found);
  CHECK(kept.pinned);
  CHECK(kept.valid);
  auto h = c->get(4);
  REQUIRE(h);
  CHECK(has_pattern(h->data(), bs, 4));
}

TEST_CASE("cache: the flusher's budget counts writes started, not buffers it skips") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  for (std::uint32_t k = 1; k <= 3; ++k) REQUIRE(dirty_block(*c, k, 0, k));
  // The two oldest dirty buffers, owned by handles: skipped.
  auto first = c->get(1);
  auto second = c->get(2);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(c->flush_step(1) == 1);
  CHECK(r.writes() == 1);
  CHECK(has_pattern(r.media(3, bs), bs, 3)); // the third, past both
  CHECK(c->inspect(1).dirty);
  CHECK(c->inspect(2).dirty);
  CHECK_FALSE(c->inspect(3).dirty);
  c->release(std::move(*first));
  c->release(std::move(*second));
}

TEST_CASE("cache: a dirty buffer discarded while held is empty and clean when got again") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  fill(r.mem.get() + 3 * bs, bs, 30); // what the device holds
  {
    auto h = c->get(3);
    REQUIRE(h);
    fill(h->data(), bs, 31);
    c->write_delayed(std::move(*h));
  }
  {
    auto h = c->get(3);
    REQUIRE(h);
    c->hold(*h); // held: the buffer stays until the hold is dropped
    c->release_invalidate(std::move(*h));
  }
  SECTION("a get finds it not valid and not dirty; released unfilled, nothing is written") {
    {
      auto h = c->get(3);
      REQUIRE(h);
      CHECK_FALSE(h->valid());
      CHECK_FALSE(c->inspect(3).dirty);
      CHECK(c->dirty_count() == 0);
    }
    CHECK(c->sync() == errc::ok);
    CHECK(r.writes() == 0);
    CHECK(has_pattern(r.media(3, bs), bs, 30));
  }
  SECTION("a read of it that fails reports the error; the hold keeps the empty buffer") {
    (void)r.faulty.add_rule(fault_rule::fail(errc::io_error).only(op::read).always());
    {
      auto h = c->read(3);
      REQUIRE_FALSE(h);
      CHECK(h.error() == errc::io_error);
    }
    const auto kept = c->inspect(3);
    CHECK(kept.found);
    CHECK(kept.holds == 1);
    CHECK_FALSE(kept.valid);
    CHECK_FALSE(kept.dirty);
    CHECK_FALSE(kept.busy);
    CHECK(c->dirty_count() == 0);
    r.faulty.clear_rules();
    CHECK(c->sync() == errc::ok);
    CHECK(r.writes() == 0);
    auto h = c->read(3); // read again, now from the device
    REQUIRE(h);
    CHECK(has_pattern(h->data(), bs, 30));
  }
  c->drop(3); // the hold outlives both: bqdrop still finds the buffer
  CHECK(c->inspect(3).holds == 0);
}

TEST_CASE("cache: a discarded buffer got at another size writes nothing first") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  fill(r.mem.get() + 3 * bs, bs, 30);
  REQUIRE(dirty_block(*c, 3, 0, 31));
  {
    auto h = c->get(3);
    REQUIRE(h);
    c->hold(*h);
    c->release_invalidate(std::move(*h));
  }
  {
    // The hold keeps the 4 KiB buffer, so it cannot be re-created at 1 KiB
    // yet; what matters is that the discarded data is not written for it.
    auto h = c->get(3, {.size = 1024, .flags = get_flags::nowait});
    REQUIRE_FALSE(h);
    CHECK(h.error() == errc::no_resources);
  }
  CHECK(r.writes() == 0);
  c->drop(3); // the last hold frees the empty buffer
  CHECK_FALSE(c->contains(3));
  {
    auto h = c->get(3, {.size = 1024});
    REQUIRE(h);
    CHECK_FALSE(h->valid());
    CHECK(h->size() == 1024);
  }
  CHECK(c->sync() == errc::ok);
  CHECK(r.writes() == 0);
  CHECK(has_pattern(r.media(3, bs), bs, 30));
}

TEST_CASE("cache: invalidate(range) keeps a held buffer for its holder; the last drop frees it") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  load_held(*c, r, 3, 30);
  CHECK(c->invalidate(3, 1) == 1);
  CHECK(c->inspect(3).found); // the hold keeps it
  {
    auto h = c->get(3); // but its contents are gone
    REQUIRE(h);
    CHECK_FALSE(h->valid());
  }
  c->drop(3);
  CHECK_FALSE(c->contains(3));
}

TEST_CASE("cache: the last drop frees a held buffer that was never filled") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  {
    auto h = c->get(5);
    REQUIRE(h);
    c->hold(*h); // released unfilled: kept only for the hold
  }
  CHECK(c->inspect(5).found);
  c->drop(5);
  CHECK_FALSE(c->inspect(5).found);
  // Dropped while owned: the owner's release places it.
  auto h = c->get(6);
  REQUIRE(h);
  c->hold(*h);
  c->drop(6);
  CHECK(c->inspect(6).busy);
  h->release();
  CHECK_FALSE(c->inspect(6).found);
}

TEST_CASE("cache: an empty buffer does not keep the pins of the contents it replaced") {
  rig_t r;
  auto c = make<cache_of<lru, 8, pin_all_hooks>>(r);
  REQUIRE(dirty_block(*c, 4, 0, 4));
  CHECK(c->flush_step() == 0); // the owner pins it
  {
    auto h = c->get(4);
    REQUIRE(h);
    c->hold(*h);
    h->mark_invalid(); // discarded through the handle: the pin stays until a get
  }
  {
    auto h = c->get(4);
    REQUIRE(h);
    CHECK_FALSE(h->valid());
    CHECK_FALSE(c->inspect(4).pinned);
    CHECK_FALSE(c->inspect(4).dirty);
  }
  c->drop(4);
  CHECK_FALSE(c->contains(4));
}

TEST_CASE("cache: invalidate(range) drops idle buffers, dirty ones included") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  for (std::uint64_t b = 0; b < 6; ++b) {
    auto h = c->get(b);
    c->write_delayed(std::move(*h));
  }
  CHECK(c->invalidate(2, 3) == 3);
  CHECK(c->contains(1));
  CHECK_FALSE(c->contains(2));
  CHECK_FALSE(c->contains(4));
  CHECK(c->contains(5));
  CHECK(c->dirty_count() == 3);
  CHECK(c->invalidate(0, UINT64_MAX) == 3); // the scan path
  CHECK(c->resident() == 0);
  CHECK(r.writes() == 0);
}

TEST_CASE("cache: 32-bit block keys: a number past 2^32 is never taken for the one it wraps to") {
  // block_key<uint32_t> keeps 32 bits per buffer and hashes them in 32 bits.
  // A block number from the API that does not fit must miss, whatever its
  // low bits; and blocks that come and go through reclaim are found again.
  rig_t r;
  using C32 = cache_of<biostack::clock_eviction, 8, block_key<std::uint32_t>>;
  auto c = make<C32>(r);
  constexpr std::uint64_t wrap = std::uint64_t{1} << 32;
  for (std::uint64_t b = 0; b < 16; ++b) load(*c, r, b, static_cast<std::uint32_t>(b + 1));
  REQUIRE(c->resident() == 8);
  std::size_t found = 0;
  for (std::uint64_t b = 0; b < 16; ++b) {
    found += c->contains(b) ? 1u : 0u;
    CHECK_FALSE(c->contains(b + wrap));
    CHECK_FALSE(c->inspect(b + wrap).found);
    CHECK_FALSE(c->get_cached(b + wrap));
    CHECK(c->invalidate(b + wrap, 1) == 0);
    CHECK(c->get(b + wrap).error() == errc::out_of_range);
  }
  CHECK(found == 8);
  CHECK(c->resident() == 8);
  for (std::uint64_t b = 16; b-- > 0;) {
    auto h = c->read(b);
    REQUIRE(h);
    CHECK(h->lbn() == b);
    CHECK(has_pattern(h->data(), bs, static_cast<std::uint32_t>(b + 1)));
  }
}

TEST_CASE("cache: 32-bit block keys check the device end exactly like 64-bit ones") {
  // 32-bit keys test the range in device blocks, 64-bit ones in bytes: both
  // must agree at a device end that falls inside a block (37 device blocks
  // of 512 bytes: block 4 holds only 5 of its 8), for every size, and on a
  // device too large for its byte capacity to fit in 64 bits.
  using K32 = buffer_cache<null_device, policies<static_storage<2, bs>, block_key<std::uint32_t>>>;
  using K64 = buffer_cache<null_device, policies<static_storage<2, bs>>>;
  const auto status = [](auto& c, std::uint64_t lbn, std::uint32_t size) {
    auto h = c.get(lbn, {.size = size, .flags = get_flags::nowait});
    return h ? errc::ok : h.error();
  };
  null_device small(512, 37);
  auto c32 = std::make_unique<K32>(small);
  auto c64 = std::make_unique<K64>(small);
  std::size_t fits = 0;
  for (std::uint64_t lbn = 0; lbn < 6; ++lbn) {
    for (std::uint32_t size = 512; size <= bs; size += 512) {
      const bool in = lbn * 8 + size / 512 <= 37;
      const errc want = in ? errc::ok : errc::out_of_range;
      CHECK(status(*c32, lbn, size) == want);
      CHECK(status(*c64, lbn, size) == want);
      fits += in ? 1u : 0u;
    }
  }
  CHECK(fits == 4 * 8 + 5); // blocks 0-3 whole, block 4 up to 2.5 KiB
  for (const std::uint64_t lbn : {std::uint64_t{UINT32_MAX}, std::uint64_t{1} << 32, UINT64_MAX})
    CHECK(status(*c32, lbn, 512) == errc::out_of_range);

  null_device huge(512, UINT64_MAX / 256); // byte capacity saturates
  auto h32 = std::make_unique<K32>(huge);
  auto h64 = std::make_unique<K64>(huge);
  CHECK(status(*h32, UINT32_MAX, bs) == errc::ok);
  CHECK(status(*h64, UINT32_MAX, bs) == errc::ok);
  CHECK(status(*h32, std::uint64_t{1} << 32, bs) == errc::out_of_range); // past the key
  CHECK(status(*h64, std::uint64_t{1} << 32, bs) == errc::ok);
}

TEST_CASE("cache: sync writes everything, flushes the device and returns the first error") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  for (std::uint64_t b = 0; b < 5; ++b) {
    auto h = c->get(b);
    fill(h->data(), bs, static_cast<std::uint32_t>(b + 1));
    c->write_delayed(std::move(*h));
  }
  REQUIRE(r.faulty.add_rule(fault_rule::fail().only(op::write).range(3 * bs, bs).times(1)) ==
          errc::ok);
  CHECK(c->sync() == errc::io_error);
  CHECK(c->dirty_count() == 1);
  CHECK(c->inspect(3).dirty);
  CHECK(r.flushes() == 1);
  CHECK(c->sync() == errc::ok);
  CHECK(c->dirty_count() == 0);
  CHECK(r.flushes() == 2);
  CHECK(c->sync() == errc::ok); // nothing written since: no flush
  CHECK(r.flushes() == 2);
  for (std::uint64_t b = 0; b < 5; ++b)
    CHECK(has_pattern(r.media(b, bs), bs, static_cast<std::uint32_t>(b + 1)));
}

TEST_CASE("cache: a sync with more write failures than codes kept reports the oldest kept") {
  // The cache keeps the codes of its last 8 write failures. The sync writes
  // blocks 0..9 in that order and each write fails: 0 and 1 with
  // media_error, 2 with integrity, 3..9 with io_error. Failure 2 is the
  // oldest whose code is still kept (failure 8's took failure 0's place).
  rig_t r;
  auto c = make<cache_of<clock_eviction, 16>>(r);
  for (std::uint64_t b = 0; b < 10; ++b) {
    auto h = c->get(b);
    REQUIRE(h);
    c->write_delayed(std::move(*h));
  }
  const auto fail = [](errc e, std::uint64_t first, std::uint64_t n) {
    return fault_rule::fail(e).only(op::write).range(first * bs, n * bs).always();
  };
  REQUIRE(r.faulty.add_rule(fail(errc::media_error, 0, 2)) == errc::ok);
  REQUIRE(r.faulty.add_rule(fail(errc::integrity, 2, 1)) == errc::ok);
  REQUIRE(r.faulty.add_rule(fail(errc::io_error, 3, 7)) == errc::ok);
  CHECK(c->sync() == errc::integrity);
  CHECK(r.writes() == 10);
  CHECK(c->dirty_count() == 10);
}

TEST_CASE("cache: sync refuses to report success while a dirty buffer is held by a handle") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  auto h = c->get(1);
  c->write_delayed(std::move(*h));
  auto g = c->get(1);
  CHECK(c->sync() == errc::no_resources);
  g->release();
  CHECK(c->sync() == errc::ok);
}

TEST_CASE("cache: dirty thresholds make writers kick the flusher") {
  using C8 = cache_of<lru, 8>;
  rig_t r;
  auto c = make<cache_of<lru, 8>>(r);
  auto l = C8::default_limits(8);
  l.hi_dirty = 3 * bs;
  l.lo_dirty = 2 * bs;
  c->set_limits(l);
  for (std::uint64_t b = 0; b < 3; ++b) {
    auto h = c->get(b);
    c->write_delayed(std::move(*h));
  }
  CHECK(r.writes() == 0);
  CHECK(c->needs_flush());
  auto h = c->get(3);
  c->write_delayed(std::move(*h));
  CHECK(r.writes() == 4);
  CHECK(c->dirty_bytes() <= 2 * bs + bs / 2);
}

TEST_CASE("cache: default limits follow vfs_bio's sizing (section 4)") {
  using C = cache_of<lru, 8>;
  // hidirty = space / 2, lodirty = hidirty / 2; hirunning = max(space / 16,
  // 4 blocks) with writers held above 4/6 of it until running falls to half.
  const auto small = C::default_limits(8); // space / 16 < 4 blocks
  CHECK(small.hi_buffers == 8);
  CHECK(small.hi_dirty == 4 * bs);
  CHECK(small.lo_dirty == 2 * bs);
  CHECK(small.hi_running == 2 * bs); // 4 blocks * 4/6, whole blocks
  CHECK(small.lo_running == 2 * bs);
  const auto big = C::default_limits(100); // space / 16 = 6.25 blocks -> 6
  CHECK(big.hi_dirty == 50 * bs);
  CHECK(big.hi_running == 4 * bs);
  CHECK(big.lo_running == 3 * bs);
  // What matters is the decision for whole buffers: m running writes are
  // throttled exactly when m > 4/6 * 6.25 (m >= 5), released at m <= 3.
  for (std::uint64_t m = 0; m < 10; ++m) {
    CHECK((m * bs > big.hi_running) == (m * 24 > 100)); // m > (4 / 6) * 6.25
    CHECK((m * bs <= big.lo_running) == (m <= 3));
  }
}

TEST_CASE("cache: metadata per buffer stays within budget") {
  // Header + hash bucket + the replacement policy's per-slot state, ghost
  // tables included. Budget: 48 bytes on 64-bit targets (the 32-bit figures,
  // <= 24 for lru/clock/sieve with block_key<uint32_t>, are checked by the
  // firmware build in docs/cache.md's table).
  using H = buffer_cache<null_device, policies<static_storage<1024, 512>, lru>>;
  STATIC_REQUIRE(H::header_bytes <= 24);
  STATIC_REQUIRE(H::metadata_bytes_per_buffer <= 48);
  STATIC_REQUIRE(
      buffer_cache<null_device, policies<static_storage<1024, 512>, biostack::clock_eviction>>::
          metadata_bytes_per_buffer <= 48);
  STATIC_REQUIRE(
      buffer_cache<null_device,
                   policies<static_storage<1024, 512>, sieve>>::metadata_bytes_per_buffer <= 48);
  STATIC_REQUIRE(
      buffer_cache<null_device,
                   policies<static_storage<1024, 512>, two_q>>::metadata_bytes_per_buffer <= 48);
  STATIC_REQUIRE(
      buffer_cache<null_device,
                   policies<static_storage<1024, 512>, arc>>::metadata_bytes_per_buffer <= 48);
  STATIC_REQUIRE(
      buffer_cache<null_device,
                   policies<static_storage<1024, 512>, s3_fifo>>::metadata_bytes_per_buffer <= 48);
  // clock_sweep keeps one byte per buffer, no links; its hand and capacity
  // round the share up by one more.
  using HS = buffer_cache<null_device, policies<static_storage<1024, 512>, clock_sweep>>;
  STATIC_REQUIRE(HS::metadata_bytes_per_buffer < H::metadata_bytes_per_buffer);
  STATIC_REQUIRE(HS::metadata_bytes_per_buffer <= HS::header_bytes + sizeof(HS::index_type) + 2);
  // A 32-bit block number saves a whole word per buffer.
  using H32 =
      buffer_cache<null_device, policies<static_storage<1024, 512>, lru, block_key<std::uint32_t>>>;
  STATIC_REQUIRE(H32::metadata_bytes_per_buffer < H::metadata_bytes_per_buffer);
  CHECK(H::metadata_bytes_per_buffer > H::header_bytes); // the policy's state is counted
  // Hash buckets are a power of two, at least the capacity: 1100 buffers
  // have 2048 of 2 bytes, 4 bytes per buffer rounded up, where 1024 have 2.
  using H1100 = buffer_cache<null_device, policies<static_storage<1100, 512>, clock_sweep>>;
  using H1024 = buffer_cache<null_device, policies<static_storage<1024, 512>, clock_sweep>>;
  STATIC_REQUIRE(H1100::metadata_bytes_per_buffer - H1100::header_bytes - 2 == 4);
  STATIC_REQUIRE(H1024::metadata_bytes_per_buffer - H1024::header_bytes - 2 == 2);
}

namespace {
template <class C>
concept has_stats = requires(const C& c) {
  c.stats();
};
} // namespace

TEST_CASE("cache: null_stats keeps no counters, and the cache works the same without them") {
  using counted = cache_of<clock_sweep, 4>;
  using uncounted = cache_of<clock_sweep, 4, null_stats>;
  STATIC_REQUIRE(counted::counting);
  STATIC_REQUIRE(!uncounted::counting);
  STATIC_REQUIRE(has_stats<counted>);
  STATIC_REQUIRE(!has_stats<uncounted>);
  // Without counters the cache has no room for them (give or take the
  // padding its alignment adds at the end).
  STATIC_REQUIRE(sizeof(counted) - sizeof(uncounted) + alignof(counted) > sizeof(cache_stats));

  // One script over two rigs: reads that evict (10 blocks through 4
  // buffers, twice), hits, delayed writes, a sync and an invalidation.
  const auto script = [](auto& c, rig_t& r) {
    for (std::uint32_t k = 0; k < 10; ++k) fill(r.mem.get() + k * bs, bs, k + 1);
    for (int round = 0; round < 2; ++round) {
      for (std::uint32_t k = 0; k < 10; ++k) {
        auto h = c.read(k);
        REQUIRE(h);
        CHECK(has_pattern(h->data(), bs, k + 1));
      }
    }
    for (int hit = 0; hit < 3; ++hit) REQUIRE(c.read(9));
    for (std::uint32_t k = 0; k < 3; ++k) REQUIRE(dirty_block(c, 20 + k, 0, 100 + k));
    REQUIRE(c.sync() == errc::ok);
    CHECK(c.invalidate(0, 64) == 4);
  };
  rig_t ra, rb;
  auto a = make<counted>(ra);
  auto b = make<uncounted>(rb);
  script(*a, ra);
  script(*b, rb);
  CHECK(ra.reads() == rb.reads());
  CHECK(ra.writes() == rb.writes());
  CHECK(ra.flushes() == rb.flushes());
  CHECK(std::memcmp(ra.mem.get(), rb.mem.get(), 256 * 1024) == 0);
  // What the counting cache counted.
  const cache_stats s = a->stats();
  CHECK(s.misses == 20 + 3);
  CHECK(s.hits == 3);
  CHECK(s.evictions == 20 + 3 - 4);
  CHECK(s.writebacks == 3);
  CHECK(s.dirty_high_water == 3 * bs);
  CHECK(ra.reads() == 20);
}

// ------------------------------------------------------------------- index
//
// Two ways of finding a block (scan_lookup): scanning the headers, where an
// EMPTY header is all zero and the f_resident flag alone tells it from a
// cached block 0, and hashing, with chains through the headers and a free
// list. The same scenarios run in both, at the same capacity.

namespace {
using scanned_cache = cache_of<lru, 8, scan_lookup<8>>;
using hashed_cache = cache_of<lru, 8, scan_lookup<0>>;
using small_default_cache = cache_of<lru, 2>; // scans by default

// Checks that exactly the blocks in `want` are cached, of the rig's 64.
template <class C>
void check_resident(const C& c, const std::vector<std::uint64_t>& want) {
  for (std::uint64_t b = 0; b < 64; ++b) {
    INFO("block " << b);
    CHECK(c.contains(b) == (std::find(want.begin(), want.end(), b) != want.end()));
  }
  CHECK(c.resident() == want.size());
}
} // namespace

TEST_CASE("index: scanning is for small caches, chosen by scan_lookup; it keeps no index") {
  STATIC_REQUIRE(scanned_cache::scan_index);
  STATIC_REQUIRE_FALSE(hashed_cache::scan_index);
  // The default: scan up to 2 buffers, hash from 3.
  STATIC_REQUIRE(cache_of<lru, 1>::scan_index);
  STATIC_REQUIRE(small_default_cache::scan_index);
  STATIC_REQUIRE_FALSE(cache_of<lru, 3>::scan_index);
  STATIC_REQUIRE_FALSE(cache_of<>::scan_index);
  // No hash bucket is counted where there is none: the rest is the same
  // header (less its link, if that shrinks it) and policy state.
  using I = scanned_cache::index_type;
  STATIC_REQUIRE(scanned_cache::header_bytes <= hashed_cache::header_bytes);
  STATIC_REQUIRE(scanned_cache::metadata_bytes_per_buffer - scanned_cache::header_bytes ==
                 hashed_cache::metadata_bytes_per_buffer - hashed_cache::header_bytes - sizeof(I));
}

TEMPLATE_TEST_CASE("index: colliding blocks, removal inside a chain, reuse, absent blocks", "",
                   scanned_cache, hashed_cache) {
  using C = TestType;
  using A = detail::cache_test_access<C>;
  rig_t r;
  auto c = make<C>(r);
  // Six blocks of one hash bucket (a chain when hashing; scanning ignores
  // buckets) and two of others.
  std::vector<std::uint64_t> same, other;
  for (std::uint64_t b = 1; b < 64; ++b) {
    if (A::bucket_of(b) == A::bucket_of(1)) {
      if (same.size() < 6) same.push_back(b);
    } else if (other.size() < 2) {
      other.push_back(b);
    }
  }
  REQUIRE(same.size() == 6);
  REQUIRE(other.size() == 2);
  const auto seed = [](std::uint64_t b) { return static_cast<std::uint32_t>(b + 100); };
  const auto with = [&](std::initializer_list<std::uint64_t> chain) {
    std::vector<std::uint64_t> v(chain);
    v.insert(v.end(), other.begin(), other.end());
    return v;
  };
  // Cached blocks are found with their data and without I/O.
  const auto hits_intact = [&](const std::vector<std::uint64_t>& blocks) {
    const auto reads = r.reads();
    for (const std::uint64_t b : blocks) {
      auto h = c->get_cached(b);
      REQUIRE(h);
      CHECK(has_pattern(h->data(), bs, seed(b)));
    }
    CHECK(r.reads() == reads);
  };
  for (std::size_t k = 0; k < 4; ++k) load(*c, r, same[k], seed(same[k]));
  for (const std::uint64_t b : other) load(*c, r, b, seed(b));
  check_resident(*c, with({same[0], same[1], same[2], same[3]}));

  // Hashing links the chain newest first: same[3], same[2], same[1], same[0].
  CHECK(c->invalidate(same[2], 1) == 1); // inside the chain
  check_resident(*c, with({same[0], same[1], same[3]}));
  hits_intact(with({same[0], same[1], same[3]}));
  // Absent blocks of the same bucket are not found.
  CHECK(c->get_cached(same[4]).error() == errc::no_resources);
  CHECK_FALSE(c->inspect(same[5]).found);
  CHECK(c->inspect(same[5]).slot == C::npos);

  CHECK(c->invalidate(same[3], 1) == 1); // the chain's head
  CHECK(c->invalidate(same[0], 1) == 1); // its tail
  check_resident(*c, with({same[1]}));
  hits_intact(with({same[1]}));

  // The freed headers are reused before anything is evicted.
  for (const std::uint64_t b : {same[4], same[2], same[5], same[0]}) load(*c, r, b, seed(b));
  CHECK(c->stats().evictions == 0);
  check_resident(*c, with({same[0], same[1], same[2], same[4], same[5]}));
  hits_intact(with({same[0], same[1], same[2], same[4], same[5]}));
  std::vector<std::size_t> slots;
  for (const std::uint64_t b : with({same[0], same[1], same[2], same[4], same[5]})) {
    const auto st = c->inspect(b);
    REQUIRE(st.found);
    CHECK(st.slot < C::capacity);
    CHECK(std::find(slots.begin(), slots.end(), st.slot) == slots.end()); // one header each
    slots.push_back(st.slot);
  }

  // Full (8 buffers), then one more: reclaim destroys the least recently
  // used block, same[2], from the middle of the chain (hashing: same[3],
  // same[0], same[5], same[2], same[4], same[1]), and the newcomer takes
  // its header, the only EMPTY one.
  load(*c, r, same[3], seed(same[3]));
  CHECK(c->resident() == 8);
  hits_intact({same[0], same[1]}); // LRU order: same[2], same[4], ...
  const auto victim_slot = c->inspect(same[2]).slot;
  std::uint64_t extra = 1;
  while (A::bucket_of(extra) == A::bucket_of(1) ||
         std::find(other.begin(), other.end(), extra) != other.end())
    ++extra;
  load(*c, r, extra, seed(extra));
  CHECK(c->stats().evictions == 1);
  CHECK(c->inspect(extra).slot == victim_slot);
  std::vector<std::uint64_t> left = with({same[0], same[1], same[3], same[4], same[5]});
  left.push_back(extra);
  check_resident(*c, left);
  hits_intact(left);
}

// An EMPTY header is all zero: block 0, with no flags. Scanning must never
// take one for cached block 0, in a new cache or after buffers were
// destroyed; only block 0's own buffer is found, while it is cached.
TEMPLATE_TEST_CASE("index: block 0 is never found in an EMPTY header", "", scanned_cache,
                   hashed_cache, small_default_cache) {
  using C = TestType;
  rig_t r;
  auto c = make<C>(r);
  const auto absent0 = [&] {
    CHECK_FALSE(c->contains(0));
    CHECK_FALSE(c->inspect(0).found);
    CHECK(c->get_cached(0).error() == errc::no_resources);
  };
  absent0(); // every header EMPTY since the constructor
  {
    auto h = c->get(5); // a miss released unfilled: destroyed at once
    REQUIRE(h);
  }
  load(*c, r, 3, 3);
  CHECK(c->invalidate(3, 1) == 1); // destroyed too
  CHECK(c->resident() == 0);
  absent0();
  // Block 0 itself: a miss that reads the device, then a hit.
  fill(r.mem.get(), bs, 77);
  const auto misses = c->stats().misses;
  const auto reads = r.reads();
  {
    auto h = c->read(0);
    REQUIRE(h);
    CHECK(has_pattern(h->data(), bs, 77));
  }
  CHECK(c->stats().misses == misses + 1);
  CHECK(r.reads() == reads + 1);
  CHECK(c->contains(0));
  CHECK(c->resident() == 1);
  {
    auto h = c->get_cached(0);
    REQUIRE(h);
    CHECK(h->lbn() == 0);
    CHECK(has_pattern(h->data(), bs, 77));
  }
  // A neighbour destroyed beside it leaves it found, and the EMPTY header
  // is still not block 0.
  load(*c, r, 1, 1);
  CHECK(c->invalidate(1, 1) == 1);
  CHECK(c->contains(0));
  CHECK(c->inspect(0).slot != C::npos);
  CHECK(c->resident() == 1);
  CHECK(c->invalidate(0, 1) == 1);
  absent0();
  CHECK(c->resident() == 0);
}

TEMPLATE_TEST_CASE("index: invalidating ranges, smaller and larger than the cache", "",
                   scanned_cache, hashed_cache) {
  // A scanning cache invalidates any range in one pass over its headers; a
  // hashing one looks a short range up block by block. Either way exactly
  // the cached blocks inside [first, first + count) go, a busy one when its
  // owner lets go, dirty data included.
  rig_t r;
  auto c = make<TestType>(r);
  for (const std::uint64_t b : {0u, 3u, 4u, 5u, 7u, 9u, 12u})
    load(*c, r, b, static_cast<std::uint32_t>(b));
  REQUIRE(dirty_block(*c, 6, 0, 77)); // dirty, never written
  auto got = c->get(4);
  REQUIRE(got);
  auto busy = std::move(*got);
  CHECK(c->invalidate(3, 4) == 4);      // 3, 4 (busy), 5, 6 (dirty) of [3, 7)
  check_resident(*c, {0, 4, 7, 9, 12}); // 7, just past the range, stays
  CHECK_FALSE(c->inspect(6).found);
  busy.data()[0] = std::byte{0xEE};
  busy.release(); // released: now it goes as well
  check_resident(*c, {0, 7, 9, 12});
  CHECK(c->invalidate(41, 1) == 0);  // nothing there
  CHECK(c->invalidate(8, 100) == 2); // 9 and 12 of [8, 108), longer than the cache
  check_resident(*c, {0, 7});
  CHECK(c->invalidate(0, 1) == 1); // block 0, at the start of the key space
  check_resident(*c, {7});
  CHECK(c->invalidate(7, UINT64_MAX) == 1); // a range to the end of the key space
  check_resident(*c, {});
  CHECK(r.writes() == 0); // nothing invalidated was written
  if constexpr (TestType::scan_index)
    CHECK(detail::cache_test_access<TestType>::empty_headers_zero(*c));
}

TEMPLATE_TEST_CASE("index: a cache built with fewer buffers than its capacity uses no more", "",
                   scanned_cache, hashed_cache) {
  rig_t r;
  auto c = make<TestType>(r, 4); // capacity 8, 4 buffers in use
  std::vector<typename TestType::handle> held;
  for (std::uint64_t b = 0; b < 4; ++b) {
    auto h = c->get(b);
    REQUIRE(h);
    held.push_back(std::move(*h));
  }
  // All four owned: a fifth block has no buffer, though the storage has 8.
  CHECK(c->get(4, {.flags = get_flags::nowait}).error() == errc::no_resources);
  CHECK(c->resident() == 4);
  held.clear();
  // Released (never filled, so dropped): four buffers again, not more.
  for (std::uint64_t b = 10; b < 16; ++b) load(*c, r, b, static_cast<std::uint32_t>(b));
  CHECK(c->resident() == 4);
  check_resident(*c, {12, 13, 14, 15});
  if constexpr (TestType::scan_index)
    CHECK(detail::cache_test_access<TestType>::empty_headers_zero(*c));
}

TEMPLATE_TEST_CASE("cache: a hit on a buffer invalidated while held takes it as not valid", "",
                   scanned_cache, hashed_cache) {
  // Kept resident by its hold, an invalidated buffer no longer holds the
  // block's contents: a get finds it not valid, and a read fetches it again.
  rig_t r;
  auto c = make<TestType>(r);
  load(*c, r, 3, 3);
  {
    auto h = c->get(3);
    REQUIRE(h);
    CHECK(h->valid());
    c->hold(*h);
    c->release_invalidate(std::move(*h));
  }
  CHECK(c->inspect(3).found);
  {
    auto h = c->get(3);
    REQUIRE(h);
    CHECK_FALSE(h->valid());
  }
  fill(r.mem.get() + 3 * bs, bs, 4); // the device's copy changed meanwhile
  const auto reads = r.reads();
  {
    auto h = c->read(3);
    REQUIRE(h);
    CHECK(h->valid());
    CHECK(has_pattern(h->data(), bs, 4));
  }
  CHECK(r.reads() == reads + 1);
  c->drop(3);
}
