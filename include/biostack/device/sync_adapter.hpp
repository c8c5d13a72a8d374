// SPDX-License-Identifier: MIT
#pragma once

/// Lifts a synchronous device (read / write / flush / discard returning
/// `errc`) into a `block_device` whose `submit` validates the bio, performs
/// it inline and completes it before returning.

#include <biostack/device/concepts.hpp>
#include <biostack/device/validate.hpp>
#include <type_traits>
#include <utility>

BIOSTACK_NAMESPACE_BEGIN

/// Performs `b` on the synchronous device `d` and returns the status and the
/// number of bytes not transferred. The bio is not completed. Scatter-gather
/// bios are carried out piece by piece; on the first failing piece the rest
/// is skipped and counted as residual. Shared by `sync_adapter` and by
/// devices that implement both interfaces.
template <sync_block_device D>
errc perform_sync(D& d, const bio& b, std::uint32_t& residual) noexcept {
  residual = 0;
  switch (b.operation) {
  case op::read:
  case op::write: {
    errc st = errc::ok;
    std::uint32_t done = 0;
    for_each_piece(b, 0, b.length, [&](std::byte* p, std::uint32_t n) noexcept {
      if (st != errc::ok) return;
      st = b.operation == op::read ? d.read(b.offset + done, p, n)
                                   : d.write(b.offset + done, static_cast<const std::byte*>(p), n);
      if (st == errc::ok) done += n;
    });
    residual = b.length - done;
    return st;
  }
  case op::flush: return d.flush();
  case op::discard: return d.discard(b.offset, b.length);
  case op::write_zeroes:
    if constexpr (sync_write_zeroes<D>) {
      return d.write_zeroes(b.offset, b.length);
    } else {
      return errc::not_supported;
    }
  }
  return errc::invalid_argument;
}

/// `Sync` may be a value type (the adapter owns the device) or an lvalue
/// reference (the adapter refers to a device that outlives it).
template <class Sync>
class sync_adapter {
  using device_type = std::remove_reference_t<Sync>;
  static_assert(sync_block_device<device_type>, "sync_adapter needs a sync_block_device");

public:
  // Constrained so that copying an adapter (`sync_adapter<D&>` is copyable)
  // is not taken for constructing the device from it.
  template <class... Args>
  requires std::is_constructible_v<Sync, Args&&...>
  explicit sync_adapter(Args&&... args) noexcept(std::is_nothrow_constructible_v<Sync, Args&&...>)
      : dev_(std::forward<Args>(args)...) {}

  [[nodiscard]] device_geometry geometry() const noexcept { return dev_.geometry(); }

  /// Validates and performs `b`, completing it before returning.
  void submit(bio& b) noexcept {
    const device_geometry g = dev_.geometry();
    errc st = validate(b, g);
    std::uint32_t residual = 0;
    if (st == errc::ok) st = perform_sync(dev_, b, residual);
    complete(b, st, residual);
  }

  [[nodiscard]] device_type& device() noexcept { return dev_; }
  [[nodiscard]] const device_type& device() const noexcept { return dev_; }

private:
  Sync dev_;
};

template <class D>
sync_adapter(D&) -> sync_adapter<D&>;

BIOSTACK_NAMESPACE_END
