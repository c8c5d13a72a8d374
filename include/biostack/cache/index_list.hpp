// SPDX-License-Identifier: MIT
#pragma once

/// Building blocks of the cache and its replacement policies: index types,
/// intrusive doubly-linked lists over arrays of small indices (a 16-bit link
/// for caches of fewer than 65535 buffers keeps the metadata small), and a
/// bounded table of ghost keys (keys of recently evicted blocks).

#include <biostack/assert.hpp>
#include <biostack/policy.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

BIOSTACK_NAMESPACE_BEGIN
namespace detail {

/// The narrowest unsigned type that can name `N` slots plus one "none" value.
template <std::size_t N>
using slot_index_t = std::conditional_t<(N < 0xFFFFu), std::uint16_t, std::uint32_t>;

template <class I>
inline constexpr I no_slot = std::numeric_limits<I>::max();

/// Links for up to `N` slots, each on at most one list at a time.
template <std::size_t N, class I>
struct list_links {
  I prev[N];
  I next[N];
};

/// A doubly-linked list threaded through `list_links`. O(1) everything.
/// `Counted`: it keeps its length in `size`. A list whose owner needs no
/// length keeps none (no counter to update on each link and unlink).
template <class I, bool Counted = true>
struct index_list {
  I head = no_slot<I>;
  I tail = no_slot<I>;
  [[no_unique_address]] only_if<Counted, std::size_t, 0> size{};

  [[nodiscard]] bool empty() const noexcept { return head == no_slot<I>; }

  template <class L>
  void push_back(L& l, I i) noexcept {
    l.prev[i] = tail;
    l.next[i] = no_slot<I>;
    if (tail != no_slot<I>)
      l.next[tail] = i;
    else
      head = i;
    tail = i;
    if constexpr (Counted) ++size;
  }
  template <class L>
  void push_front(L& l, I i) noexcept {
    l.next[i] = head;
    l.prev[i] = no_slot<I>;
    if (head != no_slot<I>)
      l.prev[head] = i;
    else
      tail = i;
    head = i;
    if constexpr (Counted) ++size;
  }
  template <class L>
  void remove(L& l, I i) noexcept {
    BIOSTACK_DEBUG_ASSERT(!empty());
    const I p = l.prev[i];
    const I n = l.next[i];
    link_forward(l, p, n);
    if (n != no_slot<I>)
      l.prev[n] = p;
    else
      tail = p;
    if constexpr (Counted) --size;
  }
  // Requires i on this list. Not remove + push_back: i is not the tail, so
  // it has a successor and the list stays non-empty (two tests fewer, and
  // no change to `size`).
  template <class L>
  void move_to_back(L& l, I i) noexcept {
    BIOSTACK_DEBUG_ASSERT(!empty() && "move_to_back on an empty list");
    const I t = tail;
    if (t == i) return;
    const I p = l.prev[i];
    const I n = l.next[i];
    link_forward(l, p, n);
    l.prev[n] = p;
    l.prev[i] = t;
    l.next[i] = no_slot<I>;
    l.next[t] = i;
    tail = i;
  }
  // The forward half of taking an element out: its predecessor `p` (or
  // the head, when it has none) now leads to its successor `n`.
  template <class L>
  void link_forward(L& l, I p, I n) noexcept {
    if (p != no_slot<I>)
      l.next[p] = n;
    else
      head = n;
  }
  void clear() noexcept {
    head = tail = no_slot<I>;
    if constexpr (Counted) size = 0;
  }
};

/// Up to `N` ghost keys on `Lists` FIFO lists (oldest at the head), with an
/// O(1) membership test through a chained hash. Bounded: inserting into a
/// full table first forgets the oldest ghost of the list being inserted into
/// (or of any list if that one is empty).
///
/// A ghost is remembered by a 32-bit fingerprint of its key, not the key:
/// ghosts only steer a heuristic, and a false match (odds 2^-32 per lookup)
/// merely treats a new block as recently seen. This keeps a ghost at 13 bytes
/// (16-bit links) instead of 25.
template <std::size_t N, std::size_t Lists>
class ghost_table {
  using I = slot_index_t<N>;
  static constexpr std::size_t buckets = [] {
    std::size_t b = 1;
    while (b < N) b <<= 1;
    return b;
  }();

public:
  static constexpr std::uint8_t none = 0xFF;

  void clear() noexcept {
    for (auto& b : bucket_) b = no_slot<I>;
    for (auto& l : lists_) l.clear();
    free_ = no_slot<I>;
    for (std::size_t i = N; i-- > 0;) {
      hnext_[i] = free_;
      free_ = static_cast<I>(i);
    }
  }

  /// The list holding `key`, or `none`.
  [[nodiscard]] std::uint8_t find(std::uint64_t key) const noexcept {
    const I g = lookup(fingerprint(key));
    return g == no_slot<I> ? none : list_of_[g];
  }
  [[nodiscard]] std::size_t size(std::size_t list) const noexcept { return lists_[list].size; }

  /// Forgets `key` if present.
  void erase(std::uint64_t key) noexcept {
    const I g = lookup(fingerprint(key));
    if (g != no_slot<I>) release(g);
  }
  /// Forgets the oldest ghost of `list`; false if it is empty.
  bool pop_oldest(std::size_t list) noexcept {
    if (lists_[list].empty()) return false;
    release(lists_[list].head);
    return true;
  }
  /// Remembers `key` as the newest ghost of `list`.
  void push(std::size_t list, std::uint64_t key) noexcept {
    const std::uint32_t fp = fingerprint(key);
    if (free_ == no_slot<I>) {
      if (!pop_oldest(list))
        for (std::size_t l = 0; l < Lists && !pop_oldest(l); ++l) {
        }
    }
    const I g = free_;
    free_ = hnext_[g];
    key_[g] = fp;
    list_of_[g] = static_cast<std::uint8_t>(list);
    lists_[list].push_back(links_, g);
    const std::size_t b = bucket(fp);
    hnext_[g] = bucket_[b];
    bucket_[b] = g;
  }

private:
  static std::uint32_t fingerprint(std::uint64_t k) noexcept {
    k *= 0x9E3779B97F4A7C15ull;
    return static_cast<std::uint32_t>(k >> 32);
  }
  static std::size_t bucket(std::uint32_t fp) noexcept { return fp & (buckets - 1); }
  [[nodiscard]] I lookup(std::uint32_t fp) const noexcept {
    for (I g = bucket_[bucket(fp)]; g != no_slot<I>; g = hnext_[g])
      if (key_[g] == fp) return g;
    return no_slot<I>;
  }
  void release(I g) noexcept {
    lists_[list_of_[g]].remove(links_, g);
    I* pp = &bucket_[bucket(key_[g])];
    while (*pp != g) pp = &hnext_[*pp];
    *pp = hnext_[g];
    hnext_[g] = free_;
    free_ = g;
  }

  std::uint32_t key_[N]; // fingerprints
  I hnext_[N];
  list_links<N, I> links_;
  std::uint8_t list_of_[N];
  I bucket_[buckets];
  index_list<I> lists_[Lists];
  I free_ = no_slot<I>;
};

} // namespace detail
BIOSTACK_NAMESPACE_END
