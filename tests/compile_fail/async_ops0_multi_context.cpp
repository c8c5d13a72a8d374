// SPDX-License-Identifier: MIT
//
// Must NOT compile (see tests/compile_fail/check.cmake): async_ops<0> steps
// the blocking forms in place, which is only right when nothing else can run
// meanwhile, so it requires a single-context wait policy. Built with
// -DBIOSTACK_CONTROL the same cache uses poll_wait and must compile, which
// shows the failure comes from that check and from nothing else.

#include <biostack/cache/buffer_cache.hpp>
#include <biostack/devices/null.hpp>
#include <biostack/hosted/cache_wait.hpp>
#include <cstddef>

namespace bs = biostack;

#ifdef BIOSTACK_CONTROL
using wait_policy = bs::poll_wait<>;
#else
using wait_policy = bs::cv_wait<>;
#endif

using cache =
    bs::buffer_cache<bs::null_device,
                     bs::policies<bs::static_storage<2, 512>, bs::async_ops<0>, wait_policy>>;

std::size_t cache_bytes() { return sizeof(cache); }
