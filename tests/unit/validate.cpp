// Unit tests: request validation (validate(), range_fits, geometry) and the
// same bad inputs through every reference device's submit.
#include <biostack/device/sync_adapter.hpp>
#include <biostack/device/validate.hpp>
#include <biostack/devices/null.hpp>
#include <biostack/devices/ram.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>

using namespace biostack;

namespace Catch {
template <>
struct StringMaker<errc> {
  static std::string convert(errc e) { return to_string(e); }
};
} // namespace Catch

namespace {

constexpr std::uint32_t bs = 512;
constexpr std::uint32_t blocks = 128;
constexpr std::uint64_t cap = std::uint64_t{bs} * blocks; // 64 KiB

// A synchronous device that only counts calls: validation must stop bad
// requests before any of them.
struct counting_sync {
  device_geometry geo{};
  int calls = 0;
  device_geometry geometry() const noexcept { return geo; }
  errc read(std::uint64_t, std::byte*, std::uint32_t) noexcept { return ++calls, errc::ok; }
  errc write(std::uint64_t, const std::byte*, std::uint32_t) noexcept { return ++calls, errc::ok; }
  errc flush() noexcept { return ++calls, errc::ok; }
  errc discard(std::uint64_t, std::uint32_t) noexcept { return ++calls, errc::ok; }
  errc write_zeroes(std::uint64_t, std::uint32_t) noexcept { return ++calls, errc::ok; }
};

struct done_count {
  int calls = 0;
};
completion_action count_done(bio&, void* ctx) noexcept {
  ++static_cast<done_count*>(ctx)->calls;
  return completion_action::proceed;
}

// Submits a freshly made bio to `dev` and returns its status, requiring
// exactly one completion, delivered inline.
template <class Dev>
errc submit_status(Dev& dev, const std::function<void(bio&)>& make) {
  bio b;
  make(b);
  done_count dc;
  b.on_done = completion{&count_done, &dc};
  dev.submit(b);
  REQUIRE(dc.calls == 1);
  REQUIRE(b.completed());
  return b.status();
}

alignas(64) std::byte ram_mem[cap];
alignas(64) std::byte buf[cap];

// A geometry with the given fields, the rest at their defaults.
constexpr device_geometry constant_geo(std::uint32_t block, std::uint64_t count,
                                       std::uint16_t max_segments, std::uint32_t align,
                                       bool read_only, bool flush, bool discard, bool zeroes) {
  device_geometry g;
  g.block_size = block;
  g.block_count = count;
  g.max_segments = max_segments;
  g.alignment = align;
  g.read_only = read_only;
  g.supports_flush = flush;
  g.supports_discard = discard;
  g.supports_write_zeroes = zeroes;
  return g;
}

// The default test geometry: 128 blocks of 512 bytes, every operation offered.
constexpr device_geometry base_geometry() {
  return constant_geo(bs, blocks, 0, 1, false, true, true, true);
}

// Checks `make`'s bio against `g` through validate(), ram_device,
// sync_adapter and (when `g` is what null_device offers) null_device. Bad
// requests never reach the synchronous device.
void expect(const device_geometry& g, errc want, const std::function<void(bio&)>& make,
            bool also_null = false) {
  bio b;
  make(b);
  CHECK(validate(b, g) == want);

  ram_device ram(ram_mem, cap, bs);
  ram.set_geometry(g);
  REQUIRE(ram.geometry().capacity() == g.capacity());
  CHECK(submit_status(ram, make) == want);

  counting_sync sync;
  sync.geo = g;
  sync_adapter<counting_sync&> adapter(sync);
  CHECK(submit_status(adapter, make) == want);
  if (want != errc::ok)
    CHECK(sync.calls == 0);
  else
    CHECK(sync.calls >= 1);

  if (also_null) {
    null_device nul(bs, blocks);
    CHECK(submit_status(nul, make) == want);
    CHECK(nul.submitted() == 1);
  }
}

auto rw(op o, std::uint64_t off, std::uint32_t len, std::byte* mem = buf) {
  return [=](bio& b) { b.prepare(o, off, len, mem); };
}

} // namespace

TEST_CASE("validate: good requests pass", "[validate]") {
  const auto g = base_geometry();
  expect(g, errc::ok, rw(op::read, 0, bs), true);
  expect(g, errc::ok, rw(op::write, bs, 4 * bs), true);
  expect(g, errc::ok, rw(op::flush, 0, 0, nullptr), true);
  expect(g, errc::ok, rw(op::discard, 0, bs, nullptr), true);
  expect(g, errc::ok, rw(op::write_zeroes, 2 * bs, bs, nullptr), true);
  // The whole device, and exactly the last block.
  expect(g, errc::ok, rw(op::read, 0, static_cast<std::uint32_t>(cap)), true);
  expect(g, errc::ok, rw(op::write, cap - bs, bs), true);
}

