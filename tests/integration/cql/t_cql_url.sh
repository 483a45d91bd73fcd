# cassandra:// URLs: the forms the docs give work, bad ones get a clear error,
# the password (in the URL or in JOBADS_CASSANDRA_PASSWORD) is used for
# PasswordAuthenticator and never appears in any output. Against the CQL test
# server started with --auth.
source "$(dirname "$0")/../lib.sh" "$@"
CQLSRV=${JOBADS_TEST_CQLSRV:-$(dirname "$JOBADS")/tests/cqlsrv}
PW='s3cr:t@pw'
PCT='s3cr%3At%40pw' # the same, percent-encoded for the URL
"$CQLSRV" --port 0 --port-file "$WORK/auth.port" --auth "bob:$PW" 2>"$WORK/auth.log" &
srv=$!
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$WORK/auth.port" ] && break; sleep 0.05; done
PORT=$(cat "$WORK/auth.port")
never_pw() {
    if grep -qF -- "$PW" "$WORK/last.out" "$WORK/last.err" || grep -qF -- "$PCT" "$WORK/last.out" "$WORK/last.err"; then
        fail "$1: the password appears in the output"
    else ok; fi
}

assert_status "password in the URL" 0 jobads generate --count 200 --seed 1 --quiet \
    --events "cassandra://bob:$PCT@127.0.0.1:$PORT/jt_url_a?settle=0&bucket=1"
never_pw "password in the URL"
assert_status "password from JOBADS_CASSANDRA_PASSWORD" 0 env JOBADS_CASSANDRA_PASSWORD="$PW" \
    "$JOBADS" generate --count 100 --seed 2 --quiet --events "cassandra://bob@127.0.0.1:$PORT/jt_url_a?settle=0&bucket=1"
never_pw "password from the environment"
assert_status "a wrong password" 1 env JOBADS_CASSANDRA_PASSWORD="wrong-$PW" \
    "$JOBADS" generate --count 1 --quiet --events "cassandra://bob@127.0.0.1:$PORT/jt_url_a"
assert_grep "is refused, naming the store without the password" "cassandra://bob@127\.0\.0\.1:$PORT/jt_url_a" "$WORK/last.err"
never_pw "a wrong password"
assert_status "several contact points, the first dead" 0 env JOBADS_CASSANDRA_PASSWORD="$PW" \
    "$JOBADS" etl --quiet --events "cassandra://bob@127.0.0.9,127.0.0.1:$PORT/jt_url_a?settle=0&bucket=1"
assert_eq "the ETL read both batches" 300 "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"

assert_status "a port per host" 1 jobads init --events "cassandra://bob:$PCT@127.0.0.1:$PORT,127.0.0.2:$PORT/ks"
assert_grep "says to give one port after the last host" 'one port for every host, after the last one' "$WORK/last.err"
never_pw "a port per host"
assert_status "no host" 1 jobads init --events "cassandra://bob:$PCT@/ks"
assert_grep "shows the form" 'want cassandra://\[USER\[:PASS\]@\]HOST\[,HOST\.\.\.\]\[:PORT\]/KEYSPACE' "$WORK/last.err"
never_pw "no host"
assert_status "a bad port" 1 jobads init --events "cassandra://bob:$PCT@127.0.0.1:99999/ks"
never_pw "a bad port"
assert_status "nothing listening" 1 jobads init --events "cassandra://bob:$PCT@127.0.0.1:1/ks"
assert_grep "names the store and the contact point" 'cassandra://bob@127\.0\.0\.1:1/ks: 127\.0\.0\.1:1: Connection refused' "$WORK/last.err"
never_pw "nothing listening"

# Every backend's URL goes through one strict percent-decoder: a '%' that does
# not start an escape, or %00, is refused naming the part, never decoded into
# something else and used (it was: %00 cut the user name short and logged in,
# a trailing or half escape was kept or read as another byte).
bad_escape() { # WHAT URL PART REASON
    assert_status "$1" 1 jobads generate --count 1 --quiet --events "$2"
    assert_grep "$1: names the part and the reason" "$3: $4" "$WORK/last.err"
    never_pw "$1"
}
HALF="a '%' not followed by two hex digits"
bad_escape "%00 in the user name" "cassandra://bob%00x:$PCT@127.0.0.1:$PORT/jt_url_a" 'the user name' '%00 \(a NUL byte\) is not allowed'
bad_escape "a trailing '%' in the password" "cassandra://bob:$PCT%@127.0.0.1:$PORT/jt_url_a" 'the password' "$HALF"
bad_escape "a half escape in the password" "cassandra://bob:$PCT%4g@127.0.0.1:$PORT/jt_url_a" 'the password' "$HALF"
bad_escape "%zz in the user name" "cassandra://bob%zz:$PCT@127.0.0.1:$PORT/jt_url_a" 'the user name' "$HALF"
bad_escape "a truncated escape in ca" "cassandra://bob:$PCT@127.0.0.1:$PORT/jt_url_a?ca=x%2" 'jt_url_a: ca' "$HALF"
bad_escape "%00 in ca" "cassandra://bob:$PCT@127.0.0.1:$PORT/jt_url_a?ca=x%00.pem" 'jt_url_a: ca' '%00 \(a NUL byte\) is not allowed'
finish
