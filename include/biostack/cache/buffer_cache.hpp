// SPDX-License-Identifier: MIT
#pragma once

/// `buffer_cache<Device, policies<...>>`: a block cache over any
/// `block_device` with the semantics of DragonFly's buffer cache (vfs_bio)
/// and the ordered write-back of HAMMER's I/O layer.
///
///     static ram_device disk{...};
///     buffer_cache<ram_device, policies<static_storage<64, 4096>, lru>> cache{disk};
///     if (auto h = cache.read(7)) { use(h->data(), h->size()); }  // released at scope end
///
/// Blocks are addressed by `lbn` in units of the storage block size
/// (`BlockSize` of the storage policy): block `lbn` lives at byte offset
/// `lbn * BlockSize` on the device. A buffer may be shorter than `BlockSize`
/// (any multiple of the device block size): asking for the same block with a
/// different size re-creates the buffer, writing it first if dirty (once no
/// modifier or write interlock is active on it).
///
/// Policies (look-up by category; any order; defaults in brackets):
/// storage [static_storage<64, 4096>], replacement [clock], lock [null_lock],
/// wait [poll_wait<>], clock [no_clock], integrity [no_integrity], write
/// classes [single_class], owner hooks [no_owner_hooks], I/O slots
/// [io_slots<8>], pending async barriers [async_ops<4>; async_ops<0>: none,
/// the blocking forms step their operations in place], key
/// [block_key<std::uint64_t>], lookup [scan_lookup<2>: scan the headers of
/// caches of up to 2 buffers, hash larger ones].
///
/// States (vfs_bio): a buffer is resident (in the index) or EMPTY (free);
/// resident buffers may be busy (exclusively owned by a handle or by
/// I/O), valid (CACHE), dirty (DELWRI), pinned (LOCKED), held (bqhold). Dirty
/// buffers stay dirty until their write completes; a failed write keeps the
/// data dirty (retried by the flusher after a pause, or pinned and reported
/// for critical classes); a failed read caches nothing. Only clean, idle,
/// unpinned, unheld buffers are reclaimed, EMPTY headers first.
///
/// Thread safety: every call takes the lock policy's lock around the cache's
/// own state and never holds it while submitting to the device or calling a
/// user callback or hook, except the owner hooks `may_reclaim` and
/// `on_reclaim`, which run inside the victim search with the lock held (they
/// must not call the cache). Completions may arrive from any context the
/// lock policy supports. An I/O counts as in flight (`in_flight()`, the
/// running writes `wait_all` and `sync` wait for, the destructor's check)
/// until its completion's hooks and callback have returned.
///
/// Wait policies that give up (`poll_wait<N>`, or a deadline) never count
/// as completion: the blocking call returns `timed_out` and the I/O it
/// started goes on, owning its buffer and I/O slot until it completes.
///
/// ISR-safety: the completion path (and therefore `read_async` / `write_async`
/// callbacks) runs in whatever context the device completes in; with a lock
/// policy that masks interrupts it is ISR-safe (no allocation, no blocking, a
/// bounded amount of work: a completion that lets a pending sync go on may
/// start up to a stage's writes and run the owner's `check_write` for them). Blocking calls (`get`
/// without `nowait`, `read`, `write_sync`, `sync`, `wait_all`, `flush_block`, `modify`,
/// `interlock`) must not be called from an ISR; `get(nowait)`, `read_async`, `write_async`,
/// `write_delayed(…, true)`, `release*`, `hold`/`drop`, `pin`/`unpin`, `flush_step` and the async
/// twins `get_async`, `modify_async`, `interlock_async`, `flush_block_async`, `wait_all_async`,
/// `sync_async` never wait (a release, `drop`, `unpin` or the end of a
/// modification or interlock may run the callback of an async twin waiting
/// for it, in that context, without the cache lock).

#include <array>
#include <biostack/bio/bio.hpp>
#include <biostack/cache/index_list.hpp>
#include <biostack/cache/ordered_classes.hpp>
#include <biostack/cache/replacement/clock.hpp>
#include <biostack/cache/replacement/concepts.hpp>
#include <biostack/cache/storage.hpp>
#include <biostack/cache/wait.hpp>
#include <biostack/clock.hpp>
#include <biostack/device/concepts.hpp>
#include <biostack/device/validate.hpp>
#include <biostack/integrity/crc32c.hpp>
#include <biostack/policy.hpp>
#include <biostack/result.hpp>
#include <biostack/stats/concepts.hpp>
#include <biostack/sync/lock.hpp>
#include <bit>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

BIOSTACK_NAMESPACE_BEGIN

struct io_slots_tag {};
struct async_ops_tag {};
struct block_key_tag {};
struct scan_lookup_tag {};

/// How many I/O operations the cache may have in flight at once (each holds
/// one bio). 1..254.
template <std::size_t K>
struct io_slots {
  using category = io_slots_tag;
  static_assert(K >= 1 && K < 255, "1 to 254 I/O slots");
  static constexpr std::size_t count = K;
};

/// How many `get_async` / `modify_async` / `interlock_async` /
/// `flush_block_async` / `wait_all_async` / `sync_async` requests may be
/// pending at once (the blocking forms keep theirs on the caller's
/// stack and never use this table). 0..255.
///
/// `async_ops<0>`: no asynchronous operations. Those six entry points do
/// not exist, and each blocking form (`get`'s slow path, `flush_block`,
/// `wait_all`, `sync`, `modify`, `interlock`) steps its operation on the
/// caller's stack between waits instead of queueing it for the completions
/// to advance: the operation list, its pump and the table compile out.
/// Requires a single-context wait policy (`poll_wait`): with several
/// threads the queue is what keeps blocking syncs ordered and fair; in one
/// context nothing is ever queued ahead of the caller.
template <std::size_t K>
struct async_ops {
  using category = async_ops_tag;
  static_assert(K < 256, "0 to 255 pending async operations");
  static constexpr std::size_t count = K;
};

/// The block-number type stored per buffer. `std::uint32_t` saves 4 bytes per
/// buffer on small devices (up to 2^32 blocks).
template <class Lbn>
struct block_key {
  using category = block_key_tag;
  static_assert(std::is_unsigned_v<Lbn> && sizeof(Lbn) >= 4, "an unsigned type of 32+ bits");
  using type = Lbn;
};

/// How the cache finds a cached block. A cache of at most `MaxCapacity`
/// buffers scans its buffer headers: O(capacity) per lookup and per miss
/// (which scans for an EMPTY header too), but no hash buckets, no chain
/// link in each header and less code (120 bytes less Cortex-M4 code for
/// the firmware example's 8-buffer cache). A larger one hashes: O(1)
/// expected. The default, 2, is as far as scanning measured no slower
/// than hashing on x86-64; from 3 buffers a lookup alone scans slower
/// (docs/cache.md, "Index"). A target short of flash may raise it
/// (`scan_lookup<8>` for an 8-buffer cache); `scan_lookup<0>` always
/// hashes.
template <std::size_t MaxCapacity>
struct scan_lookup {
  using category = scan_lookup_tag;
  static constexpr std::size_t max_capacity = MaxCapacity;
};

/// Flags of `get` (getblk). The top bit is reserved: the cache uses it
/// internally (`get` and `read` clear or set it), so no flag is defined there.
enum class get_flags : std::uint8_t {
  none = 0,
  nowait = 1u << 0,     ///< fail with `no_resources` instead of waiting for a busy buffer
  size_match = 1u << 1, ///< a cached buffer of another size is an error (`invalid_argument`)
};
[[nodiscard]] constexpr get_flags operator|(get_flags a, get_flags b) noexcept {
  return static_cast<get_flags>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b));
}
[[nodiscard]] constexpr bool has(get_flags set, get_flags f) noexcept {
  return (static_cast<std::uint8_t>(set) & static_cast<std::uint8_t>(f)) != 0;
}

/// Options of `get` / `read`.
struct get_options {
  std::uint32_t size = 0; ///< bytes; 0 = the storage block size
  get_flags flags = get_flags::none;
  std::uint64_t timeout = 0; ///< clock ticks to wait for a buffer; 0 = no limit
};

/// Thresholds (vfs_bio §4), computed from the capacity by `default_limits`
/// and adjustable at run time with `set_limits`.
struct cache_limits {
  std::size_t hi_buffers;    ///< at this many resident buffers reclaim starts...
  std::size_t lo_buffers;    ///< ...and frees until fewer than this remain
  std::uint64_t hi_dirty;    ///< dirty bytes at which writers kick the flusher and wait
  std::uint64_t lo_dirty;    ///< the flusher is wanted above lo_dirty / 2
  std::uint64_t hi_running;  ///< writers wait while running write bytes exceed this...
  std::uint64_t lo_running;  ///< ...until they drop to this (hysteresis)
  std::uint32_t retry_pause; ///< flusher passes before a failed write is retried
};

/// Statistics, updated under the cache lock.
struct cache_stats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t readahead_hits = 0; ///< first use of a block brought in by read-ahead
  std::uint64_t evictions = 0;
  std::uint64_t writebacks = 0; ///< writes that completed successfully
  std::uint64_t write_errors = 0;
  std::uint64_t read_errors = 0;
  std::uint64_t integrity_errors = 0;
  std::uint64_t dirty_high_water = 0; ///< most dirty bytes seen at once
  std::uint64_t throttle_waits = 0;   ///< writers that waited for running writes
};

/// The cache's statistics policy (category `stats_policy_tag`, as the
/// dispatcher's): `cache_counters`, the default, keeps the `cache_stats`
/// counters that `stats()` returns; `null_stats` keeps none (every count
/// compiles away and `stats()` does not exist), for images where each
/// byte of code counts.
struct cache_counters {
  using category = stats_policy_tag;
};

namespace detail {
/// Declared, never defined by the library: a test may define it to reach a
/// cache's internals (for example to prove an internal assertion fires).
template <class Cache>
struct cache_test_access;
} // namespace detail

template <block_device Device, class Pack = policies<>>
class buffer_cache {
  template <class>
  friend struct detail::cache_test_access;

public:
  using storage_type = select_policy_t<Pack, storage_policy_tag, static_storage<64, 4096>>;
  using replacement_type = select_policy_t<Pack, replacement_policy_tag, clock_eviction>;
  using lock_type = select_policy_t<Pack, lock_policy_tag, null_lock>;
  using wait_type = select_policy_t<Pack, wait_policy_tag, poll_wait<>>;
  using clock_type = select_policy_t<Pack, clock_policy_tag, no_clock>;
  using integrity_type = select_policy_t<Pack, integrity_policy_tag, no_integrity>;
  using classes_type = select_policy_t<Pack, write_classes_tag, single_class>;
  using hooks_type = select_policy_t<Pack, owner_hooks_tag, no_owner_hooks>;
  using stats_type = select_policy_t<Pack, stats_policy_tag, cache_counters>;
  using lbn_type = typename select_policy_t<Pack, block_key_tag, block_key<std::uint64_t>>::type;
  static_assert(cache_storage<storage_type>);
  static_assert(replacement_policy<replacement_type>);
  static_assert(lock_policy<lock_type>);
  static_assert(tick_source<clock_type>);
  static_assert(integrity_policy<integrity_type>);
  static_assert(owner_hooks<hooks_type>);
  static_assert(
      std::is_same_v<stats_type, cache_counters> || std::is_same_v<stats_type, null_stats>,
      "a buffer_cache counts with cache_counters (the default) or not at all (null_stats)");
  /// Whether the cache keeps statistics (`stats()`): false with `null_stats`.
  static constexpr bool counting = std::is_same_v<stats_type, cache_counters>;

  static constexpr std::size_t capacity = storage_type::capacity;
  static constexpr std::uint32_t block_size = storage_type::block_size;
  static constexpr std::size_t slot_count = select_policy_t<Pack, io_slots_tag, io_slots<8>>::count;
  static constexpr std::size_t async_op_count =
      select_policy_t<Pack, async_ops_tag, async_ops<4>>::count;
  /// False with `async_ops<0>`: no async twins; blocking forms run in place.
  static constexpr bool async_enabled = async_op_count != 0;
  static_assert(async_enabled || wait_type::single_context,
                "async_ops<0> (blocking forms run in place) requires a single-context wait "
                "policy: with threads, queued blocking operations keep syncs ordered and fair");
  static constexpr std::size_t class_count = classes_type::count;
  using index_type = detail::slot_index_t<capacity>;
  static constexpr index_type npos = detail::no_slot<index_type>;
  /// Largest capacity whose lookups scan the headers (`scan_lookup`).
  static constexpr std::size_t scan_index_max =
      select_policy_t<Pack, scan_lookup_tag, scan_lookup<2>>::max_capacity;
  /// True when this cache scans (capacity <= scan_index_max): a block is
  /// found by a linear scan of the buffer headers (O(capacity) per lookup)
  /// and an EMPTY header by a scan for an all-zero one, instead of a hash
  /// index and a free list: no bucket array and no per-header link.
  static constexpr bool scan_index = capacity <= scan_index_max;

private:
  using I = index_type;
  using slot_t = std::uint8_t;
  // A buffer's size in device blocks: one byte while BlockSize is at most
  // 255 blocks of 512 bytes (the common case keeps headers at 16 bytes on
  // 32-bit targets with 32-bit block numbers).
  using units_type = std::conditional_t<(block_size <= 255u * 512u), std::uint8_t, std::uint16_t>;
  static constexpr slot_t no_io = 0xFF;
  using policy_state = typename replacement_type::template state<capacity, I>;
  // Whether the policy says itself which slots it tracks (`tracked(i)`, an
  // optional member of the concept): then the headers keep no f_tracked
  // copy of it to set, clear and test beside the policy's own.
  static constexpr bool policy_says_tracked = requires(const policy_state& p, I i) {
    { p.tracked(i) } -> std::same_as<bool>;
  };
  // Hash buckets (the index, below): a power of two, at least the capacity.
  static constexpr std::size_t bucket_count = std::bit_ceil(capacity);
  // Byte counts bounded by the whole cache (dirty, running): native width
  // when that fits, so small targets do no 64-bit arithmetic on them.
  using bytes_type = std::conditional_t<(std::uint64_t{capacity} * block_size <= UINT32_MAX),
                                        std::uint32_t, std::uint64_t>;
  // Byte thresholds as the cache compares them: native width when four
  // times the cache's bytes fit (the largest quantity they are compared
  // with is twice those; see set_limits), saturated there.
  using limit_type = std::conditional_t<(std::uint64_t{capacity} * block_size <= UINT32_MAX / 4),
                                        std::uint32_t, std::uint64_t>;
  struct limit_state {
    std::size_t hi_buffers, lo_buffers;
    limit_type hi_dirty, lo_dirty, hi_running, lo_running;
    std::uint32_t retry_pause;
  };
  [[nodiscard]] static constexpr limit_type saturate(std::uint64_t v) noexcept {
    constexpr limit_type top = ~limit_type{0};
    return v > top ? top : static_cast<limit_type>(v);
  }
  // vfs_bio's bufinit thresholds for `cap` buffers, as an L (cache_limits
  // or limit_state) with byte counts computed in B (wide enough for
  // cap * block_size). One formula for default_limits and the constructor.
  template <class L, class B>
  [[nodiscard]] static constexpr L make_limits(std::size_t cap) noexcept {
    L l{};
    l.hi_buffers = cap;
    l.lo_buffers = cap; // reclaim one buffer per miss; lower it for batched reclaim
    const B space = static_cast<B>(cap) * block_size;
    l.hi_dirty = space / 2;
    l.lo_dirty = l.hi_dirty / 2;
    // The running-write window, vfs_bio's hirunning = max(space / 16, 4
    // blocks), is worked out in whole blocks so that its 4/6 threshold is a
    // native-width division rather than a 64-bit one (which would pull a
    // libgcc routine into small images). For full-size buffers, rounding the
    // thresholds down to whole blocks changes no throttling decision.
    const std::size_t hirun_blocks = cap / 16 > 4u ? cap / 16 : 4u;
    l.hi_running = static_cast<B>(hirun_blocks * 4u / 6u) * block_size;
    l.lo_running = static_cast<B>(hirun_blocks) * block_size / 2;
    l.retry_pause = 4;
    return l;
  }

  // A device whose geometry is a compile-time constant
  // (constant_geometry_device) needs no copy of it: the constructor's
  // checks and the block-size arithmetic fold to constants.
  static constexpr bool fixed_geometry = constant_geometry_device<Device>;
  [[nodiscard]] const device_geometry& geo() const noexcept {
    return detail::geometry_in<Device>(geo_);
  }
  // True when every buffer is exactly one device block: a constant geometry
  // whose block size is the storage block size. `check` then accepts only
  // that size, so a cached buffer never has another one: the size
  // comparisons, `size_match`'s failure, the re-creation of a buffer and its
  // write-first are dead code, compiled out (and no size is stored).
  static constexpr bool one_unit = [] {
    if constexpr (fixed_geometry)
      return std::remove_cvref_t<Device>::constant_geometry.block_size == block_size;
    else
      return false;
  }();