TEST_CASE("validate: past the end is out_of_range", "[validate]") {
  const auto g = base_geometry();
  expect(g, errc::out_of_range, rw(op::read, cap, bs), true);
  expect(g, errc::out_of_range, rw(op::write, cap - bs, 2 * bs), true);
  expect(g, errc::out_of_range, rw(op::discard, cap, bs, nullptr), true);
  expect(g, errc::out_of_range, rw(op::write_zeroes, cap + bs, bs, nullptr), true);
  expect(g, errc::out_of_range, rw(op::read, UINT64_MAX - bs + 1, bs), true);
}

TEST_CASE("validate: offset + length wrapping 2^64 is out_of_range", "[validate]") {
  const std::uint64_t near_end = UINT64_MAX - 511; // 512-aligned
  REQUIRE(near_end % bs == 0);
  // On the small device.
  expect(base_geometry(), errc::out_of_range, rw(op::read, near_end, 1024), true);

  // On a device whose capacity saturates at 2^64 - 1, where a naive
  // `offset + length <= capacity` would wrap to a small sum and pass.
  device_geometry huge = base_geometry();
  huge.block_count = std::uint64_t{1} << 55; // 2^64 bytes: saturates
  REQUIRE(huge.capacity() == UINT64_MAX);
  bio b;
  b.prepare(op::read, near_end, 1024, buf);
  CHECK(validate(b, huge) == errc::out_of_range);
  b.prepare(op::write, near_end - 512, 512, buf); // ends at 2^64 - 512: fits
  CHECK(validate(b, huge) == errc::ok);

  counting_sync sync;
  sync.geo = huge;
  sync_adapter<counting_sync&> adapter(sync);
  CHECK(submit_status(adapter, rw(op::read, near_end, 1024)) == errc::out_of_range);
  CHECK(submit_status(adapter, rw(op::write_zeroes, near_end, 0xFFFFFE00u, nullptr)) ==
        errc::out_of_range);
  CHECK(sync.calls == 0);

  null_device nul(bs, std::uint64_t{1} << 55);
  CHECK(submit_status(nul, rw(op::read, near_end, 1024)) == errc::out_of_range);
  CHECK(submit_status(nul, rw(op::discard, near_end, 0xFFFFFE00u, nullptr)) == errc::out_of_range);
  CHECK(submit_status(nul, rw(op::read, near_end - 512, 512)) == errc::ok);
}

TEST_CASE("validate: misaligned offset or length", "[validate]") {
  const auto g = base_geometry();
  expect(g, errc::misaligned, rw(op::read, 100, bs), true);
  expect(g, errc::misaligned, rw(op::write, 0, bs + 1), true);
  expect(g, errc::misaligned, rw(op::read, bs, 100), true);
  expect(g, errc::misaligned, rw(op::discard, 1, bs, nullptr), true);
  expect(g, errc::misaligned, rw(op::write_zeroes, 0, 7, nullptr), true);
  // With 4 KiB blocks, a 512-byte-aligned request is misaligned.
  device_geometry g4 = base_geometry();
  g4.block_size = 4096;
  g4.block_count = cap / 4096;
  expect(g4, errc::misaligned, rw(op::read, 512, 4096));
  expect(g4, errc::ok, rw(op::read, 4096, 4096));
}

TEST_CASE("validate: zero length", "[validate]") {
  const auto g = base_geometry();
  expect(g, errc::invalid_argument, rw(op::read, 0, 0), true);
  expect(g, errc::invalid_argument, rw(op::write, bs, 0), true);
  expect(g, errc::invalid_argument, rw(op::discard, 0, 0, nullptr), true);
  expect(g, errc::invalid_argument, rw(op::write_zeroes, 0, 0, nullptr), true);
  // A flush is the opposite: it must carry no range.
  expect(g, errc::invalid_argument, rw(op::flush, 0, bs, nullptr), true);
}

TEST_CASE("validate: modifications of a read-only device", "[validate]") {
  device_geometry g = base_geometry();
  g.read_only = true;
  expect(g, errc::read_only, rw(op::write, 0, bs));
  expect(g, errc::read_only, rw(op::discard, 0, bs, nullptr));
  expect(g, errc::read_only, rw(op::write_zeroes, 0, bs, nullptr));
  expect(g, errc::ok, rw(op::read, 0, bs));
  expect(g, errc::ok, rw(op::flush, 0, 0, nullptr));
  // read_only is reported before the range and alignment checks.
  expect(g, errc::read_only, rw(op::write, cap, bs));
  expect(g, errc::read_only, rw(op::write, 1, 0));
}

