// Queue disciplines (ordering, barrier respect, bounded starvation) and
// back-merge (FreeBSD blkback behaviours 1-5, 9, 14).
#include "dispatch_support.hpp"

#include <algorithm>
#include <biostack/dispatch/dispatcher.hpp>
#include <biostack/queue/deadline.hpp>
#include <biostack/queue/elevator.hpp>
#include <biostack/queue/fifo.hpp>
#include <biostack/queue/priority_classes.hpp>
#include <biostack/queue/read_priority.hpp>
#include <biostack/stats/counters.hpp>
#include <catch2/catch.hpp>
#include <initializer_list>
#include <memory>

using namespace biostack;
using dispatch_test::held_device;
using dispatch_test::probe;

namespace {
struct bench {
  std::vector<std::unique_ptr<probe>> p;
  probe& add(op o, std::uint64_t block, bio_flags f = bio_flags::none, std::uint8_t prio = 1,
             std::uint32_t len = 512) {
    p.push_back(std::make_unique<probe>());
    p.back()->id = static_cast<int>(p.size() - 1);
    p.back()->prepare(o, block * 512, o == op::flush ? 0 : len, nullptr, f);
    p.back()->b.priority = prio;
    return *p.back();
  }
};
// Offsets (in blocks) in device-submission order, completing one at a time.
std::vector<std::uint64_t> drain_order(held_device& dev) {
  while (dev.held() != 0) dev.complete_next();
  std::vector<std::uint64_t> v;
  for (const auto& e : dev.log()) v.push_back(e.operation == op::flush ? 9999 : e.offset / 512);
  return v;
}
} // namespace

TEST_CASE("fifo: arrival order") {
  held_device dev;
  dispatcher<held_device, policies<tags<1>, fifo>> d{dev};
  bench b;
  d.plug();
  for (std::uint64_t o : std::initializer_list<std::uint64_t>{5, 1, 9, 3})
    d.submit(b.add(op::read, o).b);
  d.unplug();
  CHECK(drain_order(dev) == std::vector<std::uint64_t>{5, 1, 9, 3});
}

TEST_CASE("elevator: C-LOOK ascending from the head, then wrap to the lowest") {
  held_device dev;
  dispatcher<held_device, policies<tags<1>, elevator<64>>> d{dev};
  bench b;
  d.plug();
  for (std::uint64_t o : std::initializer_list<std::uint64_t>{50, 10, 90, 30, 70})
    d.submit(b.add(op::read, o).b);
  d.unplug(); // 10 goes out first
  dev.complete_next();
  dev.complete_next();             // 30 done, 50 in flight (head at 50)
  d.submit(b.add(op::read, 20).b); // behind the head: next sweep
  d.submit(b.add(op::read, 60).b); // ahead: this sweep
  CHECK(drain_order(dev) == std::vector<std::uint64_t>{10, 30, 50, 60, 70, 90, 20});
}

TEST_CASE("elevator: the bounded sweep stops a stream ahead of the head starving a bio behind it") {
  held_device dev;
  dispatcher<held_device, policies<tags<1>, elevator<4>>> d{dev};
  bench b;
  d.submit(b.add(op::read, 100).b); // head at 100
  d.submit(b.add(op::read, 0).b);   // behind: waits for the next sweep
  std::uint64_t next = 101;
  int served_after = -1;
  for (int i = 0; i < 50 && served_after < 0; ++i) {
    d.submit(b.add(op::read, next++).b); // always just ahead of the head
    dev.complete_next();
    if (b.p[1]->completions == 1) served_after = i;
  }
  CHECK(served_after >= 0);
  CHECK(served_after <= 5); // one sweep of at most 4 more, then the wrap
  drain_order(dev);
}

TEST_CASE(
    "deadline: reads preferred, sorted within a batch; writes_starved bounds write starvation") {
  held_device dev;
  dispatcher<held_device, policies<tags<1>, deadline<1000, 100000, 2, 2>, manual_clock>> d{dev};
  bench b;
  d.plug();
  d.submit(b.add(op::write, 5).b);
  for (std::uint64_t o : std::initializer_list<std::uint64_t>{40, 10, 30, 20, 60, 50})
    d.submit(b.add(op::read, o).b);
  d.unplug();
  // Two read batches of 2 in sorted order, then the starved write, then reads.
  CHECK(drain_order(dev) == std::vector<std::uint64_t>{10, 20, 30, 40, 5, 50, 60});
}

