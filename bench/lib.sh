# Timing helpers the benchmarks share: source "$(dirname "$0")/lib.sh".
now() { date +%s.%N; }
# best of three wall-clock seconds for a command (stdout/stderr discarded);
# $PREP, when set, is run (eval) before each of the three
best3() {
    local best="" t0 t1 d
    for _ in 1 2 3; do
        [ -n "${PREP:-}" ] && eval "$PREP"
        t0=$(now); "$@" >/dev/null 2>&1; t1=$(now)
        d=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$d < $best" | bc -l)" = 1 ]; then best=$d; fi
    done
    printf '%.3f' "$best"
}
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
rate() { printf '%.0f' "$(echo "$1 / $2" | bc -l)"; }
