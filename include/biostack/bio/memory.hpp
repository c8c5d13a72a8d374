// SPDX-License-Identifier: MIT
#pragma once

/// Walking and copying a bio's memory, whether contiguous or scatter-gather.

#include <biostack/bio/bio.hpp>
#include <cstring>

BIOSTACK_NAMESPACE_BEGIN

/// Total bytes described by `b`'s memory past `b.mem_offset` (for a contiguous
/// bio there is no bound to check, so this returns `b.length`).
[[nodiscard]] inline std::uint64_t memory_bytes(const bio& b) noexcept {
  if (b.segment_count == 0) return b.data != nullptr ? b.length : 0;
  std::uint64_t total = 0;
  for (std::uint32_t i = 0; i < b.segment_count; ++i) total += b.segments[i].length;
  return total > b.mem_offset ? total - b.mem_offset : 0;
}

namespace detail {
// Moves the walk of a segment list `skip` bytes into `*s` on by `from`
// bytes more, skipping whole segments as it goes: afterwards `skip` lies
// inside `*s` (or the list is used up). Two 32-bit steps instead of one
// 64-bit sum, which could wrap (a segment list may describe more than 4 GiB
// in all). Out of line when optimising for size: most walks start at the
// bio's first byte and never call it.
BIOSTACK_NOINLINE_FOR_SIZE inline void skip_memory(const segment*& s, std::uint32_t& count,
                                                   std::uint32_t& skip,
                                                   std::uint32_t from) noexcept {
  for (; count != 0; --count, ++s) {
    if (skip >= s->length) {
      skip -= s->length;
      continue;
    }
    const std::uint32_t rest = s->length - skip;
    if (from < rest) {
      skip += from;
      return;
    }
    from -= rest;
    skip = 0;
  }
}
} // namespace detail

/// Calls `f(std::byte* p, std::uint32_t n)` for each contiguous piece of the
/// bio's bytes [`from`, `from + n`), in order. Requires the range to lie inside
/// the bio's memory (as `validate` checks).
template <class F>
void for_each_piece(const bio& b, std::uint32_t from, std::uint32_t n, F&& f) noexcept {
  // Contiguous memory is walked as a list of one segment: one loop, one
  // call site of `f`, for both kinds of memory.
  const segment* s = b.segments;
  std::uint32_t count = b.segment_count;
  std::uint32_t skip = b.mem_offset;
  // Built with its values rather than cleared first (a default segment's
  // zeroes would be stored and then overwritten); its pointer is moved to
  // the window only for contiguous memory (`data` may be null otherwise).
  segment whole{b.data, n};
  if (count == 0) {
    // Two additions: the 32-bit sum could wrap on a 64-bit host.
    whole.data += b.mem_offset;
    whole.data += from;
    s = &whole;
    count = 1;
    skip = 0;
  } else if (from != 0) {
    detail::skip_memory(s, count, skip, from);
  }
  for (; n != 0 && count != 0; --count, ++s) {
    if (skip >= s->length) {
      skip -= s->length;
      continue;
    }
    const std::uint32_t avail = s->length - skip;
    const std::uint32_t take = avail < n ? avail : n;
    f(s->data + skip, take);
    n -= take;
    skip = 0;
  }
}

/// Copies `n` bytes from `src` into the bio's memory at byte `from`.
inline void copy_to_bio(const bio& b, std::uint32_t from, const std::byte* src,
                        std::uint32_t n) noexcept {
  for_each_piece(b, from, n, [&src](std::byte* p, std::uint32_t len) noexcept {
    std::memcpy(p, src, len);
    src += len;
  });
}

/// Copies `n` bytes from the bio's memory at byte `from` into `dst`.
inline void copy_from_bio(const bio& b, std::uint32_t from, std::byte* dst,
                          std::uint32_t n) noexcept {
  for_each_piece(b, from, n, [&dst](std::byte* p, std::uint32_t len) noexcept {
    std::memcpy(dst, p, len);
    dst += len;
  });
}

/// Zeroes `n` bytes of the bio's memory from byte `from`.
inline void zero_bio(const bio& b, std::uint32_t from, std::uint32_t n) noexcept {
  for_each_piece(b, from, n,
                 [](std::byte* p, std::uint32_t len) noexcept { std::memset(p, 0, len); });
}

BIOSTACK_NAMESPACE_END
