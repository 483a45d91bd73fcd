# The dashboard in a real browser: Debian's chromium driven by playwright-core
# (tests/browser/dashboard.test.js) over a running `jobads serve` with generated
# data. Installs the npm package from the committed lock file when missing.
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/serve_lib.sh"

BROWSER_DIR=$(cd "$(dirname "$0")/../browser" && pwd)
[ -x /usr/bin/chromium ] || { echo "chromium missing: run scripts/bootstrap.sh" >&2; exit 1; }
if [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ]; then
    (cd "$BROWSER_DIR" && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci failed" >&2; exit 1; }
fi

jobads generate --count 30000 --days 14 --seed 5 >/dev/null 2>&1
jobads etl --quiet
serve_start
if (cd "$BROWSER_DIR" && node dashboard.test.js "$BASE" "$WORK") >"$WORK/browser.out" 2>&1; then ok; else
    fail "browser: $(grep -E 'FAIL' "$WORK/browser.out" | head -8)"
fi
cat "$WORK/browser.out" | grep -vE '^FAIL' | tail -3
echo "screenshot: $WORK/dashboard.png"
serve_stop
finish