  enum flag : std::uint16_t {
    f_resident = 1u << 0,   // in the index
    f_valid = 1u << 1,      // CACHE: contents valid
    f_dirty = 1u << 2,      // DELWRI
    f_busy = 1u << 3,       // owned by a handle or by I/O
    f_io = 1u << 4,         // I/O in flight
    f_pinned = 1u << 5,     // LOCKED (user pin)
    f_ownerpin = 1u << 6,   // pinned by a critical write error or the owner's check_write
    f_inval = 1u << 7,      // destroy at release
    f_nocache = 1u << 8,    // destroy at release once clean
    f_error = 1u << 9,      // the last write failed
    f_readahead = 1u << 10, // brought in by read-ahead, not yet used
    f_deferred = 1u << 11,  // the flusher skipped it once for the owner
    // Known to the replacement policy; no flag (0) when the policy says so
    // itself (policy_says_tracked).
    f_tracked = policy_says_tracked ? 0u : 1u << 12,
    f_ondirty = 1u << 13, // linked on its class's dirty list
    f_handle = 1u << 14,  // busy because a handle owns it (not I/O)
    f_sync = 1u << 15,    // to be written by the sync in progress
  };

  // The per-buffer header. Links are slot indices (16-bit below 65535
  // buffers); the data address is computed from the slot number. What a
  // lookup and a hit read comes first (block, hash link, flags), then the
  // rest of the state, then the dirty-set links. A header is either EMPTY,
  // all zero (destroy clears it; the constructor starts every one so) but
  // for its free-list link when hashing, or resident (f_resident set):
  // with scan_index the flags are the whole index and the free list.
  struct header {
    lbn_type lbn;
    // Hash chain, then free-list link; none with scan_index.
    [[no_unique_address]] detail::only_if<!scan_index, I, 1> hnext;
    std::uint16_t flags;
    // holds and modrefs side by side: "idle" tests both.
    std::uint8_t holds;
    std::int8_t modrefs; // >0 modifiers, -1 write interlock
    I dprev, dnext;
    // Size in device blocks; none kept when it is always one.
    [[no_unique_address]] detail::only_if<!one_unit, units_type, 0> units;
    std::uint8_t cls;
  };
  static_assert(std::is_trivially_copyable_v<header>, "headers are zeroed with memset");

public:
  /// Metadata bytes the cache keeps per buffer, rounded up: header, hash
  /// buckets (a power of two of them, at least the capacity; none with
  /// scan_index) and the replacement policy's per-slot state (ghost tables
  /// included).
  static constexpr std::size_t metadata_bytes_per_buffer =
      sizeof(header) + (scan_index ? 0 : (sizeof(I) * bucket_count + capacity - 1) / capacity) +
      (sizeof(policy_state) + capacity - 1) / capacity;
  static constexpr std::size_t header_bytes = sizeof(header);

  class handle;
  /// Completion of `read_async`: `status` and, on success, the locked buffer.
  using read_done = void (*)(void* ctx, errc status, handle h) noexcept;
  /// Completion of `write_async`, `flush_block_async`, `wait_all_async`
  /// and `sync_async`.
  using write_done = void (*)(void* ctx, errc status) noexcept;

  /// Exclusive ownership of one buffer (getblk's locked buffer). Move-only;
  /// the destructor releases it (`release`, bqrelse). ISR-safe as far as the
  /// lock policy is.
  class handle {
  public:
    handle() noexcept = default;
    handle(handle&& o) noexcept : c_(std::exchange(o.c_, nullptr)), i_(o.i_) {}
    handle& operator=(handle&& o) noexcept {
      if (this != &o) {
        reset();
        c_ = std::exchange(o.c_, nullptr);
        i_ = o.i_;
      }
      return *this;
    }
    handle(const handle&) = delete;
    handle& operator=(const handle&) = delete;
    ~handle() { reset(); }

    explicit operator bool() const noexcept { return c_ != nullptr; }
    /// The buffer's bytes (`size()` of them, aligned for DMA).
    [[nodiscard]] std::byte* data() const noexcept { return c_->storage_.data(i_); }
    [[nodiscard]] std::uint32_t size() const noexcept { return c_->size_of(i_); }
    [[nodiscard]] std::span<std::byte> bytes() const noexcept { return {data(), size()}; }
    [[nodiscard]] std::uint64_t lbn() const noexcept { return c_->z_.hdr[i_].lbn; }
    /// True when the contents are valid (CACHE); false after a miss.
    [[nodiscard]] bool valid() const noexcept { return has(f_valid); }
    [[nodiscard]] bool dirty() const noexcept { return has(f_dirty); }
    [[nodiscard]] bool pinned() const noexcept { return has(f_pinned | f_ownerpin); }
    [[nodiscard]] std::uint8_t write_class() const noexcept { return c_->z_.hdr[i_].cls; }
    /// Declares the contents valid after the caller filled them itself.
    void mark_valid() noexcept { set(f_valid); }
    /// Marks the buffer garbage: it is destroyed at release (B_INVAL).
    void mark_invalid() noexcept { set(f_inval); }
    /// Releases now (bqrelse) instead of at destruction.
    void release() noexcept { reset(); }
    /// Slot number (diagnostics, tests).
    [[nodiscard]] index_type slot() const noexcept { return i_; }

  private:
    friend class buffer_cache;
    handle(buffer_cache* c, I i) noexcept : c_(c), i_(i) {}
    [[nodiscard]] bool has(std::uint16_t f) const noexcept { return c_->test_flag(i_, f); }
    void set(std::uint16_t f) noexcept {
      lock_guard<lock_type> g(c_->lock_);
      c_->z_.hdr[i_].flags = static_cast<std::uint16_t>(c_->z_.hdr[i_].flags | f);
    }
    void reset() noexcept {
      if (c_ != nullptr) std::exchange(c_, nullptr)->release_slot(i_, release_mode::normal);
    }
    buffer_cache* c_ = nullptr;
    I i_ = 0;
  };

  /// A cache over `dev` using at most `cap` (<= capacity) buffers.
  /// Requires the device geometry to be valid, its block size to divide
  /// `block_size`, and its alignment to be met by the storage (panics
  /// otherwise: a configuration error).
  explicit buffer_cache(Device& dev, std::size_t cap = capacity) noexcept
      : dev_(dev), cap_(cap), geo_(detail::copy_geometry(dev)) {
    // Stored over the zeroed state (z_), whose one clearing is cheaper than
    // the stores of each member's zero.
    z_.limits = make_limits<limit_state, limit_type>(cap);
    // With a constant geometry these checks are constants and fold away.
    BIOSTACK_ASSERT(geo().valid() && geo().block_size <= block_size &&
                    block_size % geo().block_size == 0 &&
                    "device block size must divide BlockSize");
    BIOSTACK_ASSERT(storage_.attach(geo().alignment) && "storage alignment below the device's");
    BIOSTACK_ASSERT(block_size / geo().block_size <= static_cast<units_type>(~units_type{0}) &&
                    "device blocks too small for this BlockSize");
    BIOSTACK_ASSERT(cap >= 1 && cap <= capacity);
    // Zeroed headers (z_), none of them linked yet: the free lists of
    // headers, I/O slots and operations start empty and are fed in index
    // order by their "fresh" counters, which hands things out exactly as
    // lists built here in index order would, without a store per element.
    // With scan_index the zeroed headers are already an empty index and
    // all free: nothing to set up.
    if constexpr (!scan_index) {
      free_ = npos;
      for (auto& b : bucket_) b = npos;
    }
    // Over its zeroed state (in z_): stores of a zero already there fold away.
    z_.policy.reset(cap);
    // Empty dirty sets, as their member initialisers already made them:
    // stated once more so the compiler stores two words here instead of
    // copying the initial value from a constant (half the start-up code).
    for (auto& d : dirty_) d.clear();
  }
  buffer_cache(const buffer_cache&) = delete;
  buffer_cache& operator=(const buffer_cache&) = delete;
  /// Requires: no handle outstanding, no I/O in flight and no async
  /// operation pending (call `sync()` or `wait_all()` first; destroying with
  /// either outstanding panics). Dirty data still cached is dropped: call
  /// `sync()` first to keep it.
  ~buffer_cache() {
    BIOSTACK_ASSERT(z_.inflight == 0 && "buffer_cache destroyed with I/O in flight");
    if constexpr (async_enabled)
      BIOSTACK_ASSERT(ops_head_ == nullptr &&
                      "buffer_cache destroyed with an async operation pending");
  }

  /// Thresholds sized like vfs_bio's bufinit for `cap` buffers.
  [[nodiscard]] static constexpr cache_limits default_limits(std::size_t cap) noexcept {
    return make_limits<cache_limits, std::uint64_t>(cap);
  }
  /// Replaces the thresholds. Requires lo <= hi for each pair and hi_buffers
  /// in [1, capacity used]. A byte threshold of four times the cache's
  /// bytes or more decides exactly like an infinite one (dirty and running
  /// bytes never exceed the cache's bytes, and their sum is compared with
  /// half of lo_dirty): such values may be kept saturated, at the largest
  /// value of the narrowest type holding that bound (UINT32_MAX for caches
  /// up to 1 GiB), and `limits()` then reports them so.
  void set_limits(const cache_limits& l) noexcept {
    BIOSTACK_ASSERT(l.lo_buffers <= l.hi_buffers && l.hi_buffers >= 1 && l.hi_buffers <= cap_);
    BIOSTACK_ASSERT(l.lo_dirty <= l.hi_dirty && l.lo_running <= l.hi_running);
    const limit_state s{l.hi_buffers,         l.lo_buffers,           saturate(l.hi_dirty),
                        saturate(l.lo_dirty), saturate(l.hi_running), saturate(l.lo_running),
                        l.retry_pause};
    lock_guard<lock_type> g(lock_);
    z_.limits = s;
  }
  /// The thresholds in force (byte values saturated as `set_limits` says).
  [[nodiscard]] cache_limits limits() const noexcept {
    const limit_state s = read_locked(z_.limits);
    return cache_limits{s.hi_buffers, s.lo_buffers, s.hi_dirty,   s.lo_dirty,
                        s.hi_running, s.lo_running, s.retry_pause};
  }

  // ---------------------------------------------------------------- lookup

  /// getblk: the buffer for `lbn`, exclusively owned by the returned handle.
  /// A hit returns the cached buffer (valid); a miss a fresh one with
  /// `valid() == false` (the caller fills it, reads it, or lets it go).
  /// Waits (wait policy) for a busy buffer or for a reclaimable one unless
  /// `nowait`; gives up with `timed_out` after `timeout` ticks. Another
  /// `size` re-creates the buffer: a dirty one is written first, after its
  /// active modifiers and write interlock (if any) have ended. Errors:
  /// `out_of_range` / `invalid_argument` / `misaligned` for a bad block or
  /// size, `invalid_argument` for `size_match` with another size cached,
  /// `no_resources` when it would wait but may not (nowait, or only another
  /// handle could release what it needs in a single-context configuration).
  /// Complexity: O(1) expected (O(capacity) when the cache scans, see
  /// `scan_lookup`), plus a bounded victim search on a miss.
  [[nodiscard]] result<handle> get(std::uint64_t lbn, get_options opt = {}) noexcept {
    opt.flags = static_cast<get_flags>(static_cast<std::uint8_t>(opt.flags) & ~fill_bit);
    return obtain<false>(lbn, opt);
  }

  /// getblk without blocking: `done(ctx, status, handle)` runs exactly once,
  /// with the buffer (as `get` would return it) or the error `get` would
  /// return. It runs before this returns when the buffer is available now
  /// or the call fails at once (bad block or size, `size_match`, `nowait`
  /// with the buffer unavailable, `no_resources` if the async-operation
  /// table is full); otherwise from the context that frees what it waits
  /// for: an I/O completion (a device `poll()`), a handle's release, a
  /// `drop`, `unpin`, or the end of a modification or interlock. A dirty
  /// buffer of another size is written first (started from here or from a
  /// completion); a failure of that write is reported. `opt.timeout` is not
  /// used (nothing here waits). ISR-safe as far as the lock policy is;
  /// `done` runs without the cache lock.
  void get_async(std::uint64_t lbn, get_options opt, read_done done,
                 void* ctx) noexcept requires async_enabled {
    BIOSTACK_ASSERT(done != nullptr);
    units_type units = 0;
    if (const errc e = check(lbn, opt.size, units); e != errc::ok) {
      done(ctx, e, handle{});
      return;
    }
    lock_.lock();
    async_op* o = take_op();
    if (o == nullptr) {
      lock_.unlock();
      done(ctx, errc::no_resources, handle{});
      return;
    }
    begin_get(*o, lbn, units, opt.flags);
    from_pool(*o, &deliver_get, ctx);
    o->cb.got = done;
    link_op(*o);
    lock_.unlock();
  }

  /// getcacheblk: the buffer only if it is cached and valid, else
  /// `no_resources`; never waits, never does I/O.
  [[nodiscard]] result<handle> get_cached(std::uint64_t lbn) noexcept {
    lock_guard<lock_type> g(lock_);
    const I i = find(lbn);
    if (i == npos || (z_.hdr[i].flags & (f_busy | f_valid | f_inval)) != f_valid)
      return errc::no_resources;
    take_hit(i);
    return handle(this, i);
  }

  /// True when `lbn` is resident (any state). O(1) expected; O(capacity)
  /// when the cache scans (`scan_lookup`). For tests and tools.
  [[nodiscard]] bool contains(std::uint64_t lbn) const noexcept {
    lock_guard<lock_type> g(lock_);
    return find(lbn) != npos;
  }

  // ------------------------------------------------------------------ reads

  /// bread / breadn: the valid buffer for `lbn`. On a miss issues exactly one
  /// read and waits for it; also starts asynchronous reads of the blocks in
  /// `readahead` that are not already cached (they release themselves on
  /// completion; skipped when no buffer or slot is free). A failed read
  /// caches nothing and returns the error (a held buffer stays, empty, for
  /// its holder; see `drop`). `timed_out` if the wait policy
  /// gave up while the read is in flight: the read goes on and, when it
  /// completes, caches the block (or nothing) and frees its buffer.
  [[nodiscard]] result<handle> read(std::uint64_t lbn, get_options opt,
                                    std::span<const std::uint64_t> readahead) noexcept {
    opt.flags = static_cast<get_flags>(static_cast<std::uint8_t>(opt.flags) | fill_bit);
    return obtain<true>(lbn, opt, readahead);
  }
  /// `read` without read-ahead (a program that never reads ahead does not
  /// link the read-ahead machinery).
  [[nodiscard]] result<handle> read(std::uint64_t lbn, get_options opt = {}) noexcept {
    opt.flags = static_cast<get_flags>(static_cast<std::uint8_t>(opt.flags) | fill_bit);
    return obtain<false>(lbn, opt);
  }

  /// breadcb: starts a read of `lbn`. On a hit `done` runs before this
  /// returns (with the buffer); on a miss it runs at the read's completion,
  /// from the completing context. Never waits: `no_resources` when the buffer
  /// is busy or no buffer/slot is free (then `done` is not called).
  [[nodiscard]] errc read_async(std::uint64_t lbn, read_done done, void* ctx,
                                get_options opt = {}) noexcept {
    BIOSTACK_ASSERT(done != nullptr);
    units_type units = 0;
    if (const errc e = check(lbn, opt.size, units); e != errc::ok) return e;
    lock_.lock();
    I i = npos;
    const try_result r =
        try_get_locked(static_cast<lbn_type>(lbn), units, opt.flags | get_flags::nowait, i);
    if (r != try_result::ok) {
      lock_.unlock();
      return !one_unit && r == try_result::size_mismatch ? errc::invalid_argument
                                                         : errc::no_resources;
    }
    if ((z_.hdr[i].flags & f_valid) != 0) {
      lock_.unlock();
      done(ctx, errc::ok, handle(this, i));
      return errc::ok;
    }
    const slot_t s = take_slot();
    if (s == no_io) {
      release_unfilled(i);
      lock_.unlock();
      return errc::no_resources;
    }
    slot_[s].rd = done;
    slot_[s].ctx = ctx;
    start_read_unlock<io_kind::read_async>(i, s, &settle_read_owned);
    return errc::ok;
  }

