// Randomized model test of the dispatcher on faulty_device: every queue
// discipline x split policy x allocation policy (with merging, deferred
// completion, timeouts and path loss mixed in), >= 200,000 bios, seeded.
//
// The model. The device is cut into lanes; at most one user bio is
// outstanding per lane (and a lane stays closed while a timed-out request
// for it is still at the device), so every device request can be attributed
// to the user bios whose ranges it covers. An oracle between the dispatcher
// and faulty_device records each device request and its result. At each
// user completion the model checks:
// - exactly one completion per bio;
// - invalid bios get exactly `validate()`'s status and never reach the device;
// - otherwise the status is the first error the device reported for the
//   bio's requests (path loss retried unless fail_fast; a short piece of a
//   split bio is io_error, a short whole/merged request is ok), or
//   `timed_out` when one of its requests was outstanding for the timeout, or
//   `cancelled` for a bio the test cancelled before it was issued, or
//   `no_device` for a fail-fast bio;
// - a bio never completes while one of its requests is still at the device,
//   except by timing out;
// - data written then read back matches (bytes of failed or timed-out
//   writes are unknown until rewritten);
// - never more than the active limit of requests at the device.
#include <algorithm>
#include <biostack/alloc/reserve_pool.hpp>
#include <biostack/alloc/static_pool.hpp>
#include <biostack/devices/faulty.hpp>
#include <biostack/devices/ram.hpp>
#include <biostack/dispatch/dispatcher.hpp>
#include <biostack/hosted/heap_pool.hpp>
#include <biostack/queue/deadline.hpp>
#include <biostack/queue/elevator.hpp>
#include <biostack/queue/fifo.hpp>
#include <biostack/queue/priority_classes.hpp>
#include <biostack/queue/read_priority.hpp>
#include <biostack/split/boundary.hpp>
#include <biostack/split/max_transfer.hpp>
#include <biostack/split/none.hpp>
#include <biostack/stats/counters.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

using namespace biostack;

namespace {

constexpr std::uint32_t block = 512;
constexpr std::uint32_t lane_blocks = 64;
constexpr std::uint32_t lane_bytes = lane_blocks * block;
constexpr std::size_t lanes = 48;
constexpr std::uint64_t device_bytes = std::uint64_t{lanes} * lane_bytes;
constexpr std::uint64_t timeout_ticks = 6;
constexpr std::size_t active = 6;

using ram_faulty = faulty_device<ram_device, faulty_limits<4, 64, 0, 0, 16>>;

struct user_bio;

struct attempt {
  bio* req = nullptr;
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
  op operation = op::read;
  std::uint64_t issued = 0;
  bool done = false;
  errc status = errc::ok;
  std::uint32_t residual = 0;
  std::uint64_t finished = 0;
  std::uint64_t order = 0; // global completion order
  std::vector<user_bio*> owners;
};

struct user_bio;

struct model {
  std::string failure;
  std::uint64_t tick = 0;
  std::uint64_t completions_seen = 0;
  std::size_t device_outstanding = 0;
  std::size_t device_max = 0;
  std::vector<user_bio*> lane_owner = std::vector<user_bio*>(lanes, nullptr);
  std::vector<user_bio*> flushes; // outstanding flush bios, oldest first
  std::vector<std::uint8_t> shadow = std::vector<std::uint8_t>(device_bytes, 0);
  std::vector<std::uint8_t> known = std::vector<std::uint8_t>(device_bytes, 1);
  std::size_t completed = 0;
  std::size_t cancelled = 0;
  std::size_t timed_out = 0;
  std::size_t errors = 0;
  std::size_t verified_reads = 0;

  void fail(const std::string& what) {
    if (failure.empty()) failure = what;
  }
};

struct user_bio {
  bio b;
  model* m = nullptr;
  std::size_t lane = SIZE_MAX;
  errc expected_validation = errc::ok;
  bool cancel_requested = false;
  int completions = 0;
  std::vector<std::uint8_t> mem;
  std::vector<attempt*> attempts;
  std::size_t outstanding = 0; // attempts still at the device
  bool finished = false;

  static completion_action done(bio& b, void* ctx) noexcept {
    auto& u = *static_cast<user_bio*>(ctx);
    u.on_done(b.status(), b.residual());
    return completion_action::proceed;
  }

