// SPDX-License-Identifier: MIT
#pragma once

/// Fixed-size pieces (illumos xbuf `brksize`), never larger than the device's
/// own `max_transfer` either.

#include <biostack/split/concepts.hpp>

BIOSTACK_NAMESPACE_BEGIN

/// Pieces of at most `Bytes` bytes, rounded down to whole blocks (at least one
/// block), and within the device's `max_transfer`.
template <std::uint32_t Bytes>
struct max_transfer {
  static_assert(Bytes != 0, "max_transfer<0> would never make progress");
  using category = split_policy_tag;
  static constexpr bool splits = true;
  [[nodiscard]] std::uint32_t chunk(const bio& b, std::uint32_t done,
                                    const device_geometry& g) const noexcept {
    const std::uint32_t rest = b.length - done;
    std::uint64_t limit = Bytes;
    if (g.max_transfer != 0 && g.max_transfer < limit) limit = g.max_transfer;
    if (rest <= limit) return rest;
    return detail::round_down_blocks(limit, g.block_size);
  }
};
static_assert(split_policy<max_transfer<4096>>);

BIOSTACK_NAMESPACE_END