  /// Reads block `lbn` and copies its first `dst.size()` bytes out, then
  /// releases it. With `expected` set (and an integrity policy) the buffer's
  /// checksum must match: on mismatch returns `integrity` and leaves `dst`
  /// untouched. The checksum is of the cached contents, which for a dirty
  /// buffer are newer than the medium and are the truth: a mismatch never
  /// drops them. Only a clean buffer that nobody holds, pins or modifies is
  /// dropped on a mismatch, so the next read fetches it again.
  [[nodiscard]] errc read_into(std::uint64_t lbn, std::span<std::byte> dst,
                               const std::uint32_t* expected = nullptr,
                               get_options opt = {}) noexcept {
    if (expected != nullptr && !integrity_type::enabled) return errc::not_supported;
    if (expected == nullptr) {
      // Hit fast path: no handle object, one lock round trip on each side of the copy.
      units_type units = 0;
      if (const errc e = check(lbn, opt.size, units); e != errc::ok) return e;
      lock_.lock();
      const I i = lookup(static_cast<lbn_type>(lbn)); // check() made it fit
      if (i != npos && size_is(i, units) &&
          (z_.hdr[i].flags & (f_busy | f_valid | f_inval)) == f_valid && dst.size() <= size_of(i)) {
        take_hit(i);
        lock_.unlock();
        std::memcpy(dst.data(), storage_.data(i), dst.size());
        release_slot(i, release_mode::normal);
        return errc::ok;
      }
      lock_.unlock();
    }
    result<handle> h = read(lbn, opt);
    if (!h) return h.error();
    if (dst.size() > h->size()) return errc::invalid_argument;
    if (expected != nullptr && integrity_.checksum(h->data(), h->size()) != *expected) {
      handle b = std::move(*h);
      bool drop = false;
      {
        lock_guard<lock_type> g(lock_);
        tally<&cache_stats::integrity_errors>();
        const header& hb = z_.hdr[b.i_];
        drop =
            (hb.flags & (f_dirty | f_pinned | f_ownerpin)) == 0 && hb.holds == 0 && hb.modrefs == 0;
      }
      if (drop) release_invalidate(std::move(b)); // else released as it is, at scope end
      return errc::integrity;
    }
    std::memcpy(dst.data(), h->data(), dst.size());
    return errc::ok;
  }

  /// Checked read: `read_into` with an expected CRC of the whole buffer.
  [[nodiscard]] errc read_checked(std::uint64_t lbn, std::span<std::byte> dst,
                                  std::uint32_t expected, get_options opt = {}) noexcept {
    return read_into(lbn, dst, &expected, opt);
  }

  // ----------------------------------------------------------------- writes

  /// bwrite: writes the buffer now, waits, releases it and returns the
  /// status. Waits first while the running-write throttle is engaged. A
  /// failed write leaves the buffer dirty with its data. An INVAL buffer is
  /// released without I/O. Should the wait policy give up (`poll_wait<N>`
  /// on a device that stopped completing) it returns `timed_out`: before
  /// the write was submitted, the buffer is released dirty; after, the write
  /// goes on and its completion releases the buffer (dirty until then).
  [[nodiscard]] errc write_sync(handle&& h) noexcept {
    BIOSTACK_ASSERT(h.c_ == this);
    const I i = h.i_;
    h.c_ = nullptr;
    lock_guard<lock_type> g(lock_);
    if ((z_.hdr[i].flags & f_inval) != 0) {
      release_locked(i, release_mode::normal);
      return errc::ok;
    }
    make_dirty(i, f_valid);
    if (!throttle_running()) {
      release_locked(i, release_mode::normal); // dirty, with its data, for the flusher
      return errc::timed_out;
    }
    return write_locked_sync(i);
  }

  /// bawrite: starts the write and returns; the completion releases the
  /// buffer and then calls `done` (if given) from the completing context.
  /// The write (and its I/O slot) stays in flight until `done` returns, so
  /// `done` must not block on the cache (`wait_all`, `sync`, `write_sync`,
  /// `read`): it may start more work with the non-waiting calls.
  /// Never waits: `no_resources` (buffer kept dirty, with its data, and
  /// released, so the flusher writes it later) when no I/O slot is free or
  /// the running-write throttle is engaged (running write bytes above
  /// `hi_running`, or a `write_sync` waiting for them to fall), the same
  /// throttle `write_sync` waits for.
  errc write_async(handle&& h, write_done done = nullptr, void* ctx = nullptr) noexcept {
    BIOSTACK_ASSERT(h.c_ == this);
    const I i = h.i_;
    h.c_ = nullptr;
    lock_.lock();
    if ((z_.hdr[i].flags & f_inval) != 0) {
      release_locked(i, release_mode::normal);
      lock_.unlock();
      return errc::ok;
    }
    make_dirty(i, f_valid);
    // The running-write throttle applies as to write_sync, but this never
    // waits: over the limit it is refused like a missing slot.
    const slot_t s = throttled() ? no_io : take_slot();
    if (s == no_io) {
      release_locked(i, release_mode::normal);
      lock_.unlock();
      return errc::no_resources;
    }
    slot_[s].wd = done;
    slot_[s].ctx = ctx;
    start_write_unlock<io_kind::write_async>(i, s);
    return errc::ok;
  }

  /// bdwrite: marks the buffer dirty and valid and releases it; no I/O. If
  /// dirty bytes exceed `hi_dirty` the writer kicks the flusher and (unless
  /// `nowait`) waits until they fall to the midpoint of lo and hi, or until
  /// no write is in flight any more (or the wait policy gives up: this wait
  /// is only back-pressure, the buffer is already safely dirty).
  void write_delayed(handle&& h, bool nowait = false) noexcept {
    BIOSTACK_ASSERT(h.c_ == this);
    const I i = h.i_;
    h.c_ = nullptr;
    lock_guard<lock_type> g(lock_);
    if ((z_.hdr[i].flags & f_inval) == 0) {
      make_dirty(i, f_valid);
    }
    release_locked(i, release_mode::normal);
    if (dirty_bytes_now() <= z_.limits.hi_dirty) return;
    flush_step_locked(1024);
    if (nowait) return;
    const limit_type mid = z_.limits.lo_dirty + (z_.limits.hi_dirty - z_.limits.lo_dirty) / 2;
    (void)wait_.wait(
        lock_, [&] { return dirty_bytes_now() <= mid || z_.running_writes == 0; }, progress(),
        no_deadline, clock_);
  }

  // --------------------------------------------------------------- release

  /// bqrelse: gives the buffer back, keeping its contents cached.
  void release(handle&& h) noexcept { h.reset(); }
  /// brelse with B_INVAL: discards the buffer, dirty data included (the
  /// caller asked for it). A pinned buffer loses its pin.
  void release_invalidate(handle&& h) noexcept {
    BIOSTACK_ASSERT(h.c_ == this);
    h.c_ = nullptr;
    release_slot(h.i_, release_mode::invalidate);
  }
  /// brelse with B_NOCACHE: gives the buffer back and frees it as soon as it
  /// is clean (at once if clean; after its write completes if dirty).
  void release_nocache(handle&& h) noexcept {
    BIOSTACK_ASSERT(h.c_ == this);
    h.c_ = nullptr;
    release_slot(h.i_, release_mode::nocache);
  }

  /// bqhold: one more hold on the buffer; a held buffer is never reclaimed.
  void hold(const handle& h) noexcept {
    lock_guard<lock_type> g(lock_);
    BIOSTACK_ASSERT(z_.hdr[h.i_].holds != 0xFF && "hold count overflow");
    ++z_.hdr[h.i_].holds;
  }
  /// bqdrop: drops a hold on cached block `lbn`. The last hold of a buffer
  /// nobody owns that was discarded or never filled frees it. Dropping a
  /// hold that was never taken panics.
  void drop(std::uint64_t lbn) noexcept {
    lock_guard<lock_type> g(lock_);
    const I i = find(lbn);
    BIOSTACK_ASSERT(i != npos && z_.hdr[i].holds != 0 && "bqdrop without a hold");
    --z_.hdr[i].holds;
    place_unowned(i);
    pump_locked();
  }
  /// B_LOCKED: the buffer is never reclaimed until `unpin`.
  void pin(const handle& h) noexcept { set_flag(h.i_, f_pinned, true); }
  void unpin(const handle& h) noexcept { set_flag(h.i_, f_pinned, false); }
  /// Drops the pin a critical write error (or the owner's check_write) put
  /// on the buffer; it stays dirty and is written by the next flush or sync.
  void clear_error(const handle& h) noexcept {
    lock_guard<lock_type> g(lock_);
    header& b = z_.hdr[h.i_];
    b.flags = static_cast<std::uint16_t>(b.flags & ~(f_ownerpin | f_error | f_deferred));
    bump();
  }
  /// Moves the buffer to write class `cls` (its dirty set changes with it).
  void set_class(const handle& h, std::uint8_t cls) noexcept {
    BIOSTACK_ASSERT(cls < class_count);
    lock_guard<lock_type> g(lock_);
    header& b = z_.hdr[h.i_];
    const bool linked = (b.flags & f_ondirty) != 0;
    if (linked) unlink_dirty(h.i_);
    b.cls = cls;
    if (linked) link_dirty(h.i_);
  }

  /// Invalidates every cached block in [first, first + count): idle buffers
  /// are dropped at once (dirty data included); owned, held or modified ones
  /// are marked and dropped when released, when their last hold, modifier or
  /// interlock goes, or when their I/O completes (a get meanwhile finds them
  /// empty). Returns how many buffers were affected.
  /// Complexity: O(min(count, capacity)); O(capacity) when the cache scans
  /// (scan_lookup), one pass over its headers.
  std::size_t invalidate(std::uint64_t first, std::uint64_t count) noexcept {
    lock_guard<lock_type> g(lock_);
    std::size_t n = 0; // counted by the loops, so that `one` captures `this` alone
    const auto one = [this](I i) {
      header& b = z_.hdr[i];
      b.flags = static_cast<std::uint16_t>(b.flags | f_inval);
      // Unowned, it is placed now (gone unless held or being modified);
      // an owned one when its owner releases it, as drop does. (Not
      // place_unowned: one wake-up below serves every buffer.)
      if ((b.flags & f_busy) == 0) place_locked(i);
    };
    // Block by block when the range is smaller than the cache, unless every
    // lookup scans the headers anyway (scan_index): then one pass over them.
    if (!scan_index && count <= cap_) {
      for (std::uint64_t k = 0; k < count; ++k)
        if (const I i = find(first + k); i != npos) {
          ++n;
          one(i);
        }
    } else {
      for (std::size_t i = 0; i < cap_; ++i) {
        const header& b = z_.hdr[i];
        if ((b.flags & f_resident) != 0 && b.lbn >= first && b.lbn - first < count) {
          ++n;
          one(static_cast<I>(i));
        }
      }
    }
    bump();
    return n;
  }

  // -------------------------------------------------------------- write-back

  /// The flusher, driven by the user: starts writes of up to `budget` (at
  /// most 1024) of the oldest dirty buffers of the classes the cache may
  /// write on its own, lowest stage first. Skips busy, pinned, held-for-
  /// modification buffers and failed ones until their retry pause is over;
  /// releases INVAL buffers instead of writing them; asks the owner
  /// (`check_write`): a deferred buffer is skipped once, then written; a
  /// pinned one is left alone. Stops when no I/O slot is free or the
  /// running-write limit is reached. Returns the number of writes started.
  std::size_t flush_step(std::size_t budget = 1024) noexcept {
    lock_guard<lock_type> g(lock_);
    const std::size_t started = flush_step_locked(budget);
    // A buffer the owner refused is idle again: a flush_block waiting for it may go on.
    pump_locked();
    return started;
  }

  /// True when dirty pressure asks for the flusher (running + dirty bytes
  /// above lo_dirty / 2).
  [[nodiscard]] bool needs_flush() const noexcept {
    lock_guard<lock_type> g(lock_);
    // Each at most the cache's bytes: the sum fits limit_type.
    return limit_type{running_bytes_now()} + dirty_bytes_now() > z_.limits.lo_dirty / 2;
  }

  // ------------------------------------------------------ barriers and sync
  //
  // flush_block, wait_all and sync exist once, as the asynchronous operations
  // below: a small state machine per request, advanced by every I/O
  // completion (so by `poll()` on a polled device) and by the call that
  // starts it. The blocking forms start the same operation and wait for its
  // callback with the wait policy; with async_ops<0> they step it themselves
  // between waits (run_in_place), and nothing is queued.
  //
  // None of them waits for a buffer owned by a handle: only that owner can
  // release it, and it may be the very context waiting (a blocking form would
  // never return in a single-context firmware). Such a buffer is left dirty,
  // with its data, and the operation reports `no_resources`. A sync treats a
  // buffer being modified (`modify_guard`) the same and reports one pinned by
  // a critical write error or by the owner's `check_write` as `io_error`.

  /// Owner flush of cached block `lbn` (allowed for every class): starts its
  /// write if it is dirty; nothing if clean or absent. Waits (through
  /// completions, never blocking) for a write or read of it already in
  /// flight and for a free I/O slot. `done(ctx, status)` runs exactly once:
  /// `ok` once the write is submitted or was not needed, `no_resources` if a
  /// handle owns the buffer or the async-operation table is full. The write
  /// itself completes later (`wait_all_async` reports its outcome).
  /// Runs `done` before returning when nothing has to be waited for.
  /// ISR-safe as far as the lock policy is; `done` runs in the context of the
  /// call or of the completion that finishes it, without the cache lock.
  void flush_block_async(std::uint64_t lbn, write_done done,
                         void* ctx) noexcept requires async_enabled {
    start_async(op_kind::flush_block, &step_flush_block_op, lbn, done, ctx);
  }
  /// Blocking `flush_block_async`: returns once the write is submitted.
  errc flush_block(std::uint64_t lbn) noexcept {
    return run_blocking<&step_flush_block_op>(op_kind::flush_block, lbn);
  }

  /// Barrier over writes: `done(ctx, status)` runs exactly once, when every
  /// write submitted before this call has completed (later writes do not
  /// delay it), with the first write error recorded meanwhile, or ok. Runs
  /// `done` before returning when no such write is in flight;
  /// `no_resources` if the async-operation table is full. Never waits;
  /// ISR-safety and the context of `done` as for `flush_block_async`.
  void wait_all_async(write_done done, void* ctx) noexcept requires async_enabled {
    start_async(op_kind::wait_all, &step_wait_all_op, 0, done, ctx);
  }
  /// Blocking `wait_all_async`.
  errc wait_all() noexcept { return run_blocking<&step_wait_all_op>(op_kind::wait_all, 0); }

  /// Writes every dirty buffer, class stage by class stage (`ordered_classes`
  /// stage 0 first): all the stage's dirty buffers are written, their writes
  /// (and any other write started before) complete, then a device flush is
  /// the barrier before the next stage starts. The flush is skipped when
  /// nothing was written since the last one. A stage that fails ends the sync
  /// without writing later stages (they must not reach the medium before the
  /// failed one). `done(ctx, status)` runs exactly once with the first error:
  /// a write or flush error, `no_resources` / `io_error` for a buffer it
  /// could not write (see above), `no_resources` if the async-operation table
  /// is full; ok means every byte dirty when the sync started is on stable
  /// storage. Syncs run one at a time, in the order they were asked for.
  /// Never waits: writes are started as I/O slots free up; `done` may run
  /// before this returns. The owner's `check_write` runs from whichever
  /// context advances the sync (the call or a completion).
  void sync_async(write_done done, void* ctx) noexcept requires async_enabled {
    start_async(op_kind::sync, &step_sync_op, 0, done, ctx);
  }
  /// Blocking `sync_async`.
  [[nodiscard]] errc sync() noexcept { return run_blocking<&step_sync_op>(op_kind::sync, 0); }
  // ------------------------------------------------------- modify interlock

  /// RAII bracket around a change to a held buffer (hammer modify /
  /// modify_done). Marks the buffer dirty; the cache does not write it while
  /// any modifier is active.
  class modify_guard {
  public:
    modify_guard(modify_guard&& o) noexcept : c_(std::exchange(o.c_, nullptr)), i_(o.i_) {}
    modify_guard(const modify_guard&) = delete;
    modify_guard& operator=(const modify_guard&) = delete;
    modify_guard& operator=(modify_guard&&) = delete;
    ~modify_guard() {
      if (c_ != nullptr) c_->end_modify(i_);
    }

  private:
    friend class buffer_cache;
    modify_guard(buffer_cache* c, I i) noexcept : c_(c), i_(i) {}
    buffer_cache* c_;
    I i_;
  };
  /// Write interlock: while it exists no modifier is active and none may
  /// start. Taken by the owner around its own write of the buffer.
  class write_interlock {
  public:
    write_interlock(write_interlock&& o) noexcept : c_(std::exchange(o.c_, nullptr)), i_(o.i_) {}
    write_interlock(const write_interlock&) = delete;
    write_interlock& operator=(const write_interlock&) = delete;
    write_interlock& operator=(write_interlock&&) = delete;
    ~write_interlock() {
      if (c_ != nullptr) c_->end_interlock(i_);
    }

  private:
    friend class buffer_cache;
    write_interlock(buffer_cache* c, I i) noexcept : c_(c), i_(i) {}
    buffer_cache* c_;
    I i_;
  };

