#!/usr/bin/env bash
# Configure and build into DIR (default build/). Extra arguments go to cmake.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build}
shift || true
"$top/scripts/web-setup.sh" # the dashboard's chart library, from npm
# Without npm, web-setup.sh has said that the charts will be missing; build anyway, as
# before (a hand-run cmake instead stops and asks for npm or -DJOBADS_NO_CHARTS=ON).
charts=()
command -v npm >/dev/null || charts=(-DJOBADS_NO_CHARTS=ON)
cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${charts[@]}" "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null
