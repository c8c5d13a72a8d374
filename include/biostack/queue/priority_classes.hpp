// SPDX-License-Identifier: MIT
#pragma once

/// Priority classes with burst quotas (NetBSD bufq_priocscan): class `c`
/// holds bios whose `priority` is `c - 1`, so with three classes they are
/// `realtime`, `normal` and `idle` (priorities before the first class go to
/// the first, those past the last to the last). The most urgent class with
/// quota left goes first; when every class with work has used its quota, all
/// quotas refill. So class `c` gets at least `Quota_c` of every
/// `sum(Quotas)` dispatches while it has work: bounded starvation for the
/// idle class too. Each class is FIFO.

#include <biostack/queue/bio_list.hpp>
#include <biostack/queue/concepts.hpp>

BIOSTACK_NAMESPACE_BEGIN

template <std::size_t... Quotas>
class priority_classes {
  static_assert(sizeof...(Quotas) >= 1, "at least one class");
  static_assert(((Quotas >= 1) && ...), "every quota must be at least one");
  static constexpr std::size_t classes = sizeof...(Quotas);
  static constexpr std::size_t quota[classes] = {Quotas...};

public:
  using category = queue_policy_tag;
  static constexpr bool uses_clock = false;

  priority_classes() noexcept { refill(); }
  priority_classes(const priority_classes&) = delete;
  priority_classes& operator=(const priority_classes&) = delete;

  void push(bio& b, std::uint64_t) noexcept { q_[class_of(b)].push_back(b); }
  /// O(classes).
  [[nodiscard]] bio* peek(std::uint64_t) noexcept {
    const std::size_t c = choose();
    return c < classes ? q_[c].front() : nullptr;
  }
  bio* pop(std::uint64_t) noexcept {
    std::size_t c = choose();
    if (c >= classes) return nullptr;
    if (left_[c] == 0) refill(); // everyone with work used their quota
    --left_[c];
    return q_[c].pop_front();
  }
  void remove(bio& b) noexcept { q_[class_of(b)].remove(b); }
  [[nodiscard]] bio* first() const noexcept { return first_from(0); }
  [[nodiscard]] bio* next(const bio& b) const noexcept {
    if (bio* n = bio_list::next(b)) return n;
    return first_from(class_of(b) + 1);
  }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] std::size_t size() const noexcept {
    std::size_t n = 0;
    for (const bio_list& l : q_) n += l.size();
    return n;
  }

private:
  static std::size_t class_of(const bio& b) noexcept {
    const int c = b.priority - priority::realtime; // realtime is class 0
    if (c <= 0) return 0;
    return static_cast<std::size_t>(c) < classes ? static_cast<std::size_t>(c) : classes - 1;
  }
  // The most urgent class with work and quota; if none has quota, the most
  // urgent class with work (quotas refill when it is popped).
  [[nodiscard]] std::size_t choose() const noexcept {
    std::size_t fallback = classes;
    for (std::size_t c = 0; c < classes; ++c) {
      if (q_[c].empty()) continue;
      if (left_[c] != 0) return c;
      if (fallback == classes) fallback = c;
    }
    return fallback;
  }
  void refill() noexcept {
    for (std::size_t c = 0; c < classes; ++c) left_[c] = quota[c];
  }
  [[nodiscard]] bio* first_from(std::size_t c) const noexcept {
    for (; c < classes; ++c)
      if (!q_[c].empty()) return q_[c].front();
    return nullptr;
  }

  bio_list q_[classes];
  std::size_t left_[classes] = {};
};
static_assert(queue_discipline<priority_classes<64, 16, 4>>);

BIOSTACK_NAMESPACE_END
