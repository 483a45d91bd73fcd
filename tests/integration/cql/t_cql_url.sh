# cassandra:// URLs: the forms the docs give work, bad ones get a clear error,
# the password (in the URL or in JOBADS_CASSANDRA_PASSWORD) is used for
# PasswordAuthenticator and never appears in any output or in ps. Against the
# CQL test server started with --auth, or (integration/cql/t_cql_url@cassandra-real)
# against the real node that JOBADS_TEST_CASSANDRA_URL names with its user
# (cassandra://USER@127.0.0.1:PORT, a node with PasswordAuthenticator and
# CassandraAuthorizer: tests/integration/cassandra/shared_node.sh), the
# password in JOBADS_CASSANDRA_PASSWORD.
REAL_URL=${JOBADS_TEST_CASSANDRA_URL:-}
unset JOBADS_TEST_CASSANDRA_URL # lib.sh: no test server of its own either way
JOBADS_TEST_BACKEND=sqlite
source "$(dirname "$0")/../lib.sh" "$@"
if [ -n "$REAL_URL" ]; then
    hp=${REAL_URL#cassandra://}
    U=${hp%%@*}
    PORT=${hp##*:}
    PW=${JOBADS_CASSANDRA_PASSWORD:?the password of the real node}
    unset JOBADS_CASSANDRA_PASSWORD # each command below is given it, or not, itself
    [ "$U" != "$hp" ] && [ -n "$PORT" ] || { echo "$TEST_NAME: want JOBADS_TEST_CASSANDRA_URL=cassandra://USER@127.0.0.1:PORT" >&2; exit 2; }
    case $PW in *:*@*) ;; *) echo "$TEST_NAME: the node's password should hold ':' and '@' (scripts/cassandra.sh)" >&2; exit 2 ;; esac
else
    CQLSRV=${JOBADS_TEST_CQLSRV:-$(dirname "$JOBADS")/tests/cqlsrv}
    U=bob
    PW='s3cr:t@pw'
    "$CQLSRV" --port 0 --port-file "$WORK/auth.port" --auth "bob:$PW" 2>"$WORK/auth.log" &
    srv=$!
    trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null || true' EXIT
    for _ in $(seq 100); do [ -s "$WORK/auth.port" ] && break; sleep 0.05; done
    PORT=$(cat "$WORK/auth.port")
fi
# the same, percent-encoded for the URL (given in the environment: not in ps)
PCT=$(P=$PW python3 -c 'import os, urllib.parse; print(urllib.parse.quote(os.environ["P"], safe=""))')
never_pw() {
    if grep -qF -- "$PW" "$WORK/last.out" "$WORK/last.err" || grep -qF -- "$PCT" "$WORK/last.out" "$WORK/last.err"; then
        fail "$1: the password appears in the output"
    else ok; fi
}

assert_status "password in the URL" 0 jobads generate --count 200 --seed 1 --quiet \
    --events "cassandra://$U:$PCT@127.0.0.1:$PORT/jt_url_a?settle=0&bucket=1"
never_pw "password in the URL"
assert_status "password from JOBADS_CASSANDRA_PASSWORD" 0 env JOBADS_CASSANDRA_PASSWORD="$PW" \
    "$JOBADS" generate --count 100 --seed 2 --quiet --events "cassandra://$U@127.0.0.1:$PORT/jt_url_a?settle=0&bucket=1"
never_pw "password from the environment"
assert_status "a wrong password" 1 env JOBADS_CASSANDRA_PASSWORD="wrong-$PW" \
    "$JOBADS" generate --count 1 --quiet --events "cassandra://$U@127.0.0.1:$PORT/jt_url_a"
