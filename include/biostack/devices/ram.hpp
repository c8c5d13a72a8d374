// SPDX-License-Identifier: MIT
#pragma once

/// RAM disks: `ram_device` over memory the caller provides (a static array, a
/// linker section, a heap block) and `static_ram_device`, which owns its
/// storage. Both complete every bio inline and offer the asynchronous
/// (`submit`) and the synchronous (`read`/`write`/...) interface, so wrappers
/// such as `faulty_device` can snapshot and restore contents. They share one
/// transfer routine; they differ only in where the memory and the geometry
/// come from.

#include <biostack/bio/memory.hpp>
#include <biostack/device/sync_adapter.hpp>
#include <bit>
#include <cstring>

BIOSTACK_NAMESPACE_BEGIN

namespace detail {

// What a RAM disk of `bytes` bytes in blocks of `block_size` bytes offers: the
// capacity rounded down to whole blocks, every operation, FUA (a RAM disk is
// always durable), no transfer or alignment limits.
[[nodiscard]] constexpr device_geometry ram_geometry(std::uint64_t bytes,
                                                     std::uint32_t block_size) noexcept {
  device_geometry g;
  g.block_size = block_size;
  g.block_count = block_size != 0 ? bytes / block_size : 0;
  g.supports_flush = true;
  g.supports_discard = true;
  g.supports_write_zeroes = true;
  g.supports_fua = true;
  return g;
}

// The transfer of a bio that passed validation: moves the bytes between
// `b`'s memory and `mem`. After validation the range lies inside the memory
// and every operation is allowed, so it cannot fail. One routine for every
// RAM disk type, not one per template instance.
inline void ram_copy(std::byte* mem, const bio& b) noexcept {
  if (b.operation != op::flush) {
    // validate() bounded the offset by the capacity, which fits in memory.
    std::byte* at = mem + static_cast<std::size_t>(b.offset);
    if (!carries_data(b.operation)) {
      std::memset(at, 0, b.length); // discard and write_zeroes: both read back as zeroes
    } else {
      // One walk of the bio's memory (validate() checked it covers the
      // range) for both directions.
      const bool into_bio = b.operation == op::read;
      for_each_piece(b, 0, b.length, [&at, into_bio](std::byte* p, std::uint32_t n) noexcept {
        if (into_bio)
          std::memcpy(p, at, n);
        else
          std::memcpy(at, p, n);
        at += n;
      });
    }
  }
}

// The rest of a RAM disk's `submit` for a bio that passed validation: the
// transfer, then the completion. complete(b, errc::ok) with nothing left
// over records nothing: the rest of it is end_io.
inline void ram_transfer(std::byte* mem, bio& b) noexcept {
  ram_copy(mem, b);
  end_io(b);
}

// The checks of the synchronous interface (whose callers validate, but a
// device must not trust them with its memory): the range inside the
// capacity, no modification of a read-only device.
[[nodiscard]] inline errc ram_check(const device_geometry& g, std::uint64_t off, std::uint32_t n,
                                    bool modify) noexcept {
  if (!range_fits(off, n, g.capacity())) return errc::out_of_range;
  if (modify && g.read_only) return errc::read_only;
  return errc::ok;
}

// Everything a RAM disk offers, over the memory and geometry its Derived
// class provides (private `ram_memory()` and `ram_geometry()`, with this class
// a friend, and `ram_validate()`, which checks a bio against that geometry):
// one definition for ram_device and static_ram_device, which differ only in
// where those come from. Empty, so a Derived object holds
// nothing but its own members.
template <class Derived>
class ram_disk_interface {
public:
  /// The promises below, and the Derived class's `constant_geometry` and
  /// `submit_validated` if it has them, are the Derived class's own: a class
  /// derived from it (which may replace `submit`) does not inherit them (see
  /// `makes_own_promises`).
  using promises_of = Derived;
  /// A RAM disk has no path to lose: it never completes a bio with
  /// `errc::no_device` (a dispatcher over it leaves out path-loss handling).
  static constexpr bool may_lose_path = false;

  /// Validates `b`, performs it and completes it before returning.
  void submit(bio& b) noexcept {
    if (const errc st = self().ram_validate(b); st != errc::ok)
      complete(b, st);
    else
      ram_transfer(self().ram_memory(), b);
  }

  // ---- synchronous interface (byte offsets; callers validate) -----------
  errc read(std::uint64_t off, std::byte* dst, std::uint32_t n) noexcept {
    const errc st = ram_check(self().ram_geometry(), off, n, false);
    if (st == errc::ok) std::memcpy(dst, self().ram_memory() + off, n);
    return st;
  }
  errc write(std::uint64_t off, const std::byte* src, std::uint32_t n) noexcept {
    const errc st = ram_check(self().ram_geometry(), off, n, true);
    if (st == errc::ok) std::memcpy(self().ram_memory() + off, src, n);
    return st;
  }
  errc flush() noexcept { return errc::ok; }
  /// Discarded ranges read back as zeroes (a deterministic choice; callers
  /// must not rely on it for other devices).
  errc discard(std::uint64_t off, std::uint32_t n) noexcept { return write_zeroes(off, n); }
  errc write_zeroes(std::uint64_t off, std::uint32_t n) noexcept {
    const errc st = ram_check(self().ram_geometry(), off, n, true);
    if (st == errc::ok) std::memset(self().ram_memory() + off, 0, n);
    return st;
  }

