// Unit tests: bio fields and completion, op helpers, flags, memory helpers.
#include <atomic>
#include <biostack/bio/bio.hpp>
#include <biostack/bio/chain.hpp>
#include <biostack/bio/memory.hpp>
#include <catch2/catch.hpp>
#include <cstring>
#include <new>
#include <set>
#include <string>
#include <test_support.hpp>
#include <thread>
#include <vector>

using namespace biostack;

namespace {

struct counter {
  int calls = 0;
  errc seen_status = errc::ok;
  std::uint32_t seen_residual = 0;
  bool seen_completed = false;
  completion_action answer = completion_action::proceed;
};

completion_action count_cb(bio& b, void* ctx) noexcept {
  auto* c = static_cast<counter*>(ctx);
  ++c->calls;
  c->seen_status = b.status();
  c->seen_residual = b.residual();
  c->seen_completed = b.completed();
  return c->answer;
}

completion with(counter& c) noexcept { return completion{&count_cb, &c}; }

} // namespace

// ---- completion ---------------------------------------------------------

TEST_CASE("a bio starts idle with ok status", "[bio]") {
  bio b;
  CHECK_FALSE(b.completed());
  CHECK(b.status() == errc::ok);
  CHECK(b.residual() == 0);
  CHECK(b.pending() == 0);
  CHECK(b.parent == nullptr);
  CHECK(b.operation == op::read);
  CHECK(b.priority == priority::normal);
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<bio>);
  STATIC_REQUIRE_FALSE(std::is_copy_assignable_v<bio>);
}

// A default bio is all zero bytes, so that a static bio (or an array of
// them) is zero-initialised .bss rather than an initial image in flash.
// Padding of a static object is zero too, so every byte can be compared.
namespace {
bio static_default_bio;
} // namespace

TEST_CASE("a default-constructed static bio is all zero bytes", "[bio]") {
  const unsigned char zeros[sizeof(bio)] = {};
  CHECK(std::memcmp(&static_default_bio, zeros, sizeof(bio)) == 0);
  CHECK(priority::normal == 0);
}

TEST_CASE("complete runs the callback once with the final status", "[bio]") {
  counter c;
  std::byte mem[512];
  bio b(op::read, 4096, 512, mem, with(c));
  CHECK(b.offset == 4096);
  CHECK(b.length == 512);
  CHECK(b.data == &mem[0]);
  complete(b, errc::media_error, 512);
  CHECK(c.calls == 1);
  CHECK(c.seen_status == errc::media_error);
  CHECK(c.seen_residual == 512);
  CHECK(c.seen_completed); // marked done before the callback runs
  CHECK(b.completed());
  CHECK(b.status() == errc::media_error);
  CHECK(b.residual() == 512);
}

// Constructed over bytes that are not zero, so a field the constructors
// forgot would show.
TEST_CASE("the request constructors set the given fields, every other as a default bio", "[bio]") {
  counter c;
  std::byte mem[512];
  alignas(bio) unsigned char raw[sizeof(bio)];
  for (int with_callback = 0; with_callback < 2; ++with_callback) {
    CAPTURE(with_callback);
    std::memset(raw, 0xA5, sizeof raw);
    bio* b = with_callback != 0 ? new (raw) bio(op::write, 0x1'0000'0200, 512, mem, with(c))
                                : new (raw) bio(op::write, 0x1'0000'0200, 512, mem);
    CHECK(b->operation == op::write);
    CHECK(b->offset == 0x1'0000'0200);
    CHECK(b->length == 512);
    CHECK(b->data == &mem[0]);
    if (with_callback != 0) {
      CHECK(b->on_done.fn == &count_cb);
      CHECK(b->on_done.context == &c);
    } else {
      CHECK(b->on_done.fn == nullptr);
      CHECK(b->on_done.context == nullptr);
    }
    CHECK(b->flags == bio_flags::none);
    CHECK(b->priority == priority::normal);
    CHECK(b->segment_count == 0);
    CHECK(b->mem_offset == 0);
    CHECK(b->segments == nullptr);
    CHECK(b->parent == nullptr);
    CHECK(b->context == nullptr);
    CHECK(b->hook.next == nullptr);
    CHECK(b->hook.prev == nullptr);
    CHECK_FALSE(b->completed());
    CHECK(b->status() == errc::ok);
    CHECK(b->residual() == 0);
    CHECK(b->pending() == 0);
    complete(*b, errc::ok);
    CHECK(b->completed());
    b->~bio();
  }
  CHECK(c.calls == 1);
  // Three arguments: no memory either (a flush).
  std::memset(raw, 0xA5, sizeof raw);
  bio* f = new (raw) bio(op::flush, 0, 0);
  CHECK(f->operation == op::flush);
  CHECK(f->offset == 0);
  CHECK(f->length == 0);
  CHECK(f->data == nullptr);
  CHECK(f->on_done.fn == nullptr);
  CHECK(f->priority == priority::normal);
  CHECK_FALSE(f->completed());
  f->~bio();
}

