// SPDX-License-Identifier: MIT
#pragma once

/// Included by every <biostack/hosted/...> header: they need an operating
/// system (threads, files, the heap) and must not leak into firmware.

#include <biostack/config.hpp>

#if !BIOSTACK_HOSTED
#error                                                                                             \
    "<biostack/hosted/...> headers need a hosted platform; this build is freestanding (BIOSTACK_HOSTED is 0)"
#endif
