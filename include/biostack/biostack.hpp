// SPDX-License-Identifier: MIT
#pragma once

/// Umbrella header: the whole freestanding library (no heap, no exceptions,
/// no RTTI, no threads). Hosted-only facilities (files, threads, the heap,
/// condition variables) are included separately from <biostack/hosted/...>.

// vocabulary and configuration
#include <biostack/assert.hpp>
#include <biostack/clock.hpp>
#include <biostack/config.hpp>
#include <biostack/errc.hpp>
#include <biostack/fwd.hpp>
#include <biostack/policy.hpp>
#include <biostack/result.hpp>
#include <biostack/version.hpp>

// requests, chains, fan-in, layer stacks
#include <biostack/bio/bio.hpp>
#include <biostack/bio/chain.hpp>
#include <biostack/bio/memory.hpp>
#include <biostack/bio/stack.hpp>

// device concepts, geometry, validation, sync adapter
#include <biostack/device/concepts.hpp>
#include <biostack/device/geometry.hpp>
#include <biostack/device/sync_adapter.hpp>
#include <biostack/device/validate.hpp>

// reference devices (RAM, null, fault-injecting, recording)
#include <biostack/devices/faulty.hpp>
#include <biostack/devices/null.hpp>
#include <biostack/devices/ram.hpp>
#include <biostack/devices/recording.hpp>

// completion delivery
#include <biostack/completion/deferred.hpp>

// allocation policies
#include <biostack/alloc/concepts.hpp>
#include <biostack/alloc/reserve_pool.hpp>
#include <biostack/alloc/static_pool.hpp>

// queue disciplines
#include <biostack/queue/bio_list.hpp>
#include <biostack/queue/concepts.hpp>
#include <biostack/queue/deadline.hpp>
#include <biostack/queue/elevator.hpp>
#include <biostack/queue/fifo.hpp>
#include <biostack/queue/priority_classes.hpp>
#include <biostack/queue/read_priority.hpp>

// split policies
#include <biostack/split/boundary.hpp>
#include <biostack/split/concepts.hpp>
#include <biostack/split/max_transfer.hpp>
#include <biostack/split/none.hpp>

// statistics policies
#include <biostack/stats/concepts.hpp>
#include <biostack/stats/counters.hpp>

// lock policies
#include <biostack/sync/lock.hpp>

// the tagged dispatcher
#include <biostack/dispatch/dispatcher.hpp>
#include <biostack/dispatch/policies.hpp>

// the buffer cache and its replacement policies
#include <biostack/cache/buffer_cache.hpp>
#include <biostack/cache/index_list.hpp>
#include <biostack/cache/ordered_classes.hpp>
#include <biostack/cache/replacement/arc.hpp>
#include <biostack/cache/replacement/clock.hpp>
#include <biostack/cache/replacement/clock_sweep.hpp>
#include <biostack/cache/replacement/concepts.hpp>
#include <biostack/cache/replacement/lru.hpp>
#include <biostack/cache/replacement/s3_fifo.hpp>
#include <biostack/cache/replacement/sieve.hpp>
#include <biostack/cache/replacement/two_q.hpp>
#include <biostack/cache/storage.hpp>
#include <biostack/cache/wait.hpp>

// integrity (checksums)
#include <biostack/integrity/crc32c.hpp>
