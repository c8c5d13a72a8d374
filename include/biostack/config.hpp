// SPDX-License-Identifier: MIT
#pragma once

/// Build configuration. Every macro here may be overridden, either on the
/// compiler command line or in an optional user header `biostack_user_config.hpp`
/// found on the include path (picked up with `__has_include`; CMake generates
/// nothing).

#if defined(__has_include)
#if __has_include(<biostack_user_config.hpp>)
#include <biostack_user_config.hpp>
#endif
#endif

#include <biostack/version.hpp>

/// 1 when the translation unit is compiled with exception support. The library
/// never throws either way; this only lets tests and hosted helpers adapt.
#ifndef BIOSTACK_HAS_EXCEPTIONS
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define BIOSTACK_HAS_EXCEPTIONS 1
#else
#define BIOSTACK_HAS_EXCEPTIONS 0
#endif
#endif

/// 1 when the translation unit is compiled with RTTI. The library never uses it.
#ifndef BIOSTACK_HAS_RTTI
#if defined(__GXX_RTTI) || defined(_CPPRTTI)
#define BIOSTACK_HAS_RTTI 1
#else
#define BIOSTACK_HAS_RTTI 0
#endif
#endif

/// 1 when hosted-only facilities (threads, files, the heap) may be used.
/// Bare-metal toolchains (arm-none-eabi and friends) or `-ffreestanding`
/// builds default to 0; `<biostack/hosted/...>` headers refuse to compile then.
#ifndef BIOSTACK_HOSTED
#if defined(__STDC_HOSTED__) && __STDC_HOSTED__ == 1 &&                                            \
    (defined(__linux__) || defined(__APPLE__) || defined(_WIN32) || defined(__unix__))
#define BIOSTACK_HOSTED 1
#else
#define BIOSTACK_HOSTED 0
#endif
#endif

/// Debug checks (use-after-release, double release, double completion) are on
/// unless NDEBUG is defined; set to 0 or 1 to force.
#ifndef BIOSTACK_DEBUG
#ifdef NDEBUG
#define BIOSTACK_DEBUG 0
#else
#define BIOSTACK_DEBUG 1
#endif
#endif

#if defined(__GNUC__) || defined(__clang__)
#define BIOSTACK_LIKELY(x) __builtin_expect(!!(x), 1)
#define BIOSTACK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define BIOSTACK_LIKELY(x) (x)
#define BIOSTACK_UNLIKELY(x) (x)
#endif

// Code-size controls for templates that are instantiated once per stack.
// BIOSTACK_NOINLINE keeps a rarely used or large routine out of line, so
// every caller shares one copy instead of each inlining its own;
// BIOSTACK_COLD additionally tells the compiler the path is unlikely (error
// and recovery paths), which moves it out of the hot code's way.
// BIOSTACK_ALWAYS_INLINE is the opposite, for a check of a few instructions
// that -Os would otherwise keep out of line although a call costs as much.
#if defined(__GNUC__) || defined(__clang__)
#define BIOSTACK_NOINLINE __attribute__((noinline))
#define BIOSTACK_COLD __attribute__((noinline, cold))
#define BIOSTACK_ALWAYS_INLINE __attribute__((always_inline))
#else
#define BIOSTACK_NOINLINE
#define BIOSTACK_COLD
#define BIOSTACK_ALWAYS_INLINE
#endif

// BIOSTACK_NOINLINE_FOR_SIZE keeps a routine out of line only when optimising
// for size (-Os, -Oz): for small routines with many call sites, such as a
// bio's constructor, where one shared copy is smaller than the inlined bodies
// but a call would cost time on a host's hot path.
#ifndef BIOSTACK_NOINLINE_FOR_SIZE
#if defined(__OPTIMIZE_SIZE__) && (defined(__GNUC__) || defined(__clang__))
#define BIOSTACK_NOINLINE_FOR_SIZE __attribute__((noinline))
#else
#define BIOSTACK_NOINLINE_FOR_SIZE
#endif
#endif

// BIOSTACK_NOINLINE_FOR_SPEED keeps a routine out of line only when
// optimising for speed: a slow path (a cache miss) kept out of its hot
// caller's code and registers. Optimising for size, the compiler decides:
// it inlines such a routine into its only caller, saving the call, and
// keeps one copy for several.
#ifndef BIOSTACK_NOINLINE_FOR_SPEED
#if !defined(__OPTIMIZE_SIZE__) && (defined(__GNUC__) || defined(__clang__))
#define BIOSTACK_NOINLINE_FOR_SPEED __attribute__((noinline))
#else
#define BIOSTACK_NOINLINE_FOR_SPEED
#endif
#endif

// BIOSTACK_COLD_FOR_SPEED is BIOSTACK_COLD only when optimising for speed:
// a rare path whose inlining would upset a host's hot caller (registers,
// the inlining of its other callees), but which optimising for size is
// smaller inlined into its one or two callers than called.
#ifndef BIOSTACK_COLD_FOR_SPEED
#if !defined(__OPTIMIZE_SIZE__) && (defined(__GNUC__) || defined(__clang__))
#define BIOSTACK_COLD_FOR_SPEED __attribute__((noinline, cold))
#else
#define BIOSTACK_COLD_FOR_SPEED
#endif
#endif

// BIOSTACK_ALWAYS_INLINE_FOR_SIZE is BIOSTACK_ALWAYS_INLINE only when
// optimising for size: an accessor whose check folds into its caller's own
// test once inlined, but which -Os keeps out of line. Optimising for speed
// the compiler inlines it anyway, and forcing it there changes the
// compiler's other inlining decisions on a host's hot paths.
#ifndef BIOSTACK_ALWAYS_INLINE_FOR_SIZE
#if defined(__OPTIMIZE_SIZE__) && (defined(__GNUC__) || defined(__clang__))
#define BIOSTACK_ALWAYS_INLINE_FOR_SIZE __attribute__((always_inline))
#else
#define BIOSTACK_ALWAYS_INLINE_FOR_SIZE
#endif
#endif

#define BIOSTACK_NAMESPACE_BEGIN                                                                   \
  namespace biostack {                                                                             \
  inline namespace v1 {
#define BIOSTACK_NAMESPACE_END                                                                     \
  }                                                                                                \
  }