  // The first error the device reported for this bio, as the dispatcher
  // must pass it on.
  errc predicted(bool& saw_no_device) const {
    saw_no_device = false;
    std::vector<const attempt*> done;
    for (const attempt* a : attempts)
      if (a->done) done.push_back(a);
    std::sort(done.begin(), done.end(),
              [](const attempt* x, const attempt* y) { return x->order < y->order; });
    for (const attempt* a : done) {
      errc s = a->status;
      if (s == errc::no_device) {
        saw_no_device = true;
        if (!has(b.flags, bio_flags::fail_fast)) continue; // requeued and retried
      }
      if (s == errc::ok && a->residual != 0 && a->length < b.length) s = errc::io_error;
      if (s != errc::ok) return s;
    }
    return errc::ok;
  }

  bool timeout_possible() const {
    for (const attempt* a : attempts) {
      const std::uint64_t end = a->done ? a->finished : m->tick;
      if (end - a->issued >= timeout_ticks) return true;
    }
    return false;
  }

  void on_done(errc st, std::uint32_t residual) {
    ++completions;
    char where[160];
    std::snprintf(where, sizeof where, " [bio %s off=%llu len=%u flags=%u status=%s]",
                  to_string(b.operation), static_cast<unsigned long long>(b.offset), b.length,
                  static_cast<unsigned>(b.flags), to_string(st));
    if (completions != 1) return m->fail(std::string("completed twice") + where);
    ++m->completed;
    finished = true;
    if (expected_validation != errc::ok) {
      if (st != expected_validation || !attempts.empty())
        m->fail(std::string("validation status wrong or reached the device") + where);
      return release();
    }
    bool saw_no_device = false;
    const errc want = predicted(saw_no_device);
    bool ok = false;
    if (st == errc::cancelled) {
      ok = cancel_requested && attempts.empty();
      ++m->cancelled;
    } else if (st == errc::timed_out) {
      ok = timeout_possible();
      ++m->timed_out;
    } else if (st == errc::no_device && has(b.flags, bio_flags::fail_fast)) {
      ok = attempts.empty() || saw_no_device;
    } else {
      ok = st == want && (outstanding == 0 || timeout_possible());
    }
    if (!ok)
      return m->fail(std::string("status not as predicted (want ") + to_string(want) + ")" + where);
    if (st != errc::ok) ++m->errors;
    check_data(st, residual);
    release();
  }

  void check_data(errc st, std::uint32_t residual) {
    if (b.operation == op::flush) return;
    const std::uint64_t off = b.offset;
    const std::uint32_t len = b.length;
    std::uint8_t* shadow = m->shadow.data() + off;
    std::uint8_t* known = m->known.data() + off;
    const std::uint8_t* data = this->mem.data();
    const bool clean = st == errc::ok && residual == 0;
    switch (b.operation) {
    case op::read:
      if (st == errc::ok) {
        ++m->verified_reads;
        for (std::uint32_t i = 0; i + residual < len; ++i) {
          if (known[i] != 0 && shadow[i] != data[i]) {
            return m->fail("read back wrong data at " + std::to_string(off + i));
          }
        }
      }
      break;
    case op::write:
      for (std::uint32_t i = 0; i < len; ++i) {
        shadow[i] = data[i];
        known[i] = clean ? 1 : 0;
      }
      break;
    case op::discard:
    case op::write_zeroes:
      for (std::uint32_t i = 0; i < len; ++i) {
        shadow[i] = 0;
        known[i] = clean ? 1 : 0;
      }
      break;
    case op::flush: break;
    }
    // A request that may still land later (timed out) leaves the range unknown.
    if (outstanding != 0 && modifies(b.operation))
      for (std::uint32_t i = 0; i < len; ++i) known[i] = 0;
  }

  void release() {
    if (outstanding == 0) free_lane();
  }
  void free_lane() {
    if (b.operation == op::flush) {
      for (auto it = m->flushes.begin(); it != m->flushes.end(); ++it)
        if (*it == this) {
          m->flushes.erase(it);
          break;
        }
    } else if (lane != SIZE_MAX && m->lane_owner[lane] == this) {
      m->lane_owner[lane] = nullptr;
    }
  }
};

// Sits between the dispatcher and faulty_device, attributing each device
// request to the user bios it covers, and recording its result.
class oracle {
public:
  oracle(ram_faulty& dev, model& m) : dev_(dev), m_(m) {}
  [[nodiscard]] device_geometry geometry() const noexcept { return dev_.geometry(); }
  std::size_t poll() noexcept { return dev_.poll(); }

