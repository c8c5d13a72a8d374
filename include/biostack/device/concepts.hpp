// SPDX-License-Identifier: MIT
#pragma once

/// Device concepts. No base class, no virtual calls: anything with these
/// members is a device.

#include <biostack/bio/bio.hpp>
#include <biostack/device/geometry.hpp>
#include <biostack/policy.hpp>
#include <concepts>
#include <cstddef>
#include <type_traits>

BIOSTACK_NAMESPACE_BEGIN

/// An asynchronous block device: reports its geometry and accepts bios.
/// `submit(b)` completes `b` exactly once, inline (before it returns) or later
/// from any context, by calling `complete(b, status)`.
template <class D>
concept block_device = requires(D& d, const D& cd, bio& b) {
  { cd.geometry() }
  noexcept->std::convertible_to<device_geometry>;
  { d.submit(b) }
  noexcept->std::same_as<void>;
};

/// The optional declarations below (`constant_geometry`,
/// `submit_validated`, `infallible_validated_submit_of`,
/// `transfer_validated` with `validated_transfer_of`, and the
/// dispatcher's `may_lose_path`) are promises a
/// device makes to the layers above it, which then leave out checks or
/// code. A class derived from a device inherits them, yet it may have
/// replaced `submit` or `geometry` and so broken them: they count only for
/// the type that names itself as their owner, `using promises_of = D;`
/// (inherited, the alias names the base, and the layers above take the
/// general path). A derived class that keeps the promises says so again.
template <class D>
concept makes_own_promises = requires {
  requires std::is_same_v<typename std::remove_cvref_t<D>::promises_of, std::remove_cvref_t<D>>;
};

/// A device whose geometry is fixed at compile time: it has a
/// `static constexpr device_geometry constant_geometry` equal to what
/// `geometry()` always returns. Layers above (dispatcher, cache) then check
/// requests against constants: no runtime copy of the geometry, and the
/// checks fold at compile time. Optional; any `block_device` works without.
/// A promise: see `makes_own_promises`.
template <class D>
concept constant_geometry_device = block_device<D> && makes_own_promises<D> && requires {
  { std::remove_cvref_t<D>::constant_geometry } -> std::convertible_to<device_geometry>;
} && std::remove_cvref_t<D>::constant_geometry.valid();

namespace detail {
// A layer's copy of its device's geometry (the dispatcher's, the cache's):
// the geometry read once at construction, or, over a
// `constant_geometry_device`, an empty stand-in (hold it
// [[no_unique_address]]), with `geometry_in` naming the constant so that
// every check against it folds. The copy is a plain device_geometry, so a
// layer's layout is the same as with a member of that type.
template <class Device>
using geometry_copy = only_if<!constant_geometry_device<Device>, device_geometry, 0x6e0>;
template <class Device>
[[nodiscard]] constexpr geometry_copy<Device> copy_geometry(const Device& d) noexcept {
  if constexpr (constant_geometry_device<Device>) {
    (void)d;
    return {};
  } else {
    return d.geometry();
  }
}
template <class Device>
[[nodiscard]] constexpr const device_geometry&
geometry_in(const geometry_copy<Device>& copy) noexcept {
  if constexpr (constant_geometry_device<Device>) {
    (void)copy;
    return std::remove_cvref_t<Device>::constant_geometry;
  } else {
    return copy;
  }
}
} // namespace detail

/// A `constant_geometry_device` that also takes bios already known to be
/// valid: `submit_validated(b)` does what `submit(b)` does, without checking
/// `b` again. Requires: `validate<D::constant_geometry>(b) == errc::ok`
/// (anything else is undefined: the device trusts the caller with its
/// memory). A layer that has validated every bio against that same constant
/// (the dispatcher, when it neither merges nor splits) uses it, so the checks
/// run once per request instead of twice. Optional; a promise (see
/// `makes_own_promises`).
template <class D>
concept validated_submit_device = constant_geometry_device<D> && requires(D& d, bio& b) {
  { d.submit_validated(b) }
  noexcept->std::same_as<void>;
};

/// A `validated_submit_device` whose `submit_validated(b)` always completes
/// `b` with `ok` and nothing left over (a RAM disk: once a bio is valid, its
/// transfer cannot fail or stop short). A layer that hands such a device only
/// requests of its own, rearmed before each submission (the dispatcher),
/// then knows each result without reading it back. Optional, and a promise
/// with an owner of its own: the device declares `using
/// infallible_validated_submit_of = D;`. A derived class that says
/// `promises_of` again (keeping the other promises) may well fail in its own
/// `submit_validated`, so it does not make this one unless it names itself
/// here too.
template <class D>
concept infallible_validated_submit_device = validated_submit_device<D> && requires {
  requires std::is_same_v<typename std::remove_cvref_t<D>::infallible_validated_submit_of,
                          std::remove_cvref_t<D>>;
};

/// A `validated_submit_device` that also carries out a valid bio's transfer
/// in place: `transfer_validated(b)` moves the data as `submit_validated(b)`
/// would, before it returns, and neither fails nor completes `b` (a RAM
/// disk: the transfer is a copy). A layer that validated the bio itself (the
/// dispatcher) then needs no request of its own to hand the device: it has
/// the bio transferred and completes it when its completion policy says.
/// Requires: `validate<D::constant_geometry>(b) == errc::ok`. Optional, and
/// a promise with an owner of its own, like the infallibility promise: the
/// device declares `using validated_transfer_of = D;`, and a derived class
/// (whose `submit_validated` may fail or hold a request back) makes it only
/// by naming itself there too.
template <class D>
concept validated_transfer_device = validated_submit_device<D> && requires(D& d, const bio& b) {
  { d.transfer_validated(b) }
  noexcept->std::same_as<void>;
  requires std::is_same_v<typename std::remove_cvref_t<D>::validated_transfer_of,
                          std::remove_cvref_t<D>>;
};

/// A device that makes progress (delivers completions, retries, restores
/// paths) only when polled. `poll()` returns how much work it did (0: idle).
template <class D>
concept pollable = requires(D& d) {
  { d.poll() }
  noexcept->std::convertible_to<std::size_t>;
};

/// A synchronous device: each call performs the whole operation and returns
/// its status. Offsets and lengths are in bytes and obey the geometry.
/// `sync_adapter` lifts one into a `block_device`.
template <class D>
concept sync_block_device = requires(D& d, const D& cd, std::uint64_t off, std::byte* p,
                                     const std::byte* cp, std::uint32_t n) {
  { cd.geometry() }
  noexcept->std::convertible_to<device_geometry>;
  { d.read(off, p, n) }
  noexcept->std::same_as<errc>;
  { d.write(off, cp, n) }
  noexcept->std::same_as<errc>;
  { d.flush() }
  noexcept->std::same_as<errc>;
  { d.discard(off, n) }
  noexcept->std::same_as<errc>;
};

/// A synchronous device that can also zero a range without a buffer.
template <class D>
concept sync_write_zeroes = requires(D& d, std::uint64_t off, std::uint32_t n) {
  { d.write_zeroes(off, n) }
  noexcept->std::same_as<errc>;
};

/// Polls `d` if it is pollable; otherwise does nothing and returns 0.
template <class D>
std::size_t poll_if_pollable(D& d) noexcept {
  if constexpr (pollable<D>) {
    return static_cast<std::size_t>(d.poll());
  } else {
    (void)d;
    return 0;
  }
}

BIOSTACK_NAMESPACE_END
