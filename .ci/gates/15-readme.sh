#!/usr/bin/env bash
# The README's example must stay true: extract the first C++ block, build it
# with warnings as errors, run it and compare its output with its
# "// prints: ..." comment.
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/^```cpp$/{on=1; next} /^```$/{if(on){exit}} on' README.md > "$tmp/readme.cpp"
lines=$(wc -l < "$tmp/readme.cpp")
[ "$lines" -gt 0 ] || { echo "README has no C++ example"; exit 1; }
[ "$lines" -le 15 ] || { echo "README example has $lines lines; the limit is 15"; exit 1; }
g++ -std=c++20 -Wall -Wextra -Wpedantic -Wconversion -Werror -Iinclude "$tmp/readme.cpp" -o "$tmp/readme"
expected=$(grep -o '// prints: .*$' "$tmp/readme.cpp" | tail -n 1 | sed 's|^// prints: ||')
[ -n "$expected" ] || { echo "README example has no \"// prints:\" comment"; exit 1; }
actual=$("$tmp/readme")
echo "README example printed: $actual"
[ "$actual" = "$expected" ] || { echo "expected: $expected"; exit 1; }
