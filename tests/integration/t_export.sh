# Export: `report --format csv` and format=csv on the API's row routes, parsed
# back by Python's csv module, equal the JSON of the same query cell for cell
# (export_check.py); publisher names that are formulas come back neutralised
# (OWASP), one with a comma, a quote and a newline intact; a bad format is a
# clear error.
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/serve_lib.sh"
CHECK="$(dirname "$0")/export_check.py"

jobads generate --count 6000 --days 10 --seed 11 >/dev/null 2>&1
python3 - >names.ndjson <<'PY'
import json, time
now = int(time.time() * 1000) - 3600 * 1000
names = {901: '=HYPERLINK("x")', 902: 'a,b "c"\nd', 903: "+1", 904: "@SUM(A1)", 905: "-2+3"}
for i in range(50):
    pid = 901 + i % 5
    print(json.dumps({"ts": now - i * 600000, "publisher_id": pid, "publisher_name": names[pid],
                      "job_id": 1, "campaign_id": 101 + i % 3, "industry": "IT", "location": "Hue",
                      "device": "@dev" if i % 2 else "mobile", "impressions": 100 + i, "clicks": i % 7,
                      "apply_count": i % 3, "cost": "1.%06d" % (i * 12347), "quality_score": 70}))
PY
assert_status "ingest the named publishers" 0 jobads ingest --quiet names.ndjson
assert_status "etl" 0 jobads etl --quiet

assert_status "report --format json" 0 jobads report --format json
cp "$WORK/last.out" report.json
assert_status "report --json" 0 jobads report --json
assert_eq "--json is --format json" "" "$(diff report.json "$WORK/last.out" | head -3)"
assert_status "report --format csv" 0 jobads report --format csv
cp "$WORK/last.out" report.csv
if python3 "$CHECK" report report.json report.csv >check.out; then ok; else
    fail "report CSV differs from its JSON: $(grep FAIL check.out | head -5)"
fi
tail -1 check.out
assert_status "report --format table" 0 jobads report --format table
assert_grep "table is the default's" '^Publishers$' "$WORK/last.out"
assert_status "report --format xml" 2 jobads report --format xml
assert_grep "names the option and the choices" "report: --format: want table, json or csv, got 'xml'" "$WORK/last.err"
assert_status "filtered report csv" 0 jobads report --format csv --publisher 902
assert_grep "a filtered CSV keeps the name quoted" '^publishers,,,902,"a,b ""c""$' "$WORK/last.out"

serve_start
if python3 "$CHECK" api "$BASE" >check.out; then ok; else
    fail "API CSV differs from its JSON: $(grep FAIL check.out | head -5)"
fi
tail -1 check.out
assert_eq "format=xml is 400" 400 "$(http GET "/api/campaigns?format=xml")"
assert_grep "says why" '"error":"format: want json or csv, got .xml.","status":400' "$WORK/http.body"
assert_eq "format on a route without rows is 400" 400 "$(http GET "/api/runs?format=csv")"
assert_eq "format=json is the JSON" 200 "$(http GET "/api/devices?format=json")"
assert_grep "JSON" '^\{"range":' "$WORK/http.body"
assert_eq "HEAD of a CSV" 200 "$(curl -s -o /dev/null -w '%{http_code}' -I "$BASE/api/campaigns?format=csv")"
serve_stop
finish
