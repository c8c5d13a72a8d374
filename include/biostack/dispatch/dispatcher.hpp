// SPDX-License-Identifier: MIT
#pragma once

/// The tagged dispatcher: a queue, a tag pool and the policies around them,
/// between whoever produces bios and a block device.
///
///     ram_device dev{mem, sizeof mem};
///     dispatcher<ram_device, policies<elevator<64>, max_transfer<65536>, counters>> d{dev};
///     d.submit(b);     // validated, queued, merged/split, issued on a free tag
///     d.poll();        // deferred completions, timeouts, retries, shortages
///
/// Behaviour (illumos xbuf, DragonFly xdisk, FreeBSD blkback):
/// - every bio is validated first; a bad one completes with a clear `errc`;
/// - at most `active_limit` device requests are outstanding; after hitting
///   the limit issuing resumes when in-flight falls to the low-water mark;
/// - the device's `submit` is never called with the dispatcher's lock held,
///   and completions never recurse into the device: an inline-completing
///   device is driven by a loop (a trampoline), so stack use is bounded
///   whatever the queue length;
/// - a shortage of request objects delays (never loses, never reorders) and
///   is retried on the next completion or `poll()`, even with nothing in
///   flight;
/// - `ordered` bios and flushes are barriers: everything submitted before
///   one is issued and completed before it is issued, and nothing submitted
///   after it is issued before it completes;
/// - `no_device` requeues (unless `fail_fast`), `media_error` never retries;
/// - a timed-out request completes with `timed_out`; its late completion is
///   recognised by the tag generation and dropped; until then it keeps its
///   tag (`abandon_timed_out()` after a device reset gives it back);
/// - a residual never exceeds the request; short reads are reported, or
///   zero-extended with `zero_fill_short_reads`;
/// - the dispatcher is itself a `block_device` (with `poll()`), so a cache or
///   another layer can sit on top of it; over a `constant_geometry_device` it
///   is one too, keeps no copy of the geometry and validates against the
///   constant;
/// - over a `validated_submit_device` (a static RAM disk), a dispatcher that
///   neither merges nor splits hands requests to `submit_validated`: each one
///   copies a bio it validated against the same constant geometry, so the
///   device does not check it again; over one that also transfers in place
///   (`validated_transfer_device`), no request object (nor pool) at all: the
///   bio's data is moved in the dispatch loop and the bio completed from
///   there (with deferred completion, by the next `poll()`), holding a tag
///   meanwhile;
/// - over a device that declares `static constexpr bool may_lose_path =
///   false` (it never completes a bio with `no_device`, as a RAM disk), or
///   with `retry<0>`, path-loss handling is compiled out: it could never
///   trigger, and a `no_device` that comes anyway is passed on once.

#include <biostack/alloc/static_pool.hpp>
#include <biostack/bio/chain.hpp>
#include <biostack/bio/memory.hpp>
#include <biostack/clock.hpp>
#include <biostack/completion/deferred.hpp>
#include <biostack/device/concepts.hpp>
#include <biostack/device/validate.hpp>
#include <biostack/dispatch/policies.hpp>
#include <biostack/policy.hpp>
#include <biostack/queue/fifo.hpp>
#include <biostack/split/none.hpp>
#include <biostack/stats/concepts.hpp>
#include <biostack/sync/lock.hpp>
#include <type_traits>

BIOSTACK_NAMESPACE_BEGIN

namespace detail {
template <std::size_t Segments>
struct request_segments {
  segment segs[Segments];
};
template <>
struct request_segments<0> {};

// False for a device that declares `static constexpr bool may_lose_path =
// false` (it never completes a bio with `errc::no_device`) as a promise of
// its own (`makes_own_promises`); true otherwise.
template <class Device>
inline constexpr bool may_lose_path = !(makes_own_promises<Device> && requires {
  requires !bool(std::remove_cvref_t<Device>::may_lose_path);
});

// The geometry a dispatcher shows above it: its device's, except that one
// whose split policy splits accepts requests of any size.
[[nodiscard]] constexpr device_geometry dispatcher_geometry(device_geometry g,
                                                            bool splits) noexcept {
  if (splits) g.max_transfer = 0;
  return g;
}

// Over a device with a constant geometry the dispatcher has one too, so it
// is a `constant_geometry_device` itself and the layers above it fold their
// checks as well. Over any other device: nothing.
template <class Device, bool Splits, bool = constant_geometry_device<Device>>
struct dispatcher_constant_geometry {};
template <class Device, bool Splits>
struct dispatcher_constant_geometry<Device, Splits, true> {
  /// The geometry `geometry()` always returns (see `constant_geometry_device`).
  static constexpr device_geometry constant_geometry =
      dispatcher_geometry(std::remove_cvref_t<Device>::constant_geometry, Splits);
};
} // namespace detail

/// One device request: the bio the device sees, plus the dispatcher's
/// bookkeeping. Comes from the allocation policy. Not for users.
template <std::size_t Segments>
struct dispatch_request : bio, detail::request_segments<Segments> {
  bio* head = nullptr;              ///< first member, or the bio being split
  dispatch_request* next = nullptr; ///< completion / requeue linkage
  std::uint64_t started = 0;        ///< clock at issue (latency, deadline)
  std::uint32_t seq = 0;            ///< issue order, for in-order requeue
  std::uint32_t gen = 0;            ///< the tag generation it was issued under
  std::uint32_t retries = 0;
  std::uint16_t tag = 0;
  std::uint8_t kind = 0;
  std::uint8_t lane = 0; ///< 0: shared tags and pool; 1: reserved
};

/// Lifecycle of a dispatcher.
enum class dispatch_state : std::uint8_t {
  open,     ///< accepting work
  draining, ///< refusing new work (`shutting_down`), finishing what it has
  closed,   ///< refusing new work, nothing left
};

