// cache.cpp's tests once more, with every blocking form stepped on the
// caller's stack (async_ops<0>; see ops_mode in cache_support.hpp), then what
// is particular to that mode and to caches over a constant-geometry device.
#define CACHE_TEST_IN_PLACE 1
#include "cache.cpp"

#include <biostack/dispatch/dispatcher.hpp>

namespace {
template <class C>
concept has_get_async = requires(C& c, typename C::read_done f) {
  c.get_async(0, {}, f, nullptr);
};
template <class C>
concept has_sync_async = requires(C& c, typename C::write_done f) {
  c.sync_async(f, nullptr);
};
template <class C>
concept has_flush_block_async = requires(C& c, typename C::write_done f) {
  c.flush_block_async(0, f, nullptr);
};
template <class C>
concept has_wait_all_async = requires(C& c, typename C::write_done f) {
  c.wait_all_async(f, nullptr);
};
template <class C>
concept has_modify_async = requires(C& c, typename C::modify_done f) {
  c.modify_async(0, get_flags::none, f, nullptr);
};
template <class C>
concept has_interlock_async = requires(C& c, typename C::interlock_done f) {
  c.interlock_async(0, f, nullptr);
};
template <class C>
constexpr int async_entry_points =
    int{has_get_async<C>} + int{has_sync_async<C>} + int{has_flush_block_async<C>} +
    int{has_wait_all_async<C>} + int{has_modify_async<C>} + int{has_interlock_async<C>};

using queued_cache = buffer_cache<null_device, policies<static_storage<2, 512>>>;
using in_place_cache = buffer_cache<null_device, policies<static_storage<2, 512>, async_ops<0>>>;
static_assert(queued_cache::async_enabled && async_entry_points<queued_cache> == 6);
static_assert(!in_place_cache::async_enabled && async_entry_points<in_place_cache> == 0,
              "async_ops<0> removes every async entry point");
// The operation list and pool are gone with them.
static_assert(sizeof(in_place_cache) < sizeof(queued_cache));

constexpr std::uint32_t small_bs = 512;
using disk_t = static_ram_device<64 * small_bs, small_bs>;
static_assert(constant_geometry_device<disk_t>);
} // namespace

TEMPLATE_TEST_CASE("cache over a constant-geometry device: checks, sync, read back", "",
                   async_ops<4>, async_ops<0>) {
  // static_ram_device completes inside submit; one I/O slot, so a sync has
  // to go on from the completions delivered while it submits.
  using C =
      buffer_cache<disk_t,
                   policies<static_storage<4, small_bs>, io_slots<1>, poll_wait<10>, TestType>>;
  static disk_t disk;
  auto c = quiet_cache<C>(disk);
  CHECK(c->get(64).error() == errc::out_of_range); // 64 blocks of 512 B
  CHECK(c->get(63));                               // the last one exists
  CHECK(c->get(1, {.size = 100}).error() == errc::misaligned);
  CHECK(c->get(1, {.size = 2 * small_bs}).error() == errc::invalid_argument);
  for (std::uint32_t b = 0; b < 4; ++b) {
    auto h = c->get(b);
    REQUIRE(h);
    fill(h->data(), h->size(), b + 40);
    c->write_delayed(std::move(*h), true);
  }
  CHECK(c->dirty_count() == 4);
  CHECK(c->sync() == errc::ok);
  CHECK(c->dirty_count() == 0);
  CHECK(c->invalidate(0, 4) == 4);
  for (std::uint32_t b = 0; b < 4; ++b) {
    auto h = c->read(b);
    REQUIRE(h);
    CHECK(has_pattern(h->data(), h->size(), b + 40));
  }
  CHECK(c->stats().writebacks == 4);
  CHECK(c->wait_all() == errc::ok);
}

