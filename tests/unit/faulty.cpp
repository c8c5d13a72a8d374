// faulty_device: scripted and random fault injection, path loss, held and
// out-of-order completion, short and torn transfers, power cut with volatile
// cache semantics. Also built without exceptions/RTTI.

#include <biostack/devices/faulty.hpp>
#include <biostack/devices/null.hpp>
#include <biostack/devices/ram.hpp>
#include <biostack/devices/recording.hpp>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>

using namespace biostack;

namespace {

constexpr std::uint32_t bs = 512;

struct probe {
  int calls = 0;
  errc status = errc::ok;
  std::uint32_t residual = 0;
  int order = -1; // global completion rank
  static inline int clock = 0;
  completion_action on_done(bio& b) noexcept {
    ++calls;
    status = b.status();
    residual = b.residual();
    order = clock++;
    return completion_action::proceed;
  }
  completion bind() noexcept { return bind_completion<&probe::on_done>(*this); }
};

// A request with its own probe and buffer, reusable.
struct request {
  bio b;
  probe p;
  alignas(8) std::byte buf[4096];
  void prepare(op o, std::uint64_t off, std::uint32_t len, bio_flags f = bio_flags::none) {
    p = probe{};
    b.prepare(o, off, len, carries_data(o) ? buf : nullptr, p.bind());
    b.flags = f;
  }
};

void pattern(std::byte* p, std::size_t n, unsigned seed) {
  for (std::size_t i = 0; i < n; ++i)
    p[i] = static_cast<std::byte>((i * 13u + seed * 101u + 1u) & 0xffu);
}
bool is_pattern(const std::byte* p, std::size_t n, unsigned seed) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != static_cast<std::byte>((i * 13u + seed * 101u + 1u) & 0xffu)) return false;
  return true;
}
bool is_fill(const std::byte* p, std::size_t n, std::byte v) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != v) return false;
  return true;
}

template <class Dev>
errc run(Dev& dev, op o, std::uint64_t off, std::uint32_t len, std::byte* mem = nullptr,
         bio_flags f = bio_flags::none, std::uint32_t* residual = nullptr) {
  probe p;
  bio b(o, off, len, mem, p.bind());
  b.flags = f;
  dev.submit(b);
  REQUIRE(p.calls == 1);
  if (residual != nullptr) *residual = p.residual;
  return p.status;
}

// Writes `seed`'s pattern to [off, off + len) and requires success.
template <class Dev>
void write_pattern(Dev& dev, std::uint64_t off, std::uint32_t len, unsigned seed,
                   bio_flags f = bio_flags::none) {
  static std::byte buf[8192];
  pattern(buf, len, seed);
  REQUIRE(run(dev, op::write, off, len, buf, f) == errc::ok);
}

struct disk {
  alignas(64) std::byte mem[16384];
  ram_device ram{mem, sizeof mem};
  disk() { std::memset(mem, 0xaa, sizeof mem); }
};

} // namespace

TEST_CASE("faulty: without faults it is transparent") {
  disk d;
  faulty_device<ram_device&> dev(d.ram);
  static_assert(block_device<faulty_device<ram_device&>>);
  faulty_device deduced(d.ram); // a device lvalue is borrowed, not copied
  static_assert(std::is_same_v<decltype(deduced), faulty_device<ram_device&>>);
  static_assert(pollable<decltype(deduced)>);
  CHECK(&deduced.device() == &d.ram);
  CHECK(dev.geometry().capacity() == sizeof d.mem);
  write_pattern(dev, 1024, 2048, 1);
  CHECK(is_pattern(d.mem + 1024, 2048, 1));
  std::byte in[2048];
  CHECK(run(dev, op::read, 1024, 2048, in) == errc::ok);
  CHECK(is_pattern(in, 2048, 1));
  CHECK(run(dev, op::flush, 0, 0) == errc::ok);
  CHECK(run(dev, op::discard, 0, 512) == errc::ok);
  CHECK(is_fill(d.mem, 512, std::byte{0}));
  // Bad input keeps its validation status and is not counted as a fault.
  CHECK(run(dev, op::read, sizeof d.mem, 512, in) == errc::out_of_range);
  CHECK(run(dev, op::read, 3, 512, in) == errc::misaligned);
  CHECK(run(dev, op::read, 0, 0, in) == errc::invalid_argument);
  CHECK(dev.stats().invalid == 3);
  CHECK(dev.stats().errors == 0);
  CHECK(dev.stats().submitted == 7);
}

