#!/usr/bin/env bash
# One version everywhere: version.hpp, CMake, vcpkg.json, conanfile.py and the
# single-header banner.
set -euo pipefail
tools/ensure_packages python3
python3 tools/check_version
