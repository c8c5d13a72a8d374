// Unit tests: fan-in of children into a parent, init_child, link_layer.
#include <algorithm>
#include <atomic>
#include <biostack/bio/chain.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <test_support.hpp>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace biostack;

namespace {

// Observes the parent: how often it completed and what had happened by then.
struct parent_probe {
  int calls = 0;
  bool end_called = false;       // set just before end_fan_in
  std::size_t children_done = 0; // children completed so far
  bool end_seen_at_completion = false;
  std::size_t children_done_at_completion = 0;
};

completion_action parent_cb(bio&, void* ctx) noexcept {
  auto* p = static_cast<parent_probe*>(ctx);
  ++p->calls;
  p->end_seen_at_completion = p->end_called;
  p->children_done_at_completion = p->children_done;
  return completion_action::proceed;
}

struct child_spec {
  errc status = errc::ok;
  std::uint32_t residual = 0;
};

// What the parent must end with when children complete in `order`: the first
// error in completion order wins, a short successful child counts as
// io_error, and residuals add up.
errc expected_status(const std::vector<child_spec>& specs, const std::vector<std::size_t>& order) {
  for (std::size_t i : order) {
    if (specs[i].status != errc::ok) return specs[i].status;
    if (specs[i].residual != 0) return errc::io_error;
  }
  return errc::ok;
}

// Runs one fan-in of `specs.size()` children of 512 bytes each. `events` is a
// permutation of 0..n, where n stands for end_fan_in and i < n for "child i
// completes". Children are added (and submitted) lazily in index order just
// before they are needed, so a child completing early completes inline during
// submission, before end_fan_in; the rest complete after it.
void run_fan_in(const std::vector<child_spec>& specs, const std::vector<std::size_t>& events) {
  const std::size_t n = specs.size();
  parent_probe probe;
  std::vector<std::byte> mem(512 * n);
  bio parent(op::read, 1 << 20, static_cast<std::uint32_t>(512 * n), mem.data(),
             completion{&parent_cb, &probe});
  std::vector<bio> children(n);

  begin_fan_in(parent);
  std::size_t added = 0;
  auto add_up_to = [&](std::size_t last) {
    for (; added <= last && added < n; ++added) {
      init_child(children[added], parent, static_cast<std::uint32_t>(512 * added), 512);
      add_child(parent, children[added]);
    }
  };
  std::vector<std::size_t> order; // children in completion order
  for (std::size_t ev : events) {
    REQUIRE(probe.calls == 0); // never before the last event
    REQUIRE_FALSE(parent.completed());
    if (ev == n) {
      add_up_to(n);
      probe.end_called = true;
      end_fan_in(parent);
    } else {
      add_up_to(ev);
      order.push_back(ev);
      ++probe.children_done;
      complete(children[ev], specs[ev].status, specs[ev].residual);
      REQUIRE(children[ev].completed());
    }
  }
  REQUIRE(added == n);
  REQUIRE(probe.calls == 1);
  REQUIRE(parent.completed());
  REQUIRE(probe.end_seen_at_completion);
  REQUIRE(probe.children_done_at_completion == n);
  REQUIRE(parent.pending() == 0);
  REQUIRE(parent.status() == expected_status(specs, order));
  std::uint32_t residual_sum = 0;
  for (const auto& s : specs) residual_sum += s.residual;
  REQUIRE(parent.residual() == residual_sum);
}

// Every permutation of n children plus end_fan_in, for each status pattern.
void all_orders(const std::vector<child_spec>& specs) {
  std::vector<std::size_t> events(specs.size() + 1);
  std::iota(events.begin(), events.end(), std::size_t{0});
  int perms = 0;
  do {
    run_fan_in(specs, events);
    ++perms;
  } while (std::next_permutation(events.begin(), events.end()));
  int factorial = 1;
  for (std::size_t i = 2; i <= events.size(); ++i) factorial *= static_cast<int>(i);
  REQUIRE(perms == factorial);
}

} // namespace