  /// Starts a modification of cached block `lbn`, which the caller must
  /// hold (`hold`) so it cannot be reclaimed, and which must be valid (read
  /// or filled and `mark_valid`ed): a modification of contents that were
  /// never filled would make garbage dirty. Write interlock (hammer_io): a
  /// modification never touches a buffer the device is reading or filling,
  /// so this first waits (wait policy, polling the device) until I/O in
  /// flight on the buffer completes, and while a write interlock is held.
  /// Should a write be issued anyway while the guard is active (the owner's
  /// own `write_sync` / `write_async`), the buffer stays dirty after that
  /// write completes. Errors: `invalid_argument` if not cached and held, or
  /// not valid; `no_resources` if it would wait but `flags` has `nowait`, or
  /// for an interlock in a single-context configuration; `timed_out` if the
  /// wait policy gave up.
  [[nodiscard]] result<modify_guard> modify(std::uint64_t lbn,
                                            get_flags flags = get_flags::none) noexcept {
    async_op o; // init_op and this starter fill it
    lock_guard<lock_type> g(lock_);
    begin_slot_op(o, op_kind::modify, lbn, flags);
    if (const errc e = finish_blocking(o, no_deadline); e != errc::ok) return e;
    return modify_guard(this, o.slot);
  }
  /// Completion of `modify_async`: `status` and, on success, the guard.
  using modify_done = void (*)(void* ctx, errc status, modify_guard g) noexcept;
  /// `modify` without blocking: `done(ctx, status, guard)` runs exactly once
  /// with what `modify` would return: before this returns when it can be
  /// decided now (or with `no_resources` if the async-operation table is
  /// full), else from the I/O completion or the end of the interlock it
  /// waits for. ISR-safe as far as the lock policy is; `done` runs without
  /// the cache lock.
  void modify_async(std::uint64_t lbn, get_flags flags, modify_done done,
                    void* ctx) noexcept requires async_enabled {
    BIOSTACK_ASSERT(done != nullptr);
    async_op* o = start_slot_op(op_kind::modify, &deliver_modify, lbn, flags, ctx);
    if (o == nullptr) {
      done(ctx, errc::no_resources, modify_guard(nullptr, 0));
      return;
    }
    o->cb.md = done;
    link_op(*o);
    lock_.unlock();
  }
  /// Takes the write interlock on held block `lbn`: waits until every
  /// modifier is done, then excludes new ones. `timed_out` if the wait
  /// policy gave up.
  [[nodiscard]] result<write_interlock> interlock(std::uint64_t lbn) noexcept {
    async_op o; // init_op and this starter fill it
    lock_guard<lock_type> g(lock_);
    begin_slot_op(o, op_kind::interlock, lbn, get_flags::none);
    if (const errc e = finish_blocking(o, no_deadline); e != errc::ok) return e;
    return write_interlock(this, o.slot);
  }
  /// Completion of `interlock_async`: `status` and, on success, the interlock.
  using interlock_done = void (*)(void* ctx, errc status, write_interlock il) noexcept;
  /// `interlock` without blocking: `done(ctx, status, interlock)` runs
  /// exactly once, before this returns when it can be decided now (or with
  /// `no_resources` if the async-operation table is full), else from the end
  /// of the last modification. ISR-safe as far as the lock policy is.
  void interlock_async(std::uint64_t lbn, interlock_done done,
                       void* ctx) noexcept requires async_enabled {
    BIOSTACK_ASSERT(done != nullptr);
    async_op* o = start_slot_op(op_kind::interlock, &deliver_interlock, lbn, get_flags::none, ctx);
    if (o == nullptr) {
      done(ctx, errc::no_resources, write_interlock(nullptr, 0));
      return;
    }
    o->cb.il = done;
    link_op(*o);
    lock_.unlock();
  }

  // ------------------------------------------------------------ inspection

  /// The counters (only when `counting`: not with `null_stats`).
  [[nodiscard]] cache_stats stats() const noexcept requires counting {
    lock_guard<lock_type> g(lock_);
    return z_.stats;
  }
  [[nodiscard]] std::uint64_t dirty_bytes() const noexcept {
    lock_guard<lock_type> g(lock_);
    return dirty_bytes_now();
  }
  [[nodiscard]] std::size_t dirty_count() const noexcept { return read_locked(z_.dirty_count); }
  [[nodiscard]] std::uint64_t running_bytes() const noexcept {
    lock_guard<lock_type> g(lock_);
    return running_bytes_now();
  }
  [[nodiscard]] std::size_t resident() const noexcept { return read_locked(z_.resident); }
  [[nodiscard]] std::size_t in_flight() const noexcept { return read_locked(z_.inflight); }
  [[nodiscard]] std::size_t buffers() const noexcept { return cap_; }
  [[nodiscard]] Device& device() noexcept { return dev_; }
  [[nodiscard]] hooks_type& hooks() noexcept { return hooks_; }
  [[nodiscard]] integrity_type& integrity() noexcept { return integrity_; }
  [[nodiscard]] clock_type& clock_source() noexcept { return clock_; }
  [[nodiscard]] wait_type& waiter() noexcept { return wait_; }
  [[nodiscard]] policy_state& replacement() noexcept { return z_.policy; }
  /// State of cached block `lbn` for tests: valid, dirty, busy, pinned,
  /// holds; `found == false` when not resident.
  struct block_state {
    bool found, valid, dirty, busy, pinned, error;
    bool queued; ///< on its class's dirty set (modified, no write running)
    std::uint8_t holds;
    std::uint32_t size;
    index_type slot;
  };
  [[nodiscard]] block_state inspect(std::uint64_t lbn) const noexcept {
    lock_guard<lock_type> g(lock_);
    const I i = find(lbn);
    if (i == npos) return block_state{false, false, false, false, false, false, false, 0, 0, npos};
    const header& b = z_.hdr[i];
    return block_state{true,
                       (b.flags & f_valid) != 0,
                       (b.flags & f_dirty) != 0,
                       (b.flags & f_busy) != 0,
                       (b.flags & (f_pinned | f_ownerpin)) != 0,
                       (b.flags & f_error) != 0,
                       (b.flags & f_ondirty) != 0,
                       b.holds,
                       size_of(i),
                       i};
  }

private:
  enum class try_result : std::uint8_t {
    ok,
    busy_io,       // the buffer is busy with I/O: poll and retry
    busy_handle,   // another handle owns it: only its owner can help
    no_victim,     // nothing reclaimable
    size_mismatch, // size_match with another size cached
    must_write,    // size change of a dirty buffer
  };
  // How a buffer is released: each mode is the flag it marks the buffer
  // with (none, f_inval, f_nocache), so release_locked ors it in.
  enum class release_mode : std::uint16_t { normal = 0, invalidate = f_inval, nocache = f_nocache };
  // What an I/O started as. A device flush has no kind: its settle_flush
  // reads none.
  enum class io_kind : std::uint8_t {
    read_sync,
    read_async,
    read_ahead,
    write_sync,
    write_async,   // release + user callback
    write_release, // release (flusher, flush_block)
  };
  using settle_fn = void (*)(buffer_cache&, slot_t, errc) noexcept;
  // Largest members first. 32 bytes on 32-bit targets (28 of members, aligned
  // up), so indexing is a shift rather than a multiply. This makes the cache
  // itself 32-byte aligned there (alignof(buffer_cache)), which storage
  // placed by hand must respect.
  struct alignas(sizeof(void*) == 4 ? 32 : alignof(void*)) io_slot {
    settle_fn settle; // how its completion is accounted for
    read_done rd;
    write_done wd;
    void* ctx;
    std::uint32_t seq;
    I buf;
    io_kind kind; // set where a settle reads it: owned reads, write_sync
    slot_t next;
    // Reset together when the slot is taken (one word store); a write's
    // completion clears the first two (one halfword store).
    bool running;    // a write, from its start until its hooks returned
    bool remodified; // a write overtaken by a modification: stays dirty
    bool done;
    errc status;
  };

  // ---- async barrier operations -------------------------------------------
  enum class op_kind : std::uint8_t { flush_block, wait_all, sync, get, modify, interlock };
  // A sync goes through these phases once per stage.
  enum class sync_phase : std::uint8_t {
    mark,     // tag the stage's dirty buffers (f_sync)
    write,    // start their writes as slots allow
    drain,    // wait for every write started so far
    flush,    // submit the device flush barrier when one is needed
    flushing, // the barrier is in flight (its completion moves on to `next`)
    next,     // stop on error, else the next stage
  };
  // The type of a member that only async operations use: T, or with
  // async_ops<0> an empty placeholder (a distinct one per Tag, so that
  // [[no_unique_address]] lets them all take no room). The operation list,
  // its pump's flags, the operation table and an operation's link and
  // delivery are such members.
  template <class T, int Tag>
  using async_only = detail::only_if<async_enabled, T, Tag>;
  struct async_op;
  // The user's callback of an operation; `deliver` knows which member is set.
  union op_callback {
    write_done done; // flush_block, wait_all, sync
    read_done got;   // get
    modify_done md;
    interlock_done il;
  };
  // What a finished operation hands its callback, copied out under the lock
  // (the operation itself may be reused or gone once the lock is dropped).
  struct op_result {
    op_callback cb;
    void* ctx;
    errc status;
    I slot;
  };
  // One step of an operation (true when finished; may drop the lock), and
  // the call of its callback. Chosen when the operation starts, so a program
  // links only the kinds it uses (a switch over every kind would link all).
  // `sync_seen` is the pump's "a sync was stepped this pass" (one at a time).
  using step_fn = bool (*)(buffer_cache&, async_op&, bool& sync_seen) noexcept;
  using deliver_fn = void (*)(buffer_cache&, const op_result&) noexcept;
  // A pending operation: in the pool (async calls) or on the blocking
  // caller's stack. Linked on the operation list from its start until just
  // before its callback runs; only the pump unlinks it. init_op stores
  // every member (a new one goes there too) but the block number, which
  // whoever calls it stores (the blocking sync and wait_all, which read
  // none, store none).
  struct async_op {
    // Queued and delivered operations only (in place, neither).
    [[no_unique_address]] async_only<async_op*, 0> next;
    [[no_unique_address]] async_only<deliver_fn, 1> deliver;
    [[no_unique_address]] async_only<op_callback, 2> cb;
    [[no_unique_address]] async_only<void*, 3> ctx;
    std::uint64_t lbn; // flush_block, get, modify, interlock
    step_fn step;
    std::uint32_t since;  // write failures recorded before it started
    std::uint32_t target; // the last write sequence it waits for
    // Ordered for init_op: the members it zeroes and the slot it fills
    // with npos are adjacent, so that it stores them a word at a time.
    errc status; // first error so far
    sync_phase phase;
    std::uint8_t stage;
    bool hopeless; // get: only another context could let it go on
    I slot;        // get / modify / interlock: the buffer obtained
    get_flags flags;
    bool wrote; // get: the write-first of a size change was started
    op_kind kind;
    [[no_unique_address]] async_only<bool, 4> pooled;
    // get: the size asked for (none kept when every buffer is one block).
    [[no_unique_address]] detail::only_if<!one_unit, units_type, 5> units;
  };
  // A blocking call waiting for its operation; `slot` is the buffer a get,
  // modify or interlock obtained.
  struct op_waiter {
    errc status;
    I slot;
    bool done;
  };
  // True when async operations are pending (they need a pump).
  [[nodiscard]] bool ops_pending() const noexcept {
    if constexpr (async_enabled)
      return ops_head_ != nullptr;
    else
      return false;
  }

  template <class T>
  T read_locked(const T& v) const noexcept {
    lock_guard<lock_type> g(lock_);
    return v;
  }
  // Counts one in counter `M` when the cache counts; nothing with null_stats.
  template <std::uint64_t cache_stats::*M>
  void tally() noexcept {
    if constexpr (counting) ++(z_.stats.*M);
  }
  // True when buffer i has any of flags `f`; takes the lock.
  [[nodiscard]] bool test_flag(I i, std::uint16_t f) const noexcept {
    lock_guard<lock_type> g(lock_);
    return (z_.hdr[i].flags & f) != 0;
  }

  [[nodiscard]] std::uint32_t size_of(I i) const noexcept {
    if constexpr (one_unit)
      return block_size;
    else
      return std::uint32_t{z_.hdr[i].units} * geo().block_size;
  }
  // True when cached buffer i has `units` device blocks.
  [[nodiscard]] bool size_is(I i, units_type units) const noexcept {
    if constexpr (one_unit)
      return true;
    else
      return z_.hdr[i].units == units;
  }
  [[nodiscard]] bytes_type dirty_bytes_now() const noexcept {
    if constexpr (one_unit)
      return static_cast<bytes_type>(z_.dirty_count * block_size);
    else
      return dirty_bytes_;
  }
  [[nodiscard]] bytes_type running_bytes_now() const noexcept {
    if constexpr (one_unit)
      return static_cast<bytes_type>(z_.running_writes * block_size);
    else
      return running_bytes_;
  }
  [[nodiscard]] std::uint64_t deadline_of(std::uint64_t timeout) noexcept {
    // A clock that never advances never reaches a deadline.
    if (std::is_same_v<clock_type, no_clock> || timeout == 0) return no_deadline;
    const std::uint64_t now = clock_.now();
    return now > no_deadline - timeout ? no_deadline - 1 : now + timeout;
  }
  auto progress() noexcept {
    return [this]() noexcept -> std::size_t { return poll_if_pollable(dev_); };
  }

  // getblk for get and read: the buffer for `lbn` in `out`, busy and owned
  // by the caller (f_handle; the caller makes the handle), or get's error.
  errc acquire(std::uint64_t lbn, get_options opt, I& out) noexcept {
    units_type units = 0;
    if (const errc e = check(lbn, opt.size, units); e != errc::ok) return e;
    const std::uint64_t deadline = deadline_of(opt.timeout);
    lock_guard<lock_type> g(lock_);
    // Fast path: with no operation queued ahead of this one (so nobody is
    // overtaken), a buffer that can be had at once needs no queued operation
    // and no callback. Anything else goes through the operation below, whose
    // first step makes this same attempt again. In place (async_ops<0>)
    // nothing is ever queued and that first step, called directly, is the
    // fast path: no second copy of it.
    if constexpr (async_enabled) {
      if (!ops_pending()) {
        const try_result r = try_get_locked(static_cast<lbn_type>(lbn), units, opt.flags, out);
        if (r == try_result::ok) return errc::ok;
        if (!one_unit && r == try_result::size_mismatch) return errc::invalid_argument;
      }
    }
    // `get_async`'s operation, on this stack.
    async_op o; // init_op and this starter fill it
    begin_get(o, lbn, units, opt.flags);
    if (const errc e = finish_blocking(o, deadline); e != errc::ok) return e;
    out = o.slot;
    return errc::ok;
  }

  // Validates a block number and a size; computes the size in device blocks.
  errc check(std::uint64_t lbn, std::uint32_t size, units_type& units) const noexcept {
    if (size == 0) size = block_size;
    if (size > block_size) return errc::invalid_argument;
    if (size % geo().block_size != 0) return errc::misaligned;
    if constexpr (sizeof(lbn_type) <= 4) {
      // Counted in device blocks (the constructor made them divide
      // BlockSize): the same test as the byte range below, since both sides
      // are whole device blocks, but one 32x32->64 multiply on small targets
      // instead of 64-bit shifts. A 32-bit key times at most 2^16 device
      // blocks per buffer cannot overflow.
      // With one_unit the tests above leave one size: one device block.
      const std::uint32_t n = one_unit ? 1u : size / geo().block_size;
      if (lbn > UINT32_MAX ||
          std::uint64_t{static_cast<std::uint32_t>(lbn)} * (block_size / geo().block_size) + n >
              geo().block_count)
        return errc::out_of_range;
    } else {
      if (lbn > UINT64_MAX / block_size) return errc::out_of_range;
      if (!range_fits(lbn * block_size, size, geo().capacity())) return errc::out_of_range;
    }
    units = one_unit ? units_type{1} : static_cast<units_type>(size / geo().block_size);
    return errc::ok;
  }

