// SPDX-License-Identifier: MIT
#pragma once

/// Deadline scheduling (Linux mq-deadline): reads and writes each kept in
/// arrival order with an expiry time; bios go out in ascending offset in
/// batches of up to `FifoBatch` per direction; reads are preferred, but
/// after `WritesStarved` read batches in a row while writes wait, a write
/// batch goes; a batch starts from the oldest bio of its direction when that
/// one has expired, so no bio waits much past its expiry.
///
/// Times are the dispatcher's clock ticks. Arrival times are kept in the
/// bio's `context` word as `uintptr_t` and compared modulo its width, so on a
/// 32-bit target expiries must stay below 2^31 ticks.

#include <biostack/queue/bio_list.hpp>
#include <biostack/queue/concepts.hpp>
#include <cstdint>

BIOSTACK_NAMESPACE_BEGIN

template <std::uint64_t ReadExpire, std::uint64_t WriteExpire, std::size_t WritesStarved = 2,
          std::size_t FifoBatch = 16>
class deadline {
  static_assert(FifoBatch >= 1, "a batch must take at least one bio");

public:
  using category = queue_policy_tag;
  static constexpr bool uses_clock = true;

  deadline() noexcept = default;
  deadline(const deadline&) = delete;
  deadline& operator=(const deadline&) = delete;

  void push(bio& b, std::uint64_t now) noexcept {
    b.context = reinterpret_cast<void*>(static_cast<std::uintptr_t>(now));
    q_[dir_of(b)].push_back(b);
  }
  /// O(n) in the bios of the chosen direction (sorted successor scan).
  [[nodiscard]] bio* peek(std::uint64_t now) noexcept { return select(now).b; }
  bio* pop(std::uint64_t now) noexcept {
    const choice c = select(now);
    if (c.b == nullptr) return nullptr;
    if (c.new_batch) {
      batched_ = 0;
      dir_ = c.dir;
      if (c.dir == read_dir && !q_[write_dir].empty()) ++starved_;
      if (c.dir == write_dir) starved_ = 0;
    }
    ++batched_;
    pos_[c.dir] = c.b->offset + c.b->length;
    q_[c.dir].remove(*c.b);
    return c.b;
  }
  void remove(bio& b) noexcept { q_[dir_of(b)].remove(b); }
  [[nodiscard]] bio* first() const noexcept {
    return q_[0].front() != nullptr ? q_[0].front() : q_[1].front();
  }
  [[nodiscard]] bio* next(const bio& b) const noexcept {
    if (bio* n = bio_list::next(b)) return n;
    return dir_of(b) == read_dir ? q_[write_dir].front() : nullptr;
  }
  [[nodiscard]] bool empty() const noexcept { return q_[0].empty() && q_[1].empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return q_[0].size() + q_[1].size(); }

private:
  static constexpr unsigned read_dir = 0;
  static constexpr unsigned write_dir = 1;
  struct choice {
    bio* b;
    unsigned dir;
    bool new_batch;
  };

  static unsigned dir_of(const bio& b) noexcept {
    return b.operation == op::read ? read_dir : write_dir;
  }

  bool expired(unsigned d, std::uint64_t now) const noexcept {
    const bio* f = q_[d].front();
    if (f == nullptr) return false;
    const auto arrived = reinterpret_cast<std::uintptr_t>(f->context);
    const std::uintptr_t waited = static_cast<std::uintptr_t>(now) - arrived;
    return waited >= static_cast<std::uintptr_t>(d == read_dir ? ReadExpire : WriteExpire);
  }

  // Lowest offset at or past `pos` in direction d, else the lowest (wrap).
  bio* sorted_next(unsigned d) const noexcept {
    bio* best = nullptr;
    bio* lowest = nullptr;
    for (bio* b = q_[d].front(); b != nullptr; b = bio_list::next(*b)) {
      if (lowest == nullptr || b->offset < lowest->offset) lowest = b;
      if (b->offset >= pos_[d] && (best == nullptr || b->offset < best->offset)) best = b;
    }
    return best != nullptr ? best : lowest;
  }

  choice select(std::uint64_t now) const noexcept {
    // Continue the current batch in sorted order while it lasts and nothing
    // in its direction has expired.
    if (batched_ < FifoBatch && !q_[dir_].empty() && !expired(dir_, now)) {
      bio* b = sorted_next(dir_);
      if (b->offset >= pos_[dir_]) return {b, dir_, false};
    }
    unsigned d;
    if (!q_[read_dir].empty()) {
      d = (!q_[write_dir].empty() && starved_ >= WritesStarved) ? write_dir : read_dir;
    } else if (!q_[write_dir].empty()) {
      d = write_dir;
    } else {
      return {nullptr, 0, false};
    }
    bio* b = expired(d, now) ? q_[d].front() : sorted_next(d);
    return {b, d, true};
  }

  bio_list q_[2];
  std::uint64_t pos_[2] = {};
  std::size_t batched_ = FifoBatch; // no batch in progress yet
  std::size_t starved_ = 0;
  unsigned dir_ = read_dir;
};
static_assert(queue_discipline<deadline<500, 5000>>);

BIOSTACK_NAMESPACE_END
