# POST /api/events: 10,000 events in batches, then an ETL run over HTTP, counted
# exactly once; a retried batch adds nothing and is reported as duplicates, on
# every event store (a MySQL store finds them only at commit); bad records are
# reported one by one and the rest of their batch is kept; 413, 401, 400; the
# run lock's 409; the in-server schedule; tokens never reach the log. (A POST
# without a JSON or NDJSON Content-Type is a 415: t_serve_hostile.)
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/serve_lib.sh"

ITOK="ingest-$RANDOM-secret"
ATOK="admin-$RANDOM-secret"
jobads generate --count 10000 --days 3 --seed 11 --output all.ndjson 2>/dev/null
split -l 1000 -d all.ndjson batch.
JOBADS_INGEST_TOKEN=$ITOK serve_start --admin-token "$ATOK" --max-body 1M

# five batches as NDJSON, five as JSON arrays
acc=0
for f in batch.0*; do
    n=${f#batch.0}
    if [ $((n % 2)) -eq 0 ]; then
        body=$f
    else
        python3 -c 'import sys; print("[" + ",".join(l.strip() for l in open(sys.argv[1]) if l.strip()) + "]")' "$f" >"$f.json"
        body=$f.json
    fi
    st=$(http POST /api/events -H 'Content-Type: application/x-ndjson' -H "Authorization: Bearer $ITOK" --data-binary "@$body")
    assert_eq "batch $f accepted" 200 "$st"
    acc=$((acc + $(jget 'j["accepted"]')))
done
assert_eq "10,000 accepted over 10 batches" 10000 "$acc"
assert_eq "stored before the reply" 10000 "$(events_count)"

# a retried batch adds nothing, and says so
http POST /api/events -H 'Content-Type: application/x-ndjson' -H "Authorization: Bearer $ITOK" --data-binary @batch.03 >/dev/null
assert_eq "retry: accepted" 0 "$(jget 'j["accepted"]')"
assert_eq "retry: duplicates" 1000 "$(jget 'j["duplicate"]')"
assert_eq "retry stores nothing" 10000 "$(events_count)"
# one record re-sent: where the store finds it only at commit, the reply counts it there
sed -n 7p batch.03 >one-again.ndjson
assert_eq "one stored record again" 200 "$(http POST /api/events -H 'Content-Type: application/x-ndjson' -H "Authorization: Bearer $ITOK" --data-binary @one-again.ndjson)"
assert_eq "one again: accepted" 0 "$(jget 'j["accepted"]')"
assert_eq "one again: duplicate" 1 "$(jget 'j["duplicate"]')"

# before a run the API shows nothing yet (and keeps that answer until the data changes)
http GET /api/kpis >/dev/null
assert_eq "nothing aggregated yet" 0 "$(jget 'j["total"]["records"]')"
http GET /api/kpis >/dev/null
assert_eq "asked again: the same" 0 "$(jget 'j["total"]["records"]')"

# an ETL run over HTTP needs the admin token
assert_eq "runs without a token" 401 "$(http POST /api/runs)"
assert_eq "runs with the ingest token" 401 "$(http POST /api/runs -H "Authorization: Bearer $ITOK")"
assert_eq "run" 200 "$(http POST /api/runs -H "Authorization: Bearer $ATOK")"
assert_eq "the run read every event once" 10000 "$(jget 'j["events"]')"
assert_eq "the API counts each event once" 10000 "$(http GET /api/kpis >/dev/null; jget 'j["total"]["records"]')"
raw="$(ev_sql 'SELECT SUM(clicks) FROM tracking') $(ev_sql 'SELECT SUM(cost_micros) FROM tracking')"
assert_eq "clicks and cost equal the raw events" "$raw" "$(jget 'str(j["total"]["clicks"]) + " " + str(j["total"]["cost_micros"])')"
assert_verify "after HTTP ingest and run"
assert_eq "runs recorded with trigger api" "api" "$(an_sql 'SELECT `trigger` FROM etl_runs ORDER BY id DESC LIMIT 1')"

# a retry after the run still adds nothing
http POST /api/events -H 'Content-Type: application/x-ndjson' -H "Authorization: Bearer $ITOK" --data-binary @batch.07 >/dev/null
http POST /api/runs -H "Authorization: Bearer $ATOK" >/dev/null
assert_eq "second run reads nothing new" 0 "$(jget 'j["events"]')"
http GET /api/kpis >/dev/null
assert_eq "still 10,000 after retry + run" 10000 "$(jget 'j["total"]["records"]')"

# bad records are reported one by one; the good ones of the same batch are kept
python3 - "$WORK/bad.json" <<'PY'
import json, sys, uuid, datetime
now = datetime.datetime.now(datetime.timezone.utc)
def ev(**kw):
    e = {"event_id": str(uuid.uuid4()), "ts": (now - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "publisher_id": 2, "publisher_name": "Google Ads", "job_id": 1, "campaign_id": 101,
         "industry": "IT", "location": "HCM", "device": "mobile", "impressions": 100,
         "clicks": 5, "apply_count": 1, "cost": "12.5", "quality_score": 80}
    e.update(kw)
    return {k: v for k, v in e.items() if v is not None}
recs = [ev(), ev(clicks=-5), ev(), ev(industry=None), ev(ts="2001-13-01T00:00:00Z"), ev()]
open(sys.argv[1], "w").write(json.dumps(recs))
PY
before=$(events_count)
assert_eq "mixed batch" 200 "$(http POST /api/events -H 'Content-Type: application/x-ndjson' -H "Authorization: Bearer $ITOK" --data-binary @bad.json)"
assert_eq "mixed: accepted" 3 "$(jget 'j["accepted"]')"
assert_eq "mixed: rejected" 3 "$(jget 'j["rejected"]')"
assert_eq "mixed: indexes" "1 3 4" "$(jget '" ".join(str(e["index"]) for e in j["errors"])')"
assert_grep "names the field and reason" '"index":1,"reason":"clicks: must be >= 0' "$WORK/http.body"
assert_grep "names the missing field" '"index":3,"reason":"industry: ' "$WORK/http.body"
assert_eq "the good ones are stored" $((before + 3)) "$(events_count)"

# NDJSON reports lines too
printf '%s\nnot json\n\n%s\n' "$(sed -n 1p batch.05)" "$(sed -n 2p batch.05)" >mixed.ndjson
http POST /api/events -H 'Content-Type: application/x-ndjson' -H "Authorization: Bearer $ITOK" --data-binary @mixed.ndjson >/dev/null
assert_eq "ndjson: line of the bad record" "1 2" "$(jget '" ".join(str(e[k]) for e in j["errors"] for k in ("index", "line"))')"
assert_eq "ndjson: duplicates of stored events" 2 "$(jget 'j["duplicate"]')"

# limits and errors
head -c 1200000 /dev/zero | tr '\0' ' ' >big.txt
assert_eq "oversized body is 413" 413 "$(http POST /api/events -H 'Content-Type: application/x-ndjson' -H "Authorization: Bearer $ITOK" --data-binary @big.txt)"
assert_eq "oversized chunked body is 413" 413 "$(http POST /api/events -H 'Content-Type: application/x-ndjson' -H "Authorization: Bearer $ITOK" -H 'Transfer-Encoding: chunked' --data-binary @big.txt)"
assert_eq "no token is 401" 401 "$(http POST /api/events -H 'Content-Type: application/x-ndjson' --data-binary @batch.01)"
assert_eq "wrong token is 401" 401 "$(http POST /api/events -H 'Content-Type: application/x-ndjson' -H "Authorization: Bearer ${ITOK}x" --data-binary @batch.01)"
assert_eq "short token is 401" 401 "$(http POST /api/events -H 'Content-Type: application/x-ndjson' -H "Authorization: Bearer x" --data-binary @batch.01)"
# A client that sends its whole body before it reads (urllib, most collectors)
# still reads the refusal: closed with the body unread, the connection was reset
# under its send, a broken pipe in place of the 401. Small socket buffers make
# the server's close come while the client is still sending.
send_then_read() {
    python3 - "${BASE#http://}" "$1" "$2" <<'PY'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
body = open(sys.argv[3], "rb").read()
head = ("POST /api/events HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"
        "Content-Length: %d\r\n\r\n" % (sys.argv[1], sys.argv[2], len(body))).encode()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((host, int(port)))
try:
    s.sendall(head + body)
    print(s.makefile("rb").readline().decode().split(" ")[1])
except OSError as e:
    print(e)
PY
}
assert_eq "whole body sent first, then the 401" 401 "$(send_then_read application/x-ndjson batch.01)"
assert_eq "whole body sent first, then the 415" 415 "$(send_then_read text/plain batch.01)"
assert_eq "malformed JSON array is 400" 400 "$(http POST /api/events -H 'Content-Type: application/x-ndjson' -H "Authorization: Bearer $ITOK" --data-binary '[{"a":1},')"
assert_grep "400 says where" '"error":"malformed JSON array' "$WORK/http.body"
assert_eq "not JSON at all is 400" 400 "$(http POST /api/events -H 'Content-Type: application/x-ndjson' -H "Authorization: Bearer $ITOK" --data-binary 'hello')"
assert_eq "empty body is 400" 400 "$(http POST /api/events -H 'Content-Type: application/x-ndjson' -H "Authorization: Bearer $ITOK" --data-binary '')"
assert_eq "GET on /api/events is 405" 405 "$(http GET /api/events)"
assert_eq "nothing stored by the errors" $((before + 3)) "$(events_count)"

# a run lock held by another process's run: 409 naming it
an_sql "UPDATE etl_lock SET owner = 'elsewhere:42', acquired_ms = 1, expires_ms = 9999999999999 WHERE id = 1"
assert_eq "locked run is 409" 409 "$(http POST /api/runs -H "Authorization: Bearer $ATOK")"
assert_eq "409 names the holder" "elsewhere:42" "$(jget 'j["holder"]')"
an_sql "UPDATE etl_lock SET owner = '', acquired_ms = 0, expires_ms = 0 WHERE id = 1"

# metrics count what this server took in
http GET /metrics >/dev/null
assert_grep "ingested" "^jobads_events_ingested_total 10003$" "$WORK/http.body"
assert_grep "duplicates" "^jobads_events_duplicate_total 2003$" "$WORK/http.body"
assert_grep "rejected" "^jobads_events_rejected_total 4$" "$WORK/http.body"
assert_grep "runs by state" '^jobads_etl_runs_total\{trigger="api",state="success"\} 2$' "$WORK/http.body"
assert_grep "skipped run" '^jobads_etl_runs_total\{trigger="api",state="skipped"\} 1$' "$WORK/http.body"
# the stored events past the cursor (t_behind.sh); a Cassandra store cannot count them
assert_eq "three events wait for the ETL" 3 "$(ev_sql "SELECT COUNT(*) FROM tracking WHERE seq > $(cursor)")"
if [ "$EV_KIND" = cassandra ]; then
    assert_grep "events behind unknown" '^# jobads_events_behind: this event store cannot count' "$WORK/http.body"
else
    assert_grep "events behind" "^jobads_events_behind 3\$" "$WORK/http.body"
fi
assert_grep "cache hits counted" '^jobads_query_cache_total\{result="hit"\} [1-9]' "$WORK/http.body"
assert_grep "401s counted" '^jobads_http_requests_total\{route="/api/events",status="401"\} 4$' "$WORK/http.body"
serve_stop
if grep -qF -e "$ITOK" -e "$ATOK" "$WORK/serve.err" "$WORK/serve.out"; then fail "a token reached the log"; else ok; fi

# the in-server schedule picks up what was posted
serve_start --etl-every 1s
printf '%s\n' "$(sed -n 5p batch.05)" >one.ndjson
for i in $(seq 1 50); do
    [ "$(cursor)" = "$(newest_seq)" ] && break
    sleep 0.2
done
assert_eq "the schedule caught up" "$(newest_seq)" "$(cursor)"
assert_eq "recorded as schedule" schedule "$(an_sql 'SELECT `trigger` FROM etl_runs ORDER BY id DESC LIMIT 1')"
assert_eq "no token configured: open ingest" 200 "$(http POST /api/events -H 'Content-Type: application/x-ndjson' --data-binary @one.ndjson)"
serve_stop
assert_grep "the schedule stopped with the server" 'event=scheduler_stop reason=signal' "$WORK/serve.err"
assert_verify "after the in-server schedule"

# A Cassandra event store has no transactions: a batch that fails half way
# keeps the blocks it wrote, and the 503 must say so (it once said "nothing of
# this batch was stored"). The store's connection goes through a proxy that
# cuts it after 400 KB of the POST's requests: a few 256-row blocks.
if [ "$EV_KIND" = cassandra ] && [ -n "${CQLSRV_PID:-}" ]; then
    mkdir cut
    python3 "$(dirname "$0")/tcp_cut.py" "$(cat cqlsrv.port)" "$WORK/cut/port" "$WORK/cut" 2>cut/log &
    CUT_PID=$!
    for _ in $(seq 50); do [ -s cut/port ] && break; sleep 0.1; done
    direct=$(ev_url cut)
    assert_status "cut: init" 0 jobads init --events "$direct"
    jobads generate --count 2000 --days 1 --seed 12 --output cut.ndjson --quiet
    JOBADS_EVENTS="cassandra://127.0.0.1:$(cat cut/port)/$(cql_ks cut)?$CQL_PARAMS" serve_start
    http GET /api/health >/dev/null
    echo $(($(cat cut/count 2>/dev/null || echo 0) + 400000)) >cut/budget
    assert_eq "cut: the batch fails" 503 "$(http POST /api/events -H 'Content-Type: application/x-ndjson' --data-binary @cut.ndjson)"
    kept=$(sed -n 's/.*; \([0-9]*\) events of this batch were stored before the failure.*/\1/p' "$WORK/http.body")
    stored=$(ev_sql_at cut 'SELECT COUNT(*) FROM tracking')
    assert_eq "cut: the 503 says what was stored ($(cat "$WORK/http.body"))" 1 "$([ -n "$kept" ] && [ "$kept" -ge 256 ] && [ "$kept" -le "$stored" ] && echo 1)"
    assert_eq "cut: not all of it" 1 "$([ "$stored" -lt 2000 ] && echo 1)"
    serve_stop
    kill "$CUT_PID" 2>/dev/null
    wait "$CUT_PID" 2>/dev/null || true
    # sent again as it is: what was stored counts as duplicates, the rest is stored, once
    JOBADS_EVENTS=$direct serve_start
    assert_eq "cut: sent again" 200 "$(http POST /api/events -H 'Content-Type: application/x-ndjson' --data-binary @cut.ndjson)"
    assert_eq "cut: accepted and duplicates" "$((2000 - stored)) $stored" "$(jget 'str(j["accepted"]) + " " + str(j["duplicate"])')"
    assert_eq "cut: every event stored once" 2000 "$(ev_sql_at cut 'SELECT COUNT(*) FROM tracking')"
    serve_stop
fi
finish
