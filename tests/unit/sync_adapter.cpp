// Unit tests: sync_adapter lifting a synchronous device into a block_device.
#include <biostack/device/sync_adapter.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

using namespace biostack;

namespace Catch {
template <>
struct StringMaker<errc> {
  static std::string convert(errc e) { return to_string(e); }
};
} // namespace Catch

namespace {

constexpr std::uint32_t bs = 512;
constexpr std::uint32_t blocks = 64;
constexpr std::size_t cap = std::size_t{bs} * blocks;

// Bytes are compared as integers: Catch's std::byte printer is only defined
// when its main is compiled as C++17 or later.
int u8(std::byte b) { return std::to_integer<int>(b); }

struct call {
  op operation;
  std::uint64_t offset;
  const std::byte* memory;
  std::uint32_t length;
};

// A synchronous RAM device that records every call and fails the call with
// index `fail_at` (0-based) with `fail_with`. With `WriteZeroes` false it has
// no write_zeroes member at all.
template <bool WriteZeroes>
class recording_sync {
public:
  explicit recording_sync(int tag_value = 0) noexcept : tag(tag_value) {
    geo.block_size = bs;
    geo.block_count = blocks;
    geo.supports_discard = true;
    geo.supports_write_zeroes = true;
    for (std::size_t i = 0; i < cap; ++i) media[i] = static_cast<std::byte>(i % 251);
  }
  recording_sync(const recording_sync&) = delete;
  recording_sync& operator=(const recording_sync&) = delete;

  device_geometry geometry() const noexcept { return geo; }

  errc read(std::uint64_t off, std::byte* p, std::uint32_t n) noexcept {
    if (const errc e = log(op::read, off, p, n); e != errc::ok) return e;
    std::memcpy(p, media + off, n);
    return errc::ok;
  }
  errc write(std::uint64_t off, const std::byte* p, std::uint32_t n) noexcept {
    if (const errc e = log(op::write, off, p, n); e != errc::ok) return e;
    std::memcpy(media + off, p, n);
    return errc::ok;
  }
  errc flush() noexcept { return log(op::flush, 0, nullptr, 0); }
  errc discard(std::uint64_t off, std::uint32_t n) noexcept {
    return log(op::discard, off, nullptr, n);
  }
  errc write_zeroes(std::uint64_t off, std::uint32_t n) noexcept requires WriteZeroes {
    if (const errc e = log(op::write_zeroes, off, nullptr, n); e != errc::ok) return e;
    std::memset(media + off, 0, n);
    return errc::ok;
  }

  device_geometry geo{};
  std::vector<call> calls;
  int fail_at = -1;
  errc fail_with = errc::media_error;
  int tag;
  std::byte media[cap];

private:
  errc log(op o, std::uint64_t off, const std::byte* p, std::uint32_t n) noexcept {
    calls.push_back({o, off, p, n});
    return static_cast<int>(calls.size()) - 1 == fail_at ? fail_with : errc::ok;
  }
};

using dev_zeroes = recording_sync<true>;
using dev_plain = recording_sync<false>;
static_assert(sync_block_device<dev_zeroes> && sync_write_zeroes<dev_zeroes>);
static_assert(sync_block_device<dev_plain> && !sync_write_zeroes<dev_plain>);

// Completion observer: records whether the callback ran inside submit().
bool submitting = false;
struct observer {
  int calls = 0;
  bool inline_completion = false;
};
completion_action observe(bio&, void* ctx) noexcept {
  auto* o = static_cast<observer*>(ctx);
  ++o->calls;
  o->inline_completion = submitting;
  return completion_action::proceed;
}

template <class Adapter>
void submit_inline(Adapter& a, bio& b, observer& o) {
  b.on_done = completion{&observe, &o};
  submitting = true;
  a.submit(b);
  submitting = false;
  REQUIRE(o.calls == 1);
  REQUIRE(o.inline_completion);
  REQUIRE(b.completed());
}

} // namespace

static_assert(block_device<sync_adapter<dev_zeroes>>);
static_assert(block_device<sync_adapter<dev_plain&>>);
static_assert(!pollable<sync_adapter<dev_plain&>>);

TEST_CASE("sync_adapter by value owns its device", "[sync_adapter]") {
  sync_adapter<dev_zeroes> a(7); // constructs the device in place
  CHECK(a.device().tag == 7);
  CHECK(a.geometry().capacity() == cap);
  CHECK(a.geometry().block_size == bs);

  std::byte out[1024], in[1024];
  for (std::size_t i = 0; i < sizeof out; ++i) out[i] = static_cast<std::byte>(i * 3);
  bio w(op::write, 2048, 1024, out);
  observer ow;
  submit_inline(a, w, ow);
  CHECK(w.status() == errc::ok);
  CHECK(w.residual() == 0);
  CHECK(std::memcmp(a.device().media + 2048, out, 1024) == 0);

  bio r(op::read, 2048, 1024, in);
  observer orr;
  submit_inline(a, r, orr);
  CHECK(r.status() == errc::ok);
  CHECK(std::memcmp(in, out, 1024) == 0);
  // Contiguous memory: one call each, for the whole range.
  REQUIRE(a.device().calls.size() == 2);
  CHECK(a.device().calls[0].operation == op::write);
  CHECK(a.device().calls[0].offset == 2048);
  CHECK(a.device().calls[0].length == 1024);
  CHECK(a.device().calls[0].memory == &out[0]);
  CHECK(a.device().calls[1].operation == op::read);
  CHECK(a.device().calls[1].memory == &in[0]);
}

