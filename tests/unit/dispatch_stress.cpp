// Multi-threaded stress: the hosted mutex lock policy, four submitting
// threads, completions delivered from a separate device thread. Run under
// ThreadSanitizer by .ci/gates/30-tsan-dispatch.sh; also a plain unit test.
#include <atomic>
#include <biostack/devices/ram.hpp>
#include <biostack/dispatch/dispatcher.hpp>
#include <biostack/hosted/std_mutex.hpp>
#include <biostack/queue/elevator.hpp>
#include <biostack/split/max_transfer.hpp>
#include <biostack/stats/counters.hpp>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

using namespace biostack;

namespace {

// Accepts bios from any thread and completes them from its own thread, in
// batches and sometimes out of order, against a RAM store.
class threaded_device {
public:
  explicit threaded_device(std::size_t bytes) : store_(bytes), ram_(store_.data(), bytes) {
    worker_ = std::thread([this] { run(); });
  }
  ~threaded_device() {
    {
      std::lock_guard<std::mutex> g(m_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  [[nodiscard]] device_geometry geometry() const noexcept { return ram_.geometry(); }
  void submit(bio& b) noexcept {
    std::lock_guard<std::mutex> g(m_);
    pending_.push_back(&b);
    if (pending_.size() > max_pending_) max_pending_ = pending_.size();
    cv_.notify_one();
  }
  std::size_t max_pending() {
    std::lock_guard<std::mutex> g(m_);
    return max_pending_;
  }

private:
  void run() {
    std::unique_lock<std::mutex> lk(m_);
    unsigned flip = 0;
    for (;;) {
      cv_.wait(lk, [this] { return stop_ || !pending_.empty(); });
      if (pending_.empty()) return;
      std::vector<bio*> batch(pending_.begin(), pending_.end());
      pending_.clear();
      lk.unlock();
      if (++flip % 2 == 0) std::reverse(batch.begin(), batch.end()); // out of order
      for (bio* b : batch) {
        std::uint32_t r = 0;
        std::lock_guard<std::mutex> g(ram_m_);
        const errc st = perform_sync(ram_, *b, r);
        complete(*b, st, r);
      }
      lk.lock();
    }
  }
  std::vector<std::byte> store_;
  ram_device ram_;
  std::mutex ram_m_;
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<bio*> pending_;
  std::size_t max_pending_ = 0;
  bool stop_ = false;
  std::thread worker_;
};

struct slot {
  bio b;
  std::vector<std::byte> mem = std::vector<std::byte>(4096);
  std::atomic<int> completions{0};
  std::atomic<bool> done{false};
};

// Hands the bio back to its submitting thread, which reuses it at once. The
// callback returns `proceed`: the completion walk must not touch a bio
// without a parent after its callback (TSan checks that here).
completion_action on_done(bio&, void* ctx) noexcept {
  auto& s = *static_cast<slot*>(ctx);
  s.completions.fetch_add(1, std::memory_order_relaxed);
  s.done.store(true, std::memory_order_release);
  return completion_action::proceed;
}

} // namespace

TEMPLATE_TEST_CASE("stress: 4 submitting threads, completions from a device thread, std_mutex lock",
                   "", inline_completion, deferred_completion) {
  constexpr std::size_t threads = 4;
  constexpr std::size_t per_thread = 3000;
  constexpr std::size_t window = 16; // bios each thread keeps in flight
  threaded_device dev(threads * window * 4096);
  // With deferred completion the device thread only pushes onto the
  // lock-free queue; the submitting threads poll while they wait.
  using disp =
      dispatcher<threaded_device, policies<std_mutex_lock, elevator<16>, tags<8>, static_pool<6>,
                                           max_transfer<2048>, counters, TestType>>;
  constexpr bool deferred = TestType::deferred;
  disp d{dev};
  std::atomic<std::size_t> bad{0};
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<slot> slots(window);
      for (std::size_t i = 0; i < per_thread; ++i) {
        slot& s = slots[i % window];
        if (i >= window) {
          while (!s.done.load(std::memory_order_acquire)) {
            if constexpr (deferred) d.poll();
            std::this_thread::yield();
          }
          if (s.completions.load() != 1 || s.b.status() != errc::ok) ++bad;
          // The region belongs to this thread: a read must see its last write.
          if (s.b.operation == op::read) {
            for (std::size_t k = 0; k < 4096; ++k)
              if (s.mem[k] != static_cast<std::byte>((t * 31 + (i - 2 * window) / window) & 0xff)) {
                ++bad;
                break;
              }
          }
        }
        const std::uint64_t off = (t * window + i % window) * 4096;
        const bool write = (i / window) % 2 == 0;
        if (write) std::memset(s.mem.data(), static_cast<int>((t * 31 + i / window) & 0xff), 4096);
        s.completions.store(0);
        s.done.store(false);
        s.b.prepare(write ? op::write : op::read, off, 4096, s.mem.data(),
                    completion{&on_done, &s});
        d.submit(s.b);
      }
      for (slot& s : slots)
        while (!s.done.load(std::memory_order_acquire)) {
          if constexpr (deferred) d.poll();
          std::this_thread::yield();
        }
    });
  }
  for (auto& w : workers) w.join();
  CHECK(bad.load() == 0);
  CHECK(d.idle());
  CHECK(dev.max_pending() <= 8);
  const auto c = d.stats().get();
  CHECK(c.completed == threads * per_thread);
  CHECK(c.in_flight_high_water <= 8);
}

namespace {
struct node {
  node* next = nullptr;
  int producer = 0;
  int seq = 0;
};
} // namespace

TEST_CASE("mpsc_queue: take_all returns push order; concurrent pushers lose nothing") {
  mpsc_queue<node, &node::next> q;
  node a, b, c;
  q.push(a);
  q.push(b);
  q.push(c);
  CHECK_FALSE(q.empty());
  node* n = q.take_all();
  CHECK(n == &a);
  CHECK(n->next == &b);
  CHECK(n->next->next == &c);
  CHECK(c.next == nullptr);
  CHECK(q.empty());
  CHECK(q.take_all() == nullptr);

  constexpr int producers = 4;
  constexpr int per = 20000;
  std::vector<std::vector<node>> nodes(producers, std::vector<node>(per));
  std::atomic<int> started{0};
  std::vector<std::thread> ts;
  for (int p = 0; p < producers; ++p) {
    ts.emplace_back([&, p] {
      started.fetch_add(1);
      while (started.load() != producers) std::this_thread::yield();
      for (int i = 0; i < per; ++i) {
        node& x = nodes[static_cast<std::size_t>(p)][static_cast<std::size_t>(i)];
        x.producer = p;
        x.seq = i;
        q.push(x);
      }
    });
  }
  // The consumer drains concurrently; per producer, order must be kept.
  std::vector<int> next_seq(producers, 0);
  int total = 0;
  bool ordered = true;
  while (total < producers * per) {
    for (node* x = q.take_all(); x != nullptr; x = x->next) {
      int& want = next_seq[static_cast<std::size_t>(x->producer)];
      if (x->seq != want) ordered = false;
      want = x->seq + 1;
      ++total;
    }
  }
  for (auto& t : ts) t.join();
  CHECK(ordered);
  CHECK(total == producers * per);
  CHECK(q.take_all() == nullptr);
}
