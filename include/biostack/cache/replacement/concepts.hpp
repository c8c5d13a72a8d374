// SPDX-License-Identifier: MIT
#pragma once

/// The replacement-policy concept. A policy is a tag type naming its category
/// and a per-cache state template sized at compile time:
///
///     struct my_policy {
///       using category = replacement_policy_tag;
///       static constexpr const char* name = "my_policy";
///       template <std::size_t N, class I> class state;   // I: slot index type
///     };
///
/// The state tracks the resident slots (every valid cached block, whether or
/// not it may be reclaimed right now):
///   - `reset(capacity)`       forget everything; `capacity` <= N is the cache size
///   - `insert(i, key)`        slot i became resident holding `key` (after a miss)
///   - `access(i)`             slot i was hit
///   - `erase(i)`              slot i stops being resident without an eviction
///                             (invalidated, failed read): no ghost is kept
///   - `evict(eligible, key_of, incoming)` choose a victim among the slots for
///     which `eligible(i)` holds, stop tracking it and return it, or return
///     `no_slot` when none is found. `incoming` is the key about to be
///     inserted (ARC needs it). The search is bounded by a small multiple of
///     the resident count: it never loops forever over ineligible slots.
///
/// Optional: `bool tracked(i) const`, whether slot i is tracked (inserted and
/// neither evicted nor erased since). A policy that has it is asked instead of
/// a flag in each buffer header: the cache then keeps no copy of that state.
/// Such a policy must also take `erase(i)` of a slot it does not track as a
/// no-op: the cache then erases every slot it destroys without asking first.

#include <biostack/cache/index_list.hpp>
#include <concepts>
#include <cstddef>
#include <cstdint>

BIOSTACK_NAMESPACE_BEGIN

struct replacement_policy_tag {};

namespace detail {
struct any_slot_eligible {
  template <class I>
  constexpr bool operator()(I) const noexcept {
    return true;
  }
};
struct slot_as_key {
  template <class I>
  constexpr std::uint64_t operator()(I i) const noexcept {
    return i;
  }
};
} // namespace detail

template <class P>
concept replacement_policy = std::same_as<typename P::category, replacement_policy_tag> &&
    requires(typename P::template state<8, std::uint16_t>& s, std::uint16_t i, std::uint64_t k) {
  { P::name } -> std::convertible_to<const char*>;
  { s.reset(std::size_t{}) }
  noexcept;
  { s.insert(i, k) }
  noexcept;
  { s.access(i) }
  noexcept;
  { s.erase(i) }
  noexcept;
  { s.evict(detail::any_slot_eligible{}, detail::slot_as_key{}, k) }
  noexcept->std::same_as<std::uint16_t>;
};

BIOSTACK_NAMESPACE_END
