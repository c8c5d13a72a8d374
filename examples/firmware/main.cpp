// SPDX-License-Identifier: MIT
//
// biostack on bare metal: a self-check that runs under QEMU (mps2-an385,
// Cortex-M3) and on any Cortex-M with enough RAM. Every object is static; the
// image contains no heap, no exceptions and no RTTI (the build checks it with
// nm). The exit status is the self-check's: 0 when every check passed.
//
// The storage stack (storage_stack.hpp), bottom to top, all in .bss: a
// 64 KiB RAM device, a faulty_device for error injection, a dispatcher (FIFO,
// 4 tags, deferred completions drained by poll()) and a buffer cache of
// 8 x 512 B static buffers. Built with FW_FAULT_INJECTION=0 (the production
// image, firmware_production.elf) there is no faulty_device and the two
// fault-path checks are left out.
//
// The first half of the workload talks bios to the dispatcher (fan-in split,
// a bio_stack layer, flush, an injected error, bad input); the second half
// uses the cache on top of it (delayed writes, sync, read back, a failed
// write that must keep its data dirty). Every bio-level step waits with
// `settle()`, which polls the dispatcher until the bio has completed.

#include "selfcheck.hpp"
#include "storage_stack.hpp"

#include <cstring>

using fw::check_status;
using fw::checks;
namespace bs = biostack;

