// Unit tests: bio_stack (DragonFly bio layers) and deep chains on a small stack.
#include <biostack/bio/chain.hpp>
#include <biostack/bio/stack.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <test_support.hpp>
#include <thread>
#include <vector>

using namespace biostack;

namespace {

struct layer_probe {
  int calls = 0;
  int order = 0; // global sequence number of the last call
  completion_action answer = completion_action::proceed;
};

int sequence = 0;

completion_action probe_cb(bio&, void* ctx) noexcept {
  auto* p = static_cast<layer_probe*>(ctx);
  ++p->calls;
  p->order = ++sequence;
  return p->answer;
}

completion with(layer_probe& p) noexcept { return completion{&probe_cb, &p}; }

} // namespace

TEST_CASE("bio_stack push and pop", "[stack]") {
  bio_stack<4> s;
  STATIC_REQUIRE(bio_stack<4>::capacity() == 4);
  bio& base = s.base();
  base.prepare(op::write, 8192, 1024);
  base.flags = bio_flags::fua;
  CHECK(s.depth() == 1);
  CHECK(&s.top() == &base);

  bio& l1 = s.push();
  CHECK(s.depth() == 2);
  CHECK(&s.top() == &l1);
  CHECK(&l1 != &base);
  CHECK(s.index_of(l1) == 1);
  CHECK(l1.parent == &base);
  CHECK(l1.operation == op::write);
  CHECK(l1.offset == 8192);
  CHECK(l1.length == 1024);
  CHECK(l1.flags == bio_flags::fua);
  CHECK(base.pending() == 1);

  bio* l2 = s.try_push();
  REQUIRE(l2 != nullptr);
  CHECK(l2->parent == &l1);
  CHECK(s.depth() == 3);

  CHECK(s.pop(*l2) == &l1);
  CHECK(s.depth() == 2);
  CHECK(s.pop(l1) == &base);
  CHECK(s.depth() == 1);
  CHECK(s.pop(base) == nullptr);
  CHECK(s.depth() == 1);
}

namespace {
// cb3 of vfs_bio 7.23: takes ownership, then later pops and continues.
struct translate_layer {
  int calls = 0;
  completion_action done(bio&) noexcept {
    ++calls;
    ++sequence;
    return completion_action::stop;
  }
};
} // namespace

TEST_CASE("vfs_bio 7.23: callbacks at layers 3 and 1, layer 2 passed through", "[stack]") {
  bio_stack<4> s;
  layer_probe cb1;
  translate_layer cb3;
  std::byte mem[512];
  s.base().prepare(op::read, 0, 512, mem, with(cb1)); // bio1
  bio& bio2 = s.push();                               // no callback
  bio2.offset = 4096;                                 // a translation
  bio& bio3 = s.push();
  bio3.on_done = bind_completion<&translate_layer::done>(cb3);
  CHECK(bio3.offset == 4096); // copied from the layer above
  sequence = 0;

  // The driver completes the bottom layer: only cb3 runs.
  complete(bio3, errc::media_error, 512);
  CHECK(cb3.calls == 1);
  CHECK(cb1.calls == 0);
  CHECK(bio3.completed());
  CHECK_FALSE(bio2.completed());
  CHECK_FALSE(s.base().completed());

  // cb3 later pops its layer and continues: layer 2 has no callback and is
  // passed through; cb1 runs; the walk runs off the top.
  CHECK(s.pop(bio3) == &bio2);
  CHECK(s.depth() == 2);
  continue_completion(bio3);
  CHECK(cb3.calls == 1);
  CHECK(cb1.calls == 1);
  CHECK(bio2.completed());
  CHECK(s.base().completed());
  CHECK(s.base().status() == errc::media_error);
  CHECK(s.base().residual() == 512);
}

TEST_CASE("vfs_bio 7.23: a proceeding callback lets the walk climb in one go", "[stack]") {
  bio_stack<3> s;
  layer_probe cb1, cb2, cb3;
  s.base().prepare(op::write, 0, 512, nullptr, with(cb1));
  s.push().on_done = with(cb2);
  s.push().on_done = with(cb3);
  sequence = 0;
  complete(s.top(), errc::ok);
  // Bottom-up order, each exactly once.
  CHECK(cb3.order == 1);
  CHECK(cb2.order == 2);
  CHECK(cb1.order == 3);
  CHECK(cb1.calls + cb2.calls + cb3.calls == 3);
  CHECK(s.base().completed());

  // A stop in the middle layer keeps the top layer open.
  bio_stack<3> t;
  layer_probe d1, d2;
  d2.answer = completion_action::stop;
  t.base().prepare(op::write, 0, 512, nullptr, with(d1));
  t.push().on_done = with(d2);
  bio& bottom = t.push();
  complete(bottom, errc::ok);
  CHECK(d2.calls == 1);
  CHECK(d1.calls == 0);
  CHECK_FALSE(t.base().completed());
  bio* mid = t.pop(bottom);
  REQUIRE(mid != nullptr);
  continue_completion(*mid);
  CHECK(d1.calls == 1);
  CHECK(t.base().completed());
}

