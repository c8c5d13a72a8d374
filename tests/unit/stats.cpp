// Statistics policies: null_stats costs nothing; counters count; the log2
// latency histogram buckets.
#include <biostack/stats/concepts.hpp>
#include <biostack/stats/counters.hpp>
#include <catch2/catch.hpp>
#include <type_traits>

using namespace biostack;

TEST_CASE("null_stats: empty, every hook a no-op usable in constant expressions") {
  STATIC_REQUIRE(std::is_empty_v<null_stats>);
  STATIC_REQUIRE(stats_policy<null_stats>);
  STATIC_REQUIRE(!null_stats::wants_latency);
  constexpr bool usable = [] {
    null_stats s;
    s.on_submit();
    s.on_complete(errc::io_error);
    s.on_latency(5);
    return true;
  }();
  STATIC_REQUIRE(usable);
}

TEST_CASE("log2_histogram: bucket i holds [2^(i-1), 2^i), the last takes the rest") {
  CHECK(log2_histogram::bucket_of(0) == 0);
  CHECK(log2_histogram::bucket_of(1) == 1);
  CHECK(log2_histogram::bucket_of(2) == 2);
  CHECK(log2_histogram::bucket_of(3) == 2);
  CHECK(log2_histogram::bucket_of(4) == 3);
  CHECK(log2_histogram::bucket_of(1023) == 10);
  CHECK(log2_histogram::bucket_of(1024) == 11);
  CHECK(log2_histogram::bucket_of(UINT64_MAX) == log2_histogram::buckets - 1);
  log2_histogram h;
  h.add(0);
  h.add(7);
  h.add(7);
  CHECK(h.count[0] == 1);
  CHECK(h.count[3] == 2);
  CHECK(h.total() == 3);
}

TEST_CASE("counters: every hook lands in its counter; high-water marks only rise") {
  counters s;
  s.on_submit();
  s.on_submit();
  s.on_complete(errc::ok);
  s.on_complete(errc::media_error);
  s.on_merge();
  s.on_split(4);
  s.on_requeue();
  s.on_timeout();
  s.on_shortage();
  s.on_queue_depth(7);
  s.on_queue_depth(3);
  s.on_dispatch(5);
  s.on_dispatch(2);
  s.on_device_done(1);
  s.on_latency(100);
  const dispatch_counters& c = s.get();
  CHECK(c.submitted == 2);
  CHECK(c.completed == 2);
  CHECK(c.errors[static_cast<std::size_t>(errc::ok)] == 1);
  CHECK(c.errors[static_cast<std::size_t>(errc::media_error)] == 1);
  CHECK(c.merges == 1);
  CHECK(c.splits == 1);
  CHECK(c.split_pieces == 4);
  CHECK(c.requeues == 1);
  CHECK(c.timeouts == 1);
  CHECK(c.shortages == 1);
  CHECK(c.queue_high_water == 7);
  CHECK(c.in_flight_high_water == 5);
  CHECK(c.dispatched == 2);
  CHECK(c.in_flight == 1);
  CHECK(c.latency.count[log2_histogram::bucket_of(100)] == 1);
}
