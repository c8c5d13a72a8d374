// SPDX-License-Identifier: MIT
#pragma once

// The firmware's storage stack as types, shared by the image (main.cpp) and
// by the size probe (buffer_header_probe.cpp), so the reported per-buffer
// RAM is that of exactly this configuration.
//
//   static_ram_device<64 KiB>   the medium (RAM standing in for flash)
//   faulty_device               scripted error injection, no power-cut arena
//                               (only when FW_FAULT_INJECTION is 1)
//   dispatcher                  FIFO, 4 tags, deferred completions: nothing
//                               completes until poll() drains the queue
//   buffer_cache                8 buffers of 512 B, static storage
//
// FW_FAULT_INJECTION=0 builds the production shape of the stack, without the
// test-only fault injector; tools/size_report measures that one.

#ifndef FW_FAULT_INJECTION
#define FW_FAULT_INJECTION 1
#endif

#include <biostack/biostack.hpp>
#include <biostack/cache/buffer_cache.hpp>
#include <biostack/cache/replacement/clock_sweep.hpp>
#include <biostack/dispatch/dispatcher.hpp>
#if FW_FAULT_INJECTION
#include <biostack/devices/faulty.hpp>
#endif

namespace fw {

namespace bs = biostack;

inline constexpr std::uint32_t block_size = 512;
inline constexpr std::uint32_t disk_bytes = 64 * 1024;

using disk_type = bs::static_ram_device<disk_bytes, block_size>;
#if FW_FAULT_INJECTION
// Rules, held completions and in-flight children sized for the self-check;
// an undo arena of 0 bytes: no power-cut simulation on the target.
using fault_limits = bs::faulty_limits<4, 8, 0, 1, 4>;
using faulty_type = bs::faulty_device<disk_type&, fault_limits>;
using lower_type = faulty_type;
#else
using lower_type = disk_type;
#endif
using dispatcher_type = bs::dispatcher<
    lower_type, bs::policies<bs::fifo, bs::tags<4>, bs::static_pool<4>, bs::deferred_completion>>;
// 32-bit block numbers: 2^32 blocks of 512 B is 2 TiB, plenty for a
// microcontroller, and saves 4 bytes of RAM per buffer. clock_sweep: for 8
// buffers, frame-order CLOCK needs no links (1 byte per buffer) and the least code.
// null_stats: no counters, like the dispatcher's default (each count is code).
// scan_lookup<8>: the 8 headers are scanned, not hashed (no buckets, less code).
using cache_type = bs::buffer_cache<
    dispatcher_type,
    bs::policies<bs::static_storage<8, block_size>, bs::io_slots<4>, bs::block_key<std::uint32_t>,
                 bs::async_ops<0>, bs::clock_sweep, bs::null_stats, bs::scan_lookup<8>>>;

} // namespace fw
