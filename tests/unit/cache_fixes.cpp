// Buffer cache: regression tests for the defects of the issue-4 review
// (modify during an in-flight write, checked reads of dirty buffers, wait
// policies that give up, completion hooks racing the in-flight accounting,
// owner reclaim hooks, the running-write throttle of write_async, size changes
// of buffers being modified). Each test
// fails on the code before its fix.
#include "cache_support.hpp"
#include <biostack/cache/replacement/lru.hpp>
#include <biostack/hosted/cache_heap_storage.hpp>
#include <biostack/hosted/cache_wait.hpp>
#include <biostack/hosted/std_mutex.hpp>
#include <biostack/hosted/steady_clock.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

using namespace biostack;
using namespace cache_test;
using namespace std::chrono_literals;

namespace {
constexpr std::uint32_t bs = 4096;

template <std::size_t N = 8, class... More>
using cache_of =
    buffer_cache<rig_device,
                 policies<static_storage<N, bs>, lru, poll_wait<10000>, ops_mode, More...>>;

// Dirty thresholds that never trigger: the tests decide every write.
template <class C>
std::unique_ptr<C> make(rig_t& r) {
  auto c = std::make_unique<C>(r.dev);
  auto l = c->limits();
  l.hi_dirty = l.lo_dirty = std::uint64_t{1} << 40;
  c->set_limits(l);
  return c;
}

// Block `lbn`, valid, filled with `seed`, held (so `modify` may be used), idle.
template <class C>
std::byte* held_block(C& c, std::uint64_t lbn, std::uint32_t seed) {
  auto h = c.get(lbn);
  REQUIRE(h);
  fill(h->data(), bs, seed);
  c.hold(*h);
  std::byte* p = h->data();
  c.write_delayed(std::move(*h));
  return p;
}
} // namespace

// ------------------------------------------------------------------ defect 1

TEST_CASE("fix 1: modify waits for the buffer's in-flight write; the change is kept") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay(5).only(op::write).always()) == errc::ok);
  auto c = make<cache_of<>>(r);
  std::byte* p = held_block(*c, 1, 1);
  REQUIRE(c->flush_step() == 1); // the write of pattern 1 is in flight
  REQUIRE(r.faulty.held() == 1);
  {
    auto m = c->modify(1);
    REQUIRE(m);
    // The guard is granted only once the write has completed: the device no
    // longer reads the buffer while the owner changes it.
    CHECK(r.faulty.held() == 0);
    CHECK(c->in_flight() == 0);
    CHECK(has_pattern(r.media(1, bs), bs, 1));
    fill(p, bs, 2);
  }
  CHECK(c->inspect(1).dirty); // the modification is pending, not lost
  CHECK(c->sync() == errc::ok);
  CHECK(has_pattern(r.media(1, bs), bs, 2));
  c->drop(1);
}

TEST_CASE("fix 1: modify with nowait on a buffer whose write is in flight: no_resources") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay().only(op::write).always()) == errc::ok);
  auto c = make<cache_of<>>(r);
  (void)held_block(*c, 1, 1);
  REQUIRE(c->flush_step() == 1);
  auto m = c->modify(1, get_flags::nowait);
  CHECK(m.error() == errc::no_resources);
  CHECK(c->in_flight() == 1);
  r.faulty.release_all();
  auto m2 = c->modify(1, get_flags::nowait);
  CHECK(m2);
  CHECK(c->inspect(1).dirty);
}

TEST_CASE("fix 1: a write issued while a modifier is active leaves the buffer dirty") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay().only(op::write).always()) == errc::ok);
  auto c = make<cache_of<>>(r);
  std::byte* p = held_block(*c, 1, 1);
  SECTION("the modifier is still active when the write completes") {
    auto m = c->modify(1);
    REQUIRE(m);
    auto h = c->get(1); // the owner's own write, racing its modifier
    REQUIRE(h);
    REQUIRE(c->write_async(std::move(*h)) == errc::ok);
    fill(p, bs, 2);
    r.faulty.release_all();
    CHECK(c->inspect(1).dirty);
  }
  SECTION("the modifier ends while the write is in flight") {
    {
      auto m = c->modify(1);
      REQUIRE(m);
      auto h = c->get(1);
      REQUIRE(h);
      REQUIRE(c->write_async(std::move(*h)) == errc::ok);
      fill(p, bs, 2);
    }
    r.faulty.release_all();
    CHECK(c->inspect(1).dirty);
  }
  CHECK(c->inspect(1).queued); // back on the dirty set: the flusher will write it
  CHECK(c->sync() == errc::ok);
  CHECK(has_pattern(r.media(1, bs), bs, 2));
}

