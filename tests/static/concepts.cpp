// Concept checks: compiling this file is the test. Minimal archetypes satisfy
// each concept, near misses do not, and every shipped type satisfies its own.
#include <biostack/clock.hpp>
#include <biostack/device/concepts.hpp>
#include <biostack/device/sync_adapter.hpp>
#include <biostack/devices/null.hpp>
#include <biostack/devices/ram.hpp>
#include <biostack/policy.hpp>
#include <biostack/sync/lock.hpp>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace bs = biostack;

namespace archetype {

// ---- block_device ---------------------------------------------------------

struct device {
  bs::device_geometry geometry() const noexcept { return {}; }
  void submit(bs::bio&) noexcept {}
};
static_assert(bs::block_device<device>);
static_assert(!bs::pollable<device>);

struct polled_device : device {
  std::size_t poll() noexcept { return 0; }
};
static_assert(bs::block_device<polled_device>);
static_assert(bs::pollable<polled_device>);

// A geometry convertible to device_geometry is enough.
struct derived_geometry : bs::device_geometry {};
struct device_with_derived_geometry {
  derived_geometry geometry() const noexcept { return {}; }
  void submit(bs::bio&) noexcept {}
};
static_assert(bs::block_device<device_with_derived_geometry>);

struct no_geometry {
  void submit(bs::bio&) noexcept {}
};
static_assert(!bs::block_device<no_geometry>);

struct throwing_submit {
  bs::device_geometry geometry() const noexcept { return {}; }
  void submit(bs::bio&) {}
};
static_assert(!bs::block_device<throwing_submit>);

struct throwing_geometry {
  bs::device_geometry geometry() const { return {}; }
  void submit(bs::bio&) noexcept {}
};
static_assert(!bs::block_device<throwing_geometry>);

struct mutable_geometry { // geometry() must be callable on a const device
  bs::device_geometry geometry() noexcept { return {}; }
  void submit(bs::bio&) noexcept {}
};
static_assert(!bs::block_device<mutable_geometry>);

struct wrong_geometry_type {
  int geometry() const noexcept { return 0; }
  void submit(bs::bio&) noexcept {}
};
static_assert(!bs::block_device<wrong_geometry_type>);

struct submit_returns_status { // completion is the only result channel
  bs::device_geometry geometry() const noexcept { return {}; }
  bs::errc submit(bs::bio&) noexcept { return bs::errc::ok; }
};
static_assert(!bs::block_device<submit_returns_status>);

struct submit_by_const_ref {
  bs::device_geometry geometry() const noexcept { return {}; }
  void submit(const bs::bio&) noexcept {}
};
static_assert(bs::block_device<submit_by_const_ref>); // accepts bio& too

struct submit_by_value_ptr {
  bs::device_geometry geometry() const noexcept { return {}; }
  void submit(bs::bio*) noexcept {}
};
static_assert(!bs::block_device<submit_by_value_ptr>);

// ---- pollable ---------------------------------------------------------------

struct throwing_poll {
  std::size_t poll() { return 0; }
};
static_assert(!bs::pollable<throwing_poll>);

struct void_poll {
  void poll() noexcept {}
};
static_assert(!bs::pollable<void_poll>);

struct narrow_poll { // any count convertible to size_t is fine
  unsigned poll() noexcept { return 0; }
};
static_assert(bs::pollable<narrow_poll>);

// ---- sync_block_device / sync_write_zeroes ------------------------------------

struct sync_device {
  bs::device_geometry geometry() const noexcept { return {}; }
  bs::errc read(std::uint64_t, std::byte*, std::uint32_t) noexcept { return bs::errc::ok; }
  bs::errc write(std::uint64_t, const std::byte*, std::uint32_t) noexcept { return bs::errc::ok; }
  bs::errc flush() noexcept { return bs::errc::ok; }
  bs::errc discard(std::uint64_t, std::uint32_t) noexcept { return bs::errc::ok; }
};
static_assert(bs::sync_block_device<sync_device>);
static_assert(!bs::sync_write_zeroes<sync_device>);
static_assert(!bs::block_device<sync_device>);

struct sync_device_zeroes : sync_device {
  bs::errc write_zeroes(std::uint64_t, std::uint32_t) noexcept { return bs::errc::ok; }
};
static_assert(bs::sync_block_device<sync_device_zeroes>);
static_assert(bs::sync_write_zeroes<sync_device_zeroes>);

struct sync_throwing_write_zeroes : sync_device {
  bs::errc write_zeroes(std::uint64_t, std::uint32_t) { return bs::errc::ok; }
};
static_assert(!bs::sync_write_zeroes<sync_throwing_write_zeroes>);

struct sync_no_geometry {
  bs::errc read(std::uint64_t, std::byte*, std::uint32_t) noexcept { return bs::errc::ok; }
  bs::errc write(std::uint64_t, const std::byte*, std::uint32_t) noexcept { return bs::errc::ok; }
  bs::errc flush() noexcept { return bs::errc::ok; }
  bs::errc discard(std::uint64_t, std::uint32_t) noexcept { return bs::errc::ok; }
};
static_assert(!bs::sync_block_device<sync_no_geometry>);

struct sync_int_status {
  bs::device_geometry geometry() const noexcept { return {}; }
  int read(std::uint64_t, std::byte*, std::uint32_t) noexcept { return 0; }
  bs::errc write(std::uint64_t, const std::byte*, std::uint32_t) noexcept { return bs::errc::ok; }
  bs::errc flush() noexcept { return bs::errc::ok; }
  bs::errc discard(std::uint64_t, std::uint32_t) noexcept { return bs::errc::ok; }
};
static_assert(!bs::sync_block_device<sync_int_status>);

struct sync_throwing_flush {
  bs::device_geometry geometry() const noexcept { return {}; }
  bs::errc read(std::uint64_t, std::byte*, std::uint32_t) noexcept { return bs::errc::ok; }
  bs::errc write(std::uint64_t, const std::byte*, std::uint32_t) noexcept { return bs::errc::ok; }
  bs::errc flush() { return bs::errc::ok; }
  bs::errc discard(std::uint64_t, std::uint32_t) noexcept { return bs::errc::ok; }
};
static_assert(!bs::sync_block_device<sync_throwing_flush>);

struct sync_no_discard {
  bs::device_geometry geometry() const noexcept { return {}; }
  bs::errc read(std::uint64_t, std::byte*, std::uint32_t) noexcept { return bs::errc::ok; }
  bs::errc write(std::uint64_t, const std::byte*, std::uint32_t) noexcept { return bs::errc::ok; }
  bs::errc flush() noexcept { return bs::errc::ok; }
};
static_assert(!bs::sync_block_device<sync_no_discard>);

struct sync_write_needs_mutable_source { // write must accept const memory
  bs::device_geometry geometry() const noexcept { return {}; }
  bs::errc read(std::uint64_t, std::byte*, std::uint32_t) noexcept { return bs::errc::ok; }
  bs::errc write(std::uint64_t, std::byte*, std::uint32_t) noexcept { return bs::errc::ok; }
  bs::errc flush() noexcept { return bs::errc::ok; }
  bs::errc discard(std::uint64_t, std::uint32_t) noexcept { return bs::errc::ok; }
};
static_assert(!bs::sync_block_device<sync_write_needs_mutable_source>);

// The adapter lifts every archetype, by value and by reference.
static_assert(bs::block_device<bs::sync_adapter<sync_device>>);
static_assert(bs::block_device<bs::sync_adapter<sync_device&>>);
static_assert(bs::block_device<bs::sync_adapter<sync_device_zeroes&>>);

// ---- lock_policy --------------------------------------------------------------

struct critical_section {
  void lock() noexcept {}
  void unlock() noexcept {}
};
static_assert(bs::lock_policy<critical_section>);

struct throwing_unlock {
  void lock() noexcept {}
  void unlock() {}
};
static_assert(!bs::lock_policy<throwing_unlock>);

struct throwing_lock {
  void lock() {}
  void unlock() noexcept {}
};
static_assert(!bs::lock_policy<throwing_lock>);

struct lock_needs_argument {
  explicit lock_needs_argument(int) noexcept {}
  void lock() noexcept {}
  void unlock() noexcept {}
};
static_assert(!bs::lock_policy<lock_needs_argument>);

struct lock_without_unlock {
  void lock() noexcept {}
};
static_assert(!bs::lock_policy<lock_without_unlock>);

// ---- tick_source ----------------------------------------------------------------

struct ticks {
  std::uint64_t now() noexcept { return 0; }
};
static_assert(bs::tick_source<ticks>);

struct ticks32 { // a 32-bit SysTick counter is fine
  std::uint32_t now() noexcept { return 0; }
};
static_assert(bs::tick_source<ticks32>);

struct throwing_ticks {
  std::uint64_t now() { return 0; }
};
static_assert(!bs::tick_source<throwing_ticks>);

struct void_ticks {
  void now() noexcept {}
};
static_assert(!bs::tick_source<void_ticks>);

struct no_ticks {};
static_assert(!bs::tick_source<no_ticks>);

} // namespace archetype

