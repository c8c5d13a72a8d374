// SPDX-License-Identifier: MIT
#pragma once

#include <biostack/config.hpp>

BIOSTACK_NAMESPACE_BEGIN

/// Signature of the panic handler: called on misuse that cannot be reported as
/// a status (double completion, releasing a handle twice, pushing past a bio
/// stack). It must not return; if it does, the library traps.
using panic_handler = void (*)(const char* expr, const char* file, int line) noexcept;

namespace detail {
[[noreturn]] inline void trap() noexcept {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_trap();
#else
  for (;;) {
  }
#endif
}

[[noreturn]] inline void default_panic(const char*, const char*, int) noexcept { trap(); }

// One handler per program: an inline variable has a single definition across
// translation units, so set_panic_handler() affects every user.
inline panic_handler current_panic_handler = nullptr;
} // namespace detail

/// Installs `h` (nullptr restores the default, which traps) and returns the
/// previous handler. Not ISR-safe; call during start-up.
inline panic_handler set_panic_handler(panic_handler h) noexcept {
  panic_handler old = detail::current_panic_handler;
  detail::current_panic_handler = h;
  return old;
}

/// Reports a fatal misuse. Never returns.
[[noreturn]] inline void panic(const char* expr, const char* file, int line) noexcept {
  if (panic_handler h = detail::current_panic_handler) {
    h(expr, file, line);
  }
  detail::default_panic(expr, file, line);
}

namespace detail {
/// `panic("", "", line)` for assertions without messages in builds optimised
/// for size: each failing check then costs its line number and a call, not
/// also two loads of an empty string from a literal pool in every function
/// that asserts (about 8 bytes per asserting function on Cortex-M).
[[noreturn]] BIOSTACK_NOINLINE inline void panic_at(int line) noexcept { panic("", "", line); }
} // namespace detail

BIOSTACK_NAMESPACE_END

/// 1: panics report the failed expression and file (the default in debug
/// builds); 0: they report empty strings and the line only, which keeps the
/// message strings out of small images (the default with NDEBUG).
#ifndef BIOSTACK_ASSERT_MESSAGES
#define BIOSTACK_ASSERT_MESSAGES BIOSTACK_DEBUG
#endif

/// Checks an invariant whose violation is a programming error. Always on:
/// the checks guarded by it are cheap and protect exactly-once completion.
/// Override (for example with a logging variant) by defining it first.
#ifndef BIOSTACK_ASSERT
#if BIOSTACK_ASSERT_MESSAGES
#define BIOSTACK_ASSERT(expr)                                                                      \
  (BIOSTACK_LIKELY(expr) ? static_cast<void>(0) : ::biostack::panic(#expr, __FILE__, __LINE__))
#elif defined(__OPTIMIZE_SIZE__)
#define BIOSTACK_ASSERT(expr)                                                                      \
  (BIOSTACK_LIKELY(expr) ? static_cast<void>(0) : ::biostack::detail::panic_at(__LINE__))
#else
// Optimised for speed, the out-of-line call costs more than it saves: GCC
// lays out the hot paths around the checks worse (1 ns on a 48 ns cache hit).
#define BIOSTACK_ASSERT(expr)                                                                      \
  (BIOSTACK_LIKELY(expr) ? static_cast<void>(0) : ::biostack::panic("", "", __LINE__))
#endif
#endif

/// Like BIOSTACK_ASSERT but compiled out unless BIOSTACK_DEBUG is 1: used on
/// hot paths for checks that cost a memory access.
#ifndef BIOSTACK_DEBUG_ASSERT
#if BIOSTACK_DEBUG
#define BIOSTACK_DEBUG_ASSERT(expr) BIOSTACK_ASSERT(expr)
#else
#define BIOSTACK_DEBUG_ASSERT(expr) static_cast<void>(0)
#endif
#endif
