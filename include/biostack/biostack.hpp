// SPDX-License-Identifier: MIT
#pragma once

/// Umbrella header: the whole freestanding library. Hosted-only facilities
/// (files, threads, the heap) are included separately from <biostack/hosted/...>.

#include <biostack/assert.hpp>
#include <biostack/clock.hpp>
#include <biostack/config.hpp>
#include <biostack/errc.hpp>
#include <biostack/fwd.hpp>
#include <biostack/policy.hpp>
#include <biostack/result.hpp>
#include <biostack/sync/lock.hpp>
#include <biostack/version.hpp>

#include <biostack/bio/bio.hpp>
#include <biostack/bio/chain.hpp>
#include <biostack/bio/memory.hpp>
#include <biostack/bio/stack.hpp>

#include <biostack/device/concepts.hpp>
#include <biostack/device/geometry.hpp>
#include <biostack/device/sync_adapter.hpp>
#include <biostack/device/validate.hpp>

#include <biostack/devices/faulty.hpp>
#include <biostack/devices/null.hpp>
#include <biostack/devices/ram.hpp>
#include <biostack/devices/recording.hpp>
