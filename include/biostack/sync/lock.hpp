// SPDX-License-Identifier: MIT
#pragma once

/// Lock policies. A component holds one lock object and takes it around its
/// own state only: it never calls into a device or a user callback while
/// holding it.
///
/// A lock policy is a default-constructible type with `lock()` / `unlock()`
/// (both noexcept) and `category = lock_policy_tag`. `null_lock` is the
/// default, for single-context firmware where the user already serialises
/// calls; `std_mutex_lock` (hosted) and a user-supplied critical section (for
/// example one that masks interrupts) are the others.

#include <biostack/config.hpp>
#include <concepts>

BIOSTACK_NAMESPACE_BEGIN

struct lock_policy_tag {};

template <class L>
concept lock_policy = std::default_initializable<L> && requires(L& l) {
  { l.lock() }
  noexcept;
  { l.unlock() }
  noexcept;
};

/// No locking: every call on the component comes from one context at a time.
struct null_lock {
  using category = lock_policy_tag;
  constexpr void lock() noexcept {}
  constexpr void unlock() noexcept {}
};
static_assert(lock_policy<null_lock>);

/// RAII guard for any lock policy.
template <class L>
class lock_guard {
public:
  explicit lock_guard(L& l) noexcept : l_(l) { l_.lock(); }
  ~lock_guard() { l_.unlock(); }
  lock_guard(const lock_guard&) = delete;
  lock_guard& operator=(const lock_guard&) = delete;

private:
  L& l_;
};

BIOSTACK_NAMESPACE_END
