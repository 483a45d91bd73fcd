#!/usr/bin/env bash
# History out of time order (issue 13): the job a user migrating from the original
# stack runs, measured for jobads and its peers in one run, on the same files:
#
#   1. ingest of a first batch (NDJSON, the original's columns) into an empty store
#   2. one ETL run over it (the hourly fact grain)
#   3. a run with nothing new
#   4. a second batch of the same shape, ingested and processed over that history
#
# with each engine's peak RSS, on shuffled input (ts random in file order) and on the
# same events sorted by ts. Not a test: it prints figures and ratios, which
# docs/performance.md keeps with the command. Before any ratio it checks that every
# engine computed the same fact rows (row count and the sum of every measure) after
# each batch; a mismatch is printed and the script exits 1.
#
#   bench/bench_history.sh [--events N] [--second M] [--out DIR] [--engines LIST]
#                          [--order shuffled|sorted|both] [--seed S] [--big M] [--quick]
#
#   --events N     events in the first batch (default 1000000)
#   --second M     events in the second batch (default 100000)
#   --out DIR      work directory (default bench/out/history); emptied first
#   --engines L    comma-separated subset of jobads,sqlite3,duckdb,clickhouse (default all)
#   --order O      shuffled, sorted or both (default both)
#   --seed S       seed of the first batch; the second uses S+1 (default 1)
#   --big M        also ingest the shuffled first batch into a jobads store already holding
#                  M shuffled events (filled 1 M at a time), against the empty store's rate
#                  (default 0: skipped; issue 13 asks about 10000000)
#   --quick        a smoke run: --events 20000 --second 2000
#
# Engines, each from a fresh folder under DIR, each step one whole process:
#   jobads      ingest --quiet, then etl --quiet, on sqlite: files (events and analytics)
#   sqlite3     the sqlite3 shell in SQL only: .import of the lines, INSERT ... SELECT
#               json ->> into a table of jobads' columns (no index); the ETL is one
#               INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE (an upsert of
#               each group's deltas) and a cursor on rowid, in one transaction
#   duckdb      @duckdb/node-api (bench/peers/duckdb, npm ci into build/peers/duckdb):
#               read_json into raw, the same GROUP BY upserted (ON CONFLICT) into a
#               fact table with a primary key; bench/peers/duckdb/peer.js
#   clickhouse  Debian's clickhouse-server/-client (scripts/clickhouse.sh: apt-get
#               download, dpkg -x under build/peers/clickhouse, never installed), a
#               private server on 127.0.0.1: INSERT FORMAT JSONEachRow into a MergeTree
#               raw table, the ETL an INSERT ... SELECT ... GROUP BY into a
#               SummingMergeTree (summed again at read by the check, since merges are
#               asynchronous)
# Peak RSS: GNU time's maximum over an engine's processes; for ClickHouse the server's
# VmHWM (/proc/PID/status; a fresh server per order), its client's printed beside.
# Timed steps run under the shared CPU lock ($JOBADS_CPU_LOCK, default
# /tmp/jobads-cpu.lock; empty for none), taken per engine and order.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
N=1000000
N2=100000
OUT=$top/bench/out/history
ENGINES=jobads,sqlite3,duckdb,clickhouse
ORDER=both
SEED=1
BIG=0
while [ $# -gt 0 ]; do
    case $1 in
    --events) N=$2; shift 2 ;;
    --second) N2=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --engines) ENGINES=$2; shift 2 ;;
    --order) ORDER=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --big) BIG=$2; shift 2 ;;
    --quick) N=20000; N2=2000; shift ;;
    -h|--help) sed -n '2,48p' "$0"; exit 0 ;;
    *) echo "bench_history: unknown option $1" >&2; exit 2 ;;
    esac
