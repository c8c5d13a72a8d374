// Dispatcher core: tags, active limit, trampoline, validation, control,
// statistics, lock and completion policies, devices with a constant geometry.
// Each TEST_CASE names the reference invariant it checks (xbuf.md, xdisk.md,
// blkback.md).
#include "dispatch_support.hpp"

#include <algorithm>
#include <biostack/devices/faulty.hpp>
#include <biostack/devices/null.hpp>
#include <biostack/dispatch/dispatcher.hpp>
#include <biostack/split/none.hpp>
#include <biostack/stats/counters.hpp>
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <test_support.hpp>
#include <vector>

using namespace biostack;
using dispatch_test::held_device;
using dispatch_test::inline_device;
using dispatch_test::probe;

namespace {
std::vector<std::unique_ptr<probe>> make_probes(std::size_t n, std::vector<int>* order,
                                                std::uint32_t len = 512) {
  std::vector<std::unique_ptr<probe>> v;
  for (std::size_t i = 0; i < n; ++i) {
    v.push_back(std::make_unique<probe>());
    v.back()->id = static_cast<int>(i);
    // Scattered offsets so no discipline could sort them back into id order.
    v.back()->prepare(op::read, ((i * 7919u) % 1024u) * 512u, len, order);
  }
  return v;
}
} // namespace

TEST_CASE("xdisk: never more than N tags outstanding; surplus waits in FIFO order") {
  held_device dev;
  dispatcher<held_device, policies<tags<4>>> d{dev};
  std::vector<int> order;
  auto p = make_probes(10, &order);
  for (auto& x : p) d.submit(x->b);
  CHECK(dev.held() == 4);
  CHECK(d.in_flight() == 4);
  CHECK(d.queued() == 6);
  // Started in FIFO order (xbuf: requests start in FIFO order).
  for (std::size_t i = 0; i < 4; ++i) CHECK(dev.held_bio(i).offset == p[i]->b.offset);
  dev.complete_all();
  CHECK(dev.max_held() == 4);
  REQUIRE(order.size() == 10);
  for (int i = 0; i < 10; ++i) CHECK(order[static_cast<std::size_t>(i)] == i);
  for (auto& x : p) CHECK(x->completions == 1);
  CHECK(d.idle());
}

TEST_CASE("xdisk: a released tag immediately carries the next queued bio") {
  held_device dev;
  dispatcher<held_device, policies<tags<2>>> d{dev};
  auto p = make_probes(5, nullptr);
  for (auto& x : p) d.submit(x->b);
  REQUIRE(dev.held() == 2);
  dev.complete_at(1);     // out of order: the second finishes first
  CHECK(dev.held() == 2); // its tag already carries bio #2
  CHECK(dev.held_bio(1).offset == p[2]->b.offset);
  dev.complete_all();
  for (auto& x : p) CHECK(x->completions == 1);
}

TEST_CASE("xbuf: never more than active_limit in flight; restart at low water (limit/2)") {
  held_device dev;
  dispatcher<held_device, policies<tags<16, 8>>> d{dev}; // low water 4
  static_assert(decltype(d)::low_water == 4);
  auto p = make_probes(20, nullptr);
  for (auto& x : p) d.submit(x->b);
  CHECK(dev.held() == 8);
  // Completions above the low-water mark do not restart the queue...
  for (int i = 0; i < 3; ++i) dev.complete_next();
  CHECK(dev.held() == 5);
  CHECK(d.queued() == 12);
  // ...the one reaching it does, and fills up to the limit again.
  dev.complete_next();
  CHECK(dev.held() == 8);
  CHECK(d.queued() == 8);
  dev.complete_all();
  CHECK(dev.max_held() == 8);
  for (auto& x : p) CHECK(x->completions == 1);
}

TEST_CASE("trampoline: 100,000 queued bios on an inline device, 64 KiB stack") {
  bool ok = false;
  REQUIRE(biostack_test::run_on_small_stack(64 * 1024, [&] {
    inline_device dev;
    dispatcher<inline_device, policies<tags<1>>> d{dev};
    constexpr std::size_t n = 100000;
    std::vector<bio> bios(n);
    std::byte buf[512] = {};
    std::size_t done = 0;
    auto cb = [](bio&, void* ctx) noexcept {
      ++*static_cast<std::size_t*>(ctx);
      return completion_action::proceed;
    };
    d.plug();
    for (std::size_t i = 0; i < n; ++i) {
      bios[i].prepare(op::read, (i % 1024) * 512, 512, buf, completion{cb, &done});
      d.submit(bios[i]);
    }
    d.unplug(); // the whole queue runs from here, each bio completing inline
    ok = done == n && dev.max_depth_ == 1 && d.idle();
  }));
  CHECK(ok);
}

namespace {
// Each completion submits the next bio from inside its own callback.
struct chain_state {
  dispatcher<inline_device, policies<tags<2>>>* d = nullptr;
  std::vector<bio>* bios = nullptr;
  std::size_t next = 0;
  std::size_t done = 0;
  std::byte buf[512] = {};
  static completion_action cb(bio&, void* ctx) noexcept {
    auto& s = *static_cast<chain_state*>(ctx);
    ++s.done;
    if (s.next < s.bios->size()) s.d->submit((*s.bios)[s.next++]);
    return completion_action::proceed;
  }
};
} // namespace

TEST_CASE("trampoline: callbacks that resubmit 100,000 times do not recurse (64 KiB stack)") {
  bool ok = false;
  REQUIRE(biostack_test::run_on_small_stack(64 * 1024, [&] {
    inline_device dev;
    dispatcher<inline_device, policies<tags<2>>> d{dev};
    std::vector<bio> bios(100000);
    chain_state s;
    s.d = &d;
    s.bios = &bios;
    for (auto& b : bios) b.prepare(op::write, 4096, 512, s.buf, completion{&chain_state::cb, &s});
    s.next = 1;
    d.submit(bios[0]);
    ok = s.done == bios.size() && dev.max_depth_ == 1 && d.idle();
  }));
  CHECK(ok);
}

