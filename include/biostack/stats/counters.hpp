// SPDX-License-Identifier: MIT
#pragma once

/// Counting statistics with a log2 latency histogram (blkback's counters,
/// devstat, SPDK's per-channel histograms).

#include <biostack/errc.hpp>
#include <biostack/stats/concepts.hpp>

BIOSTACK_NAMESPACE_BEGIN

/// Latency histogram with power-of-two buckets: bucket 0 holds 0 ticks,
/// bucket i (i >= 1) holds [2^(i-1), 2^i) ticks; the last bucket also takes
/// everything larger.
struct log2_histogram {
  static constexpr std::size_t buckets = 40;
  std::uint64_t count[buckets] = {};

  static constexpr std::size_t bucket_of(std::uint64_t ticks) noexcept {
    std::size_t i = 0;
    while (ticks != 0 && i + 1 < buckets) {
      ticks >>= 1;
      ++i;
    }
    return i;
  }
  constexpr void add(std::uint64_t ticks) noexcept { ++count[bucket_of(ticks)]; }
  [[nodiscard]] constexpr std::uint64_t total() const noexcept {
    std::uint64_t t = 0;
    for (std::uint64_t c : count) t += c;
    return t;
  }
};

/// Plain counters, protected by the owner's lock (no atomics of their own).
struct dispatch_counters {
  std::uint64_t submitted = 0;           ///< bios accepted by submit (valid or not)
  std::uint64_t completed = 0;           ///< bios completed (any status)
  std::uint64_t errors[errc_count] = {}; ///< completions by status (index: errc value)
  std::uint64_t merges = 0;              ///< bios merged into another's device request
  std::uint64_t splits = 0;              ///< bios split into more than one piece
  std::uint64_t split_pieces = 0;        ///< pieces issued for split bios
  std::uint64_t requeues = 0;            ///< device requests requeued after path loss
  std::uint64_t timeouts = 0;            ///< device requests timed out
  std::uint64_t shortages = 0;           ///< dispatch stopped for want of an allocation
  std::uint64_t queue_high_water = 0;    ///< most bios ever waiting at once
  std::uint64_t in_flight = 0;           ///< device requests outstanding now
  std::uint64_t in_flight_high_water = 0;
  std::uint64_t dispatched = 0; ///< device requests issued (retries included)
  log2_histogram latency;       ///< device service time per request, in clock ticks
};

/// Statistics on: keeps a `dispatch_counters` (read it with `counters()`).
class counters {
public:
  using category = stats_policy_tag;
  static constexpr bool wants_latency = true;

  void on_submit() noexcept { ++c_.submitted; }
  void on_complete(errc e) noexcept {
    ++c_.completed;
    ++c_.errors[static_cast<std::size_t>(e)];
  }
  void on_merge() noexcept { ++c_.merges; }
  void on_split(std::size_t pieces) noexcept {
    ++c_.splits;
    c_.split_pieces += pieces;
  }
  void on_requeue() noexcept { ++c_.requeues; }
  void on_timeout() noexcept { ++c_.timeouts; }
  void on_shortage() noexcept { ++c_.shortages; }
  void on_queue_depth(std::size_t n) noexcept {
    if (n > c_.queue_high_water) c_.queue_high_water = n;
  }
  void on_dispatch(std::size_t in_flight) noexcept {
    ++c_.dispatched;
    c_.in_flight = in_flight;
    if (in_flight > c_.in_flight_high_water) c_.in_flight_high_water = in_flight;
  }
  void on_device_done(std::size_t in_flight) noexcept { c_.in_flight = in_flight; }
  void on_latency(std::uint64_t ticks) noexcept { c_.latency.add(ticks); }

  [[nodiscard]] const dispatch_counters& get() const noexcept { return c_; }

private:
  dispatch_counters c_;
};
static_assert(stats_policy<counters>);

BIOSTACK_NAMESPACE_END
