// SPDX-License-Identifier: MIT
#pragma once

/// Request validation shared by every layer, so that bad input gets the same
/// clear status whichever layer sees it first.

#include <biostack/bio/memory.hpp>
#include <biostack/device/geometry.hpp>
#include <bit>

BIOSTACK_NAMESPACE_BEGIN

/// Checks that [`offset`, `offset + length`) lies inside `capacity` without
/// computing a sum that could wrap.
[[nodiscard]] constexpr bool range_fits(std::uint64_t offset, std::uint64_t length,
                                        std::uint64_t capacity) noexcept {
  return offset <= capacity && length <= capacity - offset;
}

/// Validates `b` against `g`. Checks, in this order, returning the first
/// failure:
/// 1. operation known (`invalid_argument`) and offered by the device
///    (`not_supported`);
/// 2. no modification of a read-only device (`read_only`);
/// 3. flush: no range (`invalid_argument` if length != 0), then done;
/// 4. non-zero length (`invalid_argument`);
/// 5. `offset + length` within the capacity, overflow-safe (`out_of_range`);
/// 6. offset and length multiples of the block size (`misaligned`);
/// 7. for reads and writes: memory present and large enough, and no more
///    than `g.max_segments` segments under the bio's range
///    (`invalid_argument`); every address aligned to `g.alignment`
///    (`misaligned`).
/// Complexity: O(segment_count). ISR-safe.
[[nodiscard]] inline errc validate(const bio& b, const device_geometry& g) noexcept {
  const op o = b.operation;
  // Reads and writes, the common case, pass the operation checks with a
  // compare or two; the other operations and garbage values go the long way.
  if (o != op::read) {
    if (o != op::write) {
      bool offered = false;
      switch (o) {
      case op::flush: offered = g.supports_flush; break;
      case op::discard: offered = g.supports_discard; break;
      case op::write_zeroes: offered = g.supports_write_zeroes; break;
      default: return errc::invalid_argument;
      }
      if (!offered) return errc::not_supported;
      if (o == op::flush) return b.length == 0 ? errc::ok : errc::invalid_argument;
    }
    if (g.read_only) return errc::read_only; // every operation left modifies
  }
  const std::uint32_t len = b.length;
  if (len == 0) return errc::invalid_argument;

  // The range, overflow-safe and against the capacity the geometry implies
  // (`capacity()`, saturated at 2^64 - 1) without computing it: the end must
  // not wrap, and the block holding the last byte must exist. A block size
  // that is not a power of two has capacity 0: nothing fits.
  const std::uint32_t bs = g.block_size;
  if (!detail::is_pow2_32(bs)) return errc::out_of_range;
  const std::uint64_t end = b.offset + len;
  if (end < b.offset) return errc::out_of_range;
  const std::uint64_t last = end - 1u;
  const int shift = std::countr_zero(bs);
  const std::uint64_t last_block =
      detail::narrow_words ? detail::shift_right_below_32(last, shift) : last >> shift;
  if (last_block >= g.block_count) return errc::out_of_range;
  // Only the low word matters: the block size is a 32-bit power of two.
  if (((static_cast<std::uint32_t>(b.offset) | len) & (bs - 1u)) != 0) return errc::misaligned;
  if (!carries_data(o)) return errc::ok;

  const std::uintptr_t mask = g.alignment > 1 ? g.alignment - 1u : 0u;
  std::uint32_t n = b.segment_count;
  if (n == 0) {
    if (b.data == nullptr) return errc::invalid_argument;
    if (((reinterpret_cast<std::uintptr_t>(b.data) + b.mem_offset) & mask) != 0)
      return errc::misaligned;
    return errc::ok;
  }
  const segment* s = b.segments;
  if (s == nullptr) return errc::invalid_argument;
  // Only the segments under [mem_offset, mem_offset + length) matter: a child
  // of a split shares its parent's whole list, so they alone count against
  // max_segments, and only they must be present and aligned. Every
  // invalid_argument outranks a misalignment, so the walk notes the latter
  // and goes on; memory that ends before the range does is invalid.
  errc st = errc::ok;
  std::uint32_t skip = b.mem_offset;
  std::uint32_t left = len;
  std::uint32_t budget = g.max_segments != 0 ? g.max_segments : UINT32_MAX;
  for (; n != 0 && left != 0; --n, ++s) {
    if (skip >= s->length) {
      skip -= s->length;
      continue;
    }
    if (s->data == nullptr || budget-- == 0) return errc::invalid_argument;
    if (((reinterpret_cast<std::uintptr_t>(s->data) + skip) & mask) != 0) st = errc::misaligned;
    const std::uint32_t avail = s->length - skip;
    left -= avail < left ? avail : left;
    skip = 0;
  }
  return left == 0 ? st : errc::invalid_argument;
}

BIOSTACK_NAMESPACE_END
