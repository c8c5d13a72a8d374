// Reference devices: ram_device, static_ram_device, null_device,
// heap_ram_device and recording_device. Also built without exceptions/RTTI.

#include <biostack/bio/chain.hpp>
#include <biostack/devices/faulty.hpp>
#include <biostack/devices/null.hpp>
#include <biostack/devices/ram.hpp>
#include <biostack/devices/recording.hpp>
#include <biostack/hosted/heap_ram_device.hpp>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <new>
#include <test_support.hpp>

using namespace biostack;

namespace {

struct done_probe {
  int calls = 0;
  errc status = errc::ok;
  std::uint32_t residual = 0;
  completion_action on_done(bio& b) noexcept {
    ++calls;
    status = b.status();
    residual = b.residual();
    return completion_action::proceed;
  }
  completion bind() noexcept { return bind_completion<&done_probe::on_done>(*this); }
};

// Submits one contiguous request and requires it to complete inline, exactly once.
template <class Dev>
errc run(Dev& dev, op o, std::uint64_t off, std::uint32_t len, std::byte* mem = nullptr,
         bio_flags flags = bio_flags::none, std::uint32_t* residual = nullptr) {
  done_probe p;
  bio b(o, off, len, mem, p.bind());
  b.flags = flags;
  dev.submit(b);
  REQUIRE(p.calls == 1);
  REQUIRE(b.completed());
  if (residual != nullptr) *residual = p.residual;
  return p.status;
}

void fill(std::byte* p, std::size_t n, unsigned seed) {
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::byte>((i * 7u + seed) & 0xffu);
}

bool all_zero(const std::byte* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != std::byte{0}) return false;
  return true;
}

// Checks every validation status through `dev` (a 8 KiB device, 512-byte
// blocks, supporting everything).
template <class Dev>
void check_validation(Dev& dev) {
  alignas(64) std::byte buf[1024] = {};
  const std::uint64_t cap = dev.geometry().capacity();
  CHECK(run(dev, op::read, cap - 512, 512, buf) == errc::ok);
  CHECK(run(dev, op::read, cap, 512, buf) == errc::out_of_range);
  CHECK(run(dev, op::read, cap - 512, 1024, buf) == errc::out_of_range);
  // offset + length wraps 2^64
  CHECK(run(dev, op::write, UINT64_MAX - 511, 1024, buf) == errc::out_of_range);
  CHECK(run(dev, op::read, 100, 512, buf) == errc::misaligned);
  CHECK(run(dev, op::read, 512, 100, buf) == errc::misaligned);
  CHECK(run(dev, op::read, 0, 0, buf) == errc::invalid_argument);
  CHECK(run(dev, op::write, 0, 512, nullptr) == errc::invalid_argument);
  CHECK(run(dev, op::flush, 0, 512) == errc::invalid_argument);
  CHECK(run(dev, static_cast<op>(9), 0, 512, buf) == errc::invalid_argument);
  CHECK(run(dev, op::discard, 0, 0) == errc::invalid_argument);
  CHECK(run(dev, op::write_zeroes, 4096, 100) == errc::misaligned);
}

} // namespace

TEST_CASE("ram_device: round trip through submit and the synchronous interface") {
  alignas(64) static std::byte mem[8192];
  std::memset(mem, 0xee, sizeof mem);
  ram_device dev(mem, sizeof mem);
  const device_geometry g = dev.geometry();
  CHECK(g.block_size == 512);
  CHECK(g.block_count == 16);
  CHECK(g.supports_discard);
  CHECK(g.supports_write_zeroes);

  std::byte out[1024];
  std::byte in[1024] = {};
  fill(out, sizeof out, 3);
  REQUIRE(run(dev, op::write, 1024, 1024, out) == errc::ok);
  CHECK(std::memcmp(mem + 1024, out, 1024) == 0);
  REQUIRE(run(dev, op::read, 1024, 1024, in) == errc::ok);
  CHECK(std::memcmp(in, out, 1024) == 0);
  CHECK(run(dev, op::flush, 0, 0) == errc::ok);

  std::byte sync_in[512];
  REQUIRE(dev.read(1536, sync_in, 512) == errc::ok);
  CHECK(std::memcmp(sync_in, out + 512, 512) == 0);
  CHECK(dev.read(8192, sync_in, 512) == errc::out_of_range);
  CHECK(dev.write(UINT64_MAX, sync_in, 512) == errc::out_of_range);

  REQUIRE(run(dev, op::discard, 1024, 512) == errc::ok);
  CHECK(all_zero(mem + 1024, 512));
  CHECK(std::memcmp(mem + 1536, out + 512, 512) == 0); // neighbours untouched
  REQUIRE(run(dev, op::write_zeroes, 1536, 512) == errc::ok);
  CHECK(all_zero(mem + 1536, 512));
  CHECK(std::to_integer<int>(mem[2048]) == 0xee);
}

