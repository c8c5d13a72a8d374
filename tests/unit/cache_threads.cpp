// Hosted, multi-threaded buffer cache (std_mutex_lock + cv_wait): the
// behaviours that need a second thread (vfs_bio §7 20 and 21, hammer_io §7 5,
// 6 and 9), and a stress test run under ThreadSanitizer by
// .ci/gates/31-tsan-cache.sh. No test asserts a timing: short sleeps only
// give a blocked thread the chance to (wrongly) proceed.
#include "cache_support.hpp"
#include <biostack/cache/buffer_cache.hpp>
#include <biostack/cache/replacement/lru.hpp>
#include <biostack/devices/ram.hpp>
#include <biostack/hosted/cache_flusher.hpp>
#include <biostack/hosted/cache_heap_storage.hpp>
#include <biostack/hosted/cache_wait.hpp>
#include <biostack/hosted/std_mutex.hpp>
#include <biostack/hosted/steady_clock.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

using namespace biostack;
using namespace std::chrono_literals;

namespace {
constexpr std::uint32_t bs = 4096;

// A RAM disk safe to call from many threads. With the gate closed, writes
// are held until the test releases them (completion from the releasing
// thread, as from an interrupt).
class mt_disk {
public:
  explicit mt_disk(std::size_t bytes)
      : mem_(new std::byte[bytes]()), ram_(mem_.get(), bytes, 512) {}
  [[nodiscard]] device_geometry geometry() const noexcept { return ram_.geometry(); }
  void submit(bio& b) noexcept {
    std::unique_lock<std::mutex> l(m_);
    if (b.operation == op::write) write_log_.push_back(b.offset / bs);
    if (gate_ && b.operation == op::write) {
      held_.push_back(&b);
      return;
    }
    std::uint32_t res = 0;
    errc st = validate(b, ram_.geometry());
    if (st == errc::ok) st = perform_sync(ram_, b, res);
    l.unlock();
    complete(b, st, res);
  }
  void close_gate() {
    std::lock_guard<std::mutex> g(m_);
    gate_ = true;
  }
  /// Completes the `i`-th held write (0 = oldest); false if none.
  bool release(std::size_t i = 0) {
    std::unique_lock<std::mutex> l(m_);
    if (i >= held_.size()) return false;
    bio* b = held_[i];
    held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i));
    std::uint32_t res = 0;
    const errc st = perform_sync(ram_, *b, res);
    l.unlock();
    complete(*b, st, res);
    return true;
  }
  std::size_t held() {
    std::lock_guard<std::mutex> g(m_);
    return held_.size();
  }
  std::vector<std::uint64_t> writes() {
    std::lock_guard<std::mutex> g(m_);
    return write_log_;
  }
  std::byte* memory() { return mem_.get(); }

private:
  std::unique_ptr<std::byte[]> mem_;
  ram_device ram_;
  std::mutex m_;
  bool gate_ = false;
  std::deque<bio*> held_;
  std::vector<std::uint64_t> write_log_;
};

template <std::size_t N = 8, class... More>
using mt_cache = buffer_cache<mt_disk, policies<heap_storage<N, bs>, lru, std_mutex_lock, cv_wait<>,
                                                steady_clock_ns, io_slots<16>, More...>>;

template <class C>
std::unique_ptr<C> make(mt_disk& d) {
  return cache_test::quiet_cache<C>(d);
}

template <class Pred>
bool eventually(Pred p) {
  for (int i = 0; i < 20000; ++i) {
    if (p()) return true;
    std::this_thread::sleep_for(100us);
  }
  return p();
}
} // namespace

TEST_CASE("vfs 20: everything held + timeout: get times out after kicking the flusher; "
          "without a timeout it returns once something is released") {
  mt_disk d(1 << 20);
  d.close_gate();
  auto c = make<mt_cache<2>>(d);
  {
    auto h = c->get(0);
    REQUIRE(h);
    c->hold(*h);
    c->write_delayed(std::move(*h)); // dirty and held
  }
  {
    auto h = c->get(1);
    REQUIRE(h);
    h->mark_valid();
    c->hold(*h);
  }
  auto r = c->get(9, {.timeout = 2'000'000}); // 2 ms in steady_clock_ns ticks
  CHECK(r.error() == errc::timed_out);
  CHECK(d.held() == 1); // the flusher was kicked: block 0's write is running
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    auto h = c->get(9);
    done = static_cast<bool>(h); // Catch is not thread-safe: checked by the main thread
  });
  std::this_thread::sleep_for(20ms);
  CHECK_FALSE(done.load()); // nothing can be reclaimed yet
  c->drop(1);
  waiter.join();
  CHECK(done.load());
  while (d.release()) {
  }
  c->drop(0);
}