TEST_CASE("a bio without callback completes too", "[bio]") {
  bio b(op::flush, 0, 0);
  complete(b, errc::ok);
  CHECK(b.completed());
  CHECK(b.status() == errc::ok);
}

TEST_CASE("completing a bio twice panics", "[bio][panic]") {
  CHECK(biostack_test::panics([] {
    bio b(op::read, 0, 512);
    complete(b, errc::ok);
    complete(b, errc::ok);
  }));
  CHECK(biostack_test::panics([] {
    counter c;
    bio b(op::read, 0, 512, nullptr, with(c));
    complete(b, errc::io_error);
    end_io(b);
  }));
  // Control: one completion, then rearm, then another is fine.
  CHECK_FALSE(biostack_test::panics([] {
    bio b(op::read, 0, 512);
    complete(b, errc::ok);
    b.rearm();
    complete(b, errc::ok);
  }));
}

TEST_CASE("first error wins; ok never overwrites an error", "[bio]") {
  bio b;
  b.record_error(errc::ok);
  CHECK(b.status() == errc::ok);
  b.record_error(errc::io_error);
  b.record_error(errc::media_error);
  b.record_error(errc::ok);
  CHECK(b.status() == errc::io_error);
  complete(b, errc::timed_out);
  CHECK(b.status() == errc::io_error);

  bio c;
  complete(c, errc::ok);
  CHECK(c.status() == errc::ok);
}

TEST_CASE("record_error races: exactly one error wins and never changes", "[bio][threads]") {
  constexpr int threads = 4;
  constexpr int rounds = 200;
  for (int round = 0; round < rounds; ++round) {
    bio b;
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    errc seen[threads] = {};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        // Each thread records its own error (1..threads) many times.
        const auto mine = static_cast<errc>(1 + t);
        ready.fetch_add(1);
        while (!go.load()) std::this_thread::yield();
        for (int i = 0; i < 1000; ++i) b.record_error(mine);
        seen[t] = b.status();
      });
    }
    while (ready.load() != threads) std::this_thread::yield();
    go.store(true);
    for (auto& th : pool) th.join();
    const errc final_status = b.status();
    REQUIRE(final_status != errc::ok);
    REQUIRE(static_cast<int>(final_status) >= 1);
    REQUIRE(static_cast<int>(final_status) <= threads);
    // Every thread, after its own attempts, saw the winner: once set, the
    // status never changed.
    for (int t = 0; t < threads; ++t) REQUIRE(seen[t] == final_status);
  }
}