TEST_CASE("ram_device: scatter-gather read and write via segments") {
  alignas(64) static std::byte mem[4096];
  std::memset(mem, 0, sizeof mem);
  ram_device dev(mem, sizeof mem);
  std::byte a[300], b2[212], c[512];
  fill(a, sizeof a, 1);
  fill(b2, sizeof b2, 2);
  fill(c, sizeof c, 3);
  const segment segs[] = {{a, 300}, {b2, 212}, {c, 512}};
  done_probe p;
  bio w(op::write, 512, 1024, nullptr, p.bind());
  w.segments = segs;
  w.segment_count = 3;
  dev.submit(w);
  REQUIRE(p.calls == 1);
  REQUIRE(p.status == errc::ok);
  CHECK(std::memcmp(mem + 512, a, 300) == 0);
  CHECK(std::memcmp(mem + 812, b2, 212) == 0);
  CHECK(std::memcmp(mem + 1024, c, 512) == 0);

  // Read the second block back into the same list viewed 512 bytes in.
  std::byte x[300] = {}, y[212] = {}, z[512] = {};
  const segment rsegs[] = {{x, 300}, {y, 212}, {z, 512}};
  done_probe q;
  bio r(op::read, 1024, 512, nullptr, q.bind());
  r.segments = rsegs;
  r.segment_count = 3;
  r.mem_offset = 512;
  dev.submit(r);
  REQUIRE(q.status == errc::ok);
  CHECK(std::memcmp(z, c, 512) == 0);
  CHECK(all_zero(x, sizeof x));

  SECTION("a segment list shorter than the length is invalid") {
    const segment shortl[] = {{a, 300}};
    done_probe s;
    bio bad(op::write, 0, 512, nullptr, s.bind());
    bad.segments = shortl;
    bad.segment_count = 1;
    dev.submit(bad);
    CHECK(s.status == errc::invalid_argument);
  }
  SECTION("a null segment list or a null segment pointer is invalid") {
    done_probe s;
    bio bad(op::write, 0, 512, nullptr, s.bind());
    bad.segment_count = 2;
    dev.submit(bad);
    CHECK(s.status == errc::invalid_argument);
    const segment nullseg[] = {{a, 256}, {nullptr, 256}};
    done_probe s2;
    bio bad2(op::write, 0, 512, nullptr, s2.bind());
    bad2.segments = nullseg;
    bad2.segment_count = 2;
    dev.submit(bad2);
    CHECK(s2.status == errc::invalid_argument);
  }
  SECTION("more segments than max_segments is invalid") {
    device_geometry g = dev.geometry();
    g.max_segments = 2;
    dev.set_geometry(g);
    done_probe s;
    bio bad(op::write, 0, 1024, nullptr, s.bind());
    bad.segments = segs;
    bad.segment_count = 3;
    dev.submit(bad);
    CHECK(s.status == errc::invalid_argument);
  }
}

