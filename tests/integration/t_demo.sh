# `jobads demo`, the README's first command: from a script it runs the whole
# pipeline into ./data and exits; on a terminal it goes on to serve the
# dashboard; --no-serve exits even there. The defaults (./data), not lib.sh's URLs.
source "$(dirname "$0")/lib.sh" "$@"
unset JOBADS_EVENTS JOBADS_ANALYTICS

assert_status "demo from a script" 0 jobads demo --count 5000 --days 3 --seed 1
assert_grep "says where the stores are" '^== jobads demo: events in data/events.db, aggregates in data/analytics.db' "$WORK/last.out"
assert_grep "generates" '^generate: 5000 events stored, 0 duplicates' "$WORK/last.out"
assert_grep "runs the ETL" '^etl: 5,000 events, ' "$WORK/last.out"
assert_grep "verifies" '^verify: ok: ' "$WORK/last.out"
assert_grep "prints the report" '^Campaigns' "$WORK/last.out"
assert_eq "the stores are in ./data" "5000 5000" \
    "$(sq data/events.db 'SELECT COUNT(*) FROM tracking') $(sq data/analytics.db 'SELECT SUM(records) FROM fact_hourly')"
assert_status "a second demo adds a batch" 0 jobads demo --count 1000 --days 1 --seed 2
assert_eq "to the same stores, counted once" "6000 6000" \
    "$(sq data/events.db 'SELECT COUNT(*) FROM tracking') $(sq data/analytics.db 'SELECT SUM(records) FROM fact_hourly')"

# on a terminal (script(1) gives it one) with --no-serve: exits after the report
assert_status "demo --no-serve on a terminal" 0 \
    timeout 60 script -qefc "$JOBADS demo --no-serve --count 1000 --days 1 --seed 3" /dev/null
assert_grep "ran the pipeline" 'verify: ok' "$WORK/last.out"

# on a terminal without flags: after the report it serves (on the default
# 127.0.0.1:8080, or says why it cannot), until stopped
script -qefc "$JOBADS demo --count 1000 --days 1 --seed 4" /dev/null >"$WORK/tty.out" 2>&1 &
pid=$!
i=0
until grep -qE 'http://127\.0\.0\.1:8080|cannot listen on 127\.0\.0\.1:8080' "$WORK/tty.out" || [ $i -gt 600 ]; do
    sleep 0.1
    i=$((i + 1))
done
assert_grep "on a terminal it goes on to serve" 'http://127\.0\.0\.1:8080|cannot listen on 127\.0\.0\.1:8080' "$WORK/tty.out"
pkill -TERM -f "jobads demo --count 1000 --days 1 --seed 4" 2>/dev/null || true
wait $pid 2>/dev/null || true
finish
