// The async twins of the cache's barriers: flush_block_async,
// wait_all_async and sync_async (single context, bare-metal configuration),
// driven only by completions and poll(): held completions, out-of-order
// releases and injected errors from faulty_device, the order of requests on
// a recording_device, power cuts, and the dispatcher's deferred completions.
// The blocking forms are built on them; their consistency is checked here too.
// Also get_async, modify_async and interlock_async, the twins of get, modify
// and interlock.
#include "cache_support.hpp"
#include <biostack/cache/replacement/lru.hpp>
#include <biostack/completion/deferred.hpp>
#include <biostack/dispatch/dispatcher.hpp>
#include <biostack/queue/elevator.hpp>
#include <catch2/catch.hpp>

#include <optional>
#include <vector>

using namespace biostack;
using namespace cache_test;

namespace {
constexpr std::uint32_t bs = 4096;
enum : std::uint8_t { LATE = 0, EARLY = 1 };
// EARLY reaches stable storage first (stage 0), LATE after the barrier.
using two_stages = ordered_classes<class_spec<1>, class_spec<0>>;

template <class... More>
using acache =
    buffer_cache<rig_device,
                 policies<static_storage<16, bs>, lru, poll_wait<10000>, two_stages, More...>>;

template <class C>
void dirty(C& c, std::uint64_t lbn, std::uint8_t cls, std::uint32_t seed) {
  REQUIRE(dirty_block(c, lbn, cls, seed));
}

// Dirties each block with its own number as pattern, even blocks EARLY.
template <class C>
void dirty_blocks(C& c, std::initializer_list<std::uint64_t> lbns) {
  for (const std::uint64_t b : lbns)
    dirty(c, b, b % 2 == 0 ? EARLY : LATE, static_cast<std::uint32_t>(b));
}

// Records each call of a completion callback.
struct probe {
  int calls = 0;
  errc status = errc::cancelled;
  std::vector<int>* order = nullptr; // shared log of which probe finished when
  int id = 0;
};
void on_done(void* ctx, errc st) noexcept {
  auto& p = *static_cast<probe*>(ctx);
  ++p.calls;
  p.status = st;
  if (p.order != nullptr) p.order->push_back(p.id);
}

// Polls `dev` until `p` has been called (at most `limit` polls); returns the
// number of polls it took.
template <class Dev>
int poll_until(Dev& dev, const probe& p, int limit = 10000) {
  int n = 0;
  while (p.calls == 0 && n < limit) {
    dev.poll();
    ++n;
  }
  return n;
}

// Block `lbn`'s next write fails with `e`.
void fail_write_once(rig_t& r, std::uint64_t lbn, errc e) {
  REQUIRE(r.faulty.add_rule(fault_rule::fail(e).only(op::write).range(lbn * bs, bs).times(1)) ==
          errc::ok);
}

std::uint64_t block_of(const request_record& e) { return e.offset / bs; }
bool is_early(std::uint64_t lbn) { return lbn % 2 == 0; }
} // namespace

TEST_CASE("async twins: nothing outstanding completes inline, exactly once") {
  rig_t r;
  auto c = quiet_cache<acache<>>(r.dev);
  probe p, w, f;
  c->sync_async(&on_done, &p);
  c->wait_all_async(&on_done, &w);
  c->flush_block_async(3, &on_done, &f); // not cached
  for (const probe* x : {&p, &w, &f}) {
    CHECK(x->calls == 1);
    CHECK(x->status == errc::ok);
  }
  CHECK(r.writes() + r.flushes() == 0);
  // Over a synchronous device every write and the barrier complete inside the call.
  dirty_blocks(*c, {2, 1});
  probe q;
  c->sync_async(&on_done, &q);
  CHECK(q.calls == 1);
  CHECK(q.status == errc::ok);
  CHECK(r.writes() == 2);
  CHECK(r.flushes() == 2);
  CHECK(has_pattern(r.media(1, bs), bs, 1));
  CHECK(has_pattern(r.media(2, bs), bs, 2));
  for (int i = 0; i < 5; ++i) r.dev.poll();
  CHECK(p.calls == 1);
  CHECK(q.calls == 1);
}

