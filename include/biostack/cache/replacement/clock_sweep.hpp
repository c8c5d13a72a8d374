// SPDX-License-Identifier: MIT
#pragma once

#include <biostack/cache/replacement/concepts.hpp>

BIOSTACK_NAMESPACE_BEGIN

/// CLOCK as Corbató's frame-order sweep: a hand walks the slot indices
/// 0..cap-1 in order (not a queue) over a reference bit per slot. Meant for
/// tiny caches: one byte per slot and a hand, no links, little code.
/// `clock_eviction` (DragonFly's queue-based second chance) stays the default.
///
/// Each slot is 0 (not tracked), 1 (tracked, reference bit clear) or 2
/// (tracked and referenced):
///   - `reset(cap)`: nothing tracked, the hand at slot 0, `cap` (<= N) slots
///     in use;
///   - `insert(i, key)`: tracked and referenced, so a new block gets one
///     sweep of grace (as `clock_eviction`'s clear AGE gives it);
///   - `access(i)`: referenced; `erase(i)`: not tracked (the hand stays);
///   - `evict(eligible, key_of, incoming)`: from the hand, visits at most
///     `cap` slots (one pass, wrapping at `cap`). A tracked slot for which
///     `eligible(i)` holds is taken if its reference bit is clear, and
///     otherwise has its bit cleared; the sweep goes on. Slots not tracked or
///     not eligible are passed over untouched (`eligible` is asked only about
///     tracked slots, each at most once). If the pass finds no unreferenced
///     eligible slot, the first eligible slot it saw is taken: the one a
///     second pass of textbook CLOCK would take first. The victim stops being
///     tracked and the hand moves just past it. With no eligible tracked slot
///     it returns `no_slot` and leaves the hand (and every bit) as they were.
///
/// A search costs O(capacity), not O(resident): at most `cap` steps. The
/// concept bounds it by a small multiple of the resident count; the cache
/// searches only once `hi_buffers` are resident (by default all of them), so
/// resident ≈ capacity and the bound holds, except in a batched reclaim down
/// to a much lower `lo_buffers`, whose later searches still take at most
/// `cap` steps each. Meant for small caches, where a pass over every slot is
/// cheap.
struct clock_sweep {
  using category = replacement_policy_tag;
  static constexpr const char* name = "clock_sweep";

  template <std::size_t N, class I>
  class state {
  public:
    void reset(std::size_t cap) noexcept {
      cap_ = static_cast<I>(cap);
      hand_ = 0;
      for (auto& s : st_) s = untracked;
    }
    void insert(I i, std::uint64_t) noexcept { st_[i] = referenced; }
    void access(I i) noexcept { st_[i] = referenced; }
    void erase(I i) noexcept { st_[i] = untracked; }
    template <class E, class K>
    I evict(E&& eligible, K&&, std::uint64_t) noexcept {
      I victim = detail::no_slot<I>;
      // Once round, from the hand back to it (hand_ < cap_ always).
      const I start = hand_;
      const I cap = cap_; // in a register: the st_ stores could alias cap_
      I i = start;
      do {
        if (st_[i] != untracked && eligible(i)) {
          if (st_[i] == unreferenced) {
            victim = i;
            break;
          }
          st_[i] = unreferenced;
          if (victim == detail::no_slot<I>) victim = i; // the first eligible slot
        }
        if (++i == cap) i = 0;
      } while (i != start);
      if (victim != detail::no_slot<I>) {
        st_[victim] = untracked;
        // An int sum, not unsigned: 4 bytes less on Thumb-2.
        hand_ = static_cast<I>(victim + 1 == cap ? 0 : victim + 1);
      }
      return victim;
    }
    /// Whether slot `i` is tracked (the concept's optional member: the
    /// cache asks it instead of keeping a flag of its own).
    [[nodiscard]] bool tracked(I i) const noexcept { return st_[i] != untracked; }
    /// Whether slot `i` is tracked with its reference bit set (for tests
    /// and diagnostics).
    [[nodiscard]] bool referenced_bit(I i) const noexcept { return st_[i] == referenced; }
    /// The slot the next search starts from (for tests and diagnostics).
    [[nodiscard]] I hand() const noexcept { return hand_; }

  private:
    static constexpr std::uint8_t untracked = 0;
    static constexpr std::uint8_t unreferenced = 1; // tracked, reference bit clear
    static constexpr std::uint8_t referenced = 2;

    // Initialised, though reset() (which the cache's constructor calls)
    // stores the same: a state is empty even before its first reset.
    std::uint8_t st_[N]{};
    I hand_ = 0;
    I cap_ = N;
  };
};
static_assert(replacement_policy<clock_sweep>);

BIOSTACK_NAMESPACE_END
