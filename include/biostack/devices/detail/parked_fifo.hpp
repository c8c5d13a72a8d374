// SPDX-License-Identifier: MIT
#pragma once

/// A FIFO of bios linked through their intrusive hook. Wrapping devices park
/// requests on it when their fixed pool of child bios is exhausted: a full
/// pool only delays a request, it never fails or loses one.

#include <biostack/bio/bio.hpp>

BIOSTACK_NAMESPACE_BEGIN
namespace detail {

class parked_fifo {
public:
  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// Appends `b`; the caller owns `b`'s hook until it is popped.
  void push(bio& b) noexcept {
    b.hook.next = nullptr;
    b.hook.prev = tail_;
    if (tail_ != nullptr)
      tail_->hook.next = &b;
    else
      head_ = &b;
    tail_ = &b;
    ++size_;
  }

  /// Removes and returns the oldest bio, or nullptr when empty.
  bio* pop() noexcept {
    bio* b = head_;
    if (b == nullptr) return nullptr;
    head_ = b->hook.next;
    if (head_ != nullptr)
      head_->hook.prev = nullptr;
    else
      tail_ = nullptr;
    b->hook = {};
    --size_;
    return b;
  }

private:
  bio* head_ = nullptr;
  bio* tail_ = nullptr;
  std::size_t size_ = 0;
};

} // namespace detail
BIOSTACK_NAMESPACE_END
