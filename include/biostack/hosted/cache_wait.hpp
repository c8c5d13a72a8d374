// SPDX-License-Identifier: MIT
#pragma once

/// Hosted wait policy for `buffer_cache`: threads block on a condition
/// variable instead of spinning. Use with a real lock policy
/// (`std_mutex_lock`); completions may arrive from any thread.

#include <biostack/hosted/config_check.hpp>

#include <biostack/cache/wait.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>

BIOSTACK_NAMESPACE_BEGIN

/// Waits on a `std::condition_variable_any` over the cache's own lock. Before
/// sleeping it polls the device once (outside the lock), so polled devices
/// still make progress; a sleeper re-polls every `PollMicros` microseconds in
/// case the device needs polling rather than interrupts.
template <unsigned PollMicros = 200>
class cv_wait {
public:
  using category = wait_policy_tag;
  static constexpr bool single_context = false;

  template <class Lock, class Pred, class Progress, class Clock>
  bool wait(Lock& l, Pred&& ready, Progress&& progress, std::uint64_t deadline,
            Clock& clock) noexcept {
    while (!ready()) {
      if (deadline != no_deadline && clock.now() >= deadline) return false;
      l.unlock();
      const std::size_t did = progress();
      l.lock();
      if (ready()) break;
      if (did == 0) cv_.wait_for(l, std::chrono::microseconds(PollMicros));
    }
    return true;
  }
  void notify() noexcept { cv_.notify_all(); }

private:
  std::condition_variable_any cv_;
};

BIOSTACK_NAMESPACE_END
