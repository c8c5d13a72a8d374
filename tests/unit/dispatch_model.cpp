// Randomized model test of the dispatcher on faulty_device: every queue
// discipline x split policy x allocation policy, each run with merging on or
// off and inline or deferred completion (rotated so that every merge x
// completion combination meets every allocation policy), timeouts and path
// loss mixed in, >= 200,000 bios, seeded.
//
// The model. The device is cut into lanes; at most one user bio is
// outstanding per lane (and a lane stays closed while a timed-out request
// for it is still at the device), so every device request can be attributed
// to the user bios whose ranges it covers. An oracle between the dispatcher
// and faulty_device records each device request and its result. At each
// user completion the model checks:
// - exactly one completion per bio;
// - invalid bios get exactly `validate()`'s status and never reach the device;
// - otherwise the status is the first error among its requests' outcomes in
//   the order they happened: the device's status (path loss retried unless
//   fail_fast; a short piece of a split bio is io_error, a short whole/merged
//   request is ok), or `timed_out` for a request the dispatcher expired: one
//   still at the device when a poll came at least the timeout after its
//   issue (the oracle sees exactly which);
// - `cancelled` only for a bio that was still queued (never issued) while
//   cancel_queued ran for its class, and every such bio is cancelled;
// - a fail-fast bio that never reached the device ends `no_device` only if
//   the dispatcher's path was down when it was submitted, or went down
//   (a requeue) while it waited;
// - a bio never completes while one of its requests is still at the device,
//   except by timing out;
// - data written then read back matches (bytes of failed or timed-out
//   writes are unknown until rewritten);
// - never more than the active limit of requests at the device, and once
//   the limit is reached nothing more is issued until the requests at the
//   device have fallen to the low-water mark. Some allocation policies have
//   more request objects than the active limit (the limit is the
//   bottleneck), one has fewer (the pool is: shortages).
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
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
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
constexpr std::size_t low_water = 3;

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
  bool expired = false;    // the dispatcher timed it out (at `expired_order`)
  std::uint64_t expired_order = 0;
  std::vector<user_bio*> owners;
};

struct user_bio;

struct model {
  std::string failure;
  std::uint64_t tick = 0;
  std::uint64_t completions_seen = 0;
  std::size_t device_outstanding = 0;
  std::size_t device_max = 0;
  bool throttled = false;                  // the active limit was reached; waiting for low water
  std::size_t throttles = 0;               // times the limit was reached
  std::size_t restarts = 0;                // issues resumed at low water after a throttle
  bool in_cancel = false;                  // inside cancel_queued
  std::function<std::uint64_t()> requeues; // the dispatcher's requeue count
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
  bool down_at_submit = false; // the dispatcher's path was down at submit
  std::uint64_t requeues_at_submit = 0;
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
  // An expired request's outcome is `timed_out`, at its expiry; whatever the
  // device says later is dropped.
  static std::uint64_t outcome_order(const attempt* a) {
    return a->expired ? a->expired_order : a->order;
  }
  errc predicted() const {
    std::vector<const attempt*> done;
    for (const attempt* a : attempts)
      if (a->done || a->expired) done.push_back(a);
    std::sort(done.begin(), done.end(), [](const attempt* x, const attempt* y) {
      return outcome_order(x) < outcome_order(y);
    });
    for (const attempt* a : done) {
      if (a->expired) return errc::timed_out;
      errc s = a->status;
      if (s == errc::no_device && !has(b.flags, bio_flags::fail_fast))
        continue; // requeued and retried
      if (s == errc::ok && a->residual != 0 && a->length < b.length) s = errc::io_error;
      if (s != errc::ok) return s;
    }
    return errc::ok;
  }

