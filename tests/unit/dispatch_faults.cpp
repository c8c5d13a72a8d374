// Transport loss, retries, fail-fast, media errors and timeouts (xdisk
// invariants; blk-mq / SPDK reconnect knobs).
#include "dispatch_support.hpp"

#include <algorithm>
#include <biostack/devices/faulty.hpp>
#include <biostack/devices/ram.hpp>
#include <biostack/dispatch/dispatcher.hpp>
#include <biostack/split/max_transfer.hpp>
#include <biostack/stats/counters.hpp>
#include <catch2/catch.hpp>
#include <memory>

using namespace biostack;
using dispatch_test::held_device;
using dispatch_test::probe;

namespace {
std::vector<std::unique_ptr<probe>> submit_n(auto& d, int n, std::vector<int>* order,
                                             bio_flags f = bio_flags::none, op o = op::read) {
  std::vector<std::unique_ptr<probe>> v;
  for (int i = 0; i < n; ++i) {
    v.push_back(std::make_unique<probe>());
    v.back()->id = i;
    v.back()->prepare(o, static_cast<std::uint64_t>(i) * 4096, 512, order, f);
    d.submit(v.back()->b);
  }
  return v;
}
} // namespace

TEST_CASE("xdisk: transport loss never loses a bio; requeued at the head, in order, done once the "
          "path returns") {
  held_device dev;
  dispatcher<held_device, policies<tags<3>, counters>> d{dev};
  std::vector<int> order;
  auto p = submit_n(d, 6, &order);
  REQUIRE(dev.held() == 3);
  // The path drops: in-flight requests come back no_device, out of order.
  dev.complete_at(2, errc::no_device);
  dev.complete_at(0, errc::no_device);
  CHECK(d.path_down());
  CHECK(dev.held() == 1); // nothing new is issued while the path is down
  dev.complete_next(errc::no_device);
  CHECK(d.requeued() == 3);
  CHECK(order.empty());
  dev.clear_log();
  d.notify_path_restored();
  dev.complete_all();
  REQUIRE(order.size() == 6);
  for (int i = 0; i < 6; ++i) CHECK(order[static_cast<std::size_t>(i)] == i);
  // Reissued in their original order, before anything that was still queued.
  for (std::size_t i = 0; i < 6; ++i) CHECK(dev.log()[i].offset == i * 4096);
  for (auto& x : p) {
    CHECK(x->completions == 1);
    CHECK(x->status == errc::ok);
  }
  CHECK(d.stats().get().requeues == 3);
}

TEST_CASE("xdisk B_FAILONDIS: a fail_fast bio fails promptly with no_device instead of waiting") {
  held_device dev;
  dispatcher<held_device, policies<tags<2>>> d{dev};
  probe normal, ff, queued_ff, queued_normal;
  normal.prepare(op::read, 0, 512);
  ff.prepare(op::read, 4096, 512, nullptr, bio_flags::fail_fast);
  queued_ff.prepare(op::read, 8192, 512, nullptr, bio_flags::fail_fast);
  queued_normal.prepare(op::read, 12288, 512);
  d.submit(normal.b);
  d.submit(ff.b);
  d.submit(queued_ff.b);
  d.submit(queued_normal.b);
  dev.complete_next(errc::no_device); // normal: requeued
  dev.complete_next(errc::no_device); // fail-fast: fails
  CHECK(normal.completions == 0);
  CHECK(ff.status == errc::no_device);
  CHECK(queued_ff.status == errc::no_device); // queued fail-fast bios fail at the loss
  CHECK(queued_normal.completions == 0);
  probe late_ff;
  late_ff.prepare(op::read, 0, 512, nullptr, bio_flags::fail_fast);
  d.submit(late_ff.b);
  CHECK(late_ff.status == errc::no_device);
  d.notify_path_restored();
  dev.complete_all();
  CHECK(normal.status == errc::ok);
  CHECK(queued_normal.status == errc::ok);
}

TEST_CASE("xdisk: a real media error is returned, never retried") {
  held_device dev;
  dispatcher<held_device, policies<counters>> d{dev};
  probe p;
  p.prepare(op::read, 0, 512);
  d.submit(p.b);
  dev.complete_next(errc::media_error);
  CHECK(p.completions == 1);
  CHECK(p.status == errc::media_error);
  CHECK(dev.submitted() == 1);
  CHECK(d.stats().get().requeues == 0);
  CHECK_FALSE(d.path_down());
}