TEST_CASE("deadline: an expired read goes first, ahead of the sorted order") {
  held_device dev;
  dispatcher<held_device, policies<tags<1>, deadline<100, 1000, 2, 4>, manual_clock>> d{dev};
  bench b;
  d.submit(b.add(op::read, 50).b); // in flight; head moves past 50
  d.submit(b.add(op::read, 0).b);  // arrives at t = 0
  d.clock().advance(200);          // ... and expires
  d.submit(b.add(op::read, 60).b);
  d.submit(b.add(op::read, 70).b);
  CHECK(drain_order(dev) == std::vector<std::uint64_t>{50, 0, 60, 70});
  // Without expiry the same arrivals go in sorted order from the head.
  held_device dev2;
  dispatcher<held_device, policies<tags<1>, deadline<100000, 100000, 2, 4>, manual_clock>> d2{dev2};
  bench b2;
  d2.submit(b2.add(op::read, 50).b);
  d2.submit(b2.add(op::read, 0).b);
  d2.clock().advance(200);
  d2.submit(b2.add(op::read, 60).b);
  d2.submit(b2.add(op::read, 70).b);
  CHECK(drain_order(dev2) == std::vector<std::uint64_t>{50, 60, 70, 0});
}

TEST_CASE("read_priority: reads first; after ReadBurst reads, WriteBurst writes (C-LOOK)") {
  held_device dev;
  dispatcher<held_device, policies<tags<1>, read_priority<2, 1>>> d{dev};
  bench b;
  d.plug();
  d.submit(b.add(op::write, 100).b);
  d.submit(b.add(op::write, 50).b);
  for (std::uint64_t o : std::initializer_list<std::uint64_t>{1, 2, 3, 4, 5})
    d.submit(b.add(op::read, o).b);
  d.unplug();
  CHECK(drain_order(dev) == std::vector<std::uint64_t>{1, 2, 50, 3, 4, 100, 5});
}

TEST_CASE("priority_classes: urgent class first, burst quotas bound the others' starvation") {
  held_device dev;
  dispatcher<held_device, policies<tags<1>, priority_classes<2, 1>>> d{dev};
  bench b;
  d.plug();
  for (std::uint64_t o : std::initializer_list<std::uint64_t>{10, 11, 12, 13, 14})
    d.submit(b.add(op::read, o, bio_flags::none, 0).b);
  for (std::uint64_t o : std::initializer_list<std::uint64_t>{20, 21, 22})
    d.submit(b.add(op::read, o, bio_flags::none, 7).b);
  d.unplug();
  CHECK(drain_order(dev) == std::vector<std::uint64_t>{10, 11, 20, 12, 13, 21, 14, 22});
}

// A barrier (flush or ordered bio) splits the stream in two: nothing crosses
// it in either direction, it goes out only once everything before it has
// completed, and nothing after it goes out before it completes.
template <class Q>
void barrier_case(bio_flags barrier_flag) {
  held_device dev;
  dispatcher<held_device, policies<tags<4>, Q, manual_clock>> d{dev};
  bench b;
  d.plug();
  d.submit(b.add(op::write, 30).b);
  d.submit(b.add(op::write, 10).b);
  if (barrier_flag == bio_flags::none)
    d.submit(b.add(op::flush, 0).b);
  else
    d.submit(b.add(op::write, 40, barrier_flag).b);
  d.submit(b.add(op::write, 20).b);
  d.submit(b.add(op::write, 0).b);
  d.unplug();
  CHECK(dev.held() == 2); // the barrier waits for the two before it
  dev.complete_next();
  CHECK(dev.held() == 1);
  dev.complete_next();
  REQUIRE(dev.held() == 1); // the barrier alone
  CHECK(dev.held_bio(0).offset == (barrier_flag == bio_flags::none ? 0u : 40u * 512));
  dev.complete_next();
  CHECK(dev.held() == 2);
  const auto order = drain_order(dev);
  REQUIRE(order.size() == 5);
  std::vector<std::uint64_t> before{order[0], order[1]}, after{order[3], order[4]};
  std::sort(before.begin(), before.end());
  std::sort(after.begin(), after.end());
  CHECK(before == std::vector<std::uint64_t>{10, 30});
  CHECK(order[2] == (barrier_flag == bio_flags::none ? 9999u : 40u));
  CHECK(after == std::vector<std::uint64_t>{0, 20});
  for (auto& x : b.p) CHECK(x->completions == 1);
}

TEMPLATE_TEST_CASE("barriers: flushes and ordered bios are respected by every discipline", "", fifo,
                   elevator<64>, (deadline<10, 10>), read_priority<>, (priority_classes<4, 1>)) {
  barrier_case<TestType>(bio_flags::none);
  barrier_case<TestType>(bio_flags::ordered);
}

// ---- back-merge (blkback coalescing) ------------------------------------------

using merging = dispatcher<held_device, policies<tags<1>, back_merge<4>, counters>>;

