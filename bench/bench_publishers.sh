#!/usr/bin/env bash
# The ETL with many distinct publishers in one chunk, against the same number
# of events with ten publishers (the peer, measured in the same run). Not a
# test: it prints figures; docs/performance.md keeps them. `jobads generate`
# makes ten publishers only, so the records are written here.
#
#   bench/bench_publishers.sh [--out DIR] [--mysql]
#
#   --out DIR    work directory (default bench/out-publishers); emptied first
#   --mysql      also into a MySQL analytics store, on a private MariaDB server
#                started in OUT/server (stopped at the end)
#
# Each data set is one chunk (the default 100,000): 40,000 events with ten
# publishers, 40,000 and 80,000 events with a publisher each. A run linear in
# the publishers makes 80k cost about twice 40k; the ETL was quadratic before
# issue 12 (agg_note_publisher searched a list).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
OUT=$top/bench/out-publishers
MYSQL=0
while [ $# -gt 0 ]; do
    case $1 in
    --out) OUT=$2; shift 2 ;;
    --mysql) MYSQL=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "bench: unknown option $1" >&2; exit 2 ;;
    esac
done
"$top/scripts/build.sh" "$top/build"
J=$top/build/jobads
[ -d "$OUT/server" ] && "$top/scripts/mariadb.sh" stop "$OUT/server"
rm -rf "$OUT"; mkdir -p "$OUT"; cd "$OUT"
source "$top/bench/lib.sh"

# records N PUBLISHERS: N events over the last day, publisher i % PUBLISHERS + 1
records() {
    awk -v n="$1" -v p="$2" -v now="$(date +%s)" 'BEGIN {
        for (i = 0; i < n; i++)
            printf "{\"event_id\":\"00000000-0000-4000-8000-%012d\",\"ts\":%d,\"publisher_id\":%d,\"publisher_name\":\"Pub %d\",\"publisher_traffic\":\"MED\",\"publisher_quality\":\"HIGH\",\"job_id\":1,\"campaign_id\":100,\"industry\":\"Tech\",\"location\":\"HCM\",\"impressions\":10,\"clicks\":1,\"apply_count\":0,\"cost\":\"1\",\"quality_score\":50,\"device\":\"desktop\"}\n", \
                i, (now - 86400 + i % 86400) * 1000, i % p + 1, i % p
    }'
}
sets=("40000 10" "40000 40000" "80000 80000")
for s in "${sets[@]}"; do
    read -r n p <<<"$s"
    records "$n" "$p" >"ev_${n}_$p.ndjson"
    "$J" ingest --quiet --events "sqlite:ev_${n}_$p.db" "ev_${n}_$p.ndjson" >/dev/null 2>&1
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== ETL, one chunk (best of 3)"
declare -A t
for s in "${sets[@]}"; do
    read -r n p <<<"$s"
    PREP='rm -f an.db an.db-wal an.db-shm' t[$n.$p]=$(best3 "$J" etl --quiet \
        --events "sqlite:ev_${n}_$p.db" --analytics sqlite:an.db)
    echo "sqlite -> sqlite  $n events, $p publishers: ${t[$n.$p]} s"
done
echo "40k publishers vs ten: $(ratio "${t[40000.40000]}" "${t[40000.10]}")x;" \
    "80k vs 40k publishers: $(ratio "${t[80000.80000]}" "${t[40000.40000]}")x (linear: 2)"

if [ $MYSQL = 1 ]; then
    "$top/scripts/mariadb.sh" start "$OUT/server"
    trap '"$top/scripts/mariadb.sh" stop "$OUT/server"' EXIT
    eval "$("$top/scripts/mariadb.sh" env "$OUT/server")"
    my() { mariadb --no-defaults -S "$JOBADS_TEST_MYSQL_SOCKET" -uroot "$@"; }
    AN=$JOBADS_TEST_MYSQL_URL/bench_pub_an
    for s in "${sets[@]}"; do
        read -r n p <<<"$s"
        PREP="my -e 'DROP DATABASE IF EXISTS bench_pub_an; CREATE DATABASE bench_pub_an';
              \"$J\" init --events sqlite:ev_${n}_$p.db --analytics $AN >/dev/null" \
            t[m$n.$p]=$(best3 "$J" etl --quiet --events "sqlite:ev_${n}_$p.db" --analytics "$AN")
        echo "sqlite -> mysql   $n events, $p publishers: ${t[m$n.$p]} s"
    done
    echo "80k vs 40k publishers: $(ratio "${t[m80000.80000]}" "${t[m40000.40000]}")x (linear: 2)"
fi