TEST_CASE("retry policy: retry limit, backoff measured with the clock, loss timeout") {
  std::vector<std::byte> mem(1 << 16);
  faulty_device<ram_device> fd(mem.data(), mem.size());
  dispatcher<faulty_device<ram_device>, policies<retry<2, 10, 100>, manual_clock>> d{fd};
  fd.lose_path();
  probe p;
  p.prepare(op::read, 0, 512);
  d.submit(p.b); // fails inline: requeued (retry 1 of 2)
  CHECK(d.requeued() == 1);
  d.poll(); // backoff not over: not retried
  CHECK(fd.stats().submitted == 1);
  d.clock().advance(10);
  d.poll(); // retried, fails again (retry 2 of 2)
  CHECK(fd.stats().submitted == 2);
  CHECK(p.completions == 0);
  d.clock().advance(10);
  d.poll(); // third failure: the limit is reached
  CHECK(fd.stats().submitted == 3);
  CHECK(p.completions == 1);
  CHECK(p.status == errc::no_device);

  probe q;
  q.prepare(op::read, 512, 512);
  d.submit(q.b);
  CHECK(d.requeued() == 1);
  d.clock().advance(100); // down for the whole loss timeout: give up
  d.poll();
  CHECK(q.completions == 1);
  CHECK(q.status == errc::no_device);
  fd.restore_path();
  probe r;
  r.prepare(op::read, 1024, 512);
  d.submit(r.b);
  CHECK(r.status == errc::ok);
}

TEST_CASE("faulty_device path loss and restore: requeued bios complete once the path returns") {
  std::vector<std::byte> mem(1 << 16);
  faulty_device<ram_device> fd(mem.data(), mem.size());
  dispatcher<faulty_device<ram_device>, policies<tags<4>>> d{fd};
  std::vector<int> order;
  REQUIRE(fd.lose_path_after(2) == errc::ok);
  auto p = submit_n(d, 5, &order, bio_flags::none, op::write);
  CHECK(order == std::vector<int>{0, 1});
  CHECK(d.requeued() == 1);
  d.poll(); // backoff 0: retried at once, still down
  CHECK(order.size() == 2);
  fd.restore_path();
  d.poll();
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
  for (auto& x : p) CHECK(x->status == errc::ok);
}

TEST_CASE("timeouts: timed_out at the deadline; the late completion is dropped by generation") {
  held_device dev;
  dispatcher<held_device, policies<tags<2>, timeout<50>, manual_clock, counters>> d{dev};
  probe slow, next, third;
  slow.prepare(op::read, 0, 512);
  next.prepare(op::read, 4096, 512);
  third.prepare(op::read, 8192, 512);
  d.submit(slow.b);
  d.clock().advance(30);
  d.submit(next.b);
  d.submit(third.b);
  d.clock().advance(20);
  d.poll(); // slow reached its deadline, next has not
  CHECK(slow.completions == 1);
  CHECK(slow.status == errc::timed_out);
  CHECK(slow.residual == 512);
  CHECK(next.completions == 0);
  // The tag stays busy until the device gives the request back.
  CHECK(d.in_flight() == 2);
  CHECK(dev.held() == 2);
  dev.complete_next(errc::ok);  // the late answer for `slow`
  CHECK(slow.completions == 1); // dropped, not delivered twice
  CHECK(slow.status == errc::timed_out);
  CHECK(dev.held() == 2); // its tag carried `third`
  dev.complete_all();
  CHECK(next.status == errc::ok);
  CHECK(third.status == errc::ok);
  CHECK(d.stats().get().timeouts == 1);
  CHECK(d.idle());
}

TEST_CASE("timeouts: a timed-out piece fails its split parent exactly once") {
  held_device dev(1 << 20);
  dispatcher<held_device, policies<tags<4>, timeout<10>, manual_clock, max_transfer<1024>>> d{dev};
  probe p;
  p.prepare(op::read, 0, 2048);
  d.submit(p.b);
  REQUIRE(dev.held() == 2);
  dev.complete_next();
  d.clock().advance(10);
  d.poll();
  CHECK(p.completions == 1);
  CHECK(p.status == errc::timed_out);
  CHECK(p.residual == 1024);
  dev.complete_all();
  CHECK(p.completions == 1);
  CHECK(d.idle());
}

