#!/usr/bin/env bash
# Peak memory of `jobads serve` answering /api/campaigns over 40,000 campaigns:
# N clients at once, each with a different range (so that the answer cache does
# not serve them), and the same query N times (one computes, the rest wait for
# its cached answer). Prints the peak RSS (VmHWM) and the answer's size. With
# --peer BINARY the same runs for another build (e.g. an older jobads) beside it.
# Not a test: it prints figures (docs/performance.md).
#
#   bench/bench_serve_rss.sh [--clients N] [--peer BINARY] [--out DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
N=4
PEER=""
OUT=$top/bench/out-serve-rss
while [ $# -gt 0 ]; do
    case $1 in
    --clients) N=$2; shift 2 ;;
    --peer) PEER=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "bench_serve_rss: unknown option $1" >&2; exit 2 ;;
    esac
done
"$top/scripts/build.sh" "$top/build" >/dev/null
J=$top/build/jobads
rm -rf "$OUT"; mkdir -p "$OUT"; cd "$OUT"
export JOBADS_EVENTS=sqlite:$OUT/events.db JOBADS_ANALYTICS=sqlite:$OUT/analytics.db
python3 - >c40k.ndjson <<'PY'
import json, time
now = int(time.time() * 1000) - 3 * 3600 * 1000
for i in range(80000):
    print(json.dumps({"ts": now - (i % 48) * 3600000, "publisher_id": 1 + i % 50, "publisher_name": f"pub {i % 50}",
        "job_id": 1 + i % 7, "campaign_id": 1000 + i % 40000, "industry": ["IT", "Sales", "Retail"][i % 3],
        "location": "HCM", "device": ["mobile", "desktop"][i % 2], "impressions": 100 + i % 13, "clicks": i % 11,
        "apply_count": i % 3, "cost": f"{(i % 97) / 10:.2f}", "quality_score": 50 + i % 40}))
PY
"$J" ingest --quiet c40k.ndjson
"$J" etl --quiet

# run BINARY MODE: start it, N clients at once, print the peak
run() {
    local bin=$1 mode=$2 pid port q i pids=() size
    : >serve.out # emptied before the sed below reads it: no earlier server's port
    "$bin" serve --listen 127.0.0.1:0 >serve.out 2>serve.err &
    pid=$!
    for _ in $(seq 100); do
        port=$(sed -n 's|^serve: listening on http://[0-9.]*:\([0-9]*\)/.*|\1|p' serve.out)
        [ -n "$port" ] && break
        sleep 0.1
    done
    for i in $(seq 1 "$N"); do
        q=""; [ "$mode" = distinct ] && q="?from=now-$((100 + i))d"
        curl -s -o "answer.$i" "http://127.0.0.1:$port/api/campaigns$q" & pids+=($!)
    done
    wait "${pids[@]}"
    size=$(stat -c %s answer.1)
    printf '%-10s %-9s clients %3d: peak RSS %7d kB, answer %8d bytes\n' "$3" "$mode" "$N" \
        "$(awk '/VmHWM/ {print $2}' /proc/$pid/status)" "$size"
    kill "$pid"; wait "$pid" 2>/dev/null || true
}
for mode in distinct same; do
    run "$J" $mode this
    [ -n "$PEER" ] && run "$PEER" $mode peer
done
