// SPDX-License-Identifier: MIT
#pragma once

/// The block I/O request (`bio`) and its completion machinery.
///
/// A bio describes one request: operation, byte range, memory, flags. It never
/// allocates and lives wherever its owner puts it. Layers stack on top of each
/// other by linking bios through `parent`: a child's completion feeds its
/// parent, and the walk up the chain is a loop, so stack use stays constant
/// however deep the chain (see chain.hpp for fan-in and stack.hpp for the
/// DragonFly-style layer stack).

#include <atomic>
#include <biostack/assert.hpp>
#include <biostack/errc.hpp>
#include <cstddef>
#include <cstdint>

BIOSTACK_NAMESPACE_BEGIN

/// Operation carried by a bio.
enum class op : std::uint8_t {
  read,         ///< device → memory
  write,        ///< memory → device
  flush,        ///< make every completed write durable (no range, no memory)
  discard,      ///< the range's contents are no longer needed (trim / unmap)
  write_zeroes, ///< the range reads back as zeroes afterwards (no memory)
};

inline constexpr std::size_t op_count = 5;

[[nodiscard]] constexpr const char* to_string(op o) noexcept {
  switch (o) {
  case op::read: return "read";
  case op::write: return "write";
  case op::flush: return "flush";
  case op::discard: return "discard";
  case op::write_zeroes: return "write_zeroes";
  }
  return "unknown";
}

/// True when the operation moves data through the bio's memory.
[[nodiscard]] constexpr bool carries_data(op o) noexcept { return o == op::read || o == op::write; }

/// True when the operation changes the device's contents.
[[nodiscard]] constexpr bool modifies(op o) noexcept {
  return o == op::write || o == op::discard || o == op::write_zeroes;
}

/// Request flags. Combine with `|`, test with `has(flags, bio_flags::x)`.
enum class bio_flags : std::uint8_t {
  none = 0,
  fua = 1u << 0,        ///< forced unit access: durable when it completes
  ordered = 1u << 1,    ///< barrier: no queue may reorder anything across it
  fail_fast = 1u << 2,  ///< on path loss fail at once instead of waiting for the path
  read_ahead = 1u << 3, ///< speculative; layers may drop it under pressure
  meta = 1u << 4,       ///< metadata (for priority and accounting)
};

[[nodiscard]] constexpr bio_flags operator|(bio_flags a, bio_flags b) noexcept {
  return static_cast<bio_flags>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b));
}
[[nodiscard]] constexpr bio_flags operator&(bio_flags a, bio_flags b) noexcept {
  return static_cast<bio_flags>(static_cast<std::uint8_t>(a) & static_cast<std::uint8_t>(b));
}
[[nodiscard]] constexpr bio_flags operator~(bio_flags a) noexcept {
  return static_cast<bio_flags>(static_cast<std::uint8_t>(~static_cast<std::uint8_t>(a)));
}
constexpr bio_flags& operator|=(bio_flags& a, bio_flags b) noexcept { return a = a | b; }
constexpr bio_flags& operator&=(bio_flags& a, bio_flags b) noexcept { return a = a & b; }
[[nodiscard]] constexpr bool has(bio_flags set, bio_flags f) noexcept {
  return (set & f) != bio_flags::none;
}

/// Request priorities: a lower value is more urgent, and the default,
/// `normal`, is 0 (as NetBSD's BPRIO_DEFAULT), so a default-constructed bio
/// is all zero bytes: a static array of bios stays in .bss and costs no
/// flash for an initial image. Queue disciplines that know priorities
/// (`priority_classes`) use them; the others ignore them.
using priority_t = std::int8_t;
namespace priority {
inline constexpr priority_t realtime = -1;
inline constexpr priority_t normal = 0;
inline constexpr priority_t idle = 1;
} // namespace priority

/// One piece of a scatter-gather list.
struct segment {
  std::byte* data = nullptr;
  std::uint32_t length = 0;
};

