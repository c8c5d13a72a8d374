// SPDX-License-Identifier: MIT
#pragma once

/// `faulty_device<D, Limits>`: wraps any block device and injects faults, by
/// an explicit script of rules and/or a seeded random schedule. Freestanding:
/// no heap, every capacity is a template parameter (`faulty_limits`), so it
/// also serves firmware self-tests.
///
/// Usage:
///
///     static_ram_device<64 * 1024> ram;
///     faulty_device<ram_device&> dev(ram);  // D may be a reference
///
///     // scripted: the 3rd write to the first 4 KiB fails with a media error
///     dev.add_rule(fault_rule::fail(errc::media_error).only(op::write).range(0, 4096).after(2));
///     // reads complete from poll(), in a seeded random order
///     dev.add_rule(fault_rule::delay().only(op::read).always());
///     dev.set_release_order(release_order::random);
///     dev.lose_path_after(100);             // request 101 and later: no_device
///
///     // random: reproducible from the seed, identical on every platform
///     dev.set_random({.seed = 42, .error_ppm = 1000, .delay_ppm = 250'000});
///
///     submit(...); dev.poll();              // delivers the held completions that are due
///     dev.power_cut();                      // volatile cache lost (sync inner devices)
///
/// With the default `faulty_limits` the object holds a 64 KiB undo arena:
/// give it static storage on small stacks, or shrink the limits.
///
/// Decision per request, in this order: path lost → `no_device`; invalid →
/// its validation status (nothing else is injected); the rules, in the order
/// added (at most one outcome rule — fail, short, torn, lose path — fires per
/// request; delay and defer rules combine with it); if no outcome rule fired, the
/// random schedule. Each firing is counted in `stats()`.
///
/// Execution. When `D` is also a `sync_block_device` (ram_device,
/// file_device), requests are carried out inline through the synchronous
/// interface: this is what makes exact short transfers, torn writes and the
/// power-cut undo log possible. Otherwise each request goes down as a child
/// bio from a pool of `Limits::max_in_flight` (requests wait in FIFO order
/// when the pool is empty) and its completion is intercepted.
///
/// Held requests. `delay` holds the completion: the request is carried out
/// at once, the submitter hears of it later (out of order, per
/// `release_order`). `defer` holds the request itself (synchronous inner
/// devices): it is carried out when released, so overlapping writes can
/// reach the medium in an order other than their submission order — what a
/// cache or dispatcher must never depend on.
///
/// Power cut (sync inner devices only; volatile write cache semantics). The
/// device keeps an undo log of every modifying request (write, discard,
/// write_zeroes) that is not yet durable: before the change is applied, the
/// old contents of its range are saved in a fixed arena. A change becomes
/// durable when
///   - a flush completes successfully, for every change that COMPLETED before
///     that flush was SUBMITTED (a change still in flight, or completed
///     after the flush was issued, is not covered — the guarantee a real
///     flush gives, and no more);
///   - it was FUA and completed successfully;
///   - the arena (or the entry table) is full: then the oldest pending change
///     is written back, exactly like a drive destaging its cache on its own,
///     counted in `stats().destaged`. A change larger than the whole arena is
///     destaged at once together with everything older.
/// `power_cut()` then restores, newest first, every change that is not
/// durable (including those whose completion is still held), never touching
/// blocks that a newer durable change wrote; deferred requests never reached
/// the medium and leave nothing to restore. Held completions do not vanish:
/// they complete with `errc::no_device`, as a host sees requests to a disk
/// that dropped off the bus; the device is usable again right away (the
/// power came back). A change that was held at the cut is undone even if it
/// was FUA: it never completed.
///
/// Not synchronised: use from one context (submissions, `poll()` and, for
/// asynchronous inner devices, their completions).

#include <biostack/bio/chain.hpp>
#include <biostack/device/sync_adapter.hpp>
#include <biostack/device/validate.hpp>
#include <biostack/queue/bio_list.hpp>
#include <cstring>
#include <type_traits>
#include <utility>

BIOSTACK_NAMESPACE_BEGIN

/// Capacities of a `faulty_device` (all static; no heap).
template <std::size_t MaxRules = 16, std::size_t MaxHeld = 64, std::size_t UndoBytes = 64 * 1024,
          std::size_t UndoEntries = 128, std::size_t MaxInFlight = 16>
struct faulty_limits {
  static constexpr std::size_t max_rules = MaxRules;        ///< scripted rules
  static constexpr std::size_t max_held = MaxHeld;          ///< completions held for poll()
  static constexpr std::size_t undo_bytes = UndoBytes;      ///< power-cut arena (0: no power cut)
  static constexpr std::size_t undo_entries = UndoEntries;  ///< power-cut undo records
  static constexpr std::size_t max_in_flight = MaxInFlight; ///< child bios (async inner devices)
};

/// A bit set of operations, for rules. `op_bit(op::write) | op_bit(op::flush)`.
[[nodiscard]] constexpr std::uint8_t op_bit(op o) noexcept {
  return static_cast<std::uint8_t>(1u << static_cast<unsigned>(o));
}
inline constexpr std::uint8_t all_ops = 0x1f;