TEST_CASE("validation: bad input completes with a clear errc and never reaches the device") {
  held_device dev(1 << 20);
  device_geometry g = dev.geometry();
  g.max_transfer = 8192;
  g.read_only = true;
  g.supports_discard = false;
  dev.set_geometry(g);
  dispatcher<held_device> d{dev};
  struct bad {
    op o;
    std::uint64_t off;
    std::uint32_t len;
    errc want;
  } cases[] = {
      {op::read, (1 << 20) - 512, 1024, errc::out_of_range},  // one block past the end
      {op::read, UINT64_MAX - 511, 1024, errc::out_of_range}, // offset + length wraps
      {op::read, 100, 512, errc::misaligned},
      {op::read, 0, 0, errc::invalid_argument},
      {op::read, 0, 16384, errc::invalid_argument}, // beyond max_transfer, no split
      {op::write, 0, 512, errc::read_only},
      {op::discard, 0, 512, errc::not_supported},
  };
  for (const auto& c : cases) {
    probe p;
    p.prepare(c.o, c.off, c.len);
    d.submit(p.b);
    CHECK(p.completions == 1);
    CHECK(p.status == c.want);
  }
  probe end_ok; // ending exactly at the last block is fine (blkback 8)
  end_ok.prepare(op::read, (1 << 20) - 512, 512);
  d.submit(end_ok.b);
  CHECK(dev.submitted() == 1);
  dev.complete_all();
  CHECK(end_ok.status == errc::ok);
  probe unknown;
  unknown.prepare(op::read, 0, 512);
  unknown.b.operation = static_cast<op>(42);
  d.submit(unknown.b);
  CHECK(unknown.status == errc::invalid_argument);
  CHECK(dev.submitted() == 1);
}

TEST_CASE("validation fast path (contiguous reads/writes) agrees with validate()") {
  held_device dev(1 << 20);
  device_geometry g = dev.geometry();
  g.max_transfer = 8192;
  g.alignment = 64;
  dev.set_geometry(g);
  g = dev.geometry();
  dispatcher<held_device> d{dev};
  alignas(64) static std::byte buf[16384];
  struct in {
    op o;
    std::uint64_t off;
    std::uint32_t len;
    std::size_t mem_off;
  } cases[] = {
      {op::read, (1 << 20) - 512, 1024, 0},
      {op::write, UINT64_MAX - 511, 1024, 0},
      {op::read, 100, 512, 0},
      {op::write, 512, 700, 0},
      {op::read, 0, 512, 8},
      {op::write, 0, 16384, 0},
      {op::read, 4096, 4096, 0},
      {op::write, (1 << 20) - 512, 512, 64},
  };
  for (const auto& c : cases) {
    bio b;
    int n = 0;
    b.prepare(c.o, c.off, c.len, buf + c.mem_off,
              completion{[](bio&, void* x) noexcept {
                           ++*static_cast<int*>(x);
                           return completion_action::proceed;
                         },
                         &n});
    errc want = validate(b, g);
    if (want == errc::ok && c.len > g.max_transfer) want = errc::invalid_argument;
    d.submit(b);
    dev.complete_all();
    CHECK(n == 1);
    CHECK(b.status() == want);
  }
  CHECK(dev.submitted() == 2); // only the two valid ones reached the device
}

TEST_CASE("xbuf flushq: cancel_queued completes exactly the selected bios; others stay in order") {
  held_device dev;
  dispatcher<held_device, policies<tags<1>>> d{dev};
  std::vector<int> order;
  auto p = make_probes(8, &order);
  for (auto& x : p) d.submit(x->b);
  REQUIRE(dev.held() == 1); // #0 is in flight and must not be touched
  const std::size_t n = d.cancel_queued(
      [&](const bio& b) noexcept {
        return b.offset == p[0]->b.offset || b.offset == p[2]->b.offset ||
               b.offset == p[5]->b.offset;
      },
      errc::io_error);
  CHECK(n == 2); // #0 is issued, not queued
  CHECK(p[2]->status == errc::io_error);
  CHECK(p[5]->status == errc::io_error);
  CHECK(p[2]->residual == 512);
  CHECK(p[0]->completions == 0);
  dev.complete_all();
  CHECK(order == std::vector<int>{2, 5, 0, 1, 3, 4, 6, 7});
  for (auto& x : p) CHECK(x->completions == 1);
}

TEST_CASE("blkback 16: drain refuses new work, never cancels in-flight, finishes on the last "
          "completion") {
  held_device dev;
  dispatcher<held_device, policies<tags<2>>> d{dev};
  auto p = make_probes(4, nullptr);
  for (auto& x : p) d.submit(x->b);
  int idle_calls = 0;
  d.drain([](void* c) noexcept { ++*static_cast<int*>(c); }, &idle_calls);
  CHECK(d.state() == dispatch_state::draining);
  probe late;
  late.prepare(op::read, 0, 512);
  d.submit(late.b);
  CHECK(late.status == errc::shutting_down);
  dev.complete_next();
  dev.complete_next();
  dev.complete_next();
  CHECK(idle_calls == 0);
  dev.complete_next();
  CHECK(idle_calls == 1);
  CHECK(d.state() == dispatch_state::closed);
  for (auto& x : p) CHECK(x->status == errc::ok);
  d.resume();
  probe again;
  again.prepare(op::read, 0, 512);
  d.submit(again.b);
  dev.complete_all();
  CHECK(again.status == errc::ok);
}

TEST_CASE("shutdown cancels queued bios, keeps in-flight ones, closes on the last completion") {
  held_device dev;
  dispatcher<held_device, policies<tags<2>>> d{dev};
  auto p = make_probes(5, nullptr);
  for (auto& x : p) d.submit(x->b);
  int idle_calls = 0;
  d.shutdown([](void* c) noexcept { ++*static_cast<int*>(c); }, &idle_calls);
  for (std::size_t i = 2; i < 5; ++i) CHECK(p[i]->status == errc::cancelled);
  CHECK(p[0]->completions == 0);
  CHECK(d.state() == dispatch_state::draining);
  dev.complete_all();
  CHECK(p[0]->status == errc::ok);
  CHECK(p[1]->status == errc::ok);
  CHECK(idle_calls == 1);
  CHECK(d.state() == dispatch_state::closed);
  int idle2 = 0;
  d.shutdown([](void* c) noexcept { ++*static_cast<int*>(c); }, &idle2);
  CHECK(idle2 == 1); // nothing to wait for: called at once
}

