// SPDX-License-Identifier: MIT
#pragma once

#include <biostack/cache/replacement/concepts.hpp>

BIOSTACK_NAMESPACE_BEGIN

/// SIEVE (Zhang et al., NSDI 2024): one FIFO queue, a visited bit per slot
/// set on a hit, and a hand that moves from the oldest slot towards the
/// newest, clearing visited bits, and evicts the first unvisited slot; the
/// hand stays where it stopped. Survivors are not moved. `evict` makes at
/// most two passes (2·resident steps).
struct sieve {
  using category = replacement_policy_tag;
  static constexpr const char* name = "sieve";

  template <std::size_t N, class I>
  class state {
  public:
    void reset(std::size_t) noexcept {
      q_.clear();
      hand_ = detail::no_slot<I>;
    }
    void insert(I i, std::uint64_t) noexcept {
      visited_[i] = false;
      q_.push_back(links_, i); // newest at the back; the hand walks head → tail
    }
    void access(I i) noexcept { visited_[i] = true; }
    void erase(I i) noexcept {
      if (hand_ == i) hand_ = links_.next[i];
      q_.remove(links_, i);
    }
    template <class E, class K>
    I evict(E&& eligible, K&&, std::uint64_t) noexcept {
      std::size_t left = 2 * q_.size;
      I i = hand_ != detail::no_slot<I> ? hand_ : q_.head;
      while (left-- != 0 && i != detail::no_slot<I>) {
        if (eligible(i)) {
          if (!visited_[i]) {
            hand_ = links_.next[i];
            q_.remove(links_, i);
            return i;
          }
          visited_[i] = false;
        }
        i = links_.next[i] != detail::no_slot<I> ? links_.next[i] : q_.head;
      }
      return detail::no_slot<I>;
    }

  private:
    detail::list_links<N, I> links_;
    detail::index_list<I> q_;
    bool visited_[N];
    I hand_ = detail::no_slot<I>;
  };
};
static_assert(replacement_policy<sieve>);

BIOSTACK_NAMESPACE_END
