# Helpers for the tests that drive a running `jobads serve` (sourced after lib.sh).

SERVE_PID=""
BASE=""

# serve_start [serve options...]: start on a free loopback port, wait until it answers.
# serve.out exists before the server starts: the shell that starts it creates the
# file only when it gets to the redirection, and a sed of a missing file here would
# end the script (set -e) before the EXIT trap that stops the server was set.
serve_start() {
    : >"$WORK/serve.out"
    "$JOBADS" serve --listen 127.0.0.1:0 "$@" >"$WORK/serve.out" 2>"$WORK/serve.err" &
    SERVE_PID=$!
    local port="" i
    for i in $(seq 1 100); do
        port=$(sed -n 's|^serve: listening on http://[0-9.]*:\([0-9]*\)/.*|\1|p' "$WORK/serve.out")
        [ -n "$port" ] && break
        kill -0 "$SERVE_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        echo "serve did not start: $(cat "$WORK/serve.err")" >&2
        exit 1
    fi
    BASE="http://127.0.0.1:$port"
    serve_prev_trap
    trap 'serve_kill; eval "$SERVE_PREV_EXIT"' EXIT
}

# What lib.sh had set to run at exit (the CQL test server's stop), kept beside serve_kill.
SERVE_PREV_EXIT=""
serve_prev_trap() {
    local p
    p=$(trap -p EXIT)
    case $p in "" | *serve_kill*) return 0 ;; esac
    eval "set -- ${p#trap -- }"
    SERVE_PREV_EXIT=$1
}

serve_kill() {
    [ -n "$SERVE_PID" ] && kill -TERM "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
    SERVE_PID=""
}

# serve_stop: SIGTERM, and the server must exit 0 within 10 s
serve_stop() {
    local i rc=0
    kill -TERM "$SERVE_PID"
    for i in $(seq 1 100); do
        kill -0 "$SERVE_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SERVE_PID" 2>/dev/null; then
        fail "serve did not stop within 10 s of SIGTERM"
        kill -KILL "$SERVE_PID"
    fi
    wait "$SERVE_PID" || rc=$?
    assert_eq "serve exits 0 on SIGTERM" 0 "$rc"
    SERVE_PID=""
}

# http METHOD PATH [curl args...]: body to $WORK/http.body, status echoed
http() {
    local m=$1 p=$2
    shift 2
    curl -s -o "$WORK/http.body" -w '%{http_code}' -X "$m" "$@" "$BASE$p"
}

# jget EXPR: evaluate a Python expression over the last body, as j
jget() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" "$WORK/http.body"; }
