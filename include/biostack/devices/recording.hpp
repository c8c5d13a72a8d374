// SPDX-License-Identifier: MIT
#pragma once

/// `recording_device<D>`: a transparent layer that logs every request passing
/// through it, for assertions in tests and for tracing in emulators.
///
///     ram_device ram(mem, sizeof mem);
///     recording_device<ram_device&> rec(ram);     // D may be a reference
///     submit through `rec` ...
///     CHECK(rec.count(op::write) == 3);
///     CHECK(rec[0].status == errc::ok);           // oldest entry first
///
/// How completion is observed (the design choice): the recording layer pushes
/// its own layer, as every stacking layer in biostack does. Each request gets
/// a child bio from a fixed pool (`link_layer`: same request, completes into
/// the caller's bio); the child carries the recorder's callback. The caller's
/// bio is never modified or handed down: its `on_done`, `context` and hook stay
/// the caller's, and the device below may use the child's freely. When the
/// child completes, the callback logs status, residual and completion order,
/// resumes the walk with `continue_completion` (so the caller's bio completes
/// with exactly the child's status and residual, and fan-in parents above it
/// account as usual), and only then returns the child to the pool, because the
/// walk reads the child while propagating. The alternative, swapping the
/// caller's `on_done` for the flight and restoring it, needs the same per-request
/// storage and lets the device below see a bio whose fields are not its
/// submitter's.
///
/// When all `MaxInFlight` children are busy the request is parked (FIFO,
/// through the caller's hook, which belongs to the layer holding the bio) and
/// started when a child returns, or from `poll()`: a full pool delays, it
/// never fails or reorders. Sequence numbers are taken at `submit`.
///
/// Not synchronised: use from one context (the submitting one), or serialise
/// submissions and completions externally. No heap; memory is
/// O(LogCapacity + MaxInFlight).

#include <biostack/bio/chain.hpp>
#include <biostack/device/concepts.hpp>
#include <biostack/queue/bio_list.hpp>
#include <type_traits>
#include <utility>

BIOSTACK_NAMESPACE_BEGIN

/// One logged request.
struct request_record {
  std::uint64_t sequence = 0;         ///< submission number, from 0, in `submit` order
  std::uint64_t offset = 0;           ///< as submitted
  std::uint32_t length = 0;           ///< as submitted
  std::uint32_t residual = 0;         ///< bytes not transferred (once completed)
  std::uint64_t completion_order = 0; ///< rank among this device's completions (once completed)
  op operation = op::read;
  bio_flags flags = bio_flags::none;
  priority_t priority = priority::normal;
  errc status = errc::ok; ///< final status (once completed)
  bool completed = false;
  std::uint16_t segment_count = 0; ///< 0: contiguous memory
};

/// Logs requests to `D` in a ring of `LogCapacity` entries (the oldest are
/// overwritten and counted as dropped) and keeps per-operation counters.
/// `D` may be a value (owned) or an lvalue reference (borrowed).
template <class D, std::size_t LogCapacity = 256, std::size_t MaxInFlight = 32>
class recording_device {
  using device_type = std::remove_reference_t<D>;
  static_assert(block_device<device_type>, "recording_device wraps a block_device");
  static_assert(LogCapacity >= 1, "the log needs at least one entry");
  static_assert(MaxInFlight >= 1, "at least one request must be able to fly");

public:
  /// Per-operation totals since construction or the last `clear()`.
  struct op_counters {
    std::uint64_t submitted = 0;
    std::uint64_t bytes = 0; ///< requested bytes of submitted requests
    std::uint64_t completed = 0;
    std::uint64_t failed = 0; ///< completed with a status other than ok
  };

  /// Constructs the wrapped device from `args` (or binds the reference).
  template <class... Args>
  explicit recording_device(Args&&... args) noexcept(std::is_nothrow_constructible_v<D, Args&&...>)
      : dev_(std::forward<Args>(args)...) {}

  // Children in flight point back at their slot and the slot at this object.
  recording_device(const recording_device&) = delete;
  recording_device& operator=(const recording_device&) = delete;

  [[nodiscard]] device_geometry geometry() const noexcept { return dev_.geometry(); }