TEST_CASE("sync_async never waits: held writes finish only through poll(), callback once") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(
              fault_rule::delay(2).ops_mask(op_bit(op::write) | op_bit(op::flush)).always()) ==
          errc::ok);
  auto c = quiet_cache<acache<>>(r.dev);
  for (std::uint32_t b = 0; b < 3; ++b) dirty(*c, 2 * b, EARLY, b);
  probe p;
  c->sync_async(&on_done, &p);
  CHECK(p.calls == 0);
  CHECK(c->in_flight() == 3);
  CHECK(c->dirty_count() == 3); // dirty until the writes complete
  CHECK(r.flushes() == 0);
  const int polls = poll_until(r.dev, p);
  CHECK(polls > 1);
  CHECK(p.calls == 1);
  CHECK(p.status == errc::ok);
  CHECK(c->dirty_count() == 0);
  CHECK(r.flushes() == 1);
  for (int i = 0; i < 10; ++i) r.dev.poll();
  CHECK(p.calls == 1);
}

TEST_CASE("sync_async: stages in order, each followed by a device flush barrier") {
  rig_t r;
  REQUIRE(
      r.faulty.add_rule(
          fault_rule::delay(1000000).ops_mask(op_bit(op::write) | op_bit(op::flush)).always()) ==
      errc::ok);
  r.faulty.set_release_order(release_order::lifo);
  auto c = quiet_cache<acache<>>(r.dev);
  dirty_blocks(*c, {1, 2, 3, 4, 6});
  probe p;
  c->sync_async(&on_done, &p);
  // Release the held requests one at a time, newest first; after each step
  // nothing may have overtaken a barrier.
  int steps = 0;
  while (p.calls == 0 && steps < 100) {
    const auto& log = r.dev.entries();
    std::size_t first_flush = log.size();
    for (std::size_t k = 0; k < log.size(); ++k) {
      const auto& e = log[k];
      if (e.operation == op::flush) {
        if (first_flush == log.size()) first_flush = k;
        // Submitted only once every earlier write had completed.
        for (std::size_t j = 0; j < k; ++j) CHECK(log[j].completed);
        continue;
      }
      INFO("request " << k << " block " << block_of(e));
      if (is_early(block_of(e))) {
        CHECK(k < first_flush);
      } else {
        // A LATE write only after the EARLY barrier completed.
        REQUIRE(first_flush < k);
        CHECK(log[first_flush].completed);
      }
    }
    REQUIRE(r.faulty.release_at(0) == errc::ok);
    ++steps;
  }
  CHECK(p.calls == 1);
  CHECK(p.status == errc::ok);
  std::vector<op> ops;
  for (const auto& e : r.dev.entries()) ops.push_back(e.operation);
  CHECK(ops == std::vector<op>{op::write, op::write, op::write, op::flush, op::write, op::write,
                               op::flush});
  CHECK(steps == 7);
  CHECK(c->dirty_count() == 0);
}

TEST_CASE("sync_async: a failed stage ends the sync; later stages stay dirty and unwritten") {
  rig_t r;
  fail_write_once(r, 2, errc::media_error);
  auto c = quiet_cache<acache<>>(r.dev);
  dirty_blocks(*c, {1, 2, 4});
  probe p;
  c->sync_async(&on_done, &p);
  CHECK(p.calls == 1);
  CHECK(p.status == errc::media_error);
  CHECK(r.writes() == 2);  // both EARLY buffers, no LATE one
  CHECK(r.flushes() == 1); // block 4 reached the device: make it stable anyway
  CHECK(c->inspect(2).dirty);
  CHECK(c->inspect(1).dirty);
  CHECK_FALSE(c->inspect(4).dirty);
  CHECK(c->sync() == errc::ok); // the blocking form: the same operation, now clean
  CHECK(has_pattern(r.media(1, bs), bs, 1));
  CHECK(has_pattern(r.media(2, bs), bs, 2));
}

TEST_CASE("sync_async: the first error wins (completion order, then the barrier's)") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay(1000000).only(op::write).always()) == errc::ok);
  fail_write_once(r, 2, errc::media_error);
  fail_write_once(r, 4, errc::no_device);
  REQUIRE(r.faulty.add_rule(fault_rule::fail(errc::io_error).only(op::flush).times(1)) == errc::ok);
  auto c = quiet_cache<acache<>>(r.dev);
  dirty_blocks(*c, {2, 4, 6});
  probe p;
  c->sync_async(&on_done, &p);
  CHECK(p.calls == 0);
  // Block 4's write fails first, then block 2's; the flush fails last.
  REQUIRE(r.faulty.release_at(1) == errc::ok);
  REQUIRE(r.faulty.release_at(0) == errc::ok);
  CHECK(p.calls == 0);
  REQUIRE(r.faulty.release_at(0) == errc::ok); // block 6: ok; the barrier follows
  CHECK(p.calls == 1);
  CHECK(p.status == errc::no_device);
  CHECK(r.flushes() == 1);
  CHECK(c->inspect(2).dirty);
  CHECK(c->inspect(4).dirty);
  CHECK_FALSE(c->inspect(6).dirty);
}