TEST_CASE("ram_device: every validation status through the device") {
  alignas(64) static std::byte mem[8192];
  ram_device dev(mem, sizeof mem);
  check_validation(dev);

  SECTION("memory alignment") {
    device_geometry g = dev.geometry();
    g.alignment = 64;
    dev.set_geometry(g);
    alignas(64) std::byte buf[1024];
    CHECK(run(dev, op::read, 0, 512, buf) == errc::ok);
    CHECK(run(dev, op::read, 0, 512, buf + 8) == errc::misaligned);
  }
  SECTION("unsupported operations") {
    device_geometry g = dev.geometry();
    g.supports_discard = false;
    g.supports_write_zeroes = false;
    g.supports_flush = false;
    dev.set_geometry(g);
    CHECK(run(dev, op::discard, 0, 512) == errc::not_supported);
    CHECK(run(dev, op::write_zeroes, 0, 512) == errc::not_supported);
    CHECK(run(dev, op::flush, 0, 0) == errc::not_supported);
  }
  SECTION("read-only") {
    std::byte buf[512];
    fill(buf, sizeof buf, 9);
    REQUIRE(run(dev, op::write, 0, 512, buf) == errc::ok);
    device_geometry g = dev.geometry();
    g.read_only = true;
    dev.set_geometry(g);
    std::byte other[512] = {};
    CHECK(run(dev, op::write, 0, 512, other) == errc::read_only);
    CHECK(run(dev, op::discard, 0, 512) == errc::read_only);
    CHECK(run(dev, op::write_zeroes, 0, 512) == errc::read_only);
    CHECK(dev.write(0, other, 512) == errc::read_only);
    CHECK(dev.write_zeroes(0, 512) == errc::read_only);
    std::byte in[512] = {};
    CHECK(run(dev, op::read, 0, 512, in) == errc::ok);
    CHECK(std::memcmp(in, buf, 512) == 0);
  }
  SECTION("block size change keeps the capacity") {
    device_geometry g = dev.geometry();
    g.block_size = 4096;
    dev.set_geometry(g);
    CHECK(dev.geometry().block_count == 2);
    std::byte buf[512] = {};
    CHECK(run(dev, op::read, 0, 512, buf) == errc::misaligned);
  }
}

namespace {
// constinit: the build fails if the device needs start-up code, so a static
// instance stays in .bss (all zeroes) and costs nothing before main().
constinit static_ram_device<4096, 512, 64> g_static_disk;
} // namespace

TEST_CASE("static_ram_device: owns aligned zeroed storage") {
  CHECK(g_static_disk.geometry().capacity() == 4096);
  CHECK(reinterpret_cast<std::uintptr_t>(g_static_disk.memory()) % 64 == 0);
  CHECK(all_zero(g_static_disk.memory(), 4096));
  std::byte buf[512];
  fill(buf, sizeof buf, 5);
  REQUIRE(run(g_static_disk, op::write, 3584, 512, buf) == errc::ok);
  CHECK(std::memcmp(g_static_disk.memory() + 3584, buf, 512) == 0);
  CHECK(run(g_static_disk, op::write, 4096, 512, buf) == errc::out_of_range);
  static_assert(!std::is_copy_constructible_v<static_ram_device<4096>>);
}

TEST_CASE("static_ram_device: geometry from the template arguments") {
  static_ram_device<8192, 1024, 64> dev;
  const device_geometry g = dev.geometry();
  CHECK(g.block_size == 1024);
  CHECK(g.block_count == 8);
  CHECK(g.capacity() == 8192);
  CHECK(g.supports_flush);
  CHECK(g.supports_discard);
  CHECK(g.supports_write_zeroes);
  CHECK(g.supports_fua);
  CHECK_FALSE(g.read_only);
  CHECK(g.valid());
  // The same geometry as a ram_device over the same memory.
  ram_device same(dev.memory(), 8192, 1024);
  const device_geometry r = same.geometry();
  CHECK(std::memcmp(&r.block_size, &g.block_size, sizeof g.block_size) == 0);
  CHECK(r.block_count == g.block_count);
  CHECK((r.supports_flush == g.supports_flush && r.supports_discard == g.supports_discard &&
         r.supports_write_zeroes == g.supports_write_zeroes && r.supports_fua == g.supports_fua &&
         r.read_only == g.read_only && r.alignment == g.alignment &&
         r.max_transfer == g.max_transfer && r.max_segments == g.max_segments));
}

