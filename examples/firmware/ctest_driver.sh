#!/bin/sh
# SPDX-License-Identifier: MIT
# Driver for the host build's firmware tests (ctest -L firmware).
#   ctest_driver.sh build <source-dir> <build-dir> <toolchain-file> <generator>
#   ctest_driver.sh run   <build-dir> <image name, e.g. firmware>
# Exits 77 (ctest SKIP_RETURN_CODE) with the reason when the Arm toolchain or
# QEMU is not installed; CI installs both, so it never skips there.
set -eu
skip() {
  echo "SKIPPED: $1"
  echo "  Debian/Ubuntu: apt-get install gcc-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm"
  exit 77
}
need_toolchain() {
  command -v arm-none-eabi-g++ >/dev/null 2>&1 || skip "arm-none-eabi-g++ is not installed"
  # The compiler alone is not enough: <cstring> & co come with newlib's libstdc++.
  echo '#include <cstring>' | arm-none-eabi-g++ -std=c++20 -x c++ -fsyntax-only - >/dev/null 2>&1 ||
    skip "arm-none-eabi-g++ has no C++ standard library (libstdc++-arm-none-eabi-newlib)"
}

mode=$1
shift
case "$mode" in
build)
  need_toolchain
  src=$1 bin=$2 toolchain=$3 generator=$4
  cmake -S "$src" -B "$bin" -G "$generator" -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
    -DCMAKE_BUILD_TYPE=MinSizeRel -DBIOSTACK_ARM_CPU=cortex-m3
  # The image's POST_BUILD step runs the nm symbol check; a violation fails here.
  cmake --build "$bin"
  ;;
run)
  need_toolchain
  command -v qemu-system-arm >/dev/null 2>&1 || skip "qemu-system-arm is not installed"
  image=$1/$2.elf
  [ -f "$image" ] || { echo "FAILED: $image is missing (did firmware_build fail?)"; exit 1; }
  # The self-check's status is QEMU's exit status (semihosting SYS_EXIT_EXTENDED).
  # The timeout turns a hung image into a failure instead of a stuck CI job.
  status=0
  timeout 120 qemu-system-arm -M mps2-an385 -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$image" || status=$?
  echo "firmware exit status: $status"
  exit "$status"
  ;;
*)
  echo "usage: $0 build <src> <bin> <toolchain> <generator> | run <bin> <image>" >&2
  exit 2
  ;;
esac