TEST_CASE("stats: counters see submissions, completions by code, high-water marks, latency") {
  held_device dev;
  dispatcher<held_device, policies<tags<4>, counters, manual_clock>> d{dev};
  auto p = make_probes(6, nullptr);
  for (auto& x : p) d.submit(x->b);
  probe bad;
  bad.prepare(op::read, 3, 512);
  d.submit(bad.b);
  d.clock().advance(100);
  dev.complete_next(errc::media_error);
  d.clock().advance(1000);
  dev.complete_all();
  const counters snapshot = d.stats();
  const dispatch_counters& c = snapshot.get();
  CHECK(c.submitted == 7);
  CHECK(c.completed == 7);
  CHECK(c.errors[static_cast<std::size_t>(errc::ok)] == 5);
  CHECK(c.errors[static_cast<std::size_t>(errc::media_error)] == 1);
  CHECK(c.errors[static_cast<std::size_t>(errc::misaligned)] == 1);
  CHECK(c.in_flight_high_water == 4);
  CHECK(c.in_flight == 0);
  CHECK(c.queue_high_water >= 2);
  CHECK(c.dispatched == 6);
  CHECK(c.latency.total() == 6);
  CHECK(c.latency.count[log2_histogram::bucket_of(100)] == 1);
  CHECK(c.latency.count[log2_histogram::bucket_of(1100)] == 3);
  CHECK(log2_histogram::bucket_of(0) == 0);
  CHECK(log2_histogram::bucket_of(1) == 1);
  CHECK(log2_histogram::bucket_of(1024) == 11);
}

TEST_CASE("stats: null_stats costs no storage") {
  STATIC_REQUIRE(std::is_empty_v<null_stats>);
  STATIC_REQUIRE(sizeof(dispatcher<held_device, policies<null_stats>>) <
                 sizeof(dispatcher<held_device, policies<counters>>));
}

namespace {
// A lock policy that knows whether it is held, so devices and callbacks can
// check they are never entered under it.
thread_local bool g_lock_held = false;
struct tracking_lock {
  using category = lock_policy_tag;
  void lock() noexcept {
    BIOSTACK_ASSERT(!g_lock_held);
    g_lock_held = true;
  }
  void unlock() noexcept { g_lock_held = false; }
};
struct lock_checking_device : inline_device {
  int violations = 0;
  void submit(bio& b) noexcept {
    if (g_lock_held) ++violations;
    inline_device::submit(b);
  }
};
} // namespace

TEST_CASE("lock policy: device submit and completion callbacks never run under the lock") {
  lock_checking_device dev;
  dispatcher<lock_checking_device, policies<tracking_lock, tags<2>>> d{dev};
  int cb_violations = 0;
  int done = 0;
  struct ctx_t {
    int* v;
    int* done;
  } ctx{&cb_violations, &done};
  std::vector<bio> bios(50);
  std::byte buf[512] = {};
  d.plug();
  for (auto& b : bios) {
    b.prepare(op::read, 0, 512, buf,
              completion{[](bio&, void* c) noexcept {
                           auto& x = *static_cast<ctx_t*>(c);
                           if (g_lock_held) ++*x.v;
                           ++*x.done;
                           return completion_action::proceed;
                         },
                         &ctx});
    d.submit(b);
  }
  d.unplug();
  CHECK(done == 50);
  CHECK(dev.violations == 0);
  CHECK(cb_violations == 0);
  CHECK(dev.submitted_ == 50);
}

TEST_CASE("deferred completion: the device's completion only queues; poll() delivers") {
  held_device dev;
  dispatcher<held_device, policies<tags<2>, deferred_completion>> d{dev};
  auto p = make_probes(3, nullptr);
  for (auto& x : p) d.submit(x->b);
  dev.complete_next();
  dev.complete_next();
  CHECK(p[0]->completions == 0);
  CHECK(dev.held() == 0); // tags are freed in poll(), not in the completion
  CHECK(d.poll() == 2);
  CHECK(p[0]->completions == 1);
  CHECK(p[1]->completions == 1);
  CHECK(dev.held() == 1); // the freed tag carried #2
  dev.complete_next();
  d.poll();
  CHECK(p[2]->completions == 1);
}

TEST_CASE("each bio completes exactly once; completing one twice panics") {
  CHECK(biostack_test::panics([] {
    held_device dev;
    dispatcher<held_device> d{dev};
    probe p;
    p.prepare(op::read, 0, 512);
    d.submit(p.b);
    bio& issued = dev.held_bio(0);
    dev.complete_next();
    complete(issued, errc::ok); // a buggy device answering twice
  }));
}

TEST_CASE("the dispatcher is a block_device with poll(), so layers stack on it") {
  STATIC_REQUIRE(block_device<dispatcher<held_device>>);
  STATIC_REQUIRE(pollable<dispatcher<held_device>>);
  held_device dev;
  dispatcher<held_device> lower{dev};
  dispatcher<dispatcher<held_device>, policies<tags<1>>> upper{lower};
  auto p = make_probes(3, nullptr);
  for (auto& x : p) upper.submit(x->b);
  CHECK(dev.held() == 1);
  dev.complete_all();
  for (auto& x : p) CHECK(x->status == errc::ok);
}

