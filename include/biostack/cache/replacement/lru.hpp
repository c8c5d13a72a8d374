// SPDX-License-Identifier: MIT
#pragma once

#include <biostack/cache/replacement/concepts.hpp>

BIOSTACK_NAMESPACE_BEGIN

namespace detail {
/// One list in insertion order, evicting the first eligible slot from the
/// cold end: LRU when a hit moves the slot to the hot end, FIFO when hits
/// change nothing. Per slot: two links. Every operation O(1); `evict` skips
/// ineligible slots, at most `resident` steps.
template <std::size_t N, class I, bool MoveOnAccess>
class ordered_list_state {
public:
  void reset(std::size_t) noexcept { list_.clear(); }
  void insert(I i, std::uint64_t) noexcept { list_.push_back(links_, i); }
  void access(I i) noexcept {
    if constexpr (MoveOnAccess) {
      list_.move_to_back(links_, i);
    } else {
      (void)i;
    }
  }
  void erase(I i) noexcept { list_.remove(links_, i); }
  template <class E, class K>
  I evict(E&& eligible, K&&, std::uint64_t) noexcept {
    for (I i = list_.head; i != no_slot<I>; i = links_.next[i]) {
      if (eligible(i)) {
        list_.remove(links_, i);
        return i;
      }
    }
    return no_slot<I>;
  }

private:
  list_links<N, I> links_;
  index_list<I> list_;
};
} // namespace detail

/// Least recently used. Evicts the eligible slot used longest ago.
struct lru {
  using category = replacement_policy_tag;
  static constexpr const char* name = "lru";
  template <std::size_t N, class I>
  using state = detail::ordered_list_state<N, I, true>;
};
static_assert(replacement_policy<lru>);

/// First in, first out: hits change nothing. Shipped for comparison in
/// trace replay (a baseline every other policy should beat). Named
/// `fifo_eviction` because `fifo` is the dispatcher's queue discipline.
struct fifo_eviction {
  using category = replacement_policy_tag;
  static constexpr const char* name = "fifo";
  template <std::size_t N, class I>
  using state = detail::ordered_list_state<N, I, false>;
};
static_assert(replacement_policy<fifo_eviction>);

BIOSTACK_NAMESPACE_END