namespace {

using fw::block_size;
using fw::disk_bytes;
constexpr std::uint32_t big_request = 8 * 1024; // split into children below
constexpr std::uint32_t child_bytes = 1024;     // the splitter's transfer limit
constexpr std::uint32_t max_children = big_request / child_bytes;
constexpr std::uint64_t partition_base = 32 * 1024; // for the bio_stack layer check
constexpr std::uint64_t cache_first_lbn = 100;      // blocks the cache part uses
constexpr std::uint32_t cache_blocks = 8;

fw::disk_type disk;
#if FW_FAULT_INJECTION
fw::faulty_type faulty{disk};
fw::dispatcher_type dispatch{faulty};
#else
fw::dispatcher_type dispatch{disk};
#endif
fw::cache_type cache{dispatch};

[[noreturn]] void on_panic(const char* expr, const char* file, int at) noexcept {
  fw::line l;
  l << "firmware: biostack panic: " << expr << " at " << file << ":"
    << static_cast<std::uint32_t>(at);
  l.emit();
  fw::semihosting::exit(2);
}

// ---- helpers built on the core API ----------------------------------------

/// Polls the stack until `b` has completed. Bounded, so a lost completion
/// fails the self-check instead of hanging the board.
bool settle(const bs::bio& b) noexcept {
  for (std::uint32_t spins = 0; spins < 100000 && !b.completed(); ++spins) dispatch.poll();
  return b.completed();
}

/// Submits `parent` as children of at most `child_bytes` each (the fan-in
/// pattern a splitter uses for a device transfer limit). Returns how many
/// children were issued.
std::uint32_t submit_split(bs::bio& parent, bs::bio (&children)[max_children]) noexcept {
  std::uint32_t n = 0;
  bs::begin_fan_in(parent);
  for (std::uint32_t delta = 0; delta < parent.length && n < max_children; delta += child_bytes) {
    const std::uint32_t len =
        parent.length - delta < child_bytes ? parent.length - delta : child_bytes;
    bs::bio& c = children[n++];
    bs::init_child(c, parent, delta, len);
    bs::add_child(parent, c);
    dispatch.submit(c);
  }
  bs::end_fan_in(parent);
  return n;
}

alignas(8) std::byte pattern[big_request];
alignas(8) std::byte readback[big_request];
bs::bio children[max_children];

// ---- bio level, through the dispatcher --------------------------------------

void check_split_write_and_read_back() noexcept {
  fw::fill_pattern(pattern, sizeof pattern, 1);
  bs::bio w(bs::op::write, 4096, big_request, pattern);
  const std::uint32_t n = submit_split(w, children);
  // The device completes inline, but the dispatcher only queues completions:
  // they run when poll() drains them, as they would after an interrupt.
  checks.expect(!w.completed(), "nothing completes before poll() (deferred completions)");
  checks.expect(settle(w) && n == max_children, "8 KiB write split into 8 children");
  check_status(bs::to_string(w.status()), w.status() == bs::errc::ok, "split write status");
  bool all_children_done = true;
  for (const bs::bio& c : children) all_children_done = all_children_done && c.completed();
  checks.expect(all_children_done && w.residual() == 0, "every child completed, no residual");

  std::memset(readback, 0, sizeof readback);
  bs::bio r(bs::op::read, 4096, big_request, readback);
  dispatch.submit(r);
  checks.expect(settle(r) && r.status() == bs::errc::ok, "8 KiB read back");
  checks.expect(std::memcmp(pattern, readback, big_request) == 0, "read-back data verified");
}

// A partition layer pushed on a bio_stack: the upper layer speaks
// partition-relative offsets, the pushed layer carries the device offset and
// counts its completion before handing the status up.
std::uint32_t partition_completions = 0;

bs::completion_action partition_done(bs::bio&, void*) noexcept {
  ++partition_completions;
  return bs::completion_action::proceed;
}

void check_layered_write() noexcept {
  fw::fill_pattern(pattern, sizeof pattern, 2);
  bs::bio_stack<2> stack;
  stack.base().prepare(bs::op::write, 0, block_size, pattern);
  bs::bio& lower = stack.push();
  lower.offset += partition_base;
  lower.on_done = {partition_done, nullptr};
  dispatch.submit(lower);
  const bool done = settle(stack.base());
  checks.expect(done && partition_completions == 1, "bio_stack layer completed into its base");
  check_status(bs::to_string(stack.base().status()), stack.base().status() == bs::errc::ok,
               "layered write status");
  checks.expect(std::memcmp(disk.memory() + partition_base, pattern, block_size) == 0,
                "layered write landed at the partition offset");
}

void check_flush() noexcept {
  bs::bio f(bs::op::flush, 0, 0);
  dispatch.submit(f);
  checks.expect(settle(f), "flush completed");
  check_status(bs::to_string(f.status()), f.status() == bs::errc::ok, "flush status");
}

#if FW_FAULT_INJECTION
void check_injected_error() noexcept {
  // Block 11 lies inside the third child of a split read starting at 4 KiB.
  faulty.add_rule(bs::fault_rule::fail(bs::errc::media_error)
                      .only(bs::op::read)
                      .range(11 * block_size, block_size));
  bs::bio r(bs::op::read, 4096, big_request, readback);
  submit_split(r, children);
  checks.expect(settle(r) && faulty.fired(0) == 1, "injected fault hit exactly one child");
  check_status(bs::to_string(r.status()), r.status() == bs::errc::media_error,
               "parent saw the injected error");
  faulty.clear_rules();

  bs::bio again(bs::op::read, 4096, big_request, readback);
  dispatch.submit(again);
  checks.expect(settle(again) && again.status() == bs::errc::ok &&
                    std::memcmp(readback, disk.memory() + 4096, big_request) == 0,
                "reads succeed again once the fault is cleared");
}

#endif

void check_bad_input() noexcept {
  bs::bio past_end(bs::op::read, disk_bytes - block_size, 2 * block_size, readback);
  dispatch.submit(past_end);
  checks.expect(settle(past_end), "out-of-range request completed");
  check_status(bs::to_string(past_end.status()), past_end.status() == bs::errc::out_of_range,
               "out-of-range status");

  bs::bio odd(bs::op::write, 100, block_size, pattern);
  dispatch.submit(odd);
  checks.expect(settle(odd), "misaligned request completed");
  check_status(bs::to_string(odd.status()), odd.status() == bs::errc::misaligned,
               "misaligned status");
}

// ---- the buffer cache over the dispatcher -----------------------------------

std::byte* on_disk(std::uint64_t lbn) noexcept { return disk.memory() + lbn * block_size; }

void check_cache_write_back_and_read() noexcept {
  // Let all eight buffers stay dirty: by default writers start flushing once
  // half the cache is dirty (vfs_bio's hidirtybuffers), which would hide
  // whether sync() does the writing.
  bs::cache_limits limits = fw::cache_type::default_limits(fw::cache_type::capacity);
  limits.hi_dirty = std::uint64_t{cache_blocks} * block_size;
  limits.lo_dirty = limits.hi_dirty / 2;
  cache.set_limits(limits);

  fw::fill_pattern(pattern, sizeof pattern, 3);
  bool filled = true;
  for (std::uint32_t k = 0; k < cache_blocks; ++k) {
    auto h = cache.get(cache_first_lbn + k);
    if (!h) {
      filled = false;
      continue;
    }
    std::memcpy(h->data(), pattern + k * block_size, block_size);
    cache.write_delayed(std::move(*h));
  }
  checks.expect(filled && cache.dirty_count() == cache_blocks, "8 delayed writes cached dirty");
  checks.expect(std::memcmp(on_disk(cache_first_lbn), pattern, block_size) != 0,
                "delayed writes not on the device yet");
  const bs::errc synced = cache.sync();
  check_status(bs::to_string(synced), synced == bs::errc::ok, "cache sync");
  checks.expect(cache.dirty_count() == 0 &&
                    std::memcmp(on_disk(cache_first_lbn), pattern, cache_blocks * block_size) == 0,
                "sync wrote every block to the device");

  cache.invalidate(cache_first_lbn, cache_blocks);
  bool same = true;
  for (std::uint32_t k = 0; k < cache_blocks; ++k) {
    auto h = cache.read(cache_first_lbn + k);
    same = same && h && std::memcmp(h->data(), pattern + k * block_size, block_size) == 0;
  }
  checks.expect(same, "cache read back every block from the device");
  // The cache keeps no counters (null_stats): a hit shows as a read served
  // from the cache, which still returns the cached byte after the device's
  // copy was changed behind its back.
  const std::byte kept = *on_disk(cache_first_lbn);
  *on_disk(cache_first_lbn) = ~kept;
  {
    auto h = cache.read(cache_first_lbn);
    checks.expect(h && h->data()[0] == kept, "second read is a cache hit");
  }
  *on_disk(cache_first_lbn) = kept;
}

#if FW_FAULT_INJECTION
void check_cache_failed_write_keeps_data() noexcept {
  faulty.add_rule(bs::fault_rule::fail(bs::errc::media_error)
                      .only(bs::op::write)
                      .range(cache_first_lbn * block_size, block_size));
  auto h = cache.get(cache_first_lbn);
  checks.expect(static_cast<bool>(h), "cache buffer for the failing block");
  if (!h) return;
  std::memset(h->data(), 0xA5, block_size);
  const bs::errc failed = cache.write_sync(std::move(*h));
  check_status(bs::to_string(failed), failed == bs::errc::media_error,
               "cache write saw the injected error");
  checks.expect(cache.inspect(cache_first_lbn).dirty, "failed write kept the buffer dirty");
  faulty.clear_rules();
  const bs::errc synced = cache.sync();
  check_status(bs::to_string(synced), synced == bs::errc::ok, "sync after the fault cleared");
  checks.expect(*on_disk(cache_first_lbn) == std::byte{0xA5} &&
                    !cache.inspect(cache_first_lbn).dirty,
                "the kept data reached the device");
}
#endif

} // namespace

int firmware_main() noexcept {
  bs::set_panic_handler(on_panic);
  fw::semihosting::write("biostack " BIOSTACK_VERSION_STRING " firmware self-check\n");

  check_split_write_and_read_back();
  check_layered_write();
  check_flush();
#if FW_FAULT_INJECTION
  check_injected_error();
#endif
  check_bad_input();
  check_cache_write_back_and_read();
#if FW_FAULT_INJECTION
  check_cache_failed_write_keeps_data();
#endif

  return fw::finish("biostack self-check");
}
