// SPDX-License-Identifier: MIT
#pragma once

/// A device that completes every valid bio at once without touching memory:
/// the baseline for overhead measurements (like Linux null_blk). Invalid bios
/// still get their validation error, so it can stand in for a real device in
/// tests of bad input.

#include <biostack/device/concepts.hpp>
#include <biostack/device/validate.hpp>

BIOSTACK_NAMESPACE_BEGIN

class null_device {
public:
  /// `block_count` blocks of `block_size` bytes (default: 2^40 bytes).
  explicit null_device(std::uint32_t block_size = 512,
                       std::uint64_t block_count = (std::uint64_t{1} << 40) / 512,
                       bool validate_requests = true) noexcept
      : validate_(validate_requests) {
    geo_.block_size = block_size;
    geo_.block_count = block_count;
    geo_.supports_flush = true;
    geo_.supports_discard = true;
    geo_.supports_write_zeroes = true;
    geo_.supports_fua = true;
    BIOSTACK_ASSERT(geo_.valid());
  }

  [[nodiscard]] device_geometry geometry() const noexcept { return geo_; }

  void submit(bio& b) noexcept {
    ++submitted_;
    complete(b, validate_ ? validate(b, geo_) : errc::ok);
  }

  /// Bios seen so far.
  [[nodiscard]] std::uint64_t submitted() const noexcept { return submitted_; }

private:
  device_geometry geo_{};
  std::uint64_t submitted_ = 0;
  bool validate_;
};

static_assert(block_device<null_device>);

BIOSTACK_NAMESPACE_END
