// Replacement policies: each against an obviously-correct reference model on
// generated traces (Zipf, scans, loops, mixed), replayed through the real
// cache. LRU and FIFO must match their references exactly; clock must match
// a direct transcription of getnewbuf's second-chance scan; the others are
// checked for the properties they exist for.
#include <biostack/cache/buffer_cache.hpp>
#include <biostack/cache/replacement/arc.hpp>
#include <biostack/cache/replacement/clock.hpp>
#include <biostack/cache/replacement/lru.hpp>
#include <biostack/cache/replacement/s3_fifo.hpp>
#include <biostack/cache/replacement/sieve.hpp>
#include <biostack/cache/replacement/two_q.hpp>
#include <biostack/devices/null.hpp>
#include <catch2/catch.hpp>
#include <reference_caches.hpp>

#include <algorithm>
#include <cmath>
#include <list>
#include <memory>
#include <random>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>

using namespace biostack;

namespace {
using trace_t = std::vector<std::uint64_t>;

trace_t zipf(std::size_t n, std::size_t universe, double s, std::uint32_t seed) {
  std::vector<double> cum(universe);
  double acc = 0;
  for (std::size_t i = 0; i < universe; ++i) cum[i] = acc += 1.0 / std::pow(double(i + 1), s);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, acc);
  trace_t t;
  for (std::size_t k = 0; k < n; ++k)
    t.push_back(std::uint64_t(std::lower_bound(cum.begin(), cum.end(), u(rng)) - cum.begin()));
  return t;
}
trace_t scan(std::uint64_t first, std::size_t n) {
  trace_t t;
  for (std::size_t k = 0; k < n; ++k) t.push_back(first + k);
  return t;
}
trace_t loop(std::size_t len, std::size_t reps, std::uint64_t base) {
  trace_t t;
  for (std::size_t r = 0; r < reps; ++r)
    for (std::size_t k = 0; k < len; ++k) t.push_back(base + k);
  return t;
}
trace_t mixed(std::uint32_t seed) {
  trace_t t;
  std::mt19937 rng(seed);
  for (int phase = 0; phase < 6; ++phase) {
    auto z = zipf(3000, 800, 0.9, seed + std::uint32_t(phase));
    t.insert(t.end(), z.begin(), z.end());
    auto s = scan(100000 + std::uint64_t(phase) * 5000, 700 + rng() % 300);
    t.insert(t.end(), s.begin(), s.end());
    auto l = loop(150 + rng() % 100, 4, 200000);
    t.insert(t.end(), l.begin(), l.end());
  }
  return t;
}

// Replays `t` through the real cache (no data) with `cap` buffers.
template <class Policy>
std::uint64_t cache_misses(const trace_t& t, std::size_t cap) {
  using C = buffer_cache<null_device, policies<no_data_storage<4096, 512>, Policy>>;
  static null_device dev(512, UINT64_MAX / 512, false);
  auto c = std::make_unique<C>(dev, cap);
  for (auto b : t) {
    auto h = c->get(b);
    REQUIRE(h);
    if (!h->valid()) h->mark_valid();
  }
  return c->stats().misses;
}

// getnewbuf's CLEAN-queue scan as the reference reads it: one pass over the
// queue; an entry without AGE that is not the last gets AGE and goes to the
// tail; an aged entry, or the last one, is taken. A hit clears AGE.
std::uint64_t ref_clock(const trace_t& t, std::size_t cap) {
  using entry = std::pair<std::uint64_t, bool>; // (block, AGE)
  std::list<entry> q;
  std::unordered_map<std::uint64_t, std::list<entry>::iterator> where;
  std::uint64_t misses = 0;
  for (auto b : t) {
    if (auto it = where.find(b); it != where.end()) {
      it->second->second = false;
      continue;
    }
    ++misses;
    if (q.size() == cap) {
      const std::size_t n = q.size();
      for (std::size_t k = 0; k < n; ++k) {
        auto e = q.front();
        q.pop_front();
        where.erase(e.first);
        if (e.second || k == n - 1) break; // taken
        e.second = true;
        q.push_back(e);
        where[e.first] = std::prev(q.end());
      }
    }
    q.push_back({b, false});
    where[b] = std::prev(q.end());
  }
  return misses;
}