TEST_CASE("null_device on_poll: completions wait for poll(), so a QD32 batch is really "
          "outstanding at once") {
  std::vector<int> order;
  auto p = make_probes(40, &order);
  SECTION("the device alone") {
    null_device dev(512, 1 << 20, true, null_completion::on_poll);
    for (auto& x : p) dev.submit(x->b);
    CHECK(dev.held() == 40);
    CHECK(order.empty());
    CHECK(dev.poll() == 40);
    CHECK(dev.held() == 0);
    REQUIRE(order.size() == 40);
    for (std::size_t i = 0; i < 40; ++i) CHECK(order[i] == static_cast<int>(i));
    CHECK(dev.poll() == 0);
  }
  SECTION("through the dispatcher: 32 tags in use until the poll") {
    null_device dev(512, 1 << 20, true, null_completion::on_poll);
    dispatcher<null_device> d{dev};
    d.plug();
    for (auto& x : p) d.submit(x->b);
    d.unplug();
    CHECK(d.in_flight() == 32);
    CHECK(dev.held() == 32);
    CHECK(d.queued() == 8);
    CHECK(order.empty());
    d.poll(); // 32 complete; their tags carry the other 8
    CHECK(order.size() == 32);
    CHECK(dev.held() == 8);
    d.poll();
    CHECK(order.size() == 40);
    CHECK(d.idle());
  }
  SECTION("the default still completes inside submit") {
    null_device dev(512, 1 << 20);
    dev.submit(p[0]->b);
    CHECK(p[0]->completions == 1);
    CHECK(dev.held() == 0);
    CHECK(dev.poll() == 0);
  }
  for (auto& x : p)
    if (x->completions != 0) CHECK(x->status == errc::ok);
}

// ---- over a device with a constant geometry ---------------------------------
// A dispatcher over a constant_geometry_device keeps no copy of the geometry
// and checks against the constant; it must behave exactly as over a device
// reporting the same geometry at run time, and is such a device itself.

namespace constant_geometry_test {

// 256 blocks of 512 B, at most 4 KiB and 4 segments per request, memory
// aligned to 8 bytes; flush and write_zeroes offered, discard not.
constexpr device_geometry test_geometry() {
  device_geometry g;
  g.block_size = 512;
  g.block_count = 256;
  g.max_transfer = 4096;
  g.max_segments = 4;
  g.alignment = 8;
  g.supports_flush = true;
  g.supports_discard = false;
  g.supports_write_zeroes = true;
  return g;
}
constexpr device_geometry geo = test_geometry();
constexpr std::uint64_t capacity = geo.capacity();

// A RAM disk with geometry `geo` that logs what reaches it. It reports the
// geometry only at run time; `constant_ram` below also has it as a constant.
class runtime_ram {
public:
  struct request {
    op operation;
    std::uint64_t offset;
    std::uint32_t length;
    bool operator==(const request&) const = default;
  };

  runtime_ram() : store_(capacity), ram_(store_.data(), store_.size(), geo.block_size) {
    ram_.set_geometry(geo);
  }
  [[nodiscard]] device_geometry geometry() const noexcept { return geo; }
  void submit(bio& b) noexcept {
    log.push_back({b.operation, b.offset, b.length});
    ram_.submit(b);
  }
  std::byte* memory() { return store_.data(); }