// Under ThreadSanitizer (the tsan gates) this also checks the memory order:
// the buffer is plain memory, published only by the completion.
TEST_CASE("whoever sees completed() sees the status, residual and data of the completion",
          "[bio][threads]") {
  for (int round = 0; round < 200; ++round) {
    std::byte mem[256];
    bio b(op::read, 0, sizeof mem, mem);
    const auto fill = static_cast<unsigned char>(round);
    // memset and memcmp: ThreadSanitizer tracks their ranges whole, where a
    // loop of byte accesses would crowd the device's stores out of its shadow.
    std::thread device([&b, fill] {
      std::memset(b.data, fill, b.length);
      complete(b, errc::media_error, 16);
    });
    std::byte want[sizeof mem];
    std::memset(want, fill, sizeof want);
    while (!b.completed()) std::this_thread::yield();
    // The data first: reading the status would synchronise on its own.
    CHECK(std::memcmp(mem, want, sizeof mem) == 0);
    CHECK(b.status() == errc::media_error);
    CHECK(b.residual() == 16);
    device.join();
  }
}

TEST_CASE("residual: set, add, and complete's argument", "[bio]") {
  bio b(op::read, 0, 4096);
  b.set_residual(100);
  b.add_residual(28);
  b.add_residual(0);
  CHECK(b.residual() == 128);
  complete(b, errc::ok); // residual 0 leaves the device's value alone
  CHECK(b.residual() == 128);

  bio c(op::read, 0, 4096);
  complete(c, errc::ok, 1024);
  CHECK(c.residual() == 1024);
  CHECK(c.status() == errc::ok); // a short transfer alone is not an error
}

TEST_CASE("rearm makes a completed bio submittable again, keeping the request", "[bio]") {
  counter c;
  std::byte mem[1024];
  bio b(op::write, 512, 1024, mem, with(c));
  b.flags = bio_flags::fua;
  b.context = &c;
  complete(b, errc::io_error, 512);
  REQUIRE(b.completed());
  b.rearm();
  CHECK_FALSE(b.completed());
  CHECK(b.status() == errc::ok);
  CHECK(b.residual() == 0);
  CHECK(b.pending() == 0);
  // Request fields untouched.
  CHECK(b.operation == op::write);
  CHECK(b.offset == 512);
  CHECK(b.length == 1024);
  CHECK(b.data == &mem[0]);
  CHECK(b.flags == bio_flags::fua);
  CHECK(b.context == &c);
  CHECK(b.on_done.fn == &count_cb);
  complete(b, errc::ok);
  CHECK(c.calls == 2);
  CHECK(b.status() == errc::ok);
}

TEST_CASE("rearm also clears a fan-in left behind", "[bio]") {
  bio parent(op::read, 0, 1024);
  bio child;
  begin_fan_in(parent);
  init_child(child, parent, 0, 512);
  add_child(parent, child);
  end_fan_in(parent);
  complete(child, errc::ok, 512); // short: the fan-in parent fails
  REQUIRE(parent.completed());
  REQUIRE(parent.status() == errc::io_error);
  parent.rearm();
  // As a plain one-to-one layer now, a short child is no longer an error.
  link_layer(parent, child);
  complete(child, errc::ok, 512);
  CHECK(parent.completed());
  CHECK(parent.status() == errc::ok);
  CHECK(parent.residual() == 512);
}

