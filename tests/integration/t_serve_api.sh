# The JSON API against an independent SQL recompute over the raw events, for
# several time ranges and filters, and the grouped routes' pages; parameter
# errors; HEAD, 404, 405; /metrics; the dashboard's files; SIGTERM; Host and
# Origin with --allowed-host.
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/serve_lib.sh"

jobads generate --count 40000 --days 14 --seed 7 >/dev/null 2>&1
jobads etl --quiet
serve_start

if python3 "$(dirname "$0")/serve_check.py" "$BASE" "$WORK/events.db" "$(cursor)" >"$WORK/check.out"; then
    ok
else
    fail "API differs from the SQL recompute: $(grep FAIL "$WORK/check.out" | head -5)"
fi
tail -1 "$WORK/check.out"

# parameters: a bad one is a 400 that names it
for q in "from=yesterday" "to=2026-13-01T00:00:00Z" "campaign_id=abc" "campaign_id=0" \
         "publisher_id=-1" "device=" "bogus=1" "from=now&to=now-1d" "from=%zz" "from"; do
    assert_eq "GET /api/kpis?$q is 400" 400 "$(http GET "/api/kpis?$q")"
    name=${q%%=*}
    [ "$q" = "from=now&to=now-1d" ] && name=from
    [ "$q" = "from=%zz" ] && name=from
    assert_grep "400 for $q names $name" "\"error\":\"$name: .*\"status\":400" "$WORK/http.body"
done
assert_eq "interval=week is 400" 400 "$(http GET "/api/timeseries?interval=week")"
assert_grep "names interval" '"interval: want hour or day' "$WORK/http.body"
assert_eq "metric=foo is 400" 400 "$(http GET "/api/timeseries?metric=foo")"
assert_grep "names metric" '"metric: want one of' "$WORK/http.body"
assert_eq "interval on /api/kpis is unknown there" 400 "$(http GET "/api/kpis?interval=day")"
assert_eq "relative times work" 200 "$(http GET "/api/kpis?from=now-7d&to=now%2B1h")"
assert_eq "a bare date works" 200 "$(http GET "/api/kpis?from=2020-01-01")"
assert_eq "unknown route is 404" 404 "$(http GET /api/nothing)"
assert_grep "404 is JSON" '"status":404' "$WORK/http.body"
assert_eq "POST on a GET route is 405" 405 "$(http POST /api/kpis)"
assert_eq "HEAD works" 200 "$(curl -s -o /dev/null -w '%{http_code}' -I "$BASE/api/kpis")"
assert_eq "runs" 200 "$(http GET "/api/runs?limit=5")"
assert_eq "runs lists the etl run" "manual success" "$(jget 'j["runs"][0]["trigger"] + " " + j["runs"][0]["state"]')"
assert_eq "health" 200 "$(http GET /api/health)"
assert_eq "health: nothing behind" 0 "$(jget 'j["events_behind"]')"
assert_eq "POST /api/runs is off without an admin token" 403 "$(http POST /api/runs)"

# the dashboard and its files are served from the binary
assert_eq "dashboard" 200 "$(http GET /)"
assert_grep "dashboard page" '<title>Job Ads Analytics</title>' "$WORK/http.body"
assert_eq "app.js" 200 "$(http GET /assets/app.js)"
size=$(stat -c %s "$WORK/http.body")
assert_eq "the page's own script is under 100 KB ($size bytes)" 1 "$((size < 102400))"
assert_eq "echarts" 200 "$(http GET /assets/echarts.min.js)"
assert_grep "echarts is the real library" 'echarts' "$WORK/http.body"
assert_eq "missing asset" 404 "$(http GET /assets/nope.js)"

# /metrics in the Prometheus text format
assert_eq "metrics" 200 "$(http GET /metrics)"
assert_grep "requests by route and status" '^jobads_http_requests_total\{route="/api/kpis",status="400"\} [0-9]+$' "$WORK/http.body"
assert_grep "events behind" '^jobads_events_behind 0$' "$WORK/http.body"
assert_grep "last run" '^jobads_etl_last_run_info\{id="1",trigger="manual",state="success"\} 1$' "$WORK/http.body"
assert_grep "TYPE lines" '^# TYPE jobads_events_ingested_total counter$' "$WORK/http.body"

# a second server on the same port fails with a clear error
port=${BASE##*:}
assert_status "port in use" 1 jobads serve --listen "127.0.0.1:$port"
assert_grep "says why" "cannot listen on 127.0.0.1:$port: .*Address already in use" "$WORK/last.err"
assert_status "listen without a port" 2 jobads serve --listen 8080
assert_status "serve --help" 0 jobads serve --help
assert_grep "help names the routes" 'POST /api/events' "$WORK/last.out"
assert_status "bad --max-body" 2 jobads serve --max-body lots
assert_grep "names the option" 'serve: --max-body: want bytes' "$WORK/last.err"
assert_status "demo --listen needs a port" 2 jobads demo --listen 8080

assert_status "bad --header-timeout" 2 jobads serve --header-timeout 10ms
assert_grep "names the option" 'serve: --header-timeout: want a duration' "$WORK/last.err"
assert_status "bad --allowed-host" 2 jobads serve --allowed-host 'http://x/'
assert_eq "a foreign Host is 421" 421 "$(http GET /api/kpis -H 'Host: dash.example.com')"
assert_grep "421 says how to allow it" '"error":"Host: .dash.example.com. is not a name of this server .*--allowed-host' "$WORK/http.body"

serve_stop
assert_grep "stopped cleanly" '^serve: stopped$' "$WORK/serve.err"

# behind a proxy: its public name allowed, in Host and in a browser's Origin
serve_start --allowed-host dash.example.com --allowed-host other.example
assert_eq "an allowed Host" 200 "$(http GET /api/kpis -H 'Host: dash.example.com')"
assert_eq "the second allowed Host" 200 "$(http GET /api/kpis -H 'Host: other.example:443')"
assert_eq "an allowed Origin with the proxy's Host" 200 "$(http GET /api/kpis -H 'Origin: https://dash.example.com')"
assert_eq "still no other name" 421 "$(http GET /api/kpis -H 'Host: evil.example')"
assert_eq "nor another origin" 403 "$(http GET /api/kpis -H 'Origin: https://evil.example')"
serve_stop
finish
