// Allocation policies and shortages: a shortage delays, never loses or
// reorders (xbuf), and poll() restarts the queue even with nothing in flight
// (SPDK #3141). Reserved tags keep a stacked layer going (SPDK #3710).
#include "dispatch_support.hpp"

#include <biostack/alloc/reserve_pool.hpp>
#include <biostack/alloc/static_pool.hpp>
#include <biostack/dispatch/dispatcher.hpp>
#include <biostack/hosted/heap_pool.hpp>
#include <biostack/split/max_transfer.hpp>
#include <biostack/stats/counters.hpp>
#include <catch2/catch.hpp>
#include <memory>

using namespace biostack;
using dispatch_test::held_device;
using dispatch_test::probe;

TEST_CASE("static_pool: N objects, then shortage; LIFO reuse") {
  static_object_pool<int, 3> p;
  int* a = p.allocate();
  int* b = p.allocate();
  int* c = p.allocate();
  CHECK((a && b && c));
  CHECK(p.allocate() == nullptr);
  p.deallocate(b);
  CHECK(p.available() == 1);
  CHECK(p.allocate() == b);
}

TEST_CASE("reserve_pool: reserve first, refill from upstream when empty, surplus goes back") {
  using pool = reserve_object_pool<int, 2, static_object_pool<int, 5>>;
  pool p;
  CHECK(p.reserved() == 2);
  CHECK(p.upstream().available() == 3);
  int* a = p.allocate();
  int* b = p.allocate();
  CHECK(p.reserved() == 0);
  CHECK(p.upstream().available() == 3); // the reserve was used, upstream untouched
  int* c = p.allocate();                // empty reserve: refilled (2), one handed out
  CHECK(c != nullptr);
  CHECK(p.reserved() == 1);
  CHECK(p.upstream().available() == 1);
  p.deallocate(a); // reserve below its size: kept
  CHECK(p.reserved() == 2);
  p.deallocate(b); // surplus: upstream
  p.deallocate(c);
  CHECK(p.reserved() == 2);
  CHECK(p.upstream().available() == 3);
}

TEST_CASE("heap_pool: limit gives real shortages") {
  heap_object_pool<int, 2> p;
  int* a = p.allocate();
  int* b = p.allocate();
  CHECK(p.allocate() == nullptr);
  p.deallocate(a);
  int* c = p.allocate();
  CHECK(c != nullptr);
  p.deallocate(b);
  p.deallocate(c);
  CHECK(p.outstanding() == 0);
}

TEST_CASE(
    "xbuf / blkback 11: a shortage is counted, never loses or reorders a request; it only delays") {
  held_device dev;
  // 8 tags but only 3 request objects: the pool is the bottleneck.
  dispatcher<held_device, policies<tags<8>, static_pool<3>, counters>> d{dev};
  std::vector<int> order;
  std::vector<std::unique_ptr<probe>> p;
  for (int i = 0; i < 10; ++i) {
    p.push_back(std::make_unique<probe>());
    p.back()->id = i;
    p.back()->prepare(op::read, static_cast<std::uint64_t>((10 - i) * 512), 512, &order);
    d.submit(p.back()->b);
  }
  CHECK(dev.held() == 3);
  CHECK(d.stats().get().shortages >= 1);
  while (dev.held() != 0) dev.complete_next();
  REQUIRE(order.size() == 10);
  for (int i = 0; i < 10; ++i) CHECK(order[static_cast<std::size_t>(i)] == i);
  for (std::size_t i = 0; i < dev.log().size(); ++i)
    CHECK(dev.log()[i].offset == static_cast<std::uint64_t>((10 - static_cast<int>(i)) * 512));
}