namespace detail {
// Everything a dispatcher is and does, but its constructor: `dispatcher`
// below derives from it only to value-initialise it. Its state then starts
// out zero in one clearing of the whole object (for a static dispatcher, a
// single memset at start-up instead of a store per field), and is bound to
// its device afterwards.
template <class Device, class Policies>
class dispatcher_impl : public dispatcher_constant_geometry<
                            Device, select_policy_t<Policies, split_policy_tag, no_split>::splits> {
public:
  using device_type = Device;
  using queue_type = select_policy_t<Policies, queue_policy_tag, fifo>;
  using split_type = select_policy_t<Policies, split_policy_tag, no_split>;
  using alloc_type = select_policy_t<Policies, alloc_policy_tag, static_pool<32>>;
  using tags_type = select_policy_t<Policies, tag_policy_tag, tags<32>>;
  using merge_type = select_policy_t<Policies, merge_policy_tag, no_merge>;
  using timeout_type = select_policy_t<Policies, timeout_policy_tag, no_timeout>;
  using retry_type = select_policy_t<Policies, retry_policy_tag, retry<>>;
  using completion_type = select_policy_t<Policies, completion_policy_tag, inline_completion>;
  using stats_type = select_policy_t<Policies, stats_policy_tag, null_stats>;
  using lock_type = select_policy_t<Policies, lock_policy_tag, null_lock>;
  using clock_type = select_policy_t<Policies, clock_policy_tag, no_clock>;
  using short_read_type = select_policy_t<Policies, short_read_policy_tag, report_short_reads>;
  using request = dispatch_request<merge_type::max_segments>;
  using pool_type = typename alloc_type::template pool<request>;

  static_assert(block_device<Device>, "dispatcher needs a block_device");
  static_assert(queue_discipline<queue_type>);
  static_assert(split_policy<split_type>);
  static_assert(object_pool<pool_type, request>);
  static_assert(stats_policy<stats_type>);
  static_assert(lock_policy<lock_type>);
  static_assert(tick_source<clock_type>);
  static_assert(timeout_type::ticks == 0 || !std::is_same_v<clock_type, no_clock>,
                "timeouts need a clock policy (manual_clock, steady_clock_ns, your own)");

  static constexpr std::size_t tag_count = tags_type::count;
  static constexpr std::size_t active_limit = tags_type::active_limit;
  static constexpr std::size_t low_water = tags_type::low_water;
  static constexpr std::size_t reserved_tags = tags_type::reserved;

  /// Called once when a drain or shutdown finishes (from the context that
  /// delivered the last completion, without the lock held).
  using idle_fn = void (*)(void* context) noexcept;

  dispatcher_impl(const dispatcher_impl&) = delete;
  dispatcher_impl& operator=(const dispatcher_impl&) = delete;
  /// Requires: idle (nothing queued or in flight); destroying a dispatcher
  /// that still owns bios would lose them.
  ~dispatcher_impl() { BIOSTACK_ASSERT(idle_locked()); }

protected:
  // Not user-provided, so that value-initialisation clears the whole object
  // first (see above); `bind` does the rest.
  dispatcher_impl() noexcept = default;

  // Puts a value-initialised dispatcher in front of `target`. The device's
  // geometry is read once, here; a `constant_geometry_device`'s is not read
  // at all.
  void bind(Device& target) noexcept {
    dev_ = &target;
    geo_ = detail::copy_geometry(target);
    if constexpr (!fixed_geometry) BIOSTACK_ASSERT(device_geo().valid());
    // Everything else starts out zero; only the tag stacks of the
    // configurations that have them need filling.
    if constexpr (timeouts) {
      for (std::size_t i = 0; i < tag_count; ++i)
        free_tags_[i] = static_cast<std::uint16_t>(tag_count - 1 - i);
      free_count_ = tag_count;
    }
    if constexpr (reserving) {
      for (std::size_t i = 0; i < reserved_tags; ++i)
        reserved_free_[i] = static_cast<std::uint16_t>(tag_count + reserved_tags - 1 - i);
      reserved_free_count_ = reserved_tags;
    }
  }

public:
  // ---- block_device -----------------------------------------------------

  /// The device's geometry; when the split policy splits, requests of any
  /// size are accepted (max_transfer 0). Over a `constant_geometry_device`
  /// the dispatcher is one as well: this is then `constant_geometry`.
  [[nodiscard]] device_geometry geometry() const noexcept {
    return detail::dispatcher_geometry(device_geo(), splitting);
  }

  /// Queues `b` and starts whatever the tags allow. `b` completes exactly
  /// once: with the device's status, or at once with `shutting_down` (drain
  /// or shutdown), `no_device` (fail-fast bio while the path is down) or the
  /// validation error (`validate()`, plus `invalid_argument` for a bio larger
  /// than the device's max_transfer when the split policy does not split).
  /// A completion delivered inline never runs inside a callback's own
  /// `submit`: nested submissions only queue. Thread-safe per the lock
  /// policy; not ISR-safe (a lock policy may block).
  /// Complexity: the discipline's push, plus the work it unblocks.
  void submit(bio& b) noexcept {
    const errc v = check(b);
    lock_.lock();
    stats_.on_submit();
    if (const errc e = refusal_locked(b, v); BIOSTACK_UNLIKELY(e != errc::ok))
      reject_locked(b, e);
    else
      enqueue_locked(b);
    run_or_unlock();
  }

  /// Like `submit`, on the reserved lane (`tags<..., Reserved>`): the bio
  /// goes out on one of the reserved tags with its own request object, in
  /// FIFO order among reserved bios, ahead of the shared queue and outside
  /// the active limit, so it cannot starve behind it. Reserved bios are never
  /// merged or split (one larger than the split policy allows completes with
  /// `invalid_argument`) and are not ordered against the shared queue's
  /// barriers. Path loss, retries and timeouts apply as usual.
  void submit_reserved(bio& b) noexcept requires(tags_type::reserved != 0) {
    errc v = check(b);
    if constexpr (split_type::splits) {
      if (v == errc::ok && b.length != 0 && split_.chunk(b, 0, device_geo()) < b.length)
        v = errc::invalid_argument;
    }
    lock_.lock();
    stats_.on_submit();
    if (const errc e = refusal_locked(b, v); e != errc::ok)
      reject_locked(b, e);
    else
      reserved_q_.push_back(b);
    run_or_unlock();
  }

  /// Processes deferred completions, expires timed-out requests, retries
  /// after path loss when the backoff has passed, and restarts a queue that
  /// stalled on a shortage, even when nothing is in flight. Polls the device
  /// first when it is pollable (without the lock). Returns the device's
  /// poll count plus the deferred completions processed.
  std::size_t poll() noexcept {
    std::size_t work = poll_if_pollable(*dev_);
    lock_.lock();
    if constexpr (completion_type::deferred) work += take_deferred_locked();
    // Timeouts and path checks complete bios, so they run in the dispatch
    // loop: whichever context runs it now will do them.
    if constexpr (polled_checks) poll_pending_ = true;
    run_or_unlock();
    return work;
  }

  // ---- control ------------------------------------------------------------

  /// Holds back issuing (bios still queue and may merge) until the matching
  /// `unplug()`: lets a producer hand over a batch at once. Nests.
  void plug() noexcept {
    lock_guard<lock_type> g(lock_);
    ++plugged_;
  }
  void unplug() noexcept {
    lock_.lock();
    BIOSTACK_ASSERT(plugged_ != 0);
    --plugged_;
    run_or_unlock();
  }

  /// Completes every queued (not yet issued) bio for which `pred(const bio&)`
  /// is true with status `code` and no data transferred; the others stay
  /// queued, in order (xbuf flushq). Issued requests, including requeued
  /// ones, are not touched. `pred` runs under the dispatcher's lock: it must
  /// not call back into the dispatcher. Returns the number cancelled.
  template <class Pred>
  std::size_t cancel_queued(Pred&& pred, errc code = errc::cancelled) noexcept {
    BIOSTACK_ASSERT(code != errc::ok);
    lock_.lock();
    const std::size_t n = cancel_locked(pred, code);
    run_or_unlock();
    return n;
  }

  /// Refuses new work from now on (`shutting_down`), lets queued and
  /// in-flight work finish, then moves to `closed` and calls `on_idle`
  /// (at once, from here, if there is nothing to wait for). In-flight work
  /// includes timed-out requests the device has not returned: their bios
  /// have completed, but the drain closes only once the device gives the
  /// request back, or `abandon_timed_out()` after a device reset.
  void drain(idle_fn on_idle = nullptr, void* context = nullptr) noexcept {
    lock_.lock();
    begin_drain_locked(on_idle, context);
    run_or_unlock();
  }

  /// Like `drain`, but queued bios that were never issued complete with
  /// `cancelled`; in-flight work is never cancelled (blkback).
  void shutdown(idle_fn on_idle = nullptr, void* context = nullptr) noexcept {
    lock_.lock();
    begin_drain_locked(on_idle, context);
    cancel_locked([](const bio&) noexcept { return true; }, errc::cancelled);
    run_or_unlock();
  }

  /// Gives back the tags and request objects of timed-out requests the
  /// device still holds, for a device that has been reset and will never
  /// complete them. Until then such a request keeps its tag (its late answer
  /// must find it), counts towards `in_flight()` and the active limit, and a
  /// `drain()` or `shutdown()` does not close; their bios completed with
  /// `timed_out` when they expired, so nothing is lost here. A late answer
  /// that already arrived (deferred, not yet processed) is collected as
  /// usual instead. Returns the number of tags given back.
  /// Requires: the device never completes any of them afterwards (a late
  /// completion would touch a request object that has been reused). Not
  /// ISR-safe. Complexity: O(tags x completions waiting), plus the work the
  /// freed tags unblock.
  std::size_t abandon_timed_out() noexcept {
    lock_.lock();
    if constexpr (completion_type::deferred) take_deferred_locked();
    std::size_t n = 0;
    if constexpr (timeouts) { // without timeouts nothing is ever abandoned
      for (std::size_t i = 0; i < tag_count + reserved_tags; ++i) {
        request* q = tag_req_[i];
        if (q == nullptr || q->kind != kind_zombie || on_done_list_locked(*q)) continue;
        release_tag_locked(*q);
        free_request_locked(*q);
        ++n;
      }
    }
    run_or_unlock(); // a drain may be complete now, and tags are free
    return n;
  }

  /// Accepts work again after a drain or shutdown.
  void resume() noexcept {
    lock_guard<lock_type> g(lock_);
    state_ = dispatch_state::open;
    idle_fn_ = nullptr;
    drain_end_ = nullptr;
  }

  /// Tells the dispatcher the device's path is back (xdisk: a span returned):
  /// requeued requests are issued again, first and in order.
  void notify_path_restored() noexcept {
    lock_.lock();
    if constexpr (requeues) path_down_ = false;
    run_or_unlock();
  }

  // ---- observation --------------------------------------------------------

  [[nodiscard]] dispatch_state state() const noexcept {
    lock_guard<lock_type> g(lock_);
    return state_;
  }
  /// Device requests outstanding (tags in use, timed-out ones included).
  [[nodiscard]] std::size_t in_flight() const noexcept {
    lock_guard<lock_type> g(lock_);
    return in_flight_ + reserved_busy_locked();
  }
  /// Bios waiting to be issued (queued, behind a barrier, or half split).
  [[nodiscard]] std::size_t queued() const noexcept {
    lock_guard<lock_type> g(lock_);
    std::size_t n = queue_.size() + held_size_locked() + (split_active_locked() ? 1u : 0u);
    if constexpr (reserving) n += reserved_q_.size();
    return n;
  }
  /// Device requests waiting for the path to come back.
  [[nodiscard]] std::size_t requeued() const noexcept {
    lock_guard<lock_type> g(lock_);
    std::size_t n = 0;
    for (request* q = requeue_head_locked(); q != nullptr; q = q->next) ++n;
    return n;
  }
  [[nodiscard]] bool path_down() const noexcept {
    lock_guard<lock_type> g(lock_);
    return path_down_locked();
  }
  /// True when nothing is queued, requeued or in flight.
  [[nodiscard]] bool idle() const noexcept {
    lock_guard<lock_type> g(lock_);
    return idle_locked();
  }
  /// A copy of the statistics policy's state, taken under the lock.
  [[nodiscard]] stats_type stats() const noexcept {
    lock_guard<lock_type> g(lock_);
    return stats_;
  }
  [[nodiscard]] Device& device() noexcept { return *dev_; }
  /// The clock policy instance (advance a `manual_clock` through it).
  [[nodiscard]] clock_type& clock() noexcept { return clock_; }

private:
  static constexpr std::uint8_t kind_whole = 0;  // one bio, or a merged run of bios
  static constexpr std::uint8_t kind_piece = 1;  // one piece of a split bio
  static constexpr std::uint8_t kind_zombie = 2; // timed out; the device still holds it

  // What this policy pack can do at all; whatever it cannot is compiled out
  // (state and code), so a small configuration pays only for what it uses.
  static constexpr bool merging = merge_type::enabled;
  static constexpr bool splitting = split_type::splits;
  // A device whose geometry is a constant: no copy, and checks that fold.
  static constexpr bool fixed_geometry = constant_geometry_device<Device>;
  // Every request is a copy of one bio that passed `check()` (no merging or
  // splitting), so the device may skip its own validation
  // (`submit_to_device`). When it promises that such a submission always
  // succeeds in full, each request's result is known without reading it.
  static constexpr bool submits_validated =
      validated_submit_device<Device> && !merging && !splitting;
  static constexpr bool requests_succeed =
      submits_validated && infallible_validated_submit_device<Device>;
  // Path loss can happen at all: the device may complete with `no_device`
  // (it does not declare `may_lose_path = false`) and the retry policy
  // retries. Otherwise requeueing, the path state and the refusal of
  // fail-fast bios while the path is down could never trigger: compiled out,
  // and a `no_device` that comes anyway is passed on like any error.
  static constexpr bool requeues = detail::may_lose_path<Device> && retry_type::max_retries != 0;
  static constexpr bool reserving = reserved_tags != 0;
  // A discipline that keeps arrival order never moves a bio across a
  // barrier, so barriers wait in its queue like everything else, and are
  // caught when they reach the head. One that reorders sees only one
  // barrier-free epoch at a time: a barrier and everything after it wait
  // in `held_`, in arrival order.
  static constexpr bool in_order = keeps_order_v<queue_type>;
  // Only a timeout needs to know which tag a request holds: to find the
  // requests in flight, and to recognise a late answer by the tag's
  // generation. Without one a tag is just a count.
  static constexpr bool timeouts = timeout_type::ticks != 0;
  // Path loss measured in time: a backoff before retrying, or a give-up.
  static constexpr bool timed_path_loss = retry_type::backoff != 0 || retry_type::loss_timeout != 0;
  // With the low-water mark just below the limit, a released tag carries the
  // next request at once: there is no hysteresis to remember.
  static constexpr bool hysteresis = low_water + 1 != active_limit;
  // Work a `poll()` hands to the dispatch loop: expiring timeouts, checking
  // a lost path. Without either, `poll()` only collects completions.
  static constexpr bool polled_checks = timeouts || requeues;
  // Over a device that transfers a validated bio in place
  // (`validated_transfer_device`: a RAM disk) each bio goes out as itself:
  // no request object, no copy of it, no completion callback. The loop has
  // the device move the bio's data, keeps the bio (on a shared-lane tag, so
  // every limit and barrier counts it as before) on a list of transferred
  // bios, and completes it from there. Not with a reserved lane, timeouts or
  // latency statistics, which keep state per request.
  static constexpr bool in_place = submits_validated && validated_transfer_device<Device> &&
                                   !reserving && !timeouts && !stats_type::wants_latency;
  // With deferred completions too, every bio in flight is on that list
  // whenever the loop looks, so a `poll()` hands over everything
  // transferred before it by counting the list, `in_flight_` long: the loop
  // completes that many of its first entries (`polled_`) and leaves the
  // rest for the next poll. No ISR-safe queue: nothing completes from
  // another context.
  static constexpr bool counts_polled = in_place && completion_type::deferred;
  // What the loop hands the device: the bio itself, or a request.
  using issued = std::conditional_t<in_place, bio, request>;

public:
  // (Here, after `in_place`: a requires-clause is no complete-class context.)
  /// The allocation pool (shared pools, tests provoking shortages). Touch it
  /// only when no other context uses the dispatcher. Not there when bios go
  /// out in place (over a `validated_transfer_device`, see the top of this
  /// file): such a dispatcher allocates nothing, so it keeps no pool.
  [[nodiscard]] pool_type& pool() noexcept requires(!in_place) { return pool_; }

private:
  static constexpr bool wants_time =
      queue_type::uses_clock || stats_type::wants_latency || timeouts || timed_path_loss;

  std::uint64_t now() noexcept {
    if constexpr (wants_time) {
      return static_cast<std::uint64_t>(clock_.now());
    } else {
      return 0;
    }
  }

  // The time a queue discipline is given: the clock is read only for one
  // that looks at it (a clock read can cost as much as the rest of an I/O).
  std::uint64_t queue_now() noexcept {
    if constexpr (queue_type::uses_clock) {
      return now();
    } else {
      return 0;
    }
  }

  // The device's geometry: its constant, or the copy read at construction.
  // Through this the checks against a constant geometry fold.
  const device_geometry& device_geo() const noexcept { return detail::geometry_in<Device>(geo_); }

  // Validation that needs no dispatcher state (geometry is fixed), so it
  // runs before taking the lock.
  errc check(const bio& b) const noexcept {
    const errc v = validate_against_device(b);
    if constexpr (!splitting) {
      const device_geometry& g = device_geo();
      if (v == errc::ok && g.max_transfer != 0 && b.length > g.max_transfer)
        return errc::invalid_argument;
    }
    return v;
  }
  // validate() against the device's geometry: its constant, or the copy.
  errc validate_against_device(const bio& b) const noexcept {
    if constexpr (fixed_geometry) {
      return validate<std::remove_cvref_t<Device>::constant_geometry>(b);
    } else {
      return validate(b, device_geo());
    }
  }

  // Why a submitted bio (whose check() gave `v`) must not be queued, in
  // the order submit documents, or `ok`: invalid, the dispatcher draining
  // or shut down, or a fail-fast bio while the path is down.
  errc refusal_locked(const bio& b, errc v) const noexcept {
    if (BIOSTACK_UNLIKELY(v != errc::ok)) return v;
    if (BIOSTACK_UNLIKELY(state_ != dispatch_state::open)) return errc::shutting_down;
    if (BIOSTACK_UNLIKELY(path_down_locked() && has(b.flags, bio_flags::fail_fast)))
      return errc::no_device;
    return errc::ok;
  }

  // Finished without reaching the device: nothing was transferred.
  void reject_locked(bio& b, errc e) noexcept {
    b.record_error(e);
    b.set_residual(b.length);
    rejected_.push_back(b);
  }

  void enqueue_locked(bio& b) noexcept {
    // Behind a pending barrier everything waits in arrival order. A
    // discipline that keeps arrival order does that by itself; one that
    // reorders only ever sees one barrier-free epoch.
    if constexpr (in_order) {
      queue_.push(b, queue_now());
    } else if (BIOSTACK_UNLIKELY(!held_.empty() || is_barrier(b))) {
      // The discipline sees the bio only when the barrier lets it go; keep
      // its submission time meanwhile, so a deadline runs from submission,
      // not from the release (`context` is ours while the bio is queued).
      if constexpr (queue_type::uses_clock)
        b.context = reinterpret_cast<void*>(static_cast<std::uintptr_t>(now()));
      held_.push_back(b);
    } else {
      queue_.push(b, queue_now());
    }
    stats_.on_queue_depth(queue_.size() + held_size_locked());
  }

  // The trampoline: runs the dispatch loop unless another context already
  // runs it (then that context will see the work just added). Entered with
  // the lock held, returns with it released. Only one context runs the loop
  // at a time (`running_`); others leave their work on the lists and return.
  // Device submissions and user callbacks happen with the lock released; an
  // inline completion arriving during `dev_.submit` only links the request
  // onto `done_` and returns, and this loop picks it up, so the stack never
  // grows with the queue.
  BIOSTACK_NOINLINE void run_or_unlock() noexcept {
    if (running_) {
      lock_.unlock();
      return;
    }
    running_ = true;
    for (;;) {
      if (issued* q = take_done_locked()) {
        finish_locked(*q);
        continue;
      }
      // After the completions already in: an answer that arrived in time is
      // not a timeout.
      if constexpr (polled_checks) {
        if (BIOSTACK_UNLIKELY(poll_pending_)) {
          poll_pending_ = false;
          if constexpr (timeouts) expire_locked();
          if constexpr (requeues) {
            if (path_down_) path_check_locked();
          }
          continue;
        }
      }
      if (BIOSTACK_UNLIKELY(!rejected_.empty())) {
        complete_rejected_locked();
        continue;
      }
      issued* q = start_next_locked();
      if (q == nullptr) break;
      lock_.unlock();
      submit_to_device(*q);
      lock_.lock();
    }
    if (BIOSTACK_UNLIKELY(drain_end_ != nullptr)) return drain_end_(*this);
    running_ = false;
    lock_.unlock();
  }

  // Hands `q` to the device. Without merging or splitting every request is
  // a copy of one bio's request fields (`build_whole_locked`), or the bio
  // itself (`in_place`), and that bio passed `check()`, i.e. validate()
  // against the device's constant geometry: a device that can skip its own
  // validation then may.
  void submit_to_device(issued& q) noexcept {
    if constexpr (in_place) {
      dev_->transfer_validated(q);
    } else if constexpr (submits_validated) {
      dev_->submit_validated(q);
    } else {
      dev_->submit(q);
    }
  }

  // A bio that never reached the device (invalid, refused, cancelled): its
  // status and residual are recorded, only its completion is left.
  void complete_rejected_locked() noexcept {
    bio* b = rejected_.pop_front();
    // The status is an atomic load the compiler must keep: only read it for
    // a stats policy that looks at it.
    if constexpr (!std::is_same_v<stats_type, null_stats>) stats_.on_complete(b->status());
    lock_.unlock();
    end_io(*b);
    lock_.lock();
  }

  // The end of the loop while draining (`drain_end_`): closes once nothing
  // is left and calls `on_idle` (after releasing the lock). Releases the lock.
  void stop_draining_locked() noexcept {
    idle_fn fire = nullptr;
    void* ctx = nullptr;
    if (idle_locked()) {
      state_ = dispatch_state::closed;
      drain_end_ = nullptr;
      fire = idle_fn_;
      ctx = idle_ctx_;
      idle_fn_ = nullptr;
    }
    running_ = false;
    lock_.unlock();
    if (fire != nullptr) fire(ctx);
  }

  // ---- issuing --------------------------------------------------------------

  // The next device request to issue, with its tag taken, or nullptr when
  // nothing may go now (plugged, path down, barrier, limit, shortage, empty).
  issued* start_next_locked() noexcept {
    if (BIOSTACK_UNLIKELY(plugged_ != 0 || path_down_locked())) return nullptr;
    if constexpr (reserving) {
      // Reserved requests never wait for the shared lane, not even when path
      // loss put them in the requeue list behind shared ones (which may be
      // held back by the active limit).
      if constexpr (requeues) {
        for (request** pos = &requeue_; *pos != nullptr; pos = &(*pos)->next) {
          if ((*pos)->lane != 0) return reissue_locked(pos);
        }
      }
      if (!reserved_q_.empty() && reserved_free_count_ != 0) return start_reserved_locked();
    }
    if (in_flight_ >= active_limit) {
      if constexpr (hysteresis) throttled_ = true;
      return nullptr;
    }
    if constexpr (hysteresis) {
      if (BIOSTACK_UNLIKELY(throttled_)) {
        if (in_flight_ > low_water) return nullptr;
        throttled_ = false;
      }
    }
    // Requeued requests go first, in issue order: they were submitted before
    // anything still queued.
    if constexpr (requeues) {
      if (BIOSTACK_UNLIKELY(requeue_ != nullptr)) return reissue_locked(&requeue_);
    }
    if constexpr (splitting) {
      if (splitting_ != nullptr) return next_piece_locked();
    }
    // Behind an issued barrier nothing goes until it is done: once everything
    // issued with or before it is back (timed-out requests included: the
    // device still holds them), the same condition that lets a barrier go.
    // A discipline that keeps arrival order tests this together with the
    // next bio being a barrier, once it has a bio: until then nothing issues
    // on the shared lane, so the answer cannot differ.
    if constexpr (!in_order) {
      if (BIOSTACK_UNLIKELY(barrier_issued_)) {
        if (!barrier_may_go_locked()) return nullptr;
        barrier_issued_ = false;
      }
    }

    const std::uint64_t t = queue_now();
    bio* b = queue_.peek(t);
    bool barrier = false; // b starts a barrier's epoch when it goes
    if constexpr (in_order) {
      if (b == nullptr) return nullptr;
      barrier = is_barrier(*b);
      if (BIOSTACK_UNLIKELY(barrier || barrier_issued_)) {
        if (!barrier_may_go_locked()) return nullptr;
        barrier_issued_ = false;
      }
    } else if (BIOSTACK_UNLIKELY(b == nullptr)) {
      b = pick_held_locked(t);
      if (b == nullptr) return nullptr;
      barrier = held_.is_front(*b);
    }
    if constexpr (splitting) {
      if (b->length != 0 && split_.chunk(*b, 0, device_geo()) < b->length) {
        take_picked_locked(b, t, barrier);
        splitting_ = b;
        split_done_ = 0;
        split_pieces_ = 0;
        begin_fan_in(*b);
        return next_piece_locked();
      }
    }
    if constexpr (in_place) {
      take_picked_locked(b, t, barrier);
      issue_locked(*b, true);
      // Listed before its transfer: only this loop takes from the list, and
      // it does so again only once the transfer is done.
      transferred_.push_back(*b);
      return b;
    } else {
      request* q = pool_.allocate();
      if (BIOSTACK_UNLIKELY(q == nullptr)) {
        stats_.on_shortage();
        return nullptr;
      }
      take_picked_locked(b, t, barrier);
      build_whole_locked(*q, *b, t, merging);
      issue_locked(*q, true);
      return q;
    }
  }

  // Takes the bio just picked off its list (the discipline's, or `held_`
  // for a barrier there); a barrier starts its epoch now.
  void take_picked_locked(bio* b, std::uint64_t t, bool barrier) noexcept {
    if constexpr (in_order)
      pop_expect(b, t);
    else if (BIOSTACK_UNLIKELY(barrier))
      held_.remove(*b);
    else
      pop_expect(b, t);
    barrier_issued_ = barrier; // false until now: the checks before cleared it
  }

  // A barrier goes only once everything issued before it is back.
  bool barrier_may_go_locked() const noexcept {
    return in_flight_ == 0 && requeue_head_locked() == nullptr && !split_active_locked();
  }

  // Takes the requeued request at `*pos` off the requeue list and issues it.
  request* reissue_locked(request** pos) noexcept {
    request* q = *pos;
    *pos = q->next;
    q->rearm();
    issue_locked(*q, false);
    return q;
  }

  request* start_reserved_locked() noexcept requires(reserving) {
    bio& b = *reserved_q_.pop_front();
    const std::uint16_t t = reserved_free_[reserved_free_count_ - 1];
    request& q = reserved_reqs_[t - tag_count];
    build_whole_locked(q, b, 0, false);
    q.lane = 1;
    issue_locked(q, true);
    return &q;
  }

  // The submission time kept in a held bio's `context`: only its low bits
  // fit there, so it is rebuilt from `t` and the wait modulo the word width
  // (exact for waits below 2^32 ticks on a 32-bit target).
  static std::uint64_t submitted_at(const bio& b, std::uint64_t t) noexcept {
    if constexpr (queue_type::uses_clock) {
      const std::uintptr_t waited =
          static_cast<std::uintptr_t>(t) - reinterpret_cast<std::uintptr_t>(b.context);
      return t - waited;
    } else {
      (void)b;
      return t;
    }
  }

  void pop_expect([[maybe_unused]] bio* b, std::uint64_t t) noexcept {
    [[maybe_unused]] bio* p = queue_.pop(t);
    BIOSTACK_DEBUG_ASSERT(p == b);
  }

  // What goes next once the discipline's epoch is empty: the barrier heading
  // `held_` (only once everything before it has completed), or the
  // discipline's choice from the next epoch, released into it now.
  BIOSTACK_NOINLINE bio* pick_held_locked(std::uint64_t t) noexcept requires(!in_order) {
    for (;;) {
      bio* f = held_.front();
      if (f == nullptr) return nullptr;
      if (is_barrier(*f)) return barrier_may_go_locked() ? f : nullptr;
      while (f != nullptr && !is_barrier(*f)) {
        held_.pop_front();
        queue_.push(*f, submitted_at(*f, t));
        f = held_.front();
      }
      if (bio* b = queue_.peek(t)) return b;
    }
  }

  // A device request for `b`, absorbing the following bios the discipline
  // would issue next when they continue it (back-merge).
  void build_whole_locked(request& q, bio& b, std::uint64_t t, bool merge) noexcept {
    // The request copy splitters and bio_stack use too (one copy of that code
    // in an image); it zeroes the memory offset of a dataless operation, and
    // the device is handed the caller's, as before.
    init_child(q, b, 0, b.length);
    q.mem_offset = b.mem_offset;
    q.on_done = completion{&device_done, this};
    q.head = &b;
    // Only splitting and timeouts ever change a pool request's kind; its lane
    // is 0 for life (the reserved lane's requests are not the pool's).
    if constexpr (splitting || timeouts) q.kind = kind_whole;
    if constexpr (merging) {
      // A null hook marks a bio that heads no merged run (the hook is free:
      // the bio is off its queue).
      b.hook.next = nullptr;
      if (merge && carries_data(b.operation) && !is_barrier(b)) try_merge_locked(q, b, t);
    } else {
      (void)t;
      (void)merge;
    }
  }

  void try_merge_locked(request& q, bio& first, std::uint64_t t) noexcept {
    std::uint64_t limit = merge_type::max_bytes != 0 ? merge_type::max_bytes : UINT32_MAX;
    const device_geometry& g = device_geo();
    if (g.max_transfer != 0 && g.max_transfer < limit) limit = g.max_transfer;
    std::size_t seg_limit = merge_type::max_segments;
    if (g.max_segments != 0 && g.max_segments < seg_limit) seg_limit = g.max_segments;

    std::uint64_t total = first.length;
    std::size_t pieces = pieces_of(first);
    bio* last = &first;
    for (;;) {
      bio* n = queue_.peek(t);
      if (n == nullptr || n->operation != first.operation || n->flags != first.flags ||
          n->priority != first.priority || n->offset != first.offset + total)
        break;
      const std::uint64_t grown = total + n->length;
      const std::size_t grown_pieces = pieces + pieces_of(*n);
      if (grown > limit || grown_pieces > seg_limit) break;
      if constexpr (split_type::splits) {
        bio probe;
        probe.offset = first.offset;
        probe.length = static_cast<std::uint32_t>(grown);
        if (split_.chunk(probe, 0, g) != probe.length) break;
      }
      pop_expect(n, t);
      last->hook.next = n;
      n->hook.next = nullptr;
      last = n;
      total = grown;
      pieces = grown_pieces;
      stats_.on_merge();
    }
    if (last == &first) return;
    // Describe the merged run as one scatter-gather list, fusing pieces that
    // happen to be adjacent in memory.
    std::uint16_t count = 0;
    for (bio* m = &first; m != nullptr; m = m->hook.next) {
      for_each_piece(*m, 0, m->length, [&](std::byte* p, std::uint32_t len) noexcept {
        if (count != 0 && q.segs[count - 1].data + q.segs[count - 1].length == p) {
          q.segs[count - 1].length += len;
        } else {
          q.segs[count++] = segment{p, len};
        }
      });
    }
    q.length = static_cast<std::uint32_t>(total);
    q.data = nullptr;
    q.segments = q.segs;
    q.segment_count = count;
    q.mem_offset = 0;
  }

  static std::size_t pieces_of(const bio& b) noexcept {
    return b.segment_count == 0 ? 1u : b.segment_count;
  }

  // The next piece of the bio being split; the last piece closes the fan-in.
  request* next_piece_locked() noexcept {
    request* q = pool_.allocate();
    if (BIOSTACK_UNLIKELY(q == nullptr)) {
      stats_.on_shortage();
      return nullptr;
    }
    bio& b = *splitting_;
    const std::uint32_t len = split_.chunk(b, split_done_, device_geo());
    BIOSTACK_ASSERT(len != 0 && len <= b.length - split_done_);
    init_child(*q, b, split_done_, len);
    q->on_done = completion{&device_done, this};
    add_child(b, *q);
    q->head = &b;
    q->kind = kind_piece;
    split_done_ += len;
    ++split_pieces_;
    if (split_done_ == b.length) {
      splitting_ = nullptr;
      stats_.on_split(split_pieces_);
      end_fan_in(b); // cannot complete b: this piece is still pending
    }
    issue_locked(*q, true);
    return q;
  }

  // Whether `q` travels on the reserved lane (a bio issued in place never
  // does: `in_place` has no reserved lane).
  static bool reserved_lane(const issued& q) noexcept {
    if constexpr (reserving) {
      return q.lane != 0;
    } else {
      (void)q;
      return false;
    }
  }

  void issue_locked(issued& q, bool fresh) noexcept {
    std::uint16_t t = 0;
    if (BIOSTACK_UNLIKELY(reserved_lane(q))) {
      if constexpr (reserving) {
        // A reserved request always travels on its own tag.
        t = static_cast<std::uint16_t>(tag_count + static_cast<std::size_t>(&q - reserved_reqs_));
        std::size_t i = 0;
        while (reserved_free_[i] != t) ++i;
        reserved_free_[i] = reserved_free_[--reserved_free_count_];
      }
    } else {
      if constexpr (timeouts) {
        BIOSTACK_DEBUG_ASSERT(free_count_ != 0);
        t = free_tags_[--free_count_];
      }
      ++in_flight_;
    }
    if constexpr (timeouts || reserving) q.tag = t;
    if constexpr (timeouts) {
      q.gen = tag_gen_[t];
      tag_req_[t] = &q;
    }
    if constexpr (requeues) {
      if (fresh) {
        q.seq = seq_++;
        q.retries = 0;
      }
    } else {
      (void)fresh;
    }
    // Only latency statistics and timeouts read the issue time.
    if constexpr (stats_type::wants_latency || timeouts) q.started = now();
    stats_.on_dispatch(in_flight_);
  }

  void release_tag_locked(issued& q) noexcept {
    if constexpr (timeouts) {
      ++tag_gen_[q.tag];
      tag_req_[q.tag] = nullptr;
    }
    if (BIOSTACK_UNLIKELY(reserved_lane(q))) {
      if constexpr (reserving) reserved_free_[reserved_free_count_++] = q.tag;
    } else {
      if constexpr (timeouts) free_tags_[free_count_++] = q.tag;
      --in_flight_;
    }
    stats_.on_device_done(in_flight_);
  }

  // Requests go back where they came from: the pool, or the reserved lane.
  void free_request_locked(request& q) noexcept {
    if (!reserving || BIOSTACK_LIKELY(q.lane == 0)) pool_.deallocate(&q);
  }

  // ---- completion -----------------------------------------------------------

  static completion_action device_done(bio& b, void* ctx) noexcept {
    auto& self = *static_cast<dispatcher_impl*>(ctx);
    auto& q = static_cast<request&>(b);
    if constexpr (completion_type::deferred) {
      self.deferred_.push(q); // ISR-safe: no lock, nothing else
    } else {
      self.lock_.lock();
      q.next = nullptr;
      if (self.done_head_ != nullptr)
        self.done_tail_->next = &q;
      else
        self.done_head_ = &q;
      self.done_tail_ = &q;
      self.run_or_unlock();
    }
    return completion_action::stop; // the request is ours again
  }

  bool on_done_list_locked(const request& q) const noexcept {
    for (const request* d = done_head_; d != nullptr; d = d->next)
      if (d == &q) return true;
    return false;
  }

  // The next issued request or bio to finish, taken off its list, or
  // nullptr: the done list's head; in place, the oldest transferred bio
  // (with `counts_polled`, only one a poll has handed over).
  issued* take_done_locked() noexcept {
    if constexpr (in_place) {
      if constexpr (counts_polled) {
        if (polled_ == 0) return nullptr;
        --polled_;
      }
      return transferred_.pop_front();
    } else {
      request* q = done_head_;
      if (q != nullptr) done_head_ = q->next; // done_tail_ is stale once the list is empty
      return q;
    }
  }

  // Moves the completions the device handed over onto the done list, in
  // the order they arrived (with `counts_polled`: hands over the bios
  // transferred since the last poll). Returns how many.
  std::size_t take_deferred_locked() noexcept {
    if constexpr (counts_polled) {
      const std::size_t n = in_flight_ - polled_;
      polled_ = in_flight_;
      return n;
    } else {
      request* newest = nullptr;
      std::size_t n = 0;
      request* q = deferred_.take_all(newest, n);
      if (q == nullptr) return 0;
      if (done_head_ != nullptr)
        done_tail_->next = q;
      else
        done_head_ = q;
      done_tail_ = newest;
      return n;
    }
  }

  void finish_locked(request& q) noexcept {
    if constexpr (timeouts) {
      if (BIOSTACK_UNLIKELY(q.gen != tag_gen_[q.tag])) {
        // The late answer to a request that already timed out: its bios were
        // completed then; only the tag and the request come back now.
        release_tag_locked(q);
        free_request_locked(q);
        return;
      }
    }
    if constexpr (stats_type::wants_latency) stats_.on_latency(now() - q.started);
    release_tag_locked(q);
    // The completion is ours already: `deferred_` handed it over with an
    // acquire, or `device_done` linked it under the lock we hold. A device
    // whose submissions always succeed in full recorded nothing on the
    // request, which was rearmed when it was built: ok, no residual.
    const errc st = requests_succeed ? errc::ok : detail::bio_access::final_status(q);
    if constexpr (requeues) {
      if (BIOSTACK_UNLIKELY(st == errc::no_device) && try_requeue_locked(q)) return;
    }
    if constexpr (timed_path_loss) {
      if (BIOSTACK_UNLIKELY(path_suspect_) && st != errc::no_device) path_suspect_ = false;
    }
    std::uint32_t residual = requests_succeed ? 0 : detail::bio_access::final_residual(q);
    if (BIOSTACK_UNLIKELY(residual != 0)) residual = short_transfer_locked(q, st, residual);
    deliver_locked(q, st, residual, true);
  }

  // A bio transferred in place: its tag back, and its completion, with `ok`
  // and nothing left over (the device's promise).
  void finish_locked(bio& b) noexcept requires(in_place) {
    release_tag_locked(b);
    stats_.on_complete(errc::ok);
    lock_.unlock();
    end_io(b);
    lock_.lock();
  }

  // A request that came back short; returns the residual to report.
  std::uint32_t short_transfer_locked(request& q, [[maybe_unused]] errc st,
                                      std::uint32_t residual) noexcept {
    if (residual > q.length) {
      // A device claiming more bytes missing than were asked for: clamp, so
      // no bio above ever sees a residual beyond its length (xdisk).
      residual = q.length;
      q.set_residual(residual);
    }
    if constexpr (short_read_type::zero_fill) {
      if (residual != 0 && st == errc::ok && q.operation == op::read) {
        // The device stopped early where the rest reads as zeroes: make that
        // true in memory, then the read is complete.
        zero_bio(q, q.length - residual, residual);
        residual = 0;
        q.set_residual(0);
      }
    }
    return residual;
  }

  // Completes the bios behind `q` with `st`. The request goes back to the
  // pool first when `release` (so a callback that submits finds it free).
  void deliver_locked(request& q, errc st, std::uint32_t residual, bool release) noexcept {
    if constexpr (splitting) {
      if (q.kind == kind_piece) return deliver_piece_locked(q, st, residual, release);
    }
    bio* h = q.head;
    if (release) free_request_locked(q);
    if constexpr (merging) {
      if (h->hook.next != nullptr) return deliver_run_locked(*h, st, residual);
    }
    stats_.on_complete(st);
    lock_.unlock();
    complete(*h, st, residual);
    lock_.lock();
  }

  // Fan-in into the split bio (chain.hpp): first error wins, residuals add
  // up, a short piece without an error is still a hole (io_error). Only this
  // function drops a split bio's count, so `pending` is stable here.
  BIOSTACK_NOINLINE void deliver_piece_locked(request& q, errc st, std::uint32_t residual,
                                              bool release) noexcept {
    bio* h = q.head;
    if (h->pending() == 1) {
      errc fin = h->status();
      if (fin == errc::ok) fin = st != errc::ok ? st : (residual != 0 ? errc::io_error : errc::ok);
      stats_.on_complete(fin);
    }
    lock_.unlock();
    if (release) {
      continue_completion(q); // the device completed it: its status is `st`
    } else {
      // Timed out: the device still holds the piece, so a stand-in that
      // nobody else references carries its result into the parent.
      bio stand_in;
      stand_in.parent = h;
      complete(stand_in, st, q.length);
    }
    lock_.lock();
    if (release) free_request_locked(q);
  }

  // A merged run: every member gets the status; a short transfer leaves the
  // hole at the end, so members keep their bytes front to back.
  BIOSTACK_NOINLINE void deliver_run_locked(bio& h, errc st, std::uint32_t residual) noexcept {
    std::uint64_t total = 0;
    for (bio* m = &h; m != nullptr; m = m->hook.next) {
      total += m->length;
      stats_.on_complete(st);
    }
    std::uint64_t good = residual < total ? total - residual : 0;
    lock_.unlock();
    for (bio* m = &h; m != nullptr;) {
      bio* next = m->hook.next; // m's callback may requeue m and reuse its hook
      const std::uint32_t ok_bytes =
          static_cast<std::uint32_t>(good < m->length ? good : m->length);
      good -= ok_bytes;
      complete(*m, st, m->length - ok_bytes);
      m = next;
    }
    lock_.lock();
  }

  // Path loss: back to the head of the line, in issue order; issuing stops
  // until the path is back, and queued fail-fast bios fail now (xdisk).
  // Returns false when `q` may not be retried (fail-fast, or out of retries).
  BIOSTACK_COLD bool try_requeue_locked(request& q) noexcept {
    if (has(q.flags, bio_flags::fail_fast) || q.retries >= retry_type::max_retries) return false;
    ++q.retries;
    stats_.on_requeue();
    request** pos = &requeue_;
    while (*pos != nullptr && static_cast<std::int32_t>((*pos)->seq - q.seq) < 0)
      pos = &(*pos)->next;
    q.next = *pos;
    *pos = &q;
    if constexpr (timed_path_loss) {
      const std::uint64_t t = now();
      if (!path_suspect_) {
        path_suspect_ = true;
        lost_first_ = t;
      }
      lost_since_ = t;
    }
    if (!path_down_) {
      path_down_ = true;
      cancel_locked(
          [](const bio& queued) noexcept { return has(queued.flags, bio_flags::fail_fast); },
          errc::no_device);
    }
    return true;
  }

  // The path state, read where a configuration that never requeues knows it
  // without looking: up, nothing requeued.
  bool path_down_locked() const noexcept {
    if constexpr (requeues) {
      return path_down_;
    } else {
      return false;
    }
  }
  request* requeue_head_locked() const noexcept {
    if constexpr (requeues) {
      return requeue_;
    } else {
      return nullptr;
    }
  }

  // On poll, with the path down: retry once the backoff has passed, or give
  // up on the path after the loss timeout. Without either, at once.
  void path_check_locked() noexcept {
    if constexpr (timed_path_loss) {
      const std::uint64_t t = now();
      if (retry_type::loss_timeout != 0 && t - lost_first_ >= retry_type::loss_timeout) {
        // Gave up on the path: the requeued requests fail.
        path_down_ = false;
        path_suspect_ = false;
        while (request* q = requeue_) {
          requeue_ = q->next;
          deliver_locked(*q, errc::no_device, q->length, true);
        }
        return;
      }
      if (t - lost_since_ < retry_type::backoff) return;
    }
    path_down_ = false;
  }

  BIOSTACK_NOINLINE void expire_locked() noexcept requires(timeouts) {
    const std::uint64_t t = now();
    for (std::size_t i = 0; i < tag_count + reserved_tags; ++i) {
      request* q = tag_req_[i];
      if (q == nullptr || q->kind == kind_zombie || t - q->started < timeout_type::ticks) continue;
      stats_.on_timeout();
      ++tag_gen_[i]; // any answer under the old generation is now stale
      deliver_locked(*q, errc::timed_out, q->length, false);
      q->kind = kind_zombie;
      q->head = nullptr;
    }
  }

  template <class Pred>
  std::size_t cancel_locked(Pred& pred, errc code) noexcept {
    std::size_t n = 0;
    for (bio* b = queue_.first(); b != nullptr;) {
      bio* next = queue_.next(*b);
      if (pred(static_cast<const bio&>(*b))) {
        queue_.remove(*b);
        reject_locked(*b, code);
        ++n;
      }
      b = next;
    }
    if constexpr (!in_order) {
      for (bio* b = held_.front(); b != nullptr;) {
        bio* next = bio_list::next(*b);
        if (pred(static_cast<const bio&>(*b))) {
          held_.remove(*b);
          reject_locked(*b, code);
          ++n;
        }
        b = next;
      }
    }
    return n;
  }
  template <class Pred>
  std::size_t cancel_locked(Pred&& pred, errc code) noexcept {
    return cancel_locked(pred, code);
  }

  // From open (or closed again): the loop moves to closed and calls
  // `on_idle` once nothing is left.
  void begin_drain_locked(idle_fn on_idle, void* context) noexcept {
    state_ = dispatch_state::draining;
    idle_fn_ = on_idle;
    idle_ctx_ = context;
    drain_end_ = [](dispatcher_impl& self) noexcept { self.stop_draining_locked(); };
  }

  // No completion waiting to be finished. In place there is no done list:
  // a transferred bio holds its tag until finished, so in_flight_ counts it.
  bool done_list_empty_locked() const noexcept {
    if constexpr (in_place) {
      return true;
    } else {
      return done_head_ == nullptr;
    }
  }
  bool idle_locked() const noexcept {
    bool idle = in_flight_ == 0 && queue_.empty() && held_size_locked() == 0 &&
                !split_active_locked() && requeue_head_locked() == nullptr &&
                done_list_empty_locked() && rejected_.empty();
    if constexpr (reserving)
      idle = idle && reserved_q_.empty() && reserved_free_count_ == reserved_tags;
    return idle;
  }

  std::size_t held_size_locked() const noexcept {
    if constexpr (in_order) {
      return 0;
    } else {
      return held_.size();
    }
  }

  bool split_active_locked() const noexcept {
    if constexpr (splitting) {
      return splitting_ != nullptr;
    } else {
      return false;
    }
  }

  std::size_t reserved_busy_locked() const noexcept {
    if constexpr (reserving) {
      return reserved_tags - reserved_free_count_;
    } else {
      return 0;
    }
  }

  // Members only the configurations that use them have (see `merging` and
  // friends above) are `only_if` (policy.hpp, this namespace): the others
  // get an empty stand-in that takes no space.
  using request_ptr = request*;

  // ---- state (hot fields first) -----------------------------------------------
  // First: the device's completion (device_done, perhaps in an interrupt)
  // and poll() reach the deferred queue's head with exclusive loads and
  // stores, which are emitted without an offset; at offset 0 its address is
  // the dispatcher's own, with no addition.
  [[no_unique_address]] only_if<completion_type::deferred && !counts_polled,
                                mpsc_queue<request, &request::next>, 15>
      deferred_;
  std::add_pointer_t<Device> dev_ = nullptr; // Device may be a reference type
  [[no_unique_address]] detail::geometry_copy<Device> geo_;
  // The rest starts out zero (the constructor fills in only the tag stacks
  // of the configurations that have them, and the pool sets itself up).
  [[no_unique_address]] mutable lock_type lock_;
  bool running_ = false;
  bool barrier_issued_ = false;
  [[no_unique_address]] only_if<polled_checks, bool, 18> poll_pending_{};
  [[no_unique_address]] only_if<hysteresis, bool, 0> throttled_{};
  [[no_unique_address]] only_if<timed_path_loss, bool, 1> path_suspect_{};
  dispatch_state state_ = dispatch_state::open;
  std::uint32_t plugged_ = 0;
  std::size_t in_flight_ = 0; // shared-lane tags in use
  // Completed requests (none in place: the transferred bios take their
  // place) and the last one, meaningless while the head is null.
  [[no_unique_address]] only_if<!in_place, request*, 24> done_head_{};
  [[no_unique_address]] only_if<!in_place, request*, 25> done_tail_{};
  // The first entries of `transferred_` that a poll has handed over.
  [[no_unique_address]] only_if<counts_polled, std::size_t, 21> polled_{};
  queue_type queue_;
  [[no_unique_address]] only_if<!in_order, bio_list, 16> held_; // a barrier and all after it
  bio_list rejected_; // finished without issuing; status recorded
  // In place: issued, not yet completed, in issue order (transferred by the
  // device whenever the loop takes from it).
  [[no_unique_address]] only_if<in_place, bio_list, 22> transferred_;
  // Path loss (see `requeues`): the path state, the requests waiting for
  // it in issue order, and the issue counter that orders them.
  [[no_unique_address]] only_if<requeues, bool, 17> path_down_{};
  [[no_unique_address]] only_if<requeues, request_ptr, 19> requeue_{};
  [[no_unique_address]] only_if<requeues, std::uint32_t, 20> seq_{};
  [[no_unique_address]] only_if<splitting, bio*, 2> splitting_{};
  [[no_unique_address]] only_if<splitting, std::uint32_t, 3> split_done_{};
  [[no_unique_address]] only_if<splitting, std::uint32_t, 4> split_pieces_{};
  [[no_unique_address]] stats_type stats_;
  [[no_unique_address]] split_type split_;
  [[no_unique_address]] clock_type clock_;
  [[no_unique_address]] only_if<timed_path_loss, std::uint64_t, 5> lost_first_{};
  [[no_unique_address]] only_if<timed_path_loss, std::uint64_t, 6> lost_since_{};
  idle_fn idle_fn_ = nullptr;
  void* idle_ctx_ = nullptr;
  // Set while draining: what the loop runs when it runs out of work. Only
  // `drain()` and `shutdown()` set it, so a program that never drains does
  // not link the code that closes a drain.
  void (*drain_end_)(dispatcher_impl&) noexcept = nullptr;
  // Tag identities, for timeouts: the free shared tags (a stack), and per
  // tag (shared, then reserved) its generation and the request holding it.
  [[no_unique_address]] only_if<timeouts, std::uint16_t[tag_count], 7> free_tags_;
  [[no_unique_address]] only_if<timeouts, std::size_t, 8> free_count_{};
  [[no_unique_address]] only_if<timeouts, std::uint32_t[tag_count + reserved_tags], 9> tag_gen_{};
  [[no_unique_address]] only_if<timeouts, request_ptr[tag_count + reserved_tags], 10> tag_req_{};
  // The reserved lane: its queue, its free tags (a stack) and a request
  // object per tag (sized at least one: a zero-length array is ill-formed,
  // even as a type that is never used).
  static constexpr std::size_t reserved_storage = reserving ? reserved_tags : 1;
  [[no_unique_address]] only_if<reserving, bio_list, 11> reserved_q_;
  [[no_unique_address]] only_if<reserving, std::size_t, 12> reserved_free_count_{};
  [[no_unique_address]] only_if<reserving, std::uint16_t[reserved_storage], 13> reserved_free_{};
  [[no_unique_address]] only_if<reserving, request[reserved_storage], 14> reserved_reqs_;
  // In place nothing is allocated: no pool, whatever the policy's size.
  [[no_unique_address]] only_if<!in_place, pool_type, 23> pool_;
};
} // namespace detail

/// The tagged dispatcher (see the top of this file); its interface is
/// `detail::dispatcher_impl`'s.
template <class Device, class Policies = policies<>>
class dispatcher : public detail::dispatcher_impl<Device, Policies> {
public:
  /// The dispatcher's promise, `constant_geometry` when its device has one,
  /// is its own (see `makes_own_promises`).
  using promises_of = dispatcher;

  /// A dispatcher in front of `target`, which must outlive it. The device's
  /// geometry is read once, here; a `constant_geometry_device`'s is not read
  /// at all (its constant is used, and the dispatcher keeps no copy).
  explicit dispatcher(Device& target) noexcept : detail::dispatcher_impl<Device, Policies>() {
    this->bind(target);
  }
};

BIOSTACK_NAMESPACE_END
