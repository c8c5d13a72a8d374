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
  probe& add(op o, std::uint64_t block, bio_flags f = bio_flags::none,
             priority_t prio = priority::normal, std::uint32_t len = 512) {
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
    d.submit(b.add(op::read, o, bio_flags::none, priority::realtime).b);
  for (std::uint64_t o : std::initializer_list<std::uint64_t>{20, 21, 22})
    d.submit(b.add(op::read, o, bio_flags::none, 6).b); // past the last class: the last
  d.unplug();
  CHECK(drain_order(dev) == std::vector<std::uint64_t>{10, 11, 20, 12, 13, 21, 14, 22});
}

TEST_CASE("priority_classes: realtime, normal and idle are classes 0, 1 and 2; the rest clamp") {
  held_device dev;
  dispatcher<held_device, policies<tags<1>, priority_classes<1, 1, 1>>> d{dev};
  bench b;
  d.plug();
  d.submit(b.add(op::read, 1, bio_flags::none, priority::idle).b);
  d.submit(b.add(op::read, 2, bio_flags::none, priority::normal).b);
  d.submit(b.add(op::read, 3, bio_flags::none, priority::realtime).b);
  d.submit(b.add(op::read, 4, bio_flags::none, -100).b); // before the first class: the first
  d.submit(b.add(op::read, 5, bio_flags::none, 100).b);  // past the last class: the last
  d.submit(b.add(op::read, 6).b);                        // a default bio is normal
  d.unplug();
  // One dispatch per class per round, most urgent class first; the round
  // restarts when every class with work has used its quota.
  CHECK(drain_order(dev) == std::vector<std::uint64_t>{3, 2, 1, 4, 6, 5});
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

// ---- deadlines behind a barrier ---------------------------------------------------

TEST_CASE("deadline: a bio held behind a barrier keeps its submission time; expiry runs from "
          "submission, not from the barrier's release") {
  held_device dev;
  dispatcher<held_device, policies<tags<4>, deadline<10, 1000, 2, 4>, manual_clock>> d{dev};
  bench b;
  d.submit(b.add(op::read, 100).b); // in flight, so the barrier must wait
  d.submit(b.add(op::flush, 0).b);  // the barrier
  d.submit(b.add(op::read, 16).b);  // behind it, submitted at t = 0
  d.clock().advance(5);
  d.submit(b.add(op::read, 0).b); // behind it, submitted at t = 5
  d.clock().advance(6);           // t = 11: the first has expired, the second not
  dev.complete_next();            // the barrier goes out
  REQUIRE(dev.held() == 1);
  REQUIRE(dev.held_bio(0).operation == op::flush);
  dev.clear_log();
  dev.complete_next(); // the flush completes: both are released into the discipline
  // Expired, so the oldest goes first, ahead of the sorted order (0 then 16).
  CHECK(drain_order(dev) == std::vector<std::uint64_t>{16, 0});
}

// ---- shortages with every discipline ------------------------------------------

namespace {
// A mixed batch: reads and writes, offsets out of order, three priorities.
void submit_mixed(auto& d, bench& b) {
  const std::uint64_t offs[] = {40, 7, 90, 3, 55, 21, 70, 12, 64, 30};
  d.plug();
  for (std::size_t i = 0; i < std::size(offs); ++i) {
    const op o = i % 3 == 1 ? op::write : op::read;
    d.submit(
        b.add(o, offs[i], bio_flags::none, static_cast<priority_t>(static_cast<int>(i % 3) - 1)).b);
  }
  d.unplug();
}
} // namespace

TEMPLATE_TEST_CASE("shortage: with every discipline, a pool shortage delays but never reorders", "",
                   fifo, elevator<4>, (deadline<1000, 1000, 2, 2>), (read_priority<2, 1>),
                   (priority_classes<2, 1, 1>)) {
  // The order the discipline gives with one request at a time and plenty of
  // request objects ...
  held_device ref_dev;
  dispatcher<held_device, policies<tags<1>, TestType, static_pool<32>, manual_clock>> ref{ref_dev};
  bench rb;
  submit_mixed(ref, rb);
  const auto want = drain_order(ref_dev);
  REQUIRE(want.size() == 10);
  // ... is the order with plenty of tags but a single request object.
  held_device dev;
  dispatcher<held_device, policies<tags<8>, TestType, static_pool<1>, manual_clock, counters>> d{
      dev};
  bench b;
  submit_mixed(d, b);
  CHECK(dev.held() == 1);
  CHECK(d.stats().get().shortages >= 1);
  CHECK(drain_order(dev) == want);
  for (auto& x : b.p) CHECK(x->completions == 1);
  // And when every object is held elsewhere, nothing is issued until poll()
  // after they return; then still the same order.
  held_device dev2;
  dispatcher<held_device, policies<tags<8>, TestType, static_pool<1>, manual_clock>> d2{dev2};
  auto* taken = d2.pool().allocate();
  REQUIRE(taken != nullptr);
  bench b2;
  submit_mixed(d2, b2);
  CHECK(dev2.held() == 0);
  d2.pool().deallocate(taken);
  d2.poll();
  CHECK(dev2.held() == 1);
  CHECK(drain_order(dev2) == want);
}

// ---- barriers with reads and priorities ---------------------------------------------

TEMPLATE_TEST_CASE("barriers: reads and mixed priorities never cross a barrier (read_priority, "
                   "priority_classes)",
                   "", (read_priority<2, 1>), (priority_classes<2, 1, 1>)) {
  for (const bool flush : {true, false}) {
    held_device dev;
    dispatcher<held_device, policies<tags<8>, TestType, manual_clock>> d{dev};
    bench b;
    d.plug();
    d.submit(b.add(op::write, 30, bio_flags::none, priority::idle).b);
    d.submit(b.add(op::read, 10, bio_flags::none, priority::normal).b);
    d.submit(b.add(op::write, 5, bio_flags::none, priority::idle).b);
    if (flush)
      d.submit(b.add(op::flush, 0).b);
    else
      d.submit(b.add(op::write, 40, bio_flags::ordered, priority::idle).b);
    // After the barrier: urgent reads the discipline would rather serve first.
    d.submit(b.add(op::read, 20, bio_flags::none, priority::realtime).b);
    d.submit(b.add(op::read, 1, bio_flags::none, priority::realtime).b);
    d.submit(b.add(op::write, 50, bio_flags::none, priority::normal).b);
    d.unplug();
    CHECK(dev.held() == 3); // only what came before the barrier
    dev.complete_next();
    dev.complete_next();
    CHECK(dev.held() == 1); // the barrier waits for the last one before it
    dev.complete_next();
    REQUIRE(dev.held() == 1);
    CHECK(dev.held_bio(0).operation == (flush ? op::flush : op::write));
    CHECK(dev.held() == 1); // and nothing after it goes out before it completes
    dev.complete_next();
    CHECK(dev.held() == 3);
    const auto order = drain_order(dev);
    REQUIRE(order.size() == 7);
    std::vector<std::uint64_t> before(order.begin(), order.begin() + 3);
    std::vector<std::uint64_t> after(order.begin() + 4, order.end());
    std::sort(before.begin(), before.end());
    std::sort(after.begin(), after.end());
    CHECK(before == std::vector<std::uint64_t>{5, 10, 30});
    CHECK(order[3] == (flush ? 9999u : 40u));
    CHECK(after == std::vector<std::uint64_t>{1, 20, 50});
    for (auto& x : b.p) CHECK(x->completions == 1);
  }
}

// ---- starvation under a continuous stream ---------------------------------------------

namespace {
// One request at a time; four of the favoured kind always queued ahead, and
// a fresh one arriving with every completion. Returns after how many
// completions the victim completed (or `limit` + 1 if it never did).
template <class Q>
int victim_wait(op stream_op, priority_t stream_prio, op victim_op, priority_t victim_prio,
                int limit = 200) {
  held_device dev(16 << 20);
  dispatcher<held_device, policies<tags<1>, Q, manual_clock>> d{dev};
  bench b;
  std::uint64_t next = 100; // the stream runs ahead of the head; the victim is behind it
  d.plug();
  for (int i = 0; i < 5; ++i) d.submit(b.add(stream_op, next++, bio_flags::none, stream_prio).b);
  d.unplug();
  probe& victim = b.add(victim_op, 0, bio_flags::none, victim_prio);
  d.submit(victim.b);
  int waited = limit + 1;
  for (int i = 1; i <= limit; ++i) {
    dev.complete_next();
    if (victim.completions == 1) {
      waited = i;
      break;
    }
    d.submit(b.add(stream_op, next++, bio_flags::none, stream_prio).b);
  }
  while (dev.held() != 0) dev.complete_next();
  return waited;
}
} // namespace

TEST_CASE("starvation: under a continuous stream the other class waits a bounded number of "
          "dispatches") {
  // FIFO: served once the 4 queued ahead of it (and the one in flight) are done.
  CHECK(victim_wait<fifo>(op::read, priority::normal, op::read, priority::normal) == 6);
  // Deadline, reads streaming: once the read batch in progress (at most
  // FifoBatch = 2) and WritesStarved (2) more read batches have gone, a write
  // batch goes, even though no write has expired.
  {
    const int w = victim_wait<deadline<1000000, 1000000, 2, 2>>(op::read, priority::normal,
                                                                op::write, priority::normal);
    CHECK(w >= 2);
    CHECK(w <= 2 + 2 * 2 + 1);
  }
  // read_priority<ReadBurst 2, WriteBurst 1>: a write after at most 2 reads.
  {
    const int w =
        victim_wait<read_priority<2, 1>>(op::read, priority::normal, op::write, priority::normal);
    CHECK(w >= 2);
    CHECK(w <= 1 + 2 + 1);
  }
  // priority_classes<2, 1>: class 1 gets 1 of every 3 dispatches while class 0 streams.
  {
    const int w = victim_wait<priority_classes<2, 1>>(op::read, priority::realtime, op::read,
                                                      priority::normal);
    CHECK(w >= 2);
    CHECK(w <= 1 + 2 + 1);
  }
  // The check can fail: a discipline without a bound (strict read preference)
  // never serves the victim while reads keep coming.
  CHECK(victim_wait<read_priority<1000, 1>>(op::read, priority::normal, op::write, priority::normal,
                                            100) == 101);
}