TEST_CASE("validate: operations the geometry does not offer", "[validate]") {
  device_geometry g = base_geometry();
  g.supports_flush = false;
  g.supports_discard = false;
  g.supports_write_zeroes = false;
  expect(g, errc::not_supported, rw(op::flush, 0, 0, nullptr));
  expect(g, errc::not_supported, rw(op::discard, 0, bs, nullptr));
  expect(g, errc::not_supported, rw(op::write_zeroes, 0, bs, nullptr));
  expect(g, errc::ok, rw(op::read, 0, bs));
  expect(g, errc::ok, rw(op::write, 0, bs));
  // Unsupported wins over read-only and over a bad range.
  g.read_only = true;
  expect(g, errc::not_supported, rw(op::discard, cap, 0, nullptr));
}

TEST_CASE("validate: unknown operation value", "[validate]") {
  const auto g = base_geometry();
  expect(g, errc::invalid_argument, rw(static_cast<op>(99), 0, bs), true);
  expect(g, errc::invalid_argument, rw(static_cast<op>(op_count), 0, bs), true);
  device_geometry ro = g;
  ro.read_only = true;
  expect(ro, errc::invalid_argument, rw(static_cast<op>(99), 0, bs));
}

TEST_CASE("validate: reads and writes need memory", "[validate]") {
  const auto g = base_geometry();
  expect(g, errc::invalid_argument, rw(op::read, 0, bs, nullptr), true);
  expect(g, errc::invalid_argument, rw(op::write, 0, bs, nullptr), true);
  // A segment list announced but absent.
  expect(
      g, errc::invalid_argument,
      [](bio& b) {
        b.prepare(op::read, 0, bs);
        b.segment_count = 2;
      },
      true);
}

namespace {
alignas(64) std::byte seg_mem[4][1024];
segment seg_list[4] = {{seg_mem[0], 512}, {seg_mem[1], 512}, {seg_mem[2], 512}, {seg_mem[3], 512}};

auto sg(op o, std::uint32_t len, std::uint16_t count, std::uint32_t mem_offset = 0,
        const segment* list = seg_list) {
  return [=](bio& b) {
    b.prepare(o, 0, len);
    b.segments = list;
    b.segment_count = count;
    b.mem_offset = mem_offset;
  };
}
} // namespace

TEST_CASE("validate: scatter-gather lists", "[validate]") {
  const auto g = base_geometry();
  expect(g, errc::ok, sg(op::write, 2048, 4), true);
  expect(g, errc::ok, sg(op::read, 1024, 4, 1024), true);
  // Too short for the length, alone or because of the memory offset.
  expect(g, errc::invalid_argument, sg(op::read, 2048, 3), true);
  expect(g, errc::invalid_argument, sg(op::write, 2048, 4, 512), true);
  expect(g, errc::invalid_argument, sg(op::read, 512, 1, 512), true);
}

TEST_CASE("validate: too many segments", "[validate]") {
  device_geometry g = base_geometry();
  g.max_segments = 2;
  expect(g, errc::invalid_argument, sg(op::read, 2048, 4));
  expect(g, errc::invalid_argument, sg(op::write, 1536, 3));
  expect(g, errc::ok, sg(op::write, 1024, 2));
}

TEST_CASE("validate: max_segments counts the segments a slice touches", "[validate]") {
  // A child of a split shares its parent's whole list at an offset; only the
  // segments under its own range matter to the device.
  device_geometry g = base_geometry();
  g.max_segments = 2;
  expect(g, errc::ok, sg(op::read, 1024, 4, 1024));              // segments 2 and 3
  expect(g, errc::ok, sg(op::write, 512, 4, 1536));              // segment 3 only
  expect(g, errc::ok, sg(op::read, 1024, 4, 512));               // segments 1 and 2
  expect(g, errc::invalid_argument, sg(op::read, 1536, 4, 512)); // 1, 2, 3
  // Empty segments carry nothing and do not count.
  static const segment with_holes[] = {{seg_mem[0], 512}, {nullptr, 0}, {seg_mem[1], 512}};
  expect(g, errc::ok, sg(op::read, 1024, 3, 0, with_holes));
}