class bio;
namespace detail {
struct bio_access;
}

/// What the completion walk does after a layer's callback returns.
enum class completion_action : std::uint8_t {
  /// Hand the result to the parent (if any). A bio with a parent must stay
  /// valid until the parent's own completion begins; one without a parent is
  /// not touched again once its callback has been called.
  proceed,
  /// The callback took ownership: the walk stops here. The callback (or
  /// whoever it handed the bio to) later calls `continue_completion(b)` to pass
  /// the result on, or `b.rearm()` and resubmits it (a retry).
  stop,
};

/// A completion callback: a plain function pointer plus a context pointer. It is
/// `noexcept`, never allocates, and is called exactly once per completion of
/// the bio it is attached to. It may run in interrupt context when the device
/// completes from an ISR without a deferring layer in between.
using completion_fn = completion_action (*)(bio& b, void* context) noexcept;

struct completion {
  completion_fn fn = nullptr;
  void* context = nullptr;
};

/// Builds a `completion` that calls member function `Fn` on `obj`; no
/// allocation, no type erasure beyond one function pointer.
///
///     struct waiter { completion_action done(bio&) noexcept; };
///     b.on_done = bind_completion<&waiter::done>(w);
template <auto Fn, class T>
[[nodiscard]] completion bind_completion(T& obj) noexcept {
  return completion{[](bio& b, void* ctx) noexcept -> completion_action {
                      return (static_cast<T*>(ctx)->*Fn)(b);
                    },
                    &obj};
}

/// Intrusive linkage: the layer currently queuing the bio owns it. A bio is on
/// at most one queue at a time.
struct bio_hook {
  bio* next = nullptr;
  bio* prev = nullptr;
};

/// One block I/O request.
///
/// The submitter fills in the request fields (operation, offset, length,
/// memory, flags, `on_done`) and hands the bio to a device or layer with
/// `submit(b)`. Exactly one completion follows, inline or later, from any
/// context; the bio must stay alive and untouched by the submitter until then.
///
/// Memory is either contiguous (`data`) or a scatter-gather list
/// (`segments`, `segment_count`); `mem_offset` is where this bio's first byte
/// sits inside that memory (children of a split share their parent's memory at
/// an offset, without copying the list).
///
/// Not copyable: a bio has an identity (queues and children point at it).
///
/// Memory order: a thread that sees `completed()` return true also sees the
/// final status and residual and everything the completing side wrote before
/// completing the bio (the data of a read). A parent's completion (its
/// callback, and whoever sees it completed) sees the same of every child.
class bio {
public:
  // ---- request description, owned by the submitter --------------------
  std::uint64_t offset = 0; ///< byte offset on the device
  std::uint32_t length = 0; ///< bytes to transfer (0 for flush)
  op operation = op::read;
  bio_flags flags = bio_flags::none;
  std::uint16_t segment_count = 0;        ///< 0: memory is `data`
  std::uint32_t mem_offset = 0;           ///< first byte of this bio inside its memory
  priority_t priority = priority::normal; ///< lower is more urgent

private:
  // The bio's one-byte state fills the rest of `priority`'s word: no padding
  // anywhere (a bio is 64 bytes on 32-bit targets, 96 on 64-bit ones), and
  // all of it within the first 32 bytes, where Thumb-2 byte loads and
  // stores have 16-bit encodings. The counts follow it: everything a rearm
  // and a completion write is 11 adjacent bytes, not two places 70 bytes
  // apart (on a host, two cache lines per bio: bench/dispatch's direct
  // QD32 path ran 3 % slower).
  std::atomic<errc> status_{errc::ok};
  std::atomic<std::uint8_t> state_{state_idle};
  bool fan_in_ = false; // parent of a split: a short child counts as an error
  std::atomic<std::uint32_t> residual_{0};
  std::atomic<std::uint32_t> pending_{0};

public:
  std::byte* data = nullptr;         ///< contiguous memory (when segment_count == 0)
  const segment* segments = nullptr; ///< scatter-gather list (when segment_count > 0)
  completion on_done{};              ///< this layer's completion callback (may be empty)

