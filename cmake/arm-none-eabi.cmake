# CMake toolchain file for bare-metal Arm Cortex-M with the GNU Arm toolchain
# (Debian: gcc-arm-none-eabi, libstdc++-arm-none-eabi-newlib).
#
#   cmake -S examples/firmware -B build-fw \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake -DBIOSTACK_ARM_CPU=cortex-m4
#
# BIOSTACK_ARM_CPU     -mcpu value (default cortex-m3); Thumb is always used.
# BIOSTACK_ARM_FLOAT   extra FPU flags, e.g. "-mfpu=fpv4-sp-d16 -mfloat-abi=hard"
#                      (default: none, i.e. the soft-float ABI).
# BIOSTACK_ARM_TOOLCHAIN_PREFIX  prefix of the tools (default arm-none-eabi-),
#                      may include a directory.

set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(BIOSTACK_ARM_CPU "cortex-m3" CACHE STRING "-mcpu for the Cortex-M target")
set(BIOSTACK_ARM_FLOAT "" CACHE STRING "FPU / float-ABI flags for the Cortex-M target")
set(BIOSTACK_ARM_TOOLCHAIN_PREFIX "arm-none-eabi-" CACHE STRING "GNU Arm tool prefix")
# try_compile() projects re-read this file; hand them the same choices.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES
     BIOSTACK_ARM_CPU BIOSTACK_ARM_FLOAT BIOSTACK_ARM_TOOLCHAIN_PREFIX)

set(CMAKE_C_COMPILER "${BIOSTACK_ARM_TOOLCHAIN_PREFIX}gcc")
set(CMAKE_CXX_COMPILER "${BIOSTACK_ARM_TOOLCHAIN_PREFIX}g++")
set(CMAKE_ASM_COMPILER "${BIOSTACK_ARM_TOOLCHAIN_PREFIX}gcc")
find_program(CMAKE_OBJCOPY "${BIOSTACK_ARM_TOOLCHAIN_PREFIX}objcopy")
find_program(CMAKE_SIZE "${BIOSTACK_ARM_TOOLCHAIN_PREFIX}size")
find_program(CMAKE_NM "${BIOSTACK_ARM_TOOLCHAIN_PREFIX}nm")

# There is no operating system to link a test executable against.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(_biostack_arm_flags "-mcpu=${BIOSTACK_ARM_CPU} -mthumb ${BIOSTACK_ARM_FLOAT}")
set(CMAKE_C_FLAGS_INIT "${_biostack_arm_flags}")
set(CMAKE_CXX_FLAGS_INIT "${_biostack_arm_flags}")
set(CMAKE_ASM_FLAGS_INIT "${_biostack_arm_flags}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_biostack_arm_flags}")

# Libraries and headers come from the toolchain's sysroot, programs from the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