std::uint64_t belady(const trace_t& t, std::size_t cap) {
  std::vector<std::size_t> next(t.size());
  std::unordered_map<std::uint64_t, std::size_t> last;
  for (std::size_t i = t.size(); i-- > 0;) {
    auto it = last.find(t[i]);
    next[i] = it == last.end() ? SIZE_MAX : it->second;
    last[t[i]] = i;
  }
  std::set<std::pair<std::size_t, std::uint64_t>> by_next;
  std::unordered_map<std::uint64_t, std::size_t> res;
  std::uint64_t misses = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    auto it = res.find(t[i]);
    if (it != res.end()) {
      by_next.erase({it->second, t[i]});
    } else {
      ++misses;
      if (res.size() == cap) {
        auto v = std::prev(by_next.end());
        res.erase(v->second);
        by_next.erase(v);
      }
    }
    res[t[i]] = next[i];
    by_next.insert({next[i], t[i]});
  }
  return misses;
}

std::vector<trace_t> traces() {
  return {zipf(20000, 2000, 0.8, 1), zipf(20000, 5000, 1.1, 2), scan(0, 5000), loop(300, 20, 7),
          mixed(3)};
}
} // namespace

TEST_CASE("replacement: every shipped policy meets the concept") {
  STATIC_REQUIRE(replacement_policy<lru>);
  STATIC_REQUIRE(replacement_policy<fifo_eviction>);
  STATIC_REQUIRE(replacement_policy<biostack::clock_eviction>);
  STATIC_REQUIRE(replacement_policy<two_q>);
  STATIC_REQUIRE(replacement_policy<arc>);
  STATIC_REQUIRE(replacement_policy<s3_fifo>);
  STATIC_REQUIRE(replacement_policy<sieve>);
}

TEST_CASE("replacement: lru matches the reference exactly") {
  for (const auto& t : traces())
    for (std::size_t cap : {1u, 7u, 64u, 250u, 1000u})
      CHECK(cache_misses<lru>(t, cap) == biostack_test::reference_lru_misses(t, cap));
}

TEST_CASE("replacement: fifo matches the reference exactly") {
  for (const auto& t : traces())
    for (std::size_t cap : {1u, 7u, 64u, 250u, 1000u})
      CHECK(cache_misses<fifo_eviction>(t, cap) == biostack_test::reference_fifo_misses(t, cap));
}

TEST_CASE("replacement: clock matches the getnewbuf second-chance reference exactly") {
  for (const auto& t : traces())
    for (std::size_t cap : {1u, 3u, 64u, 250u})
      CHECK(cache_misses<biostack::clock_eviction>(t, cap) == ref_clock(t, cap));
}

TEMPLATE_TEST_CASE("replacement: miss counts lie between Belady's optimum and every request", "",
                   lru, fifo_eviction, biostack::clock_eviction, two_q, arc, s3_fifo, sieve) {
  for (const auto& t : traces()) {
    for (std::size_t cap : {1u, 16u, 200u}) {
      const auto m = cache_misses<TestType>(t, cap);
      CHECK(m >= belady(t, cap));
      CHECK(m <= t.size());
      std::unordered_set<std::uint64_t> distinct(t.begin(), t.end());
      CHECK(m >= distinct.size()); // every first reference misses
    }
  }
}

TEMPLATE_TEST_CASE("replacement: a working set that fits never misses twice", "", lru,
                   fifo_eviction, biostack::clock_eviction, two_q, arc, s3_fifo, sieve) {
  const auto t = loop(100, 10, 0);
  CHECK(cache_misses<TestType>(t, 128) == 100);
}

TEMPLATE_TEST_CASE("replacement: scan-resistant policies beat lru on Zipf mixed with scans", "",
                   two_q, arc, s3_fifo) {
  // Zipf over 5000 blocks; every 5000 requests a scan of 1000 new blocks.
  trace_t t;
  const auto z = zipf(50000, 5000, 0.9, 11);
  for (std::size_t k = 0; k < z.size(); ++k) {
    if (k % 5000 == 0) {
      const auto sc = scan(1000000 + k, 1000);
      t.insert(t.end(), sc.begin(), sc.end());
    }
    t.push_back(z[k]);
  }
  for (std::size_t cap : {300u, 1000u})
    CHECK(cache_misses<TestType>(t, cap) < cache_misses<lru>(t, cap));
}

TEMPLATE_TEST_CASE("replacement: 2Q and S3-FIFO keep a hot set that one-time blocks interleave", "",
                   two_q, s3_fifo) {
  // Every other request is a block never seen again; the 55 hot blocks'
  // reuse distance (110 distinct blocks) exceeds the cache, so LRU always
  // misses, while a filter queue keeps the one-time blocks out of the main set.
  trace_t t;
  for (std::uint64_t i = 0; i < 20000; ++i) t.push_back(i % 2 == 0 ? (i / 2) % 55 : 100000 + i);
  CHECK(cache_misses<lru>(t, 100) == t.size());
  CHECK(cache_misses<TestType>(t, 100) < t.size() * 6 / 10);
}