namespace {
// Releases the held write of block `lbn` (faulty_device holds them in
// submission order; this finds it wherever it is).
void release_write_of(rig_t& r, std::uint64_t lbn) {
  for (std::size_t i = 0; i < r.faulty.held(); ++i) {
    if (r.faulty.held_request(i).offset == lbn * bs) {
      REQUIRE(r.faulty.release_at(i) == errc::ok);
      return;
    }
  }
  FAIL("no held write of block " << lbn);
}
} // namespace

// The cache finds the write a modifier overtook among its running writes,
// whichever I/O slot it runs on: a later slot than the first, or a reused
// lower one while an older write still runs above it.
TEST_CASE("fix 1: a modifier ending during a write on any I/O slot leaves the buffer dirty") {
  for (const bool reuse_lower_slot : {false, true}) {
    CAPTURE(reuse_lower_slot);
    rig_t r;
    REQUIRE(r.faulty.add_rule(fault_rule::delay().only(op::write).always()) == errc::ok);
    auto c = make<cache_of<8, io_slots<4>>>(r);
    for (const std::uint64_t b : {1u, 2u}) {
      (void)held_block(*c, b, static_cast<std::uint32_t>(b));
      REQUIRE(c->flush_block(b) == errc::ok); // slots 0 and 1, held
    }
    if (reuse_lower_slot) release_write_of(r, 1); // slot 0 is free again
    std::byte* p = held_block(*c, 3, 3);
    {
      auto m = c->modify(3);
      REQUIRE(m);
      auto h = c->get(3);
      REQUIRE(h);
      REQUIRE(c->write_async(std::move(*h)) == errc::ok); // slot 2, or slot 0 reused
      fill(p, bs, 4);
    } // the modifier ends while the write is in flight
    release_write_of(r, 3);
    CHECK(c->inspect(3).dirty); // the write may have taken a half-made change
    r.faulty.release_all();
    REQUIRE(c->flush_block(3) == errc::ok);
    r.faulty.release_all();
    CHECK_FALSE(c->inspect(3).dirty);
    CHECK(has_pattern(r.media(3, bs), bs, 4));
    CHECK(c->in_flight() == 0);
  }
}

TEST_CASE("fix 1: modify of a buffer that was never filled: invalid_argument, nothing dirty") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  {
    auto h = c->get(2); // a miss: not valid
    REQUIRE(h);
    c->hold(*h);
  }
  REQUIRE(c->inspect(2).found);
  CHECK(c->modify(2).error() == errc::invalid_argument);
  CHECK_FALSE(c->inspect(2).dirty);
  CHECK_FALSE(c->inspect(2).valid);
  CHECK(c->dirty_count() == 0);
  CHECK(c->sync() == errc::ok);
  CHECK(r.writes() == 0);
  c->drop(2);
}

// ------------------------------------------------------------------ defect 2

TEST_CASE("fix 2: a checked read of a dirty buffer never drops its data") {
  rig_t r;
  using C = cache_of<8, crc32c_integrity<>>;
  auto c = make<C>(r);
  const std::uint32_t disk_crc = crc32c(r.media(2, bs), bs);
  {
    auto h = c->get(2);
    REQUIRE(h);
    fill(h->data(), bs, 9);
    c->write_delayed(std::move(*h));
  }
  std::vector<std::byte> dirty(bs);
  fill(dirty.data(), bs, 9);
  std::vector<std::byte> dst(bs, std::byte{0x5A});
  // The cached (newer) data is the truth: the disk's checksum does not match it.
  CHECK(c->read_checked(2, dst, disk_crc) == errc::integrity);
  CHECK(dst == std::vector<std::byte>(bs, std::byte{0x5A})); // untouched
  CHECK(c->stats().integrity_errors == 1);
  const auto st = c->inspect(2);
  CHECK(st.found);
  CHECK(st.dirty);
  CHECK(st.valid);
  CHECK(c->dirty_count() == 1);
  // The checksum of the dirty data matches it.
  CHECK(c->read_checked(2, dst, crc32c(dirty.data(), bs)) == errc::ok);
  CHECK(dst == dirty);
  CHECK(r.reads() == 0);
  CHECK(c->sync() == errc::ok);
  CHECK(has_pattern(r.media(2, bs), bs, 9));
}

