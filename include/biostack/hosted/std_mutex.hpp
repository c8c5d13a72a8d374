// SPDX-License-Identifier: MIT
#pragma once

/// Lock policy over `std::mutex`, for hosted multi-threaded use.

#include <biostack/hosted/config_check.hpp>
#include <biostack/sync/lock.hpp>
#include <mutex>

BIOSTACK_NAMESPACE_BEGIN

/// `std::mutex` as a lock policy. `lock()` is noexcept: a failure to lock a
/// standard mutex means the program is already broken, and the library then
/// terminates rather than continue unsynchronised.
class std_mutex_lock {
public:
  using category = lock_policy_tag;
  void lock() noexcept { m_.lock(); }
  void unlock() noexcept { m_.unlock(); }
  /// The underlying mutex, for condition-variable waits.
  [[nodiscard]] std::mutex& native() noexcept { return m_; }

private:
  std::mutex m_;
};
static_assert(lock_policy<std_mutex_lock>);

BIOSTACK_NAMESPACE_END
