// SPDX-License-Identifier: MIT
#pragma once

/// Chains of bios: one-to-one layering and fan-in of children into a parent.
///
/// Fan-in (the nested-I/O pattern: split, striping, merged requests):
///
///     begin_fan_in(parent);              // a placeholder keeps it open
///     for (each piece) { init_child(c, parent, off, len); add_child(parent, c); submit(c); }
///     end_fan_in(parent);                // drops the placeholder
///
/// The parent completes exactly once, after its last child **and** after
/// `end_fan_in`, whatever order and context the children complete in. The
/// first error recorded wins; residuals add up; a child that completes short
/// without an error makes the parent fail with `io_error`.

#include <biostack/bio/bio.hpp>
#include <biostack/bio/memory.hpp>

BIOSTACK_NAMESPACE_BEGIN

/// Opens a fan-in on `parent`. Requires: `parent` is not yet completed and
/// has no children outstanding.
inline void begin_fan_in(bio& parent) noexcept {
  BIOSTACK_ASSERT(detail::bio_access::may_become_parent(parent) &&
                  "begin_fan_in on a completed parent or one with children");
  detail::bio_access::set_pending(parent, true);
}

/// Registers `child` under `parent`; call before submitting the child.
/// Requires an open fan-in (between `begin_fan_in` and `end_fan_in`), and
/// fewer than 2^31 children outstanding under one parent (the count's top
/// bit marks the open fan-in).
inline void add_child(bio& parent, bio& child) noexcept {
  child.parent = &parent;
  // Checked on the count the child joined, which says whether the fan-in
  // was open (a misuse counts the child too, but panics).
  [[maybe_unused]] const bool open = detail::bio_access::add_pending(parent);
  BIOSTACK_ASSERT(open && "add_child outside begin_fan_in/end_fan_in");
}

/// Closes the fan-in: if every child has already completed (or none was
/// added), the parent completes here, in the caller's context.
inline void end_fan_in(bio& parent) noexcept {
  // Checked on the count the closing dropped the open mark from, not on the
  // parent after it (which may already be completed and reused): a fan-in
  // closed before has no mark, so closing it again panics instead of
  // completing the parent early.
  const std::uint32_t before = detail::bio_access::close_fan_in(parent);
  BIOSTACK_ASSERT(detail::bio_access::was_open(before) && "end_fan_in without an open fan-in");
  if (detail::bio_access::is_last(before)) end_io(parent);
}

namespace detail {
// init_child's rare case: the child's memory starts 4 GiB or more past the
// start of the memory the parent's pointers name, which a 32-bit
// `mem_offset` cannot say. The child names memory further in instead: the
// parent's first byte (contiguous), or the segment its first byte lies in.
BIOSTACK_COLD inline void rebase_child_memory(bio& child, const bio& parent,
                                              std::uint32_t delta) noexcept {
  if (parent.segment_count == 0) {
    if (parent.data != nullptr) { // else invalid memory, refused as such
      child.data = parent.data + parent.mem_offset;
      child.mem_offset = delta;
    }
    return;
  }
  const segment* s = parent.segments;
  std::uint32_t count = parent.segment_count;
  std::uint32_t skip = parent.mem_offset;
  skip_memory(s, count, skip, delta);
  child.segments = s;
  child.segment_count = static_cast<std::uint16_t>(count);
  child.mem_offset = skip;
}
} // namespace detail

/// Fills `child` as the slice [`delta`, `delta + len`) of `parent`: same
/// operation, flags and priority, offset advanced by `delta`, the same memory
/// viewed from `delta` bytes further in. Linkage and completion are left
/// empty; the child is rearmed. Requires `delta + len <= parent.length`,
/// and on a 32-bit target `parent.mem_offset + delta < 2^32` (a 64-bit host
/// takes any window: the child then names memory further in).
inline void init_child(bio& child, const bio& parent, std::uint32_t delta,
                       std::uint32_t len) noexcept {
  BIOSTACK_ASSERT(delta <= parent.length && len <= parent.length - delta);
  // Every field written once (not prepare() and then the copies over it).
  // The three adjacent request fields are read before anything is written:
  // as far as the compiler knows, `child` may be `parent`, and read between
  // the writes they would be copied byte by byte, not as one word.
  const op o = parent.operation;
  const bio_flags f = parent.flags;
  const std::uint16_t sc = parent.segment_count;
  child.offset = parent.offset + delta;
  child.length = len;
  child.operation = o;
  child.flags = f;
  child.segment_count = sc;
  child.priority = parent.priority;
  const bool memory = carries_data(o);
  child.mem_offset = memory ? parent.mem_offset + delta : 0;
  child.data = parent.data;
  child.segments = parent.segments;
  if constexpr (sizeof(void*) > 4) {
    if (BIOSTACK_UNLIKELY(memory && child.mem_offset < delta)) // the sum wrapped
      detail::rebase_child_memory(child, parent, delta);
  } else {
    // A 32-bit address space holds no memory window reaching 4 GiB past
    // its start (but for a segment list naming the same bytes over again).
    BIOSTACK_DEBUG_ASSERT((!memory || child.mem_offset >= delta) &&
                          "memory window reaches 4 GiB past its start");
  }
  child.on_done = {};
  detail::bio_access::unlink(child);
}

/// Makes `lower` a one-to-one layer below `upper` (Linux `bio_chain`,
/// DragonFly `push_bio`): it copies the request from `upper` and completes
/// into it. `lower.on_done` is cleared; set it to observe the lower layer's
/// completion. When `lower` completes (and its callback proceeds), `upper`
/// completes with lower's status and residual.
inline void link_layer(bio& upper, bio& lower) noexcept {
  BIOSTACK_ASSERT(detail::bio_access::may_become_parent(upper) &&
                  "link_layer onto a completed bio or one with a layer below it");
  init_child(lower, upper, 0, upper.length);
  lower.parent = &upper;
  detail::bio_access::set_pending(upper, false);
}

BIOSTACK_NAMESPACE_END