TEST_CASE("validate: a null segment inside the range is invalid", "[validate]") {
  const auto g = base_geometry();
  static const segment bad_first[] = {{nullptr, 1024}, {seg_mem[1], 512}};
  static const segment bad_second[] = {{seg_mem[0], 512}, {nullptr, 512}};
  expect(g, errc::invalid_argument, sg(op::read, 512, 2, 0, bad_first), true);
  // The range starts inside the null segment: no pointer arithmetic on null.
  expect(g, errc::invalid_argument, sg(op::read, 512, 2, 512, bad_first), true);
  expect(g, errc::invalid_argument, sg(op::write, 1024, 2, 0, bad_second), true);
  // A null segment outside the range is not looked at.
  expect(g, errc::ok, sg(op::read, 512, 2, 1024, bad_first), true);
  expect(g, errc::ok, sg(op::read, 512, 2, 0, bad_second), true);
}

TEST_CASE("validate: memory alignment", "[validate]") {
  device_geometry g = base_geometry();
  g.alignment = 32;
  expect(g, errc::ok, rw(op::read, 0, bs, buf));
  expect(g, errc::misaligned, rw(op::read, 0, bs, buf + 16));
  expect(g, errc::misaligned, rw(op::write, 0, bs, buf + 1));
  // The address that counts is data + mem_offset.
  expect(g, errc::misaligned, [](bio& b) {
    b.prepare(op::read, 0, bs, buf);
    b.mem_offset = 16;
  });
  expect(g, errc::ok, [](bio& b) {
    b.prepare(op::read, 0, bs, buf + 16);
    b.mem_offset = 16;
  });
  // Scatter-gather: every piece is checked, the first one at its offset.
  static const segment second_off[] = {{seg_mem[0], 512}, {seg_mem[1] + 8, 512}};
  expect(g, errc::ok, sg(op::write, 2048, 4));
  expect(g, errc::misaligned, sg(op::write, 1024, 2, 0, second_off));
  expect(g, errc::ok, sg(op::write, 512, 2, 0, second_off));
  expect(g, errc::misaligned, sg(op::read, 512, 4, 8));
  // Without an alignment requirement the same requests pass.
  const auto g1 = base_geometry();
  expect(g1, errc::ok, rw(op::read, 0, bs, buf + 1), true);
  expect(g1, errc::ok, sg(op::write, 1024, 2, 0, second_off), true);
}

TEST_CASE("range_fits edge cases", "[validate]") {
  STATIC_REQUIRE(range_fits(0, 0, 0));
  STATIC_REQUIRE_FALSE(range_fits(0, 1, 0));
  STATIC_REQUIRE_FALSE(range_fits(1, 0, 0));
  STATIC_REQUIRE(range_fits(100, 0, 100));
  STATIC_REQUIRE(range_fits(0, 100, 100));
  STATIC_REQUIRE(range_fits(40, 60, 100));
  STATIC_REQUIRE_FALSE(range_fits(40, 61, 100));
  STATIC_REQUIRE_FALSE(range_fits(101, 0, 100));
  STATIC_REQUIRE(range_fits(UINT64_MAX, 0, UINT64_MAX));
  STATIC_REQUIRE(range_fits(0, UINT64_MAX, UINT64_MAX));
  STATIC_REQUIRE_FALSE(range_fits(1, UINT64_MAX, UINT64_MAX));
  STATIC_REQUIRE_FALSE(range_fits(UINT64_MAX, 1, UINT64_MAX));
  // The wrapped sum would be 1023, well inside the capacity.
  STATIC_REQUIRE_FALSE(range_fits(UINT64_MAX - 511, 1536, UINT64_MAX - 1));
  STATIC_REQUIRE_FALSE(range_fits(UINT64_MAX - 511, 1024, 1u << 20));
}

TEST_CASE("device_geometry capacity saturates and valid() checks the values", "[validate]") {
  device_geometry g;
  CHECK(g.capacity() == 0); // no blocks
  g.block_count = 8;
  CHECK(g.capacity() == 4096);
  g.block_size = 2;
  g.block_count = (std::uint64_t{1} << 63) - 1;
  CHECK(g.capacity() == UINT64_MAX - 1); // largest exact value
  g.block_count = std::uint64_t{1} << 63;
  CHECK(g.capacity() == UINT64_MAX); // 2^64 saturates
  g.block_size = 4096;
  g.block_count = UINT64_MAX;
  CHECK(g.capacity() == UINT64_MAX);
  g.block_count = std::uint64_t{1} << 52;
  CHECK(g.capacity() == UINT64_MAX);
  g.block_count = (std::uint64_t{1} << 52) - 1;
  CHECK(g.capacity() == UINT64_MAX - 4095);

  // A block size that is not a power of two is a malformed geometry: its
  // capacity is 0, so every ranged request is refused rather than checked
  // with a wrong alignment mask.
  device_geometry odd;
  odd.block_size = 500;
  odd.block_count = 16;
  CHECK(odd.capacity() == 0);
  std::byte odd_mem[1000];
  bio odd_read(op::read, 0, 1000, odd_mem);
  CHECK(validate(odd_read, odd) == errc::out_of_range);

  device_geometry v;
  CHECK(v.valid());
  v.block_size = 0;
  CHECK_FALSE(v.valid());
  v.block_size = 500;
  CHECK_FALSE(v.valid());
  v.block_size = 4096;
  CHECK(v.valid());
  v.alignment = 0;
  CHECK_FALSE(v.valid());
  v.alignment = 24;
  CHECK_FALSE(v.valid());
  v.alignment = 64;
  CHECK(v.valid());
  v.max_transfer = 6000;
  CHECK_FALSE(v.valid());
  v.max_transfer = 8192;
  CHECK(v.valid());
  v.max_transfer = 0; // unlimited
  CHECK(v.valid());
}