TEST_CASE("vfs 21: the running-write throttle blocks writers until writes complete, first come "
          "first served") {
  mt_disk d(1 << 20);
  d.close_gate();
  auto c = make<mt_cache<16>>(d);
  auto l = c->limits();
  l.hi_running = 2 * bs;
  l.lo_running = bs;
  c->set_limits(l);
  for (std::uint64_t b = 0; b < 3; ++b) {
    auto h = c->get(b);
    REQUIRE(c->write_async(std::move(*h)) == errc::ok);
  }
  CHECK(c->running_bytes() == 3 * bs);
  std::atomic<int> finished{0}, ok{0};
  std::thread a([&] {
    auto h = c->get(10);
    if (h && c->write_sync(std::move(*h)) == errc::ok) ++ok;
    ++finished;
  });
  REQUIRE(eventually([&] { return c->stats().throttle_waits == 1; }));
  std::thread b([&] {
    auto h = c->get(11);
    if (h && c->write_sync(std::move(*h)) == errc::ok) ++ok;
    ++finished;
  });
  REQUIRE(eventually([&] { return c->stats().throttle_waits == 2; }));
  CHECK(d.release()); // running 2 blocks: still above lo
  std::this_thread::sleep_for(10ms);
  CHECK(d.writes().size() == 3);
  CHECK(d.release()); // running 1 block = lo: A (first) may go, B must wait behind it
  REQUIRE(eventually([&] { return d.writes().size() == 4; }));
  std::this_thread::sleep_for(10ms);
  CHECK(d.writes().size() == 4);
  CHECK(d.writes()[3] == 10);
  while (finished.load() < 2) {
    d.release();
    std::this_thread::sleep_for(100us);
  }
  a.join();
  b.join();
  const auto w = d.writes();
  REQUIRE(w.size() == 5);
  CHECK(w[4] == 11);
  CHECK(ok.load() == 2);
  CHECK(c->running_bytes() == 0);
}

TEST_CASE("hammer 5: the write interlock waits for every active modifier") {
  mt_disk d(1 << 20);
  auto c = make<mt_cache<>>(d);
  {
    auto h = c->get(3);
    c->hold(*h);
    h->mark_valid();
  }
  auto m1 = c->modify(3);
  auto m2 = c->modify(3);
  REQUIRE(m1);
  REQUIRE(m2);
  CHECK(c->inspect(3).dirty);
  std::atomic<bool> locked{false};
  std::thread t([&] {
    auto il = c->interlock(3);
    locked = static_cast<bool>(il);
  });
  std::this_thread::sleep_for(10ms);
  CHECK_FALSE(locked.load());
  { auto gone = std::move(*m1); }
  std::this_thread::sleep_for(10ms);
  CHECK_FALSE(locked.load());
  { auto gone = std::move(*m2); }
  t.join();
  CHECK(locked.load());
  c->drop(3);
}

TEST_CASE("hammer 6: modify waits while the write interlock is held") {
  mt_disk d(1 << 20);
  auto c = make<mt_cache<>>(d);
  {
    auto h = c->get(3);
    c->hold(*h);
    h->mark_valid();
  }
  auto il = c->interlock(3);
  REQUIRE(il);
  std::atomic<bool> modifying{false};
  std::thread t([&] {
    auto m = c->modify(3);
    modifying = static_cast<bool>(m);
  });
  std::this_thread::sleep_for(10ms);
  CHECK_FALSE(modifying.load());
  { auto gone = std::move(*il); }
  t.join();
  CHECK(modifying.load());
  // The flusher never writes a buffer under modification or interlock.
  auto m = c->modify(3);
  CHECK(c->flush_step() == 0);
  { auto gone = std::move(*m); }
  CHECK(c->flush_step() == 1);
  c->drop(3);
}

TEST_CASE("hammer 9: nested wait_all waiters are released in order; later writes do not "
          "delay earlier waiters") {
  mt_disk d(1 << 20);
  d.close_gate();
  auto c = make<mt_cache<>>(d);
  {
    auto h = c->get(1);
    REQUIRE(c->write_async(std::move(*h)) == errc::ok); // W1
  }
  std::atomic<bool> first{false}, second{false};
  std::thread t1([&] { first = c->wait_all() == errc::ok; });
  std::this_thread::sleep_for(20ms);
  {
    auto h = c->get(2);
    REQUIRE(c->write_async(std::move(*h)) == errc::ok); // W2, after t1 began
  }
  std::thread t2([&] { second = c->wait_all() == errc::ok; });
  std::this_thread::sleep_for(20ms);
  CHECK_FALSE(first.load());
  CHECK(d.release(1)); // W2 first: nobody may return, W1 is older
  std::this_thread::sleep_for(10ms);
  CHECK_FALSE(first.load());
  CHECK_FALSE(second.load());
  {
    auto h = c->get(3);
    REQUIRE(c->write_async(std::move(*h)) == errc::ok); // W3, after both waiters
  }
  CHECK(d.release(0)); // W1: both waiters' writes are done; W3 delays neither
  CHECK(eventually([&] { return first.load() && second.load(); }));
  CHECK(d.held() == 1);
  CHECK(d.release()); // (also frees a waiter that started late, should one have)
  t1.join();
  t2.join();
}