  // ---- linkage and per-layer state -----------------------------------
  bio* parent = nullptr;   ///< the layer above (chain, stack or fan-in)
  void* context = nullptr; ///< free for the layer currently holding the bio
  bio_hook hook{};         ///< intrusive queue linkage

  bio() noexcept = default;
  bio(const bio&) = delete;
  bio& operator=(const bio&) = delete;

  /// Convenience constructors for contiguous memory: operation `o` on
  /// `len` bytes at device offset `off`, memory `mem`, callback `done` (none
  /// if omitted); every other field as in a default-constructed bio.
  bio(op o, std::uint64_t off, std::uint32_t len, std::byte* mem = nullptr) noexcept
      : bio(mem, off, len, o) {}
  bio(op o, std::uint64_t off, std::uint32_t len, std::byte* mem, completion done) noexcept
      : bio(mem, off, len, o) {
    on_done = done;
  }

  /// Status so far: `ok` until an error is recorded; final once completed.
  [[nodiscard]] errc status() const noexcept { return status_.load(std::memory_order_acquire); }

  /// Bytes not transferred (meaningful after completion).
  [[nodiscard]] std::uint32_t residual() const noexcept {
    return residual_.load(std::memory_order_acquire);
  }

  /// True once the completion walk has passed this bio.
  [[nodiscard]] bool completed() const noexcept {
    return state_.load(std::memory_order_acquire) == state_done;
  }

  /// Records `e` unless an error is already recorded: the first error wins,
  /// even when children of one parent race. `ok` is ignored. ISR-safe.
  void record_error(errc e) noexcept {
    if (e == errc::ok) return;
    // Release pairs with status(); the completion publishes it in any case.
    errc expected = errc::ok;
    status_.compare_exchange_strong(expected, e, std::memory_order_release,
                                    std::memory_order_relaxed);
  }

  /// Sets the residual (bytes not transferred). A device calls it before
  /// completing a short transfer (the completion publishes it, hence relaxed).
  void set_residual(std::uint32_t r) noexcept { residual_.store(r, std::memory_order_relaxed); }

  /// Adds to the residual (used when children report into a parent; the
  /// release of the parent's count orders it).
  void add_residual(std::uint32_t r) noexcept {
    if (r != 0) residual_.fetch_add(r, std::memory_order_relaxed);
  }

  /// Makes a completed bio submittable again with the same request fields:
  /// status ok, residual 0, no pending children. Used for retries from a
  /// callback that returned `completion_action::stop`, and to reuse a bio.
  /// Only the bio's owner calls it, and submitting the bio again publishes
  /// it, so every store is relaxed.
  void rearm() noexcept {
    status_.store(errc::ok, std::memory_order_relaxed);
    residual_.store(0, std::memory_order_relaxed);
    pending_.store(0, std::memory_order_relaxed);
    fan_in_ = false;
    state_.store(state_idle, std::memory_order_relaxed);
  }

  /// Re-initialises every request field for a new contiguous request and
  /// rearms the bio. Linkage (`parent`, `context`, hook) is cleared too.
  void prepare(op o, std::uint64_t off, std::uint32_t len, std::byte* mem = nullptr,
               completion done = {}) noexcept {
    offset = off;
    length = len;
    operation = o;
    flags = bio_flags::none;
    priority = priority::normal;
    segment_count = 0;
    mem_offset = 0;
    data = mem;
    segments = nullptr;
    on_done = done;
    unlink();
  }

  /// Children still outstanding (plus one while a fan-in is being built).
  [[nodiscard]] std::uint32_t pending() const noexcept {
    const std::uint32_t n = pending_.load(std::memory_order_acquire);
    return (n & ~fan_in_open) + (n >> 31); // the open mark counts as one
  }

private:
  friend struct detail::bio_access;