  /// Logs `b` and passes it to the wrapped device through a child layer.
  /// `b` completes exactly once, with the wrapped device's status and
  /// residual. Complexity: O(1) (plus a free-slot scan of MaxInFlight).
  void submit(bio& b) noexcept {
    const std::uint64_t seq = next_seq_++;
    log_submission(b, seq);
    ++in_flight_;
    if (!parked_.empty()) {
      park(b, seq);
      return;
    }
    if (slot* s = acquire()) {
      start(b, seq, *s);
    } else {
      park(b, seq);
    }
  }

  /// Starts parked requests if children are free, then polls the wrapped
  /// device (when it is pollable). Returns the work done by both.
  std::size_t poll() noexcept {
    const std::size_t started = start_parked();
    return started + poll_if_pollable(dev_);
  }

  // ---- the log ------------------------------------------------------------

  /// Entries held, at most LogCapacity.
  [[nodiscard]] std::size_t size() const noexcept {
    return static_cast<std::size_t>(next_seq_ - oldest_seq_);
  }
  static constexpr std::size_t capacity() noexcept { return LogCapacity; }
  /// Entries overwritten because the ring was full.
  [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }

  /// The `i`-th held entry, oldest first. Requires `i < size()`.
  [[nodiscard]] const request_record& operator[](std::size_t i) const noexcept {
    BIOSTACK_ASSERT(i < size());
    return ring_[index_of(oldest_seq_ + i)];
  }

  /// The entry for submission number `seq`, or nullptr if it was dropped or
  /// cleared (or has not happened).
  [[nodiscard]] const request_record* find(std::uint64_t seq) const noexcept {
    return seq_logged(seq) ? &ring_[index_of(seq)] : nullptr;
  }

  /// The held entries, oldest first, as a range (`for (auto& r : rec.entries())`).
  class entries_view {
  public:
    class iterator {
    public:
      using value_type = request_record;
      using difference_type = std::ptrdiff_t;
      iterator(const recording_device* d, std::size_t i) noexcept : d_(d), i_(i) {}
      const request_record& operator*() const noexcept { return (*d_)[i_]; }
      const request_record* operator->() const noexcept { return &(*d_)[i_]; }
      iterator& operator++() noexcept {
        ++i_;
        return *this;
      }
      iterator operator++(int) noexcept {
        iterator t = *this;
        ++i_;
        return t;
      }
      bool operator==(const iterator& o) const noexcept { return i_ == o.i_; }

    private:
      const recording_device* d_;
      std::size_t i_;
    };
    explicit entries_view(const recording_device* d) noexcept : d_(d) {}
    [[nodiscard]] iterator begin() const noexcept { return iterator(d_, 0); }
    [[nodiscard]] iterator end() const noexcept { return iterator(d_, d_->size()); }
    [[nodiscard]] std::size_t size() const noexcept { return d_->size(); }
    const request_record& operator[](std::size_t i) const noexcept { return (*d_)[i]; }

  private:
    const recording_device* d_;
  };
  [[nodiscard]] entries_view entries() const noexcept { return entries_view(this); }

  // ---- counters -----------------------------------------------------------

  /// Requests of operation `o` submitted.
  [[nodiscard]] std::uint64_t count(op o) const noexcept { return counters(o).submitted; }
  /// Bytes requested by submitted requests of operation `o`.
  [[nodiscard]] std::uint64_t bytes(op o) const noexcept { return counters(o).bytes; }
  /// Requests of operation `o` that completed with an error.
  [[nodiscard]] std::uint64_t failed(op o) const noexcept { return counters(o).failed; }
  /// Counters of operation `o`; values outside `op` share one extra bucket.
  [[nodiscard]] const op_counters& counters(op o) const noexcept { return ops_[bucket(o)]; }
  /// Requests submitted / completed since construction or `clear()`.
  [[nodiscard]] std::uint64_t submitted() const noexcept { return submitted_; }
  [[nodiscard]] std::uint64_t completed() const noexcept { return completed_; }
  /// Requests submitted but not yet completed (never reset).
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_; }
  /// Requests waiting for a free child.
  [[nodiscard]] std::size_t parked() const noexcept { return parked_.size(); }

  /// Forgets the log and the counters. Requests in flight still complete
  /// normally (and count as completed), but no longer update the log.
  void clear() noexcept {
    dropped_ = 0;
    oldest_seq_ = next_seq_;
    submitted_ = 0;
    completed_ = 0;
    for (op_counters& c : ops_) c = {};
  }

  [[nodiscard]] device_type& device() noexcept { return dev_; }
  [[nodiscard]] const device_type& device() const noexcept { return dev_; }