TEST_CASE("prepare re-initialises every field", "[bio]") {
  counter c1, c2;
  std::byte mem[2048];
  segment segs[2] = {{mem, 1024}, {mem + 1024, 1024}};
  bio parent;
  bio b(op::write, 512, 2048, nullptr, with(c1));
  b.flags = bio_flags::fua | bio_flags::meta;
  b.priority = priority::idle;
  b.segments = segs;
  b.segment_count = 2;
  b.mem_offset = 7;
  b.context = &c1;
  b.record_error(errc::io_error);
  b.set_residual(9);
  end_io(b);
  REQUIRE(b.completed());
  // Linkage a layer might leave behind.
  b.parent = &parent;
  b.hook.next = &parent;
  b.hook.prev = &parent;

  b.prepare(op::read, 4096, 512, mem, with(c2));
  CHECK(b.operation == op::read);
  CHECK(b.offset == 4096);
  CHECK(b.length == 512);
  CHECK(b.data == &mem[0]);
  CHECK(b.on_done.fn == &count_cb);
  CHECK(b.on_done.context == &c2);
  CHECK(b.flags == bio_flags::none);
  CHECK(b.priority == priority::normal);
  CHECK(b.segments == nullptr);
  CHECK(b.segment_count == 0);
  CHECK(b.mem_offset == 0);
  CHECK(b.parent == nullptr);
  CHECK(b.context == nullptr);
  CHECK(b.hook.next == nullptr);
  CHECK(b.hook.prev == nullptr);
  CHECK_FALSE(b.completed());
  CHECK(b.status() == errc::ok);
  CHECK(b.residual() == 0);
  complete(b, errc::ok);
  CHECK(c1.calls == 1);
  CHECK(c2.calls == 1);
}

namespace {
struct waiter {
  int done_calls = 0;
  bio* seen = nullptr;
  errc status = errc::ok;
  completion_action done(bio& b) noexcept {
    ++done_calls;
    seen = &b;
    status = b.status();
    return completion_action::proceed;
  }
  completion_action hold(bio&) noexcept { return completion_action::stop; }
};
} // namespace

TEST_CASE("bind_completion calls the member function on the object", "[bio]") {
  waiter w1, w2;
  bio b(op::read, 0, 512);
  b.on_done = bind_completion<&waiter::done>(w2);
  CHECK(b.on_done.context == &w2);
  complete(b, errc::no_device);
  CHECK(w1.done_calls == 0);
  CHECK(w2.done_calls == 1);
  CHECK(w2.seen == &b);
  CHECK(w2.status == errc::no_device);

  // A bound `stop` keeps the walk from reaching the parent.
  bio parent, child;
  link_layer(parent, child);
  child.on_done = bind_completion<&waiter::hold>(w1);
  complete(child, errc::ok);
  CHECK_FALSE(parent.completed());
  continue_completion(child);
  CHECK(parent.completed());
}

TEST_CASE("a callback returning stop holds the walk until continue_completion", "[bio]") {
  counter pc, cc;
  bio parent(op::read, 0, 512, nullptr, with(pc));
  bio child;
  link_layer(parent, child);
  cc.answer = completion_action::stop;
  child.on_done = with(cc);

  complete(child, errc::integrity, 64);
  CHECK(cc.calls == 1);
  CHECK(child.completed());
  CHECK(pc.calls == 0);
  CHECK_FALSE(parent.completed());
  CHECK(parent.pending() == 1);

  continue_completion(child);
  CHECK(cc.calls == 1); // the child's callback is not run again
  CHECK(pc.calls == 1);
  CHECK(parent.completed());
  CHECK(parent.status() == errc::integrity);
  CHECK(parent.residual() == 64);
}

TEST_CASE("the walk climbs to the parent a bio completed under", "[bio]") {
  // A callback that clears its bio's linkage and proceeds: the result still
  // reaches the parent the bio had when it completed, exactly once.
  counter pc;
  bio parent(op::read, 0, 512, nullptr, with(pc));
  bio child;
  link_layer(parent, child);
  child.on_done = completion{[](bio& b, void*) noexcept {
                               b.parent = nullptr;
                               return completion_action::proceed;
                             },
                             nullptr};
  complete(child, errc::media_error, 8);
  CHECK(pc.calls == 1);
  CHECK(parent.completed());
  CHECK(parent.status() == errc::media_error);
  CHECK(parent.residual() == 8);
}

TEST_CASE("continue_completion on a bio that has not completed panics", "[bio][panic]") {
  CHECK(biostack_test::panics([] {
    bio parent, child;
    link_layer(parent, child);
    continue_completion(child);
  }));
}

