// SPDX-License-Identifier: MIT
//
// The size baseline for tools/size_report: main.cpp with biostack taken out.
// Same start-up, console, buffers, patterns and the same sequence of checks
// and messages, but every I/O is a direct, bounds-checked memcpy on a plain
// array (what firmware without a block layer does), with the same fault
// checks done inline. The difference in .text between firmware.elf and this
// image is what the library costs. It also runs under QEMU and exits 0.
// FW_FAULT_INJECTION selects the same checks as in main.cpp.

#include "selfcheck.hpp"

#ifndef FW_FAULT_INJECTION
#define FW_FAULT_INJECTION 1
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

using fw::check_status;
using fw::checks;

namespace {

constexpr std::uint32_t block_size = 512;
constexpr std::uint32_t disk_bytes = 64 * 1024;
constexpr std::uint32_t big_request = 8 * 1024;
constexpr std::uint32_t child_bytes = 1024;
constexpr std::uint64_t partition_base = 32 * 1024;
constexpr std::uint64_t cache_first_lbn = 100;
constexpr std::uint32_t cache_blocks = 8;

alignas(32) std::byte disk[disk_bytes];
alignas(8) std::byte pattern[big_request];
alignas(8) std::byte readback[big_request];

// The injected fault, done by hand: one block fails reads or writes.
std::uint64_t bad_block = UINT64_MAX;
bool bad_on_write = false;

enum class status { ok, media_error, out_of_range, misaligned };

const char* name(status s) noexcept {
  switch (s) {
  case status::ok: return "ok";
  case status::media_error: return "media_error";
  case status::out_of_range: return "out_of_range";
  case status::misaligned: return "misaligned";
  }
  return "unknown";
}

status transfer(bool write, std::uint64_t off, std::byte* mem, std::uint32_t n) noexcept {
  if (off > disk_bytes || n > disk_bytes - off) return status::out_of_range;
  if (off % block_size != 0 || n % block_size != 0) return status::misaligned;
  if (bad_block != UINT64_MAX && write == bad_on_write && off <= bad_block * block_size &&
      bad_block * block_size - off < n)
    return status::media_error;
  if (write)
    std::memcpy(disk + off, mem, n);
  else
    std::memcpy(mem, disk + off, n);
  return status::ok;
}

status transfer_split(bool write, std::uint64_t off, std::byte* mem, std::uint32_t n) noexcept {
  status first = status::ok;
  for (std::uint32_t d = 0; d < n; d += child_bytes) {
    const status s = transfer(write, off + d, mem + d, n - d < child_bytes ? n - d : child_bytes);
    if (first == status::ok) first = s;
  }
  return first;
}

std::byte* on_disk(std::uint64_t lbn) noexcept { return disk + lbn * block_size; }

} // namespace

int firmware_main() noexcept {
  fw::semihosting::write("biostack size baseline (no library)\n");

  fw::fill_pattern(pattern, sizeof pattern, 1);
  status s = transfer_split(true, 4096, pattern, big_request);
  checks.expect(true, "nothing completes before poll() (deferred completions)");
  checks.expect(true, "8 KiB write split into 8 children");
  check_status(name(s), s == status::ok, "split write status");
  checks.expect(s == status::ok, "every child completed, no residual");
  std::memset(readback, 0, sizeof readback);
  s = transfer(false, 4096, readback, big_request);
  checks.expect(s == status::ok, "8 KiB read back");
  checks.expect(std::memcmp(pattern, readback, big_request) == 0, "read-back data verified");

  fw::fill_pattern(pattern, sizeof pattern, 2);
  s = transfer(true, partition_base, pattern, block_size);
  checks.expect(s == status::ok, "bio_stack layer completed into its base");
  check_status(name(s), s == status::ok, "layered write status");
  checks.expect(std::memcmp(disk + partition_base, pattern, block_size) == 0,
                "layered write landed at the partition offset");

  checks.expect(true, "flush completed");
  check_status(name(status::ok), true, "flush status");

#if FW_FAULT_INJECTION
  bad_block = 11;
  bad_on_write = false;
  s = transfer_split(false, 4096, readback, big_request);
  checks.expect(s != status::ok, "injected fault hit exactly one child");
  check_status(name(s), s == status::media_error, "parent saw the injected error");
  bad_block = UINT64_MAX;
  s = transfer(false, 4096, readback, big_request);
  checks.expect(s == status::ok && std::memcmp(readback, disk + 4096, big_request) == 0,
                "reads succeed again once the fault is cleared");

#endif

  s = transfer(false, disk_bytes - block_size, readback, 2 * block_size);
  checks.expect(true, "out-of-range request completed");
  check_status(name(s), s == status::out_of_range, "out-of-range status");
  s = transfer(true, 100, pattern, block_size);
  checks.expect(true, "misaligned request completed");
  check_status(name(s), s == status::misaligned, "misaligned status");

  // Write-through instead of a cache: the same data reaches the same blocks.
  fw::fill_pattern(pattern, sizeof pattern, 3);
  s = transfer(true, cache_first_lbn * block_size, pattern, cache_blocks * block_size);
  checks.expect(s == status::ok, "8 delayed writes cached dirty");
  checks.expect(true, "delayed writes not on the device yet");
  check_status(name(s), s == status::ok, "cache sync");
  checks.expect(std::memcmp(on_disk(cache_first_lbn), pattern, cache_blocks * block_size) == 0,
                "sync wrote every block to the device");
  s = transfer(false, cache_first_lbn * block_size, readback, cache_blocks * block_size);
  checks.expect(s == status::ok && std::memcmp(readback, pattern, cache_blocks * block_size) == 0,
                "cache read back every block from the device");
  checks.expect(true, "second read is a cache hit");

#if FW_FAULT_INJECTION
  std::byte block[block_size];
  std::memset(block, 0xA5, sizeof block);
  bad_block = cache_first_lbn;
  bad_on_write = true;
  s = transfer(true, cache_first_lbn * block_size, block, block_size);
  checks.expect(true, "cache buffer for the failing block");
  check_status(name(s), s == status::media_error, "cache write saw the injected error");
  checks.expect(s != status::ok, "failed write kept the buffer dirty");
  bad_block = UINT64_MAX;
  s = transfer(true, cache_first_lbn * block_size, block, block_size);
  check_status(name(s), s == status::ok, "sync after the fault cleared");
  checks.expect(*on_disk(cache_first_lbn) == std::byte{0xA5}, "the kept data reached the device");
#endif

  return fw::finish("baseline");
}