  std::vector<request> log;

private:
  std::vector<std::byte> store_;
  ram_device ram_;
};

class constant_ram : public runtime_ram {
public:
  using promises_of = constant_ram;
  static constexpr device_geometry constant_geometry = geo;
};

static_assert(!constant_geometry_device<runtime_ram>);
static_assert(constant_geometry_device<constant_ram>);

using firmware_policies = policies<fifo, tags<4>, static_pool<4>, deferred_completion>;
using split_policies = policies<device_limits, tags<4>, static_pool<8>>;

// The dispatcher is a constant_geometry_device exactly when its device is;
// its constant is its device's, with max_transfer 0 when it splits.
static_assert(constant_geometry_device<dispatcher<constant_ram, firmware_policies>>);
static_assert(constant_geometry_device<dispatcher<constant_ram, split_policies>>);
static_assert(dispatcher<constant_ram, firmware_policies>::constant_geometry.max_transfer == 4096);
static_assert(dispatcher<constant_ram, split_policies>::constant_geometry.max_transfer == 0);
static_assert(dispatcher<constant_ram, split_policies>::constant_geometry.block_count == 256);
static_assert(dispatcher<constant_ram, split_policies>::constant_geometry.max_segments == 4);
static_assert(!constant_geometry_device<dispatcher<runtime_ram, firmware_policies>>);
static_assert(!constant_geometry_device<dispatcher<ram_device>>);
static_assert(constant_geometry_device<dispatcher<static_ram_device<8192>>>);
// A fault injector's geometry is its own (it may change it): not constant,
// nor is a dispatcher over it.
using faulty_disk = faulty_device<static_ram_device<8192>&, faulty_limits<4, 8, 0, 1, 4>>;
static_assert(!constant_geometry_device<faulty_disk>);
static_assert(!constant_geometry_device<dispatcher<faulty_disk, firmware_policies>>);
// Stacked: a dispatcher over a dispatcher over a constant device.
static_assert(constant_geometry_device<
              dispatcher<dispatcher<constant_ram, firmware_policies>, split_policies>>);
// No copy of the geometry is kept (other members may sit in the copy's tail
// padding, so the saving is the geometry less that padding).
static_assert(sizeof(dispatcher<runtime_ram, firmware_policies>) -
                  sizeof(dispatcher<constant_ram, firmware_policies>) >=
              sizeof(device_geometry) - alignof(device_geometry));

// What a bio's completion looked like.
struct outcome {
  errc status;
  std::uint32_t residual;
  int completions;
  bool operator==(const outcome&) const = default;
};

struct probe {
  bio b;
  int completions = 0;
  static completion_action done(bio&, void* ctx) noexcept {
    ++static_cast<probe*>(ctx)->completions;
    return completion_action::proceed;
  }
};

alignas(64) std::byte pattern[8192];
alignas(64) std::byte readback[8192];

// Submits the bio `make` prepares to `d`, polls until it completes, and
// returns the outcome.
template <class Dispatcher, class Make>
outcome run(Dispatcher& d, Make make) {
  probe p;
  make(p.b);
  p.b.on_done = completion{&probe::done, &p};
  d.submit(p.b);
  for (int spins = 0; spins < 1000 && !p.b.completed(); ++spins) d.poll();
  REQUIRE(p.b.completed());
  return {p.b.status(), p.b.residual(), p.completions};
}

auto rw(op o, std::uint64_t off, std::uint32_t len, std::byte* mem) {
  return [=](bio& b) { b.prepare(o, off, len, mem); };
}

// The same script against any dispatcher over a RAM disk of `geo`: good
// requests, one of every bad input, and one larger than max_transfer.
template <class Dispatcher>
std::vector<outcome> script(Dispatcher& d) {
  for (std::size_t i = 0; i < sizeof pattern; ++i) pattern[i] = static_cast<std::byte>(i * 7 + 1);
  std::memset(readback, 0, sizeof readback);
  static const segment five[] = {{pattern, 512},
                                 {pattern + 512, 512},
                                 {pattern + 1024, 512},
                                 {pattern + 1536, 512},
                                 {pattern + 2048, 512}};
  std::vector<outcome> v;
  v.push_back(run(d, rw(op::write, 4096, 4096, pattern)));
  v.push_back(run(d, rw(op::read, 4096, 4096, readback)));
  v.push_back(run(d, rw(op::read, capacity - 512, 512, readback)));
  v.push_back(run(d, rw(op::flush, 0, 0, nullptr)));
  v.push_back(run(d, rw(op::write_zeroes, 0, 1024, nullptr)));
  // Bad input: each gets its own status, with nothing transferred.
  v.push_back(run(d, rw(op::read, capacity, 512, readback)));    // out_of_range
  v.push_back(run(d, rw(op::read, 100, 512, readback)));         // misaligned offset
  v.push_back(run(d, rw(op::read, 0, 512, readback + 4)));       // misaligned memory
  v.push_back(run(d, rw(op::discard, 0, 512, nullptr)));         // not_supported
  v.push_back(run(d, rw(op::write, 0, 0, pattern)));             // invalid_argument
  v.push_back(run(d, rw(op::read, 0, 512, nullptr)));            // invalid_argument
  v.push_back(run(d, rw(static_cast<op>(42), 0, 512, pattern))); // invalid_argument
  v.push_back(run(d, [](bio& b) { // five segments where four are allowed
    b.prepare(op::write, 0, 2560);
    b.segments = five;
    b.segment_count = 5;
  }));
  // Larger than max_transfer: refused, or split.
  v.push_back(run(d, rw(op::write, 16384, 8192, pattern)));
  return v;
}

template <class Device, class Policies>
struct rig {
  Device dev;
  dispatcher<Device, Policies> d{dev};
};

// The script through a dispatcher over the constant-geometry disk and one
// over the run-time disk: the same outcomes, and the same requests reached
// each device. Returns the outcomes.
template <class Policies>
std::vector<outcome> script_both(rig<constant_ram, Policies>& fixed,
                                 rig<runtime_ram, Policies>& runtime) {
  std::vector<outcome> got = script(fixed.d);
  CHECK(got == script(runtime.d));
  CHECK(fixed.dev.log == runtime.dev.log);
  return got;
}

TEST_CASE("dispatcher over a constant geometry: same statuses as over a run-time one",
          "[dispatch][geometry]") {
  rig<constant_ram, firmware_policies> fixed;
  rig<runtime_ram, firmware_policies> runtime;
  const std::vector<outcome> got = script_both(fixed, runtime);

  const std::vector<outcome> want = {
      {errc::ok, 0, 1},
      {errc::ok, 0, 1},
      {errc::ok, 0, 1},
      {errc::ok, 0, 1},
      {errc::ok, 0, 1},
      {errc::out_of_range, 512, 1},
      {errc::misaligned, 512, 1},
      {errc::misaligned, 512, 1},
      {errc::not_supported, 512, 1},
      {errc::invalid_argument, 0, 1},
      {errc::invalid_argument, 512, 1},
      {errc::invalid_argument, 512, 1},
      {errc::invalid_argument, 2560, 1},
      {errc::invalid_argument, 8192, 1}, // no split: larger than max_transfer
  };
  CHECK(got == want);
  // Only the five good requests reached the device.
  REQUIRE(fixed.dev.log.size() == 5);
  CHECK(fixed.dev.log[0] == runtime_ram::request{op::write, 4096, 4096});
  // The read back of the 4 KiB write, then of the last (never written) block.
  CHECK(std::memcmp(readback + 512, pattern + 512, 4096 - 512) == 0);
  CHECK(std::all_of(readback, readback + 512, [](std::byte x) { return x == std::byte{0}; }));
  CHECK(std::memcmp(fixed.dev.memory() + 4096, pattern, 4096) == 0);
  CHECK(fixed.d.geometry().max_transfer == 4096);
  CHECK(fixed.d.geometry().block_count == runtime.d.geometry().block_count);
}

TEST_CASE("dispatcher over a constant geometry: splits as over a run-time one",
          "[dispatch][geometry]") {
  rig<constant_ram, split_policies> fixed;
  rig<runtime_ram, split_policies> runtime;
  const std::vector<outcome> got = script_both(fixed, runtime);

  // The 8 KiB write now succeeds, in two pieces of max_transfer.
  CHECK(got.back() == outcome{errc::ok, 0, 1});
  REQUIRE(fixed.dev.log.size() == 7);
  CHECK(fixed.dev.log[5] == runtime_ram::request{op::write, 16384, 4096});
  CHECK(fixed.dev.log[6] == runtime_ram::request{op::write, 20480, 4096});
  CHECK(std::memcmp(fixed.dev.memory() + 16384, pattern, 8192) == 0);
  // Bad input is refused the same way.
  CHECK(got[5] == outcome{errc::out_of_range, 512, 1});
  CHECK(got[12] == outcome{errc::invalid_argument, 2560, 1});
  CHECK(fixed.d.geometry().max_transfer == 0);
  CHECK(runtime.d.geometry().max_transfer == 0);
}

TEST_CASE("dispatcher over a constant geometry: a layer above validates against its constant",
          "[dispatch][geometry]") {
  // What a cache over the dispatcher does with the constant: the same
  // statuses as the dispatcher's geometry gives at run time.
  using upper = dispatcher<constant_ram, split_policies>;
  rig<constant_ram, split_policies> s;
  const device_geometry g = s.d.geometry();
  const auto agree = [&g](auto make) {
    bio b;
    make(b);
    const errc want = validate(b, g);
    CHECK(validate<upper::constant_geometry>(b) == want);
    return want;
  };
  CHECK(agree(rw(op::write, 0, 8192, pattern)) == errc::ok); // no limit above a splitter
  CHECK(agree(rw(op::read, capacity, 512, readback)) == errc::out_of_range);
  CHECK(agree(rw(op::read, 0, 512, readback + 4)) == errc::misaligned);
  CHECK(agree(rw(op::discard, 0, 512, nullptr)) == errc::not_supported);
}

TEST_CASE("dispatcher over a fault injector (run-time geometry) still works",
          "[dispatch][geometry]") {
  static static_ram_device<8192> disk;
  faulty_disk faulty{disk};
  dispatcher<faulty_disk, firmware_policies> d{faulty};
  for (std::size_t i = 0; i < 1024; ++i) pattern[i] = static_cast<std::byte>(i + 3);
  CHECK(run(d, rw(op::write, 1024, 1024, pattern)) == outcome{errc::ok, 0, 1});
  CHECK(std::memcmp(disk.memory() + 1024, pattern, 1024) == 0);
  CHECK(run(d, rw(op::read, 8192, 512, readback)) == outcome{errc::out_of_range, 512, 1});
  CHECK(run(d, rw(op::read, 0, 100, readback)) == outcome{errc::misaligned, 100, 1});
}

// A constant-geometry RAM disk that also takes validated bios, and logs which
// entry each request came through and whether it really was valid.
class validated_ram : public constant_ram {
public:
  using promises_of = validated_ram;
  void submit_validated(bio& b) noexcept {
    ++validated_submits;
    if (validate<geo>(b) != errc::ok) ++invalid_validated;
    submit(b);
  }
  int validated_submits = 0;
  int invalid_validated = 0;
};

static_assert(validated_submit_device<validated_ram>);
static_assert(!validated_submit_device<constant_ram>);
static_assert(validated_submit_device<static_ram_device<8192>>);
// Only over a constant geometry: the caller's validation must have used the
// geometry the device has.
static_assert(!validated_submit_device<ram_device>);

using merge_policies = policies<fifo, tags<4>, static_pool<4>, back_merge<4>>;

TEST_CASE("dispatcher over a validated_submit_device: validated once, same results",
          "[dispatch][geometry]") {
  rig<validated_ram, firmware_policies> v;
  rig<constant_ram, firmware_policies> plain;
  const std::vector<outcome> got = script(v.d);
  CHECK(got == script(plain.d));
  CHECK(v.dev.log == plain.dev.log);
  // The five good requests, all through submit_validated, all valid; the
  // bad ones never reached the device.
  CHECK(v.dev.log.size() == 5);
  CHECK(v.dev.validated_submits == 5);
  CHECK(v.dev.invalid_validated == 0);
  CHECK(std::memcmp(v.dev.memory() + 4096, pattern, 4096) == 0);
}

TEST_CASE("dispatcher that splits or merges: the device validates for itself",
          "[dispatch][geometry]") {
  // Split pieces and merged runs are not copies of one validated bio: they
  // go through the device's own submit.
  rig<validated_ram, split_policies> split;
  rig<constant_ram, split_policies> split_plain;
  CHECK(script(split.d) == script(split_plain.d));
  CHECK(split.dev.log.size() == 7);
  CHECK(split.dev.validated_submits == 0);

  rig<validated_ram, merge_policies> merge;
  merge.d.plug(); // let three adjacent writes queue up and merge
  probe a, b, c;
  a.b.prepare(op::write, 0, 512, pattern, completion{&probe::done, &a});
  b.b.prepare(op::write, 512, 512, pattern + 512, completion{&probe::done, &b});
  c.b.prepare(op::write, 1024, 512, pattern + 1024, completion{&probe::done, &c});
  merge.d.submit(a.b);
  merge.d.submit(b.b);
  merge.d.submit(c.b);
  merge.d.unplug();
  for (int i = 0; i < 10; ++i) merge.d.poll();
  CHECK((a.completions == 1 && b.completions == 1 && c.completions == 1));
  CHECK((a.b.status() == errc::ok && b.b.status() == errc::ok && c.b.status() == errc::ok));
  REQUIRE(merge.dev.log.size() == 1);
  CHECK(merge.dev.log[0] == runtime_ram::request{op::write, 0, 1536});
  CHECK(merge.dev.validated_submits == 0);
  CHECK(std::memcmp(merge.dev.memory(), pattern, 1536) == 0);
}

// A validated_submit_device that promises nothing about the results:
// reads fail with a media error, anything else stops 512 bytes short.
class failing_validated_ram : public constant_ram {
public:
  using promises_of = failing_validated_ram;
  void submit_validated(bio& b) noexcept {
    ++validated_submits;
    if (b.operation == op::read)
      complete(b, errc::media_error, b.length);
    else
      complete(b, errc::ok, 512);
  }
  int validated_submits = 0;
};

static_assert(validated_submit_device<failing_validated_ram>);
static_assert(!infallible_validated_submit_device<failing_validated_ram>);
static_assert(!infallible_validated_submit_device<validated_ram>);
static_assert(infallible_validated_submit_device<static_ram_device<8192>>);
// The promise is the RAM disk's own, as its other ones.
static_assert(!infallible_validated_submit_device<faulty_disk>);

TEST_CASE("dispatcher over a validated_submit_device: its errors and residuals are passed on",
          "[dispatch][geometry]") {
  // Only a device promising infallible_validated_submit (a static RAM disk)
  // has its results taken as read.
  rig<failing_validated_ram, firmware_policies> f;
  CHECK(run(f.d, rw(op::read, 4096, 1024, readback)) == outcome{errc::media_error, 1024, 1});
  CHECK(run(f.d, rw(op::write, 0, 2048, pattern)) == outcome{errc::ok, 512, 1});
  CHECK(f.dev.validated_submits == 2);
  CHECK(f.d.idle());
}

// A static RAM disk whose reads fail, derived and keeping its base's
// promises (constant geometry, validated submission) by naming itself as
// their owner again; it does not repeat the infallibility promise, which
// still names the base: its results must be read.
class failing_static_ram : public static_ram_device<8192> {
public:
  using promises_of = failing_static_ram;
  void submit(bio& b) noexcept { submit_validated(b); }
  void submit_validated(bio& b) noexcept {
    if (b.operation == op::read)
      complete(b, errc::media_error, b.length);
    else
      static_ram_device<8192>::submit_validated(b);
  }
};
static_assert(validated_submit_device<failing_static_ram>);
static_assert(!infallible_validated_submit_device<failing_static_ram>);

TEST_CASE("the infallibility promise is not inherited with the other promises",
          "[dispatch][geometry]") {
  static failing_static_ram disk;
  dispatcher<failing_static_ram, firmware_policies> d{disk};
  STATIC_REQUIRE(constant_geometry_device<decltype(d)>);
  CHECK(run(d, rw(op::write, 0, 1024, pattern)) == outcome{errc::ok, 0, 1});
  CHECK(run(d, rw(op::read, 0, 1024, readback)) == outcome{errc::media_error, 1024, 1});
}

static_assert(validated_transfer_device<static_ram_device<8192>>);
static_assert(!validated_transfer_device<validated_ram>);
// A derived class's submit_validated may fail (this one's does): the
// promise stays the base's unless the derived class names itself, and a
// dispatcher over it issues requests to its submit_validated (the test
// above sees its media errors).
static_assert(!validated_transfer_device<failing_static_ram>);

// In place there are no request objects, so no pool either: the allocation
// policy's objects take no room, and there is no `pool()` (draining it
// would provoke no shortage). A dispatcher that issues requests keeps both:
// over a device without the promise, or with per-request state (latency).
template <class D>
concept has_pool = requires(D& d) {
  d.pool();
};
using in_place_disp = dispatcher<static_ram_device<8192>, firmware_policies>;
static_assert(!has_pool<in_place_disp>);
static_assert(sizeof(in_place_disp) ==
              sizeof(dispatcher<static_ram_device<8192>,
                                policies<fifo, tags<4>, static_pool<64>, deferred_completion>>));
static_assert(has_pool<dispatcher<failing_static_ram, firmware_policies>>);
static_assert(has_pool<dispatcher<static_ram_device<8192>,
                                  policies<fifo, tags<4>, static_pool<4>, counters>>>);

// Bios with completion callbacks that log the order they complete in.
struct logged {
  bio b;
  int id = 0;
  std::vector<int>* order = nullptr;
  static completion_action done(bio&, void* ctx) noexcept {
    auto& l = *static_cast<logged*>(ctx);
    l.order->push_back(l.id);
    return completion_action::proceed;
  }
};

TEST_CASE("over a RAM disk that transfers in place: deferred completions wait for poll(), in "
          "order, and hold their tags until then",
          "[dispatch][geometry]") {
  // No request objects: the dispatcher has each bio's data moved in its
  // loop, keeps the bio on a tag, and a poll completes exactly the bios
  // transferred before it.
  static static_ram_device<8192> disk;
  dispatcher<static_ram_device<8192>, firmware_policies> d{disk}; // 4 tags
  for (std::size_t i = 0; i < 4096; ++i) pattern[i] = static_cast<std::byte>(i * 5 + 3);
  std::vector<int> order;
  logged l[6];
  std::memset(readback, 0, sizeof readback);
  for (int i = 0; i < 6; ++i) { // each write read back by the next bio
    const auto at = static_cast<std::uint32_t>(i / 2) * 512u;
    l[i].b.prepare(i % 2 == 0 ? op::write : op::read, at, 512,
                   i % 2 == 0 ? pattern + at : readback + at, completion{&logged::done, &l[i]});
    l[i].id = i;
    l[i].order = &order;
    d.submit(l[i].b);
  }
  // Four issued and done on the disk, two waiting for a tag; nothing
  // delivered yet.
  CHECK(order.empty());
  CHECK(d.in_flight() == 4);
  CHECK(d.queued() == 2);
  CHECK(std::memcmp(disk.memory(), pattern, 512) == 0);
  CHECK(d.poll() == 4);
  CHECK(order == std::vector<int>{0, 1, 2, 3});
  // The freed tags carried the last two, which completed on the disk during
  // that poll: they wait for the next one.
  CHECK(d.in_flight() == 2);
  CHECK(d.queued() == 0);
  CHECK(!d.idle());
  CHECK(d.poll() == 2);
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5});
  CHECK(d.idle());
  CHECK(d.poll() == 0);
  for (const logged& x : l) CHECK(x.b.status() == errc::ok);
  CHECK(std::memcmp(readback, pattern, 1536) == 0);
}

