// SPDX-License-Identifier: MIT
#pragma once

/// Reads first (NetBSD bufq_readprio): reads in arrival order, everything
/// else sorted by offset (C-LOOK). After `ReadBurst` reads in a row while
/// writes wait, up to `WriteBurst` writes go, so writes are never starved.

#include <biostack/queue/bio_list.hpp>
#include <biostack/queue/concepts.hpp>

BIOSTACK_NAMESPACE_BEGIN

template <std::size_t ReadBurst = 48, std::size_t WriteBurst = 16>
class read_priority {
  static_assert(ReadBurst >= 1 && WriteBurst >= 1, "bursts must be at least one");

public:
  using category = queue_policy_tag;
  static constexpr bool uses_clock = false;

  read_priority() noexcept = default;
  read_priority(const read_priority&) = delete;
  read_priority& operator=(const read_priority&) = delete;

  /// Reads O(1); others O(n) sorted insert.
  void push(bio& b, std::uint64_t) noexcept {
    if (b.operation == op::read)
      reads_.push_back(b);
    else
      writes_.insert_sorted(b);
  }
  /// O(n) in the writes waiting (C-LOOK scan) when a write is due.
  [[nodiscard]] bio* peek(std::uint64_t) noexcept {
    const bool w = choose_write();
    return w ? next_write() : reads_.front();
  }
  bio* pop(std::uint64_t) noexcept {
    const bool w = choose_write();
    bio* b = w ? next_write() : reads_.front();
    if (b == nullptr) return nullptr;
    if (w != writing_) {
      writing_ = w;
      burst_ = 0;
    }
    ++burst_;
    if (w) {
      writes_.remove(*b);
      pos_ = b->offset;
    } else {
      reads_.remove(*b);
    }
    return b;
  }
  void remove(bio& b) noexcept { (b.operation == op::read ? reads_ : writes_).remove(b); }
  [[nodiscard]] bio* first() const noexcept {
    return reads_.front() != nullptr ? reads_.front() : writes_.front();
  }
  [[nodiscard]] bio* next(const bio& b) const noexcept {
    if (bio* n = bio_list::next(b)) return n;
    return b.operation == op::read ? writes_.front() : nullptr;
  }
  [[nodiscard]] bool empty() const noexcept { return reads_.empty() && writes_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return reads_.size() + writes_.size(); }

private:
  [[nodiscard]] bool choose_write() const noexcept {
    if (writes_.empty()) return false;
    if (reads_.empty()) return true;
    return writing_ ? burst_ < WriteBurst : burst_ >= ReadBurst;
  }
  [[nodiscard]] bio* next_write() const noexcept {
    for (bio* b = writes_.front(); b != nullptr; b = bio_list::next(*b))
      if (b->offset >= pos_) return b;
    return writes_.front();
  }

  bio_list reads_;
  bio_list writes_;
  std::uint64_t pos_ = 0;
  std::size_t burst_ = 0;
  bool writing_ = false;
};
static_assert(queue_discipline<read_priority<>>);

BIOSTACK_NAMESPACE_END
