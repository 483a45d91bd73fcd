# The dashboard in a real browser: Debian's chromium driven by playwright-core
# (tests/browser/dashboard.test.js) over a running `jobads serve` with generated
# data, among it device, industry and publisher names that are HTML. Installs
# the npm package from the committed lock file when missing.
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/serve_lib.sh"

BROWSER_DIR=$(cd "$(dirname "$0")/../browser" && pwd)
[ -x /usr/bin/chromium ] || { echo "chromium missing: run scripts/bootstrap.sh" >&2; exit 1; }
if [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ]; then
    (cd "$BROWSER_DIR" && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci failed" >&2; exit 1; }
fi

jobads generate --count 30000 --days 14 --seed 5 >/dev/null 2>&1
# names that are HTML: the page must show them as text, never run them
python3 - >hostile.ndjson <<'PY'
import json, time
now = int(time.time() * 1000) - 3600 * 1000
for i in range(40):
    print(json.dumps({"ts": now - i * 60000, "publisher_id": 900, "publisher_name": "<b>pub</b><img src=x onerror=window.__xss=3>",
                      "job_id": 1, "campaign_id": 103, "industry": "<img src=x onerror=window.__xss=2>", "location": "x",
                      "device": "<img src=x onerror=window.__xss=1>", "impressions": 100, "clicks": 40, "apply_count": 3,
                      "cost": "1.50", "quality_score": 70}))
PY
jobads ingest --quiet hostile.ndjson
jobads etl --quiet
# budgets for the pacing panel
jobads campaign set 101 --name "Senior Java, HCM" --budget 50000 --per month >/dev/null
jobads campaign set 102 --budget 2000 --per day >/dev/null
jobads campaign set 104 --budget 1000000 --per month >/dev/null
serve_start
if (cd "$BROWSER_DIR" && node dashboard.test.js "$BASE" "$WORK") >"$WORK/browser.out" 2>&1; then ok; else
    fail "browser: $(grep -E 'FAIL' "$WORK/browser.out" | head -8)"
fi
cat "$WORK/browser.out" | grep -vE '^FAIL' | tail -3
echo "screenshot: $WORK/dashboard.png"
serve_stop
finish