TEST_CASE("fix 2: a checked read mismatch keeps a pinned buffer; drops only a clean one") {
  rig_t r;
  using C = cache_of<8, crc32c_integrity<>>;
  auto c = make<C>(r);
  fill(r.mem.get() + 3 * bs, bs, 3);
  fill(r.mem.get() + 4 * bs, bs, 4);
  {
    auto h = c->read(3);
    REQUIRE(h);
    c->pin(*h);
  }
  { REQUIRE(c->read(4)); }
  std::byte dst[bs] = {};
  CHECK(c->read_checked(3, dst, 0) == errc::integrity);
  CHECK(c->inspect(3).found);
  CHECK(c->inspect(3).pinned);
  CHECK(c->read_checked(4, dst, 0) == errc::integrity);
  CHECK_FALSE(c->inspect(4).found); // clean: the next read fetches it again
  CHECK(c->stats().integrity_errors == 2);
}

// ------------------------------------------------------------------ defect 3

namespace {
// Gives up after 10 idle polls; the device holds completions for 100 polls.
template <class... More>
using impatient =
    buffer_cache<rig_device,
                 policies<static_storage<8, bs>, lru, poll_wait<10>, ops_mode, More...>>;
} // namespace

TEST_CASE("fix 3: a read whose wait gives up: timed_out, the read completes later, cached") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay(100).only(op::read).always()) == errc::ok);
  fill(r.mem.get() + 3 * bs, bs, 3);
  auto c = make<impatient<io_slots<1>>>(r);
  auto h = c->read(3);
  REQUIRE_FALSE(h);
  CHECK(h.error() == errc::timed_out);
  CHECK(c->in_flight() == 1); // still the device's
  CHECK(c->inspect(3).busy);
  CHECK(c->get(5, {.flags = get_flags::nowait}));
  // The only slot is still taken by the abandoned read.
  using C = impatient<io_slots<1>>;
  CHECK(c->read_async(
            6, [](void*, errc, C::handle) noexcept {}, nullptr) == errc::no_resources);
  r.faulty.release_all();
  CHECK(c->in_flight() == 0);
  const auto st = c->inspect(3);
  CHECK(st.valid);
  CHECK_FALSE(st.busy);
  const auto reads = r.reads();
  auto again = c->get(3, {.flags = get_flags::nowait});
  REQUIRE(again);
  CHECK(again->valid());
  CHECK(has_pattern(again->data(), bs, 3));
  CHECK(r.reads() == reads);
}

TEST_CASE("fix 3: a read that gives up waiting for an I/O slot: timed_out, nothing left behind") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay(100).only(op::write).always()) == errc::ok);
  fill(r.mem.get() + 3 * bs, bs, 3);
  auto c = make<impatient<io_slots<1>>>(r);
  auto w = c->get(0);
  REQUIRE(w);
  REQUIRE(c->write_async(std::move(*w)) == errc::ok); // holds the only slot
  auto h = c->read(3);
  REQUIRE_FALSE(h);
  CHECK(h.error() == errc::timed_out);
  CHECK_FALSE(c->inspect(3).found);
  CHECK(r.reads() == 0);
  r.faulty.release_all();
  auto again = c->read(3);
  REQUIRE(again);
  CHECK(has_pattern(again->data(), bs, 3));
}

