// Shared fixtures for the buffer-cache tests (not part of the library).
#pragma once

#include <biostack/cache/buffer_cache.hpp>
#include <biostack/devices/faulty.hpp>
#include <biostack/devices/null.hpp>
#include <biostack/devices/ram.hpp>
#include <biostack/devices/recording.hpp>
#include <cstring>
#include <memory>
#include <vector>

namespace cache_test {
using namespace biostack;

/// How the blocking forms (get's slow path, flush_block, wait_all, sync,
/// modify, interlock) run in the tests that exercise them. Those test files
/// are compiled twice: as written, with queued operations advanced by the
/// completions (async_ops<4>, the default), and once more with
/// CACHE_TEST_IN_PLACE defined (tests/unit/*_in_place.cpp), where
/// async_ops<0> steps each blocking form on the caller's stack.
#ifdef CACHE_TEST_IN_PLACE
using ops_mode = async_ops<0>;
#else
using ops_mode = async_ops<4>;
#endif

/// RAM disk → faulty_device (real fault injection: rules, held completions,
/// power cuts) → recording_device (counts every request the cache issues).
template <std::size_t Bytes = 256 * 1024, class Limits = faulty_limits<>>
struct rig {
  std::unique_ptr<std::byte[]> mem{new std::byte[Bytes]()};
  ram_device ram{mem.get(), Bytes, 512};
  faulty_device<ram_device&, Limits> faulty{ram};
  recording_device<faulty_device<ram_device&, Limits>&, 4096, 64> dev{faulty};

  /// Device contents of block `lbn` of `bs` bytes (bypassing the cache).
  [[nodiscard]] const std::byte* media(std::uint64_t lbn, std::uint32_t bs) const noexcept {
    return mem.get() + lbn * bs;
  }
  [[nodiscard]] std::uint64_t reads() const noexcept { return dev.count(op::read); }
  [[nodiscard]] std::uint64_t writes() const noexcept { return dev.count(op::write); }
  [[nodiscard]] std::uint64_t flushes() const noexcept { return dev.count(op::flush); }
};
using rig_t = rig<>;
using rig_device = decltype(rig_t::dev);

/// Fills `n` bytes with a pattern derived from `seed`.
inline void fill(std::byte* p, std::size_t n, std::uint32_t seed) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    p[i] = static_cast<std::byte>((seed * 131u + static_cast<std::uint32_t>(i) * 7u) & 0xFFu);
}
[[nodiscard]] inline bool has_pattern(const std::byte* p, std::size_t n, std::uint32_t seed) {
  std::vector<std::byte> want(n);
  fill(want.data(), n, seed);
  return std::memcmp(p, want.data(), n) == 0;
}

/// A cache over `dev` whose dirty thresholds never trigger, so the test
/// decides every write.
template <class Cache, class Dev>
std::unique_ptr<Cache> quiet_cache(Dev& dev) {
  auto c = std::make_unique<Cache>(dev);
  auto l = c->limits();
  l.hi_dirty = l.lo_dirty = std::uint64_t{1} << 40;
  c->set_limits(l);
  return c;
}

/// Dirties block `lbn` (bdwrite) in write class `cls`, filled with pattern
/// `seed`. False if the block could not be had.
template <class Cache>
[[nodiscard]] bool dirty_block(Cache& c, std::uint64_t lbn, std::uint8_t cls, std::uint32_t seed) {
  auto h = c.get(lbn);
  if (!h) return false;
  c.set_class(*h, cls);
  fill(h->data(), h->size(), seed);
  c.write_delayed(std::move(*h));
  return true;
}

} // namespace cache_test

BIOSTACK_NAMESPACE_BEGIN
namespace detail {
// The tests' one way into a cache's internals (the library declares this
// template and never defines it): one definition for every test program.
template <class Cache>
struct cache_test_access {
  // The cache's internal dirty-set link, which no public call can apply to
  // a buffer already on a set.
  static void link_dirty(Cache& c, typename Cache::index_type i) noexcept {
    lock_guard<typename Cache::lock_type> g(c.lock_);
    c.link_dirty(i);
  }
  // The hash bucket a block number maps to, whichever way the cache looks
  // it up: the tests choose blocks that collide.
  static std::size_t bucket_of(std::uint64_t lbn) noexcept {
    return Cache::bucket_of(static_cast<typename Cache::lbn_type>(lbn));
  }
  // Whether every EMPTY header (flags 0) is all zero, as a scanning cache
  // relies on (a reused header must not keep a class, holds or links).
  static bool empty_headers_zero(const Cache& c) noexcept {
    for (const auto& h : c.z_.hdr) {
      if (h.flags != 0) continue;
      const auto* p = reinterpret_cast<const unsigned char*>(&h);
      for (std::size_t k = 0; k < sizeof h; ++k)
        if (p[k] != 0) return false;
    }
    return true;
  }
};
} // namespace detail
BIOSTACK_NAMESPACE_END