namespace {
// Fails the first attempt, then retries by rearming and resubmitting to a
// "device" that succeeds: the layer above sees only the retry's result.
struct retry_layer {
  int attempts = 0;
  completion_action done(bio& b) noexcept {
    ++attempts;
    if (b.status() != errc::ok && attempts == 1) {
      b.rearm();
      return completion_action::stop;
    }
    return completion_action::proceed;
  }
};
} // namespace

TEST_CASE("stop + rearm + resubmit retries without completing the parent twice", "[bio]") {
  counter pc;
  retry_layer r;
  bio parent(op::write, 0, 512, nullptr, with(pc));
  bio child;
  link_layer(parent, child);
  child.on_done = bind_completion<&retry_layer::done>(r);
  complete(child, errc::no_device);
  CHECK(pc.calls == 0);
  CHECK_FALSE(child.completed()); // rearmed by its callback
  complete(child, errc::ok);      // the retry
  CHECK(r.attempts == 2);
  CHECK(pc.calls == 1);
  CHECK(parent.status() == errc::ok);
}

// ---- op helpers ----------------------------------------------------------

TEST_CASE("op helpers", "[bio][op]") {
  const op all[] = {op::read, op::write, op::flush, op::discard, op::write_zeroes};
  STATIC_REQUIRE(sizeof(all) / sizeof(all[0]) == op_count);
  CHECK(carries_data(op::read));
  CHECK(carries_data(op::write));
  CHECK_FALSE(carries_data(op::flush));
  CHECK_FALSE(carries_data(op::discard));
  CHECK_FALSE(carries_data(op::write_zeroes));
  CHECK_FALSE(modifies(op::read));
  CHECK(modifies(op::write));
  CHECK_FALSE(modifies(op::flush));
  CHECK(modifies(op::discard));
  CHECK(modifies(op::write_zeroes));

  std::set<std::string> names;
  for (op o : all) {
    const std::string n = to_string(o);
    CHECK(n != "unknown");
    names.insert(n);
  }
  CHECK(names.size() == op_count);
  CHECK(std::string(to_string(op::write_zeroes)) == "write_zeroes");
  CHECK(std::string(to_string(static_cast<op>(99))) == "unknown");
  CHECK_FALSE(carries_data(static_cast<op>(99)));
  CHECK_FALSE(modifies(static_cast<op>(99)));
}

TEST_CASE("bio_flags operators", "[bio][flags]") {
  bio_flags f = bio_flags::none;
  CHECK_FALSE(has(f, bio_flags::fua));
  f |= bio_flags::fua;
  f |= bio_flags::ordered;
  CHECK(has(f, bio_flags::fua));
  CHECK(has(f, bio_flags::ordered));
  CHECK_FALSE(has(f, bio_flags::fail_fast));
  CHECK((f & bio_flags::ordered) == bio_flags::ordered);
  CHECK((f & bio_flags::meta) == bio_flags::none);
  CHECK((bio_flags::fua | bio_flags::meta) != bio_flags::fua);
  f &= ~bio_flags::fua;
  CHECK_FALSE(has(f, bio_flags::fua));
  CHECK(has(f, bio_flags::ordered));
  CHECK(f == bio_flags::ordered);
  CHECK_FALSE(has(f, bio_flags::none));
  // Every flag is a distinct bit.
  const bio_flags all[] = {bio_flags::fua, bio_flags::ordered, bio_flags::fail_fast,
                           bio_flags::read_ahead, bio_flags::meta};
  bio_flags acc = bio_flags::none;
  for (bio_flags x : all) {
    CHECK_FALSE(has(acc, x));
    acc |= x;
  }
  for (bio_flags x : all) CHECK(has(acc, x));
  STATIC_REQUIRE((bio_flags::fua | bio_flags::fail_fast) == static_cast<bio_flags>(5));
}

// ---- memory helpers --------------------------------------------------------

