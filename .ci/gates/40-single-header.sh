#!/usr/bin/env bash
# The committed single header must be exactly what tools/amalgamate makes of
# include/, and the unit tests must pass compiled against it alone.
set -euo pipefail
tools/ensure_packages python3

python3 tools/amalgamate --check

# In this build the library's include directory is single_include/; test
# sources that include individual headers reach the single header through
# generated forwarders (cmake/ship_tests.cmake).
build=build-single
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBIOSTACK_DEV_WERROR=ON \
  -DBIOSTACK_SINGLE_HEADER=ON
cmake --build "$build" -j "$(nproc)"

# Proof from the compiler's own dependency lists: objects read the single
# header, and none read a freestanding header from include/ (hosted headers
# are not part of the amalgamation and legitimately come from include/).
deps=$(ninja -C "$build" -t deps)
uses=$(grep -cE '(^|[[:space:]/])single_include/biostack/biostack\.hpp$' <<<"$deps" || true)
leaks=$(grep -E '(^|[[:space:]/])include/biostack/' <<<"$deps" | grep -v '/include/biostack/hosted/' |
  sed 's/^[[:space:]]*//' | sort -u || true)
if [ "$uses" -eq 0 ]; then
  echo "single-header build: no object depends on single_include/biostack/biostack.hpp"
  exit 1
fi
if [ -n "$leaks" ]; then
  echo "single-header build read headers from include/ instead of the single header:"
  echo "$leaks"
  exit 1
fi
echo "single-header build: $uses objects compiled against single_include/ only"

ctest --test-dir "$build" --output-on-failure -j "$(nproc)" -L unit --no-tests=error
