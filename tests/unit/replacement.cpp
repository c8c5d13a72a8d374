// Replacement policies: each against an obviously-correct reference model on
// generated traces (Zipf, scans, loops, mixed), replayed through the real
// cache. LRU and FIFO must match their references exactly; clock must match
// a direct transcription of getnewbuf's second-chance scan and clock_sweep
// textbook frame-order CLOCK, victim for victim; the others are checked for
// the properties they exist for.
#include <biostack/cache/buffer_cache.hpp>
#include <biostack/cache/replacement/arc.hpp>
#include <biostack/cache/replacement/clock.hpp>
#include <biostack/cache/replacement/clock_sweep.hpp>
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
  STATIC_REQUIRE(replacement_policy<clock_sweep>);
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

TEST_CASE("replacement: clock_sweep matches the frame-order CLOCK reference exactly") {
  for (const auto& t : traces())
    for (std::size_t cap : {1u, 3u, 64u, 250u})
      CHECK(cache_misses<clock_sweep>(t, cap) ==
            biostack_test::reference_frame_clock_misses(t, cap));
}

namespace {
// Drives clock_sweep's state (tables for 64 slots, `cap` of them in use)
// and the reference side by side over `t`. A hit references its slot. A
// miss searches for a victim among the slots a filter admits (each refused
// with probability 1/4, drawn anew for every search) when no slot is free,
// and now and then even so; then it takes a free slot (the most recently
// freed first, else the lowest never used, as the cache hands out buffers),
// or with none the block is not cached. Every 17th request also erases a
// random resident slot (an invalidation). Victims, hands, tracked slots and
// reference bits must agree after every search and erase. Counts the
// searches that failed and those decided on the reference's second turn,
// to show both paths ran.
struct sweep_counts {
  std::size_t searches = 0, failed = 0, second_turn = 0, erased = 0;
};
sweep_counts compare_with_reference(const trace_t& t, std::size_t cap, std::uint32_t seed) {
  using I = std::uint16_t;
  auto s = std::make_unique<clock_sweep::state<64, I>>();
  s->reset(cap);
  biostack_test::reference_frame_clock ref(cap);
  std::vector<std::uint64_t> key(cap);
  std::unordered_map<std::uint64_t, std::size_t> slot_of;
  std::vector<std::size_t> free_slots; // back: taken next
  for (std::size_t k = cap; k-- > 0;) free_slots.push_back(k);
  std::mt19937 rng(seed);
  std::vector<char> ok(cap);
  const auto key_of = [&](I i) noexcept { return key[i]; };
  sweep_counts n;
  const auto same = [&] {
    if (s->hand() != ref.hand) return false;
    for (std::size_t i = 0; i < cap; ++i) {
      const auto slot = static_cast<I>(i);
      if (s->tracked(slot) != (ref.present[i] != 0)) return false;
      if (s->referenced_bit(slot) != (ref.present[i] != 0 && ref.used[i] != 0)) return false;
    }
    return true;
  };
  for (std::size_t r = 0; r < t.size(); ++r) {
    const std::uint64_t b = t[r];
    if (const auto it = slot_of.find(b); it != slot_of.end()) {
      s->access(static_cast<I>(it->second));
      ref.used[it->second] = true;
    } else {
      // A search when no slot is free, and on one miss in eight even so (a
      // cache reclaiming ahead, its hi_buffers below its size), so that
      // searches meet untracked (erased, never used) slots too.
      if (free_slots.empty() || rng() % 8 == 0) {
        for (auto& e : ok) e = rng() % 4 != 0;
        const auto admits = [&](std::size_t i) { return ok[i] != 0; };
        const I v = s->evict([&](I i) noexcept { return admits(i); }, key_of, b);
        const std::size_t want = ref.evict(admits);
        ++n.searches;
        REQUIRE(same());
        if (want == SIZE_MAX) {
          REQUIRE(v == detail::no_slot<I>);
          ++n.failed;
        } else {
          REQUIRE(v == want);
          if (ref.second_turn) ++n.second_turn;
          slot_of.erase(key[want]);
          free_slots.push_back(want);
        }
      }
      if (free_slots.empty()) continue; // not cached
      const std::size_t f = free_slots.back();
      free_slots.pop_back();
      key[f] = b;
      slot_of[b] = f;
      s->insert(static_cast<I>(f), b);
      ref.place(f);
    }
    if (r % 17 == 0 && !slot_of.empty()) {
      std::size_t f = rng() % cap;
      while (ref.present[f] == 0) f = (f + 1) % cap;
      s->erase(static_cast<I>(f));
      ref.present[f] = false;
      slot_of.erase(key[f]);
      free_slots.push_back(f);
      ++n.erased;
      REQUIRE(same());
    }
  }
  REQUIRE(same());
  return n;
}
} // namespace

