// Randomized model test: 200,000+ random cache operations over a faulty_device
// (random errors, held completions released out of order, power cuts with a
// volatile write cache), checked against a plain model after every step:
//   - every read returns what the model says was last written;
//   - a clean cached buffer always equals the medium (a failed write is never
//     reported clean);
//   - after sync() (or sync_async) reports ok, a power cut loses nothing;
//   - after any power cut each block holds a value written since the last
//     successful sync (nothing invented, nothing older).
#include "cache_support.hpp"
#include <biostack/cache/replacement/arc.hpp>
#include <biostack/cache/replacement/clock_sweep.hpp>
#include <biostack/cache/replacement/lru.hpp>
#include <biostack/cache/replacement/s3_fifo.hpp>
#include <biostack/cache/replacement/sieve.hpp>
#include <biostack/cache/replacement/two_q.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

using namespace biostack;

namespace {
constexpr std::uint32_t bs = 4096;
constexpr std::size_t disk_bytes = 256 * 1024;
constexpr std::uint64_t blocks = 48;

using limits = faulty_limits<16, 64, 512 * 1024, 512>;
struct disk {
  std::unique_ptr<std::byte[]> mem{new std::byte[disk_bytes]()};
  ram_device ram{mem.get(), disk_bytes, 512};
  faulty_device<ram_device&, limits> dev{ram};
};
using dev_t = faulty_device<ram_device&, limits>;

// Block contents are a function of a 32-bit "version"; version 0 is zeroes.
void pattern(std::byte* p, std::uint32_t v) {
  if (v == 0) {
    std::memset(p, 0, bs);
    return;
  }
  std::uint64_t x = 0x9E3779B97F4A7C15ull * v;
  for (std::uint32_t i = 0; i < bs; i += 8) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    std::memcpy(p + i, &x, 8);
  }
}
bool is_version(const std::byte* p, std::uint32_t v) {
  alignas(8) static std::byte want[bs];
  pattern(want, v);
  return std::memcmp(p, want, bs) == 0;
}