TEST_CASE("xdisk: a residual never exceeds the request size, whatever the device claims") {
  held_device dev;
  dispatcher<held_device> d{dev};
  probe p;
  p.prepare(op::read, 0, 1024);
  d.submit(p.b);
  dev.complete_next(errc::ok, 99999);
  CHECK(p.completions == 1);
  CHECK(p.status == errc::ok);
  CHECK(p.residual == 1024);
  held_device dev2(1 << 20);
  dispatcher<held_device, policies<max_transfer<512>>> d2{dev2};
  probe q;
  q.prepare(op::read, 0, 1024);
  d2.submit(q.b);
  dev2.complete_next(errc::io_error, 99999);
  dev2.complete_next();
  CHECK(q.status == errc::io_error);
  CHECK(q.residual == 512);
}

namespace {
using faulty_ram = faulty_device<ram_device>;

// A device whose every block holds 0x5A, and a probe whose memory starts
// out 0xEE, so transferred, zero-filled and untouched bytes all differ.
struct short_read_rig {
  std::vector<std::byte> store = std::vector<std::byte>(64 * 1024, std::byte{0x5A});
  faulty_ram dev{store.data(), store.size(), 512u};
};

void poison(probe& p) { std::fill(p.mem.begin(), p.mem.end(), std::byte{0xEE}); }

std::size_t count_of(const probe& p, std::byte v, std::size_t from, std::size_t to) {
  return static_cast<std::size_t>(std::count(p.mem.begin() + static_cast<std::ptrdiff_t>(from),
                                             p.mem.begin() + static_cast<std::ptrdiff_t>(to), v));
}
} // namespace

TEST_CASE("short reads, report (default): ok with the residual; the tail is untouched") {
  short_read_rig rig;
  REQUIRE(rig.dev.add_rule(fault_rule::short_transfer(1).always()) == errc::ok);
  dispatcher<faulty_ram> d{rig.dev};
  probe p;
  p.prepare(op::read, 0, 2048);
  poison(p);
  d.submit(p.b);
  CHECK(p.completions == 1);
  CHECK(p.status == errc::ok);
  CHECK(p.residual == 1536);
  CHECK(count_of(p, std::byte{0x5A}, 0, 512) == 512);
  CHECK(count_of(p, std::byte{0xEE}, 512, 2048) == 1536);
  // A short piece of a split bio is a hole in the middle: io_error.
  dispatcher<faulty_ram, policies<max_transfer<1024>>> ds{rig.dev};
  probe q;
  q.prepare(op::read, 0, 2048);
  ds.submit(q.b);
  CHECK(q.status == errc::io_error);
  CHECK(q.residual == 1024);
}