  void submit(bio& b) noexcept {
    auto a = std::make_unique<attempt>();
    a->req = &b;
    a->offset = b.offset;
    a->length = b.length;
    a->operation = b.operation;
    a->issued = m_.tick;
    a->owners = owners(b);
    for (user_bio* u : a->owners) {
      u->attempts.push_back(a.get());
      ++u->outstanding;
    }
    if (++m_.device_outstanding > m_.device_max) m_.device_max = m_.device_outstanding;
    saved_[&b] = {b.on_done, a.get()};
    live_.push_back(std::move(a));
    b.on_done = completion{&intercept, this};
    dev_.submit(b);
  }

private:
  struct saved {
    completion c;
    attempt* a;
  };

  std::vector<user_bio*> owners(const bio& b) {
    std::vector<user_bio*> v;
    if (b.operation == op::flush) {
      if (!m_.flushes.empty()) v.push_back(m_.flushes.front());
      return v;
    }
    const std::uint64_t end = b.offset + b.length;
    for (std::size_t l = b.offset / lane_bytes; l < lanes && l * lane_bytes < end; ++l) {
      user_bio* u = m_.lane_owner[l];
      if (u != nullptr && u->b.offset < end && b.offset < u->b.offset + u->b.length) v.push_back(u);
    }
    return v;
  }

  static completion_action intercept(bio& b, void* ctx) noexcept {
    auto& self = *static_cast<oracle*>(ctx);
    auto it = self.saved_.find(&b);
    const saved s = it->second;
    self.saved_.erase(it);
    attempt& a = *s.a;
    a.done = true;
    a.status = b.status();
    a.residual = b.residual();
    a.finished = self.m_.tick;
    a.order = ++self.m_.completions_seen;
    --self.m_.device_outstanding;
    for (user_bio* u : a.owners) {
      --u->outstanding;
      if (u->finished && u->outstanding == 0) u->free_lane();
    }
    b.on_done = s.c;
    return s.c.fn(b, s.c.context);
  }

public:
  std::vector<std::unique_ptr<user_bio>> all_;

private:
  ram_faulty& dev_;
  model& m_;
  std::unordered_map<bio*, saved> saved_;
  std::vector<std::unique_ptr<attempt>> live_;
};

// What the whole run exercised: each kind of fault must actually occur.
struct coverage {
  std::size_t merges = 0, splits = 0, shortages = 0, requeues = 0;
  std::size_t completed = 0, verified_reads = 0, timed_out = 0, errors = 0, cancelled = 0,
              path_failures = 0, delayed = 0, short_transfers = 0;
} g_cov;

struct xorshift {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>(next() % n); }
  bool chance(std::uint32_t percent) { return below(100) < percent; }
};

bool orc_lane_busy(const model& m, std::size_t lane) { return m.lane_owner[lane] != nullptr; }

void prune(oracle& orc) {
  std::vector<std::unique_ptr<user_bio>> live;
  for (auto& u : orc.all_)
    if (!u->finished || u->outstanding != 0 || u->completions != 1) live.push_back(std::move(u));
  orc.all_.swap(live);
}