TEST_CASE("fix 3: write_sync whose wait gives up: timed_out, buffer dirty until the write ends") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay(100).only(op::write).always()) == errc::ok);
  auto c = make<impatient<io_slots<1>>>(r);
  auto h = c->get(4);
  REQUIRE(h);
  fill(h->data(), bs, 4);
  CHECK(c->write_sync(std::move(*h)) == errc::timed_out);
  CHECK(c->in_flight() == 1);
  CHECK(c->inspect(4).dirty);
  CHECK(c->inspect(4).busy);
  CHECK(c->running_bytes() == bs);
  r.faulty.release_all();
  CHECK(c->in_flight() == 0);
  CHECK_FALSE(c->inspect(4).dirty);
  CHECK_FALSE(c->inspect(4).busy);
  CHECK(c->running_bytes() == 0);
  CHECK(has_pattern(r.media(4, bs), bs, 4));
  // The slot is free again.
  auto g = c->get(5);
  REQUIRE(g);
  fill(g->data(), bs, 5);
  r.faulty.clear_rules();
  CHECK(c->write_sync(std::move(*g)) == errc::ok);
  CHECK(has_pattern(r.media(5, bs), bs, 5));
}

TEST_CASE("fix 3: a size change whose write-first gives up: timed_out, data kept") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay(100).only(op::write).always()) == errc::ok);
  auto c = make<impatient<>>(r);
  {
    auto h = c->get(6);
    REQUIRE(h);
    fill(h->data(), bs, 6);
    c->write_delayed(std::move(*h));
  }
  auto small = c->get(6, {.size = bs / 2});
  REQUIRE_FALSE(small);
  CHECK(small.error() == errc::timed_out);
  CHECK(c->in_flight() == 1);
  CHECK(c->inspect(6).dirty);
  CHECK(c->inspect(6).size == bs);
  r.faulty.release_all();
  CHECK(c->in_flight() == 0);
  CHECK_FALSE(c->inspect(6).dirty);
  CHECK(has_pattern(r.media(6, bs), bs, 6));
  auto again = c->get(6, {.size = bs / 2});
  REQUIRE(again);
  CHECK(again->size() == bs / 2);
}

TEST_CASE("fix 3: a throttled write_sync whose wait gives up: timed_out, dirty, not written") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay(100).only(op::write).always()) == errc::ok);
  auto c = make<impatient<>>(r);
  auto l = c->limits();
  l.hi_running = l.lo_running = bs; // more than one running write engages the throttle
  c->set_limits(l);
  for (std::uint64_t k = 0; k < 2; ++k) {
    auto h = c->get(k);
    REQUIRE(h);
    fill(h->data(), bs, static_cast<std::uint32_t>(k));
    REQUIRE(c->write_async(std::move(*h)) == errc::ok);
  }
  REQUIRE(c->running_bytes() == 2 * bs);
  auto h = c->get(7);
  REQUIRE(h);
  fill(h->data(), bs, 7);
  const auto writes = r.writes();
  CHECK(c->write_sync(std::move(*h)) == errc::timed_out);
  CHECK(r.writes() == writes); // never submitted
  const auto st = c->inspect(7);
  CHECK(st.dirty);
  CHECK(st.queued);
  CHECK_FALSE(st.busy);
  r.faulty.release_all();
  r.faulty.clear_rules();
  // The throttle is usable again (its ticket was handed on).
  auto g = c->get(7);
  REQUIRE(g);
  CHECK(c->write_sync(std::move(*g)) == errc::ok);
  CHECK(has_pattern(r.media(7, bs), bs, 7));
}

// ------------------------------------------------------------------ defect 4