TEST_CASE("xdisk: short reads zero-extended (zero_fill_short_reads): tail zeroed, residual 0") {
  short_read_rig rig;
  REQUIRE(rig.dev.add_rule(fault_rule::short_transfer(1).always()) == errc::ok);
  SECTION("a whole read") {
    dispatcher<faulty_ram, policies<zero_fill_short_reads>> d{rig.dev};
    probe p;
    p.prepare(op::read, 0, 2048);
    poison(p);
    d.submit(p.b);
    CHECK(p.completions == 1);
    CHECK(p.status == errc::ok);
    CHECK(p.residual == 0);
    CHECK(count_of(p, std::byte{0x5A}, 0, 512) == 512);
    CHECK(count_of(p, std::byte{0}, 512, 2048) == 1536);
  }
  SECTION("the pieces of a split read: no hole, so no io_error") {
    dispatcher<faulty_ram, policies<zero_fill_short_reads, max_transfer<1024>>> d{rig.dev};
    probe p;
    p.prepare(op::read, 0, 2048);
    poison(p);
    d.submit(p.b);
    CHECK(p.status == errc::ok);
    CHECK(p.residual == 0);
    CHECK(count_of(p, std::byte{0x5A}, 0, 512) == 512);
    CHECK(count_of(p, std::byte{0}, 512, 1024) == 512);
    CHECK(count_of(p, std::byte{0x5A}, 1024, 1536) == 512);
    CHECK(count_of(p, std::byte{0}, 1536, 2048) == 512);
  }
  SECTION("a merged read: the zeroes land at the end of the run, across members") {
    held_device hd;
    dispatcher<held_device, policies<zero_fill_short_reads, back_merge<4>, tags<1>>> d{hd};
    probe w, a, b;
    w.prepare(op::write, 0, 2048);
    std::fill(w.mem.begin(), w.mem.end(), std::byte{0x5A});
    a.prepare(op::read, 0, 1024);
    b.prepare(op::read, 1024, 1024);
    poison(a);
    poison(b);
    d.submit(w.b); // occupies the only tag, so a and b queue and merge
    d.submit(a.b);
    d.submit(b.b);
    hd.complete_next();
    REQUIRE(w.status == errc::ok);
    REQUIRE(hd.held() == 1);
    REQUIRE(hd.held_bio(0).length == 2048);
    hd.complete_next(errc::ok, 1536); // only the first 512 bytes arrived
    CHECK(a.status == errc::ok);
    CHECK(b.status == errc::ok);
    CHECK(a.residual == 0);
    CHECK(b.residual == 0);
    CHECK(count_of(a, std::byte{0x5A}, 0, 512) == 512);
    CHECK(count_of(a, std::byte{0}, 512, 1024) == 512);
    CHECK(count_of(b, std::byte{0}, 0, 1024) == 1024);
  }
  SECTION("writes and errors are passed on unchanged") {
    dispatcher<faulty_ram, policies<zero_fill_short_reads>> d{rig.dev};
    probe w;
    w.prepare(op::write, 4096, 2048);
    d.submit(w.b);
    CHECK(w.status == errc::ok);
    CHECK(w.residual == 1536);
    held_device hd;
    dispatcher<held_device, policies<zero_fill_short_reads>> dh{hd};
    probe r;
    r.prepare(op::read, 0, 1024);
    poison(r);
    dh.submit(r.b);
    hd.complete_next(errc::media_error, 512);
    CHECK(r.status == errc::media_error);
    CHECK(r.residual == 512);
    CHECK(count_of(r, std::byte{0xEE}, 0, 1024) == 1024);
  }
  SECTION("a residual beyond the request is clamped before zero-filling") {
    held_device hd;
    dispatcher<held_device, policies<zero_fill_short_reads>> d{hd};
    probe r, e;
    r.prepare(op::read, 0, 1024);
    e.prepare(op::read, 4096, 1024);
    poison(r);
    d.submit(r.b);
    d.submit(e.b);
    hd.complete_next(errc::ok, 99999);
    hd.complete_next(errc::io_error, 99999);
    CHECK(r.status == errc::ok);
    CHECK(r.residual == 0);
    CHECK(count_of(r, std::byte{0}, 0, 1024) == 1024);
    CHECK(e.status == errc::io_error);
    CHECK(e.residual == 1024);
  }
}

TEST_CASE("timeouts: a request the device never returns keeps its tag; drain waits for it until "
          "abandon_timed_out() gives it back") {
  held_device dev;
  dispatcher<held_device, policies<tags<2>, timeout<10>, manual_clock>> d{dev};
  probe lost, other;
  lost.prepare(op::read, 0, 512);
  other.prepare(op::read, 4096, 512);
  d.submit(lost.b);
  d.clock().advance(10);
  d.poll();
  CHECK(lost.status == errc::timed_out);
  d.submit(other.b);
  dev.complete_at(1); // `other` finishes; `lost` stays at the device
  CHECK(other.status == errc::ok);
  int idle_calls = 0;
  d.drain([](void* c) noexcept { ++*static_cast<int*>(c); }, &idle_calls);
  for (int i = 0; i < 100; ++i) {
    d.clock().advance(10);
    d.poll();
  }
  // The rule: the tag is the device's until it answers, so the drain cannot
  // close, however long we wait.
  CHECK(d.state() == dispatch_state::draining);
  CHECK(d.in_flight() == 1);
  CHECK(idle_calls == 0);
  CHECK_FALSE(d.idle());
  // The device is reset: it will never answer. Giving the tag back closes.
  CHECK(d.abandon_timed_out() == 1);
  CHECK(d.state() == dispatch_state::closed);
  CHECK(idle_calls == 1);
  CHECK(d.in_flight() == 0);
  CHECK(d.idle());
  CHECK(lost.completions == 1);
  CHECK(d.abandon_timed_out() == 0);
  // Both tags work again.
  d.resume();
  probe a, b;
  a.prepare(op::read, 0, 512);
  b.prepare(op::read, 4096, 512);
  d.submit(a.b);
  d.submit(b.b);
  CHECK(dev.held() == 3); // the abandoned request, never to be completed, and two new ones
  dev.complete_at(2);
  dev.complete_at(1);
  CHECK(a.status == errc::ok);
  CHECK(b.status == errc::ok);
  CHECK(d.idle());
}

