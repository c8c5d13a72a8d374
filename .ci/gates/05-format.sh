#!/usr/bin/env bash
# Every C++ file in the repository is formatted with the repo's .clang-format.
# (single_include/ is generated from formatted sources and is not checked.)
set -euo pipefail
tools/ensure_packages clang-format
files=$(git ls-files '*.hpp' '*.cpp' '*.h' | grep -v '^single_include/' || true)
[ -z "$files" ] && exit 0
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
echo "format: $(echo "$files" | wc -l) files clean"