  // ---- index ----------------------------------------------------------------
  // Hashing: buckets (a power of two, at least the capacity) of chains
  // through `hnext`. Scanning (scan_index): no buckets; a header's
  // f_resident flag is its entry, which lookup tests with the block number
  // (an EMPTY header reads as block 0). `bucket_count` is declared above,
  // where metadata_bytes_per_buffer counts the buckets too.
  // Fibonacci hashing in the key's own width: a 32-bit key needs no 64-bit
  // multiply (a libgcc-sized sequence on Cortex-M).
  [[nodiscard]] static std::size_t bucket_of(lbn_type lbn) noexcept {
    if constexpr (sizeof(lbn_type) <= 4) {
      constexpr unsigned bits = [] {
        unsigned n = 0;
        while ((std::size_t{1} << n) < bucket_count) ++n;
        return n;
      }();
      if constexpr (bits == 0)
        return 0;
      else
        return static_cast<std::size_t>((static_cast<std::uint32_t>(lbn) * 0x9E3779B9u) >>
                                        (32u - bits));
    } else {
      return static_cast<std::size_t>((lbn * 0x9E3779B97F4A7C15ull) >> 40) & (bucket_count - 1);
    }
  }
  // The resident buffer of `lbn`, or npos. O(capacity) with scan_index,
  // over every header up to the compile-time capacity, a constant bound (4
  // bytes less code than cap_): headers past cap_ are never used, so all
  // zero, not resident; a cache built much smaller than its capacity reads
  // them all the same. The block first: it rules most headers out with one
  // load (faster on x86-64, the same code size on Cortex-M4).
  [[nodiscard]] I lookup(lbn_type lbn) const noexcept {
    if constexpr (scan_index) {
      for (std::size_t i = 0; i < capacity; ++i)
        if (z_.hdr[i].lbn == lbn && (z_.hdr[i].flags & f_resident) != 0) return static_cast<I>(i);
    } else {
      for (I i = bucket_[bucket_of(lbn)]; i != npos; i = z_.hdr[i].hnext)
        if (z_.hdr[i].lbn == lbn) return i;
    }
    return npos;
  }
  // `lookup` for a block number from the API that nothing validated: one the
  // key type cannot hold is never cached.
  [[nodiscard]] I find(std::uint64_t lbn) const noexcept {
    if constexpr (sizeof(lbn_type) < sizeof(std::uint64_t))
      if (lbn > static_cast<lbn_type>(~lbn_type{0})) return npos;
    return lookup(static_cast<lbn_type>(lbn));
  }
  // Enters resident buffer i (f_resident set) in the index / takes it out;
  // with scan_index the flag is the entry, and there is nothing to do.
  void index_insert(I i) noexcept {
    if constexpr (!scan_index) {
      const std::size_t b = bucket_of(z_.hdr[i].lbn);
      z_.hdr[i].hnext = bucket_[b];
      bucket_[b] = i;
    } else {
      (void)i;
    }
  }
  void index_remove(I i) noexcept {
    if constexpr (!scan_index) {
      I* pp = &bucket_[bucket_of(z_.hdr[i].lbn)];
      while (*pp != i) pp = &z_.hdr[*pp].hnext;
      *pp = z_.hdr[i].hnext;
    } else {
      (void)i;
    }
  }

  // ---- dirty sets -------------------------------------------------------------
  // Oldest first. No length kept: the flusher's bound is the dirty count.
  using dirty_set = detail::index_list<I, false>;
  // The flag is stored before the links: the links' stores could alias it,
  // and this way it is neither reloaded nor stored twice.
  void link_dirty(I i) noexcept {
    header& b = z_.hdr[i];
    const std::uint16_t f = b.flags;
    BIOSTACK_ASSERT((f & f_ondirty) == 0 && "buffer already on a dirty set");
    b.flags = static_cast<std::uint16_t>(f | f_ondirty);
    auto dl = dlinks();
    dirty_[set_of(b.cls)].push_back(dl, i);
  }
  // Takes buffer i off its dirty set, if on one; its flags lose f_ondirty
  // and `clear` and gain `set`, in one store (the caller's flag change and
  // the link's).
  void unlink_dirty(I i, std::uint16_t clear = 0, std::uint16_t set = 0) noexcept {
    header& b = z_.hdr[i];
    const std::uint16_t f = b.flags;
    b.flags = static_cast<std::uint16_t>((f & ~(f_ondirty | clear)) | set);
    if ((f & f_ondirty) == 0) return;
    auto dl = dlinks();
    dirty_[set_of(b.cls)].remove(dl, i);
  }
  // Index in dirty_ of class c's set: with a single class, the one set
  // whatever c (a constant: no load of the buffer's class).
  [[nodiscard]] static constexpr std::size_t set_of(std::size_t c) noexcept {
    return class_count == 1 ? 0 : c;
  }
  // Whether class c is written in `stage` (of a sync): with a single stage
  // every class is, and stage is 0 (a constant: no test of the stage).
  [[nodiscard]] static constexpr bool in_stage(std::size_t c, std::uint8_t stage) noexcept {
    return classes_type::stages == 1 || classes_type::stage[c] == stage;
  }
  // Adapter so index_list can thread through the headers' dirty links: one
  // accessor type per direction, so each access is a plain load or store.
  template <I header::*Link>
  struct link_array {
    header* h;
    I& operator[](I i) const noexcept { return h[i].*Link; }
  };
  struct dirty_links {
    link_array<&header::dprev> prev;
    link_array<&header::dnext> next;
  };
  dirty_links dlinks() noexcept { return dirty_links{{z_.hdr}, {z_.hdr}}; }

  // bdirty; `also` (the writes' f_valid) is set in the same store, on a
  // dirty buffer too.
  void make_dirty(I i, std::uint16_t also = 0) noexcept {
    header& b = z_.hdr[i];
    const std::uint16_t f = b.flags;
    b.flags = static_cast<std::uint16_t>(f | f_dirty | also);
    if ((f & f_dirty) != 0) return; // bdirty on a dirty buffer: no counter change
    ++z_.dirty_count;
    if constexpr (!one_unit) dirty_bytes_ += size_of(i);
    const bytes_type d = dirty_bytes_now();
    if constexpr (counting)
      if (d > z_.stats.dirty_high_water) z_.stats.dirty_high_water = d;
    if ((f & f_io) == 0) link_dirty(i);
  }
  void undirty(I i) noexcept {
    if ((z_.hdr[i].flags & f_dirty) == 0) return;
    unlink_dirty(i, f_dirty | f_error | f_deferred);
    --z_.dirty_count;
    if constexpr (!one_unit) dirty_bytes_ -= size_of(i);
  }

  // ---- buffer life --------------------------------------------------------------
  // Whether the replacement policy tracks buffer i, whose header flags are
  // `flags`: asked of the policy when it can say, else read from the flags.
  [[nodiscard]] bool tracked(I i, std::uint16_t flags) const noexcept {
    if constexpr (policy_says_tracked)
      return z_.policy.tracked(i);
    else
      return (flags & f_tracked) != 0;
  }
  [[nodiscard]] bool reclaimable(I i) noexcept {
    const header& b = z_.hdr[i];
    if ((b.flags & (f_busy | f_dirty | f_pinned | f_ownerpin)) != 0 || b.holds != 0 ||
        b.modrefs != 0)
      return false;
    return hooks_.may_reclaim(info(i));
  }
  [[nodiscard]] buffer_info info(I i) const noexcept {
    const header& b = z_.hdr[i];
    return buffer_info{b.lbn, size_of(i), b.cls, b.holds, false};
  }
  // Makes a resident, idle buffer EMPTY: all zero (a miss relies on it), and
  // when hashing at the head of the free list (reused first), whose link is
  // its one non-zero member.
  void destroy(I i) noexcept {
    header& b = z_.hdr[i];
    BIOSTACK_ASSERT((b.flags & (f_dirty | f_io)) == 0);
    // A policy that says which slots it tracks also ignores erasing one it
    // does not (the concept asks it): no test first.
    if (policy_says_tracked || (b.flags & f_tracked) != 0) z_.policy.erase(i);
    index_remove(i);
    --z_.resident;
    // All of it, padding included: sizeof(header) bytes in one clearing
    // rather than a store per member.
    std::memset(&b, 0, sizeof b);
    if constexpr (!scan_index) {
      b.hnext = free_;
      free_ = i;
    }
  }
  // getnewbuf: an EMPTY header, after reclaiming clean victims down to
  // lo_buffers once hi_buffers are resident. Below hi_buffers there always
  // is one (hi_buffers <= cap_, and every header not resident is EMPTY), so
  // one take_free serves both cases.
  I new_buffer(lbn_type incoming) noexcept {
    if (z_.resident >= z_.limits.hi_buffers) reclaim(incoming);
    return take_free();
  }
  // Destroys victims until fewer than lo_buffers are resident or none is
  // eligible (with none resident the policy tracks nothing and finds none,
  // which also ends the loop when lo_buffers is 0).
  void reclaim(lbn_type incoming) noexcept {
    const auto eligible = [this](I i) noexcept { return reclaimable(i); };
    const auto key_of = [this](I i) noexcept { return std::uint64_t{z_.hdr[i].lbn}; };
    do {
      const I v = z_.policy.evict(eligible, key_of, incoming);
      if (v == npos) break;
      // The policy no longer tracks it: destroy must not erase it.
      z_.hdr[v].flags = static_cast<std::uint16_t>(z_.hdr[v].flags & ~f_tracked);
      tally<&cache_stats::evictions>();
      // Like may_reclaim, with the lock held: the victim is not reusable
      // by anyone else until the hook returns.
      if constexpr (owner_hooks_with_reclaim<hooks_type>) hooks_.on_reclaim(info(v));
      destroy(v);
    } while (z_.resident >= z_.limits.lo_buffers);
  }
  // An EMPTY header, or npos: with scan_index the lowest-numbered one (the
  // first whose flags are zero, O(capacity)); when hashing the most
  // recently destroyed one, else a never used one.
  I take_free() noexcept {
    if constexpr (scan_index) {
      for (std::size_t i = 0; i < cap_; ++i)
        if (z_.hdr[i].flags == 0) return static_cast<I>(i);
      return npos;
    } else {
      const I i = free_;
      if (i != npos) {
        free_ = z_.hdr[i].hnext;
        return i;
      }
      return fresh_ < cap_ ? fresh_++ : npos;
    }
  }
  void take_hit(I i) noexcept {
    header& b = z_.hdr[i];
    b.flags = static_cast<std::uint16_t>(b.flags | f_busy | f_handle);
    tally<&cache_stats::hits>();
    if ((b.flags & f_readahead) != 0) {
      tally<&cache_stats::readahead_hits>();
      b.flags = static_cast<std::uint16_t>(b.flags & ~f_readahead);
    }
    if (tracked(i, b.flags)) z_.policy.access(i);
  }

  // The lookup of getblk for a checked block number. With the lock held.
  // `out` is the buffer when the result is ok, busy_* or must_write.
  try_result try_get_locked(lbn_type lbn, units_type units, get_flags flags, I& out) noexcept {
    const I i = lookup(lbn);
    if (i == npos) return miss_locked(lbn, units, out);
    header& b = z_.hdr[i];
    out = i;
    if ((b.flags & f_busy) != 0) return busy_reason(i);
    // Before the size check, so that a size change does not write the
    // discarded data first.
    if ((b.flags & f_inval) != 0) empty_discarded(i);
    if (!size_is(i, units)) return resize_locked(i, units, flags, out);
    take_hit(i);
    return try_result::ok;
  }
  // A buffer discarded while a hold kept it (release_invalidate,
  // mark_invalid, invalidate), found by a get: its contents, dirty ones
  // included, are gone, and the pins with them. Out of the hit path (rare)
  // on speed builds.
  BIOSTACK_COLD_FOR_SPEED void empty_discarded(I i) noexcept {
    undirty(i);
    header& b = z_.hdr[i];
    b.flags = static_cast<std::uint16_t>(b.flags & ~(f_inval | f_valid | f_pinned | f_ownerpin));
  }
  // A block cached with another size than asked for.
  BIOSTACK_COLD try_result resize_locked(I i, units_type units, get_flags flags, I& out) noexcept {
    header& b = z_.hdr[i];
    if (has(flags, get_flags::size_match)) return try_result::size_mismatch;
    if ((b.flags & f_dirty) != 0) {
      // A critical write error pinned it: only the owner may write it.
      // Active modifiers or a write interlock: the write waits for them
      // (a write must never take a half-made change).
      if ((b.flags & f_ownerpin) != 0 || b.modrefs != 0) return try_result::busy_handle;
      return try_result::must_write;
    }
    if (b.holds != 0 || (b.flags & (f_pinned | f_ownerpin)) != 0 || b.modrefs != 0)
      return try_result::busy_handle;
    const lbn_type lbn = b.lbn;
    destroy(i); // clean: forget the old size, then miss
    return miss_locked(lbn, units, out);
  }
  // A block not cached: a fresh buffer for it, owned by the caller. Out of
  // the hit path on speed builds; at -Os inlined where try_get_locked has
  // a single caller (a firmware's in-place get).
  BIOSTACK_NOINLINE_FOR_SPEED try_result miss_locked(lbn_type lbn, units_type units,
                                                     I& out) noexcept {
    const I i = new_buffer(lbn);
    if (i == npos) return try_result::no_victim;
    header& b = z_.hdr[i];
    b.lbn = lbn;
    if constexpr (!one_unit) b.units = units;
    b.flags = f_resident | f_busy | f_handle;
    index_insert(i);
    ++z_.resident;
    tally<&cache_stats::misses>();
    out = i;
    return try_result::ok;
  }
  [[nodiscard]] try_result busy_reason(I i) const noexcept {
    return (z_.hdr[i].flags & f_handle) != 0 ? try_result::busy_handle : try_result::busy_io;
  }

  void set_flag(I i, std::uint16_t f, bool on) noexcept {
    lock_guard<lock_type> g(lock_);
    header& b = z_.hdr[i];
    b.flags = static_cast<std::uint16_t>(on ? (b.flags | f) : (b.flags & ~f));
    bump();
    pump_locked();
  }
  void bump() noexcept {
    ++z_.generation;
    wait_.notify();
  }

  void release_slot(I i, release_mode m) noexcept {
    lock_guard<lock_type> g(lock_);
    release_locked(i, m);
    // A get_async may have waited for it. With no operation queued a pump
    // has nothing to walk (and none is walking: a walk's own operation is
    // linked), so the hot release skips the call.
    if (ops_pending()) pump_locked();
  }
  // brelse / bqrelse: clears busy and puts the buffer where it belongs.
  void release_locked(I i, release_mode m) noexcept {
    header& b = z_.hdr[i];
    BIOSTACK_ASSERT((b.flags & f_busy) != 0 && "release of a buffer not owned");
    // brelse with B_INVAL also drops the pins.
    const unsigned drop = m == release_mode::invalidate ? f_busy | f_handle | f_pinned | f_ownerpin
                                                        : f_busy | f_handle;
    b.flags = static_cast<std::uint16_t>((b.flags & ~drop) | static_cast<unsigned>(m));
    place_locked(i);
  }
  // A buffer a read was to fill and did not (failed, or no I/O slot): freed,
  // unless a hold keeps it, empty, for its holder. Out of line and cold on
  // speed builds, so that these rare callers do not stop release_locked
  // being inlined where every release goes through it.
  BIOSTACK_COLD_FOR_SPEED void release_unfilled(I i) noexcept {
    release_locked(i, release_mode::normal);
  }
  // Where a buffer nobody owns belongs: destroyed when discarded or never
  // filled and nothing keeps it, else known to the replacement policy once
  // valid. After a release, and after the last hold of an unowned buffer.
  void place_locked(I i) noexcept {
    header& b = z_.hdr[i];
    const bool idle = b.holds == 0 && b.modrefs == 0;
    if ((b.flags & f_inval) != 0 && idle) {
      undirty(i);
      destroy(i); // clears every flag, the pins too
    } else if ((b.flags & f_dirty) == 0 && idle &&
               ((b.flags & f_valid) == 0 || (b.flags & f_nocache) != 0) &&
               (b.flags & (f_pinned | f_ownerpin)) == 0) {
      destroy(i); // never filled, or no-cache: nothing worth keeping
    } else if ((b.flags & f_valid) != 0 && (b.flags & f_tracked) == 0 &&
               (f_tracked != 0 || !tracked(i, b.flags))) {
      // Valid and not tracked: as the flag says when there is one, else as
      // the policy does. (Written so, the policies that keep the flag
      // compile exactly as they did without `tracked`.)
      b.flags = static_cast<std::uint16_t>(b.flags | f_tracked);
      z_.policy.insert(i, b.lbn);
    }
    bump();
  }

  // After a hold, a modifier or an interlock let go of buffer i: unowned, it
  // is placed as its release would have placed it (a discarded or empty one
  // that nothing keeps any more goes); an owned one is placed by its owner's
  // release. Wakes waiters either way.
  void place_unowned(I i) noexcept {
    if ((z_.hdr[i].flags & f_busy) == 0)
      place_locked(i);
    else
      bump();
  }
  void end_modify(I i) noexcept {
    lock_guard<lock_type> g(lock_);
    BIOSTACK_ASSERT(z_.hdr[i].modrefs > 0);
    --z_.hdr[i].modrefs;
    // A write issued while this modifier was active may have taken a half-
    // made change: that write must not leave the buffer clean.
    if ((z_.hdr[i].flags & f_io) != 0) note_modified_during_write(i);
    place_unowned(i); // the last hold may have been dropped meanwhile
    pump_locked();
  }
  // Marks the write in flight on buffer i (if any) as overtaken by a
  // modification. O(I/O slots).
  void note_modified_during_write(I i) noexcept {
    for (slot_t s = 0; s < fresh_slot_; ++s)
      if (slot_[s].running && slot_[s].buf == i) slot_[s].remodified = true;
  }
  void end_interlock(I i) noexcept {
    lock_guard<lock_type> g(lock_);
    BIOSTACK_ASSERT(z_.hdr[i].modrefs == -1);
    z_.hdr[i].modrefs = 0;
    place_unowned(i); // the last hold may have been dropped meanwhile
    pump_locked();
  }

