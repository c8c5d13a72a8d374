// SPDX-License-Identifier: MIT
#pragma once

/// Forward declarations of the core vocabulary, for headers that only pass
/// references around.

#include <biostack/config.hpp>
#include <cstddef>
#include <cstdint>

BIOSTACK_NAMESPACE_BEGIN
enum class errc : std::uint8_t;
enum class op : std::uint8_t;
enum class bio_flags : std::uint8_t;
enum class completion_action : std::uint8_t;
struct segment;
struct completion;
struct device_geometry;
class bio;
template <std::size_t Depth>
class bio_stack;
template <class T>
class result;
template <class... P>
struct policies;
BIOSTACK_NAMESPACE_END
