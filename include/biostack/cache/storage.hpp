// SPDX-License-Identifier: MIT
#pragma once

/// Storage policies: where a buffer cache keeps the bytes of its buffers.
/// The capacity (number of buffers) and the largest buffer size are template
/// parameters, so metadata arrays are sized at compile time and a static
/// configuration needs no heap. Heap storage lives in
/// <biostack/hosted/cache_heap_storage.hpp>.

#include <biostack/assert.hpp>
#include <concepts>
#include <cstddef>
#include <cstdint>

BIOSTACK_NAMESPACE_BEGIN

struct storage_policy_tag {};

/// A storage policy: `capacity` buffers of `block_size` bytes each, every one
/// aligned to at least `alignment` bytes. `data(i)` is buffer i's memory.
template <class S>
concept cache_storage = requires(S& s, std::size_t i) {
  { S::capacity } -> std::convertible_to<std::size_t>;
  { S::block_size } -> std::convertible_to<std::uint32_t>;
  { s.alignment() }
  noexcept->std::convertible_to<std::uint32_t>;
  { s.data(i) }
  noexcept->std::same_as<std::byte*>;
  { s.attach(std::uint32_t{}) }
  noexcept->std::same_as<bool>;
};

/// `N` buffers of `BlockSize` bytes inside the cache object (`.bss` when the
/// cache is static). Each buffer starts on an `Align` boundary (default 32, a
/// common DMA requirement); `attach` refuses devices that need more.
template <std::size_t N, std::uint32_t BlockSize, std::uint32_t Align = 32>
class static_storage {
  static_assert(N > 0, "a cache needs at least one buffer");
  static_assert(BlockSize > 0 && (BlockSize & (BlockSize - 1)) == 0,
                "BlockSize must be a power of two");
  static_assert(Align > 0 && (Align & (Align - 1)) == 0, "Align must be a power of two");
  static constexpr std::size_t stride = (BlockSize + Align - 1) / Align * Align;

public:
  using category = storage_policy_tag;
  static constexpr std::size_t capacity = N;
  static constexpr std::uint32_t block_size = BlockSize;

  /// Called once with the device's required alignment; false if unmet.
  [[nodiscard]] bool attach(std::uint32_t device_alignment) noexcept {
    return device_alignment <= Align;
  }
  [[nodiscard]] constexpr std::uint32_t alignment() const noexcept { return Align; }
  [[nodiscard]] std::byte* data(std::size_t i) noexcept {
    BIOSTACK_DEBUG_ASSERT(i < N);
    return mem_ + i * stride;
  }

private:
  alignas(Align) std::byte mem_[N * stride];
};

/// `N` buffer headers that all share one scratch block: no per-buffer bytes.
/// For simulations that only need the cache's decisions (trace replay over a
/// `null_device`); the contents of such a cache are meaningless.
template <std::size_t N, std::uint32_t BlockSize>
class no_data_storage {
public:
  using category = storage_policy_tag;
  static constexpr std::size_t capacity = N;
  static constexpr std::uint32_t block_size = BlockSize;
  [[nodiscard]] bool attach(std::uint32_t device_alignment) noexcept {
    return device_alignment <= 32;
  }
  [[nodiscard]] constexpr std::uint32_t alignment() const noexcept { return 32; }
  [[nodiscard]] std::byte* data(std::size_t) noexcept { return scratch_; }

private:
  alignas(32) std::byte scratch_[BlockSize];
};

static_assert(cache_storage<static_storage<4, 512>>);
static_assert(cache_storage<no_data_storage<4, 512>>);

BIOSTACK_NAMESPACE_END