TEST_CASE("validate with a zero block size never divides by zero", "[validate]") {
  device_geometry g = base_geometry();
  g.block_size = 0;
  bio b;
  b.prepare(op::read, 0, 512, buf);
  CHECK(validate(b, g) == errc::out_of_range); // capacity 0
  b.prepare(op::flush, 0, 0);
  CHECK(validate(b, g) == errc::ok);
}

namespace {
// splitmix64: a seeded, reproducible stream for the model checks below.
struct splitmix {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
  }
};
} // namespace

TEST_CASE("validate's range check agrees with range_fits against capacity()", "[validate]") {
  // validate() checks the range block-wise, without computing the capacity;
  // the model is the byte-wise definition: offset + length within
  // capacity(), which saturates at 2^64 - 1. Every block size from 1 to
  // 2^31, block counts at and around the saturation point, ranges at and
  // around the end, aligned or not.
  splitmix rng{20261122};
  device_geometry g = base_geometry();
  int checked = 0;
  for (int k = 0; k < 32; ++k) {
    const std::uint32_t block = std::uint32_t{1} << k;
    g.block_size = block;
    const std::uint64_t limit = UINT64_MAX >> k; // largest count that does not saturate
    const std::uint64_t counts[] = {1,         2,          limit - 1,       limit,
                                    limit + 1, UINT64_MAX, rng.next() >> k, rng.next()};
    for (const std::uint64_t count : counts) {
      g.block_count = count;
      const std::uint64_t capacity = g.capacity();
      for (int i = 0; i < 64; ++i) {
        const std::uint64_t r = rng.next();
        // Lengths: one block, a random multiple, the largest multiple, or unaligned.
        std::uint32_t len = block;
        if ((r & 3) == 1) len = static_cast<std::uint32_t>(rng.next()) & ~(block - 1u);
        if ((r & 3) == 2) len = UINT32_MAX & ~(block - 1u);
        if ((r & 3) == 3) len = static_cast<std::uint32_t>(rng.next());
        if (len == 0) len = block;
        // Offsets: just inside, at or past the end, near 2^64, or random.
        const std::uint64_t delta = rng.next() & 0xffff;
        std::uint64_t off = 0;
        switch ((r >> 2) % 5) {
        case 0: off = capacity - len + (delta & 1 ? 0 : block); break;
        case 1: off = capacity - delta; break;
        case 2: off = capacity + delta; break;
        case 3: off = UINT64_MAX - delta; break;
        default: off = rng.next(); break;
        }
        if ((r >> 5) & 1) off &= ~std::uint64_t{block - 1u};
        bio b;
        b.prepare(op::discard, off, len);
        const errc want = !range_fits(off, len, capacity)     ? errc::out_of_range
                          : ((off | len) & (block - 1u)) != 0 ? errc::misaligned
                                                              : errc::ok;
        const errc got = validate(b, g);
        if (got != want) {
          INFO("block " << block << " count " << count << " offset " << off << " length " << len);
          CHECK(got == want);
        }
        ++checked;
      }
    }
  }
  CHECK(checked == 32 * 8 * 64);
}

