// Split policies and split dispatch (xbuf brk / nestiobuf): pieces are fan-in
// children of the original bio, first error wins, residuals add up.
#include "dispatch_support.hpp"

#include <biostack/dispatch/dispatcher.hpp>
#include <biostack/split/boundary.hpp>
#include <biostack/split/max_transfer.hpp>
#include <biostack/split/none.hpp>
#include <biostack/stats/counters.hpp>
#include <catch2/catch.hpp>

using namespace biostack;
using dispatch_test::held_device;
using dispatch_test::probe;

namespace {
device_geometry geo(std::uint32_t max_transfer = 0) {
  device_geometry g;
  g.block_size = 512;
  g.block_count = 1 << 20;
  g.max_transfer = max_transfer;
  return g;
}
} // namespace

TEST_CASE("split policies: piece sizes") {
  const bio b{op::read, 1024, 10240};
  CHECK(no_split{}.chunk(b, 0, geo()) == 10240);
  CHECK(no_split{}.chunk(b, 4096, geo()) == 6144);
  CHECK(max_transfer<4096>{}.chunk(b, 0, geo()) == 4096);
  CHECK(max_transfer<4096>{}.chunk(b, 8192, geo()) == 2048);
  CHECK(max_transfer<4096>{}.chunk(b, 0, geo(2048)) == 2048); // the device is stricter
  CHECK(max_transfer<1000>{}.chunk(b, 0, geo()) == 512);      // rounded down to blocks
  CHECK(max_transfer<100>{}.chunk(b, 0, geo()) == 512);       // never below one block
  CHECK(device_limits{}.chunk(b, 0, geo()) == 10240);         // no device limit: whole
  CHECK(device_limits{}.chunk(b, 0, geo(8192)) == 8192);
  CHECK(boundary<4096>{}.chunk(b, 0, geo()) == 3072); // 1024 → 4096
  CHECK(boundary<4096>{}.chunk(b, 3072, geo()) == 4096);
  CHECK(boundary<4096>{}.chunk(b, 7168, geo()) == 3072); // rest
  CHECK(boundary<4096>{}.chunk(b, 3072, geo(2048)) == 2048);
}

TEST_CASE("xbuf brk: a broken-up parent completes once, after all pieces, with correct data") {
  held_device dev(1 << 20);
  dispatcher<held_device, policies<max_transfer<4096>, tags<4>, counters>> d{dev};
  probe w;
  w.prepare(op::write, 8192, 16384);
  for (std::size_t i = 0; i < w.mem.size(); ++i) w.mem[i] = static_cast<std::byte>(i * 7);
  d.submit(w.b);
  REQUIRE(dev.held() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(dev.held_bio(i).offset == 8192 + i * 4096);
    CHECK(dev.held_bio(i).length == 4096);
  }
  dev.complete_at(3);
  dev.complete_at(0);
  dev.complete_at(1);
  CHECK(w.completions == 0);
  dev.complete_next();
  CHECK(w.completions == 1);
  CHECK(w.status == errc::ok);
  CHECK(w.residual == 0);
  probe r;
  r.prepare(op::read, 8192, 16384);
  d.submit(r.b);
  dev.complete_all();
  CHECK(r.mem == w.mem);
  CHECK(d.stats().get().splits == 2);
  CHECK(d.stats().get().split_pieces == 8);
  CHECK(d.stats().get().completed == 2);
}

TEST_CASE("xbuf brk / blkback 13: completes only after the last piece; the first piece error wins; "
          "residuals add up") {
  held_device dev(1 << 20);
  dispatcher<held_device, policies<max_transfer<4096>, tags<4>>> d{dev};
  probe p;
  p.prepare(op::read, 0, 12288);
  d.submit(p.b);
  REQUIRE(dev.held() == 3);
  dev.complete_at(1, errc::media_error); // first error
  dev.complete_at(1, errc::io_error);    // later error does not overwrite
  dev.complete_next();
  CHECK(p.completions == 1);
  CHECK(p.status == errc::media_error);
  CHECK(p.residual == 8192);
}

TEST_CASE("split: a short piece without error fails the parent (a hole), residual counted") {
  held_device dev(1 << 20);
  dispatcher<held_device, policies<max_transfer<4096>, tags<4>>> d{dev};
  probe p;
  p.prepare(op::read, 0, 8192);
  d.submit(p.b);
  dev.complete_next(errc::ok, 512);
  dev.complete_next();
  CHECK(p.status == errc::io_error);
  CHECK(p.residual == 512);
}

TEST_CASE("split: pieces are issued in order and nothing overtakes a half-issued bio") {
  held_device dev(1 << 20);
  dispatcher<held_device, policies<boundary<4096>, tags<2>>> d{dev};
  probe big, small;
  big.prepare(op::read, 2048, 10240); // pieces 2048, 4096, 4096 (boundary-aligned)
  small.prepare(op::read, 65536, 512);
  d.submit(big.b);
  d.submit(small.b);
  REQUIRE(dev.held() == 2);
  dev.complete_next();
  dev.complete_next();
  dev.complete_all();
  const auto& log = dev.log();
  REQUIRE(log.size() == 4);
  CHECK(log[0].offset == 2048);
  CHECK(log[0].length == 2048);
  CHECK(log[1].offset == 4096);
  CHECK(log[2].offset == 8192);
  CHECK(log[2].length == 4096);
  CHECK(log[3].offset == 65536);
  CHECK(big.status == errc::ok);
  CHECK(small.status == errc::ok);
}

TEST_CASE("split device_limits: scatter-gather bios are split across segments correctly") {
  held_device dev(1 << 20);
  device_geometry g = dev.geometry();
  g.max_transfer = 1024;
  dev.set_geometry(g);
  dispatcher<held_device, policies<device_limits>> d{dev};
  CHECK(d.geometry().max_transfer == 0); // the layer above may send any size
  std::vector<std::byte> a(1536), c(1536);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<std::byte>(i);
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = static_cast<std::byte>(255 - i % 256);
  segment segs[2] = {{a.data(), 1536}, {c.data(), 1536}};
  bio w;
  int done = 0;
  w.prepare(op::write, 4096, 3072, nullptr,
            completion{[](bio&, void* x) noexcept {
                         ++*static_cast<int*>(x);
                         return completion_action::proceed;
                       },
                       &done});
  w.segments = segs;
  w.segment_count = 2;
  d.submit(w);
  dev.complete_all();
  CHECK(done == 1);
  CHECK(w.status() == errc::ok);
  CHECK(std::memcmp(dev.ram().memory() + 4096, a.data(), 1536) == 0);
  CHECK(std::memcmp(dev.ram().memory() + 4096 + 1536, c.data(), 1536) == 0);
  CHECK(dev.log().size() == 3);
}
