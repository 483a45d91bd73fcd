# Commits out of seq order (design.md item 5): a writer holds an inserting
# transaction open (seq N taken, not committed) while later ones commit. The
# ETL must not read past the hole while it is younger than the settle time;
# once the held transaction commits, the next run counts every event exactly
# once. A hole left by a rollback is skipped once it is older than the settle
# time.
source "$(dirname "$0")/../lib.sh" "$@"

EV_DB=$(my_db ev_events)
export JOBADS_EVENTS="$(ev_url events)?settle=30"

assert_status "init" 0 jobads init
assert_status "generate" 0 jobads generate --count 1000 --days 2 --seed 21 --quiet
assert_status "first run" 0 jobads etl --quiet
assert_eq "cursor after the first run" 1000 "$(cursor)"

# A foreign writer: the mariadb client, fed through a FIFO so that the test
# decides when it commits.
hold() { # hold NAME EVENT_ID: BEGIN and INSERT one event, keep the transaction open
    mkfifo "$WORK/$1.fifo"
    my "$EV_DB" <"$WORK/$1.fifo" >"$WORK/$1.out" 2>&1 &
    eval "${1}_pid=$!"
    exec {fd}>"$WORK/$1.fifo"
    eval "${1}_fd=$fd"
    local ts=$(( $(date +%s) * 1000 - 3600 * 1000 ))
    echo "BEGIN; INSERT INTO tracking (event_id, ts, publisher_id, publisher_name, job_id, campaign_id, industry, location, impressions, clicks, apply_count, cost_micros, quality_score, device, hour, day_of_week) VALUES ('$2', $ts, 3, 'LinkedIn', 4, 104, 'HR', 'DN', 700, 21, 3, 630000000, 88, 'desktop', $(date -u -d @$((ts / 1000)) +%-H), $(date -u -d @$((ts / 1000)) +%u));" >&$fd
    # wait until the insert has run (the transaction then holds its seq)
    local i
    for i in $(seq 1 100); do
        [ "$(my -N -B -e "SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_rows_modified > 0")" -gt 0 ] && return 0
        sleep 0.1
    done
    fail "the held transaction did not insert: $(cat "$WORK/$1.out")"
}
finish_held() { # finish_held NAME COMMIT|ROLLBACK
    local fd pid
    eval "fd=\${${1}_fd} pid=\${${1}_pid}"
    echo "$2;" >&$fd
    exec {fd}>&-
    wait "$pid" || fail "the held transaction's client failed: $(cat "$WORK/$1.out")"
}

hold a aaaaaaaa-0000-4000-8000-000000000001
held_seq=$(my "$EV_DB" -N -B -e "SELECT AUTO_INCREMENT - 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'tracking'")
assert_eq "the held transaction took seq 1001" 1001 "$held_seq"
assert_status "later events commit while it is open" 0 jobads generate --count 500 --days 1 --seed 22 --quiet
assert_eq "they are visible, the held one is not" 1500 "$(events_count)"
assert_eq "they hold seqs after it" 1002 "$(ev_sql 'SELECT MIN(seq) FROM tracking WHERE seq > 1000')"

assert_status "a run while the hole is young" 0 jobads etl
assert_grep "it reads nothing past the hole" '^etl: 0 events' "$WORK/last.out"
assert_eq "the cursor stays before the hole" 1000 "$(cursor)"
assert_verify "with a transaction held open"

finish_held a COMMIT
assert_eq "the held event is stored" 1501 "$(events_count)"
assert_status "a run after the commit" 0 jobads etl
assert_grep "it reads the held event and the later ones" '^etl: 501 events' "$WORK/last.out"
assert_eq "cursor at the newest seq" 1501 "$(cursor)"
assert_eq "every event counted once" 1501 "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_eq "the held event's own group" "1|700|21" \
    "$(an_sql "SELECT SUM(records), SUM(impressions), SUM(clicks) FROM fact_hourly WHERE campaign_id = 104 AND device = 'desktop' AND publisher_id = 3 AND quality_sum = 88")"
assert_verify "after the held transaction committed"
assert_views_match "after the held transaction committed"

# A rolled-back writer leaves a hole for good: skipped once older than the settle time.
hold b bbbbbbbb-0000-4000-8000-000000000002
assert_status "more events behind the second hole" 0 jobads generate --count 200 --days 1 --seed 23 --quiet
finish_held b ROLLBACK
assert_status "a run while the rolled-back hole is young" 0 jobads etl
assert_eq "the cursor waits (a young hole may still be a writer)" 1501 "$(cursor)"
sleep 1.2
assert_status "a run with a 1 s settle time" 0 jobads etl --events "$(ev_url events)?settle=1"
assert_grep "it skips the old hole" '^etl: 200 events' "$WORK/last.out"
assert_eq "cursor past the hole (1502 was the hole)" 1702 "$(cursor)"
assert_eq "every stored event counted once" "$(events_count)" "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_verify "after the rollback"
assert_views_match "after the rollback"

# Three writers at once, the ETL running beside them: no event lost or doubled.
for s in 31 32 33; do jobads generate --count 3000 --days 1 --seed $s --quiet & done
for i in 1 2 3 4 5; do jobads etl --quiet --events "$(ev_url events)?settle=2" || fail "etl beside writers"; sleep 0.2; done
wait
sleep 2.1
assert_status "a last run" 0 jobads etl --quiet --events "$(ev_url events)?settle=2"
assert_eq "cursor at the newest seq" "$(ev_sql 'SELECT MAX(seq) FROM tracking')" "$(cursor)"
assert_eq "every event counted once with concurrent writers" "$(events_count)" "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_verify "after concurrent writers"
assert_views_match "after concurrent writers"

# More void ranges than one read of them holds (1,024): 1,500 duplicates spread
# through a file, each a seq LOAD DATA took and tracking_void records, every row
# younger than the settle time. A run reads past all of them; it stopped at the
# 1,024th before, so a rebuild from seq 0 counted fewer events than the runs it
# replaced (t_shuffled, CI).
assert_status "6,000 more" 0 jobads generate --count 6000 --days 1 --seed 24 --quiet --output v.ndjson
awk 'NR % 4 == 0' v.ndjson >v_dups.ndjson
assert_status "1,500 of them first" 0 jobads ingest --quiet v_dups.ndjson
assert_status "then all 6,000" 0 jobads ingest --quiet v.ndjson
assert_grep "the 1,500 are duplicates" '4,500 stored, 1,500 duplicates' "$WORK/last.err"
assert_eq "each left a void seq" 1 "$(ev_sql "SELECT COUNT(*) >= 1500 FROM tracking_void WHERE from_seq > $(cursor)")"
assert_status "a run with every row younger than the settle time" 0 jobads etl
assert_eq "it reads past every void seq" "$(ev_sql 'SELECT MAX(seq) FROM tracking')" "$(cursor)"
assert_eq "every event counted once past 1,500 void seqs" "$(events_count)" "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_verify "past 1,500 void seqs"
finish