TEST_CASE("over a RAM disk that transfers in place: a poll from a callback hands over only "
          "what was transferred before it",
          "[dispatch][geometry]") {
  static static_ram_device<8192> disk;
  using one_tag = policies<fifo, tags<1>, static_pool<1>, deferred_completion>;
  using disp = dispatcher<static_ram_device<8192>, one_tag>;
  disp d{disk};
  struct polling {
    logged l;
    disp* d = nullptr;
    std::size_t nested = 99;
    static completion_action done(bio& b, void* ctx) noexcept {
      auto& p = *static_cast<polling*>(ctx);
      p.nested = p.d->poll(); // B is still queued: nothing to hand over
      return logged::done(b, &p.l);
    }
  };
  std::vector<int> order;
  polling a;
  a.d = &d;
  a.l.id = 0;
  a.l.order = &order;
  a.l.b.prepare(op::write, 0, 512, pattern, completion{&polling::done, &a});
  logged b;
  b.id = 1;
  b.order = &order;
  b.b.prepare(op::write, 512, 512, pattern + 512, completion{&logged::done, &b});
  d.submit(a.l.b);
  d.submit(b.b);
  CHECK(d.poll() == 1);
  CHECK(a.nested == 0);
  // B went out on the tag A freed and completed on the disk after the poll
  // took its count.
  CHECK(order == std::vector<int>{0});
  CHECK(d.in_flight() == 1);
  CHECK(d.poll() == 1);
  CHECK(order == std::vector<int>{0, 1});
  CHECK(d.idle());
}

