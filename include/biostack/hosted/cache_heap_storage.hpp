// SPDX-License-Identifier: MIT
#pragma once

/// Heap storage for `buffer_cache`: the buffers' bytes come from the heap at
/// construction (one block, aligned to the device's requirement or 32 bytes,
/// whichever is larger), so large caches need not sit in the cache object.

#include <biostack/hosted/config_check.hpp>

#include <biostack/cache/storage.hpp>
#include <cstdlib>
#include <new>

BIOSTACK_NAMESPACE_BEGIN

/// `N` buffers of `BlockSize` bytes on the heap. `attach` allocates (once)
/// with the device's alignment and returns false if memory is short.
template <std::size_t N, std::uint32_t BlockSize>
class heap_storage {
  static_assert(N > 0 && BlockSize > 0 && (BlockSize & (BlockSize - 1)) == 0);

public:
  using category = storage_policy_tag;
  static constexpr std::size_t capacity = N;
  static constexpr std::uint32_t block_size = BlockSize;

  heap_storage() noexcept = default;
  heap_storage(const heap_storage&) = delete;
  heap_storage& operator=(const heap_storage&) = delete;
  ~heap_storage() { ::operator delete (mem_, std::align_val_t{align_}, std::nothrow); }

  [[nodiscard]] bool attach(std::uint32_t device_alignment) noexcept {
    if (mem_ != nullptr) return device_alignment <= align_;
    align_ = device_alignment > 32 ? device_alignment : 32;
    stride_ = (BlockSize + align_ - 1) / align_ * align_;
    mem_ = static_cast<std::byte*>(
        ::operator new (N* stride_, std::align_val_t{align_}, std::nothrow));
    return mem_ != nullptr;
  }
  [[nodiscard]] std::uint32_t alignment() const noexcept { return align_; }
  [[nodiscard]] std::byte* data(std::size_t i) noexcept { return mem_ + i * stride_; }

private:
  std::byte* mem_ = nullptr;
  std::uint32_t align_ = 32;
  std::size_t stride_ = BlockSize;
};
static_assert(cache_storage<heap_storage<4, 512>>);

BIOSTACK_NAMESPACE_END
