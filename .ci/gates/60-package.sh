#!/usr/bin/env bash
# Packaging: install into a temporary prefix and build consumers with
# find_package, pkg-config, add_subdirectory and the single header alone;
# validate the vcpkg port and the conan recipe (neither tool is installed).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
tools/ensure_packages cmake g++ catch2 ninja-build python3 pkgconf

build=build-ci
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBIOSTACK_DEV_WERROR=ON >/dev/null
# Every consumer must be registered: a missing tool would silently drop one.
expected="package_install package_find_package package_version_mismatch package_pkg_config
package_add_subdirectory package_single_header package_vcpkg_port package_conan_recipe
package_amalgamate"
listed=$(ctest --test-dir "$build" -N -L package)
for t in $expected; do
  grep -q " $t\$" <<<"$listed" || { echo "package test $t is not registered"; exit 1; }
done
ctest --test-dir "$build" -L package --output-on-failure --no-tests=error
