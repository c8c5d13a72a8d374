// SPDX-License-Identifier: MIT
#pragma once

#include <biostack/cache/replacement/concepts.hpp>

BIOSTACK_NAMESPACE_BEGIN

/// Simplified 2Q (Johnson & Shasha, 1994). New blocks enter the FIFO `A1in`
/// (about a quarter of the cache); blocks evicted from it are remembered in
/// the ghost list `A1out` (at most half the cache). A miss on a remembered
/// block enters the LRU `Am`; hits in `A1in` change nothing, so one-time scans
/// pass through without displacing the hot set.
struct two_q {
  using category = replacement_policy_tag;
  static constexpr const char* name = "two_q";

  template <std::size_t N, class I>
  class state {
    enum : std::uint8_t { in_a1 = 0, in_am = 1 };

  public:
    void reset(std::size_t capacity) noexcept {
      a1_.clear();
      am_.clear();
      ghosts_.clear();
      kin_ = capacity / 4 > 0 ? capacity / 4 : 1;
      kout_ = capacity / 2 > 0 ? capacity / 2 : 1;
    }
    void insert(I i, std::uint64_t key) noexcept {
      if (ghosts_.find(key) != ghosts_.none) {
        ghosts_.erase(key);
        where_[i] = in_am;
        am_.push_back(links_, i);
      } else {
        where_[i] = in_a1;
        a1_.push_back(links_, i);
      }
    }
    void access(I i) noexcept {
      if (where_[i] == in_am) am_.move_to_back(links_, i);
    }
    void erase(I i) noexcept { list(i).remove(links_, i); }
    template <class E, class K>
    I evict(E&& eligible, K&& key_of, std::uint64_t) noexcept {
      const bool from_a1 = a1_.size > kin_ || am_.empty();
      I v = first_eligible(from_a1 ? a1_ : am_, eligible);
      if (v == detail::no_slot<I>) v = first_eligible(from_a1 ? am_ : a1_, eligible);
      if (v == detail::no_slot<I>) return v;
      list(v).remove(links_, v);
      if (where_[v] == in_a1) {
        while (ghosts_.size(0) >= kout_) ghosts_.pop_oldest(0);
        ghosts_.push(0, key_of(v));
      }
      return v;
    }

    /// Ghost keys remembered (|A1out|, at most half the cache size; for tests).
    [[nodiscard]] std::size_t ghost_count() const noexcept { return ghosts_.size(0); }

  private:
    detail::index_list<I>& list(I i) noexcept { return where_[i] == in_am ? am_ : a1_; }
    template <class E>
    I first_eligible(const detail::index_list<I>& l, E& eligible) noexcept {
      for (I i = l.head; i != detail::no_slot<I>; i = links_.next[i])
        if (eligible(i)) return i;
      return detail::no_slot<I>;
    }

    detail::list_links<N, I> links_;
    std::uint8_t where_[N];
    detail::index_list<I> a1_, am_;
    detail::ghost_table<(N / 2 > 0 ? N / 2 : 1), 1> ghosts_;
    std::size_t kin_ = 1, kout_ = 1;
  };
};
static_assert(replacement_policy<two_q>);

BIOSTACK_NAMESPACE_END
