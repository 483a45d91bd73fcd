# mysql:// URLs: the password comes from the URL or JOBADS_MYSQL_PASSWORD and
# never appears in any output or error; malformed URLs and unreachable
# servers fail with an error that names the store and the reason.
JOBADS_TEST_BACKEND=mysql-an
source "$(dirname "$0")/../lib.sh" "$@"
PW=${JOBADS_MYSQL_PASSWORD:?}
HOSTPORT="$MY_HOST:$MY_PORT"
DB=$(my_db an_url)
never_pw() { # never_pw WHAT: the password is in no output so far
    if grep -qF -- "$PW" "$WORK/last.out" "$WORK/last.err"; then fail "$1: the password was printed"; else ok; fi
}

pct() { # percent-encode every byte
    printf '%s' "$1" | od -An -tx1 | tr -s ' \n' ' ' | sed 's/ *$//; s/ /%/g'
}

unset JOBADS_MYSQL_PASSWORD
url="mysql://$MY_USER:$(pct "$PW")@$HOSTPORT/$DB"
assert_status "init with the password in the URL" 0 jobads init --analytics "$url"
assert_grep "names the store without the password" "analytics store mysql://$MY_USER@$HOSTPORT/$DB" "$WORK/last.out"
never_pw "init"
assert_status "generate" 0 jobads generate --count 2000 --seed 5 --quiet
assert_status "etl" 0 jobads etl --analytics "$url"
never_pw "etl"
assert_status "runs" 0 jobads runs --analytics "$url"
never_pw "runs"

assert_status "a wrong password" 1 jobads report --analytics "mysql://$MY_USER:NotThePassword@$HOSTPORT/$DB"
assert_grep "says access denied, names the store" "mysql://$MY_USER@$HOSTPORT/$DB: cannot connect: Access denied" "$WORK/last.err"
if grep -q NotThePassword "$WORK/last.err"; then fail "a wrong password was printed"; else ok; fi
assert_status "no password at all" 1 jobads report --analytics "mysql://$MY_USER@$HOSTPORT/$DB"
assert_grep "access denied" 'Access denied' "$WORK/last.err"

export JOBADS_MYSQL_PASSWORD=$PW
assert_status "the password from JOBADS_MYSQL_PASSWORD" 0 jobads report --analytics "mysql://$MY_USER@$HOSTPORT/$DB"
never_pw "report"
assert_status "a database that does not exist" 1 jobads report --analytics "mysql://$MY_USER@$HOSTPORT/${DB}_none"
assert_grep "says to init" "no database '${DB}_none' \\(run 'jobads init' first\\)" "$WORK/last.err"
assert_status "a bad database name" 1 jobads report --analytics "mysql://$MY_USER:$(pct "$PW")@$HOSTPORT/a-b"
assert_grep "names the rule" "a database name here is letters, digits" "$WORK/last.err"
never_pw "bad database name"
assert_status "a bad port" 1 jobads report --analytics "mysql://$MY_USER:$(pct "$PW")@$MY_HOST:99999/x"
assert_grep "names the port" "port is not a number in 1..65535" "$WORK/last.err"
never_pw "bad port"
assert_status "an unknown parameter" 1 jobads report --analytics "mysql://$MY_USER:$(pct "$PW")@$HOSTPORT/$DB?colour=blue"
assert_grep "names it" "unknown parameter 'colour'" "$WORK/last.err"
never_pw "unknown parameter"
assert_status "no //" 1 jobads report --analytics "mysql:$MY_USER:$(pct "$PW")@$HOSTPORT/$DB"
assert_grep "shows the form" 'want mysql://USER\[:PASSWORD\]@HOST\[:PORT\]/DATABASE' "$WORK/last.err"
never_pw "no //"
assert_status "an unknown scheme with a password" 1 jobads report --analytics "postgres://$MY_USER:$(pct "$PW")@$HOSTPORT/$DB"
assert_grep "hides the password" "postgres://$MY_USER:\\*\\*\\*@" "$WORK/last.err"
never_pw "unknown scheme"
# one strict percent-decoder for every backend (cassandra:// uses it too): a
# '%' that does not start an escape, or %00, is refused naming the part
bad_escape() { # WHAT URL MESSAGE
    assert_status "$1" 1 jobads report --analytics "$2"
    assert_grep "$1: names the part and the reason" "$3" "$WORK/last.err"
    never_pw "$1"
}
HALF="a '%' not followed by two hex digits"
bad_escape "a trailing '%' in the password" "mysql://$MY_USER:$(pct "$PW")%@$HOSTPORT/$DB" \
    "mysql://$MY_USER@\\.\\.\\.: the password: $HALF"
bad_escape "%00 in the user name" "mysql://$MY_USER%00:$(pct "$PW")@$HOSTPORT/$DB" \
    "mysql URL: the user name: %00 \\(a NUL byte\\) is not allowed"
bad_escape "%zz in the socket path" "mysql://$MY_USER:$(pct "$PW")@localhost/$DB?socket=/tmp/x%zz" \
    "/$DB\\?socket=/tmp/x%zz: socket: $HALF"
# a closed port: refused at once, retryable
port=1
assert_status "nothing listening" 1 jobads etl --analytics "mysql://$MY_USER@127.0.0.1:$port/$DB?connect_timeout=2"
assert_grep "cannot connect, names the store" "mysql://$MY_USER@127.0.0.1:$port/$DB\\?connect_timeout=2: cannot connect" "$WORK/last.err"
# the backend is a module next to the binary: without it, a clear error, no password
assert_status "module missing" 1 env JOBADS_MODULE_DIR="$WORK/nowhere" "$JOBADS" report \
    --analytics "mysql://$MY_USER:$(pct "$PW")@$HOSTPORT/$DB"
assert_grep "says the module could not be loaded" "^jobads: report: mysql://$MY_USER:\*\*\*@$HOSTPORT/$DB: the mysql:// backend is a module that could not be loaded: .*nowhere/jobads-mysql.so" "$WORK/last.err"
never_pw "module missing"
# the binary itself does not load libmariadb: only the module does
assert_eq "jobads does not link libmariadb" 0 "$(ldd "$JOBADS" | grep -c libmariadb || true)"
# over the Unix socket
if [ -S "${JOBADS_TEST_MYSQL_SOCKET:-}" ]; then
    assert_status "?socket=PATH" 0 jobads report --analytics "mysql://$MY_USER@localhost/$DB?socket=$JOBADS_TEST_MYSQL_SOCKET"
fi
finish