done
case $ORDER in
shuffled) ORDERS=(shuffled) ;;
sorted) ORDERS=(sorted) ;;
both) ORDERS=(shuffled sorted) ;;
*) echo "bench_history: --order must be shuffled, sorted or both, not '$ORDER'" >&2; exit 2 ;;
esac
IFS=, read -r -a ENG <<<"$ENGINES"
for e in "${ENG[@]}"; do
    case $e in
    jobads|sqlite3|duckdb|clickhouse) ;;
    *) echo "bench_history: unknown engine '$e' (jobads, sqlite3, duckdb, clickhouse)" >&2; exit 2 ;;
    esac
done
has() { [[ ",$ENGINES," == *",$1,"* ]]; }
source "$top/bench/lib.sh"
LOCK=${JOBADS_CPU_LOCK-/tmp/jobads-cpu.lock}
lock() { [ -z "$LOCK" ] || { exec 9>>"$LOCK"; flock 9; }; }
unlock() { [ -z "$LOCK" ] || { flock -u 9; exec 9>&-; }; }
say() { printf '%s\n' "$*"; }
mib() { printf '%.0f' "$(echo "$1 / 1024" | bc -l)"; }
die() { echo "bench_history: $*" >&2; exit 1; }

lock
"$top/scripts/build.sh" "$top/build"
unlock
J=$top/build/jobads
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -rf "${OUT:?}"/*
cd "$OUT"
CH=$top/scripts/clickhouse.sh
CHDIRS=()
cleanup() {
    local d
    for d in "${CHDIRS[@]}"; do "$CH" stop "$d" || true; done
}
trap cleanup EXIT

# ---- the peers' software: fetched before anything is timed; a refusal stops the run
DUCK=$top/build/peers/duckdb
if has duckdb; then
    command -v node >/dev/null || die "node not found: the DuckDB peer needs Node.js and npm"
    if ! cmp -s "$top/bench/peers/duckdb/package-lock.json" "$DUCK/package-lock.json" ||
        [ ! -d "$DUCK/node_modules/@duckdb/node-api" ]; then
        mkdir -p "$DUCK"
        cp "$top/bench/peers/duckdb/package.json" "$top/bench/peers/duckdb/package-lock.json" "$DUCK/"
        say "setup: npm ci --prefix ${DUCK#"$top"/} (@duckdb/node-api, pinned by bench/peers/duckdb/package-lock.json)"
        npm ci --prefix "$DUCK" --no-audit --no-fund --loglevel=error >"$OUT/npm.log" 2>&1 || {
            cat "$OUT/npm.log" >&2
            die "npm ci of bench/peers/duckdb refused (see above); the DuckDB peer cannot run"
        }
    fi
fi
if has clickhouse; then
    "$CH" fetch || die "the ClickHouse packages could not be fetched or unpacked (see above)"
fi

v_sqlite=$(sqlite3 --version | cut -d' ' -f1)
say "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(($(grep MemTotal /proc/meminfo | awk '{print $2}') / 1048576)) GiB"
say "jobads $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?'), sqlite3 shell $v_sqlite$(has duckdb && echo ", DuckDB $(node "$top/bench/peers/duckdb/peer.js" "$DUCK" :memory: version) (@duckdb/node-api $(node -p "require('$DUCK/node_modules/@duckdb/node-api/package.json').version"), node $(node --version))")$(has clickhouse && echo ", ClickHouse $("$CH" version) (Debian)")"
say "data: $N + $N2 events over 30 days, seeds $SEED and $((SEED + 1)), orders: ${ORDERS[*]}"

# ---- the data: the shuffled kind from jobads generate, the same events sorted by ts
say "generating and sorting the data"
lock
t0=$(now)
"$J" generate --count "$N" --days 30 --shuffle --seed "$SEED" --output b1.shuffled.ndjson --quiet
"$J" generate --count "$N2" --days 30 --shuffle --seed "$((SEED + 1))" --output b2.shuffled.ndjson --quiet
for b in b1 b2; do
    # ts is the 4th quoted string of every line ({"event_id":"...","ts":"..."}), in a
    # fixed-width ISO form, so its bytes sort in time order; checked, not assumed
    bad=$(awk -F'"' '$6 != "ts" || length($8) != 24 { n++ } END { print n + 0 }' "$b.shuffled.ndjson")
    [ "$bad" = 0 ] || die "$b.shuffled.ndjson: $bad lines whose ts is not the 4th string in fixed width; cannot sort by it"
    LC_ALL=C sort -t'"' -k8,8 -s -S 1G "$b.shuffled.ndjson" >"$b.sorted.ndjson"
    cut -d'"' -f8 "$b.sorted.ndjson" | LC_ALL=C sort -c || die "$b.sorted.ndjson is not in ts order"
    [ "$(wc -l <"$b.sorted.ndjson")" = "$(wc -l <"$b.shuffled.ndjson")" ] || die "sorting $b lost lines"
done
unlock
say "(generated and sorted in $(printf '%.1f' "$(echo "$(now) - $t0" | bc -l)") s; first batch $(($(stat -c %s b1.shuffled.ndjson) / 1048576)) MiB)"

# ---- the engines' steps: $1 = step (ingest FILE BATCH | etl | check), in the cwd
SQLITE_COLS="event_id TEXT, ts INTEGER, publisher_id INTEGER, publisher_name TEXT, publisher_traffic TEXT, publisher_quality TEXT, bid INTEGER, job_id INTEGER, campaign_id INTEGER, industry TEXT, location TEXT, impressions INTEGER, clicks INTEGER, apply_count INTEGER, cost_micros INTEGER, quality_score INTEGER, device TEXT, hour INTEGER, day_of_week INTEGER"
sqlite3_ingest_sql() { # the NDJSON lines as one-column rows, then parsed by SQLite's JSON
    cat <<SQL
CREATE TABLE IF NOT EXISTS tracking ($SQLITE_COLS);
BEGIN;
CREATE TEMP TABLE lines (j TEXT);
.mode ascii
.separator "\\037" "\\n"
.import '$1' lines
INSERT INTO tracking SELECT j->>'event_id', unixepoch(substr(j->>'ts', 1, 19)) * 1000 + CAST(substr(j->>'ts', 21, 3) AS INTEGER), j->>'publisher_id', j->>'publisher_name', j->>'publisher_traffic', j->>'publisher_quality', j->>'bid', j->>'job_id', j->>'campaign_id', j->>'industry', j->>'location', j->>'impressions', j->>'clicks', j->>'apply_count', CAST(round((j->>'cost') * 1000000) AS INTEGER), j->>'quality_score', j->>'device', j->>'hour', j->>'day_of_week' FROM temp.lines;
COMMIT;
SQL
}
# bench/bench.sh's GROUP BY peer, as an upsert of each group's deltas, the cursor moved
# in the same transaction
SQLITE_ETL="ATTACH 'an.db' AS an;
CREATE TABLE IF NOT EXISTS an.fact_hourly (hour_start INTEGER NOT NULL, campaign_id INTEGER NOT NULL, publisher_id INTEGER NOT NULL, industry TEXT NOT NULL, location TEXT NOT NULL, device TEXT NOT NULL, records INTEGER NOT NULL, impressions INTEGER NOT NULL, clicks INTEGER NOT NULL, applies INTEGER NOT NULL, cost_micros INTEGER NOT NULL, quality_sum INTEGER NOT NULL, ctr_sum REAL NOT NULL, cpc_sum REAL NOT NULL, cpa_sum REAL NOT NULL, roi_sum REAL NOT NULL, PRIMARY KEY (hour_start, campaign_id, publisher_id, industry, location, device)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS an.etl_state (id INTEGER PRIMARY KEY CHECK (id = 1), cursor INTEGER NOT NULL);
INSERT OR IGNORE INTO an.etl_state VALUES (1, 0);
BEGIN;
CREATE TEMP TABLE upto AS SELECT coalesce(max(rowid), 0) AS seq FROM tracking;
INSERT INTO an.fact_hourly SELECT (ts / 3600000) * 3600, campaign_id, publisher_id, industry, location, device, COUNT(*), SUM(impressions), SUM(clicks), SUM(apply_count), SUM(cost_micros), SUM(quality_score), TOTAL(CASE WHEN impressions > 0 THEN clicks * 1.0 / impressions ELSE 0 END), TOTAL(CASE WHEN clicks > 0 THEN cost_micros / 1000000.0 / clicks ELSE 0 END), TOTAL(CASE WHEN apply_count > 0 THEN cost_micros / 1000000.0 / apply_count ELSE 0 END), TOTAL(CASE WHEN cost_micros > 0 THEN apply_count / (cost_micros / 1000000.0) ELSE 0 END) FROM tracking WHERE rowid > (SELECT cursor FROM an.etl_state WHERE id = 1) AND rowid <= (SELECT seq FROM temp.upto) GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT DO UPDATE SET records = records + excluded.records, impressions = impressions + excluded.impressions, clicks = clicks + excluded.clicks, applies = applies + excluded.applies, cost_micros = cost_micros + excluded.cost_micros, quality_sum = quality_sum + excluded.quality_sum, ctr_sum = ctr_sum + excluded.ctr_sum, cpc_sum = cpc_sum + excluded.cpc_sum, cpa_sum = cpa_sum + excluded.cpa_sum, roi_sum = roi_sum + excluded.roi_sum;
UPDATE an.etl_state SET cursor = (SELECT seq FROM temp.upto) WHERE id = 1;
COMMIT;"
FACT_CHECK="SELECT count(*), sum(records), sum(impressions), sum(clicks), sum(applies), sum(cost_micros) FROM fact_hourly"

ch() { "$CH" client "$CHDIR" "$@"; }
CH_SCHEMA="CREATE TABLE raw (event_id String, ts String, publisher_id Int64, publisher_name String, publisher_traffic String, publisher_quality String, bid Int64, job_id Int64, campaign_id Int64, industry String, location String, impressions Int64, clicks Int64, apply_count Int64, cost Float64, quality_score Int64, device String, hour Int64, day_of_week Int64, batch UInt32 MATERIALIZED 0, ts_ms Int64 MATERIALIZED toInt64(toDateTime(substring(ts, 1, 19))) * 1000 + toInt64(substring(ts, 21, 3)), cost_micros Int64 MATERIALIZED toInt64(round(cost * 1000000))) ENGINE = MergeTree ORDER BY batch;
CREATE TABLE fact_hourly (hour_start Int64, campaign_id Int64, publisher_id Int64, industry String, location String, device String, records Int64, impressions Int64, clicks Int64, applies Int64, cost_micros Int64, quality_sum Int64, ctr_sum Float64, cpc_sum Float64, cpa_sum Float64, roi_sum Float64) ENGINE = SummingMergeTree ORDER BY (hour_start, campaign_id, publisher_id, industry, location, device);
CREATE TABLE etl_state (cursor UInt32) ENGINE = TinyLog"
# ClickHouse 18.16 fills a column JSONEachRow omits with its type's zero, not its
# DEFAULT, so the batch number (the counterpart of seq) is a MATERIALIZED column whose
# expression each ingest sets first: a change of metadata only, old parts keep theirs.
CH_ETL="INSERT INTO fact_hourly SELECT intDiv(ts_ms, 3600000) * 3600 AS hour_start, campaign_id, publisher_id, industry, location, device, count() AS records, sum(impressions), sum(clicks), sum(apply_count), sum(cost_micros), sum(quality_score), sum(if(impressions > 0, clicks / impressions, 0)), sum(if(clicks > 0, cost_micros / 1000000 / clicks, 0)), sum(if(apply_count > 0, cost_micros / 1000000 / apply_count, 0)), sum(if(cost_micros > 0, apply_count / (cost_micros / 1000000), 0)) FROM raw WHERE batch > (SELECT max(cursor) FROM etl_state) GROUP BY hour_start, campaign_id, publisher_id, industry, location, device;
INSERT INTO etl_state SELECT max(batch) FROM raw"
CH_CHECK="SELECT count(), sum(r), sum(i), sum(c), sum(a), sum(m) FROM (SELECT sum(records) AS r, sum(impressions) AS i, sum(clicks) AS c, sum(applies) AS a, sum(cost_micros) AS m FROM fact_hourly GROUP BY hour_start, campaign_id, publisher_id, industry, location, device) FORMAT TSV"

step() { # engine step [file batch]
    local e=$1 s=$2
    case $e:$s in
    jobads:ingest) "$J" ingest --quiet --events sqlite:ev.db "$3" ;;
    jobads:etl) "$J" etl --quiet --events sqlite:ev.db --analytics sqlite:an.db ;;
    jobads:check) sqlite3 an.db "$FACT_CHECK" ;;
    sqlite3:ingest) sqlite3_ingest_sql "$3" | sqlite3 -bail ev.db ;;
    sqlite3:etl) sqlite3 -bail ev.db "$SQLITE_ETL" ;;
    sqlite3:check) sqlite3 an.db "$FACT_CHECK" ;;
    duckdb:ingest) node "$top/bench/peers/duckdb/peer.js" "$DUCK" duck.db ingest "$3" ;;
    duckdb:etl|duckdb:check) node "$top/bench/peers/duckdb/peer.js" "$DUCK" duck.db "$s" ;;
    clickhouse:ingest)
        ch --query "ALTER TABLE raw MODIFY COLUMN batch UInt32 MATERIALIZED $4" &&
            ch --query "INSERT INTO raw FORMAT JSONEachRow" <"$3" ;;
    clickhouse:etl) ch --multiquery --query "$CH_ETL" ;;
    clickhouse:check) ch --query "$CH_CHECK" | tr '\t' '|' ;;
    esac
}

export -f step sqlite3_ingest_sql ch
export J DUCK top CH FACT_CHECK SQLITE_ETL SQLITE_COLS CH_ETL CH_CHECK

# times one step: sets T (seconds) and appends its peak RSS (KiB) to rss.log
timed() {
    local log=$1
    shift
    local t0 t1
    t0=$(now)
    # step is a function: run in a child bash, whose peak RSS GNU time reports as the
    # largest of it and its children
    if ! /usr/bin/time -f '%M' -o time.out bash -c '"$@"' _ "$@" >"$log" 2>&1; then
        cat "$log" >&2
        die "$(basename "$PWD"): $* failed (log: $PWD/$log)"
    fi
    t1=$(now)
    cat time.out >>rss.log
    T=$(printf '%.3f' "$(echo "$t1 - $t0" | bc -l)")
}

declare -A R # R[order.engine.field]
run_engine() { # order engine
    local o=$1 e=$2 d=$OUT/$1.$2
    mkdir -p "$d"
    cd "$d"
    : >rss.log
    CHDIR=
    if [ "$e" = clickhouse ]; then
        CHDIR=$d/server
        export CHDIR
        CHDIRS+=("$CHDIR")
        "$CH" start "$CHDIR" 9>&-
        ch --multiquery --query "$CH_SCHEMA"
    fi
    timed ingest1.log step "$e" ingest "$OUT/b1.$o.ndjson" 1
    R[$o.$e.ingest]=$T
    say "[$o] $e: ingest $N events   $T s  ($(rate "$N" "$T") events/s)"
    timed etl1.log step "$e" etl
    R[$o.$e.etl]=$T
    say "[$o] $e: ETL                  $T s"
    R[$o.$e.check1]=$(step "$e" check)
    timed noop.log step "$e" etl
    R[$o.$e.noop]=$T
    say "[$o] $e: ETL, nothing new     $T s"
    [ "$(step "$e" check)" = "${R[$o.$e.check1]}" ] || die "$e: the run with nothing new changed the facts"
    timed ingest2.log step "$e" ingest "$OUT/b2.$o.ndjson" 2
    R[$o.$e.ingest2]=$T
    timed etl2.log step "$e" etl
    R[$o.$e.etl2]=$T
    R[$o.$e.second]=$(printf '%.3f' "$(echo "${R[$o.$e.ingest2]} + $T" | bc -l)")
    say "[$o] $e: 2nd batch $N2: ingest ${R[$o.$e.ingest2]} s + ETL $T s"
    R[$o.$e.check2]=$(step "$e" check)
    local procs
    procs=$(sort -n rss.log | tail -1)
    if [ "$e" = clickhouse ]; then
        local pid
        pid=$(cat "$CHDIR/server.pid")
        R[$o.$e.rss]=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
        R[$o.$e.client_rss]=$procs
        "$CH" stop "$CHDIR"
        say "[$o] $e: server peak RSS $(mib "${R[$o.$e.rss]}") MiB (VmHWM), client $(mib "$procs") MiB"
    else
        R[$o.$e.rss]=$procs
        say "[$o] $e: peak RSS $(mib "$procs") MiB"
    fi
    cd "$OUT"
}

for o in "${ORDERS[@]}"; do
    for e in "${ENG[@]}"; do
        lock
        run_engine "$o" "$e"
        unlock
    done
done

# ---- a store that already holds history: the same shuffled batch into it
if [ "$BIG" -gt 0 ] && has jobads && [ -n "${R[shuffled.jobads.ingest]:-}" ]; then
    mkdir -p "$OUT/big"
    cd "$OUT/big"
    : >rss.log
    filled=0
    t0=$(now)
    while [ "$filled" -lt "$BIG" ]; do
        c=$((BIG - filled < 1000000 ? BIG - filled : 1000000))
        lock # one lock hold per million, so that others get the CPU between them
        "$J" generate --count "$c" --days 30 --shuffle --seed "$((SEED + 100 + filled / 1000000))" \
            --events sqlite:ev.db --quiet
        unlock
        filled=$((filled + c))
        say "[big] filled $filled of $BIG shuffled events ($(printf '%.0f' "$(echo "$(now) - $t0" | bc -l)") s)"
    done
    lock
    # Into a large store the ingest reads the file through mmap (src/store/sqlite/events.c,
    # map_for_lookups): its resident size counts the OS's cached pages of the store that it
    # maps, so the process's own memory (RssAnon, sampled) is printed beside it
    (
        peak=0
        while :; do
            for p in $(pgrep -x jobads); do
                a=$(awk '/^RssAnon:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
                [ -n "$a" ] && [ "$a" -gt "$peak" ] && peak=$a && echo "$peak" >anon.out
            done
            sleep 0.2
        done
    ) &
    sampler=$!
    timed ingest.log step jobads ingest "$OUT/b1.shuffled.ndjson" 1
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    unlock
    R[big.ingest]=$T
    R[big.rss]=$(sort -n rss.log | tail -1)
    R[big.anon]=$(cat anon.out 2>/dev/null || echo 0)
    say "[big] jobads: ingest $N shuffled events into a $BIG-event store   $T s  ($(rate "$N" "$T") events/s, peak RSS $(mib "${R[big.rss]}") MiB, of which its own memory $(mib "${R[big.anon]}") MiB, the rest the store's pages it maps)"
    cd "$OUT"
fi

# ---- the same fact rows everywhere, or no ratio
say
say "== fact rows (rows|records|impressions|clicks|applies|cost_micros)"
bad=0
ref_o=${ORDERS[0]}
ref_e=${ENG[0]}
for ph in check1 check2; do
    want=${R[$ref_o.$ref_e.$ph]}
    say "after batch ${ph#check}: $want  ($ref_o, $ref_e)"
    for o in "${ORDERS[@]}"; do
        for e in "${ENG[@]}"; do
            got=${R[$o.$e.$ph]}
            if [ "$got" != "$want" ]; then
                say "MISMATCH after batch ${ph#check}: $o $e: $got"
                bad=1
            fi
        done
    done
done
[ "$bad" = 0 ] || die "the engines do not compute the same fact rows: no ratio printed"
say "every engine and order agrees"

# ---- the table and the ratios
fastest() { # order field: the smallest value among the peers, and its engine
    local o=$1 f=$2 best="" who="" e
    for e in "${ENG[@]}"; do
        [ "$e" = jobads ] && continue
        local v=${R[$o.$e.$f]}
        if [ -z "$best" ] || [ "$(echo "$v < $best" | bc -l)" = 1 ]; then best=$v; who=$e; fi
    done
    echo "$best $who"
}
for o in "${ORDERS[@]}"; do
    say
    say "== $o input: $N events, then $N2 more"
    printf '%-11s %10s %12s %8s %8s %16s %10s\n' engine "ingest s" "events/s" "ETL s" "no-op s" "2nd ing+ETL s" "peak MiB"
    for e in "${ENG[@]}"; do
        printf '%-11s %10s %12s %8s %8s %16s %10s\n' "$e" "${R[$o.$e.ingest]}" \
            "$(rate "$N" "${R[$o.$e.ingest]}")" "${R[$o.$e.etl]}" "${R[$o.$e.noop]}" \
            "${R[$o.$e.ingest2]}+${R[$o.$e.etl2]}=${R[$o.$e.second]}" "$(mib "${R[$o.$e.rss]}")"
    done
    has clickhouse && say "(clickhouse: the server's VmHWM; its client peaked at $(mib "${R[$o.clickhouse.client_rss]}") MiB)"
    if has jobads && [ ${#ENG[@]} -gt 1 ]; then
        say "jobads / peer (below 1: jobads is faster or leaner):"
        printf '  %-16s %8s %8s %8s %8s %9s\n' peer ingest ETL no-op "2nd" "peak RSS"
        for e in "${ENG[@]}"; do
            [ "$e" = jobads ] && continue
            printf '  %-16s' "$e"
            for f in ingest etl noop second; do printf ' %8s' "$(ratio "${R[$o.jobads.$f]}" "${R[$o.$e.$f]}")"; done
            printf ' %9s\n' "$(ratio "${R[$o.jobads.rss]}" "${R[$o.$e.rss]}")"
        done
        say "jobads / fastest peer (goals: <= 1 for ingest, ETL and the 2nd batch; peak RSS <= 0.25 of the leanest peer's and < 64 MiB):"
        for f in ingest etl noop second rss; do
            read -r best who <<<"$(fastest "$o" "$f")"
            printf '  %-8s %6s   (%s %s)\n' "$f" "$(ratio "${R[$o.jobads.$f]}" "$best")" "$who" \
                "$([ "$f" = rss ] && echo "$(mib "$best") MiB" || echo "$best s")"
        done
        say "  jobads peak RSS $(mib "${R[$o.jobads.rss]}") MiB"
    fi
done
if [ -n "${R[big.ingest]:-}" ]; then
    say
    say "jobads ingest rate into a $BIG-event store / into an empty one (goal >= 0.7):"
    printf '  %6s   (%s events/s / %s events/s)\n' "$(ratio "${R[shuffled.jobads.ingest]}" "${R[big.ingest]}")" \
        "$(rate "$N" "${R[big.ingest]}")" "$(rate "$N" "${R[shuffled.jobads.ingest]}")"
fi
if has jobads && [ ${#ORDERS[@]} = 2 ]; then
    say
    say "jobads shuffled / sorted (goal <= 1.5):"
    for f in ingest etl second; do
        printf '  %-8s %6s   (%s s / %s s)\n' "$f" "$(ratio "${R[shuffled.jobads.$f]}" "${R[sorted.jobads.$f]}")" \
            "${R[shuffled.jobads.$f]}" "${R[sorted.jobads.$f]}"
    done
fi
