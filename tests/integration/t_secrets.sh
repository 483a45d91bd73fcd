# A store password is never printed (issue 12, finding 13): every command, and
# its error paths, run with mysql:// and cassandra:// URLs whose password holds
# '/', '@', ':', '?' and '#' - percent-encoded, raw where the URL grammar allows
# it (':' and '@'), raw where it does not ('/', '?', '#': refused), and from
# JOBADS_MYSQL_PASSWORD / JOBADS_CASSANDRA_PASSWORD - and then every output,
# every log, the reject files and etl_runs.error are searched for any piece of
# the password. MySQL is a private MariaDB of this test's own (its password is
# changed here), Cassandra the in-memory CQL test server with --auth.
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/serve_lib.sh"

# Pieces that never occur by chance (upper case, letters past 'f': not hex).
PW='Sx7q/Kw9@Zr4:Tm2?Vb8#Np3'
PIECES=(Sx7q Kw9 Zr4 Tm2 Vb8 Np3)
PCT='Sx7q%2FKw9%40Zr4%3ATm2%3FVb8%23Np3' # every special byte encoded
PART='Sx7q%2FKw9@Zr4:Tm2%3FVb8%23Np3'     # '@' and ':' left raw
OUT=$WORK/out
mkdir -p "$OUT"
n=0

# run NAME WANT_STATUS command...: output kept in $OUT/NAME.out and .err
run() {
    local name=$1 want=$2
    shift 2
    n=$((n + 1))
    assert_status "$name" "$want" "$@"
    cp "$WORK/last.out" "$OUT/$n-$name.out"
    cp "$WORK/last.err" "$OUT/$n-$name.err"
}

# bg NAME SECS command...: run in the background for SECS, then SIGTERM
bg() {
    local name=$1 secs=$2
    shift 2
    n=$((n + 1))
    "$@" >"$OUT/$n-$name.out" 2>"$OUT/$n-$name.err" &
    local pid=$!
    sleep "$secs"
    kill -TERM "$pid" 2>/dev/null || true
    local rc=0
    wait "$pid" || rc=$?
    assert_eq "$name: stops on SIGTERM with 0" 0 "$rc"
}

# failed_then_recorded TAG EV AN: a scheduled run fails (EV has no schema yet) and
# is kept pending; `init` creates EV before the next slot, whose run records the
# failed one in etl_runs with its error (a store name in it).
failed_then_recorded() {
    local tag=$1 ev=$2 an=$3 i
    n=$((n + 1))
    local log=$OUT/$n-$tag.log
    "$JOBADS" schedule --every 3s --slots 2 --retries 0 --log-file "$log" --events "$ev" \
        --analytics "$an" >"$OUT/$n-$tag.out" 2>"$OUT/$n-$tag.err" &
    local pid=$!
    for i in $(seq 100); do grep -q 'state=failed' "$log" 2>/dev/null && break; sleep 0.05; done
    run "$tag-init" 0 jobads init --events "$ev" --analytics "$an"
    local rc=0
    wait "$pid" || rc=$?
    assert_eq "$tag: the scheduler ends its slots with 0" 0 "$rc"
    assert_grep "$tag: the first run failed" 'event=run_end .*state=failed' "$log"
    assert_grep "$tag: the second succeeded" 'event=run_end .*state=success' "$log"
}

# Every command on one pair of stores (EV, AN set by the caller); TAG names the case.
all_commands() {
    local tag=$1
    export JOBADS_EVENTS=$EV JOBADS_ANALYTICS=$AN
    run "$tag-init" 0 jobads init
    run "$tag-generate" 0 jobads generate --count 300 --days 2 --seed 3
    printf '%s\n' '{"ts":"2026-01-01T00:00:00Z","publisher_id":-1}' \
        "$(jobads generate --count 1 --seed 4 --output - 2>/dev/null)" >"$WORK/mixed.ndjson"
    run "$tag-ingest" 1 jobads ingest --reject-file "$OUT/$tag-rejects.ndjson" "$WORK/mixed.ndjson"
    run "$tag-etl" 0 jobads etl
    run "$tag-verify" 0 jobads verify
    run "$tag-rebuild" 0 jobads rebuild
    run "$tag-report" 0 jobads report
    run "$tag-runs" 0 jobads runs
    run "$tag-schedule" 0 jobads schedule --every 1s --slots 2 --log-file "$OUT/$tag-schedule.log"
    run "$tag-schedule-stderr" 0 jobads schedule --every 1s --slots 1
    bg "$tag-serve" 2 "$JOBADS" serve --listen 127.0.0.1:0 --etl-every 1s
    assert_grep "$tag: serve printed its banner" '^serve: listening on' "$OUT/$n-$tag-serve.out"
    run "$tag-demo" 0 jobads demo --no-serve --count 200 --days 1
}