TEST_CASE("abandon_timed_out: a late answer already delivered (deferred) is collected, not "
          "abandoned; live requests are untouched") {
  held_device dev;
  dispatcher<held_device, policies<tags<3>, timeout<10>, manual_clock, deferred_completion>> d{dev};
  probe answered, lost, live;
  answered.prepare(op::read, 0, 512);
  lost.prepare(op::read, 4096, 512);
  live.prepare(op::read, 8192, 512);
  d.submit(answered.b);
  d.submit(lost.b);
  d.clock().advance(10);
  d.poll();
  d.submit(live.b);
  CHECK(answered.status == errc::timed_out);
  CHECK(lost.status == errc::timed_out);
  dev.complete_at(0);                // `answered`'s late completion, queued for poll()
  CHECK(d.abandon_timed_out() == 1); // only `lost`
  CHECK(d.in_flight() == 1);         // `live`
  CHECK(dev.held() == 2);
  dev.complete_at(1);
  d.poll();
  CHECK(live.status == errc::ok);
  CHECK(answered.completions == 1);
  CHECK(d.idle());
}

TEST_CASE("after path loss a reserved request is reissued at once, ahead of shared requests held "
          "back by the active limit") {
  held_device dev;
  // Two shared tags, active limit 2, restart only when all are back; one reserved tag.
  dispatcher<held_device, policies<tags<3, 2, 0, 1>, counters>> d{dev};
  probe a, c, r;
  a.prepare(op::read, 0, 512);
  c.prepare(op::read, 4096, 512);
  r.prepare(op::read, 8192, 512);
  d.submit(a.b);
  d.submit(c.b);
  d.submit_reserved(r.b);
  REQUIRE(dev.held() == 3);
  dev.complete_at(0, errc::no_device); // a: requeued (issued before r)
  dev.complete_at(1, errc::no_device); // r: requeued behind a
  REQUIRE(d.requeued() == 2);
  dev.clear_log();
  d.notify_path_restored();
  // c still holds the shared lane above low water: a waits, r must not.
  REQUIRE(dev.log().size() == 1);
  CHECK(dev.log()[0].offset == 8192);
  CHECK(d.requeued() == 1);
  dev.complete_at(1);
  CHECK(r.status == errc::ok);
  dev.complete_all(); // c; then a goes out and completes
  CHECK(c.status == errc::ok);
  CHECK(a.status == errc::ok);
  CHECK(a.completions == 1);
  CHECK(d.idle());
}

namespace {
// A held device that declares, as a RAM disk does, that it never completes a
// bio with no_device, so a dispatcher over it leaves out path-loss handling;
// the test then breaks that promise to see what comes of it.
class pathless_device : public held_device {
public:
  using promises_of = pathless_device;
  static constexpr bool may_lose_path = false;
};
} // namespace

static_assert(detail::may_lose_path<held_device>);
static_assert(detail::may_lose_path<faulty_device<ram_device>>);
static_assert(!detail::may_lose_path<pathless_device>);
static_assert(!detail::may_lose_path<ram_device>);
static_assert(!detail::may_lose_path<static_ram_device<4096>>);