template <class Pack>
std::size_t run_model(std::uint64_t seed, std::size_t bios, const char* name) {
  std::vector<std::byte> mem(device_bytes);
  ram_faulty fd(mem.data(), mem.size(), block);
  random_faults rf;
  rf.seed = seed;
  rf.error_ppm = 20'000;
  rf.short_ppm = 10'000;
  rf.delay_ppm = 250'000;
  rf.max_delay_polls = 7;
  fd.set_random(rf);
  fd.set_release_order(release_order::random);
  // A bad spot: every access to it fails with a media error.
  REQUIRE(
      fd.add_rule(fault_rule::fail(errc::media_error).range(7 * lane_bytes + 4096, 512).always()) ==
      errc::ok);
  model m;
  oracle orc(fd, m);
  using disp = dispatcher<oracle, Pack>;
  auto d = std::make_unique<disp>(orc);
  xorshift rng{seed * 2654435761u + 1};
  const device_geometry g = fd.geometry();

  std::size_t submitted = 0;
  std::size_t steps = 0;
  bool path_lost = false;
  while (submitted < bios && m.failure.empty()) {
    ++steps;
    // Forget finished bios with nothing at the device (keeps the scans short).
    if ((steps & 255) == 0) prune(orc);
    const std::uint32_t r = rng.below(100);
    // Creates and registers a user bio (its lane, or the flush list).
    auto make = [&](std::size_t lane, op o, std::uint64_t off, std::uint32_t len, bio_flags f,
                    std::uint8_t prio) {
      auto u = std::make_unique<user_bio>();
      u->m = &m;
      u->mem.resize(len);
      // A per-bio pattern: unique enough to catch misplaced data, cheap to make.
      const std::uint64_t pat = rng.next();
      std::uint8_t* fill = u->mem.data();
      for (std::size_t i = 0; i < len; ++i)
        fill[i] = static_cast<std::uint8_t>((pat >> ((i % 8) * 8)) + i / 8);
      u->b.prepare(o, off, len, len != 0 ? reinterpret_cast<std::byte*>(u->mem.data()) : nullptr,
                   completion{&user_bio::done, u.get()});
      u->b.flags = f;
      u->b.priority = prio;
      u->expected_validation = validate(u->b, g);
      if (u->expected_validation == errc::ok && o != op::flush) {
        u->lane = lane;
        m.lane_owner[lane] = u.get();
      }
      if (u->expected_validation == errc::ok && o == op::flush) m.flushes.push_back(u.get());
      user_bio* raw = u.get();
      orc.all_.push_back(std::move(u));
      ++submitted;
      return raw;
    };
    auto random_flags = [&](op o) {
      bio_flags f = bio_flags::none;
      if (rng.chance(10)) f |= bio_flags::fail_fast;
      if (o == op::write && rng.chance(3)) f |= bio_flags::ordered;
      if (o == op::write && rng.chance(5)) f |= bio_flags::fua;
      return f;
    };
    if (r < 10) {
      // A contiguous pair across two neighbouring lanes, handed over as one
      // batch: what back-merge exists for.
      const std::size_t lane = rng.below(lanes - 1);
      if (orc_lane_busy(m, lane) || orc_lane_busy(m, lane + 1)) continue;
      const op o = rng.chance(50) ? op::read : op::write;
      const bio_flags f = rng.chance(80) ? bio_flags::none : random_flags(o);
      const auto prio = static_cast<std::uint8_t>(rng.below(3));
      const std::uint32_t a_len = (1 + rng.below(8)) * block;
      const std::uint32_t b_len = (1 + rng.below(8)) * block;
      user_bio* a = make(lane, o, (lane + 1) * lane_bytes - a_len, a_len, f, prio);
      user_bio* b2 = make(lane + 1, o, (lane + 1) * lane_bytes, b_len, f, prio);
      d->plug();
      d->submit(a->b);
      d->submit(b2->b);
      d->unplug();
    } else if (r < 60) {
      // Submit into a free lane.
      const std::size_t lane = rng.below(lanes);
      const bool flush = rng.chance(4);
      if (!flush && orc_lane_busy(m, lane)) continue;
      const std::uint32_t kind = rng.below(100);
      op o = kind < 50   ? op::read
             : kind < 85 ? op::write
             : kind < 92 ? op::discard
                         : op::write_zeroes;
      if (flush) o = op::flush;
      std::uint32_t blocks = 1 + rng.below(16);
      std::uint64_t off =
          lane * lane_bytes + std::uint64_t{rng.below(lane_blocks - blocks + 1)} * block;
      std::uint32_t len = blocks * block;
      if (o == op::flush) {
        off = 0;
        len = 0;
      } else if (rng.chance(2)) {
        off += rng.chance(50) ? 100u : 0u; // misaligned
        if (off % block == 0) len = 0;     // or empty
      }
      const bio_flags f = random_flags(o);
      user_bio* u = make(lane, o, off, len, f, static_cast<std::uint8_t>(rng.below(3)));
      d->submit(u->b);
    } else if (r < 89) {
      ++m.tick;
      d->clock().advance(1);
      d->poll();
    } else if (r < 91) {
      if (path_lost) {
        fd.restore_path();
        if (rng.chance(50)) d->notify_path_restored();
      } else if (rng.chance(15)) {
        fd.lose_path();
      }
      path_lost = fd.path_lost();
    } else if (r < 92 && rng.chance(20)) {
      // Cancel queued bios of one priority class.
      const std::uint8_t cls = static_cast<std::uint8_t>(rng.below(3));
      for (auto& x : orc.all_)
        if (!x->finished && x->b.priority == cls) x->cancel_requested = true;
      d->cancel_queued([cls](const bio& b) noexcept { return b.priority == cls; });
      for (auto& x : orc.all_)
        if (!x->finished) x->cancel_requested = false;
    }
    if (m.device_outstanding > active) m.fail("more than the active limit at the device");
  }
  // Wind down: the path comes back and everything finishes.
  fd.restore_path();
  d->notify_path_restored();
  for (int i = 0; i < 10000 && !d->idle(); ++i) {
    ++m.tick;
    d->clock().advance(1);
    d->poll();
  }
  fd.release_all();
  d->poll();
  INFO("queued " << d->queued() << " in flight " << d->in_flight() << " requeued " << d->requeued()
                 << " path down " << d->path_down() << " device held " << fd.held());
  CHECK(d->idle());
  INFO(name << " seed " << seed);
  CHECK(m.failure == "");
  CHECK(m.device_max <= active);
  std::size_t never = 0;
  for (auto& x : orc.all_) never += x->completions == 1 ? 0u : 1u;
  CHECK(never == 0);
  CHECK(m.completed == submitted);
  g_cov.timed_out += m.timed_out;
  {
    const auto st = d->stats();
    const dispatch_counters& c = st.get();
    g_cov.merges += c.merges;
    g_cov.splits += c.splits;
    g_cov.shortages += c.shortages;
    g_cov.requeues += c.requeues;
    CHECK(c.completed == submitted);
    CHECK(c.in_flight_high_water <= active);
  }
  g_cov.completed += m.completed;
  g_cov.verified_reads += m.verified_reads;
  g_cov.errors += m.errors;
  g_cov.cancelled += m.cancelled;
  g_cov.path_failures += fd.stats().path_failures;
  g_cov.delayed += fd.stats().delayed;
  g_cov.short_transfers += fd.stats().short_transfers;
  d.reset();
  return submitted;
}