TEST_CASE("sync_async over faulty_device: errors, out-of-order releases by poll(), data kept") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(
              fault_rule::delay(3).ops_mask(op_bit(op::write) | op_bit(op::flush)).always()) ==
          errc::ok);
  fail_write_once(r, 5, errc::media_error);
  r.faulty.set_release_order(release_order::random);
  r.faulty.seed(7);
  auto c =
      quiet_cache<acache<io_slots<2>>>(r.dev); // fewer slots than writes: resumes on completions
  for (std::uint32_t b = 1; b <= 7; b += 2) dirty(*c, b, LATE, b);
  for (std::uint32_t b = 0; b <= 6; b += 2) dirty(*c, b, EARLY, b);
  probe p;
  c->sync_async(&on_done, &p);
  CHECK(p.calls == 0);
  CHECK(c->in_flight() == 2);
  poll_until(r.dev, p);
  CHECK(p.calls == 1);
  CHECK(p.status == errc::media_error);
  CHECK(r.faulty.stats().delayed >= 8);
  // Every EARLY buffer and every LATE one but block 5 reached the medium.
  for (std::uint32_t b = 0; b <= 7; ++b) {
    INFO("block " << b);
    CHECK(c->inspect(b).dirty == (b == 5));
    if (b != 5) CHECK(has_pattern(r.media(b, bs), bs, b));
  }
  {
    auto h = c->get(5);
    REQUIRE(h);
    CHECK(has_pattern(h->data(), bs, 5)); // the failed write kept its data
  }
  for (int i = 0; i < 20; ++i) r.dev.poll();
  CHECK(p.calls == 1);
  probe q;
  c->sync_async(&on_done, &q);
  poll_until(r.dev, q);
  CHECK(q.status == errc::ok);
  CHECK(has_pattern(r.media(5, bs), bs, 5));
}

TEST_CASE("sync_async reported ok: a power cut loses nothing; without it, it would") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(
              fault_rule::delay(2).ops_mask(op_bit(op::write) | op_bit(op::flush)).always()) ==
          errc::ok);
  r.faulty.set_release_order(release_order::random);
  auto c = quiet_cache<acache<io_slots<3>>>(r.dev);
  for (std::uint32_t b = 0; b < 8; ++b) dirty(*c, b, is_early(b) ? EARLY : LATE, 100 + b);
  probe p;
  c->sync_async(&on_done, &p);
  poll_until(r.dev, p);
  REQUIRE(p.calls == 1);
  REQUIRE(p.status == errc::ok);
  // A write that completed but was never followed by a flush is lost.
  dirty(*c, 9, LATE, 9);
  REQUIRE(c->flush_block(9) == errc::ok);
  probe w;
  c->wait_all_async(&on_done, &w);
  poll_until(r.dev, w);
  REQUIRE(w.status == errc::ok);
  REQUIRE(has_pattern(r.media(9, bs), bs, 9));
  REQUIRE(r.faulty.power_cut() == errc::ok);
  CHECK_FALSE(has_pattern(r.media(9, bs), bs, 9));
  for (std::uint32_t b = 0; b < 8; ++b) {
    INFO("block " << b);
    CHECK(has_pattern(r.media(b, bs), bs, 100 + b));
  }
}