TEMPLATE_TEST_CASE("a get that must clean a buffer first succeeds over a device completing inline",
                   "", async_ops<4>, async_ops<0>) {
  // Every buffer dirty: get(5) finds no victim and starts the flusher, whose
  // writes complete inside submit (static_ram_device). Nothing is in flight
  // afterwards, yet a clean buffer now exists: the get must take it, in
  // place as the queued pump does, not answer no_resources.
  using C = buffer_cache<disk_t, policies<static_storage<2, small_bs>, io_slots<2>, TestType>>;
  static disk_t disk;
  auto c = quiet_cache<C>(disk);
  for (std::uint32_t b = 0; b < 2; ++b) REQUIRE(dirty_block(*c, b, 0, b + 7));
  REQUIRE(c->dirty_count() == 2);
  auto h = c->get(5);
  REQUIRE(h);
  CHECK(c->dirty_count() == 0);
  CHECK(c->in_flight() == 0);
  // The blocks it wrote reached the device.
  CHECK(has_pattern(disk.memory(), small_bs, 7));
  CHECK(has_pattern(disk.memory() + small_bs, small_bs, 8));
}

TEST_CASE("in place: the firmware's shape (dispatcher, deferred completions) syncs and reads") {
  using disp_t = dispatcher<disk_t, policies<fifo, tags<4>, static_pool<4>, deferred_completion>>;
  using C = buffer_cache<disp_t, policies<static_storage<8, small_bs>, io_slots<4>,
                                          block_key<std::uint32_t>, async_ops<0>>>;
  static disk_t disk;
  disp_t d(disk);
  auto c = quiet_cache<C>(d);
  for (std::uint32_t b = 0; b < 8; ++b) {
    auto h = c->get(b + 8);
    REQUIRE(h);
    fill(h->data(), h->size(), b);
    c->write_delayed(std::move(*h));
  }
  // Nothing completes but in poll(), which only the waits call.
  CHECK(c->sync() == errc::ok);
  CHECK(c->dirty_count() == 0);
  CHECK(c->flush_block(8) == errc::ok); // clean: nothing to write
  CHECK(c->invalidate(8, 8) == 8);
  for (std::uint32_t b = 0; b < 8; ++b) {
    auto h = c->read(b + 8);
    REQUIRE(h);
    CHECK(has_pattern(h->data(), h->size(), b));
  }
}

TEST_CASE("limits: values a cache can never reach are kept saturated and decide the same") {
  rig_t r;
  // 8 buffers of 4 KiB: every byte threshold fits 32 bits once saturated.
  auto c = make<cache_of<>>(r);
  const cache_limits set = c->limits();
  CHECK(set.hi_dirty == UINT32_MAX); // make() asked for 2^40
  CHECK(set.lo_dirty == UINT32_MAX);
  // Values within reach are kept exactly.
  cache_limits l = cache_of<>::default_limits(8);
  l.hi_dirty = 3 * bs;
  l.lo_dirty = 2 * bs;
  c->set_limits(l);
  const cache_limits got = c->limits();
  CHECK(got.hi_dirty == l.hi_dirty);
  CHECK(got.lo_dirty == l.lo_dirty);
  CHECK(got.hi_running == l.hi_running);
  CHECK(got.lo_running == l.lo_running);
  CHECK(got.hi_buffers == l.hi_buffers);
  CHECK(got.retry_pause == l.retry_pause);
  // A saturated hi_dirty never makes a writer flush, however much is dirty.
  l.hi_dirty = l.lo_dirty = std::uint64_t{1} << 40;
  c->set_limits(l);
  for (std::uint64_t b = 0; b < 8; ++b) {
    auto h = c->get(b);
    REQUIRE(h);
    c->write_delayed(std::move(*h));
  }
  CHECK(r.writes() == 0);
  CHECK_FALSE(c->needs_flush());
}

namespace {
template <class C>
void on_read_status(void* ctx, errc st, typename C::handle) noexcept {
  *static_cast<errc*>(ctx) = st;
}
} // namespace