TEST_CASE("validate: the last byte of a 2^64-byte device is out of reach", "[validate]") {
  // capacity() saturates at 2^64 - 1, so a request ending at exactly 2^64
  // does not fit; one ending a block earlier does.
  device_geometry g = base_geometry();
  g.block_count = std::uint64_t{1} << 55; // 2^64 bytes of 512-byte blocks
  bio b;
  b.prepare(op::discard, UINT64_MAX - 511, 512);
  CHECK(validate(b, g) == errc::out_of_range);
  b.prepare(op::discard, UINT64_MAX - 1023, 512);
  CHECK(validate(b, g) == errc::ok);
  g.block_size = std::uint32_t{1} << 31; // the largest block, the largest shift
  g.block_count = std::uint64_t{1} << 33;
  b.prepare(op::discard, UINT64_MAX - ((std::uint64_t{1} << 31) - 1), std::uint32_t{1} << 31);
  CHECK(validate(b, g) == errc::out_of_range);
  b.prepare(op::discard, (std::uint64_t{1} << 63), std::uint32_t{1} << 31);
  CHECK(validate(b, g) == errc::ok);
  g.block_count = std::uint64_t{1} << 32; // capacity 2^63: the same request is past the end
  CHECK(validate(b, g) == errc::out_of_range);
}

TEST_CASE("shift_right_below_32 matches a 64-bit shift", "[validate]") {
  // validate() uses it on 32-bit targets; the host checks it against `>>`.
  STATIC_REQUIRE(detail::shift_right_below_32(UINT64_MAX, 0) == UINT64_MAX);
  STATIC_REQUIRE(detail::shift_right_below_32(UINT64_MAX, 31) == UINT64_MAX >> 31);
  STATIC_REQUIRE(detail::shift_right_below_32(std::uint64_t{1} << 32, 1) == std::uint64_t{1} << 31);
  splitmix rng{7};
  for (int i = 0; i < 4096; ++i) {
    const std::uint64_t v = rng.next();
    const int shift = static_cast<int>(v % 32);
    const std::uint64_t x = rng.next() >> (v % 64);
    CHECK(detail::shift_right_below_32(x, shift) == x >> shift);
  }
}

TEST_CASE("top_bits_set matches the 64-bit saturation test", "[validate]") {
  // capacity() uses it on 32-bit targets; the host checks it against the
  // 64-bit form it replaces there.
  STATIC_REQUIRE_FALSE(detail::top_bits_set(UINT64_MAX, 0));
  STATIC_REQUIRE(detail::top_bits_set(std::uint64_t{1} << 63, 1));
  STATIC_REQUIRE_FALSE(detail::top_bits_set((std::uint64_t{1} << 32) - 1, 31));
  STATIC_REQUIRE(detail::top_bits_set(std::uint64_t{1} << 33, 31));
  splitmix rng{11};
  for (int i = 0; i < 4096; ++i) {
    const std::uint64_t r = rng.next();
    const int count = static_cast<int>(r % 32);
    const std::uint64_t v = rng.next() >> (r % 64);
    CHECK(detail::top_bits_set(v, count) == (v > (UINT64_MAX >> count)));
  }
}

TEST_CASE("shift_left_below_32 matches a 64-bit shift", "[validate]") {
  // capacity() uses it on 32-bit targets once top_bits_set() has ruled out
  // an overflow; the host checks it against `<<`, bits lost off the top
  // included.
  STATIC_REQUIRE(detail::shift_left_below_32(UINT64_MAX, 0) == UINT64_MAX);
  STATIC_REQUIRE(detail::shift_left_below_32(UINT64_MAX, 31) == UINT64_MAX << 31);
  STATIC_REQUIRE(detail::shift_left_below_32(std::uint64_t{1} << 31, 1) == std::uint64_t{1} << 32);
  STATIC_REQUIRE(detail::shift_left_below_32(0xffffffffu, 9) == std::uint64_t{0xffffffffu} << 9);
  splitmix rng{13};
  for (int i = 0; i < 4096; ++i) {
    const std::uint64_t v = rng.next();
    const int shift = static_cast<int>(v % 32);
    const std::uint64_t x = rng.next() >> (v % 64);
    CHECK(detail::shift_left_below_32(x, shift) == x << shift);
  }
}

TEST_CASE("device_geometry::valid checks each field on its own", "[validate]") {
  // valid() folds its three mask tests into one; each field must still be
  // able to fail it alone.
  STATIC_REQUIRE(device_geometry{}.valid());
  const auto with = [](auto change) {
    device_geometry g;
    g.max_transfer = 4096;
    g.alignment = 8;
    change(g);
    return g.valid();
  };
  CHECK(with([](device_geometry&) {}));
  CHECK_FALSE(with([](device_geometry& g) { g.block_size = 0; }));
  CHECK_FALSE(with([](device_geometry& g) { g.block_size = 768; }));
  CHECK_FALSE(with([](device_geometry& g) { g.alignment = 0; }));
  CHECK_FALSE(with([](device_geometry& g) { g.alignment = 12; }));
  CHECK_FALSE(with([](device_geometry& g) { g.max_transfer = 4096 + 256; }));
  CHECK(with([](device_geometry& g) { g.max_transfer = 0; }));
  CHECK(with([](device_geometry& g) { g.block_size = 4096; }));
  CHECK_FALSE(with([](device_geometry& g) { g.block_size = 8192; })); // 4096 not a multiple
}

