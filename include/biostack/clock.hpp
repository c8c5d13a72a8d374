// SPDX-License-Identifier: MIT
#pragma once

/// Clock policies: the library never reads time by itself. Deadlines,
/// timeouts and retry pauses are measured in the ticks of a user-supplied
/// source (a SysTick counter, a hardware timer, `steady_clock` on hosts).

#include <biostack/config.hpp>
#include <concepts>
#include <cstdint>

BIOSTACK_NAMESPACE_BEGIN

struct clock_policy_tag {};

/// A monotonic tick source. `now()` never goes backwards; the unit is the
/// user's (all durations given to the library are in the same unit).
template <class C>
concept tick_source = requires(C& c) {
  { c.now() }
  noexcept->std::convertible_to<std::uint64_t>;
};

/// A clock that only moves when told to: deterministic tests, simulations,
/// and firmware that advances it from a timer interrupt.
class manual_clock {
public:
  using category = clock_policy_tag;
  [[nodiscard]] std::uint64_t now() const noexcept { return now_; }
  void advance(std::uint64_t ticks) noexcept { now_ += ticks; }
  void set(std::uint64_t t) noexcept { now_ = t < now_ ? now_ : t; }

private:
  std::uint64_t now_ = 0;
};
static_assert(tick_source<manual_clock>);

/// No clock: components configured with it offer no timeouts.
struct no_clock {
  using category = clock_policy_tag;
  [[nodiscard]] constexpr std::uint64_t now() const noexcept { return 0; }
};
static_assert(tick_source<no_clock>);

BIOSTACK_NAMESPACE_END