TEST_CASE("over a RAM disk that transfers in place: inline completions run in submit, in order",
          "[dispatch][geometry]") {
  static static_ram_device<8192> disk;
  dispatcher<static_ram_device<8192>, policies<fifo, tags<2>, static_pool<2>>> d{disk};
  std::vector<int> order;
  logged l[5];
  for (int i = 0; i < 5; ++i) {
    l[i].id = i;
    l[i].order = &order;
    l[i].b.prepare(op::read, static_cast<std::uint32_t>(i) * 1024u, 1024, readback,
                   completion{&logged::done, &l[i]});
    d.submit(l[i].b);
    CHECK(order.size() == static_cast<std::size_t>(i + 1));
  }
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(d.idle());
  CHECK(d.in_flight() == 0);
}

TEST_CASE("static_ram_device: submit_validated and transfer_validated do what submit does",
          "[dispatch][geometry]") {
  static static_ram_device<8192> one;
  static static_ram_device<8192> two;
  static static_ram_device<8192> three;
  for (std::size_t i = 0; i < 4096; ++i) pattern[i] = static_cast<std::byte>(i * 3 + 5);
  alignas(64) static std::byte back_one[2048];
  alignas(64) static std::byte back_two[2048];
  alignas(64) static std::byte back_three[2048];
  const segment pieces[] = {{pattern + 1024, 1024}, {pattern + 3072, 1024}};
  const auto both = [&](auto make) {
    bio x;
    bio y;
    make(x, back_one);
    make(y, back_two);
    REQUIRE(validate<static_ram_device<8192>::constant_geometry>(x) == errc::ok);
    one.submit(x);
    two.submit_validated(y);
    REQUIRE(x.completed());
    REQUIRE(y.completed());
    // transfer_validated moves the same data and leaves the bio alone.
    bio z;
    make(z, back_three);
    three.transfer_validated(z);
    CHECK(!z.completed());
    CHECK(z.status() == errc::ok);
    CHECK(std::memcmp(one.memory(), three.memory(), 8192) == 0);
    CHECK(std::memcmp(back_one, back_three, sizeof back_one) == 0);
    CHECK(x.status() == y.status());
    CHECK(x.residual() == y.residual());
    CHECK(std::memcmp(one.memory(), two.memory(), 8192) == 0);
    CHECK(std::memcmp(back_one, back_two, sizeof back_one) == 0);
  };
  both([](bio& b, std::byte*) { b.prepare(op::write, 0, 4096, pattern); });
  both([&](bio& b, std::byte*) { // scatter-gather, from 512 bytes into the list
    b.prepare(op::write, 4096, 1536);
    b.segments = pieces;
    b.segment_count = 2;
    b.mem_offset = 512;
  });
  both([](bio& b, std::byte* mem) { b.prepare(op::read, 512, 2048, mem); });
  both([](bio& b, std::byte* mem) { b.prepare(op::read, 4096, 2048, mem); });
  both([](bio& b, std::byte*) { b.prepare(op::write_zeroes, 1024, 1024); });
  both([](bio& b, std::byte*) { b.prepare(op::discard, 0, 512); });
  both([](bio& b, std::byte*) { b.prepare(op::flush, 0, 0); });
  both([](bio& b, std::byte* mem) { b.prepare(op::read, 0, 2048, mem); });
  CHECK(std::memcmp(one.memory() + 4096, pattern + 1536, 512) == 0);
  CHECK(std::memcmp(one.memory() + 4608, pattern + 3072, 1024) == 0);
  CHECK(std::all_of(one.memory() + 1024, one.memory() + 2048,
                    [](std::byte x) { return x == std::byte{0}; }));
}

