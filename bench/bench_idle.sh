#!/usr/bin/env bash
# The cost of an idle scheduler: CPU share of one core and RSS of a
# `jobads schedule` process between runs, measured over a minute, beside a peer
# measured the same way in the same run: a `sleep` process (the floor: what
# doing nothing at all costs). Not a test: it prints figures; the goal is
# under 1% of a core and under 20 MB RSS (issue 4).
#
#   bench/bench_idle.sh [--secs S] [--out DIR]
#
#   --secs S    how long to watch (default 60)
#   --out DIR   work directory (default bench/out-idle); emptied first
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
SECS=60
OUT=$top/bench/out-idle
while [ $# -gt 0 ]; do
    case $1 in
    --secs) SECS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "bench_idle: unknown option $1" >&2; exit 2 ;;
    esac
done
"$top/scripts/build.sh" "$top/build" >/dev/null
J=$top/build/jobads
rm -rf "$OUT"; mkdir -p "$OUT"; cd "$OUT"
export JOBADS_EVENTS=sqlite:$OUT/events.db JOBADS_ANALYTICS=sqlite:$OUT/analytics.db
"$J" generate --count 100000 --days 7 --seed 1 --quiet
TCK=$(getconf CLK_TCK)

# cpu_ticks PID: utime + stime of the process so far
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# watch PID: CPU % of one core and RSS over SECS, after it went idle
watch() {
    local pid=$1 t0 t1 c0 c1
    c0=$(cpu_ticks "$pid"); t0=$(date +%s.%N)
    sleep "$SECS"
    c1=$(cpu_ticks "$pid"); t1=$(date +%s.%N)
    echo "$(echo "($c1 - $c0) / $TCK / ($t1 - $t0) * 100" | bc -l) $(rss_kb "$pid") $(hwm_kb "$pid")"
}

# the scheduler: one run of the 100,000-event backlog at start, then idle
# until the next slot an hour away (and a cron one, which wakes every minute)
"$J" schedule --every 1h --log-file "$OUT/every.log" &
s1=$!
"$J" schedule --cron '0 0 1 1 *' --log-file "$OUT/cron.log" &
s2=$!
sleep $((SECS + 10)) &
peer=$!
sleep 2 # the first run is over
grep -q 'event=run_end' "$OUT/every.log" || { echo "bench_idle: the first run did not end" >&2; exit 1; }
watch $s1 >"$OUT/s1" &
w1=$!
watch $s2 >"$OUT/s2" &
w2=$!
watch $peer >"$OUT/peer"
wait $w1 $w2
kill -TERM $s1 $s2 $peer 2>/dev/null || true
wait $s1 $s2 2>/dev/null || true

printf '%-34s %8s %10s %10s\n' "idle over ${SECS}s" "cpu %" "rss MB" "peak MB*"
for f in s1:"jobads schedule --every 1h" s2:"jobads schedule --cron (yearly)" peer:"peer: sleep"; do
    read -r cpu rss hwm <"$OUT/${f%%:*}"
    printf '%-34s %8.3f %10.1f %10.1f\n' "${f#*:}" "$cpu" "$(echo "$rss / 1024" | bc -l)" "$(echo "$hwm / 1024" | bc -l)"
done
echo "goal: cpu < 1% of a core, rss < 20 MB (*peak includes the first run, of 100,000 events)"