  // The shared part of the public constructors: every field but the
  // callback, which one of them sets. Out of line when optimising for size:
  // a call is much smaller than the dozen stores of a whole bio at every
  // construction. It takes the offset too (in the register pair after the
  // memory; the length and operation go on the stack), so the offset is
  // stored once, not cleared here and overwritten by the caller. (The
  // arguments are in a different order, so no call meant for a public
  // constructor can land here.)
  BIOSTACK_NOINLINE_FOR_SIZE bio(std::byte* mem, std::uint64_t off, std::uint32_t len,
                                 op o) noexcept
      : offset(off), length(len), operation(o), data(mem) {}

  // Clears the linkage and rearms: the tail of every re-initialisation.
  void unlink() noexcept {
    parent = nullptr;
    context = nullptr;
    hook = {};
    rearm();
  }

  static constexpr std::uint8_t state_idle = 0;
  static constexpr std::uint8_t state_done = 1;
  // The top bit of `pending_`, set between begin_fan_in and end_fan_in. A
  // count that stands for the open fan-in (instead of a count of one plus a
  // flag) lets add_child and end_fan_in check that the fan-in is open on the
  // value their atomic operation returns, with no load of their own, and it
  // keeps the parent from completing until end_fan_in as a count of one
  // would. Children number fewer than 2^31.
  static constexpr std::uint32_t fan_in_open = std::uint32_t{1} << 31;
};
// The layout leaves no padding (see status_).
static_assert((sizeof(void*) != 4 || sizeof(bio) == 64) &&
              (sizeof(void*) != 8 || sizeof(bio) == 96));

namespace detail {
struct bio_access {
  // The completion walk, one loop for end_io and continue_completion: from
  // `b`'s own completion (`RunB`: mark it done, run its callback) or from
  // the hand-over of its result to its parent, then up the chain for as long
  // as each bio was its parent's last outstanding child. Stack use does not
  // depend on the depth of the chain.
  //
  // The hand-over: first error wins, the residual adds up, and for fan-in
  // parents a short but successful child is an io_error (the parent's data
  // would have a hole in the middle). The child is not touched once the
  // parent's count is released: from then on the parent's completion may
  // free it. A template on `RunB`, so that a program which never calls
  // continue_completion carries no test of it.
  //
  // Memory order: marking a bio done is a release (completed() acquires);
  // releasing a parent's count is acq_rel, so the context that completes the
  // parent sees what every child contributed. Everything else a child hands
  // over (status, residual) is ordered by that release, so relaxed.
  template <bool RunB>
  static void walk(bio& b) noexcept {
    bio* cur = &b;
    bool run_b = RunB;
    for (;;) {
      // Read before the callback: a top-level bio (no parent) belongs to its
      // owner again the moment its callback runs (the owner may hand it to
      // another thread and reuse it), so the walk must not touch it
      // afterwards. A child climbs to the parent it completed under.
      bio* const p = cur->parent;
      if (run_b) {
        // A second completion would deliver a result twice: panic instead.
        const std::uint8_t prev = cur->state_.exchange(bio::state_done, std::memory_order_release);
        BIOSTACK_ASSERT(prev != bio::state_done && "bio completed twice");
        if (const completion_fn fn = cur->on_done.fn) {
          if (fn(*cur, cur->on_done.context) == completion_action::stop) return;
        }
      }
      run_b = true;
      if (p == nullptr) return;
      // Written in this context, or by children whose count release this
      // context acquired.
      errc st = cur->status_.load(std::memory_order_relaxed);
      if (const std::uint32_t res = cur->residual_.load(std::memory_order_relaxed); res != 0) {
        // A short child of a fan-in leaves a hole in the parent's data.
        if (st == errc::ok && p->fan_in_) st = errc::io_error;
        p->residual_.fetch_add(res, std::memory_order_relaxed);
      }
      p->record_error(st);
      const std::uint32_t before = p->pending_.fetch_sub(1, std::memory_order_acq_rel);
      BIOSTACK_ASSERT(before != 0 && "child completed into a parent with no pending children");
      if (before != 1) return;
      cur = p;
    }
  }