  // ---- I/O slots ---------------------------------------------------------------
  [[nodiscard]] bool has_free_slot() const noexcept {
    return free_slot_ != no_io || fresh_slot_ < slot_count;
  }
  // A free slot (the most recently freed, else a never used one), or no_io.
  slot_t take_slot() noexcept {
    slot_t s = free_slot_;
    if (s != no_io)
      free_slot_ = slot_[s].next;
    else if (fresh_slot_ < slot_count)
      s = fresh_slot_++;
    if (s != no_io) { // the callback and its context are set by the kinds that have one
      slot_[s].done = false;
      slot_[s].remodified = false;
      slot_[s].running = false;
      slot_[s].status = errc::ok;
    }
    return s;
  }
  // Frees slot s. Out of line when optimising for size: every completion
  // and blocking I/O ends here.
  BIOSTACK_NOINLINE_FOR_SIZE void put_slot(slot_t s) noexcept {
    slot_[s].next = free_slot_;
    free_slot_ = s;
    bump();
  }
  // A slot, waiting (polling) for one if all are in flight, or no_io if
  // the wait policy gives up first. The condition takes the slot it finds
  // and holds from then on without taking another (a policy may ask it
  // again); so a slot is returned exactly when one was taken, whatever the
  // policy answers.
  slot_t wait_slot() noexcept {
    slot_t s = no_io;
    (void)wait_.wait(
        lock_, [&] { return s != no_io || (s = take_slot()) != no_io; }, progress(), no_deadline,
        clock_);
    return s;
  }

  static completion_action on_bio_done(bio& b, void* ctx) noexcept {
    auto* self = static_cast<buffer_cache*>(ctx);
    // A union and its member share their address.
    self->io_done(static_cast<slot_t>(reinterpret_cast<slot_bio*>(&b) - self->bios_), b);
    // The cache's bios have no parent, and io_done may already have handed
    // the slot to another thread: the walk must not touch `b` again.
    return completion_action::stop;
  }

  // Submits transfer `o` of buffer i (npos: none, a flush) on slot s, in
  // flight from here (every I/O is counted here, once); called with the
  // lock held, returns with it released. The buffer's I/O keeps
  // its block and size put; a write's integrity record is made unlocked,
  // just before.
  // `Fl`: the bio's flags (read-ahead or none), a constant of each caller.
  template <bio_flags Fl = bio_flags::none>
  void submit_unlock(slot_t s, op o, I i) noexcept {
    lbn_type lbn = 0;
    std::uint32_t len = 0;
    std::byte* mem = nullptr;
    if (i != npos) {
      lbn = z_.hdr[i].lbn;
      len = size_of(i);
      mem = storage_.data(i);
    }
    ++z_.inflight;
    lock_.unlock();
    if (o == op::write) integrity_.finalize(lbn, mem, len);
    // A new bio in the slot's place, left as prepare() would leave the old
    // one (every field but the request's at its default), by the
    // constructor every bio shares (out of line at -Os) instead of
    // prepare()'s dozen stores inline. The old one, if any, is done with:
    // its completion walk stopped at on_bio_done, and a bio has no
    // destructor to run (asserted: one added later must not be skipped
    // silently).
    static_assert(std::is_trivially_destructible_v<bio>);
    bio& b = *::new (static_cast<void*>(&bios_[s].b))
                 bio(o, std::uint64_t{lbn} * block_size, len, mem, completion{&on_bio_done, this});
    if constexpr (Fl != bio_flags::none) b.flags = Fl;
    dev_.submit(b);
  }

  // Submits the read of busy buffer i on slot s, to be settled by `settle`;
  // called with the lock held, returns with it released.
  template <io_kind Kind>
  void start_read_unlock(I i, slot_t s, settle_fn settle) noexcept {
    header& b = z_.hdr[i];
    b.flags = static_cast<std::uint16_t>(b.flags | f_io);
    slot_[s].settle = settle;
    // settle_read_sync reads no kind (a waiter that gives up stores one).
    if constexpr (Kind != io_kind::read_sync) slot_[s].kind = Kind;
    slot_[s].buf = i;
    submit_unlock<Kind == io_kind::read_ahead ? bio_flags::read_ahead : bio_flags::none>(
        s, op::read, i);
  }
  // Submits the write of busy dirty buffer i on slot s, clearing the flags
  // in `clear` as well; returns unlocked.
  template <io_kind Kind>
  void start_write_unlock(I i, slot_t s, std::uint16_t clear = 0) noexcept {
    slot_[s].settle = &settle_write<Kind>;
    // Of the writes, only a write_sync's settle reads the slot's kind (its
    // waiter may give up and make it a write_release); the others are
    // settle_write<Kind> with their own.
    if constexpr (Kind == io_kind::write_sync) slot_[s].kind = Kind;
    submit_write_unlock(i, s, clear);
  }
  void submit_write_unlock(I i, slot_t s, std::uint16_t clear) noexcept {
    // Off the dirty set, owned by its I/O; dirty until done.
    unlink_dirty(i, static_cast<std::uint16_t>(clear | f_handle), f_io | f_busy);
    slot_[s].buf = i;
    slot_[s].seq = ++z_.write_seq;
    slot_[s].running = true;
    ++z_.running_writes;
    if constexpr (!one_unit) running_bytes_ += size_of(i);
    device_flush_needed_ = true;
    submit_unlock(s, op::write, i);
  }

  // The completion of slot s (whose bio is bb), from whatever context the
  // device completes in.
  void io_done(slot_t s, const bio& bb) noexcept {
    errc st = bb.status();
    if (st == errc::ok && bb.residual() != 0) st = errc::io_error; // short transfer
    lock_guard<lock_type> g(lock_);
    slot_[s].settle(*this, s, st);
    // In flight until its settle returned, and with it the hooks and
    // callbacks that settle ran (see below).
    --z_.inflight;
    // Pending barrier operations may now go on (a slot is free, a write
    // stopped running, a buffer is idle): after this completion's own
    // callbacks, so a wait_all finishes after the callbacks of the writes it
    // waited for.
    if (ops_pending()) pump_locked();
  }

  // Each settle_* accounts for the completion of slot s with status st and
  // runs its callbacks. Which one runs is chosen when the I/O is started.
  // Called with the lock held and returning with it held (it drops it
  // only around hooks and callbacks); io_done then ends the I/O.
  //
  // A completion that runs hooks or a user callback keeps its I/O counted in
  // flight (and a write running, holding its slot) until they have
  // returned: whoever learns the I/O is over (`in_flight() == 0`, wait_all,
  // sync, write_sync, the destructor's check) also knows they are done.

  // The read of buffer i ended: valid, or counted as a read error.
  void read_settled_locked(I i, errc st, bool readahead) noexcept {
    header& b = z_.hdr[i];
    // The new flags in a register, stored once.
    unsigned f = b.flags & ~unsigned{f_io};
    if (st == errc::ok)
      f |= readahead ? unsigned{f_valid | f_readahead} : unsigned{f_valid};
    else
      tally<&cache_stats::read_errors>();
    b.flags = static_cast<std::uint16_t>(f);
  }
  // A read whose caller waits for it (read / read_into): the caller ends it.
  static void settle_read_sync(buffer_cache& c, slot_t s, errc st) noexcept {
    c.read_settled_locked(c.slot_[s].buf, st, false);
    c.slot_[s].status = st;
    c.slot_[s].done = true;
    c.bump();
  }
  // A read that ends on its own: read-ahead (releases the buffer) and
  // read_async (hands it to the callback, or on failure releases it
  // unfilled: gone, unless a hold keeps it empty).
  static void settle_read_owned(buffer_cache& c, slot_t s, errc st) noexcept {
    io_slot& sl = c.slot_[s];
    const I i = sl.buf;
    const io_kind kind = sl.kind;
    c.read_settled_locked(i, st, kind == io_kind::read_ahead);
    // Only a read_async's slot (or an abandoned read's) carries a callback.
    const read_done cb = kind == io_kind::read_async ? sl.rd : nullptr;
    void* ctx = kind == io_kind::read_async ? sl.ctx : nullptr;
    c.put_slot(s);
    if (st != errc::ok) {
      c.release_unfilled(i); // a failed read caches nothing
    } else if (kind == io_kind::read_ahead) {
      c.release_locked(i, release_mode::normal);
    } else {
      c.z_.hdr[i].flags = static_cast<std::uint16_t>(c.z_.hdr[i].flags | f_handle);
    }
    if (kind != io_kind::read_async) return;
    c.lock_.unlock();
    cb(ctx, st, st == errc::ok ? handle(&c, i) : handle());
    c.lock_.lock();
    c.bump();
  }
  // A sync's device flush barrier: the operation waits in `flushing` and is
  // still linked, so it can be updated here.
  static void settle_flush(buffer_cache& c, slot_t s, errc st) noexcept {
    auto& o = *static_cast<async_op*>(c.slot_[s].ctx);
    if (st != errc::ok) {
      c.device_flush_needed_ = true; // the next sync tries again
      fold(o, st);
    }
    o.phase = sync_phase::next;
    c.put_slot(s);
  }
  // A write started as `Kind`: write_sync (its waiter ends it, or, if the
  // waiter gave up, it ends like write_release), write_async (release, then
  // the user's callback), write_release (release).
  template <io_kind Kind>
  static void settle_write(buffer_cache& c, slot_t s, errc st) noexcept {
    io_slot& sl = c.slot_[s];
    const I i = sl.buf;
    header& b = c.z_.hdr[i];
    b.flags = static_cast<std::uint16_t>(b.flags & ~f_io);
    // The running bytes are returned at once (throttled writers may go on,
    // as in vfs_bio's biodone); the rest once the hooks ran.
    --c.z_.running_writes;
    if constexpr (!one_unit) c.running_bytes_ -= c.size_of(i);
    const buffer_info bi = c.info(i);
    bool critical = false;
    if (st == errc::ok) {
      c.tally<&cache_stats::writebacks>();
      if (!sl.remodified && b.modrefs <= 0) {
        c.undirty(i);
      } else {
        // Modified after (or while) the write was issued: the data written
        // may predate the change, so the buffer must stay dirty for another
        // write, back on its set. It is dirty and off the set, as every
        // buffer under a write is: submit_write_unlock took it off, nothing
        // cleans a busy buffer, and make_dirty links none with I/O in flight.
        BIOSTACK_DEBUG_ASSERT((b.flags & (f_dirty | f_ondirty)) == f_dirty);
        c.link_dirty(i);
      }
    } else {
      critical = c.write_failed_locked(i, st);
    }
    const bool waited = Kind == io_kind::write_sync && sl.kind == io_kind::write_sync;
    write_done cb = nullptr; // only a write_async's slot carries a callback
    void* ctx = nullptr;
    if constexpr (Kind == io_kind::write_async) {
      cb = sl.wd;
      ctx = sl.ctx;
    }
    if (!waited) c.release_locked(i, release_mode::normal);
    c.lock_.unlock();
    c.hooks_.on_complete(bi, st);
    if (critical) c.hooks_.on_critical_error(bi, st);
    if constexpr (Kind == io_kind::write_async)
      if (cb != nullptr) cb(ctx, st);
    c.lock_.lock();
    sl.running = false;
    sl.remodified = false; // marks made while the hooks ran are stale
    if constexpr (Kind == io_kind::write_sync) {
      if (sl.kind == io_kind::write_sync) {
        sl.status = st;
        sl.done = true;
        c.bump();
        return;
      }
      // A write_sync whose waiter gave up while the hooks ran is ours now.
      if (waited) c.release_locked(i, release_mode::normal);
    }
    c.put_slot(s);
  }
  // A failed write of buffer i: recorded; the data is kept (back on the
  // dirty set, tail), retried after a pause or, for critical classes,
  // pinned until the owner clears the error. True when it became critical.
  BIOSTACK_COLD bool write_failed_locked(I i, errc st) noexcept {
    header& b = z_.hdr[i];
    tally<&cache_stats::write_errors>();
    z_.failure_code[z_.write_failures % failure_history] = st;
    ++z_.write_failures;
    if ((b.flags & f_inval) != 0) {
      undirty(i); // the owner already discarded it
      return false;
    }
    b.flags = static_cast<std::uint16_t>(b.flags | f_error);
    link_dirty(i);
    retry_after_ = z_.flush_pass + z_.limits.retry_pause;
    if (classes_type::critical_on_error[b.cls] && (b.flags & f_ownerpin) == 0) {
      b.flags = static_cast<std::uint16_t>(b.flags | f_ownerpin);
      return true;
    }
    return false;
  }

  // getblk and, with `fill`, bread: the buffer for `lbn`, owned by the
  // returned handle. With `fill` a miss is read, blocking (and the blocks in
  // `readahead` when ReadAhead), and the buffer is handed out only once
  // valid: until then the cache owns it, and a failed read releases it
  // unfilled (gone, unless a hold keeps the empty buffer for its holder).
  // get and read share it, out of line when optimising for size: a program
  // calling both has one call of acquire (inlined here) and the same short
  // call at each of their call sites. Optimising for speed the miss's read
  // stays out of line (BIOSTACK_NOINLINE_FOR_SPEED), which leaves this small
  // enough to be inlined into get and read, where `fill` folds away.
  // `fill` travels in `opt.flags`, in a bit no get_flags value uses: one
  // argument less to store at each get and read call site. get clears it,
  // so that no flags a caller passes make a get read.
  static constexpr std::uint8_t fill_bit = 1u << 7; // get_flags' reserved bit
  template <bool ReadAhead>
  BIOSTACK_NOINLINE_FOR_SIZE result<handle>
  obtain(std::uint64_t lbn, get_options opt,
         std::span<const std::uint64_t> readahead = {}) noexcept {
    const bool fill = (static_cast<std::uint8_t>(opt.flags) & fill_bit) != 0;
    I i = npos;
    if (const errc e = acquire(lbn, opt, i); e != errc::ok) return e;
    if (fill && !test_flag(i, f_valid))
      if (const errc e = read_locked_sync<ReadAhead>(i, readahead, opt.size); e != errc::ok)
        return e;
    return handle(this, i);
  }
  template <bool ReadAhead>
  BIOSTACK_NOINLINE_FOR_SPEED errc read_locked_sync(I i, std::span<const std::uint64_t> readahead,
                                                    std::uint32_t ra_size) noexcept {
    lock_.lock();
    const slot_t s = wait_slot();
    if (s == no_io) { // the wait policy gave up before anything was started
      release_unfilled(i);
      lock_.unlock();
      return errc::timed_out;
    }
    start_read_unlock<io_kind::read_sync>(i, s, &settle_read_sync);
    if constexpr (ReadAhead)
      for (const std::uint64_t ra : readahead) start_readahead(ra, ra_size);
    lock_.lock();
    if (!wait_.wait(
            lock_, [&] { return slot_[s].done; }, progress(), no_deadline, clock_)) {
      // The wait policy gave up, but the read is still the device's: the
      // slot and the buffer stay its until it completes, and then it ends
      // like a read_async nobody listens to (caches the block, or nothing).
      slot_[s].settle = &settle_read_owned;
      slot_[s].kind = io_kind::read_async;
      slot_[s].rd = &drop_abandoned_read;
      slot_[s].ctx = nullptr;
      lock_.unlock();
      return errc::timed_out;
    }
    const errc st = slot_[s].status;
    put_slot(s);
    if (st != errc::ok) release_unfilled(i);
    pump_locked(); // a sync may have been waiting for the slot
    lock_.unlock();
    return st;
  }
  static void drop_abandoned_read(void*, errc, handle) noexcept {} // the handle releases it
  // Starts an asynchronous read of `lbn` if absent and resources allow.
  void start_readahead(std::uint64_t lbn, std::uint32_t size) noexcept {
    units_type units = 0;
    if (check(lbn, size, units) != errc::ok) return;
    lock_.lock();
    const auto key = static_cast<lbn_type>(lbn); // check() made it fit
    if (lookup(key) != npos || !has_free_slot()) {
      lock_.unlock();
      return;
    }
    I i = npos;
    if (try_get_locked(key, units, get_flags::nowait, i) != try_result::ok) {
      lock_.unlock();
      return;
    }
    if constexpr (counting) --z_.stats.misses; // speculative: not a demand miss
    start_read_unlock<io_kind::read_ahead>(i, take_slot(), &settle_read_owned);
  }

