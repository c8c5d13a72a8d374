// SPDX-License-Identifier: MIT
#pragma once

/// A device that completes every valid bio without touching memory: the
/// baseline for overhead measurements (like Linux null_blk). Invalid bios
/// still get their validation error, so it can stand in for a real device in
/// tests of bad input.
///
/// Completion modes (null_blk's `irqmode`): by default a bio completes at
/// once, inside `submit`, so a caller never has more than one outstanding.
/// With `null_completion::on_poll` it is held, and `poll()` completes the bios
/// held at that moment, in submission order: that keeps a real queue depth
/// outstanding, as a queued device does.

#include <biostack/device/concepts.hpp>
#include <biostack/device/validate.hpp>

BIOSTACK_NAMESPACE_BEGIN

/// When a `null_device` completes a bio.
enum class null_completion : std::uint8_t {
  immediate, ///< inside `submit` (the default)
  on_poll,   ///< held until the next `poll()`
};

class null_device {
public:
  /// `block_count` blocks of `block_size` bytes (default: 2^40 bytes),
  /// completing per `mode`.
  explicit null_device(std::uint32_t block_size = 512,
                       std::uint64_t block_count = (std::uint64_t{1} << 40) / 512,
                       bool validate_requests = true,
                       null_completion mode = null_completion::immediate) noexcept
      : validate_(validate_requests), mode_(mode) {
    geo_.block_size = block_size;
    geo_.block_count = block_count;
    geo_.supports_flush = true;
    geo_.supports_discard = true;
    geo_.supports_write_zeroes = true;
    geo_.supports_fua = true;
    BIOSTACK_ASSERT(geo_.valid());
  }

  [[nodiscard]] device_geometry geometry() const noexcept { return geo_; }

  /// Completes `b` now, or holds it for `poll()` (`on_poll`; the device
  /// owns `b.hook` meanwhile). ISR-safe as far as `b`'s completion is.
  void submit(bio& b) noexcept {
    ++submitted_;
    if (mode_ == null_completion::immediate) {
      complete(b, validate_ ? validate(b, geo_) : errc::ok);
      return;
    }
    b.hook.next = nullptr;
    if (tail_ != nullptr)
      tail_->hook.next = &b;
    else
      head_ = &b;
    tail_ = &b;
    ++held_;
  }

  /// Completes the bios held when it was called, oldest first; bios their
  /// callbacks submit wait for the next call (so one call is bounded).
  /// Returns the number completed (always 0 in `immediate` mode).
  /// Complexity: O(held). Not reentrant.
  std::size_t poll() noexcept {
    bio* b = head_;
    head_ = tail_ = nullptr;
    std::size_t n = 0;
    while (b != nullptr) {
      bio* next = b->hook.next; // the callback may resubmit `b`
      b->hook.next = nullptr;
      --held_;
      ++n;
      complete(*b, validate_ ? validate(*b, geo_) : errc::ok);
      b = next;
    }
    return n;
  }

  /// Bios seen so far.
  [[nodiscard]] std::uint64_t submitted() const noexcept { return submitted_; }
  /// Bios waiting for `poll()` (`on_poll` mode).
  [[nodiscard]] std::size_t held() const noexcept { return held_; }

private:
  device_geometry geo_{};
  std::uint64_t submitted_ = 0;
  bio* head_ = nullptr;
  bio* tail_ = nullptr;
  std::size_t held_ = 0;
  bool validate_;
  null_completion mode_;
};

static_assert(block_device<null_device>);

BIOSTACK_NAMESPACE_END
