# Campaigns and pacing (issue 17): a campaign's name, flight and budget set by
# `jobads campaign set`, `campaign load` and PUT /api/campaigns/ID, refused
# whole when any of it is bad; the name beside the id in report, the API and
# campaign_summary; an analytics store of schema 4 or 5 (SQLite; MySQL 2 or 3)
# upgraded in place; and `jobads pacing` equal to an independent recompute from
# the raw events (pacing_check.py) for a month in progress that holds the
# daylight saving change, an exhausted budget, a campaign without history, a
# daily budget and flights that start and end mid-month. Run on every backend.
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/serve_lib.sh"
CHECK="python3 $(dirname "$0")/pacing_check.py"
ZONE=Europe/Berlin

jobads init >/dev/null
$CHECK events events.ndjson
assert_status "ingest" 0 jobads ingest --quiet events.ndjson
assert_status "etl" 0 jobads etl --quiet

# the seed-compatible views with the name column still equal the recompute over
# raw (which reads UTC hours: so before the zone changes)
assert_status "name one" 0 jobads campaign set 101 --name "Senior Java, HCM"
assert_views_match "with names"
# the facts are bucketed again by the zone's hours; the campaigns stay
assert_status "init --tz $ZONE --rebuild" 0 jobads init --tz "$ZONE" --rebuild
assert_status "etl in $ZONE" 0 jobads etl --quiet

list_csv() { jobads campaign list --format csv; }

# --- set, list, and what set refuses (nothing written) ---
assert_status "set a monthly budget beside the name kept over the rebuild" 0 \
    jobads campaign set 101 --name "Senior Java, HCM" --budget 50000 --per month
assert_eq "list --format csv" "campaign_id,name,start,end,budget,per
101,\"Senior Java, HCM\",,,50000.000000,month" "$(list_csv | tr -d '\r')"
assert_status "set keeps the fields it is not given" 0 jobads campaign set 101 --start 2026-01-01
assert_eq "the budget kept, the start set" '101,"Senior Java, HCM",2026-01-01,,50000.000000,month' \
    "$(list_csv | tr -d '\r' | sed -n 2p)"
before=$(list_csv)
assert_status "an unknown campaign" 1 jobads campaign set 999 --name Ghost --budget 10 --per day
assert_grep "names it" "campaign set: campaign 999 is unknown \(no events of it were processed\); nothing was stored" last.err
assert_status "a negative budget" 2 jobads campaign set 102 --budget -5 --per month
assert_grep "names the field" "campaign 102: --budget: must be >= 0: '-5'" last.err
assert_status "a budget that is not a number" 2 jobads campaign set 102 --budget 12abc --per month
assert_grep "names the field" "campaign 102: --budget: not a decimal number: '12abc'" last.err
assert_status "an unknown period" 2 jobads campaign set 102 --budget 5 --per week
assert_grep "names the field" "campaign 102: --per: want day, month or flight, got 'week'" last.err
assert_status "list in an unknown format" 2 jobads campaign list --format xml
assert_grep "names the option and the choices" "campaign list: --format: want table, json or csv, got 'xml'" last.err
assert_status "pacing in an unknown format" 2 jobads pacing --format xml
assert_grep "names the option and the choices" "pacing: --format: want table, json or csv, got 'xml'" last.err
assert_status "an end before the start" 2 jobads campaign set 102 --start 2026-03-10 --end 2026-03-01
assert_grep "names the field" "campaign 102: end: 2026-03-01 is before the start 2026-03-10" last.err
assert_status "an end before the stored start" 2 jobads campaign set 101 --end 2025-12-31
assert_grep "against the stored start" "campaign 101: end: 2025-12-31 is before the start 2026-01-01" last.err
assert_status "not a date" 2 jobads campaign set 102 --start 2026-02-30
assert_grep "names the field" "campaign 102: --start: want a date YYYY-MM-DD, got '2026-02-30'" last.err
assert_status "a budget without its period" 2 jobads campaign set 102 --budget 5
assert_grep "says which" "campaign 102: per: a budget needs its period" last.err
assert_status "a flight budget without dates" 2 jobads campaign set 102 --budget 5 --per flight
assert_grep "says which" "campaign 102: per: a budget per flight needs the start and the end dates" last.err
assert_eq "nothing was written by any of them" "$before" "$(list_csv)"
assert_status "none clears a budget and its period" 0 jobads campaign set 101 --budget none
assert_eq "cleared" '101,"Senior Java, HCM",2026-01-01,,,' "$(list_csv | tr -d '\r' | sed -n 2p)"

