#!/usr/bin/env bash
# Fetch the dashboard's chart library (ECharts, embedded into the binary at build
# time) and the browser test's driver (playwright-core) from npm, at the versions
# pinned by the committed package-lock.json files. Quick when both are there.
# Without npm, scripts/build.sh still builds (with -DJOBADS_NO_CHARTS=ON): the page
# then says the charts are missing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v npm >/dev/null; then
    echo "web-setup: npm not found; the dashboard will be built without charts (scripts/bootstrap.sh installs it)" >&2
    exit 0
fi
for dir in "$top/dashboard" "$top/tests/browser"; do
    want=$( [ "$dir" = "$top/dashboard" ] && echo echarts || echo playwright-core )
    [ -d "$dir/node_modules/$want" ] && continue
    echo "web-setup: npm ci in ${dir#"$top"/}" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
done
