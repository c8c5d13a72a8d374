// SPDX-License-Identifier: MIT
#pragma once

/// A RAM disk that owns its storage on the heap: for hosted tests, emulators
/// and tools that size the disk at run time. Behaves exactly like
/// `ram_device` (it is one, over memory it owns); only the ownership differs.

#include <biostack/hosted/config_check.hpp>

#include <biostack/devices/ram.hpp>
#include <biostack/result.hpp>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

BIOSTACK_NAMESPACE_BEGIN

class heap_ram_device {
  // Storage comes from the aligned form of operator new, so it must go back
  // through the matching aligned delete.
  struct aligned_delete {
    std::align_val_t alignment;
    void operator()(std::byte* p) const noexcept { ::operator delete[](p, alignment); }
  };
  using storage_ptr = std::unique_ptr<std::byte[], aligned_delete>;

public:
  /// Allocates a zero-filled disk of `bytes` bytes in blocks of `block_size`
  /// bytes. The storage starts on a `memory_alignment` boundary (default: a
  /// cache line, what DMA engines and O_DIRECT buffers expect), so blocks
  /// handed out by `memory()` can feed alignment-sensitive code directly.
  /// The geometry advertises `alignment = 1` like any RAM disk; restrict it
  /// with `set_geometry` to emulate a DMA-constrained controller.
  ///
  /// Returns `invalid_argument` if `block_size` or `memory_alignment` is not a
  /// power of two, or `bytes` is not a non-zero multiple of `block_size`;
  /// `no_resources` if the allocation fails. Never throws.
  [[nodiscard]] static result<heap_ram_device> create(std::uint64_t bytes,
                                                      std::uint32_t block_size = 512,
                                                      std::size_t memory_alignment = 64) noexcept {
    const auto pow2 = [](std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; };
    if (!pow2(block_size) || !pow2(memory_alignment)) return errc::invalid_argument;
    if (bytes == 0 || bytes % block_size != 0) return errc::invalid_argument;
    // No object may exceed PTRDIFF_MAX bytes: refuse without asking.
    if (bytes > static_cast<std::uint64_t>(PTRDIFF_MAX)) return errc::no_resources;
    const auto n = static_cast<std::size_t>(bytes);
    const std::align_val_t al{memory_alignment < alignof(std::max_align_t)
                                  ? alignof(std::max_align_t)
                                  : memory_alignment};
    auto* p = static_cast<std::byte*>(::operator new[](n, al, std::nothrow));
    if (p == nullptr) return errc::no_resources;
    std::memset(p, 0, n);
    return heap_ram_device(storage_ptr(p, aligned_delete{al}), n, block_size);
  }

  /// A moved-from device is empty (capacity 0): every request to it fails
  /// validation with `out_of_range` instead of touching memory it no longer owns.
  heap_ram_device(heap_ram_device&& o) noexcept : storage_(std::move(o.storage_)), dev_(o.dev_) {
    o.dev_ = ram_device(nullptr, 0, dev_.geometry().block_size);
  }
  heap_ram_device& operator=(heap_ram_device&& o) noexcept {
    if (this != &o) {
      storage_ = std::move(o.storage_);
      dev_ = o.dev_;
      o.dev_ = ram_device(nullptr, 0, dev_.geometry().block_size);
    }
    return *this;
  }
  heap_ram_device(const heap_ram_device&) = delete;
  heap_ram_device& operator=(const heap_ram_device&) = delete;

  // ---- block_device ------------------------------------------------------
  [[nodiscard]] device_geometry geometry() const noexcept { return dev_.geometry(); }
  /// Validates and performs `b` inline; see `ram_device::submit`.
  void submit(bio& b) noexcept { dev_.submit(b); }

  // ---- sync_block_device -------------------------------------------------
  errc read(std::uint64_t off, std::byte* dst, std::uint32_t n) noexcept {
    return dev_.read(off, dst, n);
  }
  errc write(std::uint64_t off, const std::byte* src, std::uint32_t n) noexcept {
    return dev_.write(off, src, n);
  }
  errc flush() noexcept { return dev_.flush(); }
  errc discard(std::uint64_t off, std::uint32_t n) noexcept { return dev_.discard(off, n); }
  errc write_zeroes(std::uint64_t off, std::uint32_t n) noexcept {
    return dev_.write_zeroes(off, n);
  }

  /// See `ram_device::set_geometry`.
  void set_geometry(const device_geometry& g) noexcept { dev_.set_geometry(g); }

  /// The backing storage (aligned as requested at creation).
  [[nodiscard]] std::byte* memory() noexcept { return dev_.memory(); }
  [[nodiscard]] const std::byte* memory() const noexcept { return dev_.memory(); }

  /// The underlying `ram_device` view, for code written against it.
  [[nodiscard]] ram_device& ram() noexcept { return dev_; }

private:
  heap_ram_device(storage_ptr storage, std::size_t bytes, std::uint32_t block_size) noexcept
      : storage_(std::move(storage)), dev_(storage_.get(), bytes, block_size) {}

  // Declared before dev_: dev_ points into it. Moving the pair keeps the
  // pointer valid because the heap block itself never moves.
  storage_ptr storage_;
  ram_device dev_;
};

static_assert(block_device<heap_ram_device>);
static_assert(sync_block_device<heap_ram_device>);
static_assert(sync_write_zeroes<heap_ram_device>);

BIOSTACK_NAMESPACE_END