TEST_CASE("vfs_bio 7.24: pushing past the capacity fails loudly", "[stack][panic]") {
  bio_stack<3> s;
  s.base().prepare(op::read, 0, 512);
  REQUIRE(s.try_push() != nullptr);
  REQUIRE(s.try_push() != nullptr);
  CHECK(s.depth() == 3);
  CHECK(s.try_push() == nullptr);
  CHECK(s.depth() == 3);
  CHECK(biostack_test::panics([&s] { (void)s.push(); }));

  bio_stack<1> one;
  CHECK(one.try_push() == nullptr);
  CHECK(biostack_test::panics([&one] { (void)one.push(); }));
}

TEST_CASE("vfs_bio 7.24: a re-pushed layer keeps its cached offset", "[stack]") {
  bio_stack<3> s;
  layer_probe cb1;
  s.base().prepare(op::read, 0, 512, nullptr, with(cb1));
  bio& l1 = s.push();
  CHECK(l1.offset == 0);
  l1.offset = 1 << 20; // the layer translates once
  complete(l1, errc::ok);
  REQUIRE(s.base().completed());
  REQUIRE(cb1.calls == 1);

  // The same request is issued again (for example after an error): the
  // translation is not redone.
  CHECK(s.pop(l1) == &s.base());
  s.base().rearm();
  s.base().offset = 512; // even if the base moved, the layer keeps its own
  bio& again = s.push();
  CHECK(&again == &l1);
  CHECK(again.offset == (1u << 20));
  CHECK_FALSE(again.completed());
  CHECK(again.parent == &s.base());
  complete(again, errc::ok);
  CHECK(cb1.calls == 2);

  // reset() forgets the cache: the layer copies the base's offset again.
  s.reset();
  CHECK(s.depth() == 1);
  CHECK_FALSE(s.base().completed());
  s.base().offset = 4096;
  CHECK(s.push().offset == 4096);
}

TEST_CASE("only the layers pushed since the last reset keep cached offsets", "[stack]") {
  bio_stack<3> s;
  s.base().prepare(op::read, 0, 512);
  bio& l1 = s.push();
  l1.offset = 1 << 20;
  complete(l1, errc::ok);
  REQUIRE(s.base().completed());

  // Layer 1 was used, layer 2 never was: a re-push of layer 1 keeps its
  // translation, the first push of layer 2 copies layer 1's offset.
  CHECK(s.pop(l1) == &s.base());
  s.base().rearm();
  CHECK(s.push().offset == (1u << 20));
  bio& l2 = s.push();
  CHECK(l2.offset == (1u << 20));
  l2.offset = 2 << 20;
  complete(l2, errc::ok);
  REQUIRE(s.base().completed());

  // Both are cached now, however far the stack was popped.
  CHECK(s.pop(l2) == &l1);
  CHECK(s.pop(l1) == &s.base());
  s.base().rearm();
  s.base().offset = 4096;
  CHECK(s.push().offset == (1u << 20));
  CHECK(s.push().offset == (2u << 20));
}

TEST_CASE("index_of rejects a bio that is not a layer", "[stack][panic]") {
  CHECK(biostack_test::panics([] {
    bio_stack<2> s;
    bio stranger;
    (void)s.index_of(stranger);
  }));
}

// ---- depth: the walk is a loop ---------------------------------------------

