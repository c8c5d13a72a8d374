// SPDX-License-Identifier: MIT
#pragma once

/// Allocation policies: where a layer gets its per-request objects (the
/// dispatcher's device-facing request bios, split children). A policy is a
/// small descriptor naming a pool template:
///
///     struct my_policy { using category = alloc_policy_tag;
///                        template <class T> using pool = my_pool<T>; };
///
/// A `pool<T>` is default-constructible and offers `T* allocate() noexcept`
/// (nullptr on shortage: never blocks, never throws) and
/// `void deallocate(T*) noexcept`. Objects come back constructed but in
/// whatever state their last user left them; the caller re-initialises them.
/// A shortage is never an error for the dispatcher: it delays the request.

#include <biostack/config.hpp>
#include <concepts>
#include <cstddef>

BIOSTACK_NAMESPACE_BEGIN

struct alloc_policy_tag {};

template <class P, class T>
concept object_pool = std::default_initializable<P> && requires(P& p, T* t) {
  { p.allocate() }
  noexcept->std::same_as<T*>;
  { p.deallocate(t) }
  noexcept;
};

template <class A, class T = int>
concept alloc_policy = object_pool<typename A::template pool<T>, T>;

BIOSTACK_NAMESPACE_END