  // bwrite of busy buffer i (owned by the caller, dirty): writes, waits,
  // releases. With the lock held.
  errc write_locked_sync(I i) noexcept {
    z_.hdr[i].flags = static_cast<std::uint16_t>(z_.hdr[i].flags | f_busy); // ours until done
    const slot_t s = wait_slot();
    if (s == no_io) { // the wait policy gave up; the buffer stays dirty
      release_locked(i, release_mode::normal);
      return errc::timed_out;
    }
    start_write_unlock<io_kind::write_sync>(i, s);
    lock_.lock();
    if (!wait_.wait(
            lock_, [&] { return slot_[s].done; }, progress(), no_deadline, clock_)) {
      // Gave up while the write is in flight: it finishes on its own, like a
      // flusher write (its completion frees the slot and releases the still
      // dirty buffer, or re-dirties it on error).
      slot_[s].kind = io_kind::write_release;
      return errc::timed_out;
    }
    const errc st = slot_[s].status;
    put_slot(s);
    release_locked(i, release_mode::normal);
    pump_locked(); // a sync may have been waiting for the slot
    return st;
  }

  // The running-write throttle is engaged: a writer must wait (or, if it
  // may not, be refused).
  [[nodiscard]] bool throttled() const noexcept {
    return z_.throttle_waiting != 0 || running_bytes_now() > z_.limits.hi_running;
  }
  // waitrunningbufspace with fairness: first come, first served. False if
  // the wait policy gave up (the caller must not write).
  [[nodiscard]] bool throttle_running() noexcept {
    if (!throttled()) return true;
    const std::uint32_t ticket = z_.throttle_next++;
    ++z_.throttle_waiting;
    tally<&cache_stats::throttle_waits>();
    const bool ok = wait_.wait(
        lock_,
        [&] {
          return z_.throttle_serving == ticket && running_bytes_now() <= z_.limits.lo_running;
        },
        progress(), no_deadline, clock_);
    // A waiter that gives up still hands its turn on in order, or those
    // behind it would wait for a ticket nobody serves.
    while (z_.throttle_serving != ticket)
      (void)wait_.wait(
          lock_, [&] { return z_.throttle_serving == ticket; }, progress(), no_deadline, clock_);
    --z_.throttle_waiting;
    ++z_.throttle_serving;
    bump();
    return ok;
  }

  // The flusher's pass over the classes it may write. Inline at its three
  // callers (flush_step, and write_delayed and a get short of buffers with
  // a constant budget): with one class it is the budget's clamp, the pass
  // counter and one call, which an out-of-line copy pays again as a frame
  // around that call (a template member is never tail-called on ARM).
  BIOSTACK_ALWAYS_INLINE std::size_t flush_step_locked(std::size_t budget) noexcept {
    if (budget > 1024) budget = 1024;
    ++z_.flush_pass;
    std::size_t started = 0;
    for (std::uint8_t stage = 0; stage < classes_type::stages && started < budget; ++stage) {
      for (std::size_t c = 0; c < class_count && started < budget; ++c) {
        if (classes_type::stage[c] != stage || !classes_type::cache_may_write[c]) continue;
        started += flush_class_locked(static_cast<std::uint8_t>(c), budget - started, false);
      }
    }
    return started;
  }

  // Writes up to `budget` buffers of class c's dirty set, oldest first.
  // `all` (sync): only buffers marked f_sync, each once, whatever their
  // error pause; the owner's "defer" is overridden (the owner asked).
  // Never waits: stopping for want of an I/O slot, a sync's pass sets
  // sync_stalled_ (a flusher's, best effort, clears it).
  std::size_t flush_class_locked(std::uint8_t c, std::size_t budget, bool all) noexcept {
    std::size_t started = 0;
    const dirty_set& set = dirty_[set_of(c)];
    // At most this many steps, so that a walk that starts over (resume_at)
    // ends: no set is longer than the dirty count (every buffer on one is
    // dirty), and each write started may come back to its tail (a failure
    // completed at once).
    std::size_t scan = z_.dirty_count + budget;
    // A buffer is skipped unless its flags under `skip` equal `want`: busy
    // and owner-pinned ones always; a sync's untagged ones; the flusher's
    // failed ones until their pause is over (a write failing while the lock
    // is dropped starts or extends the pause: checked afresh for each
    // buffer).
    const std::uint16_t want = all ? std::uint16_t{f_sync} : std::uint16_t{0};
    I i = set.head;
    while (i != npos && scan-- != 0 && started < budget) {
      header& b = z_.hdr[i];
      const I next = b.dnext;
      auto skip = static_cast<std::uint16_t>(f_busy | f_ownerpin | want);
      if (!all && static_cast<std::int32_t>(z_.flush_pass - retry_after_) < 0)
        skip = static_cast<std::uint16_t>(skip | f_error);
      if ((b.flags & skip) != want || b.modrefs != 0) {
        i = next;
        continue;
      }
      if ((b.flags & f_inval) != 0) {
        undirty(i);
        if (b.holds == 0) destroy(i);
        i = next;
        continue;
      }
      if (!all && running_bytes_now() > z_.limits.hi_running) break;
      const slot_t s = take_slot();
      if (s == no_io) {
        sync_stalled_ = all;
        break;
      }
      // Without owner hooks every write is allowed: no need to own the
      // buffer and drop the lock to ask.
      write_decision d = write_decision::allow;
      if constexpr (!std::is_same_v<hooks_type, no_owner_hooks>) {
        b.flags = static_cast<std::uint16_t>(b.flags | f_busy);
        buffer_info bi = info(i);
        bi.by_owner = all;
        lock_.unlock();
        d = hooks_.check_write(bi);
        lock_.lock();
      }
      if (d == write_decision::allow ||
          (d == write_decision::defer && ((b.flags & f_deferred) != 0 || all))) {
        start_write_unlock<io_kind::write_release>(i, s, f_deferred | f_sync);
        lock_.lock();
        ++started;
        // The list may have changed while unlocked.
        i = resume_at(next, c);
        continue;
      }
      put_slot(s);
      b.flags = static_cast<std::uint16_t>(b.flags & ~f_busy);
      if (d == write_decision::defer) {
        b.flags = static_cast<std::uint16_t>(b.flags | f_deferred);
      } else {
        b.flags = static_cast<std::uint16_t>(b.flags | f_ownerpin);
      }
      bump();
      i = resume_at(next, c);
    }
    return started;
  }

  // Where a dirty-list walk continues after the lock was dropped: `next`
  // if it is still on the list (or the end), else the list's head.
  [[nodiscard]] I resume_at(I next, std::uint8_t c) const noexcept {
    if (next == npos ||
        ((z_.hdr[next].flags & f_ondirty) != 0 && set_of(z_.hdr[next].cls) == set_of(c)))
      return next;
    return dirty_[set_of(c)].head;
  }

  // ---- async barrier operations -------------------------------------------

  // The async entry points: an operation from the pool, or `no_resources`.
  void start_async(op_kind k, step_fn step, std::uint64_t lbn, write_done done,
                   void* ctx) noexcept {
    BIOSTACK_ASSERT(done != nullptr);
    lock_.lock();
    async_op* o = take_op();
    if (o == nullptr) {
      lock_.unlock();
      done(ctx, errc::no_resources);
      return;
    }
    init_op(*o, k, step);
    o->lbn = lbn;
    from_pool(*o, &deliver_done, ctx);
    o->cb.done = done;
    link_op(*o);
    lock_.unlock();
  }

  // The blocking forms: the same operation, on this stack, waited for with
  // the wait policy. Should the policy give up (a device that stopped
  // completing), the operation is withdrawn unless I/O of its own still
  // refers to it; then this keeps waiting, since that I/O points here.
  template <step_fn Step>
  errc run_blocking(op_kind k, std::uint64_t lbn) noexcept {
    async_op o; // init_op and this starter fill it
    lock_guard<lock_type> g(lock_);
    init_op(o, k, Step);
    if (k == op_kind::flush_block) o.lbn = lbn; // the one kind here with a block
    if constexpr (!async_enabled) {
      return run_in_place(o, no_deadline);
    } else {
      op_waiter w{errc::ok, npos, false};
      link_waited(o, w);
      while (!wait_.wait(
          lock_, [&] { return w.done; }, progress(), no_deadline, clock_)) {
        if (withdraw_locked<true>(o)) return errc::timed_out;
      }
      return w.status;
    }
  }
  // async_ops<0>: operation `o` (not linked anywhere) stepped here, with the
  // lock held, until it finishes; between steps the wait policy polls until
  // something changes (any bump: a completion, a release, a freed slot).
  // The same statuses as when queued: in the single context this mode
  // requires, an operation that only another handle's owner could let go
  // on ends with `no_resources`, and one whose wait the policy gives up
  // with `timed_out` (a sync whose device flush is in flight waits it out,
  // since that completion refers to `o`; one that had tagged buffers for
  // its writes untags them). One copy for every kind: o's step is called
  // through `o.step`.
  BIOSTACK_NOINLINE errc run_in_place(async_op& o, std::uint64_t deadline) noexcept {
    // A clock that never advances never reaches a deadline (deadline_of):
    // stated here too, so the wait folds its clock test away.
    if constexpr (std::is_same_v<clock_type, no_clock>) deadline = no_deadline;
    for (;;) {
      // Taken before the step: a completion delivered inside it (an inline
      // device) must lead to another step, not to a wait.
      const std::uint32_t gen = z_.generation;
      bool sync_seen = false;
      if (o.step(*this, o, sync_seen)) return o.status;
      // Something changed during the step (the writes it started completed
      // inline, freeing buffers): step again before judging it hopeless, as
      // the pump would.
      if (z_.generation != gen) continue;
      if (o.hopeless) return errc::no_resources;
      if (wait_.wait(
              lock_, [&] { return z_.generation != gen; }, progress(), deadline, clock_))
        continue;
      if (o.kind == op_kind::sync) {
        if (o.phase == sync_phase::flushing) continue;
        if (o.phase == sync_phase::write) (void)tag_stage(o.stage, false);
      }
      return errc::timed_out;
    }
  }
  // Runs the get / modify / interlock operation `o` (filled, with no
  // callback, not linked) from a blocking form to its end; with the lock
  // held. Its status; on success `o.slot` is the buffer it obtained.
  errc finish_blocking(async_op& o, std::uint64_t deadline) noexcept {
    if constexpr (!async_enabled) {
      return run_in_place(o, deadline);
    } else {
      op_waiter w{errc::ok, npos, false};
      link_waited(o, w);
      return wait_op_locked(o, w, deadline); // the step set o.slot
    }
  }
  // Queues a blocking form's operation `o`, to be delivered to waiter `w`
  // on the caller's stack.
  void link_waited(async_op& o, op_waiter& w) noexcept requires async_enabled {
    o.deliver = &deliver_waiter;
    o.ctx = &w;
    link_op(o);
  }
  // The callback of every blocking form: hands the outcome to the waiter on
  // the caller's stack. What a get, modify or interlock obtained is the
  // waiter's from here on; no handle or guard is made for it on the way.
  static void deliver_waiter(buffer_cache& c, const op_result& r) noexcept {
    auto& w = *static_cast<op_waiter*>(r.ctx);
    lock_guard<lock_type> g(c.lock_);
    w.status = r.status;
    w.slot = r.slot;
    w.done = true;
    c.bump();
  }
  // Waits (wait policy) for the get / modify / interlock operation `o` on
  // the caller's stack; with the lock held. Its status, or `no_resources`
  // when in a single context only another context could let it go on, or
  // `timed_out` when the wait policy gave up (the operation is withdrawn).
  errc wait_op_locked(async_op& o, op_waiter& w, std::uint64_t deadline) noexcept {
    for (;;) {
      const auto stuck = [&] { return wait_type::single_context && o.hopeless; };
      const std::uint32_t gen = z_.generation;
      const bool ok = wait_.wait(
          lock_, [&] { return w.done || stuck() || z_.generation != gen; }, progress(), deadline,
          clock_);
      if (w.done) return w.status;
      if (ok && !stuck()) {
        pump_locked(); // something changed: try again
        continue;
      }
      if (withdraw_locked<false>(o)) return ok ? errc::no_resources : errc::timed_out;
    }
  }
  // An operation from the pool (the most recently freed, else a never used
  // one), or nullptr when all are pending.
  async_op* take_op() noexcept {
    async_op* o = op_free_;
    if (o != nullptr)
      op_free_ = o->next;
    else if (op_fresh_ < async_op_count)
      o = &op_pool_[op_fresh_++];
    return o;
  }
  // Fills operation `o` (not yet linked): phase `mark`, status ok, no
  // buffer, and the write sequence and failure count a barrier waits from.
  // Out of line: every kind of operation starts here. Its block number is
  // the starter's to store (a 64-bit argument would go on the stack), and
  // so is its completion: a blocking form's waiter, or `from_pool`.
  BIOSTACK_NOINLINE void init_op(async_op& o, op_kind k, step_fn step) noexcept {
    // Each member stored once (no clearing pass first): adjacent narrow
    // members merge into word stores.
    if constexpr (async_enabled) {
      o.next = nullptr;
      o.deliver = nullptr;
      o.cb = op_callback{};
      o.ctx = nullptr;
      o.pooled = false;
    }
    o.step = step;
    o.since = z_.write_failures;
    o.target = z_.write_seq;
    o.kind = k;
    o.phase = sync_phase::mark;
    o.stage = 0;
    o.status = errc::ok;
    o.slot = npos;
    if constexpr (!one_unit) o.units = 0;
    o.flags = get_flags::none;
    o.wrote = false;
    o.hopeless = false;
  }
  // An async entry point's operation: delivered by `deliver` (the caller
  // sets its callback), returned to the pool when done.
  static void from_pool(async_op& o, deliver_fn deliver, void* ctx) noexcept {
    o.deliver = deliver;
    o.ctx = ctx;
    o.pooled = true;
  }
  // A modify / interlock operation (the caller sets its callback, if any,
  // and links it).
  void begin_slot_op(async_op& o, op_kind k, std::uint64_t lbn, get_flags flags) noexcept {
    init_op(o, k, k == op_kind::modify ? &step_modify_op : &step_interlock_op);
    o.lbn = lbn;
    o.flags = flags;
  }
  // modify_async / interlock_async: an operation from the pool, with the
  // lock held on success (the caller sets its callback and links it), or
  // nullptr (table full; unlocked).
  async_op* start_slot_op(op_kind k, deliver_fn deliver, std::uint64_t lbn, get_flags flags,
                          void* ctx) noexcept {
    lock_.lock();
    async_op* o = take_op();
    if (o == nullptr) {
      lock_.unlock();
      return nullptr;
    }
    begin_slot_op(*o, k, lbn, flags);
    from_pool(*o, deliver, ctx);
    return o;
  }
  void begin_get(async_op& o, std::uint64_t lbn, units_type units, get_flags flags) noexcept {
    init_op(o, op_kind::get, &step_get_op);
    o.lbn = lbn;
    if constexpr (!one_unit) o.units = units;
    o.flags = flags;
  }
  // Queues operation `o` and advances what can be advanced; with the lock
  // held (released while callbacks run).
  void link_op(async_op& o) noexcept {
    o.next = nullptr;
    if (ops_tail_ != nullptr)
      ops_tail_->next = &o;
    else
      ops_head_ = &o;
    ops_tail_ = &o;
    pump_locked();
  }

  // Unlinks a waiting operation whose waiter gave up. False when it cannot
  // be: its device flush is in flight, a pump is walking the list, or it has
  // just finished (its callback is on the way). `MaybeSync`: `o` may be a
  // sync (run_blocking); a get, modify or interlock never is, and skips the
  // sync's undoing.
  template <bool MaybeSync>
  bool withdraw_locked(async_op& o) noexcept {
    if (pumping_ || (MaybeSync && o.kind == op_kind::sync && o.phase == sync_phase::flushing))
      return false;
    async_op* prev = nullptr;
    async_op* p = ops_head_;
    while (p != nullptr && p != &o) {
      prev = p;
      p = p->next;
    }
    if (p == nullptr) return false;
    unlink_op(o, prev);
    if (MaybeSync && o.kind == op_kind::sync && o.phase == sync_phase::write)
      (void)tag_stage(o.stage, false);
    pump_locked(); // a sync queued behind it may start now
    return true;
  }
  void unlink_op(async_op& o, async_op* prev) noexcept {
    if (prev != nullptr)
      prev->next = o.next;
    else
      ops_head_ = o.next;
    if (ops_tail_ == &o) ops_tail_ = prev;
  }

