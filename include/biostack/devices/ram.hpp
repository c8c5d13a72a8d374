// SPDX-License-Identifier: MIT
#pragma once

/// A RAM disk over memory the caller provides (a static array, a linker
/// section, a heap block). Completes every bio inline. Offers both the
/// asynchronous (`submit`) and the synchronous (`read`/`write`/...) interface,
/// so wrappers such as `faulty_device` can snapshot and restore contents.

#include <biostack/device/sync_adapter.hpp>
#include <bit>
#include <cstring>

BIOSTACK_NAMESPACE_BEGIN

class ram_device {
public:
  /// A device over `bytes` bytes at `memory`, in blocks of `block_size` bytes
  /// (the capacity is rounded down to whole blocks). The memory must outlive
  /// the device. `memory` may be null only when `bytes` is 0.
  ram_device(std::byte* memory, std::size_t bytes, std::uint32_t block_size = 512) noexcept
      : mem_(memory) {
    BIOSTACK_ASSERT(memory != nullptr || bytes == 0);
    geo_.block_size = block_size;
    geo_.block_count = block_size != 0 ? bytes / block_size : 0;
    geo_.supports_flush = true;
    geo_.supports_discard = true;
    geo_.supports_write_zeroes = true;
    geo_.supports_fua = true;
    BIOSTACK_ASSERT(geo_.valid());
  }

  /// Restricts or extends what the device advertises (transfer limits,
  /// alignment, read-only, supported operations). The capacity and block size
  /// stay those of the memory.
  void set_geometry(const device_geometry& g) noexcept {
    const std::uint64_t bytes = geo_.capacity();
    geo_ = g;
    // Block sizes are powers of two (valid() below insists): a shift, not a
    // 64-bit division, which would pull a libgcc routine into small images.
    geo_.block_count =
        device_geometry::is_pow2(g.block_size) ? bytes >> std::countr_zero(g.block_size) : 0;
    BIOSTACK_ASSERT(geo_.valid());
  }

  [[nodiscard]] device_geometry geometry() const noexcept { return geo_; }

  void submit(bio& b) noexcept {
    errc st = validate(b, geo_);
    std::uint32_t residual = 0;
    if (st == errc::ok) st = perform_sync(*this, b, residual);
    complete(b, st, residual);
  }

  // ---- synchronous interface (byte offsets; callers validate) -----------
  errc read(std::uint64_t off, std::byte* dst, std::uint32_t n) noexcept {
    if (!range_fits(off, n, geo_.capacity())) return errc::out_of_range;
    std::memcpy(dst, mem_ + off, n);
    return errc::ok;
  }
  errc write(std::uint64_t off, const std::byte* src, std::uint32_t n) noexcept {
    if (!range_fits(off, n, geo_.capacity())) return errc::out_of_range;
    if (geo_.read_only) return errc::read_only;
    std::memcpy(mem_ + off, src, n);
    return errc::ok;
  }
  errc flush() noexcept { return errc::ok; }
  /// Discarded ranges read back as zeroes (a deterministic choice; callers
  /// must not rely on it for other devices).
  errc discard(std::uint64_t off, std::uint32_t n) noexcept { return write_zeroes(off, n); }
  errc write_zeroes(std::uint64_t off, std::uint32_t n) noexcept {
    if (!range_fits(off, n, geo_.capacity())) return errc::out_of_range;
    if (geo_.read_only) return errc::read_only;
    std::memset(mem_ + off, 0, n);
    return errc::ok;
  }

  /// Direct access to the backing memory (tests, emulators).
  [[nodiscard]] std::byte* memory() noexcept { return mem_; }
  [[nodiscard]] const std::byte* memory() const noexcept { return mem_; }

private:
  std::byte* mem_;
  device_geometry geo_{};
};

/// A RAM disk that owns `Bytes` bytes of storage inside the object: declare it
/// at namespace scope and the storage lands in `.bss`.
template <std::size_t Bytes, std::uint32_t BlockSize = 512, std::size_t Align = 32>
class static_ram_device : public ram_device {
  static_assert(Bytes % BlockSize == 0, "capacity must be whole blocks");

public:
  static_ram_device() noexcept : ram_device(storage_, Bytes, BlockSize) {}
  static_ram_device(const static_ram_device&) = delete;
  static_ram_device& operator=(const static_ram_device&) = delete;

private:
  alignas(Align) std::byte storage_[Bytes] = {};
};

static_assert(block_device<ram_device>);
static_assert(sync_block_device<ram_device>);

BIOSTACK_NAMESPACE_END
