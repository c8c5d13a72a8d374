// SPDX-License-Identifier: MIT
#pragma once

/// Never split: a request must fit the device in one piece; the dispatcher
/// refuses one larger than the device's `max_transfer` with `invalid_argument`.

#include <biostack/split/concepts.hpp>

BIOSTACK_NAMESPACE_BEGIN

struct no_split {
  using category = split_policy_tag;
  static constexpr bool splits = false;
  [[nodiscard]] std::uint32_t chunk(const bio& b, std::uint32_t done,
                                    const device_geometry&) const noexcept {
    return b.length - done;
  }
};
static_assert(split_policy<no_split>);

/// The device's own limits: pieces of at most `max_transfer` bytes (no split
/// when the device states none).
struct device_limits {
  using category = split_policy_tag;
  static constexpr bool splits = true;
  [[nodiscard]] std::uint32_t chunk(const bio& b, std::uint32_t done,
                                    const device_geometry& g) const noexcept {
    const std::uint32_t rest = b.length - done;
    if (g.max_transfer == 0 || rest <= g.max_transfer) return rest;
    return detail::round_down_blocks(g.max_transfer, g.block_size);
  }
};
static_assert(split_policy<device_limits>);

BIOSTACK_NAMESPACE_END
