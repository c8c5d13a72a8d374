// SPDX-License-Identifier: MIT
#pragma once

/// Statistics policies. The dispatcher calls these hooks under its own lock;
/// `null_stats` makes every hook an empty inline function and occupies no
/// storage, so statistics cost nothing when off.

#include <biostack/errc.hpp>
#include <concepts>
#include <cstddef>
#include <cstdint>

BIOSTACK_NAMESPACE_BEGIN

struct stats_policy_tag {};

template <class S>
concept stats_policy = std::default_initializable<S> &&
    requires(S& s, errc e, std::size_t n, std::uint64_t t) {
  { S::wants_latency } -> std::convertible_to<bool>;
  { s.on_submit() }
  noexcept;
  { s.on_complete(e) }
  noexcept;
  { s.on_merge() }
  noexcept;
  { s.on_split(n) }
  noexcept;
  { s.on_requeue() }
  noexcept;
  { s.on_timeout() }
  noexcept;
  { s.on_shortage() }
  noexcept;
  { s.on_queue_depth(n) }
  noexcept;
  { s.on_dispatch(n) }
  noexcept;
  { s.on_device_done(n) }
  noexcept;
  { s.on_latency(t) }
  noexcept;
};

/// Statistics off.
struct null_stats {
  using category = stats_policy_tag;
  static constexpr bool wants_latency = false;
  constexpr void on_submit() noexcept {}
  constexpr void on_complete(errc) noexcept {}
  constexpr void on_merge() noexcept {}
  constexpr void on_split(std::size_t) noexcept {}
  constexpr void on_requeue() noexcept {}
  constexpr void on_timeout() noexcept {}
  constexpr void on_shortage() noexcept {}
  constexpr void on_queue_depth(std::size_t) noexcept {}
  constexpr void on_dispatch(std::size_t) noexcept {}
  constexpr void on_device_done(std::size_t) noexcept {}
  constexpr void on_latency(std::uint64_t) noexcept {}
};
static_assert(stats_policy<null_stats>);

BIOSTACK_NAMESPACE_END
