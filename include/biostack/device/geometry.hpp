// SPDX-License-Identifier: MIT
#pragma once

#include <biostack/config.hpp>
#include <bit>
#include <cstdint>

BIOSTACK_NAMESPACE_BEGIN

namespace detail {
/// Targets whose words are narrower than 64 bits (Cortex-M): there a 64-bit
/// shift or compare is a multi-instruction sequence, and the helpers below
/// do the same work in 32-bit halves for a shift known to be below 32.
inline constexpr bool narrow_words = sizeof(std::uintptr_t) < sizeof(std::uint64_t);

/// True for a non-zero power of two, in the 32-bit width of the geometry's
/// size fields.
[[nodiscard]] constexpr bool is_pow2_32(std::uint32_t v) noexcept {
  return v != 0 && (v & (v - 1u)) == 0;
}

/// True when any of the top `count` bits of `v` is set, for `count` below 32,
/// with 32-bit operations only: `v > (UINT64_MAX >> count)` for 32-bit
/// targets. Two shifts, as one by 32 would be undefined for `count == 0`.
[[nodiscard]] constexpr bool top_bits_set(std::uint64_t v, int count) noexcept {
  const auto high = static_cast<std::uint32_t>(v >> 32);
  return ((high >> 1) >> (31 - count)) != 0;
}

/// `v << shift` for a shift below 32, in 32-bit halves (a general 64-bit
/// shift is twice the code on 32-bit targets). Two shifts for the bits that
/// cross into the high half, as one by 32 would be undefined for `shift == 0`.
[[nodiscard]] constexpr std::uint64_t shift_left_below_32(std::uint64_t v, int shift) noexcept {
  const auto lo = static_cast<std::uint32_t>(v);
  const auto hi = static_cast<std::uint32_t>(v >> 32);
  return (std::uint64_t{(hi << shift) | ((lo >> 1) >> (31 - shift))} << 32) | (lo << shift);
}
/// `v >> shift` for a shift below 32, in 32-bit halves: a general 64-bit
/// shift, which does not know the bound, is twice the code on 32-bit targets.
[[nodiscard]] constexpr std::uint64_t shift_right_below_32(std::uint64_t v, int shift) noexcept {
  const auto lo = static_cast<std::uint32_t>(v);
  const auto hi = static_cast<std::uint32_t>(v >> 32);
  // (hi << 1) << (31 - shift): the bits that move into the low half, without
  // the undefined shift by 32 that `hi << (32 - shift)` would be for 0.
  return (std::uint64_t{hi >> shift} << 32) | (lo >> shift) | ((hi << 1) << (31 - shift));
}
} // namespace detail

/// What a device tells its users about itself. Every layer validates requests
/// against it; splitters honour its transfer limits; caches align their
/// buffers to `alignment`.
struct device_geometry {
  std::uint32_t block_size = 512; ///< bytes; offsets and lengths are multiples of it
  std::uint64_t block_count = 0;  ///< capacity in blocks
  std::uint32_t max_transfer = 0; ///< largest single request in bytes (0: unlimited)
  std::uint16_t max_segments = 0; ///< largest scatter-gather list (0: unlimited)
  std::uint32_t alignment = 1;    ///< required alignment of memory addresses (power of two)
  bool read_only = false;
  bool supports_flush = true;         ///< accepts op::flush
  bool supports_discard = false;      ///< accepts op::discard
  bool supports_write_zeroes = false; ///< accepts op::write_zeroes
  bool supports_fua = false;          ///< honours bio_flags::fua natively
  bool volatile_cache = false;        ///< completed writes need a flush to be durable

  /// Capacity in bytes (saturates instead of wrapping). Block sizes are
  /// powers of two (see `valid()`); for any other block size the capacity is
  /// 0, so nothing validates against a malformed geometry. Uses shifts only:
  /// no 64-bit division is pulled into small images.
  [[nodiscard]] constexpr std::uint64_t capacity() const noexcept {
    if (!detail::is_pow2_32(block_size)) return 0;
    const int shift = std::countr_zero(block_size);
    // Saturate when the shift would push set bits out of the top (on 32-bit
    // targets tested on the high word alone: a 64-bit shift is long there).
    if (detail::narrow_words ? detail::top_bits_set(block_count, shift)
                             : block_count > (UINT64_MAX >> shift))
      return UINT64_MAX;
    return detail::narrow_words ? detail::shift_left_below_32(block_count, shift)
                                : block_count << shift;
  }

  /// True for a non-zero power of two.
  [[nodiscard]] static constexpr bool is_pow2(std::uint64_t v) noexcept {
    return v != 0 && (v & (v - 1)) == 0;
  }

  /// True when the values are usable: block size a non-zero power of two,
  /// alignment a non-zero power of two, max_transfer a multiple of block size.
  [[nodiscard]] constexpr bool valid() const noexcept {
    // One test of the three masks together: fewer branches, less code.
    return block_size != 0 && alignment != 0 &&
           ((block_size & (block_size - 1u)) | (alignment & (alignment - 1u)) |
            (max_transfer & (block_size - 1u))) == 0;
  }
};

BIOSTACK_NAMESPACE_END