namespace {

// The flat model of a segment list: logical byte i of the memory.
std::vector<std::byte*> flatten(const segment* segs, std::size_t n) {
  std::vector<std::byte*> out;
  for (std::size_t i = 0; i < n; ++i)
    for (std::uint32_t k = 0; k < segs[i].length; ++k) out.push_back(segs[i].data + k);
  return out;
}

// Bytes are compared as integers: Catch's std::byte printer is only defined
// when its main is compiled as C++17 or later.
int u8(std::byte b) { return std::to_integer<int>(b); }

std::byte pattern(std::size_t i) { return static_cast<std::byte>((i * 7 + 3) & 0xff); }

} // namespace

TEST_CASE("memory_bytes", "[memory]") {
  std::byte mem[64];
  bio b(op::read, 0, 32, mem);
  CHECK(memory_bytes(b) == 32);
  b.data = nullptr;
  CHECK(memory_bytes(b) == 0);
  segment segs[3] = {{mem, 10}, {mem + 10, 0}, {mem + 10, 20}};
  b.segments = segs;
  b.segment_count = 3;
  CHECK(memory_bytes(b) == 30);
  b.mem_offset = 12;
  CHECK(memory_bytes(b) == 18);
  b.mem_offset = 30;
  CHECK(memory_bytes(b) == 0);
  b.mem_offset = 40;
  CHECK(memory_bytes(b) == 0);
}

TEST_CASE("for_each_piece over contiguous memory honours mem_offset", "[memory]") {
  std::byte mem[64];
  bio b(op::read, 0, 32, mem);
  b.mem_offset = 8;
  int calls = 0;
  for_each_piece(b, 4, 16, [&](std::byte* p, std::uint32_t n) noexcept {
    ++calls;
    CHECK(p == mem + 12);
    CHECK(n == 16);
  });
  CHECK(calls == 1);
  for_each_piece(b, 0, 0, [&](std::byte*, std::uint32_t) noexcept { ++calls; });
  CHECK(calls == 1);
}

TEST_CASE("for_each_piece and copies over scatter-gather, every window", "[memory]") {
  // Backing buffers, deliberately odd sizes and an empty segment in between.
  std::byte a[5], c[7], d[3], e[9];
  const segment segs[] = {{a, 5}, {nullptr, 0}, {c, 7}, {d, 3}, {e, 9}};
  const auto flat = flatten(segs, 5);
  const auto total = static_cast<std::uint32_t>(flat.size());
  REQUIRE(total == 24);

  for (std::uint32_t mo = 0; mo <= total; ++mo) {
    bio b(op::read, 0, total - mo);
    b.segments = segs;
    b.segment_count = 5;
    b.mem_offset = mo;
    REQUIRE(memory_bytes(b) == total - mo);
    for (std::uint32_t from = 0; from <= total - mo; ++from) {
      for (std::uint32_t n = 0; from + n <= total - mo; ++n) {
        // The pieces are the model's bytes, in order, never empty, each
        // inside one segment.
        std::uint32_t at = mo + from;
        bool ok = true;
        for_each_piece(b, from, n, [&](std::byte* p, std::uint32_t len) noexcept {
          if (len == 0) ok = false;
          for (std::uint32_t k = 0; k < len; ++k)
            if (at + k >= total || flat[at + k] != p + k) ok = false;
          at += len;
        });
        REQUIRE(ok);
        REQUIRE(at == mo + from + n);

        // copy_to_bio writes exactly the window; copy_from_bio reads it back.
        for (std::size_t i = 0; i < flat.size(); ++i) *flat[i] = std::byte{0xEE};
        std::byte src[24], dst[24];
        for (std::uint32_t i = 0; i < n; ++i) src[i] = pattern(i);
        copy_to_bio(b, from, src, n);
        for (std::uint32_t i = 0; i < total; ++i) {
          const bool inside = i >= mo + from && i < mo + from + n;
          REQUIRE(u8(*flat[i]) == u8(inside ? pattern(i - mo - from) : std::byte{0xEE}));
        }
        std::memset(dst, 0, sizeof dst);
        copy_from_bio(b, from, dst, n);
        REQUIRE(std::memcmp(dst, src, n) == 0);

        // zero_bio clears exactly the window.
        for (std::size_t i = 0; i < flat.size(); ++i) *flat[i] = std::byte{0xAB};
        zero_bio(b, from, n);
        for (std::uint32_t i = 0; i < total; ++i) {
          const bool inside = i >= mo + from && i < mo + from + n;
          REQUIRE(u8(*flat[i]) == u8(inside ? std::byte{0} : std::byte{0xAB}));
        }
      }
    }
  }
}