TEST_CASE("may_lose_path = false: no path-loss handling; a no_device anyway is passed on once") {
  pathless_device dev;
  dispatcher<pathless_device, policies<tags<2>, counters>> d{dev};
  std::vector<int> order;
  auto p = submit_n(d, 3, &order);
  REQUIRE(dev.held() == 2);
  dev.complete_next(errc::no_device);
  // Not requeued: completed at once with the device's status, and the path
  // is not considered down, so the queued bio goes out in its place.
  CHECK(p[0]->completions == 1);
  CHECK(p[0]->status == errc::no_device);
  CHECK(p[0]->residual == 512);
  CHECK_FALSE(d.path_down());
  CHECK(d.requeued() == 0);
  CHECK(dev.held() == 2);
  CHECK(d.stats().get().requeues == 0);
  // A fail-fast bio is issued like any other.
  probe ff;
  ff.prepare(op::read, 65536, 512, &order, bio_flags::fail_fast);
  d.submit(ff.b);
  dev.complete_all();
  CHECK(ff.completions == 1);
  CHECK(ff.status == errc::ok);
  CHECK(order == std::vector<int>{0, 1, 2, 0});
  for (std::size_t i = 1; i < 3; ++i) CHECK(p[i]->status == errc::ok);
  CHECK(dev.submitted() == 4); // each bio reached the device once
  CHECK(d.idle());
}

namespace {
// A user's wrapper derived from a RAM disk that replaces `submit`, here to
// report a lost path once. It inherits the disk's promises (no path to
// lose, a constant geometry, submit_validated), but they are not its own:
// the dispatcher must call its `submit` and requeue.
class flaky_disk : public static_ram_device<8192> {
public:
  void submit(bio& b) noexcept {
    ++submits;
    if (lose_next) {
      lose_next = false;
      complete(b, errc::no_device);
      return;
    }
    static_ram_device<8192>::submit(b);
  }
  bool lose_next = true;
  int submits = 0;
};
class wrapped_ram : public ram_device {
public:
  using ram_device::ram_device;
};
} // namespace

static_assert(!constant_geometry_device<flaky_disk>);
static_assert(!validated_submit_device<flaky_disk>);
static_assert(detail::may_lose_path<flaky_disk>);
static_assert(detail::may_lose_path<wrapped_ram>);
static_assert(constant_geometry_device<static_ram_device<8192>>);

TEST_CASE("a device derived from a RAM disk does not inherit its promises") {
  static flaky_disk disk;
  dispatcher<flaky_disk, policies<fifo, tags<2>, static_pool<2>>> d{disk};
  alignas(64) static std::byte buf[512];
  std::memcpy(disk.memory(), "promise", 8);
  bio b(op::read, 0, 512, buf);
  d.submit(b);
  // The override ran (not an inherited submit_validated) and lost the path:
  // the bio is requeued, not completed with no_device.
  CHECK(disk.submits == 1);
  CHECK_FALSE(b.completed());
  CHECK(d.path_down());
  CHECK(d.requeued() == 1);
  d.notify_path_restored();
  CHECK(disk.submits == 2);
  REQUIRE(b.completed());
  CHECK(b.status() == errc::ok);
  CHECK(std::memcmp(buf, "promise", 8) == 0);
  CHECK(d.idle());
}

TEST_CASE("the same device without the declaration requeues on no_device") {
  held_device dev;
  dispatcher<held_device, policies<tags<2>, counters>> d{dev};
  std::vector<int> order;
  auto p = submit_n(d, 3, &order);
  dev.complete_next(errc::no_device);
  CHECK(p[0]->completions == 0);
  CHECK(d.path_down());
  CHECK(d.requeued() == 1);
  CHECK(d.stats().get().requeues == 1);
  d.notify_path_restored();
  dev.complete_all();
  // Bio 1 was still in flight; bio 0 went out again after it.
  CHECK(order == std::vector<int>{1, 0, 2});
  for (auto& x : p) CHECK(x->status == errc::ok);
  CHECK(dev.submitted() == 4);
}

TEST_CASE("retry<0>: no_device is never retried and the path never goes down") {
  held_device dev;
  dispatcher<held_device, policies<tags<2>, retry<0>, counters>> d{dev};
  std::vector<int> order;
  auto p = submit_n(d, 3, &order);
  dev.complete_next(errc::no_device);
  CHECK(p[0]->completions == 1);
  CHECK(p[0]->status == errc::no_device);
  CHECK_FALSE(d.path_down());
  CHECK(d.requeued() == 0);
  CHECK(dev.held() == 2); // the queued bio went out in its place
  probe ff;
  ff.prepare(op::read, 65536, 512, &order, bio_flags::fail_fast);
  d.submit(ff.b);
  dev.complete_all();
  CHECK(ff.status == errc::ok);
  CHECK(order == std::vector<int>{0, 1, 2, 0}); // the fail-fast probe has id 0
  CHECK(d.stats().get().requeues == 0);
}