  static void unlink(bio& b) noexcept { b.unlink(); }

  // The final status and residual of a completed bio, for a layer that has
  // already synchronised with its completion (took it off a queue with an
  // acquire, or under the lock its completion callback took): what
  // status() and residual() return, without a second acquire.
  static errc final_status(const bio& b) noexcept {
    return b.status_.load(std::memory_order_relaxed);
  }
  static std::uint32_t final_residual(const bio& b) noexcept {
    return b.residual_.load(std::memory_order_relaxed);
  }

  // Whether `b` may become a parent: not completed (idle, which is 0), no
  // children: one test of both. Only its owner changes either while it is
  // not in flight, so relaxed loads do. Inline: the test is no larger than
  // a call.
  BIOSTACK_ALWAYS_INLINE static bool may_become_parent(const bio& b) noexcept {
    static_assert(bio::state_idle == 0);
    return (b.state_.load(std::memory_order_relaxed) |
            b.pending_.load(std::memory_order_relaxed)) == 0;
  }

  // Relaxed like the other fields a submitter sets up: submitting the child
  // publishes them. A fan-in starts open (`bio::fan_in_open`), a layer with
  // its one child.
  static void set_pending(bio& b, bool fan_in) noexcept {
    b.fan_in_ = fan_in;
    b.pending_.store(fan_in ? bio::fan_in_open : 1u, std::memory_order_relaxed);
  }
  // Counts a child of a fan-in; returns whether the fan-in was open.
  // Atomic (children may be releasing theirs meanwhile) but relaxed: the
  // open mark keeps the parent from completing until end_fan_in, whose
  // release orders everything the submitter did.
  static bool add_pending(bio& b) noexcept {
    return (b.pending_.fetch_add(1, std::memory_order_relaxed) & bio::fan_in_open) != 0;
  }
  // Drops the open mark. The count before tells whether the fan-in was open
  // (`was_open`) and whether no child is outstanding (`is_last`).
  static std::uint32_t close_fan_in(bio& b) noexcept {
    return b.pending_.fetch_sub(bio::fan_in_open, std::memory_order_acq_rel);
  }
  static bool was_open(std::uint32_t before) noexcept { return (before & bio::fan_in_open) != 0; }
  static bool is_last(std::uint32_t before) noexcept { return before == bio::fan_in_open; }
};
} // namespace detail

/// Ends `b`: marks it completed, runs its callback, and, unless the callback
/// returned `completion_action::stop`, climbs to the parent (the one `b` had
/// when it completed), completing each ancestor whose last child this was.
/// The climb is a loop: stack use does not depend on the depth of the chain.
/// Status and residual must already be set (see `complete`). Completing a
/// bio twice panics. ISR-safe as far as the callbacks it runs are.
inline void end_io(bio& b) noexcept { detail::bio_access::walk<true>(b); }

/// Completes `b` with status `s` (kept only if no error was recorded before)
/// and `residual` bytes not transferred. The device-side entry point.
inline void complete(bio& b, errc s, std::uint32_t residual = 0) noexcept {
  b.record_error(s);
  if (residual != 0) b.set_residual(residual);
  end_io(b);
}

/// Resumes the walk above `b` after its callback returned
/// `completion_action::stop`: passes b's result to its parent without running
/// b's callback again. (DragonFly: `biodone(pop_bio(bio))` from a callback.)
inline void continue_completion(bio& b) noexcept {
  BIOSTACK_ASSERT(b.completed());
  detail::bio_access::walk<false>(b);
}

BIOSTACK_NAMESPACE_END