TEST_CASE("fan-in with zero children completes at end_fan_in with ok", "[chain]") {
  parent_probe probe;
  bio parent(op::write, 0, 4096, nullptr, completion{&parent_cb, &probe});
  begin_fan_in(parent);
  CHECK(parent.pending() == 1);
  CHECK(probe.calls == 0);
  end_fan_in(parent);
  CHECK(probe.calls == 1);
  CHECK(parent.completed());
  CHECK(parent.status() == errc::ok);
  CHECK(parent.residual() == 0);
}

TEST_CASE("pending() counts an open fan-in as one child more", "[chain]") {
  parent_probe probe;
  bio parent(op::read, 0, 2048, nullptr, completion{&parent_cb, &probe}), c1, c2;
  begin_fan_in(parent);
  init_child(c1, parent, 0, 1024);
  add_child(parent, c1);
  init_child(c2, parent, 1024, 1024);
  add_child(parent, c2);
  CHECK(parent.pending() == 3);
  complete(c1, errc::ok);
  CHECK(parent.pending() == 2);
  end_fan_in(parent);
  CHECK(parent.pending() == 1);
  CHECK_FALSE(parent.completed());
  complete(c2, errc::ok);
  CHECK(parent.pending() == 0);
  CHECK(probe.calls == 1);
}

TEST_CASE("fan-in with one child, every order", "[chain]") {
  all_orders({{errc::ok, 0}});
  all_orders({{errc::media_error, 512}});
  all_orders({{errc::ok, 100}}); // short without error: io_error
}

TEST_CASE("fan-in with three children, every order", "[chain]") {
  all_orders({{errc::ok, 0}, {errc::ok, 0}, {errc::ok, 0}});
  // Distinct errors: which one wins depends on the completion order.
  all_orders({{errc::io_error, 512}, {errc::media_error, 0}, {errc::timed_out, 256}});
  all_orders({{errc::ok, 0}, {errc::no_device, 512}, {errc::ok, 0}});
  // A short child racing an error.
  all_orders({{errc::ok, 0}, {errc::ok, 128}, {errc::integrity, 0}});
}

TEST_CASE("vfs_bio 7.25: three children, one short: parent completes once with io_error",
          "[chain]") {
  // Every order of start (end_fan_in) and the three children.
  all_orders({{errc::ok, 0}, {errc::ok, 512}, {errc::ok, 0}});
  // And the plain sequence spelt out: the parent waits for start and the last child.
  parent_probe probe;
  std::byte mem[1536];
  bio parent(op::read, 0, 1536, mem, completion{&parent_cb, &probe});
  bio c[3];
  begin_fan_in(parent);
  for (std::uint32_t i = 0; i < 3; ++i) {
    init_child(c[i], parent, 512 * i, 512);
    add_child(parent, c[i]);
  }
  complete(c[1], errc::ok, 512); // short
  complete(c[0], errc::ok);
  CHECK(probe.calls == 0);
  probe.end_called = true;
  end_fan_in(parent);
  CHECK(probe.calls == 0); // c[2] still out
  complete(c[2], errc::ok);
  CHECK(probe.calls == 1);
  CHECK(parent.status() == errc::io_error);
  CHECK(parent.residual() == 512);
}

TEST_CASE("fan-in with 1,000 children in seeded random orders", "[chain]") {
  constexpr std::size_t n = 1000;
  for (std::uint32_t seed = 1; seed <= 200; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    std::vector<child_spec> specs(n);
    // Half the seeds all succeed; the others sprinkle a few errors and
    // short transfers.
    if (seed % 2 == 0) {
      std::uniform_int_distribution<int> pick(0, 199);
      for (auto& s : specs) {
        const int r = pick(rng);
        if (r == 0)
          s.status = errc::io_error;
        else if (r == 1)
          s.status = errc::media_error;
        else if (r == 2)
          s.status = errc::no_device;
        else if (r == 3)
          s.residual = 512;
        if (s.status != errc::ok && r % 2 == 0) s.residual = 512;
      }
    }
    std::vector<std::size_t> events(n + 1);
    std::iota(events.begin(), events.end(), std::size_t{0});
    std::shuffle(events.begin(), events.end(), rng);
    // Make sure both extremes occur: end_fan_in first and last.
    if (seed == 1)
      std::rotate(events.begin(), std::find(events.begin(), events.end(), n), events.end());
    if (seed == 3) {
      auto it = std::find(events.begin(), events.end(), n);
      std::iter_swap(it, events.end() - 1);
    }
    run_fan_in(specs, events);
  }
}

