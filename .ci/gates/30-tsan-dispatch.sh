#!/usr/bin/env bash
# The dispatcher's tests under ThreadSanitizer, in their own build directory:
# the multi-threaded stress test (std_mutex lock policy, four submitting
# threads, completions from a device thread) and the single-threaded suites,
# which exercise the same lock and completion paths; and the bio and fan-in
# tests, whose threaded cases check the completion walk's memory orders
# (they can only fail under TSAN on x86).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${BIOSTACK_TSAN_BUILD:-build-tsan-dispatch}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBIOSTACK_DEV_WERROR=ON \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer"
targets=(unit_dispatch_stress unit_dispatch unit_dispatch_faults unit_alloc unit_split unit_queue unit_bio
  unit_chain)
cmake --build "$build" -j "${BIOSTACK_JOBS:-$(nproc)}" --target "${targets[@]}"
# The stress test several times: interleavings differ from run to run.
for i in 1 2 3; do
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 "$build/tests/unit_dispatch_stress"
done
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir "$build" --output-on-failure \
  -R '^unit_(dispatch|dispatch_faults|alloc|split|queue|bio|chain)$'
