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

namespace detail {

// Where validation reads the geometry from: a geometry held at run time, or
// one fixed at compile time (a template parameter object), whose fields then
// fold into the checks. The checks themselves exist once (`validate_with`).
struct runtime_geometry_ref {
  static constexpr bool capacity_fits_32 = false; // not known
  const device_geometry& g;
  [[nodiscard]] constexpr const device_geometry& get() const noexcept { return g; }
};
template <device_geometry G>
struct constant_geometry_ref {
  static constexpr bool capacity_fits_32 = G.capacity() <= UINT32_MAX;
  [[nodiscard]] static constexpr const device_geometry& get() noexcept { return G; }
};

// The checks `validate` documents, against the geometry `ref` gives.
template <class GeometryRef>
[[nodiscard]] errc validate_with(const bio& b, GeometryRef ref) noexcept {
  const device_geometry& g = ref.get();
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
  if constexpr (GeometryRef::capacity_fits_32) {
    // A constant capacity below 2^32 (0 for a block size that is not a power
    // of two): the offset's high word must be zero (anything else is past the
    // end), then the end of two 32-bit values, which cannot wrap in 64 bits,
    // is compared with it: an add with carry and one compare, instead of two
    // compares and a subtraction.
    constexpr auto cap = static_cast<std::uint32_t>(GeometryRef::get().capacity());
    const auto off = static_cast<std::uint32_t>(b.offset);
    if ((b.offset >> 32) != 0 || std::uint64_t{off} + len > cap) return errc::out_of_range;
  } else {
    if (!detail::is_pow2_32(bs)) return errc::out_of_range;
    const std::uint64_t end = b.offset + len;
    if (end < b.offset) return errc::out_of_range;
    const std::uint64_t last = end - 1u;
    const int shift = std::countr_zero(bs);
    const std::uint64_t last_block =
        detail::narrow_words ? detail::shift_right_below_32(last, shift) : last >> shift;
    if (last_block >= g.block_count) return errc::out_of_range;
  }
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
  // Segments still allowed; only counted when there is a limit (a constant
  // geometry without one then has no counter at all).
  std::uint32_t budget = g.max_segments;
  for (; n != 0 && left != 0; --n, ++s) {
    if (skip >= s->length) {
      skip -= s->length;
      continue;
    }
    if (s->data == nullptr || (g.max_segments != 0 && budget-- == 0)) return errc::invalid_argument;
    if (((reinterpret_cast<std::uintptr_t>(s->data) + skip) & mask) != 0) st = errc::misaligned;
    const std::uint32_t avail = s->length - skip;
    left -= avail < left ? avail : left;
    skip = 0;
  }
  return left == 0 ? st : errc::invalid_argument;
}

} // namespace detail

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
  return detail::validate_with(b, detail::runtime_geometry_ref{g});
}

/// `validate(b, G)` for a geometry fixed at compile time (a device's
/// `constant_geometry`, see `constant_geometry_device`): the same checks in
/// the same order with the same results, but what the geometry decides
/// (operations offered, read-only, block size, capacity, alignment, segment
/// limit) is folded in by the compiler, and a capacity below 4 GiB is
/// checked in 32-bit words, so the code is smaller and faster. Layers over
/// the same constant share one instance.
/// Complexity: O(segment_count). ISR-safe.
template <device_geometry G>
[[nodiscard]] errc validate(const bio& b) noexcept {
  return detail::validate_with(b, detail::constant_geometry_ref<G>{});
}

BIOSTACK_NAMESPACE_END
