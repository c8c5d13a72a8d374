// SPDX-License-Identifier: MIT
#pragma once

// The self-check's bookkeeping and console, shared by the firmware and its
// size baseline so that the two differ only in how they do I/O.

#include "semihosting.hpp"

#include <cstddef>
#include <cstdint>

namespace fw {

using semihosting::line;

struct tally {
  std::uint32_t passed = 0;
  std::uint32_t failed = 0;

  void expect(bool ok, const char* what) noexcept {
    line l;
    l << (ok ? "  ok    " : "  FAIL  ") << what;
    l.emit();
    ++(ok ? passed : failed);
  }
};

inline tally checks;

/// Records a check on a status and prints the status's name with it.
inline void check_status(const char* got, bool ok, const char* what) noexcept {
  line l;
  l << (ok ? "  ok    " : "  FAIL  ") << what << ": " << got;
  l.emit();
  ++(ok ? checks.passed : checks.failed);
}

/// A deterministic pattern that differs per block and per seed.
inline void fill_pattern(std::byte* p, std::size_t n, std::uint32_t seed) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    p[i] = static_cast<std::byte>((i * 31u + seed * 7u + (i >> 9)) & 0xffu);
}

/// Prints the summary and exits with the self-check's status.
[[noreturn]] inline int finish(const char* title) noexcept {
  line l;
  l << title << ": " << checks.passed << " passed, " << checks.failed << " failed";
  l.emit();
  semihosting::exit(checks.failed == 0 ? 0 : 1);
}

} // namespace fw