TEST_CASE("blkback 1: two contiguous reads become one device I/O; both complete OK, in order") {
  held_device dev;
  merging d{dev};
  std::vector<int> order;
  probe a, c;
  a.prepare(op::read, 0, 512, &order);
  a.id = 1;
  c.prepare(op::read, 512, 1024, &order);
  c.id = 2;
  d.plug();
  d.submit(a.b);
  d.submit(c.b);
  d.unplug();
  REQUIRE(dev.held() == 1);
  CHECK(dev.held_bio(0).length == 1536);
  dev.complete_all();
  CHECK(order == std::vector<int>{1, 2});
  CHECK(a.status == errc::ok);
  CHECK(c.status == errc::ok);
  CHECK(d.stats().get().merges == 1);
  CHECK(d.stats().get().completed == 2);
}

TEST_CASE("blkback 2 and 4: a non-contiguous bio, or merging off, gives separate device I/Os") {
  held_device dev;
  merging d{dev};
  bench b;
  d.plug();
  d.submit(b.add(op::read, 0).b);
  d.submit(b.add(op::read, 2).b); // gap of one block
  d.unplug();
  dev.complete_all();
  CHECK(dev.log().size() == 2);
  held_device dev2;
  dispatcher<held_device, policies<tags<1>, no_merge>> d2{dev2};
  bench b2;
  d2.plug();
  d2.submit(b2.add(op::read, 0).b);
  d2.submit(b2.add(op::read, 1).b);
  d2.unplug();
  dev2.complete_all();
  CHECK(dev2.log().size() == 2);
}

TEST_CASE("blkback 3: read then contiguous write, or write then ordered write, never merge") {
  held_device dev;
  merging d{dev};
  bench b;
  d.plug();
  d.submit(b.add(op::read, 0).b);
  d.submit(b.add(op::write, 1).b);
  d.submit(b.add(op::write, 2, bio_flags::ordered).b);
  d.submit(b.add(op::write, 3, bio_flags::fua).b); // flags differ from the ordered one too
  d.unplug();
  dev.complete_all();
  CHECK(dev.log().size() == 4);
  CHECK(d.stats().get().merges == 0);
}

TEST_CASE("blkback 5: the segment budget closes a request; the next one starts") {
  held_device dev;
  merging d{dev}; // at most 4 memory pieces per request
  bench b;
  d.plug();
  for (std::uint64_t o = 0; o < 6; ++o) d.submit(b.add(op::read, o).b);
  d.unplug();
  dev.complete_all();
  REQUIRE(dev.log().size() == 2);
  CHECK(dev.log()[0].length == 4 * 512);
  CHECK(dev.log()[1].length == 2 * 512);
}

TEST_CASE("merge: the device's max_transfer also bounds a merged request") {
  held_device dev;
  device_geometry g = dev.geometry();
  g.max_transfer = 1024;
  dev.set_geometry(g);
  merging d{dev};
  bench b;
  d.plug();
  for (std::uint64_t o = 0; o < 3; ++o) d.submit(b.add(op::read, o).b);
  d.unplug();
  dev.complete_all();
  REQUIRE(dev.log().size() == 2);
  CHECK(dev.log()[0].length == 1024);
}

TEST_CASE("blkback 9: one failure of a merged request fails every member") {
  held_device dev;
  merging d{dev};
  bench b;
  d.plug();
  for (std::uint64_t o = 0; o < 3; ++o) d.submit(b.add(op::write, o).b);
  d.unplug();
  REQUIRE(dev.held() == 1);
  dev.complete_next(errc::io_error);
  for (auto& x : b.p) {
    CHECK(x->completions == 1);
    CHECK(x->status == errc::io_error);
  }
}

TEST_CASE("blkback 14: a short merged transfer completes OK with the residual at the end") {
  held_device dev;
  merging d{dev};
  bench b;
  d.plug();
  for (std::uint64_t o = 0; o < 3; ++o) d.submit(b.add(op::read, o).b);
  d.unplug();
  dev.complete_next(errc::ok, 768);
  CHECK(b.p[0]->residual == 0);
  CHECK(b.p[1]->residual == 256);
  CHECK(b.p[2]->residual == 512);
  for (auto& x : b.p) CHECK(x->status == errc::ok);
}

TEST_CASE("merge: merged writes land in the right place; data reads back") {
  held_device dev;
  merging d{dev};
  bench b;
  d.plug();
  for (std::uint64_t o = 0; o < 3; ++o) {
    probe& p = b.add(op::write, 8 + o);
    for (auto& x : p.mem) x = static_cast<std::byte>(0x40 + o);
    d.submit(p.b);
  }
  d.unplug();
  dev.complete_all();
  CHECK(dev.log().size() == 1);
  probe r;
  r.prepare(op::read, 8 * 512, 1536);
  d.submit(r.b);
  dev.complete_all();
  for (std::size_t i = 0; i < r.mem.size(); ++i)
    REQUIRE(r.mem[i] == static_cast<std::byte>(0x40 + i / 512));
}
