// biostack — header-only C++20 block I/O stacks.
// SPDX-License-Identifier: MIT
#pragma once

/// The library version. This header is the single source of truth: CMake,
/// the vcpkg port, the conan recipe and the single-header banner read it.
#define BIOSTACK_VERSION_MAJOR 0
#define BIOSTACK_VERSION_MINOR 1
#define BIOSTACK_VERSION_PATCH 0
#define BIOSTACK_VERSION_STRING "0.1.0"

/// Monotonic integer for `#if` comparisons: major * 10000 + minor * 100 + patch.
#define BIOSTACK_VERSION                                                                           \
  (BIOSTACK_VERSION_MAJOR * 10000 + BIOSTACK_VERSION_MINOR * 100 + BIOSTACK_VERSION_PATCH)