TEMPLATE_TEST_CASE("one-block buffers (constant geometry, BlockSize = device block): sizes checked "
                   "as before, every buffer one block",
                   "", async_ops<4>, async_ops<0>) {
  // Here a buffer can only ever be one device block, so the cache keeps no
  // size and compiles its resize paths out: the answers must not change.
  using C = buffer_cache<disk_t, policies<static_storage<4, small_bs>, io_slots<2>, TestType>>;
  static disk_t disk;
  auto c = quiet_cache<C>(disk);
  CHECK(c->get(3, {.size = 2 * small_bs}).error() == errc::invalid_argument);
  CHECK(c->get(3, {.size = 256}).error() == errc::misaligned);
  CHECK(c->get(3, {.size = 2 * small_bs, .flags = get_flags::size_match}).error() ==
        errc::invalid_argument);
  CHECK(c->read(3, {.size = 100}).error() == errc::misaligned);
  errc st = errc::ok;
  CHECK(c->read_async(3, &on_read_status<C>, &st, {.size = 2 * small_bs}) ==
        errc::invalid_argument);
  std::byte out[small_bs];
  CHECK(c->read_into(3, out, nullptr, {.size = 3 * small_bs}) == errc::invalid_argument);
  CHECK_FALSE(c->contains(3)); // nothing was cached by the refused calls
  {
    auto h = c->get(3, {.size = small_bs, .flags = get_flags::size_match});
    REQUIRE(h);
    CHECK(h->size() == small_bs);
    fill(h->data(), h->size(), 7);
    c->write_delayed(std::move(*h));
  }
  // The block size given explicitly or as 0 is the same buffer: a hit.
  const std::uint64_t hits = c->stats().hits;
  {
    auto h = c->get(3, {.size = 0, .flags = get_flags::size_match});
    REQUIRE(h);
    CHECK(h->valid());
    CHECK(h->dirty());
    CHECK(h->size() == small_bs);
  }
  CHECK(c->stats().hits == hits + 1);
  CHECK(c->inspect(3).size == small_bs);
  CHECK(c->dirty_bytes() == small_bs);
  CHECK(c->sync() == errc::ok);
  CHECK(c->dirty_bytes() == 0);
  CHECK(has_pattern(disk.memory() + 3 * small_bs, small_bs, 7));
  CHECK(c->read_into(3, out, nullptr, {.size = small_bs}) == errc::ok);
  CHECK(has_pattern(out, small_bs, 7));
}

TEMPLATE_TEST_CASE("two-block buffers over a constant geometry still change size", "", async_ops<4>,
                   async_ops<0>) {
  // BlockSize is two device blocks: sizes may differ, and the resize paths
  // (size_match's failure, re-creation, write-first) are all there.
  using C = buffer_cache<disk_t, policies<static_storage<4, 2 * small_bs>, io_slots<2>, TestType>>;
  static disk_t disk;
  auto c = quiet_cache<C>(disk);
  {
    auto h = c->get(2, {.size = small_bs});
    REQUIRE(h);
    CHECK(h->size() == small_bs);
    fill(h->data(), h->size(), 11);
    c->write_delayed(std::move(*h));
  }
  CHECK(c->dirty_bytes() == small_bs);
  CHECK(c->get(2, {.flags = get_flags::size_match}).error() == errc::invalid_argument);
  {
    // Another size: the dirty half-size buffer is written first, then re-created.
    auto h = c->get(2);
    REQUIRE(h);
    CHECK(h->size() == 2 * small_bs);
    CHECK_FALSE(h->valid());
  }
  CHECK(has_pattern(disk.memory() + 2 * 2 * small_bs, small_bs, 11));
  CHECK(c->dirty_bytes() == 0);
  auto h = c->read(2);
  REQUIRE(h);
  CHECK(h->size() == 2 * small_bs);
  CHECK(has_pattern(h->data(), small_bs, 11));
  CHECK(c->inspect(2).size == 2 * small_bs);
}