TEST_CASE(
    "SPDK #3141 / xbuf: with the pool empty and nothing in flight, poll() restarts the queue") {
  held_device dev;
  dispatcher<held_device, policies<tags<4>, reserve_pool<1, static_pool<2>>>> d{dev};
  // Someone else (a sibling layer sharing the memory) holds every object.
  auto& pool = d.pool();
  dispatch_request<0>* taken[2] = {pool.allocate(), pool.allocate()};
  REQUIRE(taken[0] != nullptr);
  REQUIRE(taken[1] != nullptr);
  REQUIRE(pool.allocate() == nullptr);
  probe p;
  p.prepare(op::read, 0, 512);
  d.submit(p.b);
  CHECK(dev.held() == 0);
  CHECK(d.in_flight() == 0);
  CHECK(d.queued() == 1);
  d.poll(); // still nothing to allocate: stays queued, not lost
  CHECK(d.queued() == 1);
  pool.deallocate(taken[0]);
  pool.deallocate(taken[1]);
  // No completion will ever come; the kick must come from poll().
  CHECK(dev.held() == 0);
  d.poll();
  CHECK(dev.held() == 1);
  dev.complete_all();
  CHECK(p.completions == 1);
  CHECK(p.status == errc::ok);
}

TEST_CASE("split pieces come from the allocation policy; a shortage mid-split resumes") {
  held_device dev(1 << 20);
  dispatcher<held_device, policies<tags<8>, static_pool<2>, max_transfer<1024>>> d{dev};
  probe big, after;
  big.prepare(op::write, 0, 4096);
  after.prepare(op::write, 8192, 512);
  d.submit(big.b);
  d.submit(after.b);
  CHECK(dev.held() == 2); // two of four pieces: the pool is dry
  dev.complete_next();
  CHECK(dev.held() == 2); // the freed object carried piece 3, not `after`
  dev.complete_all();
  CHECK(big.completions == 1);
  CHECK(after.completions == 1);
  REQUIRE(dev.log().size() == 5);
  CHECK(dev.log()[4].offset == 8192);
}

TEST_CASE("hosted heap_pool as the dispatcher's allocation policy") {
  held_device dev;
  dispatcher<held_device, policies<tags<8>, heap_pool<4>>> d{dev};
  std::vector<std::unique_ptr<probe>> p;
  for (int i = 0; i < 6; ++i) {
    p.push_back(std::make_unique<probe>());
    p.back()->prepare(op::read, static_cast<std::uint64_t>(i) * 512, 512);
    d.submit(p.back()->b);
  }
  CHECK(dev.held() == 4);
  CHECK(d.pool().outstanding() == 4);
  dev.complete_all();
  for (auto& x : p) CHECK(x->status == errc::ok);
  CHECK(d.pool().outstanding() == 0);
}

TEST_CASE("SPDK #3710: reserved tags serve a stacked layer while the shared tags are exhausted") {
  held_device dev;
  dispatcher<held_device, policies<tags<2, 2, 1, 1>, static_pool<2>>> d{dev};
  std::vector<std::unique_ptr<probe>> p;
  for (int i = 0; i < 5; ++i) {
    p.push_back(std::make_unique<probe>());
    p.back()->prepare(op::read, static_cast<std::uint64_t>(i) * 512, 512);
    d.submit(p.back()->b);
  }
  REQUIRE(dev.held() == 2);
  probe meta;
  meta.prepare(op::write, 65536, 512);
  d.submit_reserved(meta.b);
  CHECK(dev.held() == 3); // went out at once on the reserved tag
  CHECK(dev.held_bio(2).offset == 65536);
  probe meta2;
  meta2.prepare(op::write, 65536 + 512, 512);
  d.submit_reserved(meta2.b);
  CHECK(dev.held() == 3); // one reserved tag: the second waits for it
  dev.complete_at(2);
  CHECK(meta.status == errc::ok);
  CHECK(dev.held() == 3);
  CHECK(dev.held_bio(2).offset == 65536 + 512);
  dev.complete_all();
  for (auto& x : p) CHECK(x->completions == 1);
  CHECK(meta2.completions == 1);
  CHECK(d.idle());
}

TEST_CASE("reserved lane: never split; a bio the split policy would cut is refused") {
  held_device dev;
  dispatcher<held_device, policies<tags<2, 2, 1, 1>, max_transfer<512>>> d{dev};
  probe big, ok;
  big.prepare(op::read, 0, 1024);
  ok.prepare(op::read, 0, 512);
  d.submit_reserved(big.b);
  CHECK(big.status == errc::invalid_argument);
  CHECK(dev.submitted() == 0);
  d.submit_reserved(ok.b);
  dev.complete_all();
  CHECK(ok.status == errc::ok);
  CHECK(ok.completions == 1);
}