TEST_CASE("sync_adapter by reference drives the caller's device", "[sync_adapter]") {
  dev_plain dev;
  sync_adapter<dev_plain&> a(dev);
  CHECK(&a.device() == &dev);
  sync_adapter deduced(dev); // the deduction guide picks the reference form
  STATIC_REQUIRE(std::is_same_v<decltype(deduced), sync_adapter<dev_plain&>>);
  // A copy (even of a non-const adapter) refers to the same device.
  sync_adapter<dev_plain&> copy(a);
  CHECK(&copy.device() == &dev);

  dev.geo.block_count = 8; // geometry is read from the device at each submit
  CHECK(a.geometry().block_count == 8);
  std::byte mem[512];
  bio b(op::read, 8 * 512, 512, mem);
  observer o;
  submit_inline(a, b, o);
  CHECK(b.status() == errc::out_of_range);
  CHECK(dev.calls.empty());

  bio f(op::flush, 0, 0);
  observer of;
  submit_inline(deduced, f, of);
  CHECK(f.status() == errc::ok);
  REQUIRE(dev.calls.size() == 1);
  CHECK(dev.calls[0].operation == op::flush);
}

namespace {
// Three segments of uneven sizes, viewed from an offset inside the first.
struct sg_fixture {
  std::byte s0[1024], s1[512], s2[2048];
  segment list[3] = {{s0, 1024}, {s1, 512}, {s2, 2048}};
  // mem_offset 512: the bio's 2048 bytes are s0[512..1024), s1, s2[0..1024).
  void aim(bio& b, op o, std::uint64_t off) {
    b.prepare(o, off, 2048);
    b.segments = list;
    b.segment_count = 3;
    b.mem_offset = 512;
  }
};
} // namespace

TEST_CASE("scatter-gather: the device is called piece by piece", "[sync_adapter]") {
  dev_zeroes dev;
  sync_adapter a(dev);
  sg_fixture f;
  for (std::size_t i = 0; i < 1024; ++i) f.s0[i] = static_cast<std::byte>(0x10);
  for (std::size_t i = 0; i < 512; ++i) f.s1[i] = static_cast<std::byte>(0x20);
  for (std::size_t i = 0; i < 2048; ++i) f.s2[i] = static_cast<std::byte>(0x30);

  bio w;
  f.aim(w, op::write, 4096);
  observer o;
  submit_inline(a, w, o);
  CHECK(w.status() == errc::ok);
  CHECK(w.residual() == 0);
  REQUIRE(dev.calls.size() == 3);
  CHECK(dev.calls[0].offset == 4096);
  CHECK(dev.calls[0].memory == f.s0 + 512);
  CHECK(dev.calls[0].length == 512);
  CHECK(dev.calls[1].offset == 4096 + 512);
  CHECK(dev.calls[1].memory == &f.s1[0]);
  CHECK(dev.calls[1].length == 512);
  CHECK(dev.calls[2].offset == 4096 + 1024);
  CHECK(dev.calls[2].memory == &f.s2[0]);
  CHECK(dev.calls[2].length == 1024);
  for (std::size_t i = 0; i < 2048; ++i) {
    const auto want = static_cast<std::byte>(i < 512 ? 0x10 : i < 1024 ? 0x20 : 0x30);
    REQUIRE(u8(dev.media[4096 + i]) == u8(want));
  }

  // Read back into the same pieces after scribbling over them.
  std::memset(f.s0, 0, sizeof f.s0);
  std::memset(f.s1, 0, sizeof f.s1);
  std::memset(f.s2, 0, sizeof f.s2);
  bio r;
  f.aim(r, op::read, 4096);
  observer orr;
  submit_inline(a, r, orr);
  CHECK(r.status() == errc::ok);
  REQUIRE(dev.calls.size() == 6);
  CHECK(dev.calls[3].operation == op::read);
  CHECK(dev.calls[3].memory == f.s0 + 512);
  CHECK(dev.calls[5].length == 1024);
  CHECK(u8(f.s0[511]) == 0); // outside the bio's window
  CHECK(u8(f.s0[512]) == 0x10);
  CHECK(u8(f.s1[511]) == 0x20);
  CHECK(u8(f.s2[1023]) == 0x30);
  CHECK(u8(f.s2[1024]) == 0); // outside the bio's window
}