TEST_CASE("replacement: clock_sweep picks the reference's victims under eligibility filters") {
  sweep_counts total;
  std::uint32_t seed = 1;
  for (const auto& t : traces()) {
    for (std::size_t cap : {1u, 2u, 3u, 7u, 16u, 63u, 64u}) {
      const auto n = compare_with_reference(t, cap, seed++);
      total.searches += n.searches;
      total.failed += n.failed;
      total.second_turn += n.second_turn;
      total.erased += n.erased;
    }
  }
  // Every path was taken: victims on the first turn and on the second (all
  // eligible slots referenced), searches that found nothing, erases.
  CHECK(total.searches > 100000);
  CHECK(total.failed > 1000);
  CHECK(total.second_turn > 1000);
  CHECK(total.searches - total.failed - total.second_turn > 1000);
  CHECK(total.erased > 1000);
}

TEST_CASE("replacement: clock_sweep edge cases") {
  using I = std::uint16_t;
  using state = clock_sweep::state<8, I>;
  const auto key_of = [](I i) noexcept { return std::uint64_t{i}; };
  const auto all = [](I) noexcept { return true; };
  const auto none = [](I) noexcept { return false; };
  constexpr I no = detail::no_slot<I>;
  auto s = std::make_unique<state>();

  SECTION("nothing tracked: no victim, and reset forgets everything") {
    s->reset(4);
    CHECK(s->evict(all, key_of, 0) == no);
    CHECK(s->hand() == 0);
    for (I i = 0; i < 4; ++i) s->insert(i, i);
    CHECK(s->evict(all, key_of, 0) == 0);
    CHECK(s->hand() == 1);
    s->reset(4);
    CHECK(s->hand() == 0);
    for (I i = 0; i < 8; ++i) CHECK_FALSE(s->tracked(i));
    CHECK(s->evict(all, key_of, 0) == no);
  }
  SECTION("erasing a slot not tracked changes nothing (the cache relies on it)") {
    s->reset(4);
    for (I i = 0; i < 4; ++i) s->insert(i, i);
    CHECK(s->evict(all, key_of, 0) == 0); // 0 evicted, bits 1..3 cleared
    s->access(2);
    s->erase(0); // evicted
    s->erase(3);
    s->erase(3); // erased
    CHECK(s->hand() == 1);
    CHECK_FALSE(s->tracked(0));
    CHECK_FALSE(s->tracked(3));
    CHECK(s->tracked(1));
    CHECK_FALSE(s->referenced_bit(1));
    CHECK(s->referenced_bit(2));
    CHECK(s->evict(all, key_of, 0) == 1);
  }
  SECTION("an unreferenced slot is taken; the referenced ones before it lose their bit") {
    s->reset(4);
    for (I i = 0; i < 4; ++i) s->insert(i, i);
    CHECK(s->evict(all, key_of, 0) == 0); // all referenced: bits 1..3 cleared
    s->insert(0, 10);
    s->access(1);
    s->access(3); // 0: ref, 1: ref, 2: clear, 3: ref; hand at 1
    CHECK(s->evict(all, key_of, 0) == 2);
    CHECK_FALSE(s->referenced_bit(1)); // passed: cleared
    CHECK(s->referenced_bit(3));       // not reached: kept
    CHECK(s->referenced_bit(0));
    CHECK_FALSE(s->tracked(2));
    CHECK(s->hand() == 3);
  }
  SECTION("all referenced: one pass clears every bit and takes the first eligible slot seen") {
    s->reset(5);
    for (I i = 0; i < 5; ++i) s->insert(i, i);
    CHECK(s->evict(all, key_of, 0) == 0); // from the hand at 0
    CHECK(s->hand() == 1);
    for (I i = 1; i < 5; ++i) {
      CHECK(s->tracked(i));
      CHECK_FALSE(s->referenced_bit(i));
    }
    // From the hand at 1, over 1..4 and 0, with only 0 and 3 eligible and
    // both referenced: 3 is the first eligible slot the pass sees (not the
    // lowest index, not the last seen).
    s->insert(0, 10);
    s->access(1);
    s->access(3);
    const auto only_0_3 = [](I i) noexcept { return i == 0 || i == 3; };
    CHECK(s->evict(only_0_3, key_of, 0) == 3);
    CHECK(s->hand() == 4);
    CHECK_FALSE(s->tracked(3));
    CHECK(s->tracked(0));
    CHECK_FALSE(s->referenced_bit(0)); // eligible and passed: cleared
    CHECK(s->referenced_bit(1));       // ineligible: keeps its bit
    CHECK(s->tracked(2));
    CHECK(s->tracked(4));
  }
  SECTION("ineligible slots are passed over with their bits") {
    s->reset(4);
    for (I i = 0; i < 4; ++i) s->insert(i, i);
    CHECK(s->evict(all, key_of, 0) == 0); // 1..3 now clear, hand at 1
    s->insert(0, 10);
    s->access(2);
    const auto not_1_2 = [](I i) noexcept { return i != 1 && i != 2; };
    CHECK(s->evict(not_1_2, key_of, 0) == 3); // 1 (clear) and 2 (referenced) skipped
    CHECK(s->tracked(1));
    CHECK_FALSE(s->referenced_bit(1));
    CHECK(s->referenced_bit(2));
    CHECK(s->hand() == 0);
  }
  SECTION("no eligible slot: no victim, hand and bits unchanged") {
    s->reset(4);
    for (I i = 0; i < 4; ++i) s->insert(i, i);
    CHECK(s->evict(all, key_of, 0) == 0);
    s->access(2); // 1: clear, 2: ref, 3: clear; hand at 1
    CHECK(s->evict(none, key_of, 0) == no);
    CHECK(s->hand() == 1);
    CHECK_FALSE(s->referenced_bit(1));
    CHECK(s->referenced_bit(2));
    CHECK_FALSE(s->referenced_bit(3));
    for (I i = 1; i < 4; ++i) CHECK(s->tracked(i));
    // Eligible only where nothing is tracked: none either.
    CHECK(s->evict([](I i) noexcept { return i == 0 || i >= 4; }, key_of, 0) == no);
    CHECK(s->hand() == 1);
  }
  SECTION("one pass: each slot is asked about at most once per search") {
    s->reset(6);
    for (I i = 0; i < 6; ++i) s->insert(i, i);
    s->erase(4);
    std::vector<int> asked(8);
    const auto count = [&](bool answer) {
      return [&asked, answer](I i) noexcept {
        ++asked[i];
        return answer;
      };
    };
    CHECK(s->evict(count(false), key_of, 0) == no);
    CHECK(asked == std::vector<int>{1, 1, 1, 1, 0, 1, 0, 0}); // not the untracked ones
    std::fill(asked.begin(), asked.end(), 0);
    CHECK(s->evict(count(true), key_of, 0) == 0); // all referenced
    CHECK(asked == std::vector<int>{1, 1, 1, 1, 0, 1, 0, 0});
  }
  SECTION("erased slots are never returned") {
    s->reset(4);
    for (I i = 0; i < 4; ++i) s->insert(i, i);
    CHECK(s->evict(all, key_of, 0) == 0); // hand at 1, 1..3 clear
    s->erase(1);                          // the slot the hand points at
    CHECK_FALSE(s->tracked(1));
    CHECK(s->evict(all, key_of, 0) == 2);
    CHECK(s->evict(all, key_of, 0) == 3);
    CHECK(s->evict(all, key_of, 0) == no);
    s->insert(1, 11);
    s->insert(2, 12);
    s->erase(2); // referenced when erased
    CHECK(s->evict(all, key_of, 0) == 1);
    CHECK(s->evict(all, key_of, 0) == no);
  }
  SECTION("a new block survives one sweep") {
    s->reset(3);
    for (I i = 0; i < 3; ++i) s->insert(i, i);
    CHECK(s->evict(all, key_of, 0) == 0); // 1, 2 clear; hand at 1
    s->insert(0, 10);                     // new, behind the hand
    s->access(1);
    s->access(2);
    // 1, 2 and 0 all referenced: the pass clears them and takes 1; an
    // unreferenced new block would have been taken instead.
    CHECK(s->evict(all, key_of, 0) == 1);
    CHECK(s->tracked(0));
  }
  SECTION("the hand wraps at the capacity in use, not at the table size") {
    s->reset(3); // of 8
    for (I i = 0; i < 3; ++i) s->insert(i, i);
    CHECK(s->evict(all, key_of, 0) == 0);
    CHECK(s->evict(all, key_of, 0) == 1);
    CHECK(s->evict(all, key_of, 0) == 2);
    CHECK(s->hand() == 0); // past slot 2 of 3
    for (I i = 0; i < 3; ++i) s->insert(i, i);
    CHECK(s->evict(all, key_of, 0) == 0);
    CHECK(s->evict(all, key_of, 0) == 1); // hand at 2
    s->insert(0, 10);
    s->insert(1, 11);
    // From 2 (ineligible) the sweep wraps to 0 and 1, both referenced: it
    // clears them and takes 0, the first seen.
    const auto not_2 = [](I i) noexcept { return i != 2; };
    CHECK(s->evict(not_2, key_of, 0) == 0);
    CHECK(s->hand() == 1);
    CHECK_FALSE(s->referenced_bit(1));
    CHECK(s->tracked(2));
  }
}

