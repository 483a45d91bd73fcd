#!/usr/bin/env bash
# The demo on the embedded default: install what is missing, build, run
# `jobads demo` in ./data (override with --count N, --days D, --seed S).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/bootstrap.sh"
"$top/scripts/build.sh" "$top/build"
exec "$top/build/jobads" demo "$@"