TEST_CASE("sync_async over the dispatcher with deferred completions progresses only in poll()") {
  using faulty_t = faulty_device<ram_device&>;
  using disp_t = dispatcher<faulty_t, policies<elevator<16>, deferred_completion, tags<4>>>;
  using cache_t = buffer_cache<
      disp_t, policies<static_storage<12, bs>, lru, io_slots<3>, poll_wait<100000>, two_stages>>;
  std::unique_ptr<std::byte[]> mem(new std::byte[256 * 1024]());
  ram_device ram(mem.get(), 256 * 1024, 512);
  faulty_t faulty(ram);
  disp_t disp(faulty);
  auto c = quiet_cache<cache_t>(disp);
  for (std::uint32_t b = 0; b < 10; ++b) dirty(*c, b, is_early(b) ? EARLY : LATE, 40 + b);
  probe p;
  c->sync_async(&on_done, &p);
  CHECK(p.calls == 0);
  CHECK(c->in_flight() == 3); // as many writes as slots; the rest wait for completions
  CHECK(c->dirty_count() == 10);
  // Nothing moves without poll().
  for (int i = 0; i < 3; ++i) {
    CHECK(c->in_flight() == 3);
    CHECK(c->stats().writebacks == 0);
  }
  const int polls = poll_until(disp, p);
  CHECK(polls > 4); // five EARLY writes on three slots, a barrier, then the LATE ones
  CHECK(p.calls == 1);
  CHECK(p.status == errc::ok);
  CHECK(c->dirty_count() == 0);
  CHECK(c->in_flight() == 0);
  CHECK(c->stats().writebacks == 10);
  for (std::uint32_t b = 0; b < 10; ++b) CHECK(has_pattern(mem.get() + b * bs, bs, 40 + b));
  while (disp.poll() != 0) {
  }
  CHECK(p.calls == 1);
}

TEST_CASE("sync and sync_async agree on a dirty buffer held by a handle or pinned") {
  rig_t r;
  auto c = quiet_cache<acache<>>(r.dev);
  for (int how = 0; how < 2; ++how) {
    dirty(*c, 2, EARLY, 2);
    dirty(*c, 4, EARLY, 4);
    auto h = c->get(2);
    REQUIRE(h);
    const auto writes = r.writes();
    errc st = errc::cancelled;
    if (how == 0) {
      st = c->sync();
    } else {
      probe p;
      c->sync_async(&on_done, &p);
      CHECK(p.calls == 1);
      st = p.status;
    }
    CHECK(st == errc::no_resources); // not waited for: its owner is this very context
    CHECK(r.writes() == writes + 1); // block 4 was written all the same
    CHECK(c->inspect(2).dirty);
    CHECK_FALSE(c->inspect(4).dirty);
    c->release(std::move(*h));
    CHECK(c->sync() == errc::ok);
  }
}

TEST_CASE("sync_async runs one sync at a time, in order; a callback may start another") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay(1).only(op::write).always()) == errc::ok);
  auto c = quiet_cache<acache<>>(r.dev);
  std::vector<int> order;
  probe a{0, errc::cancelled, &order, 1}, b{0, errc::cancelled, &order, 2};
  struct chain {
    acache<>* c;
    probe inner;
    int outer_calls = 0;
  } ch{c.get(), {0, errc::cancelled, &order, 3}, 0};
  dirty(*c, 2, EARLY, 2);
  c->sync_async(&on_done, &a);
  dirty(*c, 4, EARLY, 4);
  c->sync_async(&on_done, &b);
  CHECK(r.writes() == 1); // b waits for a: block 4 is not written yet
  c->sync_async(
      [](void* ctx, errc) noexcept {
        auto& x = *static_cast<chain*>(ctx);
        ++x.outer_calls;
        dirty(*x.c, 6, EARLY, 6); // from inside a completion
        x.c->sync_async(&on_done, &x.inner);
      },
      &ch);
  CHECK(a.calls + b.calls + ch.outer_calls == 0);
  poll_until(r.dev, ch.inner);
  CHECK(order == std::vector<int>{1, 2, 3});
  CHECK(a.calls == 1);
  CHECK(b.calls == 1);
  CHECK(ch.outer_calls == 1);
  CHECK(ch.inner.calls == 1);
  CHECK(ch.inner.status == errc::ok);
  CHECK(c->dirty_count() == 0);
}

TEST_CASE("async operations beyond the table answer no_resources at once; others unaffected") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay(1000000).only(op::write).always()) == errc::ok);
  auto c = quiet_cache<acache<async_ops<1>>>(r.dev);
  dirty(*c, 2, EARLY, 2);
  probe a, b, w, f;
  c->sync_async(&on_done, &a);
  CHECK(a.calls == 0);
  c->sync_async(&on_done, &b);
  c->wait_all_async(&on_done, &w);
  c->flush_block_async(2, &on_done, &f);
  CHECK(b.calls == 1);
  CHECK(b.status == errc::no_resources);
  CHECK(w.status == errc::no_resources);
  CHECK(f.status == errc::no_resources);
  r.faulty.release_all();
  poll_until(r.dev, a);
  CHECK(a.calls == 1);
  CHECK(a.status == errc::ok);
  probe again;
  c->wait_all_async(&on_done, &again); // the entry is free again
  CHECK(again.calls == 1);
  CHECK(again.status == errc::ok);
}