TEST_CASE("static_ram_device: an automatic instance starts zeroed, whatever the memory held") {
  using dev_type = static_ram_device<8192, 512, 32>;
  // Construct over memory full of garbage: only the constructor can zero it.
  alignas(dev_type) static unsigned char raw[sizeof(dev_type)];
  std::memset(raw, 0xA5, sizeof raw);
  dev_type* dev = new (raw) dev_type;
  CHECK(all_zero(dev->memory(), 8192));
  std::byte buf[1024];
  std::memset(buf, 0xFF, sizeof buf);
  REQUIRE(run(*dev, op::read, 1024, 1024, buf) == errc::ok);
  CHECK(all_zero(buf, sizeof buf));
  check_validation(*dev);
  dev->~dev_type();
}

TEST_CASE("static_ram_device: the synchronous interface and every operation") {
  static_ram_device<8192, 512, 64> dev;
  std::byte out[1024], in[1024];
  fill(out, sizeof out, 3);
  CHECK(dev.write(1024, out, sizeof out) == errc::ok);
  CHECK(std::memcmp(dev.memory() + 1024, out, sizeof out) == 0);
  CHECK(dev.read(1024, in, sizeof in) == errc::ok);
  CHECK(std::memcmp(in, out, sizeof in) == 0);
  CHECK(dev.read(8192 - 512, in, 1024) == errc::out_of_range);
  CHECK(dev.write(UINT64_MAX - 511, out, 1024) == errc::out_of_range);
  CHECK(dev.flush() == errc::ok);
  CHECK(dev.write_zeroes(1024, 512) == errc::ok);
  CHECK(all_zero(dev.memory() + 1024, 512));
  CHECK(dev.discard(1536, 512) == errc::ok);
  CHECK(all_zero(dev.memory() + 1024, 1024));
  CHECK(dev.discard(8192, 512) == errc::out_of_range);

  // Through submit: scatter-gather both ways, write_zeroes, discard, flush.
  std::byte a[512], b2[512];
  fill(a, sizeof a, 4);
  fill(b2, sizeof b2, 5);
  const segment w_segs[] = {{a, 512}, {b2, 512}};
  done_probe w;
  bio wb(op::write, 4096, 1024, nullptr, w.bind());
  wb.segments = w_segs;
  wb.segment_count = 2;
  dev.submit(wb);
  REQUIRE(w.calls == 1);
  CHECK(w.status == errc::ok);
  CHECK(std::memcmp(dev.memory() + 4096, a, 512) == 0);
  CHECK(std::memcmp(dev.memory() + 4608, b2, 512) == 0);
  std::byte ra[768] = {}, rb[256] = {};
  const segment r_segs[] = {{ra, 768}, {rb, 256}};
  done_probe r;
  bio rd(op::read, 4096, 1024, nullptr, r.bind());
  rd.segments = r_segs;
  rd.segment_count = 2;
  dev.submit(rd);
  REQUIRE(r.calls == 1);
  CHECK(r.status == errc::ok);
  CHECK(std::memcmp(ra, a, 512) == 0);
  CHECK(std::memcmp(ra + 512, b2, 256) == 0);
  CHECK(std::memcmp(rb, b2 + 256, 256) == 0);
  // A window that starts inside a segment (mem_offset 600: 88 bytes into
  // the second) and one over contiguous memory at an offset.
  std::byte sa[512], sb[512], sc[512];
  fill(sa, sizeof sa, 7);
  fill(sb, sizeof sb, 8);
  fill(sc, sizeof sc, 9);
  const segment win[] = {{sa, 512}, {sb, 512}, {sc, 512}};
  done_probe ww;
  bio wwin(op::write, 6144, 512, nullptr, ww.bind());
  wwin.segments = win;
  wwin.segment_count = 3;
  wwin.mem_offset = 600;
  dev.submit(wwin);
  REQUIRE(ww.calls == 1);
  CHECK(ww.status == errc::ok);
  CHECK(std::memcmp(dev.memory() + 6144, sb + 88, 424) == 0);
  CHECK(std::memcmp(dev.memory() + 6144 + 424, sc, 88) == 0);
  std::byte flat[1024];
  std::memset(flat, 0xEE, sizeof flat);
  done_probe fr;
  bio rflat(op::read, 6144, 512, flat, fr.bind());
  rflat.mem_offset = 100;
  dev.submit(rflat);
  REQUIRE(fr.calls == 1);
  CHECK(fr.status == errc::ok);
  CHECK(std::memcmp(flat + 100, dev.memory() + 6144, 512) == 0);
  CHECK(flat[99] == std::byte{0xEE});
  CHECK(flat[612] == std::byte{0xEE});

  CHECK(run(dev, op::write_zeroes, 4096, 512) == errc::ok);
  CHECK(all_zero(dev.memory() + 4096, 512));
  CHECK(run(dev, op::discard, 4608, 512) == errc::ok);
  CHECK(all_zero(dev.memory() + 4608, 512));
  CHECK(run(dev, op::flush, 0, 0) == errc::ok);
  check_validation(dev);
}

