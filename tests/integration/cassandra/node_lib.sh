# Sourced by the tests on a real Apache Cassandra node (t_real_*.sh), after
# lib.sh: fetch the node's jars or skip, start a node in WORKDIR/node (stopped
# on exit), and point the test's cassandra:// URL at it.
#
# Exits 77 (skipped) when the jars cannot be had (no mvn or Java 17, or Maven
# Central refuses them); with CI=true that is a failure instead, since CI is
# where the real node must run. A node that was fetched but does not start
# fails everywhere. Sets CASSANDRA_SH, NODE, CQL_URL, t0 (SECONDS at the start)
# and what `scripts/cassandra.sh env` prints.
CASSANDRA_SH=$HERE/../../../scripts/cassandra.sh
NODE=$WORK/node

if ! "$CASSANDRA_SH" fetch 2>"$WORK/fetch.err"; then
    cat "$WORK/fetch.err" >&2
    if [ "${CI:-}" = true ]; then
        echo "$TEST_NAME: the real Cassandra node could not be fetched, and CI needs it" >&2
        exit 1
    fi
    echo "$TEST_NAME: skipped: the real Cassandra node could not be fetched (above)" >&2
    exit 77
fi
trap '"$CASSANDRA_SH" stop "$NODE"' EXIT
t0=$SECONDS
"$CASSANDRA_SH" start "$NODE" || { echo "$TEST_NAME: the Cassandra node did not start" >&2; exit 1; }
echo "$TEST_NAME: node $("$CASSANDRA_SH" version) answered after $((SECONDS - t0)) s"
eval "$("$CASSANDRA_SH" env "$NODE")"
CQL_URL=$JOBADS_TEST_CASSANDRA_URL