TEMPLATE_TEST_CASE(
    "replacement: eviction skips ineligible slots and gives up when none is eligible", "", lru,
    fifo_eviction, biostack::clock_eviction, two_q, arc, s3_fifo, sieve) {
  using I = std::uint16_t;
  auto s = std::make_unique<typename TestType::template state<64, I>>();
  s->reset(64);
  for (I i = 0; i < 64; ++i) s->insert(i, 1000u + i);
  for (I i = 0; i < 64; i += 3) s->access(i);
  const auto key_of = [](I i) noexcept { return std::uint64_t{1000u} + i; };
  const auto none = [](I) noexcept { return false; };
  CHECK(s->evict(none, key_of, 5000) == detail::no_slot<I>);
  const auto only_41 = [](I i) noexcept { return i == 41; };
  CHECK(s->evict(only_41, key_of, 5000) == 41);
  CHECK(s->evict(only_41, key_of, 5001) == detail::no_slot<I>); // 41 is gone
  std::set<I> seen;
  for (int k = 0; k < 63; ++k) {
    const I v = s->evict([](I) noexcept { return true; }, key_of, 6000u + std::uint64_t(k));
    REQUIRE(v != detail::no_slot<I>);
    CHECK(v != 41);
    CHECK(seen.insert(v).second); // each slot evicted once
  }
  CHECK(s->evict([](I) noexcept { return true; }, key_of, 7000) == detail::no_slot<I>);
}

namespace {
// Drives a policy state of `cap` slots (its tables are sized for 64) like a
// cache: each key of `t` is a hit or a miss, a miss in a full cache evicts.
// Returns the largest ghost count seen; `misses` counts the misses.
template <class P>
std::size_t max_ghosts(const trace_t& t, std::size_t cap, std::size_t& misses) {
  using I = std::uint16_t;
  auto s = std::make_unique<typename P::template state<64, I>>();
  s->reset(cap);
  std::unordered_map<std::uint64_t, I> where;
  std::vector<std::uint64_t> key(cap);
  std::size_t used = 0, most = 0;
  misses = 0;
  for (const std::uint64_t k : t) {
    if (const auto it = where.find(k); it != where.end()) {
      s->access(it->second);
      continue;
    }
    ++misses;
    I slot = static_cast<I>(used);
    if (used == cap) {
      slot = s->evict([](I) noexcept { return true; }, [&](I i) noexcept { return key[i]; }, k);
      if (slot == detail::no_slot<I>) return 0; // no victim: the caller's check fails
      where.erase(key[slot]);
    } else {
      ++used;
    }
    key[slot] = k;
    where[k] = slot;
    s->insert(slot, k);
    most = std::max(most, s->ghost_count());
  }
  return most;
}
} // namespace

TEST_CASE("replacement: ghost tables stay bounded by the cache size") {
  // A cache of 16 over state tables sized for 64: only the policy's own
  // bound (not the table's size) keeps the ghosts at what its paper allows:
  // ARC |B1| + |B2| <= c, 2Q |A1out| <= c/2, S3-FIFO |G| <= 90% of c.
  // A scan, then a skewed mix of 400 blocks: constant eviction, hits that
  // move blocks to ARC's T2 (so B1 may grow) and ghost hits for all three.
  trace_t t = scan(0, 5000);
  const trace_t z = zipf(20000, 400, 0.9, 5);
  t.insert(t.end(), z.begin(), z.end());
  std::size_t misses = 0;
  CHECK(max_ghosts<arc>(t, 16, misses) == 16);
  CHECK(misses > 5000);
  CHECK(max_ghosts<two_q>(t, 16, misses) == 8);
  CHECK(misses > 5000);
  CHECK(max_ghosts<s3_fifo>(t, 16, misses) == 15);
  CHECK(misses > 5000);
  // Through the real cache: far more distinct blocks than any table holds.
  CHECK(cache_misses<arc>(scan(0, 50000), 64) == 50000);
  // A block evicted long ago is no longer a ghost: after the long scan block
  // 0 re-enters ARC's T1 (recency), not T2, and is again a miss.
  auto t2 = scan(0, 50000);
  t2.push_back(0);
  CHECK(cache_misses<arc>(t2, 64) == 50001);
}