/// 1,000,000 parts per million: certainty.
inline constexpr std::uint32_t ppm_always = 1'000'000;

/// What a rule injects.
enum class fault_kind : std::uint8_t {
  fail,           ///< complete with `status` without reaching the device
  short_transfer, ///< reads/writes: only `keep_blocks` transfer; ok with residual > 0
  torn_write,     ///< modifying ops: only `keep_blocks` reach the device; reported as `status`
  delay,          ///< hold the completion until `poll()` (after `delay_polls` polls)
  defer,          ///< hold the request itself: it reaches the device only when released
  lose_path,      ///< the path is lost: this and every later request gets `no_device`
};

/// One scripted fault. Build with the named constructors and refine with the
/// chained setters:
///
///     fault_rule::fail(errc::io_error).only(op::read).range(4096, 512).times(3)
///     fault_rule::torn(1, errc::ok).only(op::write).after(10)      // silent torn write
///     fault_rule::delay(2).always().with_probability(500'000)
///
/// A rule matches a request whose operation is in `ops` and whose range
/// overlaps [`offset`, `offset + length`) (a flush has no range and matches on
/// its operation alone). Of the matching requests the first `skip` pass
/// untouched; after that the rule fires with `probability` (parts per million,
/// drawn from the device's seeded generator), at most `count` times (0: no
/// limit).
struct fault_rule {
  fault_kind kind = fault_kind::fail;
  std::uint8_t ops = all_ops;             ///< `op_bit`s of the operations matched
  errc status = errc::io_error;           ///< fail: the status; torn: what is reported
  std::uint64_t offset = 0;               ///< byte range a request must overlap
  std::uint64_t length = UINT64_MAX;      ///< (saturates at the end of the device)
  std::uint32_t skip = 0;                 ///< matching requests let through first
  std::uint32_t count = 1;                ///< firings allowed (0: unlimited)
  std::uint32_t probability = ppm_always; ///< per matching request, parts per million
  std::uint32_t keep_blocks = 0; ///< short/torn: blocks that do transfer (capped below the request)
  std::uint32_t delay_polls = 0; ///< delay: extra polls before the completion becomes due

  [[nodiscard]] static constexpr fault_rule fail(errc s = errc::io_error) noexcept {
    fault_rule r;
    r.kind = fault_kind::fail;
    r.status = s;
    return r;
  }
  [[nodiscard]] static constexpr fault_rule short_transfer(std::uint32_t keep_blocks) noexcept {
    fault_rule r;
    r.kind = fault_kind::short_transfer;
    r.ops = op_bit(op::read) | op_bit(op::write);
    r.keep_blocks = keep_blocks;
    return r;
  }
  /// `reported` is what the submitter is told: an error, or `errc::ok` for a
  /// device that lies about the torn write.
  [[nodiscard]] static constexpr fault_rule torn(std::uint32_t keep_blocks,
                                                 errc reported = errc::io_error) noexcept {
    fault_rule r;
    r.kind = fault_kind::torn_write;
    r.ops = op_bit(op::write) | op_bit(op::discard) | op_bit(op::write_zeroes);
    r.keep_blocks = keep_blocks;
    r.status = reported;
    return r;
  }
  [[nodiscard]] static constexpr fault_rule delay(std::uint32_t polls = 0) noexcept {
    fault_rule r;
    r.kind = fault_kind::delay;
    r.delay_polls = polls;
    return r;
  }
  /// Holds the request itself, not just its completion: it is carried out
  /// when released, so requests reach the device in release order (two
  /// overlapping writes in flight can land in either order). Synchronous
  /// inner devices only; over an asynchronous one it acts like `delay`.
  [[nodiscard]] static constexpr fault_rule defer(std::uint32_t polls = 0) noexcept {
    fault_rule r;
    r.kind = fault_kind::defer;
    r.delay_polls = polls;
    return r;
  }
  [[nodiscard]] static constexpr fault_rule lose_path() noexcept {
    fault_rule r;
    r.kind = fault_kind::lose_path;
    return r;
  }

  [[nodiscard]] constexpr fault_rule only(op o) const noexcept {
    return with(&fault_rule::ops, op_bit(o));
  }
  [[nodiscard]] constexpr fault_rule ops_mask(std::uint8_t m) const noexcept {
    return with(&fault_rule::ops, m);
  }
  [[nodiscard]] constexpr fault_rule range(std::uint64_t off, std::uint64_t len) const noexcept {
    fault_rule r = *this;
    r.offset = off;
    r.length = len;
    return r;
  }
  [[nodiscard]] constexpr fault_rule after(std::uint32_t n) const noexcept {
    return with(&fault_rule::skip, n);
  }
  [[nodiscard]] constexpr fault_rule times(std::uint32_t n) const noexcept {
    return with(&fault_rule::count, n);
  }
  [[nodiscard]] constexpr fault_rule always() const noexcept {
    return with(&fault_rule::count, 0u);
  }
  [[nodiscard]] constexpr fault_rule with_probability(std::uint32_t ppm) const noexcept {
    return with(&fault_rule::probability, ppm);
  }

private:
  template <class T, class V>
  [[nodiscard]] constexpr fault_rule with(T fault_rule::*field, V v) const noexcept {
    fault_rule r = *this;
    r.*field = static_cast<T>(v);
    return r;
  }
};