TEST_CASE("static_ram_device: as_ram_device() is a ram_device over the same storage") {
  static_ram_device<8192, 512, 64> dev;
  ram_device view = dev.as_ram_device();
  CHECK(view.memory() == dev.memory());
  CHECK(view.geometry().capacity() == dev.geometry().capacity());
  CHECK(view.geometry().block_size == dev.geometry().block_size);
  // Data written through either is seen through the other.
  std::byte out[512], in[512] = {};
  fill(out, sizeof out, 6);
  REQUIRE(run(view, op::write, 2048, 512, out) == errc::ok);
  CHECK(std::memcmp(dev.memory() + 2048, out, 512) == 0);
  REQUIRE(run(dev, op::read, 2048, 512, in) == errc::ok);
  CHECK(std::memcmp(in, out, 512) == 0);
  // Restricting the handle restricts only its users.
  device_geometry g = view.geometry();
  g.read_only = true;
  view.set_geometry(g);
  CHECK(run(view, op::write, 0, 512, out) == errc::read_only);
  CHECK_FALSE(dev.geometry().read_only);
  CHECK(run(dev, op::write, 0, 512, out) == errc::ok);
  // Layers written for ram_device take the handle.
  ram_device plain = dev.as_ram_device();
  faulty_device<ram_device&> f(plain);
  CHECK(run(f, op::read, 0, 512, in) == errc::ok);
  CHECK(std::memcmp(in, out, 512) == 0);
}

TEST_CASE("null_device: completes valid requests without touching memory") {
  null_device dev(512, 16);
  std::byte buf[512];
  std::memset(buf, 0x5a, sizeof buf);
  CHECK(run(dev, op::read, 0, 512, buf) == errc::ok);
  CHECK(std::to_integer<int>(buf[0]) == 0x5a);
  CHECK(run(dev, op::write, 512, 512, buf) == errc::ok);
  CHECK(run(dev, op::flush, 0, 0) == errc::ok);
  CHECK(run(dev, op::discard, 0, 1024) == errc::ok);
  check_validation(dev);
  CHECK(dev.submitted() == 4 + 12);

  null_device raw(512, 16, false);
  CHECK(run(raw, op::read, 1u << 20, 512, nullptr) == errc::ok); // validation off
}

