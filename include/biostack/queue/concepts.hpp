// SPDX-License-Identifier: MIT
#pragma once

/// The queue-discipline concept: the order in which queued bios go to the
/// device. A discipline only orders; barriers (ordered bios, flushes),
/// merging, splitting and tags are the dispatcher's business, so every
/// discipline gets them for free and none can break them.
///
/// A discipline is default-constructible and offers, all noexcept:
/// - `push(b, now)`: queue `b` (it owns `b.hook`, and may use `b.context`);
/// - `peek(now)`: the bio `pop` would return, without side effects;
/// - `pop(now)`: remove and return the next bio, or nullptr when empty;
/// - `remove(b)`: unlink a queued `b` (cancellation);
/// - `first()` / `next(b)`: iterate the queued bios (any order, stable while
///   nothing is pushed or popped; removing the current one is allowed after
///   fetching its successor);
/// - `empty()`, `size()`.
/// `now` is the dispatcher's clock reading; `uses_clock` says whether the
/// discipline looks at it (when false the dispatcher does not read the clock).
/// Optionally, `static constexpr bool keeps_order = true` declares that
/// `pop` returns bios in the order they were pushed (see `keeps_order_v`):
/// the dispatcher then needs no separate list to keep bios behind a barrier.

#include <biostack/bio/bio.hpp>
#include <concepts>
#include <cstddef>
#include <cstdint>

BIOSTACK_NAMESPACE_BEGIN

struct queue_policy_tag {};

template <class Q>
concept queue_discipline = std::default_initializable<Q> &&
    requires(Q& q, const Q& cq, bio& b, std::uint64_t now) {
  { Q::uses_clock } -> std::convertible_to<bool>;
  { q.push(b, now) }
  noexcept;
  { q.peek(now) }
  noexcept->std::same_as<bio*>;
  { q.pop(now) }
  noexcept->std::same_as<bio*>;
  { q.remove(b) }
  noexcept;
  { cq.first() }
  noexcept->std::same_as<bio*>;
  { cq.next(b) }
  noexcept->std::same_as<bio*>;
  { cq.empty() }
  noexcept->std::convertible_to<bool>;
  { cq.size() }
  noexcept->std::convertible_to<std::size_t>;
};

/// The smallest discipline: exists to check the concept itself.
struct queue_discipline_archetype {
  using category = queue_policy_tag;
  static constexpr bool uses_clock = false;
  void push(bio&, std::uint64_t) noexcept {}
  bio* peek(std::uint64_t) noexcept { return nullptr; }
  bio* pop(std::uint64_t) noexcept { return nullptr; }
  void remove(bio&) noexcept {}
  bio* first() const noexcept { return nullptr; }
  bio* next(const bio&) const noexcept { return nullptr; }
  bool empty() const noexcept { return true; }
  std::size_t size() const noexcept { return 0; }
};
static_assert(queue_discipline<queue_discipline_archetype>);

/// True when discipline `Q` declares `keeps_order`: it pops in push order.
template <class Q>
inline constexpr bool keeps_order_v = requires {
  requires Q::keeps_order;
};

/// True for bios no discipline may reorder anything across.
[[nodiscard]] constexpr bool is_barrier(const bio& b) noexcept {
  return b.operation == op::flush || has(b.flags, bio_flags::ordered);
}

BIOSTACK_NAMESPACE_END