TEST_CASE("init_child slices offset, memory offset, flags and priority", "[chain]") {
  std::byte mem[4096];
  segment segs[2] = {{mem, 2048}, {mem + 2048, 2048}};
  bio parent(op::write, 1 << 20, 2048, mem);
  parent.flags = bio_flags::fua | bio_flags::meta;
  parent.priority = priority::realtime;
  parent.mem_offset = 1024;
  parent.segments = segs;
  parent.segment_count = 2;
  parent.data = nullptr;

  {
    bio child;
    // Leftovers that init_child must clear.
    bio stale_parent;
    complete(child, errc::io_error, 77);
    child.parent = &stale_parent;
    child.context = &stale_parent;
    child.on_done.context = &stale_parent;
    child.hook.next = &stale_parent;
    child.hook.prev = &stale_parent;

    init_child(child, parent, 512, 1024);
    CHECK(child.operation == op::write);
    CHECK(child.offset == (1u << 20) + 512);
    CHECK(child.length == 1024);
    CHECK(child.mem_offset == 1024 + 512);
    CHECK(child.segments == &segs[0]);
    CHECK(child.segment_count == 2);
    CHECK(child.data == nullptr);
    CHECK(child.flags == (bio_flags::fua | bio_flags::meta));
    CHECK(child.priority == priority::realtime);
    CHECK(child.parent == nullptr);
    CHECK(child.context == nullptr);
    CHECK(child.on_done.fn == nullptr);
    CHECK(child.on_done.context == nullptr);
    CHECK(child.hook.next == nullptr);
    CHECK(child.hook.prev == nullptr);
    CHECK_FALSE(child.completed());
    CHECK(child.status() == errc::ok);
    CHECK(child.residual() == 0);
  }

  // The last byte exactly: allowed.
  bio tail;
  init_child(tail, parent, 2048 - 512, 512);
  CHECK(tail.offset == (1u << 20) + 1536);

  // Operations without data do not view memory at an offset.
  bio discard_parent(op::discard, 8192, 4096);
  discard_parent.mem_offset = 5;
  bio d;
  init_child(d, discard_parent, 1024, 512);
  CHECK(d.operation == op::discard);
  CHECK(d.offset == 8192 + 1024);
  CHECK(d.mem_offset == 0);
}

// The first address a bio's memory walk hands out, as a number (only
// compared, never touched).
static std::uintptr_t first_address(const bio& b) {
  std::uintptr_t first = 0;
  bool seen = false;
  for_each_piece(b, 0, b.length, [&](std::byte* p, std::uint32_t) noexcept {
    if (!seen) first = reinterpret_cast<std::uintptr_t>(p);
    seen = true;
  });
  return first;
}