TEST_CASE("heap_ram_device: owns aligned storage and behaves like ram_device") {
  auto made = heap_ram_device::create(8192, 512, 256);
  REQUIRE(made.has_value());
  heap_ram_device dev = std::move(made.value());
  CHECK(dev.geometry().capacity() == 8192);
  CHECK(reinterpret_cast<std::uintptr_t>(dev.memory()) % 256 == 0);
  CHECK(all_zero(dev.memory(), 8192));
  check_validation(dev);

  std::byte out[1024], in[1024] = {};
  fill(out, sizeof out, 11);
  REQUIRE(run(dev, op::write, 2048, 1024, out) == errc::ok);
  REQUIRE(dev.read(2048, in, 1024) == errc::ok);
  CHECK(std::memcmp(in, out, 1024) == 0);
  REQUIRE(dev.discard(2048, 512) == errc::ok);
  CHECK(all_zero(dev.memory() + 2048, 512));

  SECTION("moving transfers the disk and empties the source") {
    heap_ram_device moved = std::move(dev);
    CHECK(std::memcmp(moved.memory() + 2560, out + 512, 512) == 0);
    CHECK(dev.geometry().capacity() == 0); // NOLINT(bugprone-use-after-move): documented state
    CHECK(run(dev, op::read, 0, 512, in) == errc::out_of_range);
  }
  SECTION("geometry can be restricted, e.g. to DMA alignment") {
    device_geometry g = dev.geometry();
    g.alignment = 128;
    dev.set_geometry(g);
    alignas(128) std::byte buf[640];
    CHECK(run(dev, op::read, 0, 512, buf) == errc::ok);
    CHECK(run(dev, op::read, 0, 512, buf + 64) == errc::misaligned);
  }
  SECTION("bad creation parameters give a clear status") {
    CHECK(heap_ram_device::create(0).error() == errc::invalid_argument);
    CHECK(heap_ram_device::create(1000, 512).error() == errc::invalid_argument);
    CHECK(heap_ram_device::create(4096, 500).error() == errc::invalid_argument);
    CHECK(heap_ram_device::create(4096, 512, 48).error() == errc::invalid_argument);
    // More than the address space can hold: refused, not attempted.
    CHECK(heap_ram_device::create(UINT64_MAX - 511, 512).error() == errc::no_resources);
  }
}

TEST_CASE("recording_device: logs every request with its result") {
  alignas(64) static std::byte mem[8192];
  ram_device ram(mem, sizeof mem);
  recording_device<ram_device&, 8> rec(ram);
  CHECK(rec.geometry().capacity() == 8192);
  recording_device deduced(ram); // a device lvalue is borrowed, not copied
  static_assert(std::is_same_v<decltype(deduced), recording_device<ram_device&>>);
  static_assert(block_device<decltype(deduced)> && pollable<decltype(deduced)>);
  CHECK(&deduced.device() == &ram);

  std::byte buf[1024];
  fill(buf, sizeof buf, 4);
  done_probe p;
  bio w(op::write, 512, 1024, buf, p.bind());
  w.flags = bio_flags::fua | bio_flags::meta;
  w.priority = priority::realtime;
  rec.submit(w);
  REQUIRE(p.calls == 1);
  CHECK(p.status == errc::ok);
  CHECK(std::memcmp(mem + 512, buf, 1024) == 0);
  CHECK(w.on_done.fn != nullptr); // the caller's bio is left as it was
  CHECK(w.parent == nullptr);

  CHECK(run(rec, op::read, 8192, 512, buf) == errc::out_of_range);
  CHECK(run(rec, op::flush, 0, 0) == errc::ok);
  CHECK(run(rec, op::discard, 0, 1024) == errc::ok);

  REQUIRE(rec.size() == 4);
  const request_record& r0 = rec[0];
  CHECK(r0.sequence == 0);
  CHECK(r0.operation == op::write);
  CHECK(r0.offset == 512);
  CHECK(r0.length == 1024);
  CHECK(r0.flags == (bio_flags::fua | bio_flags::meta));
  CHECK(r0.priority == priority::realtime);
  CHECK(r0.completed);
  CHECK(r0.status == errc::ok);
  CHECK(r0.residual == 0);
  CHECK(r0.completion_order == 0);
  CHECK(rec[1].status == errc::out_of_range);
  CHECK(rec[1].completion_order == 1);
  CHECK(rec[2].operation == op::flush);
  CHECK(rec[3].operation == op::discard);

  CHECK(rec.count(op::write) == 1);
  CHECK(rec.count(op::read) == 1);
  CHECK(rec.count(op::flush) == 1);
  CHECK(rec.count(op::write_zeroes) == 0);
  CHECK(rec.bytes(op::write) == 1024);
  CHECK(rec.bytes(op::discard) == 1024);
  CHECK(rec.failed(op::read) == 1);
  CHECK(rec.failed(op::write) == 0);
  CHECK(rec.submitted() == 4);
  CHECK(rec.completed() == 4);
  CHECK(rec.in_flight() == 0);

  std::size_t n = 0;
  for (const request_record& r : rec.entries()) CHECK(r.sequence == n++);
  CHECK(n == 4);
  REQUIRE(rec.find(1) != nullptr);
  CHECK(rec.find(1)->operation == op::read);
  CHECK(rec.find(4) == nullptr);

  SECTION("the ring keeps the newest entries and counts the dropped ones") {
    for (int i = 0; i < 10; ++i) CHECK(run(rec, op::read, 0, 512, buf) == errc::ok);
    CHECK(rec.size() == 8);
    CHECK(rec.dropped() == 6);
    CHECK(rec[0].sequence == 6);
    CHECK(rec[7].sequence == 13);
    CHECK(rec.find(5) == nullptr);
    CHECK(rec.count(op::read) == 11); // counters are not limited by the ring
  }
  SECTION("clear forgets log and counters") {
    rec.clear();
    CHECK(rec.size() == 0);
    CHECK(rec.count(op::write) == 0);
    CHECK(rec.find(0) == nullptr);
    CHECK(run(rec, op::write_zeroes, 0, 512) == errc::ok);
    REQUIRE(rec.size() == 1);
    CHECK(rec[0].sequence == 4);
    CHECK(rec[0].operation == op::write_zeroes);
  }
}

