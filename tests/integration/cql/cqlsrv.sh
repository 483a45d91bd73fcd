# The CQL test server for the tests in this folder, one at a time, after lib.sh:
# start_srv NAME ARGS... stops the one running, starts tests/cqlsrv with ARGS on
# a free port (its log in $WORK/NAME.srv.log) and sets PORT; it is stopped on exit.
CQLSRV=${JOBADS_TEST_CQLSRV:-$(dirname "$JOBADS")/tests/cqlsrv}
CQLTOOL=${JOBADS_TEST_CQLTOOL:-$(dirname "$JOBADS")/tests/cqltool}
srv=
trap '[ -z "$srv" ] || kill $srv 2>/dev/null; wait 2>/dev/null || true' EXIT
start_srv() { # NAME ARGS...
    local name=$1
    shift
    [ -z "$srv" ] || { kill $srv; wait $srv 2>/dev/null || true; }
    rm -f "$WORK/$name.port"
    "$CQLSRV" --port 0 --port-file "$WORK/$name.port" "$@" 2>"$WORK/$name.srv.log" &
    srv=$!
    for _ in $(seq 100); do [ -s "$WORK/$name.port" ] && break; sleep 0.05; done
    PORT=$(cat "$WORK/$name.port")
}