namespace {
// A RAM disk whose writes are held until another thread completes them.
class gated_disk {
public:
  explicit gated_disk(std::size_t bytes)
      : mem_(new std::byte[bytes]()), ram_(mem_.get(), bytes, 512) {}
  [[nodiscard]] device_geometry geometry() const noexcept { return ram_.geometry(); }
  void submit(bio& b) noexcept {
    std::unique_lock<std::mutex> l(m_);
    if (b.operation == op::write) {
      held_.push_back(&b);
      return;
    }
    std::uint32_t res = 0;
    errc st = validate(b, ram_.geometry());
    if (st == errc::ok) st = perform_sync(ram_, b, res);
    l.unlock();
    complete(b, st, res);
  }
  std::size_t held() {
    std::lock_guard<std::mutex> g(m_);
    return held_.size();
  }
  void release_one() {
    std::unique_lock<std::mutex> l(m_);
    bio* b = held_.front();
    held_.pop_front();
    std::uint32_t res = 0;
    const errc st = perform_sync(ram_, *b, res);
    l.unlock();
    complete(*b, st, res);
  }

private:
  std::unique_ptr<std::byte[]> mem_;
  ram_device ram_;
  std::mutex m_;
  std::deque<bio*> held_;
};

// Slow hooks that record, without synchronisation of their own, that they
// ran: reading the counts is race-free only if the cache orders the hooks
// before whatever told the reader the I/O was over (checked by TSan; the
// sleep only gives a wrong order the chance to show without it).
struct slow_hooks {
  using category = owner_hooks_tag;
  int* completed = nullptr;
  write_decision check_write(const buffer_info&) noexcept { return write_decision::allow; }
  void on_complete(const buffer_info&, errc) noexcept {
    std::this_thread::sleep_for(20ms);
    ++*completed;
  }
  bool may_reclaim(const buffer_info&) noexcept { return true; }
  void on_critical_error(const buffer_info&, errc) noexcept {}
};

using hooked_cache = buffer_cache<gated_disk, policies<heap_storage<8, bs>, lru, std_mutex_lock,
                                                       cv_wait<>, steady_clock_ns, slow_hooks>>;

} // namespace

// Threads (std_mutex_lock, cv_wait): queued operations only; async_ops<0>
// needs a single-context wait policy, so the in-place build skips these.
#ifndef CACHE_TEST_IN_PLACE
namespace {
void complete_when_submitted(gated_disk& d) {
  while (d.held() == 0) std::this_thread::sleep_for(100us);
  d.release_one();
}
} // namespace

TEST_CASE("fix 4: write_sync returns only after the completion hooks ran") {
  gated_disk d(1 << 20);
  int completed = 0;
  auto c = std::make_unique<hooked_cache>(d);
  c->hooks().completed = &completed;
  auto h = c->get(1);
  REQUIRE(h);
  std::thread t([&] { complete_when_submitted(d); });
  CHECK(c->write_sync(std::move(*h)) == errc::ok);
  CHECK(completed == 1);
  t.join();
}

TEST_CASE("fix 4: in_flight() == 0 and wait_all() imply the hooks and callbacks are done") {
  gated_disk d(1 << 20);
  int completed = 0;
  int called_back = 0;
  auto c = std::make_unique<hooked_cache>(d);
  c->hooks().completed = &completed;
  auto h = c->get(1);
  REQUIRE(h);
  std::thread t([&] { complete_when_submitted(d); });
  REQUIRE(c->write_async(
              std::move(*h),
              [](void* p, errc) noexcept {
                std::this_thread::sleep_for(20ms);
                ++*static_cast<int*>(p);
              },
              &called_back) == errc::ok);
  SECTION("in_flight") {
    while (c->in_flight() != 0) std::this_thread::sleep_for(100us);
  }
  SECTION("wait_all") { CHECK(c->wait_all() == errc::ok); }
  CHECK(completed == 1);
  CHECK(called_back == 1);
  t.join();
  c.reset(); // the destructor's in-flight check agrees
}

#endif // CACHE_TEST_IN_PLACE

// ------------------------------------------------------------------ defect 5

namespace {
// A lock that knows whether it is held, to check when hooks are called.
struct tracking_lock {
  using category = lock_policy_tag;
  static inline bool held = false; // one cache per test, one thread
  void lock() noexcept { held = true; }
  void unlock() noexcept { held = false; }
};
struct reclaim_hooks {
  using category = owner_hooks_tag;
  std::vector<std::uint64_t> reclaimed;
  std::uint64_t refuse = UINT64_MAX;
  int asked = 0;
  int asked_unlocked = 0;
  int told_unlocked = 0;
  write_decision check_write(const buffer_info&) noexcept { return write_decision::allow; }
  void on_complete(const buffer_info&, errc) noexcept {}
  bool may_reclaim(const buffer_info& b) noexcept {
    ++asked;
    if (!tracking_lock::held) ++asked_unlocked;
    return b.lbn != refuse;
  }
  void on_reclaim(const buffer_info& b) noexcept {
    if (!tracking_lock::held) ++told_unlocked;
    reclaimed.push_back(b.lbn);
  }
  void on_critical_error(const buffer_info&, errc) noexcept {}
};
} // namespace

