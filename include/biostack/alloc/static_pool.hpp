// SPDX-License-Identifier: MIT
#pragma once

/// A fixed pool of `N` objects inside the owner (static storage, no heap).

#include <biostack/alloc/concepts.hpp>
#include <biostack/assert.hpp>
#include <cstdint>

BIOSTACK_NAMESPACE_BEGIN

/// `N` objects of type `T` stored in the pool itself, handed out LIFO (the
/// most recently freed object is the one most likely still in cache); the
/// ones never handed out yet are taken in order, so the free stack starts
/// empty and needs no start-up code. O(1) allocate and deallocate; not
/// thread-safe on its own (the owner's lock covers it). ISR-safe as far as
/// the owner's lock is.
template <class T, std::size_t N>
class static_object_pool {
  static_assert(N >= 1, "a pool needs at least one object");

public:
  static_object_pool() noexcept = default;
  static_object_pool(const static_object_pool&) = delete;
  static_object_pool& operator=(const static_object_pool&) = delete;

  /// An object, or nullptr when all `N` are out.
  [[nodiscard]] T* allocate() noexcept {
    if (free_count_ != 0) return free_[--free_count_];
    return used_ != N ? &items_[used_++] : nullptr;
  }

  /// Returns `t`, which must come from this pool and be outstanding.
  void deallocate(T* t) noexcept {
    BIOSTACK_DEBUG_ASSERT(t >= items_ && t < items_ + used_);
    BIOSTACK_DEBUG_ASSERT(free_count_ < used_);
    free_[free_count_++] = t;
  }

  /// Objects currently available.
  [[nodiscard]] std::size_t available() const noexcept { return free_count_ + (N - used_); }
  static constexpr std::size_t capacity() noexcept { return N; }

private:
  // The counters first: an owner that embeds the pool reaches them (and the
  // first entries of the free stack) at small offsets from its own address,
  // which short instruction encodings can still express.
  std::size_t free_count_ = 0;
  std::size_t used_ = 0; // items_[used_, N) were never handed out
  T* free_[N];           // returned objects, a stack
  T items_[N];
};

/// Allocation policy: `N` objects per dispatcher, in the dispatcher object
/// (declare the dispatcher static and they land in `.bss`).
template <std::size_t N>
struct static_pool {
  using category = alloc_policy_tag;
  template <class T>
  using pool = static_object_pool<T, N>;
};
static_assert(alloc_policy<static_pool<4>>);

BIOSTACK_NAMESPACE_END
