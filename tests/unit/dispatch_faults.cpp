// Transport loss, retries, fail-fast, media errors and timeouts (xdisk
// invariants; blk-mq / SPDK reconnect knobs).
#include "dispatch_support.hpp"

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