# --- load: all or nothing ---
cat >good.csv <<'EOF'
campaign_id,name,budget,per,start,end
101,"Senior Java, HCM",50000,month,,
102,Night shift,3000,month,,
103,Fresh start,20000.50,month,,
104,Weekend warriors,900.25,flight,2026-03-05,2026-03-25
105,Daily,150,day,2026-01-01,2026-12-31
106,No budget,,,,
107,Mid-month flight,12000,month,2026-03-12,2026-04-10
EOF
printf 'campaign_id,name,budget,per\r\n101,Changed,1,day\r\n102,Short row,5\r\n' >short.csv
printf 'campaign_id,name,budget,per\n101,Changed,1,day\n102,Bad,-1,day\n' >negative.csv
printf 'campaign_id,name,budget,per\n101,Changed,1,day\n999,Ghost,1,day\n' >unknown.csv
printf 'campaign_id,name,budget,per\n101,Changed,1,fortnight\n' >period.csv
printf 'campaign_id,name,start,end\n101,Changed,2026-03-10,2026-03-01\n' >dates.csv
printf 'campaign,name\n101,x\n' >header.csv
assert_status "load" 0 jobads campaign load good.csv
assert_grep "says how many" "7 campaigns stored from good.csv" last.out
loaded=$(list_csv)
assert_status "a row missing a column" 1 jobads campaign load short.csv
assert_grep "names the row and the field" "campaign load: short.csv: row 2: per: missing \(3 of 4 columns\); nothing was stored" last.err
assert_status "a negative budget" 1 jobads campaign load negative.csv
assert_grep "names the row and the field" "negative.csv: row 2: budget: must be >= 0: '-1'" last.err
assert_status "an unknown campaign" 1 jobads campaign load unknown.csv
assert_grep "names the row and the field" "unknown.csv: row 2: campaign_id: 999 is unknown .*nothing was stored" last.err
assert_status "an unknown period" 1 jobads campaign load period.csv
assert_grep "names the row and the field" "period.csv: row 1: per: want day, month or flight, got 'fortnight'" last.err
assert_status "an end before the start" 1 jobads campaign load dates.csv
assert_grep "names the row and the field" "dates.csv: row 1: end: 2026-03-01 is before the start 2026-03-10" last.err
assert_status "an unknown column" 1 jobads campaign load header.csv
assert_grep "names the column" "header.csv: header: column 1: unknown field 'campaign'" last.err
assert_eq "no bad file changed anything (not even its good first row)" "$loaded" "$(list_csv)"
list_csv >round.csv
assert_status "list --format csv loads back" 0 jobads campaign load round.csv
assert_eq "as it was" "$loaded" "$(list_csv)"
assert_status "list --json" 0 jobads campaign list --json
assert_eq "exact budget in JSON" "20000.500000 20000500000 month" \
    "$(python3 -c 'import json,sys; c=[c for c in json.load(open(sys.argv[1]))["campaigns"] if c["campaign_id"]==103][0]; print(c["budget"], c["budget_micros"], c["per"])' last.out)"
jobads campaign list --json >campaigns.json

# --- names wherever the id is ---
assert_status "report --json" 0 jobads report --json
assert_eq "report names campaigns" "Senior Java, HCM|None" \
    "$(python3 -c 'import json,sys; d={r["campaign_id"]: r["campaign_name"] for r in json.load(open(sys.argv[1]))["campaigns"]}; print(d[101], d.get(108), sep="|")' last.out)"
assert_status "report table" 0 jobads report
assert_grep "the table shows the name" "^  101 Senior Java, HCM " last.out
assert_status "report --format csv" 0 jobads report --format csv
assert_grep "the CSV has campaign_name after campaign_id" '^campaigns,101,"Senior Java, HCM",' last.out
assert_eq "campaign_summary: the name" "Senior Java, HCM" \
    "$(an_sql 'SELECT campaign_name FROM campaign_summary WHERE campaign_id = 101')"
if [ "$AN_KIND" = mysql ]; then
    last_col=$(an_sql "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'campaign_summary' ORDER BY ordinal_position DESC LIMIT 1")
else
    last_col=$(an_sql "SELECT name FROM pragma_table_info('campaign_summary') ORDER BY cid DESC LIMIT 1")
fi
assert_eq "campaign_summary: name is the last column" campaign_name "$last_col"

# --- pacing: equal to the recompute from the raw events ---
for now in 2026-03-30T09:30:00Z 2026-03-15T12:45:00Z 2026-03-29T01:30:00Z; do
    assert_status "pacing --json at $now" 0 jobads pacing --json --now "$now"
    cp last.out pacing.json
    assert_status "pacing --format csv at $now" 0 jobads pacing --format csv --now "$now"
    cp last.out pacing.csv
    assert_status "pacing at $now equals the recompute" 0 $CHECK check events.ndjson campaigns.json "$ZONE" "$now" pacing.json pacing.csv
    cp last.out "states-$now.json"
