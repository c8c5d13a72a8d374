// SPDX-License-Identifier: MIT
//
// Start-up for Cortex-M3/M4 (ARMv7-M): the vector table, the reset handler
// that builds the C++ runtime environment (copy .data from flash, zero .bss,
// run static constructors) and fault handlers that report over semihosting
// instead of hanging silently. No crt0 and no libc start-up are linked
// (-nostartfiles): this is all there is between reset and firmware_main().

#include "semihosting.hpp"

#include <cstddef>
#include <cstdint>

// Symbols defined by linker.ld.
extern "C" {
extern std::uint32_t __data_load__[];
extern std::uint32_t __data_start__[];
extern std::uint32_t __data_end__[];
extern std::uint32_t __bss_start__[];
extern std::uint32_t __bss_end__[];
extern std::uint32_t __stack_top__[];
using init_fn = void (*)();
extern init_fn __init_array_start[];
extern init_fn __init_array_end[];
}

// The application's entry point (main.cpp / baseline.cpp). Not `main`: C++
// forbids calling main, and nothing here needs argc/argv semantics.
int firmware_main() noexcept;

namespace {

// Exit statuses for faults, distinct from the self-check's (0 pass, 1 fail).
constexpr std::uint32_t exit_hard_fault = 3;
constexpr std::uint32_t exit_unexpected_irq = 4;
constexpr std::uint32_t exit_main_returned = 5;

[[noreturn]] void fault(const char* what, std::uint32_t status) noexcept {
  fw::semihosting::write(what);
  fw::semihosting::exit(status);
}

} // namespace

extern "C" {

// The linker script keeps .data and .bss word aligned and word sized, so word
// copies suffice. (The compiler may turn these loops into memcpy/memset;
// newlib's versions use no static data, so that is safe before .data exists.)
[[noreturn]] void Reset_Handler() {
  for (std::uint32_t *src = __data_load__, *dst = __data_start__; dst < __data_end__;)
    *dst++ = *src++;
  for (std::uint32_t* dst = __bss_start__; dst < __bss_end__;) *dst++ = 0;
  for (init_fn* f = __init_array_start; f < __init_array_end; ++f) (*f)();
  const int status = firmware_main();
  // firmware_main() reports and exits itself; returning means it lost its way.
  (void)status;
  fault("firmware: firmware_main() returned\n", exit_main_returned);
}

void NMI_Handler() { fault("firmware: NMI\n", exit_unexpected_irq); }
void HardFault_Handler() { fault("firmware: hard fault\n", exit_hard_fault); }
void MemManage_Handler() { fault("firmware: memory management fault\n", exit_hard_fault); }
void BusFault_Handler() { fault("firmware: bus fault\n", exit_hard_fault); }
void UsageFault_Handler() { fault("firmware: usage fault\n", exit_hard_fault); }
void Default_Handler() { fault("firmware: unexpected interrupt\n", exit_unexpected_irq); }

using vector = void (*)();

// ARMv7-M vector table: initial stack pointer, then the system exceptions.
// The MPS2 peripherals' interrupts are not enabled by this firmware, so the
// table stops after SysTick; an interrupt that should not fire cannot.
__attribute__((section(".vectors"), used)) const vector vector_table[16] = {
    reinterpret_cast<vector>(__stack_top__),
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    Default_Handler, // SVCall
    Default_Handler, // DebugMonitor
    nullptr,
    Default_Handler, // PendSV
    Default_Handler, // SysTick
};

} // extern "C"