TEST_CASE("for_each_piece finds its start past 4 GiB of segments", "[memory]") {
  // Two segments of almost 4 GiB each (the same bytes twice: only their
  // lengths are read while they are skipped), then a small one. The window
  // starts mem_offset + from bytes in, beyond 2^32: a walk that added the
  // two in 32 bits would wrap and land in the first segment.
  std::byte big[1], tail[16];
  constexpr std::uint32_t huge = 0xFFFF'FFF0u;
  const segment segs[] = {{big, huge}, {big, huge}, {tail, 16}};
  bio b(op::read, 0, 16);
  b.segments = segs;
  b.segment_count = 3;
  b.mem_offset = huge - 8; // 8 bytes before the end of the first segment
  std::byte* first = nullptr;
  std::uint32_t total = 0;
  int calls = 0;
  for_each_piece(b, 8 + huge + 4, 10, [&](std::byte* p, std::uint32_t n) noexcept {
    if (calls++ == 0) first = p;
    total += n;
  });
  CHECK(calls == 1);
  CHECK(first == tail + 4);
  CHECK(total == 10);
}

TEST_CASE("for_each_piece over contiguous memory finds its start past 4 GiB", "[memory]") {
  // mem_offset + from beyond 2^32: a walk that added the two in 32 bits
  // would land 4 GiB too early. Only the address handed to the callback is
  // compared (as a number), nothing is touched, so no such memory is needed.
  if (sizeof(void*) < 8) {
    SUCCEED("a 32-bit host has no memory past 4 GiB to address");
    return;
  }
  std::byte base[1];
  bio b(op::read, 0, 16, base);
  b.mem_offset = 0xC000'0000u; // 3 GiB
  std::uintptr_t first = 0;
  std::uint32_t total = 0;
  int calls = 0;
  for_each_piece(b, 0x6000'0000u, 10, [&](std::byte* p, std::uint32_t n) noexcept {
    if (calls++ == 0) first = reinterpret_cast<std::uintptr_t>(p);
    total += n;
  });
  CHECK(calls == 1);
  CHECK(first == reinterpret_cast<std::uintptr_t>(base) + std::uint64_t{0x1'2000'0000u});
  CHECK(total == 10);
}

TEST_CASE("copies over contiguous memory with mem_offset", "[memory]") {
  std::byte mem[32];
  std::memset(mem, 0x55, sizeof mem);
  bio b(op::write, 0, 16, mem);
  b.mem_offset = 8;
  std::byte src[4] = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  copy_to_bio(b, 2, src, 4);
  for (int i = 0; i < 32; ++i) {
    const std::byte want = (i >= 10 && i < 14) ? src[i - 10] : std::byte{0x55};
    CHECK(u8(mem[i]) == u8(want));
  }
  std::byte dst[4] = {};
  copy_from_bio(b, 2, dst, 4);
  CHECK(std::memcmp(dst, src, 4) == 0);
  zero_bio(b, 3, 2);
  CHECK(u8(mem[10]) == 1);
  CHECK(u8(mem[11]) == 0);
  CHECK(u8(mem[12]) == 0);
  CHECK(u8(mem[13]) == 4);
}