TEST_CASE("wait_all_async: earlier writes only; the first write error") {
  rig_t r;
  auto c = quiet_cache<acache<>>(r.dev);
  REQUIRE(r.faulty.add_rule(fault_rule::delay(1000000).only(op::write).range(9 * bs, bs)) ==
          errc::ok);
  REQUIRE(r.faulty.add_rule(fault_rule::delay(1000000).only(op::write).range(3 * bs, bs)) ==
          errc::ok);
  fail_write_once(r, 3, errc::media_error);
  dirty(*c, 3, EARLY, 3);
  REQUIRE(c->flush_block(3) == errc::ok); // held, fails when released
  probe p;
  c->wait_all_async(&on_done, &p);
  dirty(*c, 9, EARLY, 9);
  REQUIRE(c->flush_block(9) == errc::ok); // later: held forever, must not delay p
  for (int i = 0; i < 5; ++i) r.dev.poll();
  CHECK(p.calls == 0);
  REQUIRE(r.faulty.release_at(0) == errc::ok); // block 3
  CHECK(p.calls == 1);
  CHECK(p.status == errc::media_error);
  CHECK(c->in_flight() == 1); // block 9 still running
  CHECK(c->inspect(3).dirty);
  r.faulty.release_all();
  CHECK(p.calls == 1);
}

// The writes a barrier waits for are found by sequence, not by I/O slot: an
// older write running on a higher slot holds it back, a newer one on a
// reused lower slot does not. One write class: a second sync stage would
// wait for the newer write too, as it should.
TEST_CASE("wait_all_async and sync_async: older writes on any I/O slot, newer ones not") {
  using one_stage =
      buffer_cache<rig_device,
                   policies<static_storage<16, bs>, lru, poll_wait<10000>, io_slots<4>>>;
  for (const bool sync : {false, true}) {
    CAPTURE(sync);
    rig_t r;
    auto c = quiet_cache<one_stage>(r.dev);
    for (const std::uint64_t b : {1u, 3u, 5u})
      REQUIRE(r.faulty.add_rule(fault_rule::delay(1000000).only(op::write).range(b * bs, bs)) ==
              errc::ok);
    dirty(*c, 1, 0, 1);
    dirty(*c, 3, 0, 3);
    REQUIRE(c->flush_block(1) == errc::ok);      // slot 0
    REQUIRE(c->flush_block(3) == errc::ok);      // slot 1
    REQUIRE(r.faulty.release_at(0) == errc::ok); // block 1: slot 0 is free again
    probe p;
    if (sync)
      c->sync_async(&on_done, &p);
    else
      c->wait_all_async(&on_done, &p);
    dirty(*c, 5, 0, 5);
    REQUIRE(c->flush_block(5) == errc::ok); // newer, on slot 0
    for (int i = 0; i < 5; ++i) r.dev.poll();
    CHECK(p.calls == 0); // block 3 still runs
    REQUIRE(r.faulty.held() == 2);
    REQUIRE(r.faulty.release_at(0) == errc::ok); // block 3, the older write
    for (int i = 0; i < 5; ++i) r.dev.poll();
    CHECK(p.calls == 1); // block 5 still held: not waited for
    CHECK(p.status == errc::ok);
    CHECK(r.faulty.held() == 1);
    r.faulty.release_all();
    for (int i = 0; i < 5; ++i) r.dev.poll();
    CHECK(p.calls == 1);
    CHECK(c->in_flight() == 0);
  }
}

