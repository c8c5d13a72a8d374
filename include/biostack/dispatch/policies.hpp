// SPDX-License-Identifier: MIT
#pragma once

/// The dispatcher's own policy categories: tags, merging, timeouts,
/// retries and short reads. Queue disciplines, split, allocation, completion delivery,
/// statistics, lock and clock policies live in their own directories.

#include <biostack/config.hpp>
#include <cstddef>
#include <cstdint>

BIOSTACK_NAMESPACE_BEGIN

struct tag_policy_tag {};
struct merge_policy_tag {};
struct timeout_policy_tag {};
struct retry_policy_tag {};
struct short_read_policy_tag {};

/// `N` tags (the most device requests outstanding that the dispatcher can
/// track), at most `ActiveLimit` of them in use at once. When the limit is hit
/// the dispatcher stops and restarts only once in-flight falls to `LowWater`
/// (illumos xbuf: half the limit). With `LowWater == ActiveLimit - 1` (the
/// default when there is no separate limit) a released tag carries the next
/// queued request at once (DragonFly xdisk).
///
/// `Reserved` extra tags, each with its own request object, serve only
/// `dispatcher::submit_reserved()`: a stacked layer's own commands (a flush
/// from a cache, a metadata read) then never wait for the shared tags or pool
/// (the SPDK #3710 / blk-mq reserved-tags lesson).
template <std::size_t N, std::size_t ActiveLimit = N,
          std::size_t LowWater = (ActiveLimit == N ? N - 1 : ActiveLimit / 2),
          std::size_t Reserved = 0>
struct tags {
  static_assert(N >= 1 && N + Reserved <= 65535, "tag count must be in [1, 65535]");
  static_assert(ActiveLimit >= 1 && ActiveLimit <= N, "the active limit must be in [1, N]");
  static_assert(LowWater < ActiveLimit, "the low-water mark must be below the active limit");
  using category = tag_policy_tag;
  static constexpr std::size_t count = N;
  static constexpr std::size_t active_limit = ActiveLimit;
  static constexpr std::size_t low_water = LowWater;
  static constexpr std::size_t reserved = Reserved;
};

/// No merging: one device request per bio (or per split piece).
struct no_merge {
  using category = merge_policy_tag;
  static constexpr bool enabled = false;
  static constexpr std::size_t max_segments = 0;
  static constexpr std::uint32_t max_bytes = 0;
};

/// Back-merge (FreeBSD blkback coalescing): when the bio the discipline would
/// dispatch next is a read or write that starts exactly where the request
/// being built ends, with the same operation, flags and priority, it joins
/// that request, as long as the request stays within `MaxSegments` memory
/// pieces, `MaxBytes` bytes (0: the device's max_transfer, or unlimited) and
/// the split policy would not cut it. Merging happens only when bios are
/// actually waiting, so it never delays anything. The device request
/// completes every member, in order; **one failure fails every member**
/// (blkback semantics: the device cannot say which part went wrong).
template <std::size_t MaxSegments = 16, std::uint32_t MaxBytes = 0>
struct back_merge {
  static_assert(MaxSegments >= 2, "merging needs room for at least two pieces");
  using category = merge_policy_tag;
  static constexpr bool enabled = true;
  static constexpr std::size_t max_segments = MaxSegments;
  static constexpr std::uint32_t max_bytes = MaxBytes;
};

/// No per-request timeout.
struct no_timeout {
  using category = timeout_policy_tag;
  static constexpr std::uint64_t ticks = 0;
};

/// A device request not completed `Ticks` clock ticks after it was issued
/// completes its bios with `errc::timed_out` (checked by `poll()`). The tag
/// stays busy until the device finally returns the request, whose late
/// completion is recognised by the tag's generation number and dropped. A
/// request the device never returns therefore holds its tag, counts against
/// the active limit and keeps `drain()`/`shutdown()` from closing, until
/// `dispatcher::abandon_timed_out()` (after resetting the device) gives the
/// tag back.
template <std::uint64_t Ticks>
struct timeout {
  static_assert(Ticks != 0, "timeout<0> would time out everything; use no_timeout");
  using category = timeout_policy_tag;
  static constexpr std::uint64_t ticks = Ticks;
};

/// Transport-loss handling (xdisk). A request completing with `no_device`
/// whose bios are not `fail_fast` is requeued at the head, in issue order,
/// and the dispatcher stops issuing until the path is back: until
/// `notify_path_restored()`, or a `poll()` at least `Backoff` ticks after the
/// loss. A request is retried at most `MaxRetries` times; once the path has
/// been down for `LossTimeout` ticks (0: forever) the requeued requests fail
/// with `no_device`. A `media_error` (or any other error) is never retried.
template <std::uint32_t MaxRetries = UINT32_MAX, std::uint64_t Backoff = 0,
          std::uint64_t LossTimeout = 0>
struct retry {
  using category = retry_policy_tag;
  static constexpr std::uint32_t max_retries = MaxRetries;
  static constexpr std::uint64_t backoff = Backoff;
  static constexpr std::uint64_t loss_timeout = LossTimeout;
};

/// Short reads are passed on as the device reported them: a read completing
/// `ok` with a residual leaves its bio's tail untouched and the residual tells
/// how much of it is missing (a short piece of a split bio is an `io_error`,
/// as for any short child). The default.
struct report_short_reads {
  using category = short_read_policy_tag;
  static constexpr bool zero_fill = false;
};

/// Short reads are zero-extended (DragonFly xdisk): a read completing `ok`
/// with a residual gets the untransferred tail of its memory zeroed and
/// completes with residual 0. For devices that stop a read early where the
/// rest reads as zeroes (a remote disk that short-cuts a sparse tail, a
/// network block protocol that truncates at end of data). Errors are passed
/// on unchanged, with their residual.
struct zero_fill_short_reads {
  using category = short_read_policy_tag;
  static constexpr bool zero_fill = true;
};

BIOSTACK_NAMESPACE_END