// ---- validate<G>: the same checks against a geometry fixed at compile time --

namespace {

// Each decides some check differently: operations offered, read-only, block
// size, capacity (up to 2^64 bytes), alignment, segment limit, and a block
// size that is not a power of two (nothing fits).
constexpr device_geometry geo_plain = base_geometry();
constexpr device_geometry geo_strict = constant_geo(4096, 16, 2, 64, false, false, false, true);
constexpr device_geometry geo_ro = constant_geo(bs, blocks, 0, 8, true, true, false, false);
constexpr device_geometry geo_huge =
    constant_geo(bs, UINT64_MAX >> 9, 3, 1, false, true, true, false);
constexpr device_geometry geo_odd_block = constant_geo(768, blocks, 0, 1, false, true, true, true);
// Capacities on either side of 2^32 bytes (a constant capacity below it is
// checked in 32-bit words).
constexpr device_geometry geo_below_4g =
    constant_geo(bs, (std::uint64_t{1} << 23) - 1, 0, 1, false, true, true, true);
constexpr device_geometry geo_4g =
    constant_geo(bs, std::uint64_t{1} << 23, 0, 1, false, true, true, true);

alignas(64) std::byte big_mem[2][4096];
const segment aligned_segs[] = {{big_mem[0], 4096}, {big_mem[1], 4096}};
const segment odd_segs[] = {{big_mem[0] + 8, 512}, {big_mem[1], 4096}};
const segment null_segs[] = {{big_mem[0], 512}, {nullptr, 4096}};

// Every combination of operation, range and memory below, through both
// overloads; returns how many bios were compared.
template <device_geometry G>
int compare_overloads() {
  const op ops[] = {op::read,           op::write,        op::flush,
                    op::discard,        op::write_zeroes, static_cast<op>(op_count),
                    static_cast<op>(99)};
  constexpr std::uint64_t g4 = std::uint64_t{1} << 32;
  const std::uint64_t offsets[] = {0,
                                   1,
                                   512,
                                   4096,
                                   cap - 512,
                                   cap,
                                   cap - 4096,
                                   8192,
                                   g4 - 1024,
                                   g4 - 512,
                                   g4,
                                   g4 + 512,
                                   (UINT64_MAX >> 9) << 9,
                                   UINT64_MAX - 511,
                                   UINT64_MAX};
  const std::uint32_t lengths[] = {0, 1, 512, 1024, 4096, 8192, static_cast<std::uint32_t>(cap)};
  int compared = 0;
  for (const op o : ops) {
    for (const std::uint64_t off : offsets) {
      for (const std::uint32_t len : lengths) {
        for (int memory = 0; memory < 8; ++memory) {
          for (const std::uint32_t mem_offset : {0u, 512u}) {
            bio b;
            switch (memory) {
            case 0: b.prepare(o, off, len, buf); break;
            case 1: b.prepare(o, off, len, buf + 8); break;
            case 2: b.prepare(o, off, len, buf + 1); break;
            case 3: b.prepare(o, off, len, nullptr); break;
            case 4:
              b.prepare(o, off, len);
              b.segments = aligned_segs;
              b.segment_count = 2;
              break;
            case 5:
              b.prepare(o, off, len);
              b.segments = odd_segs;
              b.segment_count = 2;
              break;
            case 6:
              b.prepare(o, off, len);
              b.segments = null_segs;
              b.segment_count = 2;
              break;
            default: // a list announced but absent
              b.prepare(o, off, len);
              b.segment_count = 3;
              break;
            }
            b.mem_offset = mem_offset;
            INFO("op " << static_cast<int>(o) << " offset " << off << " length " << len
                       << " memory " << memory << " mem_offset " << mem_offset);
            CHECK(validate<G>(b) == validate(b, G));
            ++compared;
          }
        }
      }
    }
  }
  return compared;
}

} // namespace

TEST_CASE("validate<G>: agrees with validate(b, G) on every kind of input", "[validate]") {
  constexpr int per_geometry = 7 * 15 * 7 * 8 * 2;
  CHECK(compare_overloads<geo_plain>() == per_geometry);
  CHECK(compare_overloads<geo_strict>() == per_geometry);
  CHECK(compare_overloads<geo_ro>() == per_geometry);
  CHECK(compare_overloads<geo_huge>() == per_geometry);
  CHECK(compare_overloads<geo_odd_block>() == per_geometry);
  CHECK(compare_overloads<geo_below_4g>() == per_geometry);
  CHECK(compare_overloads<geo_4g>() == per_geometry);
}