// `More`: further policies (scan_lookup: find blocks by scanning; null_stats:
// the cache keeps no counters, and the run's write errors are then counted
// at the device instead).
template <class Policy, class... More>
void run_model(std::uint32_t seed, std::size_t ops) {
  using cache_t = buffer_cache<
      dev_t, policies<static_storage<16, bs>, Policy, io_slots<6>, poll_wait<100000>, More...>>;
  disk d;
  d.dev.set_random({.seed = seed,
                    .error_ppm = 15000,
                    .error_status = errc::io_error,
                    .delay_ppm = 3100000,
                    .max_delay_polls = 3});
  d.dev.set_release_order(release_order::random);
  auto cache = std::make_unique<cache_t>(d.dev);

  std::mt19937 gen(seed);
  const auto rng = [&gen]() { return static_cast<std::uint32_t>(gen()); };
  std::vector<std::uint32_t> model(blocks, 0); // what a read must return
  std::vector<std::vector<std::uint32_t>> since_sync(blocks, std::vector<std::uint32_t>{0});
  std::vector<std::vector<std::uint32_t>> history(blocks, std::vector<std::uint32_t>{0});
  std::uint32_t next_version = 1;
  std::size_t syncs_ok = 0, cuts = 0, cuts_after_sync = 0, read_errors = 0, write_errors = 0;

  const auto medium = [&](std::uint64_t b) { return d.mem.get() + b * bs; };
  // Which version the medium holds for block b (must be one ever written).
  const auto medium_version = [&](std::uint64_t b) -> std::uint32_t {
    for (auto it = history[b].rbegin(); it != history[b].rend(); ++it)
      if (is_version(medium(b), *it)) return *it;
    FAIL("block " << b << " holds contents that were never written");
    return 0;
  };
  const auto check_clean_matches_medium = [&](std::uint64_t b) {
    const auto st = cache->inspect(b);
    if (!st.found || st.dirty || !st.valid || st.busy) return;
    auto h = cache->get_cached(b);
    REQUIRE(h);
    INFO("block " << b);
    REQUIRE(std::memcmp(h->data(), medium(b), bs) == 0);
    REQUIRE(is_version(h->data(), model[b]));
  };
  const auto record_write = [&](std::uint64_t b, std::uint32_t v) {
    model[b] = v;
    since_sync[b].push_back(v);
    history[b].push_back(v);
  };
  const auto power_cut = [&](bool after_sync) {
    REQUIRE(d.dev.power_cut() == errc::ok); // held completions fail with no_device
    ++cuts;
    for (std::uint64_t b = 0; b < blocks; ++b) {
      const std::uint32_t v = medium_version(b);
      INFO("block " << b << " after power cut");
      if (after_sync) REQUIRE(v == model[b]);
      REQUIRE(std::find(since_sync[b].begin(), since_sync[b].end(), v) != since_sync[b].end());
      model[b] = v;
      since_sync[b].assign(1, v);
    }
    REQUIRE(cache->in_flight() == 0);
    if constexpr (cache_t::counting) write_errors += cache->stats().write_errors;
    cache = std::make_unique<cache_t>(d.dev); // RAM is lost with the power
  };

  for (std::size_t n = 0; n < ops; ++n) {
    const std::uint64_t b = rng() % blocks;
    const unsigned what = rng() % 100;
    if (what < 35) { // read
      auto h = cache->read(b);
      if (!h) {
        ++read_errors;
        REQUIRE((h.error() == errc::io_error || h.error() == errc::no_resources));
        if (h.error() == errc::io_error) REQUIRE_FALSE(cache->inspect(b).found);
      } else {
        INFO("read block " << b << " op " << n);
        REQUIRE(is_version(h->data(), model[b]));
      }
    } else if (what < 65) { // full-block write through one of the three paths
      auto h = cache->get(b);
      if (!h) {
        REQUIRE(h.error() == errc::no_resources);
        continue;
      }
      const std::uint32_t v = next_version++;
      pattern(h->data(), v);
      record_write(b, v);
      const unsigned how = rng() % 3;
      if (how == 0) {
        (void)cache->write_sync(std::move(*h)); // an error keeps the data dirty: model unchanged
      } else if (how == 1) {
        (void)cache->write_async(std::move(*h));
      } else {
        cache->write_delayed(std::move(*h));
      }
    } else if (what < 75) { // get + release, sometimes no-cache or invalidate of clean data
      auto h = cache->get(b);
      if (!h) continue;
      const unsigned how = rng() % 3;
      if (how == 0)
        cache->release(std::move(*h));
      else if (how == 1)
        cache->release_nocache(std::move(*h));
      else if (!h->dirty())
        cache->release_invalidate(std::move(*h));
    } else if (what < 80) { // pin, hold: reclaim must skip them; undone at once
      auto h = cache->get(b);
      if (!h) continue;
      cache->pin(*h);
      cache->hold(*h);
      h->release();
      check_clean_matches_medium(b);
      auto g = cache->get(b);
      REQUIRE(g);
      cache->unpin(*g);
      g->release();
      cache->drop(b);
    } else if (what < 88) {
      cache->flush_step(1 + rng() % 8);
    } else if (what < 95) {
      d.dev.poll();
    } else if (what < 99) {
      // Half the syncs are the async twin, driven only by polling the device.
      errc synced = errc::cancelled;
      if (rng() % 2 == 0) {
        synced = cache->sync();
      } else {
        struct outcome {
          int calls = 0;
          errc status = errc::cancelled;
        } out;
        cache->sync_async(
            [](void* p, errc e) noexcept {
              auto& o = *static_cast<outcome*>(p);
              ++o.calls;
              o.status = e;
            },
            &out);
        for (int k = 0; out.calls == 0 && k < 100000; ++k) d.dev.poll();
        REQUIRE(out.calls == 1);
        synced = out.status;
      }
      if (synced == errc::ok) {
        ++syncs_ok;
        for (std::uint64_t k = 0; k < blocks; ++k) since_sync[k].assign(1, model[k]);
        if (rng() % 8 == 0) {
          ++cuts_after_sync;
          power_cut(true);
        }
      }
    } else if (rng() % 10 == 0) {
      power_cut(false);
    }
    check_clean_matches_medium(rng() % blocks);
    if (n % 5000 == 0)
      for (std::uint64_t k = 0; k < blocks; ++k) check_clean_matches_medium(k);
  }
  // Final: everything reaches the medium once the faults stop.
  d.dev.set_random({});
  while (d.dev.held() != 0) d.dev.release_all();
  errc last = errc::ok;
  for (int i = 0; i < 50; ++i)
    if ((last = cache->sync()) == errc::ok) break;
  REQUIRE(last == errc::ok);
  for (std::uint64_t k = 0; k < blocks; ++k) REQUIRE(is_version(medium(k), model[k]));
  REQUIRE(cache->dirty_count() == 0);
  // The run must actually have exercised the fault paths.
  CHECK(d.dev.stats().delayed > 1000);
  if constexpr (cache_t::counting)
    CHECK(write_errors + cache->stats().write_errors > 100);
  else
    CHECK(d.dev.stats().errors > 200);
  CHECK(read_errors > 100);
  CHECK(syncs_ok > 100);
  CHECK(cuts > 20);
  CHECK(cuts_after_sync > 10);
  CHECK(d.dev.stats().changes_undone > 0);
}
} // namespace

TEST_CASE("cache model: 200,000 random operations over faulty_device (lru)") {
  run_model<lru>(1, 200000);
}

TEST_CASE("cache model: 100,000 random operations each for the other policies") {
  run_model<biostack::clock_eviction>(2, 100000);
  run_model<two_q>(3, 100000);
  run_model<arc>(4, 100000);
  run_model<s3_fifo>(5, 100000);
  run_model<sieve>(6, 100000);
  run_model<clock_sweep>(7, 100000);
}

TEST_CASE("cache model: 100,000 random operations without counters (null_stats), as firmware") {
  run_model<clock_sweep, null_stats>(8, 100000);
}

TEST_CASE("cache model: 100,000 random operations finding blocks by scanning (lru)") {
  // The other runs hash (16 buffers); this one scans the headers.
  run_model<lru, scan_lookup<16>>(7, 100000);
}