  /// Direct access to the memory (tests, emulators).
  [[nodiscard]] std::byte* memory() noexcept { return self().ram_memory(); }
  [[nodiscard]] const std::byte* memory() const noexcept {
    return static_cast<const Derived&>(*this).ram_memory();
  }

private:
  Derived& self() noexcept { return static_cast<Derived&>(*this); }
};

} // namespace detail

class ram_device : public detail::ram_disk_interface<ram_device> {
public:
  /// A device over `bytes` bytes at `memory`, in blocks of `block_size` bytes
  /// (the capacity is rounded down to whole blocks). The memory must outlive
  /// the device. `memory` may be null only when `bytes` is 0.
  ram_device(std::byte* memory, std::size_t bytes, std::uint32_t block_size = 512) noexcept
      : mem_(memory), geo_(detail::ram_geometry(bytes, block_size)) {
    BIOSTACK_ASSERT(memory != nullptr || bytes == 0);
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

private:
  friend class detail::ram_disk_interface<ram_device>;
  [[nodiscard]] std::byte* ram_memory() const noexcept { return mem_; }
  [[nodiscard]] const device_geometry& ram_geometry() const noexcept { return geo_; }
  [[nodiscard]] errc ram_validate(const bio& b) const noexcept { return validate(b, geo_); }

  std::byte* mem_;
  device_geometry geo_;
};

/// A RAM disk that owns `Bytes` bytes of storage inside the object, in blocks
/// of `BlockSize` bytes, aligned to `Align`. Its geometry is that of a
/// `ram_device` over the same memory, fixed by the template arguments.
///
/// The object holds nothing but zeroes until it is written, and its
/// constructor is `constexpr`: declared at namespace scope it is
/// constant-initialised into `.bss`, with no start-up code and no copy in
/// flash. An automatic or member instance is zeroed when constructed.
///
/// It is a device type of its own: name it in the layers above
/// (`dispatcher<decltype(disk), ...>{disk}`), which also lets the compiler
/// see its constant geometry. `as_ram_device()` gives a `ram_device` over the
/// same storage where one is wanted by type.
template <std::size_t Bytes, std::uint32_t BlockSize = 512, std::size_t Align = 32>
class static_ram_device
    : public detail::ram_disk_interface<static_ram_device<Bytes, BlockSize, Align>> {
  static_assert(Bytes % BlockSize == 0, "capacity must be whole blocks");

public:
  /// The geometry, as a constant (see `constant_geometry_device`).
  static constexpr device_geometry constant_geometry = detail::ram_geometry(Bytes, BlockSize);
  static_assert(constant_geometry.valid(), "the block size must be a power of two");

  constexpr static_ram_device() noexcept = default;
  static_ram_device(const static_ram_device&) = delete;
  static_ram_device& operator=(const static_ram_device&) = delete;

  [[nodiscard]] constexpr device_geometry geometry() const noexcept { return constant_geometry; }

  /// `submit(b)` for a bio that passes `validate<constant_geometry>(b)` (see
  /// `validated_submit_device`): performs it and completes it (`ok`) before
  /// returning, without validating it again. Requires: that validation
  /// passes; a debug build checks it.
  void submit_validated(bio& b) noexcept {
    BIOSTACK_DEBUG_ASSERT(ram_validate(b) == errc::ok);
    detail::ram_transfer(storage_, b);
  }
  /// `submit_validated` records no error and no residual: the transfer of a
  /// valid bio cannot fail (see `infallible_validated_submit_device`).
  using infallible_validated_submit_of = static_ram_device;

  /// `submit_validated(b)` but for the completion: moves the data of a bio
  /// that passes `validate<constant_geometry>(b)` and returns, leaving `b`
  /// to its owner (see `validated_transfer_device`). A debug build checks
  /// the validation.
  void transfer_validated(const bio& b) noexcept {
    BIOSTACK_DEBUG_ASSERT(ram_validate(b) == errc::ok);
    detail::ram_copy(storage_, b);
  }
  using validated_transfer_of = static_ram_device;

  /// A `ram_device` over this object's storage, with the same geometry; a
  /// handle (pointer and geometry), valid while this object lives. Data
  /// written through either is seen through the other; `set_geometry` on the
  /// handle changes only what its users see.
  [[nodiscard]] ram_device as_ram_device() noexcept {
    return ram_device(storage_, Bytes, BlockSize);
  }

private:
  friend class detail::ram_disk_interface<static_ram_device>;
  [[nodiscard]] std::byte* ram_memory() noexcept { return storage_; }
  [[nodiscard]] const std::byte* ram_memory() const noexcept { return storage_; }
  [[nodiscard]] static constexpr const device_geometry& ram_geometry() noexcept {
    return constant_geometry;
  }
  // Against the constant: the checks the geometry decides fold away, and a
  // dispatcher over this device shares the instance.
  [[nodiscard]] static errc ram_validate(const bio& b) noexcept {
    return validate<constant_geometry>(b);
  }

  alignas(Align) std::byte storage_[Bytes] = {};
};

static_assert(block_device<ram_device>);
static_assert(constant_geometry_device<static_ram_device<4096>>);
static_assert(validated_submit_device<static_ram_device<4096>>);
static_assert(infallible_validated_submit_device<static_ram_device<4096>>);
static_assert(validated_transfer_device<static_ram_device<4096>>);
static_assert(!constant_geometry_device<ram_device>);
static_assert(sync_block_device<ram_device>);

BIOSTACK_NAMESPACE_END
