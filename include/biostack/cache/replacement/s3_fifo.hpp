// SPDX-License-Identifier: MIT
#pragma once

#include <biostack/cache/replacement/concepts.hpp>

BIOSTACK_NAMESPACE_BEGIN

/// S3-FIFO (Yang et al., SOSP 2023): a small FIFO S (10% of the cache) that
/// filters one-hit wonders, a main FIFO M with lazy promotion (a 2-bit
/// frequency per slot, reinserted while non-zero), and a ghost FIFO G of keys
/// evicted from S (bounded by |M|'s share). A miss on a ghost key enters M.
/// `evict` makes at most |S| + 4·|M| steps (each slot in M is reinserted at
/// most three times before its frequency reaches zero).
struct s3_fifo {
  using category = replacement_policy_tag;
  static constexpr const char* name = "s3_fifo";

  template <std::size_t N, class I>
  class state {
    enum : std::uint8_t { in_s = 0, in_m = 1 };

  public:
    void reset(std::size_t capacity) noexcept {
      s_.clear();
      m_.clear();
      ghosts_.clear();
      small_ = capacity / 10 > 0 ? capacity / 10 : 1;
      ghost_cap_ = capacity - capacity / 10 > 0 ? capacity - capacity / 10 : 1;
    }
    void insert(I i, std::uint64_t key) noexcept {
      freq_[i] = 0;
      if (ghosts_.find(key) != ghosts_.none) {
        ghosts_.erase(key);
        where_[i] = in_m;
        m_.push_back(links_, i);
      } else {
        where_[i] = in_s;
        s_.push_back(links_, i);
      }
    }
    void access(I i) noexcept {
      if (freq_[i] < 3) ++freq_[i];
    }
    void erase(I i) noexcept { (where_[i] == in_m ? m_ : s_).remove(links_, i); }
    template <class E, class K>
    I evict(E&& eligible, K&& key_of, std::uint64_t) noexcept {
      I v = detail::no_slot<I>;
      if (s_.size >= small_ || m_.empty()) v = evict_small(eligible, key_of);
      if (v == detail::no_slot<I>) v = evict_main(eligible);
      if (v == detail::no_slot<I>) v = evict_small(eligible, key_of);
      return v;
    }

    /// Ghost keys remembered (|G|, at most 90% of the cache size; for tests).
    [[nodiscard]] std::size_t ghost_count() const noexcept { return ghosts_.size(0); }

  private:
    // Walks S once: slots seen more than once move to M, the first other
    // eligible one is evicted (its key becomes a ghost).
    template <class E, class K>
    I evict_small(E& eligible, K& key_of) noexcept {
      std::size_t left = s_.size;
      for (I i = s_.head; left-- != 0 && i != detail::no_slot<I>;) {
        const I next = links_.next[i];
        if (eligible(i)) {
          s_.remove(links_, i);
          if (freq_[i] > 1) {
            freq_[i] = 0;
            where_[i] = in_m;
            m_.push_back(links_, i);
          } else {
            while (ghosts_.size(0) >= ghost_cap_) ghosts_.pop_oldest(0);
            ghosts_.push(0, key_of(i));
            return i;
          }
        }
        i = next;
      }
      return detail::no_slot<I>;
    }
    template <class E>
    I evict_main(E& eligible) noexcept {
      std::size_t left = 4 * m_.size;
      for (I i = m_.head; left-- != 0 && i != detail::no_slot<I>;) {
        const I next = links_.next[i];
        if (eligible(i)) {
          if (freq_[i] == 0) {
            m_.remove(links_, i);
            return i;
          }
          --freq_[i];
          m_.move_to_back(links_, i);
          if (next == detail::no_slot<I>) {
            i = m_.head; // the moved slot was the tail: continue from the front
            continue;
          }
        }
        i = next == detail::no_slot<I> ? m_.head : next;
      }
      return detail::no_slot<I>;
    }

    detail::list_links<N, I> links_;
    std::uint8_t where_[N];
    std::uint8_t freq_[N];
    detail::index_list<I> s_, m_;
    detail::ghost_table<N, 1> ghosts_;
    std::size_t small_ = 1, ghost_cap_ = 1;
  };
};
static_assert(replacement_policy<s3_fifo>);

BIOSTACK_NAMESPACE_END