TEST_CASE("fix 5: on_reclaim tells the owner which buffer was reclaimed; may_reclaim can refuse") {
  rig_t r;
  using C = buffer_cache<rig_device, policies<static_storage<2, bs>, lru, tracking_lock,
                                              reclaim_hooks, poll_wait<10000>, ops_mode>>;
  auto c = make<C>(r);
  // Documented: both hooks run with the cache lock held (they must not call
  // back into the cache).
  REQUIRE(c->read(0));
  REQUIRE(c->read(1));
  c->hooks().refuse = 0; // the LRU victim would be block 0
  REQUIRE(c->read(2));
  CHECK(c->hooks().reclaimed == std::vector<std::uint64_t>{1});
  CHECK(c->inspect(0).found);
  CHECK_FALSE(c->inspect(1).found);
  CHECK(c->hooks().asked >= 2);
  CHECK(c->hooks().asked_unlocked == 0);
  CHECK(c->hooks().told_unlocked == 0);
  c->hooks().refuse = UINT64_MAX;
  REQUIRE(c->read(3));
  CHECK(c->hooks().reclaimed == std::vector<std::uint64_t>{1, 0});
}

TEST_CASE("fix 5: the default hooks accept on_reclaim as a no-op") {
  no_owner_hooks h;
  h.on_reclaim(buffer_info{1, bs, 0, 0, false});
  STATIC_REQUIRE(owner_hooks_with_reclaim<no_owner_hooks>);
  STATIC_REQUIRE_FALSE(owner_hooks_with_reclaim<slow_hooks>); // optional: old hooks still work
}

// ------------------------------------------------------------------ defect 6

TEST_CASE("fix 6: write_async honours the running-write throttle without waiting") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay().only(op::write).always()) == errc::ok);
  auto c = make<cache_of<>>(r);
  auto l = c->limits();
  l.hi_running = l.lo_running = bs;
  c->set_limits(l);
  for (std::uint64_t k = 0; k < 2; ++k) {
    auto h = c->get(k);
    REQUIRE(h);
    fill(h->data(), bs, static_cast<std::uint32_t>(k));
    REQUIRE(c->write_async(std::move(*h)) == errc::ok);
  }
  auto h = c->get(2);
  REQUIRE(h);
  fill(h->data(), bs, 2);
  CHECK(c->write_async(std::move(*h)) == errc::no_resources);
  CHECK(r.writes() == 2);
  CHECK(c->running_bytes() == 2 * bs);
  const auto st = c->inspect(2);
  CHECK(st.dirty); // kept, with its data, for the flusher
  CHECK(st.queued);
  CHECK_FALSE(st.busy);
  r.faulty.release_all();
  CHECK(c->flush_step() == 1);
  r.faulty.release_all();
  CHECK_FALSE(c->inspect(2).dirty);
  CHECK(has_pattern(r.media(2, bs), bs, 2));
}

namespace {
// Block `lbn` cached, valid, dirty with pattern 1 and held (so it may be
// modified); returns its bytes, which stay put while it is held.
template <class C>
std::byte* held_dirty(C& c, std::uint64_t lbn) {
  auto h = c.get(lbn);
  REQUIRE(h);
  std::byte* p = h->data();
  fill(p, bs, 1);
  h->mark_valid();
  c.hold(*h);
  c.write_delayed(std::move(*h));
  return p;
}
} // namespace

TEST_CASE("fix 7: a size change never writes a buffer with an active modifier or interlock") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  std::byte* p = held_dirty(*c, 4);
  {
    auto g = c->modify(4);
    REQUIRE(g);
    // Single context: only this caller can end the modification, so the
    // write-first of the size change is refused rather than waited for.
    CHECK(c->get(4, {.size = bs / 2}).error() == errc::no_resources);
    CHECK(c->get(4, {.size = bs / 2, .flags = get_flags::nowait}).error() == errc::no_resources);
    CHECK(r.writes() == 0);
    fill(p, bs, 2); // the change completes after the refused size change
  }
  {
    auto il = c->interlock(4);
    REQUIRE(il);
    CHECK(c->get(4, {.size = bs / 2, .flags = get_flags::nowait}).error() == errc::no_resources);
    CHECK(r.writes() == 0);
  }
  CHECK(c->inspect(4).dirty);
  CHECK(c->inspect(4).size == bs);
  c->drop(4);
  auto small = c->get(4, {.size = bs / 2});
  REQUIRE(small);
  CHECK(r.writes() == 1);
  CHECK(has_pattern(r.media(4, bs), bs, 2)); // the finished change reached the disk
  CHECK(small->size() == bs / 2);
}