done
# the cases the issue names are among them (the recompute checked their numbers)
st() { python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s[sys.argv[2]][int(sys.argv[3])])' "states-$1.json" "$2" "$3"; }
assert_eq "102 exhausted in the month in progress" exhausted "$(st 2026-03-30T09:30:00Z 102 0)"
assert_eq "101 follows its history" history "$(st 2026-03-30T09:30:00Z 101 1)"
assert_eq "103 without history is linear" linear "$(st 2026-03-30T09:30:00Z 103 1)"
assert_eq "104's flight (5th to 25th) is over on the 30th" inactive "$(st 2026-03-30T09:30:00Z 104 0)"
assert_eq "104's flight paces on the 15th" history "$(st 2026-03-15T12:45:00Z 104 1)"
assert_status "pacing table" 0 jobads pacing --now 2026-03-30T09:30:00Z
assert_grep "the table shows state and name" "^  102 Night shift .* exhausted " last.out

# --- the API: GET and PUT /api/campaigns/ID ---
serve_start --admin-token s3cret
before=$(list_csv)
assert_eq "PUT without the token" 401 "$(http PUT /api/campaigns/102 -H 'Content-Type: application/json' -d '{"campaign_name":"Hacked"}')"
assert_eq "PUT with a wrong token" 401 "$(http PUT /api/campaigns/102 -H 'Authorization: Bearer nope' -H 'Content-Type: application/json' -d '{"campaign_name":"Hacked"}')"
assert_eq "changes nothing" "$before" "$(list_csv)"
auth=(-H 'Authorization: Bearer s3cret' -H 'Content-Type: application/json')
assert_eq "PUT a negative budget" 400 "$(http PUT /api/campaigns/102 "${auth[@]}" -d '{"budget":"-1"}')"
assert_eq "names the field" "campaign 102: budget: must be >= 0: '-1'" "$(jget 'j["error"]')"
assert_eq "PUT a budget as a JSON fraction" 400 "$(http PUT /api/campaigns/102 "${auth[@]}" -d '{"budget":1.5}')"
assert_eq "PUT an unknown period" 400 "$(http PUT /api/campaigns/102 "${auth[@]}" -d '{"per":"week"}')"
assert_eq "PUT an end before the start" 400 "$(http PUT /api/campaigns/104 "${auth[@]}" -d '{"end":"2026-03-01"}')"
assert_eq "names the field" "campaign 104: end: 2026-03-01 is before the start 2026-03-05" "$(jget 'j["error"]')"
assert_eq "PUT an unknown campaign" 404 "$(http PUT /api/campaigns/999 "${auth[@]}" -d '{"campaign_name":"Ghost"}')"
assert_eq "PUT not JSON" 400 "$(http PUT /api/campaigns/102 "${auth[@]}" -d '{"campaign_name":')"
assert_eq "none of them changed anything" "$before" "$(list_csv)"
assert_eq "GET /api/campaigns before" "Night shift" "$(http GET '/api/campaigns?sort=campaign_id' >/dev/null; jget '[r["campaign_name"] for r in j["rows"] if r["campaign_id"] == 102][0]')"
assert_eq "PUT with the token" 200 "$(http PUT /api/campaigns/102 "${auth[@]}" -d '{"campaign_name":"Nights","budget":"3500.25"}')"
assert_eq "answers the campaign" "Nights 3500250000 month" "$(jget 'j["campaign_name"], j["budget_micros"], j["per"]' | tr -d "(),'")"
assert_eq "stored" '102,Nights,,,3500.250000,month' "$(list_csv | tr -d '\r' | sed -n 3p)"
assert_eq "GET /api/campaigns/102" 200 "$(http GET /api/campaigns/102)"
assert_eq "its budget" "3500.250000" "$(jget 'j["budget"]')"
assert_eq "GET /api/campaigns/108 (no attributes)" 404 "$(http GET /api/campaigns/108)"
http GET '/api/campaigns?sort=campaign_id' >/dev/null
assert_eq "/api/campaigns names it at once (the cache follows the PUT)" "Nights" "$(jget '[r["campaign_name"] for r in j["rows"] if r["campaign_id"] == 102][0]')"
http GET '/api/campaigns?sort=campaign_id&format=csv' >/dev/null
assert_grep "the CSV too" '^102,Nights,' "$WORK/http.body"
# GET /api/pacing answers what `jobads pacing --json` prints (checked above against the recompute)
now=2026-03-30T09:30:00Z
jobads pacing --json --now "$now" >pacing-cli.json
assert_eq "GET /api/pacing?now=" 200 "$(http GET "/api/pacing?now=$now")"
same() { # the same members; numbers that are not integers to 1e-12 (the API prints 15 digits)
    python3 -c '
import json, sys
def eq(x, y):
    if isinstance(x, float) or isinstance(y, float):
        return abs(x - y) <= 1e-12 * max(1, abs(x))
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(eq(x[k], y[k]) for k in x)
    if isinstance(x, list):
        return len(x) == len(y) and all(map(eq, x, y))
    return x == y
print("ok" if eq(json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))) else "differ")' "$1" "$2"
}
assert_eq "equals pacing --json" ok "$(same pacing-cli.json "$WORK/http.body")"
assert_eq "a bad now" 400 "$(http GET '/api/pacing?now=yesterday-ish')"
assert_eq "an unknown parameter" 400 "$(http GET '/api/pacing?campaign=1')"
# without now= the answer is kept for the second it was asked in: a PUT or an ETL
# run makes it new at once, within that second too
of102() { jget "[c[\"$1\"] for c in j[\"campaigns\"] if c[\"campaign_id\"] == 102][0]"; }
assert_eq "GET /api/pacing" 200 "$(http GET /api/pacing)"
spent0=$(of102 spent_micros || echo "none in: $(head -c 300 "$WORK/http.body")")
assert_eq "PUT a new budget" 200 "$(http PUT /api/campaigns/102 "${auth[@]}" -d '{"budget":"3600"}')"
http GET /api/pacing >/dev/null || fail "GET /api/pacing: no answer (curl $?)"
assert_eq "GET /api/pacing has the new budget at once" 3600000000 "$(of102 budget_micros)"
printf '{"ts": "%s", "publisher_id": 2, "publisher_name": "Pub", "job_id": 1, "campaign_id": 102, "industry": "IT", "location": "Berlin", "device": "mobile", "impressions": 10, "clicks": 1, "apply_count": 0, "cost": "12.5", "quality_score": 50}\n' \
    "$(date -u -d '-60 seconds' +%Y-%m-%dT%H:%M:%SZ)" >now.ndjson
