# A hostile client on loopback (hostile_client.py) against `jobads serve` with
# few workers: idle connections and byte-a-time headers beyond the worker
# count, trickled bodies, 8 MiB bodies declared and never sent, foreign origins
# and hosts, wrong content types, ambiguous Content-Length, huge values, a
# thousand campaigns and publishers in one chunk. /api/health must answer each
# probe within 1 s throughout, and the server must stop cleanly after.
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/serve_lib.sh"

THREADS=8
jobads generate --count 2000 --days 2 --seed 3 >/dev/null 2>&1
jobads etl --quiet
serve_start --threads $THREADS --admin-token hostile-admin
if timeout 90 python3 "$(dirname "$0")/hostile_client.py" "$BASE" hostile-admin $THREADS "$SERVE_PID" \
    >"$WORK/hostile.out" 2>&1; then ok; else
    fail "hostile client: $(grep -E '^FAIL|Error' "$WORK/hostile.out" | head -12)"
fi
grep -E '^probes:|passed' "$WORK/hostile.out" || tail -5 "$WORK/hostile.out"
assert_eq "the server is still up" 200 "$(http GET /api/health)"
serve_stop
finish
