#!/usr/bin/env bash
# Ingest while a prune runs (issue 16's goal: at least 0.5 of ingest's rate
# without it). A store of --events events over 60 days is run through the ETL;
# then, per cutoff: --ingest events ingested alone, and as many again while
# `jobads prune` deletes the events older than the cutoff. The ingest during the
# prune is timed whole, so it should end before the prune does (the script says
# when it did not). Not a test: it prints figures.
#
#   bench/bench_prune.sh [--events N] [--ingest N] [--older-than "D ..."] [--events-url URL] [--out DIR]
#
#   --events N      the store's events (default 2000000)
#   --ingest N      events per timed ingest (default 300000)
#   --older-than L  the cutoffs, one prune each, in order (default "45d 20d"; "30d"
#                   prunes half the store)
#   --events-url U  the event store (default a SQLite file in DIR), e.g. mysql://...
#                   of a database not used before (it is not emptied)
#   --out DIR       work directory (default bench/out-prune); emptied first
#
# Issue 16's size: bench/bench_prune.sh --events 20000000 --ingest 3000000 --older-than 30d
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
N=2000000
M=300000
CUTS="45d 20d"
OUT=$top/bench/out-prune
EV=
while [ $# -gt 0 ]; do
    case $1 in
    --events) N=$2; shift 2 ;;
    --ingest) M=$2; shift 2 ;;
    --older-than) CUTS=$2; shift 2 ;;
    --events-url) EV=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "bench_prune: unknown option $1" >&2; exit 2 ;;
    esac
done
J=${JOBADS:-$top/build/jobads}
rm -rf "$OUT"
mkdir -p "$OUT"
cd "$OUT"
export JOBADS_EVENTS=${EV:-sqlite:$OUT/events.db} JOBADS_ANALYTICS=sqlite:$OUT/analytics.db
"$J" init >/dev/null
t0=$(date +%s)
"$J" generate --count "$N" --days 60 --seed 1 --quiet
"$J" etl --quiet
echo "store: $N events over 60 days, through the ETL in $(( $(date +%s) - t0 ))s"
rate() { # rate FILE: events/s of one ingest
    local t0 t1
    t0=$(date +%s.%N)
    "$J" ingest --quiet "$1" >/dev/null 2>&1
    t1=$(date +%s.%N)
    echo "$M / ($t1 - $t0)" | bc
}
k=0
for cut in $CUTS; do
    k=$((k + 2))
    "$J" generate --count "$M" --seed "$k" --output "a$k.ndjson" >/dev/null 2>&1
    "$J" generate --count "$M" --seed "$((k + 1))" --output "b$k.ndjson" >/dev/null 2>&1
    alone=$(rate "a$k.ndjson")
    t0=$(date +%s.%N)
    "$J" prune --raw-older-than "$cut" >prune.out 2>&1 &
    p=$!
    sleep 0.3
    during=$(rate "b$k.ndjson")
    running=yes
    kill -0 $p 2>/dev/null || running="no: the prune ended first, so part of the ingest ran alone"
    wait $p
    t=$(echo "$(date +%s.%N) - $t0" | bc)
    rm -f "a$k.ndjson" "b$k.ndjson"
    echo "older than $cut: alone $alone events/s, during prune $during events/s ($(echo "scale=2; $during / $alone" | bc)); prune $(printf "%.1f" "$t")s: $(cut -d';' -f1 prune.out); still pruning when the ingest ended: $running"
done