#ifndef CACHE_TEST_IN_PLACE // threads: queued operations only (see defect 4)
TEST_CASE("fix 7: a size change waits for the modifier to finish, then writes its change") {
  rig_t r;
  using C =
      buffer_cache<rig_device,
                   policies<heap_storage<8, bs>, lru, std_mutex_lock, cv_wait<>, steady_clock_ns>>;
  auto c = make<C>(r);
  std::byte* p = held_dirty(*c, 4);
  std::atomic<bool> started{false};
  errc got = errc::io_error;
  std::uint32_t got_size = 0;
  std::thread t;
  {
    auto g = c->modify(4);
    REQUIRE(g);
    t = std::thread([&] {
      started = true;
      auto small = c->get(4, {.size = bs / 2}); // waits: modifier active, then the hold
      got = small ? errc::ok : small.error();
      if (small) got_size = small->size();
    });
    while (!started) std::this_thread::yield();
    std::this_thread::sleep_for(20ms); // let it reach the wait (not required for the checks)
    fill(p, bs, 2);                    // the modification, made while the resizer waits
  }
  c->drop(4);
  t.join();
  CHECK(got == errc::ok);
  CHECK(got_size == bs / 2);
  CHECK(r.writes() == 1);
  CHECK(has_pattern(r.media(4, bs), bs, 2)); // not the half-made pattern 1
}
#endif // CACHE_TEST_IN_PLACE

// ------------------------------------------- buffer and slot numbering edges
//
// The edges of the cache's buffer and I/O slot numbers, whose "none" values
// (npos, and the I/O slot list's end) sit just past the largest number: a
// cache of one buffer and one I/O slot, the highest buffer a 16-bit index
// can name, and the highest I/O slot.

TEST_CASE("numbering: a cache of one buffer and one I/O slot") {
  rig_t r;
  using C = cache_of<1, io_slots<1>>;
  auto c = make<C>(r);
  {
    auto h = c->get(7);
    REQUIRE(h);
    CHECK(h->slot() == 0);
    fill(h->data(), bs, 7);
    c->write_delayed(std::move(*h)); // the only buffer, alone on the dirty set
  }
  CHECK(c->inspect(7).slot == 0);
  CHECK(c->dirty_count() == 1);
  CHECK(c->get(8, {.flags = get_flags::nowait}).error() == errc::no_resources); // dirty
  CHECK(c->sync() == errc::ok); // through the one I/O slot
  CHECK(has_pattern(r.media(7, bs), bs, 7));
  fill(r.mem.get() + 8 * bs, bs, 8);
  {
    auto h = c->read(8); // reclaims block 7's buffer, reads through the slot
    REQUIRE(h);
    CHECK(h->slot() == 0);
    CHECK(has_pattern(h->data(), bs, 8));
  }
  CHECK_FALSE(c->contains(7));
  CHECK(c->inspect(7).slot == C::npos);
  CHECK(c->invalidate(0, 1000) == 1); // the scan over every buffer
  CHECK(c->resident() == 0);
  auto h = c->read(7); // the freed buffer again
  REQUIRE(h);
  CHECK(h->slot() == 0);
  CHECK(has_pattern(h->data(), bs, 7));
  CHECK(r.reads() == 2);
}

