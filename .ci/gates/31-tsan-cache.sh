#!/usr/bin/env bash
# Buffer cache under ThreadSanitizer: the multi-threaded tests (hosted lock and
# condition-variable wait policies, background flusher, stress), the
# single-context suite, and trace_replay's --plot path with gnuplot present.
set -euo pipefail
tools/ensure_packages gnuplot-nox
cmake -S . -B build-tsan-cache -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBIOSTACK_DEV_WERROR=ON \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer"
cmake --build build-tsan-cache -j "$(nproc)" \
  --target unit_cache_threads unit_cache unit_cache_dispatch unit_cache_fixes unit_cache_async \
  unit_trace_replay trace_replay
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
./build-tsan-cache/tests/unit_cache_threads
./build-tsan-cache/tests/unit_cache
./build-tsan-cache/tests/unit_cache_dispatch
./build-tsan-cache/tests/unit_cache_fixes
./build-tsan-cache/tests/unit_cache_async
(cd build-tsan-cache/tests && ./unit_trace_replay)
