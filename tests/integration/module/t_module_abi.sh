# A backend module built for another layout of the ops structs is refused when
# it is loaded, with both versions named, before any of its code runs; the
# module built with this jobads loads. Issue 14. JOBADS_TEST_SKEW_DIR holds a
# jobads-mysql.so built with JOBADS_OPS_VERSION_SKEW=1 (tests/CMakeLists.txt).
source "$(dirname "$0")/../lib.sh" "$@"

SKEW=${JOBADS_TEST_SKEW_DIR:?set by tests/CMakeLists.txt}
# nothing listens on port 1: a module that loads fails only when it connects
URL="mysql://jobads@127.0.0.1:1/ads"

assert_status "event store module of another version" 1 \
    env JOBADS_MODULE_DIR="$SKEW" "$JOBADS" init --events "$URL" --analytics "sqlite:$WORK/an.db"
assert_grep "names both versions" \
    "jobads-mysql.so: built for event store ops version [0-9]+, this jobads has version [0-9]+; use the module built with this jobads" "$WORK/last.err"
# the skewed module claims one more than this build
read -r theirs ours < <(sed -n 's/.*ops version \([0-9]*\), this jobads has version \([0-9]*\).*/\1 \2/p' "$WORK/last.err")
assert_eq "the versions named are the module's and ours" 1 "$((theirs - ours))"
assert_status "analytics store module of another version" 1 \
    env JOBADS_MODULE_DIR="$SKEW" "$JOBADS" init --events "sqlite:$WORK/ev.db" --analytics "$URL"
assert_grep "names both versions" \
    "built for analytics store ops version [0-9]+, this jobads has version [0-9]+" "$WORK/last.err"

# the module of this build loads: the error is the connection, not the version
assert_status "this build's module" 1 jobads init --events "$URL" --analytics "sqlite:$WORK/an.db"
if grep -q "ops version" "$WORK/last.err"; then fail "this build's module refused: $(cat "$WORK/last.err")"; else ok; fi
assert_grep "it got as far as connecting" "127.0.0.1" "$WORK/last.err"
finish