assert_status "ingest an event of a minute ago" 0 jobads ingest --quiet now.ndjson
assert_status "etl" 0 jobads etl --quiet
http GET /api/pacing >/dev/null || fail "GET /api/pacing: no answer (curl $?)"
want=$spent0
[[ $spent0 =~ ^[0-9]+$ ]] && want=$((spent0 + 12500000))
assert_eq "and the ETL run's spend at once" "$want" "$(of102 spent_micros)"
assert_eq "PUT the budget back" 200 "$(http PUT /api/campaigns/102 "${auth[@]}" -d '{"budget":"3500.25"}')"
# an earlier second's answer is not asked for again: the cache keeps one pacing answer
cache_entries() { http GET /metrics >/dev/null || fail "GET /metrics: no answer"; sed -n 's/^jobads_query_cache_entries //p' "$WORK/http.body"; }
http GET /api/pacing >/dev/null || fail "GET /api/pacing: no answer (curl $?)"
entries=$(cache_entries)
for _ in 1 2 3; do sleep 1.1; http GET /api/pacing >/dev/null || fail "GET /api/pacing: no answer (curl $?)"; done
assert_eq "three seconds of /api/pacing keep one answer" "$entries" "$(cache_entries)"
# /metrics: a gauge per budgeted campaign, as pacing computes it now
jobads pacing --json >pacing-now.json
assert_eq "GET /metrics" 200 "$(http GET /metrics)"
assert_grep "the budget gauge" '^jobads_campaign_budget\{campaign_id="102"\} 3500\.250000$' "$WORK/http.body"
assert_grep "the state" '^jobads_campaign_pacing_state\{campaign_id="102",state="[a-z -]+"\} 1$' "$WORK/http.body"
assert_eq "a spend gauge per budgeted campaign" \
    "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["campaigns"]))' pacing-now.json)" \
    "$(grep -c '^jobads_campaign_spend{' "$WORK/http.body")"
serve_stop

# --- an older store (schema 4, or 5 from retention) is upgraded in place ---
for old in 4 5; do
    if [ "$AN_KIND" = mysql ]; then
        an_sql "DROP TABLE dim_campaign; UPDATE jobads_schema SET version = $((old - 2)) WHERE store = 'analytics'"
    else
        an_sql "DROP VIEW campaign_summary; DROP TABLE dim_campaign; PRAGMA user_version = $old"
    fi
    assert_status "report on a store of schema $old" 0 jobads report --json
    if [ "$AN_KIND" = mysql ]; then
        assert_eq "upgraded from $old" 4 "$(an_sql "SELECT version FROM jobads_schema WHERE store = 'analytics'")"
    else
        assert_eq "upgraded from $old" 6 "$(an_sql 'PRAGMA user_version')"
    fi
    assert_eq "with an empty dim_campaign" 0 "$(an_sql 'SELECT COUNT(*) FROM dim_campaign')"
    assert_status "and set works on it" 0 jobads campaign set 101 --name "Again $old"
    assert_eq "named in campaign_summary" "Again $old" "$(an_sql 'SELECT campaign_name FROM campaign_summary WHERE campaign_id = 101')"
done
assert_verify "at the end"

finish