  bool any_expired() const {
    for (const attempt* a : attempts)
      if (a->expired) return true;
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
    const errc want = predicted();
    bool ok = false;
    if (st == errc::cancelled) {
      ok = m->in_cancel && cancel_requested && attempts.empty();
      ++m->cancelled;
    } else if (attempts.empty() && st == errc::no_device && has(b.flags, bio_flags::fail_fast)) {
      // Refused at submit, or taken off the queue when the path went down.
      ok = down_at_submit || m->requeues() > requeues_at_submit;
    } else {
      ok = st == want && (outstanding == 0 || any_expired());
      if (st == errc::timed_out) ++m->timed_out;
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
  oracle(ram_faulty& dev, model& m, std::uint32_t max_transfer)
      : dev_(dev), m_(m), max_transfer_(max_transfer) {}
  [[nodiscard]] device_geometry geometry() const noexcept {
    device_geometry g = dev_.geometry();
    g.max_transfer = max_transfer_;
    return g;
  }
  // The dispatcher polls the device first, then takes the completions that
  // arrived, then expires what is still out after the timeout: exactly the
  // requests still at the device now and issued at least the timeout ago.
  std::size_t poll() noexcept {
    const std::size_t n = dev_.poll();
    for (attempt* a : at_device_) {
      if (!a->expired && m_.tick - a->issued >= timeout_ticks) {
        a->expired = true;
        a->expired_order = ++m_.completions_seen;
      }
    }
    return n;
  }

  void submit(bio& b) noexcept {
    if (m_.throttled) {
      // Issuing resumes only at the low-water mark (the dispatcher's count
      // may lag the device's, never lead it).
      if (m_.device_outstanding > low_water)
        m_.fail("issued above low water after reaching the active limit");
      m_.throttled = false;
      ++m_.restarts;
    }
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
    if (m_.device_outstanding > active) m_.fail("more than the active limit at the device");
    saved_[&b] = {b.on_done, a.get()};
    at_device_.push_back(a.get());
    live_.push_back(std::move(a));
    b.on_done = completion{&intercept, this};
    dev_.submit(b);
    // Still all at the device after this one went out: the dispatcher has
    // hit its limit (it checks before looking for more work).
    if (m_.device_outstanding >= active) {
      m_.throttled = true;
      ++m_.throttles;
    }
  }

private:
  struct saved {
    completion c;
    attempt* a;
  };

  std::vector<user_bio*> owners(const bio& b) {
    std::vector<user_bio*> v;
    if (b.operation == op::flush) {
      // Flushes are barriers, issued one at a time in order: this is the
      // oldest one not finished (a timed-out one may still be listed).
      for (user_bio* f : m_.flushes) {
        if (!f->finished) {
          v.push_back(f);
          break;
        }
      }
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
    self.at_device_.erase(std::find(self.at_device_.begin(), self.at_device_.end(), &a));
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
  std::uint32_t max_transfer_;
  std::unordered_map<bio*, saved> saved_;
  std::vector<attempt*> at_device_;
  std::vector<std::unique_ptr<attempt>> live_;
};

// What the whole run exercised: each kind of fault must actually occur.
struct coverage {
  std::size_t merges = 0, splits = 0, shortages = 0, requeues = 0;
  std::size_t completed = 0, verified_reads = 0, timed_out = 0, errors = 0, cancelled = 0,
              path_failures = 0, delayed = 0, short_transfers = 0, throttles = 0, restarts = 0;
  std::size_t runs = 0;
  bool alloc_meets[3][2][2] = {}; // allocation x merge x deferred completion
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
std::size_t run_model(std::uint64_t seed, std::size_t bios, std::uint32_t max_transfer,
                      const char* name) {
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
  oracle orc(fd, m, max_transfer);
  using disp = dispatcher<oracle, Pack>;
  auto d = std::make_unique<disp>(orc);
  m.requeues = [&d] { return std::uint64_t{d->stats().get().requeues}; };
  xorshift rng{seed * 2654435761u + 1};
  const device_geometry g = orc.geometry();

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
                    priority_t prio) {
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
      u->down_at_submit = d->path_down();
      u->requeues_at_submit = m.requeues();
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
      const auto prio = static_cast<priority_t>(static_cast<int>(rng.below(3)) - 1);
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
      user_bio* u =
          make(lane, o, off, len, f, static_cast<priority_t>(static_cast<int>(rng.below(3)) - 1));
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
      const auto cls = static_cast<priority_t>(static_cast<int>(rng.below(3)) - 1);
      std::size_t queued = 0;
      for (auto& x : orc.all_) {
        if (!x->finished && x->b.priority == cls) {
          x->cancel_requested = true;
          if (x->attempts.empty() && x->expected_validation == errc::ok) ++queued;
        }
      }
      m.in_cancel = true;
      const std::size_t n =
          d->cancel_queued([cls](const bio& b) noexcept { return b.priority == cls; });
      m.in_cancel = false;
      // Survivors never issued: at most the bio being split, when a shortage
      // stopped it before its first piece (it is no longer queued).
      std::size_t survivors = 0;
      for (auto& x : orc.all_) {
        if (x->cancel_requested && !x->finished && x->attempts.empty()) ++survivors;
        x->cancel_requested = false;
      }
      if (n + survivors != queued || survivors > (disp::split_type::splits ? 1u : 0u))
        m.fail("cancel_queued did not cancel exactly the queued bios");
    }
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
  g_cov.throttles += m.throttles;
  g_cov.restarts += m.restarts;
  if (max_transfer != 0) CHECK(d->stats().get().splits > 0); // the device's limit did split
  d.reset();
  return submitted;
}

// 5 disciplines x 4 split policies x 3 allocation policies = 60 runs.
constexpr std::size_t per_config = 3400; // 204,000 bios

// The allocation policies: the first has fewer request objects than the
// active limit (the pool is the bottleneck: shortages); the others have more
// (the active limit and the low-water restart are what hold requests back).
template <std::size_t A>
struct alloc_of;
template <>
struct alloc_of<0> {
  using type = static_pool<3>;
  static constexpr bool pool_bound = true;
};
template <>
struct alloc_of<1> {
  using type = reserve_pool<2, static_pool<10>>;
  static constexpr bool pool_bound = false;
};
template <>
struct alloc_of<2> {
  using type = heap_pool<12>;
  static constexpr bool pool_bound = false;
};

// Merging and completion delivery rotate with the run's position, so that
// for every allocation policy (and every discipline) the four splits cover
// all four merge x completion combinations.
template <class Queue, std::size_t Q, class Split, std::size_t S, std::size_t A>
std::size_t run_one(std::uint64_t seed, std::uint32_t max_transfer, const char* name) {
  constexpr std::size_t combo = (Q + S + A) % 4;
  constexpr bool merge = (combo & 1u) != 0;
  constexpr bool deferred = (combo & 2u) != 0;
  using merge_policy = std::conditional_t<merge, back_merge<8>, no_merge>;
  using completion_policy = std::conditional_t<deferred, deferred_completion, inline_completion>;
  using pack =
      policies<Queue, Split, typename alloc_of<A>::type, tags<8, active, low_water>,
               timeout<timeout_ticks>, manual_clock, merge_policy, completion_policy, counters>;
  static_assert(
      std::is_same_v<typename dispatcher<oracle, pack>::completion_type, completion_policy>);
  g_cov.alloc_meets[A][merge][deferred] = true;
  ++g_cov.runs;
  const std::size_t throttles = g_cov.throttles;
  const std::size_t n = run_model<pack>(seed, per_config, max_transfer, name);
  INFO(name << " split " << S << " alloc " << A);
  if (!alloc_of<A>::pool_bound) CHECK(g_cov.throttles > throttles); // the limit was reached
  return n;
}

template <class Queue, std::size_t Q, class Split, std::size_t S>
std::size_t run_allocs(std::uint64_t seed, std::uint32_t max_transfer, const char* name) {
  std::size_t n = 0;
  n += run_one<Queue, Q, Split, S, 0>(seed + 1, max_transfer, name);
  n += run_one<Queue, Q, Split, S, 1>(seed + 2, max_transfer, name);
  n += run_one<Queue, Q, Split, S, 2>(seed + 3, max_transfer, name);
  return n;
}

template <class Queue, std::size_t Q>
std::size_t run_splits(std::uint64_t seed, const char* name) {
  std::size_t n = 0;
  n += run_allocs<Queue, Q, no_split, 0>(seed + 10, 0, name);
  n += run_allocs<Queue, Q, max_transfer<2048>, 1>(seed + 20, 0, name);
  n += run_allocs<Queue, Q, boundary<4096>, 2>(seed + 30, 0, name);
  // The device states a max_transfer of its own, which device_limits obeys.
  n += run_allocs<Queue, Q, device_limits, 3>(seed + 40, 3072, name);
  return n;
}

} // namespace

TEST_CASE("model: every discipline x split x allocation on faulty_device, >= 200,000 bios") {
  std::size_t total = 0;
  total += run_splits<fifo, 0>(1000, "fifo");
  total += run_splits<elevator<8>, 1>(2000, "elevator");
  total += run_splits<deadline<20, 60, 2, 4>, 2>(3000, "deadline");
  total += run_splits<read_priority<4, 2>, 3>(4000, "read_priority");
  total += run_splits<priority_classes<4, 2, 1>, 4>(5000, "priority_classes");
  CHECK(total >= 200000);
  CHECK(g_cov.runs == 60);
  for (auto& a : g_cov.alloc_meets)
    for (auto& mg : a)
      for (bool met : mg) CHECK(met);
  CHECK(g_cov.throttles > 0);
  CHECK(g_cov.restarts > 0);
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
