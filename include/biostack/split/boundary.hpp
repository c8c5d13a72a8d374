// SPDX-License-Identifier: MIT
#pragma once

/// Pieces that never cross a `Bytes` boundary on the device (an erase block,
/// a RAID stripe unit, an SSD's optimal I/O boundary), and within the
/// device's `max_transfer`.

#include <biostack/split/concepts.hpp>

BIOSTACK_NAMESPACE_BEGIN

template <std::uint64_t Bytes>
struct boundary {
  static_assert(Bytes != 0, "boundary<0> has no boundaries");
  using category = split_policy_tag;
  static constexpr bool splits = true;
  [[nodiscard]] std::uint32_t chunk(const bio& b, std::uint32_t done,
                                    const device_geometry& g) const noexcept {
    const std::uint64_t pos = b.offset + done;
    const std::uint64_t to_boundary = Bytes - pos % Bytes;
    std::uint64_t limit = b.length - done;
    if (to_boundary < limit) limit = to_boundary;
    if (g.max_transfer != 0 && g.max_transfer < limit) limit = g.max_transfer;
    if (limit == b.length - done) return static_cast<std::uint32_t>(limit);
    // A boundary that is not block aligned cannot be honoured exactly; the
    // piece still ends on a block so the device accepts it.
    return detail::round_down_blocks(limit, g.block_size);
  }
};
static_assert(split_policy<boundary<65536>>);

BIOSTACK_NAMESPACE_END
