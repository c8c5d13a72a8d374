// SPDX-License-Identifier: MIT
#pragma once

/// Request validation shared by every layer, so that bad input gets the same
/// clear status whichever layer sees it first.

#include <biostack/bio/memory.hpp>
#include <biostack/device/geometry.hpp>

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
  switch (b.operation) {
  case op::read:
  case op::write: break;
  case op::flush:
    if (!g.supports_flush) return errc::not_supported;
    break;
  case op::discard:
    if (!g.supports_discard) return errc::not_supported;
    break;
  case op::write_zeroes:
    if (!g.supports_write_zeroes) return errc::not_supported;
    break;
  default: return errc::invalid_argument;
  }
  if (g.read_only && modifies(b.operation)) return errc::read_only;
  if (b.operation == op::flush) return b.length == 0 ? errc::ok : errc::invalid_argument;
  if (b.length == 0) return errc::invalid_argument;
  if (!range_fits(b.offset, b.length, g.capacity())) return errc::out_of_range;
  // capacity() is 0 for a block size that is not a power of two, so a
  // malformed geometry has already failed the range check above.
  if (((b.offset | b.length) & (g.block_size - 1u)) != 0) return errc::misaligned;
  if (!carries_data(b.operation)) return errc::ok;

  const std::uintptr_t mask = g.alignment > 1 ? g.alignment - 1u : 0u;
  if (b.segment_count == 0) {
    if (b.data == nullptr) return errc::invalid_argument;
    if ((reinterpret_cast<std::uintptr_t>(b.data + b.mem_offset) & mask) != 0)
      return errc::misaligned;
    return errc::ok;
  }
  if (b.segments == nullptr) return errc::invalid_argument;
  if (memory_bytes(b) < b.length) return errc::invalid_argument;
  // Only the segments under [mem_offset, mem_offset + length) matter: a child
  // of a split shares its parent's whole list, so they alone count against
  // max_segments, and only they must be present and aligned.
  errc st = errc::ok;
  std::uint64_t skip = b.mem_offset;
  std::uint32_t left = b.length;
  std::uint32_t touched = 0;
  for (std::uint32_t i = 0; i < b.segment_count && left != 0; ++i) {
    const segment& s = b.segments[i];
    if (skip >= s.length) {
      skip -= s.length;
      continue;
    }
    if (s.data == nullptr) return errc::invalid_argument;
    if (g.max_segments != 0 && ++touched > g.max_segments) return errc::invalid_argument;
    if ((reinterpret_cast<std::uintptr_t>(s.data + skip) & mask) != 0) st = errc::misaligned;
    const std::uint64_t avail = s.length - skip;
    left -= avail < left ? static_cast<std::uint32_t>(avail) : left;
    skip = 0;
  }
  return st;
}

BIOSTACK_NAMESPACE_END