TEST_CASE("init_child: a child starting 4 GiB or more into the parent's memory", "[chain]") {
  // mem_offset + delta past 2^32 cannot be said in a 32-bit mem_offset: the
  // child must name memory further in rather than wrap 4 GiB back.
  if (sizeof(void*) < 8) {
    SUCCEED("a 32-bit host has no memory past 4 GiB to address");
    return;
  }
  std::byte base[1];
  bio contiguous(op::read, 0, 0xE000'0000u, base);
  contiguous.mem_offset = 0xC000'0000u; // 3 GiB
  bio c1;
  init_child(c1, contiguous, 0x6000'0000u, 512); // at 4.5 GiB
  CHECK(first_address(c1) == reinterpret_cast<std::uintptr_t>(base) + 0x1'2000'0000u);
  bio c0;
  init_child(c0, contiguous, 512, 512); // the usual case keeps the parent's pointer
  CHECK(c0.data == base);
  CHECK(c0.mem_offset == 0xC000'0000u + 512);

  // Scatter-gather: two segments of almost 4 GiB each (the same bytes twice:
  // only their lengths are read while skipping), then a small one.
  std::byte tail[16];
  constexpr std::uint32_t huge = 0xFFFF'0000u;
  const segment segs[] = {{base, huge}, {base, huge}, {tail, 16}};
  bio sg(op::write, 0, 8 + huge + 16);
  sg.segments = segs;
  sg.segment_count = 3;
  sg.mem_offset = huge - 8; // the last 8 bytes of the first segment
  bio c2;
  init_child(c2, sg, 8 + huge + 4, 10);
  CHECK(first_address(c2) == reinterpret_cast<std::uintptr_t>(tail + 4));
  CHECK(c2.segments == &segs[2]);
  CHECK(c2.segment_count == 1);
  CHECK(c2.mem_offset == 4);

  // Operations without memory take none, whatever the delta.
  bio discard(op::discard, 0, 0xE000'0000u);
  discard.mem_offset = 0xC000'0000u;
  bio c3;
  init_child(c3, discard, 0x6000'0000u, 512);
  CHECK(c3.mem_offset == 0);
  CHECK(c3.data == nullptr);
}

TEST_CASE("init_child past the parent's length panics", "[chain][panic]") {
  CHECK(biostack_test::panics([] {
    bio p(op::read, 0, 1024), c;
    init_child(c, p, 512, 1024);
  }));
  CHECK(biostack_test::panics([] {
    bio p(op::read, 0, 1024), c;
    init_child(c, p, 2048, 0);
  }));
  // delta + len wrapping 2^32 must not sneak past the check.
  CHECK(biostack_test::panics([] {
    bio p(op::read, 0, 1024), c;
    init_child(c, p, 512, 0xFFFFFF00u);
  }));
  CHECK_FALSE(biostack_test::panics([] {
    bio p(op::read, 0, 1024), c;
    init_child(c, p, 0, 1024);
  }));
}

TEST_CASE("fan-in misuse panics", "[chain][panic]") {
  // add_child without begin_fan_in.
  CHECK(biostack_test::panics([] {
    bio p(op::read, 0, 1024), c;
    add_child(p, c);
  }));
  // begin_fan_in on a completed parent.
  CHECK(biostack_test::panics([] {
    bio p(op::read, 0, 1024);
    complete(p, errc::ok);
    begin_fan_in(p);
  }));
  // begin_fan_in on a parent whose fan-in is still open (children pending).
  CHECK(biostack_test::panics([] {
    bio p(op::read, 0, 1024);
    begin_fan_in(p);
    begin_fan_in(p);
  }));
  // end_fan_in twice: caught at the second call, whether or not children
  // are outstanding (otherwise the parent would complete early).
  CHECK(biostack_test::panics([] {
    bio p(op::read, 0, 1024);
    begin_fan_in(p);
    end_fan_in(p);
    end_fan_in(p);
  }));
  CHECK(biostack_test::panics([] {
    bio p(op::read, 0, 1024), c;
    begin_fan_in(p);
    init_child(c, p, 0, 512);
    add_child(p, c);
    end_fan_in(p);
    end_fan_in(p); // must panic here, before the parent completes early
    _exit(0);
  }));
  // add_child after end_fan_in: the fan-in is closed.
  CHECK(biostack_test::panics([] {
    bio p(op::read, 0, 1024), c1, c2;
    begin_fan_in(p);
    init_child(c1, p, 0, 512);
    add_child(p, c1);
    end_fan_in(p);
    init_child(c2, p, 512, 512);
    add_child(p, c2);
  }));
  // Control: the well-formed sequence does not panic.
  CHECK_FALSE(biostack_test::panics([] {
    bio p(op::read, 0, 1024), c;
    begin_fan_in(p);
    init_child(c, p, 0, 512);
    add_child(p, c);
    end_fan_in(p);
    complete(c, errc::ok);
  }));
}

TEST_CASE("link_layer: one-to-one layering", "[chain]") {
  parent_probe probe;
  std::byte mem[2048];
  bio upper(op::write, 4096, 2048, mem, completion{&parent_cb, &probe});
  upper.flags = bio_flags::ordered;
  upper.priority = priority::idle;
  upper.mem_offset = 0;
  bio lower;
  link_layer(upper, lower);
  CHECK(lower.operation == op::write);
  CHECK(lower.offset == 4096);
  CHECK(lower.length == 2048);
  CHECK(lower.data == &mem[0]);
  CHECK(lower.flags == bio_flags::ordered);
  CHECK(lower.priority == priority::idle);
  CHECK(lower.parent == &upper);
  CHECK(lower.on_done.fn == nullptr);
  CHECK(upper.pending() == 1);

  // A translating layer may move the lower request; the upper one keeps its own.
  lower.offset = 1 << 30;
  complete(lower, errc::ok, 512);
  CHECK(probe.calls == 1);
  CHECK(upper.completed());
  CHECK(upper.offset == 4096);
  // One-to-one: a short lower layer is passed up as a residual, not an error.
  CHECK(upper.status() == errc::ok);
  CHECK(upper.residual() == 512);
}

TEST_CASE("link_layer passes errors and chains several layers", "[chain]") {
  parent_probe probe;
  bio top(op::read, 0, 512, nullptr, completion{&parent_cb, &probe});
  bio mid, bottom;
  link_layer(top, mid);
  link_layer(mid, bottom);
  complete(bottom, errc::media_error);
  CHECK(mid.completed());
  CHECK(mid.status() == errc::media_error);
  CHECK(top.status() == errc::media_error);
  CHECK(probe.calls == 1);
}

TEST_CASE("link_layer misuse panics", "[chain][panic]") {
  CHECK(biostack_test::panics([] {
    bio u(op::read, 0, 512), l1, l2;
    link_layer(u, l1);
    link_layer(u, l2); // upper already has a layer below it
  }));
  CHECK(biostack_test::panics([] {
    bio u(op::read, 0, 512), l;
    complete(u, errc::ok);
    link_layer(u, l); // upper already completed
  }));
}

TEST_CASE("children completing concurrently from several threads", "[chain][threads]") {
  constexpr std::size_t threads = 4;
  constexpr std::size_t per_thread = 64;
  constexpr std::size_t n = threads * per_thread;
  for (int round = 0; round < 100; ++round) {
    CAPTURE(round);
    std::atomic<int> parent_calls{0};
    std::atomic<std::uint32_t> errors_seen_mask{0};
    bio parent(op::read, 0, static_cast<std::uint32_t>(512 * n));
    struct ctx_t {
      std::atomic<int>* calls;
    } ctx{&parent_calls};
    parent.on_done = completion{[](bio&, void* c) noexcept {
                                  static_cast<ctx_t*>(c)->calls->fetch_add(1);
                                  return completion_action::proceed;
                                },
                                &ctx};
    std::vector<bio> children(n);
    std::vector<errc> status(n, errc::ok);
    std::uint32_t error_mask = 0;
    // Every thread's slice includes an error of its own, at a varying spot.
    for (std::size_t t = 0; t < threads; ++t) {
      const std::size_t i = t * per_thread + static_cast<std::size_t>(round) % per_thread;
      status[i] = static_cast<errc>(1 + t); // io_error, media_error, no_device, timed_out
      error_mask |= 1u << (1 + t);
    }

    begin_fan_in(parent);
    for (std::size_t i = 0; i < n; ++i) {
      init_child(children[i], parent, static_cast<std::uint32_t>(512 * i), 512);
      add_child(parent, children[i]);
    }
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        ready.fetch_add(1);
        while (!go.load()) std::this_thread::yield();
        for (std::size_t k = 0; k < per_thread; ++k) {
          const std::size_t i = t * per_thread + k;
          if (status[i] != errc::ok)
            errors_seen_mask.fetch_or(1u << static_cast<unsigned>(status[i]));
          complete(children[i], status[i], status[i] != errc::ok ? 512u : 0u);
        }
      });
    }
    while (ready.load() != static_cast<int>(threads)) std::this_thread::yield();
    // end_fan_in races the children on half the rounds.
    if (round % 2 == 0) {
      go.store(true);
      end_fan_in(parent);
      for (auto& th : pool) th.join();
    } else {
      go.store(true);
      for (auto& th : pool) th.join();
      REQUIRE(parent_calls.load() == 0);
      end_fan_in(parent);
    }
    REQUIRE(parent_calls.load() == 1);
    REQUIRE(parent.completed());
    REQUIRE(errors_seen_mask.load() == error_mask);
    const errc st = parent.status();
    REQUIRE(st != errc::ok);
    REQUIRE((error_mask & (1u << static_cast<unsigned>(st))) != 0);
    REQUIRE(parent.residual() == 512 * threads);
    for (auto& c : children) REQUIRE(c.completed());
  }
}

// Each child's device thread fills the child's slice of the parent's memory
// (plain stores, published only by the completion) and the parent's callback,
// in whichever context completes it, checks the whole buffer. Under
// ThreadSanitizer (the tsan gates) this checks the memory order of the
// hand-over too (memset and memcmp: it tracks their ranges whole, where a
// loop of byte accesses would crowd the children's stores out of its shadow).
TEST_CASE("a parent's completion sees every child's data and result", "[chain][threads]") {
  static constexpr std::uint32_t n = 8;
  static constexpr std::uint32_t slice = 64;
  struct check_t {
    const std::byte* mem;
    unsigned round;
    int calls = 0;
    bool data_ok = false;
    errc status = errc::ok;
    std::uint32_t residual = 0;
  };
  for (unsigned round = 0; round < 100; ++round) {
    CAPTURE(round);
    std::byte mem[n * slice];
    check_t seen{mem, round};
    completion_fn check_parent = [](bio& p, void* ctx) noexcept {
      auto* s = static_cast<check_t*>(ctx);
      ++s->calls;
      // The data first: reading the status would synchronise on its own.
      s->data_ok = true;
      std::byte want[slice];
      for (std::uint32_t i = 0; i < n; ++i) { // child i filled its slice with round + i
        std::memset(want, static_cast<int>((s->round + i) & 0xFF), slice);
        s->data_ok = s->data_ok && std::memcmp(s->mem + i * slice, want, slice) == 0;
      }
      s->status = p.status();
      s->residual = p.residual();
      return completion_action::proceed;
    };
    bio parent(op::read, 0, n * slice, mem, completion{check_parent, &seen});
    bio children[n];
    begin_fan_in(parent);
    for (std::uint32_t i = 0; i < n; ++i) {
      init_child(children[i], parent, i * slice, slice);
      add_child(parent, children[i]);
    }
    std::vector<std::thread> devices;
    for (std::uint32_t i = 0; i < n; ++i) {
      devices.emplace_back([&children, i, round] {
        bio& c = children[i];
        std::memset(c.data + c.mem_offset, static_cast<int>((round + i) & 0xFF), c.length);
        // Child 3 fails, reporting its whole slice as residual (its bytes
        // are written all the same, so the buffer check still holds).
        complete(c, i == 3 ? errc::media_error : errc::ok, i == 3 ? slice : 0);
      });
    }
    end_fan_in(parent);
    for (auto& d : devices) d.join();
    REQUIRE(parent.completed());
    CHECK(seen.calls == 1);
    CHECK(seen.data_ok);
    CHECK(seen.status == errc::media_error);
    CHECK(seen.residual == slice);
  }
}
