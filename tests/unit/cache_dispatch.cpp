// The cache over the tagged dispatcher (itself a block_device with poll()):
// deferred completions, an elevator queue, splitting to 1 KiB transfers and
// four tags, above a faulty_device that holds completions and fails some
// requests. Random operations are checked against a model; at the end
// everything the cache says is synced is on the medium.
#include "cache_support.hpp"
#include <biostack/cache/replacement/s3_fifo.hpp>
#include <biostack/completion/deferred.hpp>
#include <biostack/dispatch/dispatcher.hpp>
#include <biostack/queue/elevator.hpp>
#include <biostack/split/max_transfer.hpp>
#include <catch2/catch.hpp>

#include <random>

using namespace biostack;

namespace {
constexpr std::uint32_t bs = 4096;
constexpr std::uint64_t blocks = 40;

void stamp(std::byte* p, std::uint64_t lbn, std::uint32_t v) {
  const std::uint64_t w = (lbn << 32) | v;
  for (std::uint32_t i = 0; i < bs; i += 8) std::memcpy(p + i, &w, 8);
}
bool has_stamp(const std::byte* p, std::uint64_t lbn, std::uint32_t v) {
  std::byte want[bs];
  stamp(want, lbn, v);
  return v == 0 ? std::all_of(p, p + bs, [](std::byte b) { return b == std::byte{0}; })
                : std::memcmp(p, want, bs) == 0;
}
} // namespace

// Both ways of running the blocking forms: queued (the default) and in
// place (async_ops<0>), over the deferred completions of the dispatcher.
TEMPLATE_TEST_CASE("cache over the dispatcher: random operations keep the cache equal to the model",
                   "", async_ops<4>, async_ops<0>) {
  using faulty_t = faulty_device<ram_device&>;
  using disp_t =
      dispatcher<faulty_t,
                 policies<elevator<16>, max_transfer<1024>, deferred_completion, tags<4>>>;
  using cache_t = buffer_cache<
      disp_t, policies<static_storage<12, bs>, s3_fifo, io_slots<6>, poll_wait<100000>, TestType>>;
  std::unique_ptr<std::byte[]> mem(new std::byte[256 * 1024]());
  ram_device ram(mem.get(), 256 * 1024, 512);
  faulty_t faulty(ram);
  faulty.set_random({.seed = 9, .error_ppm = 10000, .delay_ppm = 400000, .max_delay_polls = 2});
  faulty.set_release_order(release_order::random);
  disp_t disp(faulty);
  auto c = std::make_unique<cache_t>(disp);

  std::mt19937 gen(5);
  const auto roll = [&gen](std::uint32_t n) { return static_cast<std::uint32_t>(gen()) % n; };
  std::vector<std::uint32_t> model(blocks, 0);
  std::uint32_t version = 1;
  std::size_t reads_ok = 0, syncs_ok = 0;
  for (int n = 0; n < 20000; ++n) {
    const std::uint64_t b = roll(blocks);
    switch (roll(10)) {
    case 0:
    case 1:
    case 2:
    case 3: {
      auto h = c->read(b);
      if (h) {
        ++reads_ok;
        INFO("block " << b << " op " << n);
        REQUIRE(has_stamp(h->data(), b, model[b]));
      } else {
        REQUIRE(h.error() == errc::io_error);
      }
      break;
    }
    case 4:
    case 5:
    case 6:
    case 7: {
      auto h = c->get(b);
      if (!h) break;
      stamp(h->data(), b, version);
      model[b] = version++;
      const auto how = roll(3);
      if (how == 0)
        (void)c->write_sync(std::move(*h));
      else if (how == 1)
        (void)c->write_async(std::move(*h));
      else
        c->write_delayed(std::move(*h));
      break;
    }
    case 8: c->flush_step(4); break;
    default:
      if (c->sync() == errc::ok) ++syncs_ok;
      break;
    }
  }
  faulty.set_random({});
  errc last = errc::ok;
  for (int i = 0; i < 20; ++i)
    if ((last = c->sync()) == errc::ok) break;
  REQUIRE(last == errc::ok);
  while (disp.poll() != 0) {
  }
  for (std::uint64_t b = 0; b < blocks; ++b) CHECK(has_stamp(mem.get() + b * bs, b, model[b]));
  CHECK(reads_ok > 5000);
  CHECK(syncs_ok > 100);
  CHECK(faulty.stats().delayed > 1000);
  CHECK(faulty.stats().errors > 50);
}