TEST_CASE("validate<G>: each check against the constant gives its status", "[validate]") {
  const auto status = [](auto check, const std::function<void(bio&)>& make) {
    bio b;
    make(b);
    return check(b);
  };
  const auto plain = [](const bio& b) { return validate<geo_plain>(b); };
  const auto strict = [](const bio& b) { return validate<geo_strict>(b); };
  const auto ro = [](const bio& b) { return validate<geo_ro>(b); };
  const auto huge = [](const bio& b) { return validate<geo_huge>(b); };
  const auto odd = [](const bio& b) { return validate<geo_odd_block>(b); };

  CHECK(status(plain, rw(op::read, cap - bs, bs)) == errc::ok);
  CHECK(status(plain, rw(op::read, cap, bs)) == errc::out_of_range);
  CHECK(status(plain, rw(op::write, 100, bs)) == errc::misaligned);
  CHECK(status(plain, rw(op::write, 0, 0)) == errc::invalid_argument);
  CHECK(status(plain, rw(op::read, 0, bs, nullptr)) == errc::invalid_argument);
  CHECK(status(plain, rw(static_cast<op>(99), 0, bs)) == errc::invalid_argument);
  CHECK(status(plain, rw(op::flush, 0, 0, nullptr)) == errc::ok);
  CHECK(status(plain, rw(op::flush, 0, bs, nullptr)) == errc::invalid_argument);

  CHECK(status(strict, rw(op::flush, 0, 0, nullptr)) == errc::not_supported);
  CHECK(status(strict, rw(op::discard, 0, 4096, nullptr)) == errc::not_supported);
  CHECK(status(strict, rw(op::write_zeroes, 4096, 4096, nullptr)) == errc::ok);
  CHECK(status(strict, rw(op::read, 512, 4096)) == errc::misaligned);
  CHECK(status(strict, rw(op::read, 0, 4096, buf + 8)) == errc::misaligned);
  CHECK(status(strict, rw(op::read, 0, 4096, buf)) == errc::ok);
  // 8 KiB in three segments where two are allowed, and in two.
  static const segment three_segs[] = {
      {big_mem[0], 2048}, {big_mem[0] + 2048, 2048}, {big_mem[1], 4096}};
  CHECK(status(strict, sg(op::write, 8192, 3, 0, three_segs)) == errc::invalid_argument);
  CHECK(status(strict, sg(op::write, 8192, 2, 0, aligned_segs)) == errc::ok);
  CHECK(status(strict, sg(op::write, 1024, 2)) == errc::misaligned); // not whole 4 KiB blocks

  CHECK(status(ro, rw(op::write, 0, bs)) == errc::read_only);
  CHECK(status(ro, rw(op::read, 0, bs, buf + 8)) == errc::ok);
  CHECK(status(ro, rw(op::read, 0, bs, buf + 4)) == errc::misaligned);
  CHECK(status(ro, rw(op::discard, 0, bs, nullptr)) == errc::not_supported);

  CHECK(status(huge, rw(op::read, (UINT64_MAX >> 9) << 9, bs)) == errc::out_of_range);
  CHECK(status(huge, rw(op::read, ((UINT64_MAX >> 9) - 1) << 9, bs)) == errc::ok);
  CHECK(status(huge, rw(op::read, UINT64_MAX - 511, bs)) == errc::out_of_range);
  CHECK(status(huge, sg(op::read, 2048, 4)) == errc::invalid_argument); // 4 segments > 3

  CHECK(status(odd, rw(op::read, 0, 768)) == errc::out_of_range);

  const auto below_4g = [](const bio& b) { return validate<geo_below_4g>(b); };
  const auto at_4g = [](const bio& b) { return validate<geo_4g>(b); };
  constexpr std::uint64_t g4 = std::uint64_t{1} << 32;
  CHECK(status(below_4g, rw(op::read, g4 - 1024, bs)) == errc::ok);
  CHECK(status(below_4g, rw(op::read, g4 - 512, bs)) == errc::out_of_range);
  CHECK(status(below_4g, rw(op::read, g4 - 1024, 2 * bs)) == errc::out_of_range);
  CHECK(status(below_4g, rw(op::read, g4 + 512, bs)) == errc::out_of_range);
  CHECK(status(at_4g, rw(op::read, g4 - 512, bs)) == errc::ok);
  CHECK(status(at_4g, rw(op::read, g4, bs)) == errc::out_of_range);
}
