#!/usr/bin/env bash
# The README's first command must stay true: build and run the main demo,
# whose exit status is its own self-check.
set -euo pipefail
bash tools/run_demo
