// SPDX-License-Identifier: MIT
#pragma once

/// An intrusive doubly linked list of bios threaded through `bio::hook`: the
/// building block of every queue discipline. No allocation; O(1) push, pop
/// and unlink; a bio is on at most one list at a time.

#include <biostack/bio/bio.hpp>

BIOSTACK_NAMESPACE_BEGIN

class bio_list {
public:
  bio_list() noexcept = default;
  bio_list(const bio_list&) = delete;
  bio_list& operator=(const bio_list&) = delete;

  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bio* front() const noexcept { return head_; }
  [[nodiscard]] bio* back() const noexcept { return tail_; }
  [[nodiscard]] static bio* next(const bio& b) noexcept { return b.hook.next; }

  // Out of line at -Os: the queue disciplines and the dispatcher's own lists
  // share one copy.
  BIOSTACK_NOINLINE_FOR_SIZE void push_back(bio& b) noexcept {
    b.hook.next = nullptr;
    b.hook.prev = tail_;
    if (tail_ != nullptr)
      tail_->hook.next = &b;
    else
      head_ = &b;
    tail_ = &b;
    ++size_;
  }

  void push_front(bio& b) noexcept {
    b.hook.prev = nullptr;
    b.hook.next = head_;
    if (head_ != nullptr)
      head_->hook.prev = &b;
    else
      tail_ = &b;
    head_ = &b;
    ++size_;
  }

  /// Inserts `b` before `pos`; `pos == nullptr` appends.
  void insert_before(bio* pos, bio& b) noexcept {
    if (pos == nullptr) return push_back(b);
    b.hook.next = pos;
    b.hook.prev = pos->hook.prev;
    if (pos->hook.prev != nullptr)
      pos->hook.prev->hook.next = &b;
    else
      head_ = &b;
    pos->hook.prev = &b;
    ++size_;
  }

  /// Unlinks `b`, which must be on this list.
  void remove(bio& b) noexcept {
    BIOSTACK_DEBUG_ASSERT(size_ != 0);
    if (b.hook.prev != nullptr)
      b.hook.prev->hook.next = b.hook.next;
    else
      head_ = b.hook.next;
    if (b.hook.next != nullptr)
      b.hook.next->hook.prev = b.hook.prev;
    else
      tail_ = b.hook.prev;
    b.hook = {};
    --size_;
  }

  bio* pop_front() noexcept {
    bio* b = head_;
    if (b != nullptr) {
      // remove(*b), knowing that b has no predecessor.
      head_ = b->hook.next;
      if (head_ != nullptr)
        head_->hook.prev = nullptr;
      else
        tail_ = nullptr;
      b->hook = {};
      --size_;
    }
    return b;
  }

  /// True when `b` is the first element (cheap membership test for a bio
  /// whose `prev` is null: it heads some list, possibly this one).
  [[nodiscard]] bool is_front(const bio& b) const noexcept { return head_ == &b; }

  /// Inserts `b` keeping the list sorted by ascending offset; equal offsets
  /// keep arrival order. O(n) from the back, which is O(1) for ascending
  /// streams, the common case.
  void insert_sorted(bio& b) noexcept {
    bio* pos = tail_;
    while (pos != nullptr && pos->offset > b.offset) pos = pos->hook.prev;
    insert_before(pos != nullptr ? pos->hook.next : head_, b);
  }

private:
  bio* head_ = nullptr;
  bio* tail_ = nullptr;
  std::size_t size_ = 0;
};

BIOSTACK_NAMESPACE_END
