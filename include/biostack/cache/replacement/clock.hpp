// SPDX-License-Identifier: MIT
#pragma once

#include <biostack/cache/replacement/concepts.hpp>

BIOSTACK_NAMESPACE_BEGIN

/// Second chance, as DragonFly's getnewbuf scans its CLEAN queue: a slot
/// whose AGE bit is clear gets it set and moves to the tail; a slot with AGE
/// set is taken. A hit clears AGE. One victim search makes a single pass over
/// the slots resident when it began, and if it finds no aged eligible slot it
/// takes the last eligible one it saw ("the last is taken anyway"): the scan
/// is bounded by the resident count.
struct clock_eviction {
  using category = replacement_policy_tag;
  static constexpr const char* name = "clock";

  template <std::size_t N, class I>
  class state {
  public:
    void reset(std::size_t) noexcept { list_.clear(); }
    void insert(I i, std::uint64_t) noexcept {
      age_[i] = false;
      append(i);
    }
    void access(I i) noexcept { age_[i] = false; }
    void erase(I i) noexcept { unlink(i); }
    template <class E, class K>
    I evict(E&& eligible, K&&, std::uint64_t) noexcept {
      I last = detail::no_slot<I>;
      std::size_t left = list_.size;
      I i = list_.head;
      while (left-- != 0 && i != detail::no_slot<I>) {
        const I next = links_.next[i];
        if (eligible(i)) {
          last = i;
          if (age_[i]) break;
          age_[i] = true;
          if (left != 0 && list_.tail != i) {
            unlink(i);
            append(i);
          }
        }
        i = next;
      }
      // An aged slot, or else the last eligible one seen.
      if (last != detail::no_slot<I>) unlink(last);
      return last;
    }
    /// The AGE bit of slot `i` (for tests and diagnostics).
    [[nodiscard]] bool aged(I i) const noexcept { return age_[i]; }

  private:
    // Out of line: an insertion and the victim search's second chances
    // share one copy.
    BIOSTACK_NOINLINE void append(I i) noexcept { list_.push_back(links_, i); }
    // Out of line when optimising for size, likewise: an erase and the
    // victim search (its second chances and its victim) share one copy.
    BIOSTACK_NOINLINE_FOR_SIZE void unlink(I i) noexcept { list_.remove(links_, i); }

    detail::list_links<N, I> links_;
    detail::index_list<I> list_;
    bool age_[N];
  };
};
static_assert(replacement_policy<clock_eviction>);

BIOSTACK_NAMESPACE_END
