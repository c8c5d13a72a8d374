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

namespace detail {
// Every name in one block, in enumerator order, then the name of values out
// of range. `to_string` finds a name by counting terminators: a few bytes of
// loop instead of a table of offsets or of pointers (a switch over the names
// compiles to the latter), and no table that could drift from the names.
inline constexpr char errc_names[] = "ok\0io_error\0media_error\0no_device\0timed_out\0"
                                     "cancelled\0out_of_range\0invalid_argument\0misaligned\0"
                                     "read_only\0not_supported\0no_resources\0integrity\0"
                                     "shutting_down\0unknown";

[[nodiscard]] consteval std::size_t count_errc_names() noexcept {
  std::size_t n = 0;
  for (const char c : errc_names) n += c == '\0' ? 1u : 0u;
  return n;
}
// Exactly one name per enumerator, then "unknown".
static_assert(count_errc_names() == errc_count + 1);
} // namespace detail

/// A short stable name for `e` ("ok", "io_error", ...); "unknown" for a value
/// outside the enumeration. Never null. Complexity: linear in the names
/// before it (under 200 bytes).
[[nodiscard]] constexpr const char* to_string(errc e) noexcept {
  const auto i = static_cast<std::size_t>(e);
  const char* p = detail::errc_names;
  for (std::size_t n = i < errc_count ? i : errc_count; n != 0; ++p)
    if (*p == '\0') --n;
  return p;
}

/// True for statuses that describe the path rather than the data: a layer may
/// retry these (unless the bio is fail-fast). A media error is never transient.
[[nodiscard]] constexpr bool is_transient(errc e) noexcept { return e == errc::no_device; }

BIOSTACK_NAMESPACE_END