// ---- shipped types ------------------------------------------------------------------

static_assert(bs::block_device<bs::ram_device>);
static_assert(bs::sync_block_device<bs::ram_device>);
static_assert(bs::sync_write_zeroes<bs::ram_device>);
static_assert(bs::block_device<bs::static_ram_device<4096>>);
static_assert(bs::sync_block_device<bs::static_ram_device<4096, 4096, 64>>);
static_assert(bs::block_device<bs::null_device>);
static_assert(!bs::sync_block_device<bs::null_device>);
static_assert(bs::block_device<bs::sync_adapter<bs::ram_device&>>);
static_assert(bs::lock_policy<bs::null_lock>);
static_assert(bs::tick_source<bs::manual_clock>);
static_assert(bs::tick_source<const bs::manual_clock>);
static_assert(bs::tick_source<bs::no_clock>);
static_assert(std::is_same_v<bs::null_lock::category, bs::lock_policy_tag>);
static_assert(std::is_same_v<bs::manual_clock::category, bs::clock_policy_tag>);
static_assert(std::is_same_v<bs::no_clock::category, bs::clock_policy_tag>);

// ---- policy packs ---------------------------------------------------------------------

namespace packs {

struct queue_tag {};
struct stats_tag {};
struct fifo {
  using category = queue_tag;
};
struct elevator {
  using category = queue_tag;
};
struct counters {
  using category = stats_tag;
};
struct no_stats {
  using category = stats_tag;
};

using bs::policies;
using bs::select_policy_t;

// Picks by category.
static_assert(std::is_same_v<select_policy_t<policies<elevator>, queue_tag, fifo>, elevator>);
static_assert(
    std::is_same_v<select_policy_t<policies<counters, elevator>, stats_tag, no_stats>, counters>);
// Falls back to the default when the category is absent, or the pack is empty.
static_assert(std::is_same_v<select_policy_t<policies<counters>, queue_tag, fifo>, fifo>);
static_assert(std::is_same_v<select_policy_t<policies<>, queue_tag, fifo>, fifo>);
// Order does not matter.
static_assert(std::is_same_v<select_policy_t<policies<elevator, counters>, queue_tag, fifo>,
                             select_policy_t<policies<counters, elevator>, queue_tag, fifo>>);
static_assert(std::is_same_v<select_policy_t<policies<elevator, counters>, stats_tag, no_stats>,
                             select_policy_t<policies<counters, elevator>, stats_tag, no_stats>>);
// Shipped policies are found by their real categories.
static_assert(std::is_same_v<select_policy_t<policies<counters, bs::manual_clock, bs::null_lock>,
                                             bs::clock_policy_tag, bs::no_clock>,
                             bs::manual_clock>);
static_assert(
    std::is_same_v<select_policy_t<policies<bs::manual_clock>, bs::lock_policy_tag, bs::null_lock>,
                   bs::null_lock>);

} // namespace packs