namespace {

constexpr std::size_t deep = 10000;

// Written from the small-stack thread only; checked afterwards on the main
// thread (Catch macros are not used on the small stack).
struct deep_probe {
  std::size_t calls = 0;
  std::thread::id expected;
  std::size_t wrong_thread = 0;
  std::uintptr_t lowest_frame = UINTPTR_MAX;
  std::uintptr_t highest_frame = 0;
};

completion_action deep_cb(bio&, void* ctx) noexcept {
  auto* p = static_cast<deep_probe*>(ctx);
  ++p->calls;
  if (std::this_thread::get_id() != p->expected) ++p->wrong_thread;
  const auto frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  if (frame < p->lowest_frame) p->lowest_frame = frame;
  if (frame > p->highest_frame) p->highest_frame = frame;
  return completion_action::proceed;
}

// Every callback runs at the same depth when the walk is a loop; recursion
// would spread them over at least `deep` frames.
void check_flat(const deep_probe& p, std::size_t calls) {
  CHECK(p.calls == calls);
  CHECK(p.wrong_thread == 0);
  REQUIRE(p.highest_frame >= p.lowest_frame);
  CHECK(p.highest_frame - p.lowest_frame < 512);
}

} // namespace

TEST_CASE("a chain 10,000 deep completes on a 64 KiB stack", "[stack][deep]") {
  for (const bool callbacks : {true, false}) {
    CAPTURE(callbacks);
    std::vector<bio> chain(deep);
    deep_probe probe;
    chain[0].prepare(op::write, 0, 512, nullptr, completion{&deep_cb, &probe});
    for (std::size_t i = 0; i + 1 < deep; ++i) {
      link_layer(chain[i], chain[i + 1]);
      if (callbacks) chain[i + 1].on_done = completion{&deep_cb, &probe};
    }
    bool ran = biostack_test::run_on_small_stack(64 * 1024, [&] {
      probe.expected = std::this_thread::get_id();
      complete(chain[deep - 1], errc::media_error, 512);
    });
    REQUIRE(ran);
    check_flat(probe, callbacks ? deep : 1);
    for (const bio& b : chain) REQUIRE(b.completed());
    CHECK(chain[0].status() == errc::media_error);
    CHECK(chain[0].residual() == 512);
  }
}

TEST_CASE("a chain 10,000 deep resumed by continue_completion stays flat", "[stack][deep]") {
  std::vector<bio> chain(deep);
  deep_probe probe;
  chain[0].prepare(op::read, 0, 512, nullptr, completion{&deep_cb, &probe});
  for (std::size_t i = 0; i + 1 < deep; ++i) link_layer(chain[i], chain[i + 1]);
  // The bottom layer holds the walk; it is resumed from the small stack.
  chain[deep - 1].on_done =
      completion{[](bio&, void*) noexcept { return completion_action::stop; }, nullptr};
  complete(chain[deep - 1], errc::ok);
  REQUIRE_FALSE(chain[deep - 2].completed());
  bool ran = biostack_test::run_on_small_stack(64 * 1024, [&] {
    probe.expected = std::this_thread::get_id();
    continue_completion(chain[deep - 1]);
  });
  REQUIRE(ran);
  CHECK(probe.calls == 1);
  CHECK(probe.wrong_thread == 0);
  CHECK(chain[0].completed());
}

TEST_CASE("a fan-in tree 10,000 deep (one child per level) on a 64 KiB stack", "[stack][deep]") {
  // leaf_first: the leaf completes before the fan-ins are closed, so the
  // deep climb starts from the last end_fan_in instead of from complete().
  for (const bool leaf_first : {false, true}) {
    for (const bool callbacks : {true, false}) {
      CAPTURE(leaf_first, callbacks);
      std::vector<bio> tree(deep);
      deep_probe probe;
      tree[0].prepare(op::read, 0, 4096, nullptr, completion{&deep_cb, &probe});
      for (std::size_t i = 0; i + 1 < deep; ++i) {
        begin_fan_in(tree[i]);
        init_child(tree[i + 1], tree[i], 0, 4096);
        add_child(tree[i], tree[i + 1]);
        if (callbacks) tree[i + 1].on_done = completion{&deep_cb, &probe};
      }
      bool ran = biostack_test::run_on_small_stack(64 * 1024, [&] {
        probe.expected = std::this_thread::get_id();
        if (leaf_first) complete(tree[deep - 1], errc::ok, 512); // short
        for (std::size_t i = 0; i + 1 < deep; ++i) end_fan_in(tree[i]);
        if (!leaf_first) complete(tree[deep - 1], errc::ok, 512);
      });
      REQUIRE(ran);
      check_flat(probe, callbacks ? deep : 1);
      for (const bio& b : tree) REQUIRE(b.completed());
      // The short leaf fails its fan-in parent; the error climbs to the root.
      CHECK(tree[0].status() == errc::io_error);
      CHECK(tree[deep - 2].status() == errc::io_error);
      CHECK(tree[deep - 1].status() == errc::ok);
      CHECK(tree[0].residual() == 512);
    }
  }
}