private:
  struct slot {
    bio child;
    recording_device* owner = nullptr;
    std::uint64_t seq = 0;
    bool busy = false;
  };

  void log_submission(const bio& b, std::uint64_t seq) noexcept {
    request_record r;
    r.sequence = seq;
    r.offset = b.offset;
    r.length = b.length;
    r.operation = b.operation;
    r.flags = b.flags;
    r.priority = b.priority;
    r.segment_count = b.segment_count;
    // Entries are stored at sequence % capacity and always cover the
    // contiguous range [oldest_seq_, next_seq_).
    ring_[index_of(seq)] = r;
    if (next_seq_ - oldest_seq_ > LogCapacity) {
      ++oldest_seq_;
      ++dropped_;
    }
    op_counters& c = ops_[bucket(b.operation)];
    ++c.submitted;
    c.bytes += b.length;
    ++submitted_;
  }

  slot* acquire() noexcept {
    for (slot& s : slots_) {
      if (!s.busy) {
        s.busy = true;
        return &s;
      }
    }
    return nullptr;
  }

  void park(bio& b, std::uint64_t seq) noexcept {
    // Parking is FIFO and, once anything is parked, every new request parks
    // too, so parked sequence numbers are contiguous: only the first is kept.
    if (parked_.empty()) parked_first_seq_ = seq;
    parked_.push_back(b);
  }

  void start(bio& b, std::uint64_t seq, slot& s) noexcept {
    s.owner = this;
    s.seq = seq;
    link_layer(b, s.child);
    s.child.on_done = completion{&child_done, &s};
    dev_.submit(s.child);
  }

  // Starts parked requests while children are free. Re-entry (a start that
  // completes inline and frees its child) returns at once, so the stack does
  // not grow with the number of parked requests.
  std::size_t start_parked() noexcept {
    if (starting_) return 0;
    starting_ = true;
    std::size_t n = 0;
    while (!parked_.empty()) {
      slot* s = acquire();
      if (s == nullptr) break;
      bio* b = parked_.pop_front();
      start(*b, parked_first_seq_++, *s);
      ++n;
    }
    starting_ = false;
    return n;
  }

  static completion_action child_done(bio& child, void* ctx) noexcept {
    slot& s = *static_cast<slot*>(ctx);
    recording_device& self = *s.owner;
    const errc st = child.status();
    const std::uint32_t res = child.residual();
    const op o = child.operation;
    if (self.seq_logged(s.seq)) {
      request_record& r = self.ring_[index_of(s.seq)];
      r.status = st;
      r.residual = res;
      r.completed = true;
      r.completion_order = self.completion_rank_;
    }
    ++self.completion_rank_;
    op_counters& c = self.ops_[bucket(o)];
    ++c.completed;
    if (st != errc::ok) ++c.failed;
    ++self.completed_;
    --self.in_flight_;
    // Completes the caller's bio (and whatever waits above it) with the
    // child's result; the child is released only afterwards.
    continue_completion(child);
    s.busy = false;
    self.start_parked();
    return completion_action::stop;
  }

  // Invalid operations still reach the device (which rejects them) and are
  // counted, in a bucket of their own.
  static std::size_t bucket(op o) noexcept {
    const auto i = static_cast<std::size_t>(o);
    return i < op_count ? i : op_count;
  }

  static std::size_t index_of(std::uint64_t seq) noexcept {
    return static_cast<std::size_t>(seq % LogCapacity);
  }

  [[nodiscard]] bool seq_logged(std::uint64_t seq) const noexcept {
    return seq >= oldest_seq_ && seq < next_seq_;
  }

  D dev_;
  slot slots_[MaxInFlight];
  request_record ring_[LogCapacity];
  op_counters ops_[op_count + 1];
  bio_list parked_; // requests waiting for a child slot, oldest first
  std::uint64_t parked_first_seq_ = 0;
  std::uint64_t next_seq_ = 0;
  std::uint64_t oldest_seq_ = 0;
  std::uint64_t completion_rank_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t submitted_ = 0;
  std::uint64_t completed_ = 0;
  std::size_t in_flight_ = 0;
  bool starting_ = false;
};

template <class D>
recording_device(D&) -> recording_device<D&>;

BIOSTACK_NAMESPACE_END
