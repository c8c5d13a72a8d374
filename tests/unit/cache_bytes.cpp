// SPDX-License-Identifier: MIT
//
// The cache's byte accounting (dirty bytes, running write bytes, the dirty
// high-water mark) when every buffer is one device block. There the cache
// derives the byte counts from the buffer counts instead of keeping them
// (`one_unit`); over a run-time geometry it keeps them. The same script over
// both must give the same figures at every step, in both operation modes.

#include <biostack/biostack.hpp>
#include <biostack/cache/buffer_cache.hpp>
#include <catch2/catch.hpp>
#include <deque>
#include <type_traits>
#include <vector>

using namespace biostack;

namespace {

// Completes reads inline and holds writes until the test finishes them,
// with a compile-time geometry (Constant) or the same one at run time.
template <bool Constant>
struct held_writes {
  using promises_of = std::conditional_t<Constant, held_writes, void>;
  static constexpr device_geometry constant_geometry = [] {
    device_geometry g;
    g.block_size = 512;
    g.block_count = 64;
    return g;
  }();
  [[nodiscard]] device_geometry geometry() const noexcept { return constant_geometry; }
  void submit(bio& b) noexcept {
    if (b.operation == op::write)
      held.push_back(&b);
    else
      complete(b, errc::ok);
  }
  void finish(errc s) noexcept {
    bio* b = held.front();
    held.pop_front();
    complete(*b, s);
  }
  std::deque<bio*> held;
};
static_assert(constant_geometry_device<held_writes<true>>);
static_assert(!constant_geometry_device<held_writes<false>>);

struct snapshot {
  std::uint64_t dirty, running, high_water;
  std::size_t dirty_count, in_flight, held;
  bool needs_flush;
  bool operator==(const snapshot&) const = default;
};

template <bool Constant, std::size_t Ops>
std::vector<snapshot> script() {
  using dev_type = held_writes<Constant>;
  using cache_type = buffer_cache<dev_type, policies<static_storage<8, 512>, async_ops<Ops>>>;
  dev_type d;
  cache_type c(d);
  std::vector<snapshot> out;
  const auto note = [&] {
    out.push_back(snapshot{c.dirty_bytes(), c.running_bytes(), c.stats().dirty_high_water,
                           c.dirty_count(), c.in_flight(), d.held.size(), c.needs_flush()});
  };
  cache_limits l = c.limits();
  l.hi_dirty = l.lo_dirty = std::uint64_t{1} << 40; // no flushing by writers yet
  c.set_limits(l);
  const auto delayed = [&](std::uint64_t lbn) {
    auto h = c.get(lbn);
    REQUIRE(h);
    c.write_delayed(std::move(*h), true);
  };
  for (std::uint64_t b = 0; b < 6; ++b) delayed(b);
  note();
  {
    auto h = c.get(6);
    REQUIRE(h);
    c.write_async(std::move(*h)); // a clean buffer written
  }
  note();
  {
    auto h = c.get(1);
    REQUIRE(h);
    c.write_async(std::move(*h)); // a dirty one written
  }
  note();
  d.finish(errc::io_error); // block 6: stays dirty with its error
  note();
  d.finish(errc::media_error); // block 1
  note();
  {
    auto h = c.get(2);
    REQUIRE(h);
    c.release_invalidate(std::move(*h)); // a dirty buffer thrown away on purpose
  }
  note();
  {
    auto h = c.get(3);
    REQUIRE(h);
    c.release_nocache(std::move(*h)); // kept until clean
  }
  note();
  c.invalidate(4, 1);
  note();
  {
    auto h = c.get(6);
    REQUIRE(h);
    c.clear_error(*h);
    c.write_delayed(std::move(*h), true);
  }
  note();
  l.hi_dirty = l.lo_dirty = l.hi_running = 512;
  l.lo_running = 0;
  c.set_limits(l);
  delayed(7); // over hi_dirty: the writer starts the flusher
  note();
  while (!d.held.empty()) {
    d.finish(errc::ok);
    note();
  }
  delayed(5);
  note();
  while (!d.held.empty()) {
    d.finish(errc::ok);
    note();
  }
  return out;
}

} // namespace

TEMPLATE_TEST_CASE_SIG("one-block buffers: derived byte counts equal kept ones", "[cache]",
                       ((std::size_t Ops), Ops), 0, 4) {
  const std::vector<snapshot> derived = script<true, Ops>();
  const std::vector<snapshot> kept = script<false, Ops>();
  REQUIRE(derived.size() == kept.size());
  for (std::size_t i = 0; i < kept.size(); ++i) {
    INFO("step " << i);
    CHECK(derived[i] == kept[i]);
  }
  // And the figures themselves, so that both cannot drift together: six
  // delayed writes of 512 bytes; a clean buffer written (bawrite dirties it
  // first), then a dirty one; both writes fail and their data stays dirty;
  // at the end, with the flusher limited to 512 running bytes per pass, two
  // blocks are still dirty and nothing runs.
  CHECK(kept[0] == snapshot{3072, 0, 3072, 6, 0, 0, false});
  CHECK(kept[1] == snapshot{3584, 512, 3584, 7, 1, 1, false});
  CHECK(kept[2] == snapshot{3584, 1024, 3584, 7, 2, 2, false});
  CHECK(kept[4] == snapshot{3584, 0, 3584, 7, 0, 0, false});
  CHECK(kept.back() == snapshot{1024, 0, 3584, 2, 0, 0, true});
}