TEST_CASE("flush_block_async: clean or absent inline; waits for I/O and for a slot") {
  rig_t r;
  auto c = quiet_cache<acache<io_slots<1>>>(r.dev);
  {
    fill(r.mem.get() + 8 * bs, bs, 8);
    auto h = c->read(8);
    REQUIRE(h);
  }
  probe clean, absent;
  c->flush_block_async(8, &on_done, &clean);
  c->flush_block_async(99, &on_done, &absent);
  CHECK(clean.calls == 1);
  CHECK(absent.calls == 1);
  CHECK(clean.status == errc::ok);
  CHECK(absent.status == errc::ok);
  CHECK(r.writes() == 0);

  // Block 2's first write is held and fails: the flush waits for it, then
  // writes the still dirty buffer itself.
  REQUIRE(r.faulty.add_rule(fault_rule::delay(1000000).only(op::write).times(2)) == errc::ok);
  REQUIRE(r.faulty.add_rule(fault_rule::fail(errc::media_error).only(op::write).times(1)) ==
          errc::ok);
  dirty_blocks(*c, {2, 4});
  REQUIRE(c->flush_block(2) == errc::ok);
  probe busy, noslot;
  c->flush_block_async(2, &on_done, &busy);
  c->flush_block_async(4, &on_done, &noslot); // the only slot is taken
  for (int i = 0; i < 5; ++i) r.dev.poll();
  CHECK(busy.calls == 0);
  CHECK(noslot.calls == 0);
  CHECK(r.writes() == 1);
  REQUIRE(r.faulty.release_at(0) == errc::ok); // block 2 fails: dirty again
  // In order: block 2 written again (held), block 4 waits for the slot.
  CHECK(busy.calls == 1);
  CHECK(busy.status == errc::ok);
  CHECK(noslot.calls == 0);
  CHECK(r.writes() == 2);
  REQUIRE(r.faulty.release_at(0) == errc::ok);
  CHECK(noslot.calls == 1);
  CHECK(noslot.status == errc::ok);
  CHECK(r.writes() == 3);
  CHECK(c->wait_all() == errc::ok);
  CHECK(c->dirty_count() == 0);
  CHECK(has_pattern(r.media(2, bs), bs, 2));
  CHECK(has_pattern(r.media(4, bs), bs, 4));

  // A handle owns the buffer: not waited for, in both forms.
  dirty(*c, 6, EARLY, 6);
  auto h = c->get(6);
  REQUIRE(h);
  probe owned;
  c->flush_block_async(6, &on_done, &owned);
  CHECK(owned.calls == 1);
  CHECK(owned.status == errc::no_resources);
  CHECK(c->flush_block(6) == errc::no_resources);
  CHECK(r.writes() == 3);
}

// Queued (the default) and in place (async_ops<0>): the same statuses.
TEMPLATE_TEST_CASE("blocking barriers give up with timed_out when the device stops completing", "",
                   async_ops<4>, async_ops<0>) {
  rig_t r;
  using C = buffer_cache<rig_device, policies<static_storage<8, bs>, lru, poll_wait<50>, two_stages,
                                              io_slots<1>, TestType>>;
  auto c = quiet_cache<C>(r.dev);
  REQUIRE(r.faulty.add_rule(fault_rule::delay(1000000).only(op::write).always()) == errc::ok);
  dirty_blocks(*c, {2, 4});
  REQUIRE(c->flush_block(2) == errc::ok);
  CHECK(c->wait_all() == errc::timed_out);
  CHECK(c->flush_block(4) == errc::timed_out); // no slot ever frees
  CHECK(c->sync() == errc::timed_out);
  CHECK(c->inspect(4).dirty);
  r.faulty.clear_rules();
  r.faulty.release_all();
  // Nothing of the withdrawn operations is left behind.
  CHECK(c->sync() == errc::ok);
  CHECK(c->dirty_count() == 0);
  CHECK(has_pattern(r.media(4, bs), bs, 4));
}

namespace {
// Records each call of a get_async callback and keeps the handle it got.
template <class C>
struct get_probe {
  int calls = 0;
  errc status = errc::cancelled;
  typename C::handle h;
  static void done(void* ctx, errc st, typename C::handle h) noexcept {
    auto& p = *static_cast<get_probe*>(ctx);
    ++p.calls;
    p.status = st;
    p.h = std::move(h);
  }
};
} // namespace