/// A seeded random schedule. Probabilities are parts per million, per
/// request; only one of error / short / torn is drawn per request (in that
/// order of precedence), delay is drawn independently. Short and torn keep a
/// random number of whole blocks, always fewer than requested.
struct random_faults {
  std::uint64_t seed = 0;
  std::uint32_t error_ppm = 0; ///< fail with `error_status`
  errc error_status = errc::io_error;
  std::uint32_t short_ppm = 0; ///< reads and writes
  std::uint32_t torn_ppm = 0;  ///< modifying requests, reported as `torn_status`
  errc torn_status = errc::io_error;
  std::uint32_t delay_ppm = 0;       ///< hold the completion
  std::uint32_t defer_ppm = 0;       ///< hold the request itself (see `fault_rule::defer`)
  std::uint32_t max_delay_polls = 0; ///< a held completion waits 0..max extra polls
};

/// Order in which `poll()` / `release_all()` deliver the held completions
/// that are due.
enum class release_order : std::uint8_t {
  fifo,   ///< in the order they were held
  lifo,   ///< newest first (reverse)
  random, ///< a seeded random permutation
};

/// What a `faulty_device` injected so far.
struct faulty_stats {
  std::uint64_t submitted = 0;
  std::uint64_t invalid = 0; ///< failed validation (not an injected fault)
  std::uint64_t errors = 0;  ///< `fail` faults (rules and random)
  std::uint64_t short_transfers = 0;
  std::uint64_t torn_writes = 0;
  std::uint64_t delayed = 0;        ///< completions held (deferred requests included)
  std::uint64_t deferred = 0;       ///< requests held before reaching the device
  std::uint64_t released = 0;       ///< held completions delivered by poll / release
  std::uint64_t hold_overflows = 0; ///< wanted to hold but the hold array was full
  std::uint64_t path_losses = 0;    ///< transitions to "path lost"
  std::uint64_t path_failures = 0;  ///< requests completed with no_device because of it
  std::uint64_t power_cuts = 0;
  std::uint64_t changes_undone = 0; ///< modifying requests rolled back by power cuts
  std::uint64_t destaged = 0;       ///< changes made durable because the undo log was full
  std::uint64_t cut_in_flight = 0;  ///< held completions failed by a power cut
};

namespace detail {
/// splitmix64 (Steele, Lea, Flood): tiny, full-period, and defined only in
/// terms of 64-bit unsigned arithmetic, so a seed gives the same sequence on
/// every platform and compiler.
class splitmix64 {
public:
  explicit constexpr splitmix64(std::uint64_t seed = 0) noexcept : s_(seed) {}
  constexpr std::uint64_t next() noexcept {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// A value in [0, n) (n > 0), by multiply-shift on the high 32 bits.
  constexpr std::uint32_t below(std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>(((next() >> 32) * n) >> 32);
  }
  /// True with probability ppm / 1e6. Draws nothing for 0 or certainty, so a
  /// rule without randomness does not disturb the stream.
  constexpr bool chance(std::uint32_t ppm) noexcept {
    if (ppm == 0) return false;
    if (ppm >= ppm_always) return true;
    return below(ppm_always) < ppm;
  }

private:
  std::uint64_t s_;
};
} // namespace detail

template <class D, class Limits = faulty_limits<>>
class faulty_device {
  using device_type = std::remove_reference_t<D>;
  static_assert(block_device<device_type>, "faulty_device wraps a block_device");
  static_assert(Limits::max_held >= 1 && Limits::max_in_flight >= 1);

  static constexpr bool sync_inner = sync_block_device<device_type>;

public:
  /// True when `power_cut()` is available: the inner device is synchronous
  /// (its contents can be read and restored) and the undo arena is non-empty.
  static constexpr bool power_cut_emulation =
      sync_inner && Limits::undo_bytes > 0 && Limits::undo_entries > 0;

  template <class... Args>
  explicit faulty_device(Args&&... args) noexcept(std::is_nothrow_constructible_v<D, Args&&...>)
      : dev_(std::forward<Args>(args)...) {}

  faulty_device(const faulty_device&) = delete;
  faulty_device& operator=(const faulty_device&) = delete;

  /// The inner device's geometry; with power-cut emulation `volatile_cache`
  /// is set, since completed writes are only durable after a flush.
  [[nodiscard]] device_geometry geometry() const noexcept {
    device_geometry g = dev_.geometry();
    if constexpr (power_cut_emulation) g.volatile_cache = true;
    return g;
  }