assert_grep "is refused, naming the store without the password" "cassandra://$U@127\.0\.0\.1:$PORT/jt_url_a" "$WORK/last.err"
never_pw "a wrong password"
cp "$WORK/last.err" wrong.err
# the server's reason, as a real node words it (the test server was made to say
# it so: it left out the user name)
assert_grep "gives the server's reason, naming the user" "bad credentials \(0x0100\): Provided username $U and/or password are incorrect" wrong.err
assert_status "no password" 1 "$JOBADS" generate --count 1 --quiet --events "cassandra://$U@127.0.0.1:$PORT/jt_url_a"
never_pw "no password"
# ps: a password from the environment is in no process's arguments while a
# command uses it (nor in the real node's, nor in its start script's probes)
n=200000
[ -z "$REAL_URL" ] || n=5000
env JOBADS_CASSANDRA_PASSWORD="$PW" "$JOBADS" generate --count $n --seed 5 --quiet \
    --events "cassandra://$U@127.0.0.1:$PORT/jt_url_ps?settle=0&bucket=1" &
gen=$!
seen=0
caught=0
while kill -0 $gen 2>/dev/null; do
    # (the test server's own command line holds the password it wants: not ours)
    ps -eo pid=,args= | awk -v srv="${srv:-0}" '$1 != srv' >ps.txt
    grep -qF -- "$PW" ps.txt && seen=1
    grep -qF -- "$PCT" ps.txt && seen=1
    grep -qF -- "$JOBADS generate --count $n" ps.txt && caught=$((caught + 1))
    sleep 0.02
done
wait $gen
assert_eq "ps: the command was seen running" 1 "$(( caught > 0 ))"
assert_eq "ps: the password appears in no process's arguments" 0 "$seen"
assert_status "several contact points, the first dead" 0 env JOBADS_CASSANDRA_PASSWORD="$PW" \
    "$JOBADS" etl --quiet --events "cassandra://$U@127.0.0.9,127.0.0.1:$PORT/jt_url_a?settle=0&bucket=1"
assert_eq "the ETL read both batches" 300 "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"

assert_status "a port per host" 1 jobads init --events "cassandra://$U:$PCT@127.0.0.1:$PORT,127.0.0.2:$PORT/ks"
assert_grep "says to give one port after the last host" 'one port for every host, after the last one' "$WORK/last.err"
never_pw "a port per host"
assert_status "no host" 1 jobads init --events "cassandra://$U:$PCT@/ks"
assert_grep "shows the form" 'want cassandra://\[USER\[:PASS\]@\]HOST\[,HOST\.\.\.\]\[:PORT\]/KEYSPACE' "$WORK/last.err"
never_pw "no host"
assert_status "a bad port" 1 jobads init --events "cassandra://$U:$PCT@127.0.0.1:99999/ks"
never_pw "a bad port"
assert_status "nothing listening" 1 jobads init --events "cassandra://$U:$PCT@127.0.0.1:1/ks"
assert_grep "names the store and the contact point" "cassandra://$U@127\.0\.0\.1:1/ks: 127\.0\.0\.1:1: Connection refused" "$WORK/last.err"
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
bad_escape "%00 in the user name" "cassandra://${U}%00x:$PCT@127.0.0.1:$PORT/jt_url_a" 'the user name' '%00 \(a NUL byte\) is not allowed'
bad_escape "a trailing '%' in the password" "cassandra://$U:$PCT%@127.0.0.1:$PORT/jt_url_a" 'the password' "$HALF"
bad_escape "a half escape in the password" "cassandra://$U:$PCT%4g@127.0.0.1:$PORT/jt_url_a" 'the password' "$HALF"
bad_escape "%zz in the user name" "cassandra://${U}%zz:$PCT@127.0.0.1:$PORT/jt_url_a" 'the user name' "$HALF"
bad_escape "a truncated escape in ca" "cassandra://$U:$PCT@127.0.0.1:$PORT/jt_url_a?ca=x%2" 'jt_url_a: ca' "$HALF"
bad_escape "%00 in ca" "cassandra://$U:$PCT@127.0.0.1:$PORT/jt_url_a?ca=x%00.pem" 'jt_url_a: ca' '%00 \(a NUL byte\) is not allowed'
finish