  // Advances every pending operation as far as it goes without waiting and
  // completes the finished ones, oldest first. Called with the lock held by
  // whatever may let an operation go on: its start, every I/O completion, a
  // freed slot, an idle buffer. One context pumps at a time; a call meanwhile
  // (from another thread, or from a completion inside a submission) only
  // asks it to walk the list once more, so submissions never recurse. The
  // lock (and the pump) are let go while a `done` callback runs.
  void pump_locked() noexcept {
    if constexpr (async_enabled) { // else nothing is ever queued
      if (pumping_) {
        pump_again_ = true;
        return;
      }
      pumping_ = true;
      for (;;) {
        pump_again_ = false;
        async_op* prev = nullptr;
        async_op* o = ops_head_;
        bool sync_seen = false; // syncs run one at a time, in order
        while (o != nullptr && !o->step(*this, *o, sync_seen)) {
          prev = o;
          o = o->next;
        }
        if (o == nullptr) {
          if (pump_again_) continue;
          break;
        }
        unlink_op(*o, prev);
        const deliver_fn deliver = o->deliver;
        const op_result r{o->cb, o->ctx, o->status, o->slot};
        if (o->pooled) {
          o->next = op_free_;
          op_free_ = o;
        }
        pumping_ = false;
        lock_.unlock();
        deliver(*this, r);
        lock_.lock();
        if (pumping_) return; // another context pumps now and sees all of this
        pumping_ = true;
      }
      pumping_ = false;
    }
  }

  // The steps and callbacks of each kind, as stored in an operation.
  static bool step_get_op(buffer_cache& c, async_op& o, bool&) noexcept { return c.step_get(o); }
  static bool step_modify_op(buffer_cache& c, async_op& o, bool&) noexcept {
    return c.step_modify(o);
  }
  static bool step_interlock_op(buffer_cache& c, async_op& o, bool&) noexcept {
    return c.step_interlock(o);
  }
  static bool step_flush_block_op(buffer_cache& c, async_op& o, bool&) noexcept {
    return c.step_flush_block(o);
  }
  static bool step_wait_all_op(buffer_cache& c, async_op& o, bool&) noexcept {
    if (!c.drained(o.target)) return false;
    o.status = c.first_failure_since(o.since);
    return true;
  }
  // (step_sync_op: with the sync's phases, below.)
  static void deliver_done(buffer_cache&, const op_result& r) noexcept {
    r.cb.done(r.ctx, r.status);
  }
  static void deliver_get(buffer_cache& c, const op_result& r) noexcept {
    r.cb.got(r.ctx, r.status, r.status == errc::ok ? handle(&c, r.slot) : handle{});
  }
  static void deliver_modify(buffer_cache& c, const op_result& r) noexcept {
    r.cb.md(r.ctx, r.status, modify_guard(r.status == errc::ok ? &c : nullptr, r.slot));
  }
  static void deliver_interlock(buffer_cache& c, const op_result& r) noexcept {
    r.cb.il(r.ctx, r.status, write_interlock(r.status == errc::ok ? &c : nullptr, r.slot));
  }

  static void fold(async_op& o, errc e) noexcept {
    if (o.status == errc::ok) o.status = e;
  }
  // True once every write up to sequence `target` has completed (no slot
  // runs one). O(I/O slots), like note_modified_during_write: the slots
  // keep no list of their writes.
  [[nodiscard]] bool drained(std::uint32_t target) const noexcept {
    for (slot_t s = 0; s < fresh_slot_; ++s)
      if (slot_[s].running && static_cast<std::int32_t>(slot_[s].seq - target) <= 0) return false;
    return true;
  }

  // One step of get; true when finished (o.status and o.slot set). May drop
  // the lock (the flusher's owner hooks, submissions).
  bool step_get(async_op& o) noexcept {
    // Every way out that waits sets `hopeless` below, but for the waits of
    // a size change's write-first.
    if constexpr (!one_unit) o.hopeless = false;
    if (!one_unit && o.wrote) {
      // The write-first of a size change: wait for it, report its failure.
      if (!drained(o.target)) return false;
      o.wrote = false;
      const I w = lookup(static_cast<lbn_type>(o.lbn)); // get checked it
      if (w != npos && (z_.hdr[w].flags & f_dirty) != 0) {
        if (const errc e = first_failure_since(o.since); e != errc::ok) {
          o.status = e;
          return true;
        }
      }
    }
    I i = npos;
    units_type units = 1;
    if constexpr (!one_unit) units = o.units;
    const try_result r = try_get_locked(static_cast<lbn_type>(o.lbn), units, o.flags, i);
    if (r == try_result::ok) {
      o.slot = i;
      return true;
    }
    const bool mismatch = !one_unit && r == try_result::size_mismatch;
    if (mismatch || has(o.flags, get_flags::nowait)) {
      o.status = mismatch ? errc::invalid_argument : errc::no_resources;
      return true;
    }
    if (!one_unit && r == try_result::must_write) {
      // Size change of a dirty buffer: write it first, then try again.
      const slot_t s = take_slot();
      if (s == no_io) return false; // a completion frees one and pumps
      o.since = z_.write_failures;
      o.target = z_.write_seq + 1; // the sequence number this write takes
      o.wrote = true;
      z_.hdr[i].flags = static_cast<std::uint16_t>(z_.hdr[i].flags | f_busy);
      start_write_unlock<io_kind::write_release>(i, s);
      lock_.lock();
      return false;
    }
    o.hopeless = r == try_result::busy_handle;
    if (r == try_result::no_victim) {
      // Kick the flusher so dirty buffers become clean ones.
      flush_step_locked(1024);
      o.hopeless = z_.inflight == 0;
    }
    return false;
  }

  // One step of modify; true when finished. A modification never touches
  // a buffer the device is reading or writing, nor one under interlock.
  bool step_modify(async_op& o) noexcept {
    const I i = find(o.lbn);
    o.hopeless = false;
    if (i == npos || z_.hdr[i].holds == 0) {
      o.status = errc::invalid_argument;
      return true;
    }
    const bool io = (z_.hdr[i].flags & f_io) != 0;
    if (io || z_.hdr[i].modrefs < 0) {
      if (has(o.flags, get_flags::nowait)) {
        o.status = errc::no_resources;
        return true;
      }
      o.hopeless = !io; // only polling ends I/O; only its holder the interlock
      return false;
    }
    if ((z_.hdr[i].flags & (f_valid | f_inval)) != f_valid) {
      o.status = errc::invalid_argument;
      return true;
    }
    BIOSTACK_ASSERT(z_.hdr[i].modrefs < 127);
    ++z_.hdr[i].modrefs;
    make_dirty(i);
    o.slot = i;
    return true;
  }
  // One step of interlock; true when finished.
  bool step_interlock(async_op& o) noexcept {
    const I i = find(o.lbn);
    o.hopeless = false;
    if (i == npos || z_.hdr[i].holds == 0) {
      o.status = errc::invalid_argument;
      return true;
    }
    if (z_.hdr[i].modrefs != 0) {
      o.hopeless = true; // only the modifiers (or the other interlock) end it
      return false;
    }
    z_.hdr[i].modrefs = -1;
    o.slot = i;
    return true;
  }

  // One step of flush_block; true when finished.
  bool step_flush_block(async_op& o) noexcept {
    const I i = find(o.lbn);
    if (i == npos || (z_.hdr[i].flags & f_dirty) == 0) return true;
    if ((z_.hdr[i].flags & f_busy) != 0) {
      if ((z_.hdr[i].flags & f_handle) == 0) return false; // its I/O completes first
      o.status = errc::no_resources;                       // the handle's owner writes it
      return true;
    }
    const slot_t s = take_slot();
    if (s == no_io) return false;
    z_.hdr[i].flags = static_cast<std::uint16_t>(z_.hdr[i].flags | f_busy);
    start_write_unlock<io_kind::write_release>(i, s);
    lock_.lock();
    return true;
  }

  // Advances sync `o` through its stages; true when finished. May drop the
  // lock (owner hooks, submissions). Syncs run one at a time, in order: the
  // pump steps the first it meets in a pass (`sync_seen`); in place the sync
  // is the only operation stepped. The phases are here and not in a member
  // this calls: on ARM a call to a template member is never a tail call.
  static bool step_sync_op(buffer_cache& c, async_op& o, bool& sync_seen) noexcept {
    if constexpr (async_enabled) {
      if (sync_seen) return false;
      sync_seen = true;
    } else {
      (void)sync_seen;
    }
    // Each phase falls through to the next when it need not wait.
    for (;;) {
      switch (o.phase) {
      case sync_phase::mark:
        (void)c.tag_stage(o.stage, true);
        o.phase = sync_phase::write;
        [[fallthrough]];
      case sync_phase::write: {
        c.sync_stalled_ = false;
        for (std::size_t k = 0; k < class_count && !c.sync_stalled_; ++k) {
          if (!in_stage(k, o.stage)) continue;
          while (c.flush_class_locked(static_cast<std::uint8_t>(k), 1024, true) != 0 &&
                 !c.sync_stalled_) {
          }
        }
        if (c.sync_stalled_) return false; // a completion frees a slot
        // The first status of the stage: a sync goes on to a stage only
        // while it has no error (`next`), so this is no fold.
        o.status = c.tag_stage(o.stage, false);
        o.target = c.z_.write_seq;
        o.phase = sync_phase::drain;
      }
        [[fallthrough]];
      case sync_phase::drain:
        if (!c.drained(o.target)) return false;
        fold(o, c.first_failure_since(o.since));
        o.phase = sync_phase::flush;
        [[fallthrough]];
      case sync_phase::flush:
        if (c.device_flush_needed_ && c.geo().supports_flush) {
          const slot_t s = c.take_slot();
          if (s == no_io) return false;
          c.device_flush_needed_ = false;
          c.slot_[s].settle = &settle_flush;
          c.slot_[s].ctx = &o;
          o.phase = sync_phase::flushing;
          c.submit_unlock(s, op::flush, npos);
          c.lock_.lock();
          continue; // its completion may have come (settle_flush)
        }
        c.device_flush_needed_ = false;
        // On to `next`, which never waits: no need to record it.
        [[fallthrough]];
      case sync_phase::next:
        if (o.status != errc::ok || o.stage + 1u >= classes_type::stages) return true;
        ++o.stage;
        o.phase = sync_phase::mark;
        continue;
      case sync_phase::flushing: return false; // settle_flush moves it to `next`
      }
    }
  }

  // With `on`, tags every buffer now on the dirty sets of `stage`'s classes.
  // Without, untags the tagged ones: after a stage's writes started, those
  // are the buffers it could not write (owned by a handle, being modified:
  // no_resources; pinned: io_error, which takes precedence), reported.
  // One walk for both, without a branch on `on`: a sync does each once per
  // stage.
  BIOSTACK_NOINLINE errc tag_stage(std::uint8_t stage, bool on) noexcept {
    const std::uint16_t tag = on ? std::uint16_t{f_sync} : std::uint16_t{0};
    // The flags of the buffers found tagged, or-ed: f_sync if there were
    // any, f_ownerpin if one of them was pinned. (Untagged buffers failed
    // during this sync, which reported it, or were dirtied since.)
    std::uint16_t tagged = 0;
    for (std::size_t c = 0; c < class_count; ++c) {
      if (!in_stage(c, stage)) continue;
      for (I i = dirty_[c].head; i != npos; i = z_.hdr[i].dnext) {
        header& b = z_.hdr[i];
        const std::uint16_t f = b.flags;
        // A tagged buffer's flags or none, by a mask rather than a branch.
        tagged = static_cast<std::uint16_t>(tagged | (f & (0u - ((f & f_sync) != 0))));
        b.flags = static_cast<std::uint16_t>((f & ~f_sync) | tag);
      }
    }
    if (on || tagged == 0) return errc::ok;
    return (tagged & f_ownerpin) != 0 ? errc::io_error : errc::no_resources;
  }

  [[nodiscard]] errc first_failure_since(std::uint32_t since) const noexcept {
    const std::uint32_t n = z_.write_failures;
    if (n == since) return errc::ok;
    // Only the last few codes are kept; older ones are reported as the
    // oldest kept, failure n - failure_history, whose entry is n's.
    return z_.failure_code[(n - since > failure_history ? n : since) % failure_history];
  }

  // The state touched on every path comes first, narrowest first: a Thumb-2
  // load or store has a 16-bit encoding up to 31 bytes into the object for
  // a byte, 62 for a halfword and 124 for a word: the byte-sized slot links
  // and flags come first, then the dirty sets and the halfword free_ /
  // fresh_, then (in z_) the counters, still within reach on 32-bit
  // targets, and the limits (the firmware's last two, lo_running and
  // retry_pause, just past it: both are read only on slow paths).
  Device& dev_;
  // Pending operations, oldest first (async_only: none with async_ops<0>).
  [[no_unique_address]] async_only<async_op*, 0> ops_head_{};
  [[no_unique_address]] async_only<async_op*, 1> ops_tail_{};
  std::size_t cap_;
  slot_t free_slot_ = no_io;
  slot_t fresh_slot_ = 0; // slots [fresh_slot_, slot_count) were never used
  [[no_unique_address]] async_only<bool, 2> pumping_{};
  [[no_unique_address]] async_only<bool, 3> pump_again_{};
  bool device_flush_needed_ = false;
  // Whether the sync's last write pass stopped for want of an I/O slot: the
  // stall read right after the pass, with the lock held since (a member,
  // not an out-parameter, so that the flusher's inline callers make no
  // flag on their stacks for it). In the byte after the flag above, where
  // the firmware's layout has padding.
  bool sync_stalled_ = false;
  [[no_unique_address]] async_only<std::uint8_t, 4> op_fresh_{}; // op_pool_[op_fresh_..] never used
  dirty_set dirty_[class_count];                                 // one per write class: a few bytes
  // The flusher's pass from which failed writes are retried, read with the
  // dirty sets. Beside them rather than in z_: it takes the room their
  // length counters left, so z_ keeps its offset (moving z_ cost as much
  // code as dropping the counters saved; see the commit that did this).
  std::uint32_t retry_after_ = 0;
  // Bytes dirty and being written: with one-block buffers (one_unit) the
  // counts (z_.dirty_count, z_.running_writes) times block_size, derived
  // (dirty_bytes_now, running_bytes_now) rather than kept.
  [[no_unique_address]] detail::only_if<!one_unit, bytes_type, 7> dirty_bytes_{};
  [[no_unique_address]] detail::only_if<!one_unit, bytes_type, 8> running_bytes_{};
  // Hashing only: EMPTY headers destroyed since the start, last first
  // (npos, set by the constructor: none), and headers [fresh_, cap_) never used.
  [[no_unique_address]] detail::only_if<!scan_index, I, 9> free_{};
  [[no_unique_address]] detail::only_if<!scan_index, I, 10> fresh_{};
  [[no_unique_address]] async_only<async_op*, 5> op_free_{};
  [[no_unique_address]] detail::geometry_copy<Device> geo_;
  mutable lock_type lock_{};
  [[no_unique_address]] wait_type wait_{};
  [[no_unique_address]] clock_type clock_{};
  [[no_unique_address]] integrity_type integrity_{};
  [[no_unique_address]] hooks_type hooks_{};
  static constexpr std::uint32_t failure_history = 8;
  // A power of two divides 2^32: counts that wrap keep their ring entries,
  // and failure n - failure_history shares n's (first_failure_since).
  static_assert((failure_history & (failure_history - 1)) == 0);
  // The state that starts all zero (the counters, no statistics, no
  // failures, zeroed headers) and the limits, stored over it: one object,
  // so the constructor clears it with one memset instead of a store per
  // member. The counters first, within reach of 16-bit loads and stores
  // (see above), then the limits. The replacement policy's state last:
  // value-initialised with the rest (zeroed, then its member initialisers),
  // and the constructor's reset(cap) then stores only what is not zero
  // (clock_sweep: its cap_, one halfword, instead of 12 bytes of stores
  // after the memset; 12 B less start-up code in the firmware).
  struct zeroed_state {
    std::size_t resident, inflight, dirty_count, running_writes;
    std::uint32_t generation; // a change detector: equality is all that is asked of it
    std::uint32_t write_seq, write_failures, flush_pass;
    limit_state limits;
    [[no_unique_address]] detail::only_if<counting, cache_stats, 9> stats;
    std::uint32_t throttle_next, throttle_serving, throttle_waiting;
    errc failure_code[failure_history];
    header hdr[capacity];
    policy_state policy;
  };
  zeroed_state z_{};
  [[no_unique_address]] detail::only_if<!scan_index, I[bucket_count], 11> bucket_;
  io_slot slot_[slot_count];
  // A slot's bio, constructed by each submission (submit_unlock): left
  // unconstructed until then, so the cache's constructor does not clear it.
  union slot_bio {
    slot_bio() noexcept {}
    bio b;
  };
  slot_bio bios_[slot_count];
  [[no_unique_address]] async_only<std::array<async_op, async_op_count>, 6> op_pool_;
  storage_type storage_;
};

BIOSTACK_NAMESPACE_END