TEMPLATE_TEST_CASE("replacement: miss counts lie between Belady's optimum and every request", "",
                   lru, fifo_eviction, biostack::clock_eviction, clock_sweep, two_q, arc, s3_fifo,
                   sieve) {
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
                   fifo_eviction, biostack::clock_eviction, clock_sweep, two_q, arc, s3_fifo,
                   sieve) {
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
    fifo_eviction, biostack::clock_eviction, clock_sweep, two_q, arc, s3_fifo, sieve) {
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

TEST_CASE("index_list: a list without a length links and unlinks as a counted one") {
  using I = std::uint16_t;
  STATIC_REQUIRE(sizeof(detail::index_list<I, false>) == 2 * sizeof(I));
  detail::list_links<8, I> lc{}, lp{};
  detail::index_list<I> counted;
  detail::index_list<I, false> plain;
  const auto same = [&] {
    std::vector<I> fc, fp, bc, bp;
    for (I i = counted.head; i != detail::no_slot<I>; i = lc.next[i]) fc.push_back(i);
    for (I i = plain.head; i != detail::no_slot<I>; i = lp.next[i]) fp.push_back(i);
    for (I i = counted.tail; i != detail::no_slot<I>; i = lc.prev[i]) bc.push_back(i);
    for (I i = plain.tail; i != detail::no_slot<I>; i = lp.prev[i]) bp.push_back(i);
    return fc == fp && bc == bp && fc.size() == counted.size && plain.empty() == counted.empty();
  };
  std::mt19937 rng(7);
  std::vector<I> on, off{0, 1, 2, 3, 4, 5, 6, 7};
  for (int step = 0; step < 2000; ++step) {
    const auto k = rng() % 4;
    if (k < 2 && !off.empty()) {
      const std::size_t j = rng() % off.size();
      const I i = off[j];
      off.erase(off.begin() + static_cast<std::ptrdiff_t>(j));
      on.push_back(i);
      if (k == 0) {
        counted.push_back(lc, i);
        plain.push_back(lp, i);
      } else {
        counted.push_front(lc, i);
        plain.push_front(lp, i);
      }
    } else if (!on.empty()) {
      const std::size_t j = rng() % on.size();
      const I i = on[j];
      if (k == 2) {
        counted.move_to_back(lc, i);
        plain.move_to_back(lp, i);
      } else {
        on.erase(on.begin() + static_cast<std::ptrdiff_t>(j));
        off.push_back(i);
        counted.remove(lc, i);
        plain.remove(lp, i);
      }
    }
    REQUIRE(same());
  }
  counted.clear();
  plain.clear();
  CHECK((plain.empty() && counted.empty() && counted.size == 0));
}
