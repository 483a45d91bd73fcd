# The one real Apache Cassandra node that the @cassandra-real variants of the
# pipeline tests share (tests/CMakeLists.txt: a CTest fixture starts it before
# the first of them and stops it after the last), with PasswordAuthenticator
# and CassandraAuthorizer: every test logs in as the `jobads` role with its
# password (scripts/cassandra.sh, JOBADS_CASSANDRA_AUTH=1).
#
#   bash shared_node.sh start NODE_DIR    a new node in NODE_DIR (an old one there is stopped
#                                         and removed: the tests start from no keyspaces)
#   bash shared_node.sh stop NODE_DIR
#   bash shared_node.sh run NODE_DIR SCRIPT ARGS...
#                                         run a test script against the node: its URL, the
#                                         user and the password as `scripts/cassandra.sh env`
#                                         prints them, read at run time, so no port is fixed
#                                         when CMake configures; the test's keyspaces of an
#                                         earlier run on the node are dropped first
#
# start exits 77 (skipped) when the node's jars cannot be had (no mvn or Java 17,
# or Maven Central refuses them), and 1 with CI=true, as node_lib.sh does; run
# then exits 77 too, saying why, unless CI=true.
set -euo pipefail
CASSANDRA_SH=$(cd "$(dirname "$0")/../../.." && pwd)/scripts/cassandra.sh
cmd=$1 dir=$2
shift 2
case $cmd in
start)
    "$CASSANDRA_SH" stop "$dir" >/dev/null 2>&1 || true
    rm -rf "$dir"
    mkdir -p "$dir"
    if ! "$CASSANDRA_SH" fetch 2>"$dir.fetch.err"; then
        cat "$dir.fetch.err" >&2
        [ "${CI:-}" != true ] || { echo "shared_node: the real Cassandra node could not be fetched, and CI needs it" >&2; exit 1; }
        echo "the real Cassandra node could not be fetched: $(tail -1 "$dir.fetch.err")" >"$dir.skipped"
        echo "shared_node: skipped: $(cat "$dir.skipped")" >&2
        exit 77
    fi
    rm -f "$dir.skipped"
    t0=$SECONDS
    JOBADS_CASSANDRA_AUTH=1 "$CASSANDRA_SH" start "$dir"
    echo "shared_node: node $("$CASSANDRA_SH" version) with authentication answered after $((SECONDS - t0)) s"
    ;;
stop)
    "$CASSANDRA_SH" stop "$dir"
    ;;
run)
    if ! "$CASSANDRA_SH" status "$dir"; then
        if [ -f "$dir.skipped" ] && [ "${CI:-}" != true ]; then
            echo "skipped: $(cat "$dir.skipped")" >&2
            exit 77
        fi
        echo "shared_node: no real Cassandra node answers in $dir (the fixture integration/cassandra/shared_node_start starts it)" >&2
        exit 1
    fi
    eval "$("$CASSANDRA_SH" env "$dir")"
    export JOBADS_TEST_BACKEND=cassandra-ev
    # The node outlives each test: the test's keyspaces (jt_<test>_*, lib.sh)
    # from an earlier run on it go first, or their rows would count twice.
    cqltool=${JOBADS_TEST_CQLTOOL:-$(dirname "$(readlink -f "$2")")/tests/cqltool}
    test_name=$(basename "$1" .sh)
    "$cqltool" drop "$JOBADS_TEST_CASSANDRA_URL/jt_${test_name#t_}" ||
        { echo "shared_node: could not drop the keyspaces of an earlier $test_name on the node" >&2; exit 1; }
    exec bash "$@"
    ;;
*)
    echo "usage: shared_node.sh start|stop|run NODE_DIR [SCRIPT ARGS...]" >&2
    exit 2
    ;;
esac