# ---- MySQL: a private server whose jobads user gets the hostile password ----
if [ -f "$(dirname "$JOBADS")/jobads-mysql.so" ] && command -v mariadb >/dev/null &&
    { command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ]; }; then
    use_private_server
    my -e "ALTER USER 'jobads'@'127.0.0.1' IDENTIFIED BY '$PW'; ALTER USER 'jobads'@'localhost' IDENTIFIED BY '$PW'"
    HP=$MY_HOST:$MY_PORT
    unset JOBADS_MYSQL_PASSWORD # set again (for my() too) only where the test says
    EV="mysql://jobads:$PCT@$HP/jt_secrets_ev" AN="mysql://jobads:$PCT@$HP/jt_secrets_an"
    all_commands my-pct
    EV="mysql://jobads:$PART@$HP/jt_secrets_ev" AN="mysql://jobads:$PART@$HP/jt_secrets_an"
    all_commands my-part
    export JOBADS_MYSQL_PASSWORD=$PW
    EV="mysql://jobads@$HP/jt_secrets_ev" AN="mysql://jobads@$HP/jt_secrets_an"
    all_commands my-env
    unset JOBADS_MYSQL_PASSWORD
    # demo --serve: the demo, then the server with its scheduler
    export JOBADS_EVENTS="mysql://jobads:$PCT@$HP/jt_secrets_demo" JOBADS_ANALYTICS="mysql://jobads:$PCT@$HP/jt_secrets_demo_an"
    bg my-demo-serve 8 "$JOBADS" demo --serve --listen 127.0.0.1:0 --count 200 --days 1
    assert_grep "demo --serve served" '^serve: listening on' "$OUT/$n-my-demo-serve.out"

    # error paths, each with the password in the URL
    good_an="mysql://jobads:$PCT@$HP/jt_secrets_an"
    run my-raw-slash 1 jobads report --analytics "mysql://jobads:$PW@$HP/jt_secrets_an"
    assert_grep "a raw '/' is refused, saying how to write it" "percent-encoded" "$WORK/last.err"
    run my-raw-query 1 jobads report --analytics "mysql://jobads:Tm2?Vb8@$HP/jt_secrets_an"
    run my-raw-slash-port 1 jobads report --analytics "mysql://jobads:12/Kw9@$HP/jt_secrets_an"
    run my-bad-port 1 jobads report --analytics "mysql://jobads:$PCT@$MY_HOST:99999/jt_secrets_an"
    assert_grep "names the port" 'port is not a number' "$WORK/last.err"
    run my-bad-db 1 jobads report --analytics "mysql://jobads:$PCT@$HP/a-b"
    run my-bad-param 1 jobads report --analytics "mysql://jobads:$PCT@$HP/jt_secrets_an?colour=blue"
    run my-no-slashes 1 jobads report --analytics "mysql:jobads:$PCT@$HP/jt_secrets_an"
    run my-unreachable 1 jobads etl --events "mysql://jobads:$PCT@127.0.0.1:1/x?connect_timeout=1" --analytics "$good_an"
    run my-wrong-password 1 jobads report --analytics "mysql://jobads:$PCT-no@$HP/jt_secrets_an"
    run my-url-as-file 1 jobads ingest "mysql://jobads:$PCT@$HP/jt_secrets_ev"
    assert_grep "a URL given as a file is named, redacted" "^jobads: mysql://jobads:\*\*\*@.*: No such file" "$WORK/last.err"
    run my-stray-argument 2 jobads etl "mysql://jobads:$PCT@$HP/jt_secrets_an"
    assert_grep "a stray URL is named, redacted" "unexpected argument 'mysql://jobads:\*\*\*@" "$WORK/last.err"
    run my-unknown-scheme 1 jobads report --analytics "postgres://jobads:$PW@$HP/jt_secrets_an"
    run my-schedule-unreachable 0 jobads schedule --every 1s --slots 1 --retries 0 \
        --events "mysql://jobads:$PCT@127.0.0.1:1/x?connect_timeout=1" --analytics "$good_an"
    assert_grep "the run failed" 'state=failed' "$WORK/last.err"
    # a failed run is recorded in etl_runs with its error, shown by runs
    failed_then_recorded my-pending "mysql://jobads:$PCT@$HP/jt_secrets_late" \
        "mysql://jobads:$PCT@$HP/jt_secrets_late_an"
    run my-serve-bad-port 1 jobads serve --listen 127.0.0.1:0 --analytics "mysql://jobads:$PW@$MY_HOST:99999/x"
    export JOBADS_MYSQL_PASSWORD=$PW
    for db in jt_secrets_an jt_secrets_demo_an jt_secrets_late_an; do
        my $db -N -B -e 'SELECT state, error FROM etl_runs' >"$OUT/$db-etl_runs.txt"
    done
    assert_grep "a failed run is recorded with its error" '^failed.*jt_secrets_late' "$OUT/jt_secrets_late_an-etl_runs.txt"
    run my-runs 0 jobads runs --analytics "mysql://jobads:$PCT@$HP/jt_secrets_late_an"
    assert_grep "runs shows the failed run" "no database" "$WORK/last.out"
    unset JOBADS_MYSQL_PASSWORD