TEST_CASE("recording_device: validation statuses and read-only pass through") {
  alignas(64) static std::byte mem[8192];
  ram_device ram(mem, sizeof mem);
  recording_device<ram_device&> rec(ram);
  check_validation(rec);
  CHECK(rec.failed(op::read) == 5);
  CHECK(rec[1].status == errc::out_of_range);
  CHECK(rec[4].status == errc::misaligned);

  device_geometry g = ram.geometry();
  g.read_only = true;
  ram.set_geometry(g);
  CHECK(rec.geometry().read_only);
  std::byte buf[512] = {};
  CHECK(run(rec, op::write, 0, 512, buf) == errc::read_only);
  CHECK(rec[rec.size() - 1].status == errc::read_only);
}

TEST_CASE("recording_device: scatter-gather bios keep their memory view") {
  alignas(64) static std::byte mem[4096];
  std::memset(mem, 0, sizeof mem);
  recording_device<ram_device> rec(mem, sizeof mem); // owns a ram_device
  std::byte a[256], b2[768];
  fill(a, sizeof a, 6);
  fill(b2, sizeof b2, 7);
  const segment segs[] = {{a, 256}, {b2, 768}};
  done_probe p;
  bio w(op::write, 0, 512, nullptr, p.bind());
  w.segments = segs;
  w.segment_count = 2;
  w.mem_offset = 512; // the last 512 bytes of the list
  rec.submit(w);
  REQUIRE(p.status == errc::ok);
  CHECK(std::memcmp(mem, b2 + 256, 512) == 0);
  CHECK(rec[0].segment_count == 2);
}

TEST_CASE("recording_device: observes out-of-order completion and parks when full") {
  alignas(64) static std::byte mem[8192];
  ram_device ram(mem, sizeof mem);
  faulty_device<ram_device&> slow(ram);
  REQUIRE(slow.add_rule(fault_rule::delay().always()) == errc::ok);
  slow.set_release_order(release_order::lifo);
  recording_device<faulty_device<ram_device&>&, 16, 2> rec(slow);

  std::byte buf[4][512];
  done_probe p[4];
  bio b[4];
  for (int i = 0; i < 4; ++i) {
    b[i].prepare(op::write, static_cast<std::uint64_t>(i) * 512, 512, buf[i], p[i].bind());
    fill(buf[i], 512, static_cast<unsigned>(i));
    rec.submit(b[i]);
  }
  CHECK(rec.in_flight() == 4);
  CHECK(rec.parked() == 2); // only two children
  CHECK(slow.held() == 2);
  for (auto& q : p) CHECK(q.calls == 0);

  // poll() is forwarded: it releases the two held (newest first), which
  // frees children for the parked two; those are held in turn.
  CHECK(rec.poll() == 2);
  CHECK(p[0].calls == 1);
  CHECK(p[1].calls == 1);
  CHECK(rec.parked() == 0);
  CHECK(slow.held() == 2);
  CHECK(rec.poll() == 2);
  for (auto& q : p) CHECK(q.calls == 1);
  CHECK(rec.in_flight() == 0);
  CHECK(rec.find(1)->completion_order == 0);
  CHECK(rec.find(0)->completion_order == 1);
  CHECK(rec.find(3)->completion_order == 2);
  CHECK(rec.find(2)->completion_order == 3);
  for (int i = 0; i < 4; ++i) CHECK(std::memcmp(mem + i * 512, buf[i], 512) == 0);
}

