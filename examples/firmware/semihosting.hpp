// SPDX-License-Identifier: MIT
#pragma once

// Arm semihosting: the debugger (here QEMU, with -semihosting-config
// enable=on,target=native) services `bkpt 0xAB` with r0 = operation and
// r1 = argument. Only what a self-check needs: write a string, exit with a
// status. Nothing here allocates or touches libc's stdio.

#include <cstdint>

namespace fw::semihosting {

inline constexpr std::uint32_t sys_write0 = 0x04;
inline constexpr std::uint32_t sys_exit_extended = 0x20;
// ADP_Stopped_ApplicationExit: a normal exit, as opposed to a crash report.
inline constexpr std::uint32_t adp_stopped_application_exit = 0x20026;

inline std::uint32_t call(std::uint32_t operation, const void* argument) noexcept {
  register std::uint32_t r0 asm("r0") = operation;
  register const void* r1 asm("r1") = argument;
  asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

/// Writes a NUL-terminated string to the host's console.
inline void write(const char* s) noexcept { call(sys_write0, s); }

/// Ends the emulation; QEMU exits with `status`. SYS_EXIT_EXTENDED carries
/// the status (plain SYS_EXIT on 32-bit Arm can only say success/failure).
[[noreturn]] inline void exit(std::uint32_t status) noexcept {
  const std::uint32_t block[2] = {adp_stopped_application_exit, status};
  call(sys_exit_extended, block);
  for (;;) {
    // Without a debugger there is nobody to stop us: park the core.
    asm volatile("wfi");
  }
}

/// A fixed-size line builder, so numbers can be printed without printf.
class line {
public:
  line& operator<<(const char* s) noexcept {
    while (*s != '\0' && len_ + 1 < sizeof(buf_)) buf_[len_++] = *s++;
    buf_[len_] = '\0';
    return *this;
  }
  line& operator<<(std::uint32_t v) noexcept {
    char digits[10];
    unsigned n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10u);
      v /= 10u;
    } while (v != 0);
    while (n != 0 && len_ + 1 < sizeof(buf_)) buf_[len_++] = digits[--n];
    buf_[len_] = '\0';
    return *this;
  }
  /// Sends the line followed by a newline and starts a new one.
  void emit() noexcept {
    *this << "\n";
    write(buf_);
    len_ = 0;
    buf_[0] = '\0';
  }

private:
  char buf_[128] = {};
  unsigned len_ = 0;
};

} // namespace fw::semihosting