TEST_CASE("cache: get_async runs its callback once, inline when the buffer is free now") {
  rig_t r;
  using C = acache<>;
  auto c = quiet_cache<C>(r.dev);
  dirty(*c, 4, LATE, 4);
  get_probe<C> hit;
  c->get_async(4, {}, &get_probe<C>::done, &hit);
  CHECK(hit.calls == 1); // before get_async returned
  CHECK(hit.status == errc::ok);
  REQUIRE(hit.h);
  CHECK(hit.h.lbn() == 4);
  CHECK(hit.h.dirty());
  get_probe<C> miss;
  c->get_async(9, {}, &get_probe<C>::done, &miss);
  CHECK(miss.calls == 1);
  REQUIRE(miss.h);
  CHECK_FALSE(miss.h.valid());
  // Failures known at once are reported inline, once.
  get_probe<C> busy, bad, mismatch;
  c->get_async(4, {.flags = get_flags::nowait}, &get_probe<C>::done, &busy);
  CHECK(busy.calls == 1);
  CHECK(busy.status == errc::no_resources);
  c->get_async(4, {.size = 100}, &get_probe<C>::done, &bad);
  CHECK(bad.calls == 1);
  CHECK(bad.status == errc::misaligned);
  dirty(*c, 5, LATE, 5); // idle, so the size check is reached at once
  c->get_async(5, {.size = bs / 2, .flags = get_flags::size_match}, &get_probe<C>::done, &mismatch);
  CHECK(mismatch.calls == 1);
  CHECK(mismatch.status == errc::invalid_argument);
  CHECK_FALSE(busy.h);
  hit.h.release();
  miss.h.release();
}

TEST_CASE("cache: get_async waits for a handle's release and runs from it, once") {
  rig_t r;
  using C = acache<>;
  auto c = quiet_cache<C>(r.dev);
  auto owner = c->get(4);
  REQUIRE(owner);
  owner->mark_valid();
  get_probe<C> p;
  c->get_async(4, {}, &get_probe<C>::done, &p);
  CHECK(p.calls == 0);
  for (int k = 0; k < 5; ++k) r.dev.poll(); // polling alone does not free it
  CHECK(p.calls == 0);
  // The blocking form in this single context refuses instead of waiting.
  CHECK(c->get(4).error() == errc::no_resources);
  owner->release();
  CHECK(p.calls == 1); // from the release
  CHECK(p.status == errc::ok);
  REQUIRE(p.h);
  CHECK(p.h.valid());
  p.h.release();
  CHECK(p.calls == 1);
  CHECK(c->get(4)); // the blocking form: free again
}

TEST_CASE("cache: get_async waits for I/O on the buffer and runs from its completion") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay(1000000).only(op::write).always()) == errc::ok);
  using C = acache<>;
  auto c = quiet_cache<C>(r.dev);
  {
    auto h = c->get(5);
    REQUIRE(h);
    fill(h->data(), bs, 5);
    REQUIRE(c->write_async(std::move(*h)) == errc::ok);
  }
  get_probe<C> p;
  c->get_async(5, {}, &get_probe<C>::done, &p);
  CHECK(p.calls == 0);
  r.faulty.release_all();
  CHECK(p.calls == 1); // from the write's completion
  CHECK(p.status == errc::ok);
  REQUIRE(p.h);
  CHECK(p.h.valid());
  CHECK(has_pattern(p.h.data(), bs, 5));
}

TEST_CASE("cache: get_async of another size writes the dirty buffer first and reports failure") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay(1000000).only(op::write).always()) == errc::ok);
  using C = acache<>;
  auto c = quiet_cache<C>(r.dev);
  dirty(*c, 6, LATE, 6);
  get_probe<C> p;
  c->get_async(6, {.size = bs / 2}, &get_probe<C>::done, &p);
  CHECK(p.calls == 0);
  CHECK(r.writes() == 1); // the write-first is in flight
  r.faulty.release_all();
  CHECK(p.calls == 1);
  CHECK(p.status == errc::ok);
  REQUIRE(p.h);
  CHECK(p.h.size() == bs / 2);
  CHECK(has_pattern(r.media(6, bs), bs, 6));
  p.h.release();

  r.faulty.clear_rules();
  REQUIRE(r.faulty.add_rule(fault_rule::fail(errc::media_error).only(op::write).times(1)) ==
          errc::ok);
  dirty(*c, 7, LATE, 7);
  get_probe<C> failed;
  c->get_async(7, {.size = bs / 2}, &get_probe<C>::done, &failed);
  CHECK(failed.calls == 1);
  CHECK(failed.status == errc::media_error);
  CHECK_FALSE(failed.h);
  CHECK(c->inspect(7).dirty); // the data is kept
  CHECK(c->inspect(7).size == bs);
}