  /// Submits `b` through the fault schedule (see the header comment). `b`
  /// completes exactly once: inline, from `poll()` / `release_*()` if held,
  /// from the inner device's completion, or from `power_cut()`.
  void submit(bio& b) noexcept {
    ++stats_.submitted;
    if (path_lost_) {
      ++stats_.path_failures;
      complete(b, errc::no_device);
      return;
    }
    if (const errc v = validate(b, dev_.geometry()); v != errc::ok) {
      ++stats_.invalid;
      complete(b, v);
      return;
    }
    if constexpr (sync_inner) {
      start(b, nullptr);
    } else {
      slot* s = parked_.empty() ? acquire() : nullptr;
      if (s == nullptr) {
        parked_.push_back(b);
        return;
      }
      start(b, s);
    }
  }

  /// Advances the poll clock by one and delivers every held completion that
  /// is due, in the configured `release_order`. Then starts requests waiting
  /// for a child and polls the inner device (if pollable). Returns the number
  /// of held completions delivered plus the work reported by those two.
  /// Re-entrant calls (from a completion callback) return 0.
  std::size_t poll() noexcept {
    if (releasing_) return 0;
    ++polls_;
    std::size_t n = release_due(false);
    if constexpr (!sync_inner) n += start_parked();
    return n + poll_if_pollable(dev_);
  }

  /// Delivers every held completion now, due or not, in the configured
  /// order. Returns how many.
  std::size_t release_all() noexcept {
    if (releasing_) return 0;
    return release_due(true);
  }

  /// Delivers the `i`-th held completion (in the order they were held) now:
  /// the building block for scripted completion orders. Returns
  /// `out_of_range` if fewer are held.
  errc release_at(std::size_t i) noexcept {
    if (i >= held_count_) return errc::out_of_range;
    release_entry(take_held(i));
    return errc::ok;
  }

  /// Completions currently held, and the request of the `i`-th (held order).
  [[nodiscard]] std::size_t held() const noexcept { return held_count_; }
  [[nodiscard]] const bio& held_request(std::size_t i) const noexcept {
    BIOSTACK_ASSERT(i < held_count_);
    return *held_[i].b;
  }

  // ---- script -------------------------------------------------------------

  /// Appends a rule. Returns `no_resources` when `Limits::max_rules` are in
  /// use, `invalid_argument` for a rule that could never fire sensibly (no
  /// operation, `fail` with status ok).
  errc add_rule(const fault_rule& r) noexcept {
    if (rule_count_ == Limits::max_rules) return errc::no_resources;
    if ((r.ops & all_ops) == 0) return errc::invalid_argument;
    if (r.kind == fault_kind::fail && r.status == errc::ok) return errc::invalid_argument;
    rules_[rule_count_++] = rule_state{r, 0, 0};
    return errc::ok;
  }
  /// Removes every rule.
  void clear_rules() noexcept { rule_count_ = 0; }
  /// Times rule `i` (in the order added) fired so far.
  [[nodiscard]] std::uint32_t fired(std::size_t i) const noexcept {
    return i < rule_count_ ? rules_[i].fired : 0;
  }

  /// Installs (or with all rates 0, removes) a random schedule and reseeds
  /// the generator with `f.seed`.
  void set_random(const random_faults& f) noexcept {
    random_ = f;
    rng_ = detail::splitmix64(f.seed);
  }
  /// Reseeds the generator (shared by rule probabilities, the random schedule
  /// and random release order) without changing anything else.
  void seed(std::uint64_t s) noexcept { rng_ = detail::splitmix64(s); }

  void set_release_order(release_order o) noexcept { order_ = o; }

  // ---- path loss ------------------------------------------------------------

  /// From now on every submitted request completes with `no_device` (held
  /// completions are not affected: those requests reached the device).
  void lose_path() noexcept {
    if (!path_lost_) ++stats_.path_losses;
    path_lost_ = true;
  }
  /// Ends a path loss.
  void restore_path() noexcept { path_lost_ = false; }
  [[nodiscard]] bool path_lost() const noexcept { return path_lost_; }
  /// The next `n` valid requests proceed, the one after loses the path (a
  /// `lose_path` rule, so it counts like one; returns `add_rule`'s status).
  errc lose_path_after(std::uint32_t n) noexcept {
    return add_rule(fault_rule::lose_path().after(n));
  }

  // ---- power cut ------------------------------------------------------------

  /// Emulates loss of power with a volatile write cache: rolls back every
  /// change that is not durable (see the header comment), then completes the
  /// held completions with `no_device`. Returns `not_supported` (and does
  /// nothing) without power-cut emulation.
  errc power_cut() noexcept {
    if constexpr (!power_cut_emulation) {
      return errc::not_supported;
    } else {
      ++stats_.power_cuts;
      rollback();
      // Fail what was held at the cut; completions submitted from their
      // callbacks are new requests to the restarted device and stay held.
      std::size_t n = held_count_;
      while (n-- != 0 && held_count_ != 0) {
        held_entry e = take_held(0);
        ++stats_.cut_in_flight;
        complete(*e.b, errc::no_device, carries_data(e.b->operation) ? e.b->length : 0u);
      }
      return errc::ok;
    }
  }