TEST_CASE("dispatcher over a device named by reference", "[dispatch][geometry]") {
  // Layers written as wrappers name their device as `D&` (faulty_device's
  // and sync_adapter's deduction guides do): the dispatcher takes that too,
  // over a run-time geometry and over a constant one.
  alignas(64) static std::byte mem[8192];
  ram_device ram{mem, sizeof mem};
  dispatcher<ram_device&, firmware_policies> by_ref{ram};
  for (std::size_t i = 0; i < 1024; ++i) pattern[i] = static_cast<std::byte>(i + 11);
  CHECK(run(by_ref, rw(op::write, 1024, 1024, pattern)) == outcome{errc::ok, 0, 1});
  CHECK(std::memcmp(mem + 1024, pattern, 1024) == 0);
  CHECK(run(by_ref, rw(op::read, 8192, 512, readback)) == outcome{errc::out_of_range, 512, 1});
  CHECK(&by_ref.device() == &ram);

  static static_ram_device<8192> disk;
  using constant_by_ref = dispatcher<static_ram_device<8192>&, firmware_policies>;
  STATIC_REQUIRE(constant_geometry_device<constant_by_ref>);
  constant_by_ref d{disk};
  CHECK(run(d, rw(op::write, 2048, 1024, pattern)) == outcome{errc::ok, 0, 1});
  CHECK(std::memcmp(disk.memory() + 2048, pattern, 1024) == 0);
  CHECK(run(d, rw(op::read, 0, 100, readback)) == outcome{errc::misaligned, 100, 1});
  CHECK(&d.device() == &disk);
}

} // namespace constant_geometry_test