TEST_CASE("cache threads: stress with a background flusher (run under TSan in CI)") {
  constexpr int threads = 4;
  constexpr std::uint64_t shared_blocks = 24, own_blocks = 8;
  mt_disk d(1 << 20);
  using C = mt_cache<16>;
  auto c = std::make_unique<C>(d);
  auto l = c->limits();
  l.hi_dirty = 6 * bs; // writers hit the dirty threshold
  l.lo_dirty = 2 * bs;
  c->set_limits(l);
  cache_flusher<C> flusher(*c, 1ms, 4);
  REQUIRE(flusher.running());
  // A block's contents: its number, the writer and a version, repeated; a
  // reader must never see a mix of two writes.
  const auto stamp = [](std::byte* p, std::uint64_t b, std::uint32_t who, std::uint32_t v) {
    const std::uint64_t word = (b << 40) | (std::uint64_t{who} << 32) | v;
    for (std::uint32_t i = 0; i < bs; i += 8) std::memcpy(p + i, &word, 8);
  };
  const auto consistent = [](const std::byte* p, std::uint64_t b) {
    std::uint64_t first = 0;
    std::memcpy(&first, p, 8);
    if (first != 0 && (first >> 40) != b) return false;
    for (std::uint32_t i = 8; i < bs; i += 8)
      if (std::memcmp(p, p + i, 8) != 0) return false;
    return true;
  };
  std::vector<std::uint32_t> last_own(threads * own_blocks, 0);
  std::atomic<int> bad{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      std::mt19937 gen(static_cast<std::uint32_t>(t) + 7);
      const auto roll = [&gen](std::uint32_t n) { return static_cast<std::uint32_t>(gen()) % n; };
      std::uint32_t version = 1;
      for (int i = 0; i < 20000; ++i) {
        const bool own = roll(3) == 0;
        const std::uint64_t b =
            own ? shared_blocks + std::uint64_t(t) * own_blocks + roll(own_blocks)
                : roll(shared_blocks);
        switch (roll(6)) {
        case 0:
        case 1: {
          auto h = c->read(b);
          if (h && !consistent(h->data(), b)) ++bad;
          if (h && own) {
            std::uint64_t w = 0;
            std::memcpy(&w, h->data(), 8);
            if (static_cast<std::uint32_t>(w) != last_own[b - shared_blocks]) ++bad;
          }
          break;
        }
        case 2:
        case 3: {
          auto h = c->get(b);
          if (!h) break;
          const std::uint32_t v = version++;
          stamp(h->data(), b, static_cast<std::uint32_t>(t), v);
          if (own) last_own[b - shared_blocks] = v;
          if (roll(2) == 0)
            c->write_delayed(std::move(*h));
          else if (roll(2) == 0)
            (void)c->write_async(std::move(*h));
          else
            (void)c->write_sync(std::move(*h));
          break;
        }
        case 4: c->flush_step(2); break;
        default:
          if (roll(20) == 0) (void)c->sync();
          break;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  CHECK(bad.load() == 0);
  CHECK(c->sync() == errc::ok);
  for (std::uint64_t b = 0; b < shared_blocks + threads * own_blocks; ++b)
    CHECK(consistent(d.memory() + b * bs, b));
  for (int t = 0; t < threads; ++t)
    for (std::uint64_t k = 0; k < own_blocks; ++k) {
      const std::uint64_t b = shared_blocks + std::uint64_t(t) * own_blocks + k;
      std::uint64_t w = 0;
      std::memcpy(&w, d.memory() + b * bs, 8);
      CHECK(static_cast<std::uint32_t>(w) == last_own[b - shared_blocks]);
    }
}

TEST_CASE("cache_flusher writes dirty buffers in the background and on kick()") {
  mt_disk d(1 << 20);
  using C = mt_cache<16>;
  auto c = make<C>(d); // thresholds off: only the flusher writes
  cache_flusher<C> flusher(*c, 1000ms, 8);
  REQUIRE(flusher.running());
  for (std::uint64_t b = 0; b < 5; ++b) {
    auto h = c->get(b);
    REQUIRE(h);
    c->write_delayed(std::move(*h), true);
  }
  CHECK(c->dirty_count() == 5);
  flusher.kick();
  CHECK(eventually([&] { return c->dirty_count() == 0; }));
  CHECK(flusher.started() == 5);
  CHECK(d.writes().size() == 5);
}

TEST_CASE("heap_storage aligns buffers to the device's requirement") {
  struct aligned_disk : mt_disk {
    using mt_disk::mt_disk;
    [[nodiscard]] device_geometry geometry() const noexcept {
      device_geometry g = mt_disk::geometry();
      g.alignment = 256;
      return g;
    }
  };
  aligned_disk ad(1 << 20);
  buffer_cache<aligned_disk, policies<heap_storage<4, bs>, std_mutex_lock, cv_wait<>>> c(ad);
  for (std::uint64_t b = 0; b < 4; ++b) {
    auto h = c.get(b);
    REQUIRE(h);
    CHECK(reinterpret_cast<std::uintptr_t>(h->data()) % 256 == 0);
  }
}

namespace {
// Counts the calls of one async barrier's callback, from any thread.
struct async_probe {
  std::atomic<int> calls{0};
  std::atomic<int> status{-1};
};
void count_done(void* ctx, errc st) noexcept {
  auto& p = *static_cast<async_probe*>(ctx);
  p.status.store(static_cast<int>(st));
  p.calls.fetch_add(1);
}
} // namespace

TEST_CASE("async barriers under threads: completions from another thread advance them, each "
          "callback runs once (run under TSan in CI)") {
  constexpr int writers = 3;
  constexpr std::uint64_t blocks = 24;
  constexpr int rounds = 200;
  mt_disk d(1 << 20);
  d.close_gate(); // every write completes from the releasing thread
  using C = mt_cache<16, async_ops<3>, ordered_classes<class_spec<1>, class_spec<0>>>;
  auto c = make<C>(d);
  std::atomic<bool> stop{false};
  std::thread releaser([&] {
    while (!stop.load()) {
      if (!d.release()) std::this_thread::sleep_for(20us);
    }
    while (d.release()) {
    }
  });
  std::vector<std::thread> ws;
  for (int t = 0; t < writers; ++t) {
    ws.emplace_back([&, t] {
      std::mt19937 gen(static_cast<std::uint32_t>(t) + 11);
      for (int i = 0; i < 2000 && !stop.load(); ++i) {
        const std::uint64_t b = gen() % blocks;
        auto h = c->get(b, {.flags = get_flags::nowait});
        if (!h) continue;
        c->set_class(*h, static_cast<std::uint8_t>(b % 2));
        std::memset(h->data(), static_cast<int>(b), bs);
        if (gen() % 2 == 0)
          c->write_delayed(std::move(*h), true);
        else
          (void)c->write_async(std::move(*h));
      }
    });
  }
  // The main thread keeps three kinds of barrier pending at once and waits
  // for each callback without ever blocking inside the cache.
  int answered = 0;
  for (int r = 0; r < rounds; ++r) {
    async_probe s, w, f;
    c->sync_async(&count_done, &s);
    c->wait_all_async(&count_done, &w);
    c->flush_block_async(static_cast<std::uint64_t>(r) % blocks, &count_done, &f);
    REQUIRE(eventually([&] { return s.calls + w.calls + f.calls == 3; }));
    std::this_thread::sleep_for(50us); // a second call would show up here
    CHECK(s.calls == 1);
    CHECK(w.calls == 1);
    CHECK(f.calls == 1);
    for (const async_probe* p : {&s, &w, &f}) {
      const auto st = static_cast<errc>(p->status.load());
      // no_resources: a writer's handle owned a block (the barriers never wait for one).
      CHECK((st == errc::ok || st == errc::no_resources));
      if (st == errc::ok) ++answered;
    }
  }
  for (auto& t : ws) t.join();
  CHECK(answered > rounds); // most barriers went through
  async_probe last;
  c->sync_async(&count_done, &last);
  REQUIRE(eventually([&] { return last.calls == 1; }));
  CHECK(static_cast<errc>(last.status.load()) == errc::ok);
  CHECK(c->dirty_count() == 0);
  for (std::uint64_t b = 0; b < blocks; ++b) {
    const std::byte* p = d.memory() + b * bs;
    // Each block holds its own number, or zeros if never written.
    CHECK((p[0] == static_cast<std::byte>(b) || p[0] == std::byte{0}));
    CHECK(std::all_of(p, p + bs, [&](std::byte x) { return x == p[0]; }));
  }
  stop.store(true);
  releaser.join();
  CHECK(c->in_flight() == 0);
}
