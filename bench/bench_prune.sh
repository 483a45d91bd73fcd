#!/usr/bin/env bash
# Ingest while a prune runs (issue 16's goal: at least 0.5 of ingest's rate
# without it). A store of --events events over 60 days is run through the ETL;
# then, twice: --ingest events ingested alone, and the same number again while
# `jobads prune` deletes the older ones. Not a test: it prints figures.
#
#   bench/bench_prune.sh [--events N] [--ingest N] [--events-url URL] [--out DIR]
#
#   --events N      the store's events (default 2000000)
#   --ingest N      events per timed ingest (default 300000)
#   --events-url U  the event store (default a SQLite file in DIR), e.g. mysql://...
#                   of a database not used before (it is not emptied)
#   --out DIR       work directory (default bench/out-prune); emptied first
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
N=2000000
M=300000
OUT=$top/bench/out-prune
EV=
while [ $# -gt 0 ]; do
    case $1 in
    --events) N=$2; shift 2 ;;
    --ingest) M=$2; shift 2 ;;
    --events-url) EV=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "bench_prune: unknown option $1" >&2; exit 2 ;;
    esac
done
J=${JOBADS:-$top/build/jobads}
rm -rf "$OUT"
mkdir -p "$OUT"
cd "$OUT"
export JOBADS_EVENTS=${EV:-sqlite:$OUT/events.db} JOBADS_ANALYTICS=sqlite:$OUT/analytics.db
"$J" init >/dev/null
"$J" generate --count "$N" --days 60 --seed 1 --quiet
"$J" etl --quiet
for k in 1 2 3 4; do "$J" generate --count "$M" --seed $((k + 1)) --output "i$k.ndjson" >/dev/null 2>&1; done
rate() { # rate FILE: events/s of one ingest
    local t0 t1
    t0=$(date +%s.%N)
    "$J" ingest --quiet "$1" >/dev/null 2>&1
    t1=$(date +%s.%N)
    echo "$M / ($t1 - $t0)" | bc
}
for round in "1 2 45d" "3 4 20d"; do
    set -- $round
    alone=$(rate "i$1.ndjson")
    "$J" prune --raw-older-than "$3" >prune.out 2>&1 &
    p=$!
    sleep 0.3
    during=$(rate "i$2.ndjson")
    wait $p
    echo "alone $alone events/s, during prune $during events/s ($(echo "scale=2; $during / $alone" | bc)); $(cut -d';' -f1 prune.out)"
done
