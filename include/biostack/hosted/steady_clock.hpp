// SPDX-License-Identifier: MIT
#pragma once

/// `std::chrono::steady_clock` as a tick source, in nanoseconds.

#include <biostack/clock.hpp>
#include <biostack/hosted/config_check.hpp>
#include <chrono>

BIOSTACK_NAMESPACE_BEGIN

struct steady_clock_ns {
  using category = clock_policy_tag;
  [[nodiscard]] std::uint64_t now() const noexcept {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
  }
};
static_assert(tick_source<steady_clock_ns>);

BIOSTACK_NAMESPACE_END
