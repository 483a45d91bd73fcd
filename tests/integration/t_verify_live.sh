# `verify` while an ETL applies (issue 12, finding 16): it reads the cursor and
# the facts in one snapshot, so a run committing chunks meanwhile never shows
# as a difference. Before, the cursor and the facts were two reads, and a chunk
# committed between them made verify report the new facts against the old
# cursor's raw events.
source "$(dirname "$0")/lib.sh" "$@"

jobads init >/dev/null
jobads generate --count 60000 --days 2 --seed 5 >/dev/null 2>&1

# small chunks: hundreds of commits while verify runs again and again
jobads etl --chunk 40 --quiet >etl.out 2>etl.err &
etl_pid=$!
runs=0 bad=0
: >seen
while kill -0 "$etl_pid" 2>/dev/null; do
    rc=0
    jobads verify --show 3 >v.out 2>v.err || rc=$?
    runs=$((runs + 1))
    if [ "$rc" -ne 0 ]; then
        bad=$((bad + 1))
        [ "$bad" -le 3 ] && echo "verify $runs: $(head -c 400 v.err)" >&2
    fi
    sed -n 's/.* up to seq \([0-9]*\) .*/\1/p' v.out >>seen
done
rc=0
wait "$etl_pid" || rc=$?
assert_eq "the ETL run succeeds" 0 "$rc"
assert_eq "no verify during the run found a difference ($runs runs)" 0 "$bad"
# the check only means something if verify ran between chunks, at several cursors
mid=$(sort -un seen | awk -v n="$(newest_seq)" '$1 > 0 && $1 < n' | wc -l)
if [ "$mid" -ge 3 ]; then ok; else fail "verify saw only $mid cursors inside the run ($runs runs)"; fi
assert_status "verify after the run" 0 jobads verify
assert_eq "everything processed" "$(newest_seq)" "$(cursor)"

echo "$TEST_NAME ($BACKEND): $CHECKS checks, $FAILS failures"
[ "$FAILS" -eq 0 ]
