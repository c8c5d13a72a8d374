// SPDX-License-Identifier: MIT
#pragma once

/// First come, first served (NetBSD fcfs, xbuf's queue, xdisk's bioq).

#include <biostack/queue/bio_list.hpp>
#include <biostack/queue/concepts.hpp>

BIOSTACK_NAMESPACE_BEGIN

/// Dispatches in arrival order. O(1) everything.
class fifo {
public:
  using category = queue_policy_tag;
  static constexpr bool uses_clock = false;
  static constexpr bool keeps_order = true;

  void push(bio& b, std::uint64_t) noexcept { q_.push_back(b); }
  [[nodiscard]] bio* peek(std::uint64_t) noexcept { return q_.front(); }
  bio* pop(std::uint64_t) noexcept { return q_.pop_front(); }
  void remove(bio& b) noexcept { q_.remove(b); }
  [[nodiscard]] bio* first() const noexcept { return q_.front(); }
  [[nodiscard]] bio* next(const bio& b) const noexcept { return bio_list::next(b); }
  [[nodiscard]] bool empty() const noexcept { return q_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return q_.size(); }

private:
  bio_list q_;
};
static_assert(queue_discipline<fifo> && keeps_order_v<fifo>);

BIOSTACK_NAMESPACE_END
