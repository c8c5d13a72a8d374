// SPDX-License-Identifier: MIT
#pragma once

#include <biostack/cache/replacement/concepts.hpp>

BIOSTACK_NAMESPACE_BEGIN

/// Adaptive Replacement Cache (Megiddo & Modha, 2003). Resident lists T1
/// (seen once recently) and T2 (seen at least twice), ghost lists B1 and B2
/// of recently evicted keys, and a target size `p` for T1 that a ghost hit
/// moves towards the list that would have kept the block. Ghosts are bounded
/// by the cache size (|T1|+|B1| <= c, total <= 2c).
struct arc {
  using category = replacement_policy_tag;
  static constexpr const char* name = "arc";

  template <std::size_t N, class I>
  class state {
    enum : std::uint8_t { t1 = 0, t2 = 1 };
    enum : std::uint8_t { b1 = 0, b2 = 1 };

  public:
    void reset(std::size_t capacity) noexcept {
      t1_.clear();
      t2_.clear();
      ghosts_.clear();
      c_ = capacity;
      p_ = 0;
    }
    void insert(I i, std::uint64_t key) noexcept {
      const std::uint8_t g = ghosts_.find(key);
      if (g == b1) {
        const std::size_t s1 = ghosts_.size(b1), s2 = ghosts_.size(b2);
        const std::size_t d = s1 >= s2 ? 1 : s2 / s1;
        p_ = p_ + d < c_ ? p_ + d : c_;
      } else if (g == b2) {
        const std::size_t s1 = ghosts_.size(b1), s2 = ghosts_.size(b2);
        const std::size_t d = s2 >= s1 ? 1 : s1 / s2;
        p_ = p_ > d ? p_ - d : 0;
      }
      if (g != ghosts_.none) {
        ghosts_.erase(key);
        where_[i] = t2;
        t2_.push_back(links_, i);
        return;
      }
      where_[i] = t1;
      t1_.push_back(links_, i);
      // Directory bounds: |T1| + |B1| <= c and everything <= 2c.
      while (t1_.size + ghosts_.size(b1) > c_ && ghosts_.pop_oldest(b1)) {
      }
      while (t1_.size + t2_.size + ghosts_.size(b1) + ghosts_.size(b2) > 2 * c_ &&
             ghosts_.pop_oldest(b2)) {
      }
    }
    void access(I i) noexcept {
      list(i).remove(links_, i);
      where_[i] = t2;
      t2_.push_back(links_, i);
    }
    void erase(I i) noexcept { list(i).remove(links_, i); }
    template <class E, class K>
    I evict(E&& eligible, K&& key_of, std::uint64_t incoming) noexcept {
      const bool in_b2 = ghosts_.find(incoming) == b2;
      const bool from_t1 = !t1_.empty() && (t1_.size > p_ || (in_b2 && t1_.size == p_));
      I v = first_eligible(from_t1 ? t1_ : t2_, eligible);
      if (v == detail::no_slot<I>) v = first_eligible(from_t1 ? t2_ : t1_, eligible);
      if (v == detail::no_slot<I>) return v;
      const std::uint8_t w = where_[v];
      list(v).remove(links_, v);
      ghosts_.push(w == t1 ? b1 : b2, key_of(v));
      while (ghosts_.size(b1) + ghosts_.size(b2) > c_) {
        if (!ghosts_.pop_oldest(w == t1 ? b2 : b1)) ghosts_.pop_oldest(w == t1 ? b1 : b2);
      }
      return v;
    }
    /// The current target size of T1 (for tests).
    [[nodiscard]] std::size_t target() const noexcept { return p_; }

    /// Ghost keys remembered (|B1| + |B2|, at most the cache size; for tests).
    [[nodiscard]] std::size_t ghost_count() const noexcept {
      return ghosts_.size(b1) + ghosts_.size(b2);
    }

  private:
    detail::index_list<I>& list(I i) noexcept { return where_[i] == t2 ? t2_ : t1_; }
    template <class E>
    I first_eligible(const detail::index_list<I>& l, E& eligible) noexcept {
      for (I i = l.head; i != detail::no_slot<I>; i = links_.next[i])
        if (eligible(i)) return i;
      return detail::no_slot<I>;
    }

    detail::list_links<N, I> links_;
    std::uint8_t where_[N];
    detail::index_list<I> t1_, t2_;
    detail::ghost_table<N, 2> ghosts_;
    std::size_t c_ = N, p_ = 0;
  };
};
static_assert(replacement_policy<arc>);

BIOSTACK_NAMESPACE_END
