// SPDX-License-Identifier: MIT
#pragma once

/// Ordered write classes and owner hooks, after HAMMER's I/O layer.
///
/// A classes policy names the buffer classes (for example VOLUME, META, UNDO,
/// DATA), the stage in which each class's dirty set reaches stable storage
/// during `sync()` (stage 0 first, a device flush as a barrier between
/// stages), whether the cache may write the class on its own (`flush_step`)
/// or only when the owner asks (`sync`, `flush_block`), and whether a write
/// error on it is critical (pin the buffer, call the critical-error hook,
/// never retry behind the owner's back) or retried by the flusher.
///
/// Owner hooks let the object that owns a buffer veto what the cache does
/// with it: `check_write` (allow / defer once / pin), `on_complete` after each
/// write, `may_reclaim` before reuse, `on_reclaim` when a buffer is reused
/// (optional), and `on_critical_error`.
///
/// Context: `check_write`, `on_complete` and `on_critical_error` run without
/// the cache lock (they may call the cache). `may_reclaim` and `on_reclaim`
/// run inside the victim search, with the cache lock held: they must be
/// quick, must not block and must not call the cache.

#include <biostack/errc.hpp>
#include <concepts>
#include <cstddef>
#include <cstdint>

BIOSTACK_NAMESPACE_BEGIN

struct write_classes_tag {};
struct owner_hooks_tag {};

/// One class: its sync stage, whether the cache may write it on its own, and
/// whether write errors on it are critical.
template <unsigned Stage, bool CacheMayWrite = true, bool CriticalOnError = false>
struct class_spec {
  static constexpr std::uint8_t stage = Stage;
  static constexpr bool cache_may_write = CacheMayWrite;
  static constexpr bool critical_on_error = CriticalOnError;
};

/// The classes of a cache, numbered 0.. in the order listed.
template <class... Specs>
struct ordered_classes {
  using category = write_classes_tag;
  static_assert(sizeof...(Specs) >= 1 && sizeof...(Specs) <= 16, "1 to 16 classes");
  static constexpr std::size_t count = sizeof...(Specs);
  static constexpr std::uint8_t stage[count] = {Specs::stage...};
  static constexpr bool cache_may_write[count] = {Specs::cache_may_write...};
  static constexpr bool critical_on_error[count] = {Specs::critical_on_error...};
  static constexpr std::uint8_t stages = [] {
    std::uint8_t m = 0;
    for (std::uint8_t s : {Specs::stage...}) m = s > m ? s : m;
    return static_cast<std::uint8_t>(m + 1);
  }();
};

/// The default: one class, written by the cache, errors retried.
using single_class = ordered_classes<class_spec<0>>;

/// What the owner says about a write the cache wants to start on its own.
enum class write_decision : std::uint8_t {
  allow, ///< write it
  defer, ///< not now (dependencies outstanding): skipped once, written next time
  pin,   ///< never by the cache: the buffer is pinned until the owner unpins it
};

/// What hooks learn about a buffer.
struct buffer_info {
  std::uint64_t lbn;
  std::uint32_t size;
  std::uint8_t cls;
  std::uint8_t holds; ///< bqhold count
  bool by_owner;      ///< the write is part of the owner's `sync()` (not the flusher's)
};

template <class H>
concept owner_hooks = requires(H& h, const buffer_info& b, errc e) {
  { h.check_write(b) }
  noexcept->std::same_as<write_decision>;
  { h.on_complete(b, e) }
  noexcept;
  { h.may_reclaim(b) }
  noexcept->std::same_as<bool>;
  { h.on_critical_error(b, e) }
  noexcept;
};

/// Whether hooks `H` want to hear of reclaimed buffers (`on_reclaim` is
/// optional, so hooks written before it existed still satisfy the concept).
template <class H>
concept owner_hooks_with_reclaim = owner_hooks<H> && requires(H& h, const buffer_info& b) {
  { h.on_reclaim(b) }
  noexcept;
};

/// No owner: every write allowed, every clean buffer reclaimable.
struct no_owner_hooks {
  using category = owner_hooks_tag;
  constexpr write_decision check_write(const buffer_info&) noexcept {
    return write_decision::allow;
  }
  constexpr void on_complete(const buffer_info&, errc) noexcept {}
  constexpr bool may_reclaim(const buffer_info&) noexcept { return true; }
  /// The victim search took the clean buffer of `b.lbn` for reuse: its
  /// contents are forgotten (not called for `invalidate` or a size change,
  /// which the owner asked for).
  constexpr void on_reclaim(const buffer_info&) noexcept {}
  constexpr void on_critical_error(const buffer_info&, errc) noexcept {}
};
static_assert(owner_hooks_with_reclaim<no_owner_hooks>);

BIOSTACK_NAMESPACE_END