TEST_CASE("recording_device: children of a fan-in keep fan-in accounting") {
  alignas(64) static std::byte mem[4096];
  ram_device ram(mem, sizeof mem);
  faulty_device<ram_device&> faulty(ram);
  REQUIRE(faulty.add_rule(fault_rule::fail(errc::media_error).range(1024, 512)) == errc::ok);
  recording_device<faulty_device<ram_device&>&> rec(faulty);

  std::byte buf[2048] = {};
  done_probe parent_probe;
  bio parent(op::read, 0, 2048, buf, parent_probe.bind());
  bio child[4];
  begin_fan_in(parent);
  for (std::uint32_t i = 0; i < 4; ++i) {
    init_child(child[i], parent, i * 512, 512);
    add_child(parent, child[i]);
    rec.submit(child[i]);
  }
  CHECK(parent_probe.calls == 0); // submission not ended yet
  end_fan_in(parent);
  CHECK(parent_probe.calls == 1);
  CHECK(parent_probe.status == errc::media_error);
  CHECK(rec.failed(op::read) == 1);
  CHECK(rec[2].status == errc::media_error);
  CHECK(rec[2].residual == 512);
}

TEST_CASE("recording_device: a retry from the caller's callback is logged again") {
  alignas(64) static std::byte mem[4096];
  ram_device ram(mem, sizeof mem);
  faulty_device<ram_device&> faulty(ram);
  REQUIRE(faulty.add_rule(fault_rule::fail(errc::io_error).times(2)) == errc::ok);
  recording_device<faulty_device<ram_device&>&> rec(faulty);

  struct retrier {
    recording_device<faulty_device<ram_device&>&>* dev;
    int attempts = 0;
    bool finished = false;
    errc last = errc::ok;
    completion_action on_done(bio& b) noexcept {
      ++attempts;
      last = b.status();
      if (b.status() != errc::ok && attempts < 5) {
        b.rearm();
        dev->submit(b);
        return completion_action::stop;
      }
      finished = true;
      return completion_action::proceed;
    }
  } r{&rec};
  std::byte buf[512] = {};
  bio b(op::read, 0, 512, buf, bind_completion<&retrier::on_done>(r));
  rec.submit(b);
  CHECK(r.finished);
  CHECK(r.attempts == 3);
  CHECK(r.last == errc::ok);
  CHECK(rec.count(op::read) == 3);
  CHECK(rec.failed(op::read) == 2);
  CHECK(rec[2].status == errc::ok);
}

TEST_CASE("ram_device: set_geometry keeps the capacity of the memory in the new block size") {
  alignas(64) static std::byte mem[8192];
  ram_device dev(mem, sizeof mem);
  REQUIRE(dev.geometry().block_count == 16);
  device_geometry g = dev.geometry();
  g.block_size = 4096;
  g.block_count = 12345; // ignored: the memory decides
  dev.set_geometry(g);
  CHECK(dev.geometry().block_size == 4096);
  CHECK(dev.geometry().block_count == 2);
  CHECK(dev.geometry().capacity() == sizeof mem);
  g.block_size = 1024;
  dev.set_geometry(g);
  CHECK(dev.geometry().block_count == 8);
  CHECK(dev.geometry().capacity() == sizeof mem);
}
