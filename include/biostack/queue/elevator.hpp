// SPDX-License-Identifier: MIT
#pragma once

/// One-way elevator (C-LOOK) with a bounded sweep (OpenBSD nscan, FreeBSD
/// bioq_disksort): bios go out in ascending offset from the last position,
/// then the sweep wraps to the lowest offset. Bios arriving behind the head,
/// or after `Batch` bios of the current sweep have gone out, wait for the
/// next sweep, so a stream of requests just ahead of the head cannot starve
/// the rest: a queued bio waits at most one full sweep plus `Batch` arrivals.

#include <biostack/queue/bio_list.hpp>
#include <biostack/queue/concepts.hpp>

BIOSTACK_NAMESPACE_BEGIN

template <std::size_t Batch = 128>
class elevator {
  static_assert(Batch >= 1, "a sweep must take at least one bio");

public:
  using category = queue_policy_tag;
  static constexpr bool uses_clock = false;

  elevator() noexcept = default;
  elevator(const elevator&) = delete;
  elevator& operator=(const elevator&) = delete;

  /// O(n) worst case (sorted insert), O(1) for ascending streams.
  void push(bio& b, std::uint64_t) noexcept {
    bio_list& l = (b.offset >= pos_ && issued_ < Batch) ? lists_[cur_] : lists_[cur_ ^ 1u];
    l.insert_sorted(b);
    b.context = &l; // which sweep it is in, for O(1) removal
  }
  [[nodiscard]] bio* peek(std::uint64_t) noexcept {
    bio* b = lists_[cur_].front();
    return b != nullptr ? b : lists_[cur_ ^ 1u].front();
  }
  bio* pop(std::uint64_t) noexcept {
    if (lists_[cur_].empty()) {
      cur_ ^= 1u; // wrap: the next sweep starts from its lowest offset
      issued_ = 0;
    }
    bio* b = lists_[cur_].pop_front();
    if (b != nullptr) {
      pos_ = b->offset;
      ++issued_;
    }
    return b;
  }
  void remove(bio& b) noexcept { static_cast<bio_list*>(b.context)->remove(b); }
  [[nodiscard]] bio* first() const noexcept {
    bio* b = lists_[cur_].front();
    return b != nullptr ? b : lists_[cur_ ^ 1u].front();
  }
  [[nodiscard]] bio* next(const bio& b) const noexcept {
    if (bio* n = bio_list::next(b)) return n;
    return b.context == &lists_[cur_] ? lists_[cur_ ^ 1u].front() : nullptr;
  }
  [[nodiscard]] bool empty() const noexcept { return lists_[0].empty() && lists_[1].empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return lists_[0].size() + lists_[1].size(); }

private:
  bio_list lists_[2];
  unsigned cur_ = 0;       // the sweep in progress
  std::uint64_t pos_ = 0;  // offset of the last bio issued
  std::size_t issued_ = 0; // bios issued in this sweep
};
static_assert(queue_discipline<elevator<>>);

BIOSTACK_NAMESPACE_END
