// SPDX-License-Identifier: MIT
#pragma once

/// Policy packs: components take `policies<P...>` and look each category up by
/// tag, so users list only what differs from the defaults, in any order.
///
///     dispatcher<dev, policies<elevator<64>, counters>> d{dev};
///
/// A policy declares its category with a nested `using category = some_tag;`.

#include <biostack/config.hpp>
#include <type_traits>

BIOSTACK_NAMESPACE_BEGIN

template <class... P>
struct policies {};

namespace detail {
template <class Category, class Default, class... P>
struct find_policy {
  using type = Default;
};
template <class Category, class Default, class Head, class... Tail>
struct find_policy<Category, Default, Head, Tail...> {
  using type = std::conditional_t<std::is_same_v<typename Head::category, Category>, Head,
                                  typename find_policy<Category, Default, Tail...>::type>;
};
template <class Category, class... P>
inline constexpr std::size_t count_category =
    (std::size_t{0} + ... + (std::is_same_v<typename P::category, Category> ? 1u : 0u));

// Stands in for a member that a configuration does without: empty, and a
// distinct type per `Id`, so that several [[no_unique_address]] stand-ins in
// one object take no room at all.
template <int Id>
struct absent {};
// A member only the configurations that use it have: `T` when `Used`, else
// an empty stand-in.
template <bool Used, class T, int Id>
using only_if = std::conditional_t<Used, T, absent<Id>>;
} // namespace detail

/// The policy of `Category` in `Pack`, or `Default` when the pack names none.
/// Naming a category twice is an error.
template <class Pack, class Category, class Default>
struct select_policy;
template <class... P, class Category, class Default>
struct select_policy<policies<P...>, Category, Default> {
  static_assert(detail::count_category<Category, P...> <= 1,
                "a policies<> pack names the same category twice");
  using type = typename detail::find_policy<Category, Default, P...>::type;
};
template <class Pack, class Category, class Default>
using select_policy_t = typename select_policy<Pack, Category, Default>::type;

BIOSTACK_NAMESPACE_END
