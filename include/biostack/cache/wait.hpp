// SPDX-License-Identifier: MIT
#pragma once

/// Wait policies: how a blocking cache call waits for an asynchronous event
/// (an I/O completion, a buffer released by another context). The blocking
/// calls are built from their async twins plus one of these.
///
/// A wait policy offers
///
///     template <class Lock, class Pred, class Progress>
///     bool wait(Lock& l, Pred ready, Progress progress, std::uint64_t deadline, Clock&);
///     void notify() noexcept;
///     static constexpr bool single_context;
///
/// `wait` is called with `l` held and returns with it held: true once
/// `ready()` holds, false once the clock passes `deadline`. `progress()` polls
/// the device (called without the lock). `single_context` says nobody else can
/// run meanwhile: waiting for a buffer that another handle holds would never
/// end, so the cache answers `no_resources` at once instead.

#include <biostack/clock.hpp>
#include <cstddef>
#include <cstdint>

BIOSTACK_NAMESPACE_BEGIN

struct wait_policy_tag {};

/// Deadline meaning "wait as long as it takes".
inline constexpr std::uint64_t no_deadline = UINT64_MAX;

/// Bare-metal waiting: spin, polling the device, until the condition holds.
/// Completions arrive either from `poll()` or from an interrupt. `MaxIdle`
/// (0 = unlimited) bounds consecutive polls that report no work, after which
/// the wait gives up as if timed out: a guard against a device that never
/// completes.
template <std::size_t MaxIdle = 0>
struct poll_wait {
  using category = wait_policy_tag;
  static constexpr bool single_context = true;

  template <class Lock, class Pred, class Progress, class Clock>
  bool wait(Lock& l, Pred&& ready, Progress&& progress, std::uint64_t deadline,
            Clock& clock) noexcept {
    std::size_t idle = 0;
    while (!ready()) {
      if (deadline != no_deadline && clock.now() >= deadline) return false;
      l.unlock();
      const std::size_t did = progress();
      l.lock();
      idle = did != 0 ? 0 : idle + 1;
      if (MaxIdle != 0 && idle >= MaxIdle && !ready()) return false;
    }
    return true;
  }
  void notify() noexcept {}
};

BIOSTACK_NAMESPACE_END