TEST_CASE("cache: get_async with the operation table full fails inline; pending ones all run") {
  rig_t r;
  using C = acache<async_ops<2>>;
  auto c = quiet_cache<C>(r.dev);
  auto owner = c->get(3);
  REQUIRE(owner);
  owner->mark_valid();
  get_probe<C> a, b, full;
  c->get_async(3, {}, &get_probe<C>::done, &a);
  c->get_async(3, {}, &get_probe<C>::done, &b);
  c->get_async(3, {}, &get_probe<C>::done, &full);
  CHECK(full.calls == 1);
  CHECK(full.status == errc::no_resources);
  CHECK(a.calls + b.calls == 0);
  owner->release();
  CHECK(a.calls == 1); // the oldest first
  CHECK(b.calls == 0);
  a.h.release(); // which lets the next one have it
  CHECK(b.calls == 1);
  CHECK(b.status == errc::ok);
  b.h.release();
  CHECK(a.calls == 1);
  CHECK(full.calls == 1);
}

namespace {
// Records each call of a modify_async / interlock_async callback and keeps
// what it got (move-only, not assignable: hence the optional).
template <class T>
struct guard_probe {
  int calls = 0;
  errc status = errc::cancelled;
  std::optional<T> held;
  static void done(void* ctx, errc st, T g) noexcept {
    auto& p = *static_cast<guard_probe*>(ctx);
    ++p.calls;
    p.status = st;
    p.held.emplace(std::move(g));
  }
};
// Block `lbn` cached, valid and held (so it may be modified).
template <class C>
void held_valid(C& c, std::uint64_t lbn) {
  auto h = c.get(lbn);
  REQUIRE(h);
  h->mark_valid();
  c.hold(*h);
}
} // namespace

TEST_CASE("cache: modify_async and interlock_async exclude each other, each called once") {
  rig_t r;
  using C = acache<>;
  using mprobe = guard_probe<C::modify_guard>;
  using iprobe = guard_probe<C::write_interlock>;
  auto c = quiet_cache<C>(r.dev);
  held_valid(*c, 2);
  mprobe m1;
  c->modify_async(2, get_flags::none, &mprobe::done, &m1);
  CHECK(m1.calls == 1); // inline: nothing to wait for
  CHECK(m1.status == errc::ok);
  CHECK(c->inspect(2).dirty);
  iprobe il;
  c->interlock_async(2, &iprobe::done, &il);
  CHECK(il.calls == 0);                                 // a modifier is active
  CHECK(c->interlock(2).error() == errc::no_resources); // blocking: single context
  m1.held.reset();                                      // the modification ends...
  CHECK(il.calls == 1);                                 // ...and the interlock runs from it
  CHECK(il.status == errc::ok);
  mprobe m2, m3;
  c->modify_async(2, get_flags::none, &mprobe::done, &m2);
  CHECK(m2.calls == 0); // under interlock
  c->modify_async(2, get_flags::nowait, &mprobe::done, &m3);
  CHECK(m3.calls == 1);
  CHECK(m3.status == errc::no_resources);
  CHECK(c->modify(2).error() == errc::no_resources); // blocking: single context
  il.held.reset();
  CHECK(m2.calls == 1);
  CHECK(m2.status == errc::ok);
  m2.held.reset();
  CHECK(il.calls == 1);
  CHECK(m3.calls == 1);
  mprobe bad;
  c->modify_async(9, get_flags::none, &mprobe::done, &bad); // not held
  CHECK(bad.calls == 1);
  CHECK(bad.status == errc::invalid_argument);
  c->drop(2);
}

TEST_CASE("cache: modify_async waits for a write in flight and runs from its completion") {
  rig_t r;
  REQUIRE(r.faulty.add_rule(fault_rule::delay(1000000).only(op::write).always()) == errc::ok);
  using C = acache<>;
  using mprobe = guard_probe<C::modify_guard>;
  auto c = quiet_cache<C>(r.dev);
  {
    auto h = c->get(3);
    REQUIRE(h);
    fill(h->data(), bs, 3);
    h->mark_valid();
    c->hold(*h);
    REQUIRE(c->write_async(std::move(*h)) == errc::ok);
  }
  mprobe m;
  c->modify_async(3, get_flags::none, &mprobe::done, &m);
  CHECK(m.calls == 0);
  r.faulty.release_all();
  CHECK(m.calls == 1);
  CHECK(m.status == errc::ok);
  CHECK(c->inspect(3).dirty); // dirty again: the modification came after the write
  m.held.reset();
  c->drop(3);
}
