#!/usr/bin/env bash
# The tests, examples and header self-containment once more with clang, warnings
# as errors: consumers use both compilers.
set -euo pipefail
tools/ensure_packages clang
CXX=clang++ cmake -S . -B build-clang -G Ninja -DCMAKE_BUILD_TYPE=Release -DBIOSTACK_DEV_WERROR=ON
cmake --build build-clang -j "$(nproc)"
ctest --test-dir build-clang --output-on-failure -j "$(nproc)" -L unit
