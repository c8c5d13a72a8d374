// SPDX-License-Identifier: MIT
#pragma once

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven and
/// freestanding: the 1 KiB table is computed at compile time and lives in
/// read-only memory. Used by the cache's integrity policy for checked reads.

#include <biostack/config.hpp>
#include <concepts>
#include <cstddef>
#include <cstdint>

BIOSTACK_NAMESPACE_BEGIN

namespace detail {
struct crc32c_table {
  std::uint32_t v[256];
};
constexpr crc32c_table make_crc32c_table() noexcept {
  crc32c_table t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t.v[i] = c;
  }
  return t;
}
inline constexpr crc32c_table crc32c_lut = make_crc32c_table();
} // namespace detail

/// Continues a CRC-32C over `n` bytes at `p`. Start with `crc = 0`; feeding a
/// message in pieces gives the same value as feeding it whole.
/// Complexity: O(n), one table lookup per byte. ISR-safe, reentrant.
[[nodiscard]] constexpr std::uint32_t crc32c(const std::byte* p, std::size_t n,
                                             std::uint32_t crc = 0) noexcept {
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i)
    crc = detail::crc32c_lut.v[(crc ^ static_cast<std::uint32_t>(p[i])) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

struct integrity_policy_tag {};

/// An integrity policy: `checksum(data, n)` for checked reads, and
/// `finalize(lbn, data, n)` called on a buffer's bytes just before its write
/// is submitted (for example to store a checksum in a block trailer).
template <class P>
concept integrity_policy = requires(P& p, const std::byte* cp, std::byte* mp, std::size_t n,
                                    std::uint64_t lbn) {
  { P::enabled } -> std::convertible_to<bool>;
  { p.checksum(cp, n) }
  noexcept->std::convertible_to<std::uint32_t>;
  { p.finalize(lbn, mp, n) }
  noexcept;
};

/// No checksums: checked reads answer `not_supported`; nothing is finalised.
struct no_integrity {
  using category = integrity_policy_tag;
  static constexpr bool enabled = false;
  [[nodiscard]] constexpr std::uint32_t checksum(const std::byte*, std::size_t) const noexcept {
    return 0;
  }
  constexpr void finalize(std::uint64_t, std::byte*, std::size_t) const noexcept {}
};
static_assert(integrity_policy<no_integrity>);

/// CRC-32C checked reads. `Finalizer` (default: none) is a callable type
/// `void(std::uint64_t lbn, std::byte* data, std::size_t n) noexcept`, default
/// constructed, run just before each write is submitted.
struct no_finalizer {
  constexpr void operator()(std::uint64_t, std::byte*, std::size_t) const noexcept {}
};
template <class Finalizer = no_finalizer>
struct crc32c_integrity {
  using category = integrity_policy_tag;
  static constexpr bool enabled = true;
  [[nodiscard]] constexpr std::uint32_t checksum(const std::byte* p, std::size_t n) const noexcept {
    return crc32c(p, n);
  }
  void finalize(std::uint64_t lbn, std::byte* p, std::size_t n) noexcept { fin(lbn, p, n); }
  [[no_unique_address]] Finalizer fin{};
};
static_assert(integrity_policy<crc32c_integrity<>>);

BIOSTACK_NAMESPACE_END
