// SPDX-License-Identifier: MIT
#pragma once

/// Split policies: how a request larger than the device (or the layout)
/// allows is cut into pieces. The dispatcher issues the pieces as fan-in
/// children of the original bio (first error wins, residuals add up), in
/// ascending order, and never lets another request overtake a half-issued
/// one (illumos xbuf keeps the parent at the queue head until its last chunk
/// has been issued).
///
/// A split policy is default-constructible with
/// `std::uint32_t chunk(const bio& b, std::uint32_t done, const device_geometry& g) const
/// noexcept`: the length of the next piece starting `done` bytes into `b`. It returns a multiple of
/// `g.block_size` in [block_size, b.length - done] (or exactly the rest). `splits` is false only
/// for policies that never split, so the dispatcher can drop the machinery at compile time.

#include <biostack/bio/bio.hpp>
#include <biostack/device/geometry.hpp>
#include <concepts>
#include <cstdint>

BIOSTACK_NAMESPACE_BEGIN

struct split_policy_tag {};

template <class S>
concept split_policy = std::default_initializable<S> &&
    requires(const S& s, const bio& b, std::uint32_t done, const device_geometry& g) {
  { S::splits } -> std::convertible_to<bool>;
  { s.chunk(b, done, g) }
  noexcept->std::same_as<std::uint32_t>;
};

namespace detail {
// Largest multiple of `block` not above `limit`, but at least one block:
// a limit under one block cannot be honoured and must not stall the queue.
[[nodiscard]] constexpr std::uint32_t round_down_blocks(std::uint64_t limit,
                                                        std::uint32_t block) noexcept {
  const std::uint64_t r = limit - limit % block;
  return static_cast<std::uint32_t>(r < block ? block : r);
}
[[nodiscard]] constexpr std::uint32_t min_u32(std::uint64_t a, std::uint64_t b) noexcept {
  return static_cast<std::uint32_t>(a < b ? a : b);
}
} // namespace detail

BIOSTACK_NAMESPACE_END