TEST_CASE("scatter-gather: a failing piece skips the rest and counts them as residual",
          "[sync_adapter]") {
  struct expectation {
    int fail_at;
    std::size_t calls;
    std::uint32_t residual;
  };
  // Pieces are 512, 512 and 1024 bytes long.
  const expectation cases[] = {{0, 1, 2048}, {1, 2, 1536}, {2, 3, 1024}};
  for (const op o : {op::read, op::write}) {
    for (const auto& c : cases) {
      CAPTURE(to_string(o), c.fail_at);
      dev_plain dev;
      dev.fail_at = c.fail_at;
      dev.fail_with = errc::media_error;
      sync_adapter a(dev);
      sg_fixture f;
      bio b;
      f.aim(b, o, 0);
      observer ob;
      submit_inline(a, b, ob);
      CHECK(b.status() == errc::media_error);
      CHECK(b.residual() == c.residual);
      CHECK(dev.calls.size() == c.calls);
    }
  }
}

TEST_CASE("a failing contiguous transfer reports everything as residual", "[sync_adapter]") {
  dev_plain dev;
  dev.fail_at = 0;
  dev.fail_with = errc::no_device;
  sync_adapter a(dev);
  std::byte mem[1536];
  bio b(op::read, 0, 1536, mem);
  observer o;
  submit_inline(a, b, o);
  CHECK(b.status() == errc::no_device);
  CHECK(b.residual() == 1536);
}

TEST_CASE("flush and discard pass through, with their errors", "[sync_adapter]") {
  dev_plain dev;
  sync_adapter a(dev);
  bio d(op::discard, 1024, 2048);
  observer od;
  submit_inline(a, d, od);
  CHECK(d.status() == errc::ok);
  REQUIRE(dev.calls.size() == 1);
  CHECK(dev.calls[0].operation == op::discard);
  CHECK(dev.calls[0].offset == 1024);
  CHECK(dev.calls[0].length == 2048);

  dev.fail_at = 1;
  dev.fail_with = errc::io_error;
  bio f(op::flush, 0, 0);
  observer of;
  submit_inline(a, f, of);
  CHECK(f.status() == errc::io_error);
  CHECK(f.residual() == 0);
}

TEST_CASE("write_zeroes: performed when offered, not_supported otherwise", "[sync_adapter]") {
  {
    dev_zeroes dev;
    sync_adapter a(dev);
    bio b(op::write_zeroes, 512, 1024);
    observer o;
    submit_inline(a, b, o);
    CHECK(b.status() == errc::ok);
    REQUIRE(dev.calls.size() == 1);
    CHECK(dev.calls[0].operation == op::write_zeroes);
    CHECK(dev.calls[0].offset == 512);
    CHECK(dev.calls[0].length == 1024);
    CHECK(u8(dev.media[511]) != 0);
    CHECK(u8(dev.media[512]) == 0);
    CHECK(u8(dev.media[1535]) == 0);
    CHECK(u8(dev.media[1536]) != 0);
  }
  {
    // The geometry claims support but the device has no write_zeroes: the
    // adapter must refuse, not emulate or drop the request.
    dev_plain dev;
    REQUIRE(dev.geo.supports_write_zeroes);
    sync_adapter a(dev);
    bio b(op::write_zeroes, 0, 512);
    observer o;
    submit_inline(a, b, o);
    CHECK(b.status() == errc::not_supported);
    CHECK(dev.calls.empty());
  }
  {
    // The geometry says no: validation refuses before the device is asked.
    dev_zeroes dev;
    dev.geo.supports_write_zeroes = false;
    sync_adapter a(dev);
    bio b(op::write_zeroes, 0, 512);
    observer o;
    submit_inline(a, b, o);
    CHECK(b.status() == errc::not_supported);
    CHECK(dev.calls.empty());
  }
}

TEST_CASE("invalid bios complete inline with their error and never reach the device",
          "[sync_adapter]") {
  dev_zeroes dev;
  dev.geo.read_only = true;
  sync_adapter a(dev);
  std::byte mem[512];
  bio w(op::write, 0, 512, mem);
  observer o;
  submit_inline(a, w, o);
  CHECK(w.status() == errc::read_only);
  bio r(op::read, 100, 512, mem);
  observer o2;
  submit_inline(a, r, o2);
  CHECK(r.status() == errc::misaligned);
  CHECK(dev.calls.empty());
}

TEST_CASE("perform_sync reports status and residual without completing", "[sync_adapter]") {
  dev_plain dev;
  dev.fail_at = 1;
  sg_fixture f;
  bio b;
  f.aim(b, op::write, 0);
  std::uint32_t residual = 12345;
  CHECK(perform_sync(dev, b, residual) == errc::media_error);
  CHECK(residual == 1536);
  CHECK_FALSE(b.completed());
  CHECK(b.status() == errc::ok);

  bio z(op::write_zeroes, 0, 512);
  residual = 99;
  CHECK(perform_sync(dev, z, residual) == errc::not_supported);
  CHECK(residual == 0);
}