TEST_CASE("faulty: error rules by operation, range, count and skip") {
  disk d;
  faulty_device<ram_device&> dev(d.ram);
  std::byte buf[1024];
  pattern(buf, sizeof buf, 3);

  SECTION("once, only for the operation and range named") {
    REQUIRE(dev.add_rule(fault_rule::fail(errc::media_error).only(op::write).range(4096, 1024)) ==
            errc::ok);
    CHECK(run(dev, op::write, 0, 1024, buf) == errc::ok);  // outside the range
    CHECK(run(dev, op::read, 4096, 512, buf) == errc::ok); // not a write
    std::uint32_t res = 0;
    CHECK(run(dev, op::write, 4608, 1024, buf, bio_flags::none, &res) == errc::media_error);
    CHECK(res == 1024);
    CHECK(is_fill(d.mem + 4608, 1024, std::byte{0xaa}));     // never reached the device
    CHECK(run(dev, op::write, 4608, 1024, buf) == errc::ok); // once only
    CHECK(dev.fired(0) == 1);
    CHECK(dev.stats().errors == 1);
  }
  SECTION("N times after skipping some") {
    REQUIRE(dev.add_rule(fault_rule::fail(errc::io_error).only(op::read).after(2).times(3)) ==
            errc::ok);
    errc got[8];
    for (errc& g : got) g = run(dev, op::read, 0, 512, buf);
    const errc want[8] = {errc::ok,       errc::ok, errc::io_error, errc::io_error,
                          errc::io_error, errc::ok, errc::ok,       errc::ok};
    for (int i = 0; i < 8; ++i) CHECK(got[i] == want[i]);
  }
  SECTION("always, including flushes, which match any range") {
    REQUIRE(
        dev.add_rule(fault_rule::fail(errc::timed_out).only(op::flush).range(0, 512).always()) ==
        errc::ok);
    for (int i = 0; i < 5; ++i) CHECK(run(dev, op::flush, 0, 0) == errc::timed_out);
    CHECK(dev.fired(0) == 5);
    dev.clear_rules();
    CHECK(run(dev, op::flush, 0, 0) == errc::ok);
  }
  SECTION("with a probability, reproducibly") {
    REQUIRE(dev.add_rule(fault_rule::fail().always().with_probability(300'000)) == errc::ok);
    dev.seed(7);
    int fails = 0;
    bool first[200];
    for (bool& f : first) {
      f = run(dev, op::read, 0, 512, buf) != errc::ok;
      fails += f ? 1 : 0;
    }
    CHECK(fails > 30); // 30% of 200 is 60; a broken draw gives 0 or 200
    CHECK(fails < 100);
    dev.seed(7);
    for (bool f : first) CHECK((run(dev, op::read, 0, 512, buf) != errc::ok) == f);
  }
  SECTION("rules are checked and limited") {
    CHECK(dev.add_rule(fault_rule::fail(errc::ok)) == errc::invalid_argument);
    CHECK(dev.add_rule(fault_rule::fail().ops_mask(0)) == errc::invalid_argument);
    faulty_device<ram_device&, faulty_limits<2>> small(d.ram);
    CHECK(small.add_rule(fault_rule::fail()) == errc::ok);
    CHECK(small.add_rule(fault_rule::fail()) == errc::ok);
    CHECK(small.add_rule(fault_rule::fail()) == errc::no_resources);
  }
  SECTION("the first firing outcome rule wins; the next one is not consumed") {
    REQUIRE(dev.add_rule(fault_rule::fail(errc::media_error)) == errc::ok);
    REQUIRE(dev.add_rule(fault_rule::fail(errc::io_error)) == errc::ok);
    CHECK(run(dev, op::read, 0, 512, buf) == errc::media_error);
    CHECK(run(dev, op::read, 0, 512, buf) == errc::io_error);
    CHECK(run(dev, op::read, 0, 512, buf) == errc::ok);
  }
}

TEST_CASE("faulty: path loss and restore") {
  disk d;
  faulty_device<ram_device&> dev(d.ram);
  std::byte buf[512];
  pattern(buf, sizeof buf, 4);

  dev.lose_path();
  CHECK(dev.path_lost());
  CHECK(run(dev, op::write, 0, 512, buf) == errc::no_device);
  CHECK(run(dev, op::flush, 0, 0) == errc::no_device);
  CHECK(is_fill(d.mem, 512, std::byte{0xaa}));
  dev.restore_path();
  CHECK(run(dev, op::write, 0, 512, buf) == errc::ok);
  CHECK(dev.stats().path_losses == 1);
  CHECK(dev.stats().path_failures == 2);

  SECTION("scripted loss after N requests") {
    REQUIRE(dev.lose_path_after(3) == errc::ok);
    for (int i = 0; i < 3; ++i) CHECK(run(dev, op::read, 0, 512, buf) == errc::ok);
    CHECK(run(dev, op::read, 0, 512, buf) == errc::no_device);
    CHECK(dev.path_lost());
    CHECK(run(dev, op::read, 0, 512, buf) == errc::no_device);
    dev.restore_path();
    CHECK(run(dev, op::read, 0, 512, buf) == errc::ok); // the rule fired once
  }
  SECTION("held completions of requests that reached the device still arrive") {
    REQUIRE(dev.add_rule(fault_rule::delay().only(op::read)) == errc::ok);
    request r;
    r.prepare(op::read, 0, 512);
    dev.submit(r.b);
    dev.lose_path();
    CHECK(dev.poll() == 1);
    CHECK(r.p.calls == 1);
    CHECK(r.p.status == errc::ok);
  }
}

TEST_CASE("faulty: held completions are released by poll, out of order") {
  disk d;
  faulty_device<ram_device&> dev(d.ram);
  REQUIRE(dev.add_rule(fault_rule::delay().always()) == errc::ok);
  static request r[6];
  auto submit_all = [&] {
    for (unsigned i = 0; i < 6; ++i) {
      r[i].prepare(op::read, i * bs, bs);
      dev.submit(r[i].b);
    }
    REQUIRE(dev.held() == 6);
    for (auto& x : r) REQUIRE(x.p.calls == 0);
  };
  auto ranks = [&](int(&out)[6]) {
    for (int i = 0; i < 6; ++i) out[i] = r[i].p.order;
  };

  SECTION("fifo") {
    submit_all();
    CHECK(dev.poll() == 6);
    CHECK(dev.poll() == 0);
    int o[6];
    ranks(o);
    for (int i = 1; i < 6; ++i) CHECK(o[i] == o[i - 1] + 1);
  }
  SECTION("lifo (reverse)") {
    dev.set_release_order(release_order::lifo);
    submit_all();
    CHECK(dev.release_all() == 6);
    int o[6];
    ranks(o);
    for (int i = 1; i < 6; ++i) CHECK(o[i] == o[i - 1] - 1);
  }
  SECTION("random permutation, reproducible from the seed") {
    dev.set_release_order(release_order::random);
    int first[6];
    bool any_out_of_order = false;
    for (std::uint64_t seed = 1; seed < 6 && !any_out_of_order; ++seed) {
      dev.seed(seed);
      submit_all();
      CHECK(dev.poll() == 6);
      ranks(first);
      for (int i = 1; i < 6; ++i) any_out_of_order |= first[i] < first[i - 1];
      // Same seed: same permutation.
      dev.seed(seed);
      submit_all();
      CHECK(dev.poll() == 6);
      int again[6];
      ranks(again);
      for (int i = 0; i < 6; ++i) CHECK(again[i] - again[0] == first[i] - first[0]);
      // Each completes exactly once.
      for (auto& x : r) CHECK(x.p.calls == 1);
    }
    CHECK(any_out_of_order);
  }
  SECTION("scripted order with release_at") {
    submit_all();
    CHECK(dev.held_request(2).offset == 2 * bs);
    REQUIRE(dev.release_at(2) == errc::ok);
    REQUIRE(dev.release_at(4) == errc::ok); // index 4 of the remaining five: request 5
    REQUIRE(dev.release_at(0) == errc::ok);
    CHECK(dev.release_at(3) == errc::out_of_range);
    CHECK(r[2].p.order < r[5].p.order);
    CHECK(r[5].p.order < r[0].p.order);
    CHECK(r[1].p.calls == 0);
    CHECK(dev.release_all() == 3);
    CHECK(dev.stats().delayed == 6);
    CHECK(dev.stats().released == 6);
  }
  SECTION("delay_polls holds for extra polls") {
    dev.clear_rules();
    REQUIRE(dev.add_rule(fault_rule::delay(2).only(op::write)) == errc::ok);
    REQUIRE(dev.add_rule(fault_rule::delay(0).only(op::read)) == errc::ok);
    request w, rd;
    w.prepare(op::write, 0, bs);
    rd.prepare(op::read, bs, bs);
    dev.submit(w.b);
    dev.submit(rd.b);
    CHECK(dev.poll() == 1);
    CHECK(rd.p.calls == 1);
    CHECK(dev.poll() == 0);
    CHECK(w.p.calls == 0);
    CHECK(dev.poll() == 1);
    CHECK(w.p.calls == 1);
    CHECK(w.p.order > rd.p.order); // completed after a later request
  }
  SECTION("a full hold array delivers at once and counts it") {
    faulty_device<ram_device&, faulty_limits<4, 2>> tiny(d.ram);
    REQUIRE(tiny.add_rule(fault_rule::delay().always()) == errc::ok);
    for (unsigned i = 0; i < 3; ++i) {
      r[i].prepare(op::read, 0, bs);
      tiny.submit(r[i].b);
    }
    CHECK(tiny.held() == 2);
    CHECK(r[2].p.calls == 1);
    CHECK(tiny.stats().hold_overflows == 1);
    CHECK(tiny.release_all() == 2);
  }
}

TEST_CASE("faulty: a completion callback may resubmit during poll") {
  disk d;
  faulty_device<ram_device&> dev(d.ram);
  REQUIRE(dev.add_rule(fault_rule::delay().times(2)) == errc::ok);
  struct resubmitter {
    faulty_device<ram_device&>* dev;
    int done = 0;
    completion_action on_done(bio& b) noexcept {
      if (++done == 1) {
        CHECK(dev->poll() == 0); // re-entrant poll is refused
        b.rearm();
        dev->submit(b); // held again (second firing): not released by this poll
        return completion_action::stop;
      }
      return completion_action::proceed;
    }
  } rs{&dev};
  std::byte buf[512];
  bio b(op::read, 0, 512, buf, bind_completion<&resubmitter::on_done>(rs));
  dev.submit(b);
  CHECK(dev.poll() == 1);
  CHECK(rs.done == 1);
  CHECK(dev.held() == 1);
  CHECK(dev.poll() == 1);
  CHECK(rs.done == 2);
  CHECK(b.completed());
}

TEST_CASE("faulty: short transfers move only a prefix and report a residual") {
  disk d;
  faulty_device<ram_device&> dev(d.ram);
  pattern(d.mem, 4096, 5);

  SECTION("read") {
    REQUIRE(dev.add_rule(fault_rule::short_transfer(1).only(op::read)) == errc::ok);
    std::byte in[2048];
    std::memset(in, 0x11, sizeof in);
    std::uint32_t res = 0;
    CHECK(run(dev, op::read, 0, 2048, in, bio_flags::none, &res) == errc::ok);
    CHECK(res == 1536);
    CHECK(is_pattern(in, 512, 5));
    CHECK(is_fill(in + 512, 1536, std::byte{0x11}));
    CHECK(dev.stats().short_transfers == 1);
  }
  SECTION("write; keep_blocks is capped below the request") {
    REQUIRE(dev.add_rule(fault_rule::short_transfer(9).only(op::write)) == errc::ok);
    std::byte out[1024];
    pattern(out, sizeof out, 6);
    std::uint32_t res = 0;
    CHECK(run(dev, op::write, 0, 1024, out, bio_flags::none, &res) == errc::ok);
    CHECK(res == 512);
    CHECK(is_pattern(d.mem, 512, 6));
    CHECK(std::memcmp(d.mem + 512, out + 512, 512) != 0);
  }
  SECTION("zero blocks kept: nothing moves") {
    REQUIRE(dev.add_rule(fault_rule::short_transfer(0)) == errc::ok);
    std::byte in[512];
    std::memset(in, 0x22, sizeof in);
    std::uint32_t res = 0;
    CHECK(run(dev, op::read, 0, 512, in, bio_flags::none, &res) == errc::ok);
    CHECK(res == 512);
    CHECK(is_fill(in, 512, std::byte{0x22}));
  }
  SECTION("short does not apply to flush or discard") {
    REQUIRE(dev.add_rule(fault_rule::short_transfer(0).ops_mask(all_ops)) == errc::ok);
    CHECK(run(dev, op::flush, 0, 0) == errc::ok);
    std::uint32_t res = 7;
    CHECK(run(dev, op::discard, 0, 1024, nullptr, bio_flags::none, &res) == errc::ok);
    CHECK(res == 0);
    CHECK(dev.fired(0) == 0);
  }
}

TEST_CASE("faulty: torn writes reach the device only in part") {
  disk d;
  faulty_device<ram_device&> dev(d.ram);
  std::byte out[2048];
  pattern(out, sizeof out, 8);

  SECTION("reported as an error") {
    REQUIRE(dev.add_rule(fault_rule::torn(1)) == errc::ok);
    std::uint32_t res = 0;
    CHECK(run(dev, op::write, 0, 2048, out, bio_flags::none, &res) == errc::io_error);
    CHECK(res == 1536);
    CHECK(is_pattern(d.mem, 512, 8));
    CHECK(is_fill(d.mem + 512, 1536, std::byte{0xaa}));
  }
  SECTION("reported as success: the device lies") {
    REQUIRE(dev.add_rule(fault_rule::torn(3, errc::ok)) == errc::ok);
    std::uint32_t res = 9;
    CHECK(run(dev, op::write, 0, 2048, out, bio_flags::none, &res) == errc::ok);
    CHECK(res == 0);
    CHECK(std::memcmp(d.mem, out, 1536) == 0);
    CHECK(is_fill(d.mem + 1536, 512, std::byte{0xaa}));
  }
  SECTION("torn write_zeroes") {
    REQUIRE(dev.add_rule(fault_rule::torn(2, errc::media_error)) == errc::ok);
    CHECK(run(dev, op::write_zeroes, 0, 2048) == errc::media_error);
    CHECK(is_fill(d.mem, 1024, std::byte{0}));
    CHECK(is_fill(d.mem + 1024, 1024, std::byte{0xaa}));
    CHECK(dev.stats().torn_writes == 1);
  }
}

namespace {

// One run of a mixed random workload; records what each request saw.
struct trace {
  errc status[400];
  std::uint32_t residual[400];
  int order[400];
  std::byte image[16384];
};

void random_run(std::uint64_t seed, trace& t) {
  static disk d;
  std::memset(d.mem, 0, sizeof d.mem);
  faulty_device<ram_device&, faulty_limits<4, 64>> dev(d.ram);
  random_faults rf;
  rf.seed = seed;
  rf.error_ppm = 50'000;
  rf.error_status = errc::media_error;
  rf.short_ppm = 50'000;
  rf.torn_ppm = 50'000;
  rf.delay_ppm = 300'000;
  rf.defer_ppm = 100'000;
  rf.max_delay_polls = 3;
  dev.set_random(rf);
  dev.set_release_order(release_order::random);
  static request r[400];
  probe::clock = 0;
  for (unsigned i = 0; i < 400; ++i) {
    const unsigned k = (i * 7u) % 5u;
    const op o = k == 0 ? op::read : k == 4 ? op::flush : k == 3 ? op::write_zeroes : op::write;
    const std::uint32_t len = o == op::flush ? 0u : ((i % 4u) + 1u) * bs;
    r[i].prepare(o, o == op::flush ? 0u : (i * 3u % 24u) * bs, len);
    pattern(r[i].buf, 4096, i);
    dev.submit(r[i].b);
    if (i % 5 == 4) (void)dev.poll();
  }
  while (dev.held() != 0) (void)dev.poll();
  for (unsigned i = 0; i < 400; ++i) {
    REQUIRE(r[i].p.calls == 1);
    t.status[i] = r[i].p.status;
    t.residual[i] = r[i].p.residual;
    t.order[i] = r[i].p.order;
  }
  std::memcpy(t.image, d.mem, sizeof t.image);
  CHECK(dev.stats().errors > 0);
  CHECK(dev.stats().short_transfers > 0);
  CHECK(dev.stats().torn_writes > 0);
  CHECK(dev.stats().delayed > 0);
  CHECK(dev.stats().deferred > 0);
}

bool same(const trace& a, const trace& b) {
  for (int i = 0; i < 400; ++i)
    if (a.status[i] != b.status[i] || a.residual[i] != b.residual[i] || a.order[i] != b.order[i])
      return false;
  return std::memcmp(a.image, b.image, sizeof a.image) == 0;
}

} // namespace

TEST_CASE("faulty: random schedules are reproducible from the seed") {
  static trace a, b, c;
  random_run(12345, a);
  random_run(12345, b);
  random_run(54321, c);
  CHECK(same(a, b));
  CHECK_FALSE(same(a, c));
  bool reordered = false;
  for (int i = 1; i < 400; ++i) reordered |= a.order[i] < a.order[i - 1];
  CHECK(reordered);
}

TEST_CASE("faulty: the generator is splitmix64, identical on every platform") {
  detail::splitmix64 g(0);
  // Reference outputs of splitmix64 seeded with 0.
  CHECK(g.next() == 0xe220a8397b1dcdafull);
  CHECK(g.next() == 0x6e789e6aa1b965f4ull);
  CHECK(g.next() == 0x06c45d188009454full);
}

// ---- power cut -------------------------------------------------------------

namespace {
using cut_device = faulty_device<ram_device&>;
}

TEST_CASE("faulty: power cut keeps exactly the writes covered by a completed flush") {
  disk d;
  cut_device dev(d.ram);
  CHECK(dev.geometry().volatile_cache);
  static_assert(cut_device::power_cut_emulation);

  SECTION("write, complete, flush, cut: kept") {
    write_pattern(dev, 0, 1024, 1);
    REQUIRE(run(dev, op::flush, 0, 0) == errc::ok);
    CHECK(dev.pending_changes() == 0);
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(is_pattern(d.mem, 1024, 1));
  }
  SECTION("write, cut: lost") {
    write_pattern(dev, 0, 1024, 1);
    CHECK(dev.pending_changes() == 1);
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(is_fill(d.mem, 1024, std::byte{0xaa}));
    CHECK(dev.stats().changes_undone == 1);
  }
  SECTION("flush submitted before the write completed: lost") {
    REQUIRE(dev.add_rule(fault_rule::delay().only(op::write)) == errc::ok);
    request w;
    w.prepare(op::write, 0, 1024);
    pattern(w.buf, 1024, 2);
    dev.submit(w.b);
    REQUIRE(w.p.calls == 0); // applied to the cache, completion held
    REQUIRE(run(dev, op::flush, 0, 0) == errc::ok);
    REQUIRE(dev.poll() == 1);
    REQUIRE(w.p.status == errc::ok);
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(is_fill(d.mem, 1024, std::byte{0xaa}));
  }
  SECTION("held flush: covers only what completed before its submission, once it completes") {
    REQUIRE(dev.add_rule(fault_rule::delay().only(op::flush)) == errc::ok);
    write_pattern(dev, 0, 512, 3);
    request f;
    f.prepare(op::flush, 0, 0);
    dev.submit(f.b);
    write_pattern(dev, 512, 512, 4); // completed after the flush was submitted
    SECTION("cut before the flush completes: both lost, the flush fails") {
      REQUIRE(dev.power_cut() == errc::ok);
      CHECK(f.p.status == errc::no_device);
      CHECK(is_fill(d.mem, 1024, std::byte{0xaa}));
    }
    SECTION("cut after: the first kept, the second lost") {
      REQUIRE(dev.poll() == 1);
      REQUIRE(f.p.status == errc::ok);
      REQUIRE(dev.power_cut() == errc::ok);
      CHECK(is_pattern(d.mem, 512, 3));
      CHECK(is_fill(d.mem + 512, 512, std::byte{0xaa}));
    }
  }
  SECTION("fua write: kept without a flush") {
    write_pattern(dev, 0, 512, 5, bio_flags::fua);
    write_pattern(dev, 512, 512, 6);
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(is_pattern(d.mem, 512, 5));
    CHECK(is_fill(d.mem + 512, 512, std::byte{0xaa}));
  }
  SECTION("write after the flush: lost") {
    write_pattern(dev, 0, 512, 7);
    REQUIRE(run(dev, op::flush, 0, 0) == errc::ok);
    write_pattern(dev, 0, 512, 8);
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(is_pattern(d.mem, 512, 7));
  }
  SECTION("a failed flush covers nothing") {
    REQUIRE(dev.add_rule(fault_rule::fail().only(op::flush)) == errc::ok);
    write_pattern(dev, 0, 512, 9);
    CHECK(run(dev, op::flush, 0, 0) == errc::io_error);
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(is_fill(d.mem, 512, std::byte{0xaa}));
  }
  SECTION("overlapping writes restore the correct older data") {
    write_pattern(dev, 0, 2048, 10);
    REQUIRE(run(dev, op::flush, 0, 0) == errc::ok);
    write_pattern(dev, 512, 512, 11);
    write_pattern(dev, 0, 1536, 12);
    write_pattern(dev, 1024, 1024, 13);
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(is_pattern(d.mem, 2048, 10));
    CHECK(dev.stats().changes_undone == 3);
  }
  SECTION("a durable newer change is not undone by an older pending one") {
    write_pattern(dev, 0, 2048, 14);                  // pending, blocks 0..3
    write_pattern(dev, 512, 512, 15, bio_flags::fua); // durable, block 1
    write_pattern(dev, 1024, 512, 16);                // pending, block 2
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(is_fill(d.mem, 512, std::byte{0xaa}));
    CHECK(is_pattern(d.mem + 512, 512, 15));
    CHECK(is_fill(d.mem + 1024, 1024, std::byte{0xaa}));
  }
  SECTION("discard and write_zeroes are undone") {
    write_pattern(dev, 0, 2048, 17);
    REQUIRE(run(dev, op::flush, 0, 0) == errc::ok);
    REQUIRE(run(dev, op::discard, 0, 1024) == errc::ok);
    REQUIRE(run(dev, op::write_zeroes, 1024, 512) == errc::ok);
    CHECK(is_fill(d.mem, 1536, std::byte{0}));
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(is_pattern(d.mem, 2048, 17));
  }
  SECTION("a torn write is undone too") {
    REQUIRE(dev.add_rule(fault_rule::torn(1, errc::ok)) == errc::ok);
    write_pattern(dev, 0, 1024, 18);
    CHECK(is_pattern(d.mem, 512, 18));
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(is_fill(d.mem, 1024, std::byte{0xaa}));
  }
  SECTION("held completions fail with no_device and their changes are undone, even fua") {
    REQUIRE(dev.add_rule(fault_rule::delay().always()) == errc::ok);
    request w, r;
    w.prepare(op::write, 0, 512, bio_flags::fua);
    pattern(w.buf, 512, 19);
    r.prepare(op::read, 4096, 512);
    dev.submit(w.b);
    dev.submit(r.b);
    CHECK(is_pattern(d.mem, 512, 19));
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(w.p.calls == 1);
    CHECK(w.p.status == errc::no_device);
    CHECK(r.p.calls == 1);
    CHECK(r.p.status == errc::no_device);
    CHECK(dev.held() == 0);
    CHECK(dev.stats().cut_in_flight == 2);
    CHECK(is_fill(d.mem, 512, std::byte{0xaa}));
    // The device works again afterwards (the rule fired once per request).
    dev.clear_rules();
    write_pattern(dev, 0, 512, 20);
    CHECK(is_pattern(d.mem, 512, 20));
  }
  SECTION("writes that failed before the device leave nothing to undo") {
    REQUIRE(dev.add_rule(fault_rule::fail().only(op::write)) == errc::ok);
    std::byte buf[512];
    pattern(buf, 512, 21);
    CHECK(run(dev, op::write, 0, 512, buf) == errc::io_error);
    CHECK(dev.pending_changes() == 0);
  }
  SECTION("a second cut after a cut has nothing to undo") {
    write_pattern(dev, 0, 512, 22);
    REQUIRE(dev.power_cut() == errc::ok);
    write_pattern(dev, 0, 512, 23);
    REQUIRE(run(dev, op::flush, 0, 0) == errc::ok);
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(is_pattern(d.mem, 512, 23));
    CHECK(dev.stats().power_cuts == 2);
  }
}

TEST_CASE("faulty: a full undo log destages the oldest change, like a drive cache") {
  disk d;
  SECTION("arena full") {
    faulty_device<ram_device&, faulty_limits<4, 8, 2048, 16>> dev(d.ram);
    for (unsigned i = 0; i < 4; ++i) write_pattern(dev, i * 1024, 1024, 30 + i);
    CHECK(dev.stats().destaged == 2);
    CHECK(dev.pending_changes() == 2);
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(is_pattern(d.mem, 1024, 30));
    CHECK(is_pattern(d.mem + 1024, 1024, 31));
    CHECK(is_fill(d.mem + 2048, 2048, std::byte{0xaa}));
  }
  SECTION("space freed by a flush is reused after compaction") {
    faulty_device<ram_device&, faulty_limits<4, 8, 2048, 16>> dev(d.ram);
    REQUIRE(dev.add_rule(fault_rule::delay().only(op::write)) == errc::ok);
    request held;
    held.prepare(op::write, 0, 512);
    pattern(held.buf, 512, 40);
    dev.submit(held.b);                             // oldest, pending (not completed)
    write_pattern(dev, 512, 1024, 41);              // completed
    REQUIRE(run(dev, op::flush, 0, 0) == errc::ok); // 41 durable, its bytes freed
    write_pattern(dev, 2048, 1024, 42);             // needs compaction, not destaging
    CHECK(dev.stats().destaged == 0);
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(held.p.status == errc::no_device);
    CHECK(is_fill(d.mem, 512, std::byte{0xaa}));
    CHECK(is_pattern(d.mem + 512, 1024, 41));
    CHECK(is_fill(d.mem + 2048, 1024, std::byte{0xaa}));
  }
  SECTION("entry table full") {
    faulty_device<ram_device&, faulty_limits<4, 8, 8192, 3>> dev(d.ram);
    for (unsigned i = 0; i < 5; ++i) write_pattern(dev, i * 512, 512, 50 + i);
    CHECK(dev.stats().destaged == 2);
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(is_pattern(d.mem, 512, 50));
    CHECK(is_pattern(d.mem + 512, 512, 51));
    CHECK(is_fill(d.mem + 1024, 1536, std::byte{0xaa}));
  }
  SECTION("a change larger than the arena is destaged at once, with everything older") {
    faulty_device<ram_device&, faulty_limits<4, 8, 1024, 16>> dev(d.ram);
    write_pattern(dev, 4096, 512, 60);
    write_pattern(dev, 0, 2048, 61);
    write_pattern(dev, 8192, 512, 62);
    CHECK(dev.stats().destaged == 2);
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(is_pattern(d.mem + 4096, 512, 60));
    CHECK(is_pattern(d.mem, 2048, 61));
    CHECK(is_fill(d.mem + 8192, 512, std::byte{0xaa}));
  }
}

TEST_CASE("faulty: asynchronous inner devices go through child bios") {
  disk d;
  // recording_device is a block_device without a synchronous interface, so
  // the faulty device submits children to it; the log shows what reached it.
  recording_device<ram_device&> rec(d.ram);
  faulty_device<recording_device<ram_device&>&, faulty_limits<8, 8, 0, 0, 2>> dev(rec);
  static_assert(!decltype(dev)::power_cut_emulation);
  CHECK_FALSE(dev.geometry().volatile_cache);
  CHECK(dev.power_cut() == errc::not_supported);

  std::byte buf[2048];
  pattern(buf, sizeof buf, 70);
  SECTION("plain, error, short, torn") {
    CHECK(run(dev, op::write, 0, 2048, buf) == errc::ok);
    REQUIRE(dev.add_rule(fault_rule::fail(errc::media_error).only(op::read)) == errc::ok);
    CHECK(run(dev, op::read, 0, 512, buf) == errc::media_error);
    CHECK(rec.count(op::read) == 0); // never reached the device
    REQUIRE(dev.add_rule(fault_rule::short_transfer(1).only(op::read)) == errc::ok);
    std::uint32_t res = 0;
    std::byte in[2048] = {};
    CHECK(run(dev, op::read, 0, 2048, in, bio_flags::none, &res) == errc::ok);
    CHECK(res == 1536);
    CHECK(is_pattern(in, 512, 70));
    CHECK(rec[rec.size() - 1].length == 512);
    REQUIRE(dev.add_rule(fault_rule::torn(2)) == errc::ok);
    CHECK(run(dev, op::write_zeroes, 0, 2048) == errc::io_error);
    CHECK(rec[rec.size() - 1].length == 1024);
    CHECK(is_fill(d.mem, 1024, std::byte{0}));
    CHECK(std::memcmp(d.mem + 1024, buf + 1024, 1024) == 0);
    CHECK(run(dev, op::flush, 0, 0) == errc::ok);
    CHECK(rec.count(op::flush) == 1);
  }
  SECTION("the device's own errors pass through") {
    CHECK(run(dev, op::discard, 0, 512) == errc::ok);
    device_geometry g = d.ram.geometry();
    g.read_only = true;
    d.ram.set_geometry(g);
    CHECK(run(dev, op::write, 0, 512, buf) == errc::read_only);
  }
  SECTION("held completions and a full child pool") {
    REQUIRE(dev.add_rule(fault_rule::delay().always()) == errc::ok);
    dev.set_release_order(release_order::lifo);
    static request r[5];
    for (unsigned i = 0; i < 5; ++i) {
      r[i].prepare(op::read, i * bs, bs);
      dev.submit(r[i].b);
    }
    // Children complete inline in the ram device; only completions are held.
    CHECK(dev.held() == 5);
    CHECK(dev.poll() == 5);
    for (unsigned i = 0; i < 5; ++i) CHECK(r[i].p.order == static_cast<int>(4 - i) + r[4].p.order);
  }
}

TEST_CASE("faulty: child pool exhaustion parks requests in order") {
  // An inner device that only completes from poll(): children stay busy.
  disk d;
  faulty_device<ram_device&> slow(d.ram);
  REQUIRE(slow.add_rule(fault_rule::delay().always()) == errc::ok);
  recording_device<faulty_device<ram_device&>&> rec(slow); // hides the sync interface
  faulty_device<recording_device<faulty_device<ram_device&>&>&, faulty_limits<4, 8, 0, 0, 2>> dev(
      rec);
  static request r[5];
  for (unsigned i = 0; i < 5; ++i) {
    r[i].prepare(op::read, i * bs, bs);
    dev.submit(r[i].b);
  }
  CHECK(slow.held() == 2); // two children in flight, three parked
  CHECK(rec.count(op::read) == 2);
  std::size_t rounds = 0;
  while (r[4].p.calls == 0 && rounds++ < 10) (void)dev.poll();
  for (auto& x : r) CHECK(x.p.calls == 1);
  for (unsigned i = 0; i < 5; ++i) CHECK(rec[i].offset == i * bs); // FIFO order kept
}

// ---- power cut against an independent model --------------------------------
//
// Random rounds of writes (some FUA), discards, write_zeroes and flushes with
// completions held and released in a random order, each round ending in a
// power cut. The model says which changes are durable — completed FUA
// changes, and changes that completed before a successful flush was
// submitted — and expects the disk to hold exactly those, applied in order
// over the image the round started from.

namespace {

struct model_request {
  bio b;
  op operation = op::write;
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
  bool fua = false;
  long submitted_at = 0;
  long completed_at = -1;
  bool deferred = false; // carried out when released, not when submitted
  errc status = errc::ok;
  alignas(8) std::byte buf[2048];
  static inline long clock = 0;
  completion_action on_done(bio& bb) noexcept {
    completed_at = ++clock;
    status = bb.status();
    return completion_action::proceed;
  }
};

} // namespace

TEST_CASE("faulty: power cut model over random interleavings") {
  constexpr std::uint32_t blocks = 16;
  constexpr std::size_t rounds = 2000;
  constexpr std::size_t ops_per_round = 40;
  static disk d;
  std::memset(d.mem, 0, sizeof d.mem);
  static faulty_device<ram_device&, faulty_limits<4, 64, 128 * 1024, 256>> dev(d.ram);
  random_faults rf;
  rf.seed = 2026;
  rf.delay_ppm = 300'000;
  rf.defer_ppm = 200'000;
  rf.max_delay_polls = 2;
  dev.set_random(rf);
  dev.set_release_order(release_order::random);

  static model_request req[ops_per_round];
  static std::size_t durable_idx[ops_per_round];
  static std::byte expected[blocks * bs];
  std::memset(expected, 0, sizeof expected);
  detail::splitmix64 pick(99);
  std::size_t durable_total = 0, lost_total = 0;

  for (std::size_t round = 0; round < rounds; ++round) {
    std::size_t n = 0;
    for (; n < ops_per_round; ++n) {
      model_request& r = req[n];
      const std::uint32_t k = pick.below(10);
      r.operation = k < 6 ? op::write : k < 7 ? op::discard : k < 8 ? op::write_zeroes : op::flush;
      r.fua = r.operation != op::flush && pick.below(5) == 0;
      if (r.operation == op::flush) {
        r.offset = 0;
        r.length = 0;
      } else {
        const std::uint32_t first = pick.below(blocks);
        const std::uint32_t max_len = blocks - first < 4 ? blocks - first : 4;
        r.offset = first * bs;
        r.length = (1 + pick.below(max_len)) * bs;
      }
      pattern(r.buf, sizeof r.buf, static_cast<unsigned>(round * 64 + n));
      r.b.prepare(r.operation, r.offset, r.length, r.operation == op::write ? r.buf : nullptr,
                  bind_completion<&model_request::on_done>(r));
      if (r.fua) r.b.flags = bio_flags::fua;
      r.completed_at = -1;
      r.submitted_at = ++model_request::clock;
      const std::uint64_t deferred_before = dev.stats().deferred;
      dev.submit(r.b);
      r.deferred = dev.stats().deferred != deferred_before;
      if (pick.below(4) == 0) (void)dev.poll();
    }
    REQUIRE(dev.power_cut() == errc::ok);

    // Everything completed exactly once: before the cut, or by it.
    for (std::size_t i = 0; i < n; ++i) {
      REQUIRE(req[i].b.completed());
      REQUIRE(req[i].completed_at > 0);
    }
    // A change reaches the medium when submitted, or when released if it
    // was deferred (its completion follows at once, nothing in between).
    auto applied_at = [](const model_request& m) {
      return m.deferred ? m.completed_at : m.submitted_at;
    };
    std::size_t durable_count = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const model_request& w = req[i];
      if (w.operation == op::flush) continue;
      bool durable = false;
      if (w.status == errc::ok) {
        durable = w.fua;
        for (std::size_t j = 0; j < n && !durable; ++j) {
          const model_request& f = req[j];
          durable =
              f.operation == op::flush && f.status == errc::ok && f.submitted_at > w.completed_at;
        }
      }
      if (!durable) {
        ++lost_total;
        continue;
      }
      ++durable_total;
      std::size_t k = durable_count++; // insertion sort by application time
      for (; k > 0 && applied_at(req[durable_idx[k - 1]]) > applied_at(w); --k)
        durable_idx[k] = durable_idx[k - 1];
      durable_idx[k] = i;
    }
    for (std::size_t k = 0; k < durable_count; ++k) {
      const model_request& w = req[durable_idx[k]];
      if (w.operation == op::write)
        std::memcpy(expected + w.offset, w.buf, w.length);
      else
        std::memset(expected + w.offset, 0, w.length);
    }
    INFO("round " << round);
    REQUIRE(std::memcmp(d.mem, expected, sizeof expected) == 0);
  }
  CHECK(dev.stats().destaged == 0);
  CHECK(dev.stats().cut_in_flight > 0);
  CHECK(dev.stats().deferred > rounds);
  // The schedule exercised both outcomes plentifully.
  CHECK(durable_total > rounds * 5);
  CHECK(lost_total > rounds * 5);
}

TEST_CASE("faulty: owns its inner device when D is a value type") {
  faulty_device<null_device> dev(512u, std::uint64_t{64});
  CHECK(dev.geometry().capacity() == 64 * 512);
  CHECK(dev.device().submitted() == 0);
  REQUIRE(dev.add_rule(fault_rule::fail(errc::media_error).only(op::discard)) == errc::ok);
  std::byte buf[512];
  CHECK(run(dev, op::read, 0, 512, buf) == errc::ok);
  CHECK(run(dev, op::discard, 0, 512) == errc::media_error);
  CHECK(run(dev, op::discard, 0, 512) == errc::ok);
  CHECK(run(dev, op::read, 64 * 512, 512, buf) == errc::out_of_range);
  CHECK(dev.device().submitted() == 2); // the failed and the invalid never reached it
}

TEST_CASE("faulty: deferred requests reach the device when released") {
  disk d;
  faulty_device<ram_device&> dev(d.ram);
  SECTION("overlapping writes land in release order") {
    REQUIRE(dev.add_rule(fault_rule::defer().only(op::write)) == errc::ok);
    request w1;
    w1.prepare(op::write, 0, 1024);
    pattern(w1.buf, 1024, 80);
    dev.submit(w1.b);
    CHECK(is_fill(d.mem, 1024, std::byte{0xaa})); // not carried out yet
    write_pattern(dev, 0, 1024, 81);              // second write, not deferred
    CHECK(is_pattern(d.mem, 1024, 81));
    CHECK(dev.poll() == 1);
    CHECK(w1.p.status == errc::ok);
    CHECK(is_pattern(d.mem, 1024, 80)); // the older write landed last
    CHECK(dev.stats().deferred == 1);
  }
  SECTION("a deferred read sees what was written before its release") {
    write_pattern(dev, 0, 512, 82);
    REQUIRE(dev.add_rule(fault_rule::defer(1).only(op::read)) == errc::ok);
    request r;
    r.prepare(op::read, 0, 512);
    dev.submit(r.b);
    write_pattern(dev, 0, 512, 83);
    CHECK(dev.poll() == 0); // one extra poll
    CHECK(dev.poll() == 1);
    CHECK(is_pattern(r.buf, 512, 83));
  }
  SECTION("a power cut fails deferred requests; they changed nothing") {
    REQUIRE(dev.add_rule(fault_rule::defer().only(op::write)) == errc::ok);
    request w;
    w.prepare(op::write, 0, 512, bio_flags::fua);
    pattern(w.buf, 512, 84);
    dev.submit(w.b);
    CHECK(dev.pending_changes() == 0);
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(w.p.status == errc::no_device);
    CHECK(is_fill(d.mem, 512, std::byte{0xaa}));
    CHECK(dev.stats().changes_undone == 0);
  }
  SECTION("a deferred flush covers what completed before it was submitted") {
    REQUIRE(dev.add_rule(fault_rule::defer().only(op::flush)) == errc::ok);
    write_pattern(dev, 0, 512, 85);
    request f;
    f.prepare(op::flush, 0, 0);
    dev.submit(f.b);
    write_pattern(dev, 512, 512, 86);
    REQUIRE(dev.release_all() == 1);
    REQUIRE(f.p.status == errc::ok);
    REQUIRE(dev.power_cut() == errc::ok);
    CHECK(is_pattern(d.mem, 512, 85));
    CHECK(is_fill(d.mem + 512, 512, std::byte{0xaa}));
  }
  SECTION("a full hold array carries a deferred request out at once") {
    faulty_device<ram_device&, faulty_limits<4, 1>> tiny(d.ram);
    REQUIRE(tiny.add_rule(fault_rule::defer().always()) == errc::ok);
    request a, b;
    a.prepare(op::write, 0, 512);
    pattern(a.buf, 512, 87);
    b.prepare(op::write, 512, 512);
    pattern(b.buf, 512, 88);
    tiny.submit(a.b);
    tiny.submit(b.b);
    CHECK(a.p.calls == 0);
    CHECK(b.p.calls == 1);
    CHECK(is_pattern(d.mem + 512, 512, 88));
    CHECK(tiny.stats().hold_overflows == 1);
    CHECK(tiny.release_all() == 1);
    CHECK(is_pattern(d.mem, 512, 87));
  }
}

TEST_CASE("faulty: over an asynchronous device, defer holds only the completion") {
  disk d;
  recording_device<ram_device&> rec(d.ram);
  faulty_device<recording_device<ram_device&>&, faulty_limits<4, 8, 0, 0, 2>> dev(rec);
  REQUIRE(dev.add_rule(fault_rule::defer()) == errc::ok);
  request w;
  w.prepare(op::write, 0, 512);
  pattern(w.buf, 512, 89);
  dev.submit(w.b);
  CHECK(rec.count(op::write) == 1); // passed down at once
  CHECK(is_pattern(d.mem, 512, 89));
  CHECK(w.p.calls == 0);
  CHECK(dev.poll() == 1);
  CHECK(w.p.status == errc::ok);
  CHECK(dev.stats().deferred == 0);
}