TEST_CASE("numbering: the highest buffer of a 16-bit index") {
  // 65534 buffers: the largest cache whose slots are 16-bit. Its last buffer
  // is slot 65533, one below npos (0xFFFF).
  constexpr std::size_t n = 0xFFFE;
  using C = buffer_cache<null_device,
                         policies<no_data_storage<n, 512>, poll_wait<>, ops_mode, io_slots<2>>>;
  static_assert(std::is_same_v<C::index_type, std::uint16_t> && C::npos == 0xFFFF);
  null_device dev(512, 1u << 20);
  auto c = std::make_unique<C>(dev);
  for (std::uint64_t b = 0; b < n; ++b) {
    auto h = c->get(b);
    REQUIRE(h);
    REQUIRE(h->slot() == b); // fresh buffers are handed out in order
    h->mark_valid();
  }
  CHECK(c->resident() == n);
  const auto last = c->inspect(n - 1);
  CHECK(last.found);
  CHECK(last.slot == n - 1);
  {
    auto h = c->get(n - 1); // a hit on the highest buffer
    REQUIRE(h);
    CHECK(h->slot() == n - 1);
    CHECK(h->valid());
    CHECK(h->lbn() == n - 1);
  }
  // A full cache: one more block reclaims a victim, never a slot past the end.
  {
    auto h = c->get(n);
    REQUIRE(h);
    CHECK(h->slot() < n);
    CHECK(c->stats().evictions == 1);
    h->mark_valid(); // kept at release
  }
  CHECK(c->resident() == n);
  CHECK(c->invalidate(0, 2 * n) == n);
  CHECK(c->resident() == 0);
  CHECK_FALSE(c->contains(n - 1));
  auto h = c->get(n - 1); // an EMPTY header again
  REQUIRE(h);
  CHECK(h->slot() < n);
}

TEST_CASE("numbering: the highest I/O slot (254) in flight, then reused") {
  // Every read held by the device: all 254 slots in flight at once.
  rig<256 * 1024, faulty_limits<4, 256, 0, 1, 4>> r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay().only(op::read).always()) == errc::ok);
  using C = buffer_cache<decltype(r.dev),
                         policies<static_storage<256, 512>, poll_wait<>, ops_mode, io_slots<254>>>;
  auto c = std::make_unique<C>(r.dev);
  for (std::uint32_t b = 0; b < 256; ++b) fill(r.mem.get() + b * 512, 512, b);
  struct seen {
    std::uint32_t ok = 0, good = 0;
  } s;
  const C::read_done done = [](void* ctx, errc st, C::handle h) noexcept {
    auto& v = *static_cast<seen*>(ctx);
    if (st != errc::ok || !h) return;
    ++v.ok;
    if (has_pattern(h.data(), 512, static_cast<std::uint32_t>(h.lbn()))) ++v.good;
  };
  for (std::uint64_t b = 0; b < 254; ++b) REQUIRE(c->read_async(b, done, &s) == errc::ok);
  CHECK(c->in_flight() == 254);
  CHECK(c->read_async(254, done, &s) == errc::no_resources); // no slot left
  // The recorder parks what its children cannot carry and passes it on as
  // they complete, to be held again: release until nothing is held.
  while (r.faulty.held() != 0) r.faulty.release_all();
  CHECK(s.ok == 254);
  CHECK(s.good == 254);
  CHECK(c->in_flight() == 0);
  r.faulty.clear_rules();
  REQUIRE(c->read_async(255, done, &s) == errc::ok); // a freed slot, completed inline
  CHECK(s.good == 255);
}

// ----------------------------------------- a modifier outliving the last hold

TEST_CASE("fix: a discarded buffer goes when its modifier or interlock ends after the last drop") {
  rig_t r;
  auto c = make<cache_of<>>(r);
  (void)held_block(*c, 1, 1); // held, valid, dirty
  SECTION("modify") {
    {
      auto m = c->modify(1);
      REQUIRE(m);
      CHECK(c->invalidate(1, 1) == 1); // being modified: marked, kept
      c->drop(1);                      // the last hold; the modifier still keeps it
      CHECK(c->inspect(1).found);
    }
    CHECK_FALSE(c->inspect(1).found);
  }
  SECTION("interlock") {
    {
      auto il = c->interlock(1);
      REQUIRE(il);
      CHECK(c->invalidate(1, 1) == 1);
      c->drop(1);
      CHECK(c->inspect(1).found);
    }
    CHECK_FALSE(c->inspect(1).found);
  }
  CHECK(c->dirty_count() == 0);
  CHECK(c->sync() == errc::ok);
  CHECK(r.writes() == 0); // the discarded data is never written
}