constexpr std::size_t per_config = 4600; // 45 configurations: 207,000 bios

template <class Queue, class Split, class Alloc, class Extra>
std::size_t run_one(std::uint64_t seed, const char* name) {
  using pack = policies<Queue, Split, Alloc, tags<8, active, 3>, timeout<timeout_ticks>,
                        manual_clock, typename Extra::merge, typename Extra::completion, counters>;
  return run_model<pack>(seed, per_config, name);
}

struct plain {
  using merge = no_merge;
  using completion = inline_completion;
};
struct merged {
  using merge = back_merge<8>;
  using completion = inline_completion;
};
struct deferred {
  using merge = back_merge<4>;
  using completion = deferred_completion;
};

template <class Queue, class Split>
std::size_t run_allocs(std::uint64_t seed, const char* name) {
  std::size_t n = 0;
  n += run_one<Queue, Split, static_pool<3>, plain>(seed + 1, name);
  n += run_one<Queue, Split, reserve_pool<2, static_pool<5>>, merged>(seed + 2, name);
  n += run_one<Queue, Split, heap_pool<4>, deferred>(seed + 3, name);
  return n;
}

template <class Queue>
std::size_t run_splits(std::uint64_t seed, const char* name) {
  std::size_t n = 0;
  n += run_allocs<Queue, no_split>(seed + 10, name);
  n += run_allocs<Queue, max_transfer<2048>>(seed + 20, name);
  n += run_allocs<Queue, boundary<4096>>(seed + 30, name);
  return n;
}

} // namespace

TEST_CASE("model: every discipline x split x allocation on faulty_device, >= 200,000 bios") {
  std::size_t total = 0;
  total += run_splits<fifo>(1000, "fifo");
  total += run_splits<elevator<8>>(2000, "elevator");
  total += run_splits<deadline<20, 60, 2, 4>>(3000, "deadline");
  total += run_splits<read_priority<4, 2>>(4000, "read_priority");
  total += run_splits<priority_classes<4, 2, 1>>(5000, "priority_classes");
  CHECK(total >= 200000);
  CHECK(g_cov.errors < g_cov.completed / 2); // mostly successes, so data gets checked
  CHECK(g_cov.verified_reads > g_cov.completed / 4);
  CHECK(g_cov.timed_out > 0);
  CHECK(g_cov.merges > 0);
  CHECK(g_cov.splits > 0);
  CHECK(g_cov.shortages > 0);
  CHECK(g_cov.requeues > 0);
  CHECK(g_cov.errors > 0);
  CHECK(g_cov.cancelled > 0);
  CHECK(g_cov.path_failures > 0);
  CHECK(g_cov.delayed > 0);
  CHECK(g_cov.short_transfers > 0);
}
