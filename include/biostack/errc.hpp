// SPDX-License-Identifier: MIT
#pragma once

#include <biostack/config.hpp>
#include <cstddef>
#include <cstdint>

BIOSTACK_NAMESPACE_BEGIN

/// Status of a block I/O request or a synchronous call. `ok` is zero so a
/// status can be tested with `if (s != errc::ok)`.
enum class errc : std::uint8_t {
  ok = 0,
  io_error,         ///< unspecified device failure (also: a short transfer)
  media_error,      ///< the medium failed; retrying will not help
  no_device,        ///< path to the device lost; transient, may be retried
  timed_out,        ///< no completion before the deadline
  cancelled,        ///< withdrawn before it reached the device
  out_of_range,     ///< beyond the end of the device, or offset+length wraps
  invalid_argument, ///< malformed request (unknown op, no memory, bad segments)
  misaligned,       ///< offset, length or memory not aligned as the geometry requires
  read_only,        ///< modification of a read-only device
  not_supported,    ///< operation the device does not offer
  no_resources,     ///< out of tags, buffers or pool entries (only when asked to fail)
  integrity,        ///< checksum mismatch on a checked read
  shutting_down,    ///< the layer refuses new work (drain / shutdown)
};

/// Number of `errc` values; handy for per-code counters.
inline constexpr std::size_t errc_count = 14;

/// A short stable name for `e` ("ok", "io_error", ...). Never null.
[[nodiscard]] constexpr const char* to_string(errc e) noexcept {
  switch (e) {
  case errc::ok: return "ok";
  case errc::io_error: return "io_error";
  case errc::media_error: return "media_error";
  case errc::no_device: return "no_device";
  case errc::timed_out: return "timed_out";
  case errc::cancelled: return "cancelled";
  case errc::out_of_range: return "out_of_range";
  case errc::invalid_argument: return "invalid_argument";
  case errc::misaligned: return "misaligned";
  case errc::read_only: return "read_only";
  case errc::not_supported: return "not_supported";
  case errc::no_resources: return "no_resources";
  case errc::integrity: return "integrity";
  case errc::shutting_down: return "shutting_down";
  }
  return "unknown";
}

/// True for statuses that describe the path rather than the data: a layer may
/// retry these (unless the bio is fail-fast). A media error is never transient.
[[nodiscard]] constexpr bool is_transient(errc e) noexcept { return e == errc::no_device; }

BIOSTACK_NAMESPACE_END