  /// Changes not yet durable (entries in the undo log that a cut would roll back).
  [[nodiscard]] std::size_t pending_changes() const noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < undo_count_; ++i) n += undo_[i].durable ? 0u : 1u;
    return n;
  }

  [[nodiscard]] const faulty_stats& stats() const noexcept { return stats_; }
  [[nodiscard]] device_type& device() noexcept { return dev_; }
  [[nodiscard]] const device_type& device() const noexcept { return dev_; }

private:
  // ---- per-request plan and outcome ---------------------------------------
  enum class action : std::uint8_t { none, fail, short_transfer, torn_write, lose_path };

  struct plan {
    action act = action::none;
    errc status = errc::ok;
    std::uint32_t keep_bytes = 0;
    bool hold = false;
    bool deferred = false; // hold before execution (sync inner devices)
    std::uint32_t delay_polls = 0;
  };

  // What the submitter will be told, plus what the undo log needs to know
  // when it is told.
  struct outcome {
    errc status = errc::ok;
    std::uint32_t residual = 0;
    std::uint32_t undo_id = 0;     // 0: no undo entry
    std::uint64_t flush_cover = 0; // flush: completion stamp at submission
  };

  struct rule_state {
    fault_rule rule;
    std::uint32_t seen; // matching, applicable requests so far
    std::uint32_t fired;
  };

  struct held_entry {
    bio* b = nullptr;
    outcome out{};
    std::uint64_t due_at = 0; // poll number from which it may be released
    bool due = false;         // selected by the current release pass
    bool executed = true;     // false: deferred, carried out on release with `p`
    plan p{};
  };

  struct slot {
    bio child;
    faulty_device* owner = nullptr;
    bio* parent = nullptr;
    plan p{};
    bool busy = false;
  };

  struct undo_entry {
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
    std::uint32_t data_pos = 0; // in arena_, valid while has_data
    std::uint32_t id = 0;
    std::uint64_t completed_at = 0; // completion stamp, valid when completed
    bool has_data = false;
    bool completed = false;
    bool durable = false;
  };

  static constexpr bool applicable(fault_kind k, op o) noexcept {
    switch (k) {
    case fault_kind::short_transfer: return carries_data(o);
    case fault_kind::torn_write: return modifies(o);
    default: return true;
    }
  }

  static constexpr bool overlaps(const fault_rule& r, const bio& b) noexcept {
    if (b.operation == op::flush) return true;
    const std::uint64_t r_end = r.length > UINT64_MAX - r.offset ? UINT64_MAX : r.offset + r.length;
    return b.offset < r_end && r.offset < b.offset + b.length; // validated: no wrap
  }

  // Bytes kept by a short or torn transfer: whole blocks, always fewer than
  // the request has.
  static std::uint32_t kept_bytes(const bio& b, std::uint32_t blocks, std::uint32_t bs) noexcept {
    const std::uint32_t n = b.length / bs;
    const std::uint32_t k = blocks < n ? blocks : n - 1u;
    return k * bs;
  }

  plan decide(const bio& b) noexcept {
    const std::uint32_t bs = dev_.geometry().block_size;
    plan p;
    for (std::size_t i = 0; i < rule_count_; ++i) {
      rule_state& rs = rules_[i];
      const fault_rule& r = rs.rule;
      const bool is_outcome = r.kind != fault_kind::delay && r.kind != fault_kind::defer;
      if (is_outcome && p.act != action::none) continue;
      if ((r.ops & op_bit(b.operation)) == 0 || !overlaps(r, b) || !applicable(r.kind, b.operation))
        continue;
      if (rs.seen++ < r.skip) continue;
      if (r.count != 0 && rs.fired >= r.count) continue;
      if (!rng_.chance(r.probability)) continue;
      ++rs.fired;
      switch (r.kind) {
      case fault_kind::fail:
        p.act = action::fail;
        p.status = r.status;
        break;
      case fault_kind::short_transfer:
        p.act = action::short_transfer;
        p.keep_bytes = kept_bytes(b, r.keep_blocks, bs);
        break;
      case fault_kind::torn_write:
        p.act = action::torn_write;
        p.status = r.status;
        p.keep_bytes = kept_bytes(b, r.keep_blocks, bs);
        break;
      case fault_kind::defer: p.deferred = sync_inner; [[fallthrough]];
      case fault_kind::delay:
        p.hold = true;
        p.delay_polls = r.delay_polls > p.delay_polls ? r.delay_polls : p.delay_polls;
        break;
      case fault_kind::lose_path: p.act = action::lose_path; break;
      }
    }
    if (p.act == action::none && (random_.error_ppm | random_.short_ppm | random_.torn_ppm) != 0) {
      const std::uint32_t u = rng_.below(ppm_always);
      const std::uint32_t e = random_.error_ppm;
      const std::uint32_t s = e + random_.short_ppm;
      const std::uint32_t t = s + random_.torn_ppm;
      const std::uint32_t blocks = b.length / bs;
      if (u < e) {
        p.act = action::fail;
        p.status = random_.error_status;
      } else if (u < s && carries_data(b.operation)) {
        p.act = action::short_transfer;
        p.keep_bytes = kept_bytes(b, rng_.below(blocks), bs);
      } else if (u >= s && u < t && modifies(b.operation)) {
        p.act = action::torn_write;
        p.status = random_.torn_status;
        p.keep_bytes = kept_bytes(b, rng_.below(blocks), bs);
      }
    }
    if (random_.delay_ppm != 0 && rng_.chance(random_.delay_ppm)) {
      p.hold = true;
      const std::uint32_t d =
          random_.max_delay_polls != 0 ? rng_.below(random_.max_delay_polls + 1u) : 0u;
      p.delay_polls = d > p.delay_polls ? d : p.delay_polls;
    }
    if (random_.defer_ppm != 0 && rng_.chance(random_.defer_ppm)) {
      p.hold = true;
      p.deferred = sync_inner;
    }
    return p;
  }

  // Decides and runs a validated request. `s` is the child slot for
  // asynchronous inner devices (null for synchronous ones).
  void start(bio& b, slot* s) noexcept {
    const plan p = decide(b);
    const std::uint32_t data_res = carries_data(b.operation) ? b.length : 0u;
    switch (p.act) {
    case action::lose_path:
      lose_path();
      ++stats_.path_failures;
      release_slot(s);
      complete(b, errc::no_device, data_res);
      return;
    case action::fail:
      ++stats_.errors;
      release_slot(s);
      settle(b, outcome{p.status, data_res, 0, 0}, p);
      return;
    case action::short_transfer: ++stats_.short_transfers; break;
    case action::torn_write: ++stats_.torn_writes; break;
    case action::none: break;
    }
    if constexpr (sync_inner) {
      plan q = p;
      if (q.deferred) {
        if (held_count_ < Limits::max_held) {
          held_entry e;
          e.b = &b;
          e.out.flush_cover = stamp_; // a flush covers what completed before its SUBMISSION
          e.due_at = polls_ + 1u + q.delay_polls;
          e.executed = false;
          e.p = q;
          held_[held_count_++] = e;
          ++stats_.delayed;
          ++stats_.deferred;
          return;
        }
        ++stats_.hold_overflows;
        q.hold = false; // carried out and delivered now
      }
      settle(b, run_sync(b, q, stamp_), q);
    } else {
      const std::uint32_t len = p.act == action::none ? b.length : p.keep_bytes;
      if (len == 0 && b.operation != op::flush) { // a shortened transfer of no blocks
        release_slot(s);
        settle(b, map_outcome(b, p, errc::ok, 0, outcome{}), p);
        return;
      }
      s->owner = this;
      s->parent = &b;
      s->p = p;
      init_child(s->child, b, 0, len);
      s->child.on_done = completion{&child_done, s};
      dev_.submit(s->child);
    }
  }

  // Carries out `b` (shortened per `p`) on the synchronous inner device,
  // saving undo data first, and returns what the submitter will be told.
  // `cover` is the completion stamp at the request's submission.
  outcome run_sync(bio& b, const plan& p, std::uint64_t cover) noexcept {
    const std::uint32_t len = p.act == action::none ? b.length : p.keep_bytes;
    outcome o;
    o.flush_cover = cover;
    if constexpr (power_cut_emulation) {
      if (modifies(b.operation) && len != 0) o.undo_id = save_undo(b.offset, len);
    }
    std::uint32_t done = 0;
    errc st = errc::ok;
    // A flush has no range but must still reach the device; a shortened
    // transfer of zero blocks does not.
    if (len != 0 || b.operation == op::flush) {
      bio view;
      init_child(view, b, 0, len);
      std::uint32_t res = 0;
      st = perform_sync(dev_, view, res);
      done = len - res;
      // The synchronous interface has no flags: honour FUA with a flush of
      // the inner device (a no-op for RAM, fdatasync for a file).
      if (st == errc::ok && modifies(b.operation) && has(b.flags, bio_flags::fua))
        st = dev_.flush();
    }
    return map_outcome(b, p, st, done, o);
  }

  // Turns the device's result for the (possibly shortened) transfer into
  // what the submitter is told.
  static outcome map_outcome(const bio& b, const plan& p, errc device_status, std::uint32_t done,
                             outcome o) noexcept {
    const std::uint32_t data_len = carries_data(b.operation) ? b.length : 0u;
    if (device_status != errc::ok) {
      o.status = device_status;
      o.residual = data_len != 0 ? data_len - done : 0u;
    } else if (p.act == action::short_transfer) {
      o.status = errc::ok;
      o.residual = b.length - done;
    } else if (p.act == action::torn_write) {
      o.status = p.status;
      o.residual = (p.status == errc::ok || data_len == 0) ? 0u : data_len - done;
    } else {
      o.status = errc::ok;
      o.residual = 0;
    }
    return o;
  }

  static completion_action child_done(bio& child, void* ctx) noexcept {
    slot& s = *static_cast<slot*>(ctx);
    faulty_device& self = *s.owner;
    bio& parent = *s.parent;
    const plan p = s.p;
    const errc st = child.status();
    const std::uint32_t done = child.length - child.residual();
    // The child is not linked to the parent (the outcome is rewritten), and
    // returning `stop` keeps the walk off it once it is back in the pool.
    s.busy = false;
    self.settle(parent, map_outcome(parent, p, st, done, outcome{}), p);
    self.start_parked();
    return completion_action::stop;
  }

  void settle(bio& b, const outcome& o, const plan& p) noexcept {
    if (p.hold) {
      if (held_count_ < Limits::max_held) {
        held_entry e;
        e.b = &b;
        e.out = o;
        e.due_at = polls_ + 1u + p.delay_polls;
        held_[held_count_++] = e;
        ++stats_.delayed;
        return;
      }
      ++stats_.hold_overflows;
    }
    deliver(b, o);
  }

  // Completes `b` towards the submitter, after updating durability: this is
  // the moment the submitter learns of the completion.
  void deliver(bio& b, const outcome& o) noexcept {
    if constexpr (power_cut_emulation) {
      if (modifies(b.operation) && o.undo_id != 0) {
        if (undo_entry* e = find_undo(o.undo_id)) {
          e->completed = true;
          e->completed_at = ++stamp_;
          if (has(b.flags, bio_flags::fua) && o.status == errc::ok) make_durable(*e);
        }
      }
      if (b.operation == op::flush && o.status == errc::ok) {
        for (std::size_t i = 0; i < undo_count_; ++i) {
          undo_entry& e = undo_[i];
          if (!e.durable && e.completed && e.completed_at <= o.flush_cover) make_durable(e);
        }
      }
      drop_durable_prefix();
    }
    complete(b, o.status, o.residual);
  }

  // ---- held completions ---------------------------------------------------

  // Delivers a held entry, first carrying it out if it was deferred.
  void release_entry(const held_entry& e) noexcept {
    ++stats_.released;
    if constexpr (sync_inner) {
      if (!e.executed) {
        deliver(*e.b, run_sync(*e.b, e.p, e.out.flush_cover));
        return;
      }
    }
    deliver(*e.b, e.out);
  }

  held_entry take_held(std::size_t i) noexcept {
    held_entry e = held_[i];
    for (std::size_t j = i + 1; j < held_count_; ++j) held_[j - 1] = held_[j];
    --held_count_;
    return e;
  }

  std::size_t release_due(bool everything) noexcept {
    releasing_ = true;
    for (std::size_t i = 0; i < held_count_; ++i)
      held_[i].due = everything || held_[i].due_at <= polls_;
    std::size_t released = 0;
    for (;;) {
      // Counted afresh each time: a callback may have released or cut some.
      std::size_t due = 0;
      for (std::size_t i = 0; i < held_count_; ++i) due += held_[i].due ? 1u : 0u;
      if (due == 0) break;
      std::size_t pick = 0;
      switch (order_) {
      case release_order::fifo: pick = 0; break;
      case release_order::lifo: pick = due - 1; break;
      case release_order::random: pick = rng_.below(static_cast<std::uint32_t>(due)); break;
      }
      std::size_t idx = 0;
      for (std::size_t seen = 0;; ++idx) {
        if (held_[idx].due && seen++ == pick) break;
      }
      ++released;
      release_entry(take_held(idx)); // may hold new requests: they are not due
    }
    releasing_ = false;
    return released;
  }

  // ---- child pool (asynchronous inner devices) ----------------------------

  slot* acquire() noexcept {
    for (slot& s : slots_) {
      if (!s.busy) {
        s.busy = true;
        return &s;
      }
    }
    return nullptr;
  }
  static void release_slot(slot* s) noexcept {
    if (s != nullptr) s->busy = false;
  }
  std::size_t start_parked() noexcept {
    if (starting_) return 0; // trampoline: the outer loop carries on
    starting_ = true;
    std::size_t n = 0;
    while (!parked_.empty()) {
      slot* s = acquire();
      if (s == nullptr) break;
      start(*parked_.pop_front(), s);
      ++n;
    }
    starting_ = false;
    return n;
  }

  // ---- undo log (power cut) -----------------------------------------------

  undo_entry* find_undo(std::uint32_t id) noexcept {
    for (std::size_t i = 0; i < undo_count_; ++i)
      if (undo_[i].id == id) return &undo_[i];
    return nullptr;
  }

  static void make_durable(undo_entry& e) noexcept {
    e.durable = true;
    e.has_data = false; // its range stays recorded: older changes must not undo it
  }

  // Durable entries with nothing older still pending shadow nothing: drop them.
  void drop_durable_prefix() noexcept {
    std::size_t k = 0;
    while (k < undo_count_ && undo_[k].durable) ++k;
    if (k == 0) return;
    for (std::size_t i = k; i < undo_count_; ++i) undo_[i - k] = undo_[i];
    undo_count_ -= k;
    if (undo_count_ == 0) arena_used_ = 0;
  }

  // The oldest pending change reaches the medium on its own.
  void destage_oldest() noexcept {
    for (std::size_t i = 0; i < undo_count_; ++i) {
      if (!undo_[i].durable) {
        make_durable(undo_[i]);
        ++stats_.destaged;
        break;
      }
    }
    drop_durable_prefix();
  }

  // Moves the saved data of live entries down to close the gaps left by
  // entries that became durable. Entries are in arena order, so memmove in
  // entry order never overwrites data still to be moved.
  void compact() noexcept {
    std::uint32_t pos = 0;
    for (std::size_t i = 0; i < undo_count_; ++i) {
      undo_entry& e = undo_[i];
      if (!e.has_data) continue;
      if (e.data_pos != pos) std::memmove(arena_ + pos, arena_ + e.data_pos, e.length);
      e.data_pos = pos;
      pos += e.length;
    }
    arena_used_ = pos;
  }

  // Saves the current contents of [off, off + len) before a change. Returns
  // the entry's id, or 0 when the change is destaged at once.
  std::uint32_t save_undo(std::uint64_t off, std::uint32_t len) noexcept {
    if (len > Limits::undo_bytes) {
      while (undo_count_ != 0) destage_oldest();
      ++stats_.destaged;
      return 0;
    }
    while (undo_count_ == Limits::undo_entries) destage_oldest();
    while (Limits::undo_bytes - arena_used_ < len) {
      compact();
      if (Limits::undo_bytes - arena_used_ >= len) break;
      destage_oldest();
    }
    undo_entry& e = undo_[undo_count_];
    e = undo_entry{};
    e.offset = off;
    e.length = len;
    e.data_pos = static_cast<std::uint32_t>(arena_used_);
    if (dev_.read(off, arena_ + arena_used_, len) != errc::ok) {
      // Unreadable: it cannot be restored, so count it as written back.
      ++stats_.destaged;
      return 0;
    }
    e.has_data = true;
    if (++next_undo_id_ == 0) next_undo_id_ = 1; // 0 means "no entry"
    e.id = next_undo_id_;
    arena_used_ += len;
    ++undo_count_;
    return e.id;
  }

  // True when block [off, off + bs) was written by a durable change newer
  // than entry `i`.
  bool shadowed(std::size_t i, std::uint64_t off, std::uint32_t bs) const noexcept {
    for (std::size_t j = i + 1; j < undo_count_; ++j) {
      const undo_entry& d = undo_[j];
      if (d.durable && off < d.offset + d.length && d.offset < off + bs) return true;
    }
    return false;
  }

  void rollback() noexcept {
    const std::uint32_t bs = dev_.geometry().block_size;
    for (std::size_t i = undo_count_; i-- != 0;) {
      const undo_entry& e = undo_[i];
      if (e.durable || !e.has_data) continue;
      // Restore runs of blocks not shadowed by a newer durable change.
      std::uint32_t run_start = 0;
      std::uint32_t run_len = 0;
      for (std::uint32_t d = 0; d <= e.length; d += bs) {
        const bool keep = d < e.length && !shadowed(i, e.offset + d, bs);
        if (keep) {
          if (run_len == 0) run_start = d;
          run_len += bs;
        } else if (run_len != 0) {
          (void)dev_.write(e.offset + run_start, arena_ + e.data_pos + run_start, run_len);
          run_len = 0;
        }
      }
      ++stats_.changes_undone;
    }
    undo_count_ = 0;
    arena_used_ = 0;
  }

  // Storage for the undo arena; a one-byte placeholder when disabled keeps
  // the member well-formed without a zero-length array.
  static constexpr std::size_t arena_size = power_cut_emulation ? Limits::undo_bytes : 1;
  static constexpr std::size_t undo_size = power_cut_emulation ? Limits::undo_entries : 1;
  static constexpr std::size_t slot_count = sync_inner ? 1 : Limits::max_in_flight;
  static constexpr std::size_t rule_capacity = Limits::max_rules != 0 ? Limits::max_rules : 1;

  D dev_;
  detail::splitmix64 rng_{};
  random_faults random_{};
  release_order order_ = release_order::fifo;
  faulty_stats stats_{};
  rule_state rules_[rule_capacity] = {};
  std::size_t rule_count_ = 0;
  held_entry held_[Limits::max_held] = {};
  std::size_t held_count_ = 0;
  std::uint64_t polls_ = 0;
  std::uint64_t stamp_ = 0; // completion stamps of modifying requests
  slot slots_[slot_count];
  bio_list parked_; // requests waiting for a child slot, oldest first
  undo_entry undo_[undo_size] = {};
  std::size_t undo_count_ = 0;
  std::size_t arena_used_ = 0;
  std::uint32_t next_undo_id_ = 0;
  bool path_lost_ = false;
  bool releasing_ = false;
  bool starting_ = false;
  std::byte arena_[arena_size];
};

template <class D>
faulty_device(D&) -> faulty_device<D&>;

BIOSTACK_NAMESPACE_END