else
    echo "t_secrets: the MySQL part skipped: no mysql:// module, mariadb client or server" >&2
fi

# ---- Cassandra: the CQL test server with the hostile password ----
CQLSRV=${JOBADS_TEST_CQLSRV:-$(dirname "$JOBADS")/tests/cqlsrv}
"$CQLSRV" --port 0 --port-file "$WORK/auth.port" --auth "bob:$PW" 2>"$WORK/cqlsrv.log" &
CQL_PID=$!
trap 'kill $CQL_PID 2>/dev/null; [ -z "${SERVER_DIR:-}" ] || "$MARIADB_SH" stop "$SERVER_DIR"' EXIT
for _ in $(seq 100); do [ -s "$WORK/auth.port" ] && break; sleep 0.05; done
CP=127.0.0.1:$(cat "$WORK/auth.port")
Q='settle=0&bucket=1'
AN=sqlite:$WORK/cass-an.db
EV="cassandra://bob:$PCT@$CP/jt_secrets_a?$Q"
all_commands cass-pct
EV="cassandra://bob:$PART@$CP/jt_secrets_b?$Q" AN=sqlite:$WORK/cass-an-b.db
all_commands cass-part
export JOBADS_CASSANDRA_PASSWORD=$PW
EV="cassandra://bob@$CP/jt_secrets_c?$Q" AN=sqlite:$WORK/cass-an-c.db
all_commands cass-env
unset JOBADS_CASSANDRA_PASSWORD
export JOBADS_EVENTS="cassandra://bob:$PCT@$CP/jt_secrets_d?$Q" JOBADS_ANALYTICS=sqlite:$WORK/cass-an-d.db
bg cass-demo-serve 8 "$JOBADS" demo --serve --listen 127.0.0.1:0 --count 200 --days 1
assert_grep "demo --serve served" '^serve: listening on' "$OUT/$n-cass-demo-serve.out"

export JOBADS_ANALYTICS=sqlite:$WORK/cass-an.db
run cass-raw-slash 1 jobads etl --events "cassandra://bob:$PW@$CP/jt_secrets_a"
assert_grep "a raw '/' is refused, saying how to write it" "percent-encoded" "$WORK/last.err"
run cass-raw-slash-port 1 jobads etl --events "cassandra://bob:12/Kw9@$CP/jt_secrets_a"
run cass-bad-port 1 jobads etl --events "cassandra://bob:$PCT@127.0.0.1:99999/jt_secrets_a"
run cass-bad-keyspace 1 jobads etl --events "cassandra://bob:$PCT@$CP/No-Such"
run cass-bad-param 1 jobads etl --events "cassandra://bob:$PCT@$CP/jt_secrets_a?colour=blue"
run cass-unreachable 1 jobads etl --events "cassandra://bob:$PCT@127.0.0.1:1/jt_secrets_a?connect_timeout=1"
run cass-stray-argument 2 jobads schedule --every 1s "cassandra://bob:$PART@$CP/jt_secrets_a"
run cass-wrong-password 1 jobads etl --events "cassandra://bob:$PCT-no@$CP/jt_secrets_a"
run cass-schedule-unreachable 0 jobads schedule --every 1s --slots 1 --retries 0 \
    --events "cassandra://bob:$PCT@127.0.0.1:1/jt_secrets_a?connect_timeout=1"
assert_grep "the run failed" 'state=failed' "$WORK/last.err"
failed_then_recorded cass-pending "cassandra://bob:$PCT@$CP/jt_secrets_late?$Q" "sqlite:$WORK/cass-an-late.db"
run cass-runs 0 jobads runs --analytics "sqlite:$WORK/cass-an-late.db"
assert_grep "runs shows the failed run" "no event store schema" "$WORK/last.out"
for db in "$WORK"/cass-an*.db; do
    sq "$db" 'SELECT state, error FROM etl_runs' >"$OUT/$(basename "$db" .db)-etl_runs.txt"
done
assert_grep "a failed run is recorded with its error" '^failed.*jt_secrets_late' "$OUT/cass-an-late-etl_runs.txt"

# ---- nowhere a piece of the password ----
files=("$OUT"/*)
for p in "${PIECES[@]}"; do
    leaks=$(grep -lF -- "$p" "${files[@]}" 2>/dev/null || true)
    if [ -n "$leaks" ]; then
        fail "'$p' (a piece of the password) printed in: $(echo "$leaks" | xargs -n1 basename | tr '\n' ' ')"
        grep -hF -- "$p" $leaks | head -3 >&2
    else
        ok
    fi
done
assert_eq "outputs searched" 1 "$([ "$(ls "$OUT" | wc -l)" -gt 60 ] && echo 1 || echo 0)"
finish
