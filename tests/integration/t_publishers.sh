# Thousands of distinct publishers per chunk, renamed from chunk to chunk:
# dim_publisher ends up with each publisher's newest row (by seq), and the
# facts are exact. The ETL holds a chunk's publishers in a hash table
# (src/core/agg.c) and the MySQL store writes them in blocks of 2^k rows
# (src/store/mysql/analytics_apply.c); both must keep the newest row of each.
source "$(dirname "$0")/lib.sh" "$@"

now=$(date +%s)
# 2,777 publishers, three rows each, far apart in seq so that chunks of 2,500
# split them; names carry the round, traffic and quality change too. Half the
# ids differ only in high bits, and the count is no power of two, so that
# every block size is used.
awk -v now="$now" 'BEGIN {
    n = 0
    for (round = 0; round < 3; round++)
        for (i = 0; i < 2777; i++) {
            n++
            id = (i % 2) ? i * 65536 + 1 : i + 1
            printf "{\"event_id\":\"%08d-0000-4000-8000-%012d\",\"ts\":%d,\"publisher_id\":%d,\"publisher_name\":\"pub %d round %d\",\"publisher_traffic\":\"%s\",\"publisher_quality\":\"%s\",\"job_id\":1,\"campaign_id\":%d,\"industry\":\"IT\",\"location\":\"Hue\",\"impressions\":%d,\"clicks\":%d,\"apply_count\":1,\"cost\":\"0.25\",\"quality_score\":50,\"device\":\"mobile\"}\n", \
                n, n, (now - 7200 + n % 3600) * 1000, id, i, round, (round == 2 ? "HIGH" : "LOW"), \
                (round == 1 ? "MED" : "LOW"), 100 + i % 7, 10 + n % 13, n % 3
        }
}' >pubs.ndjson
rows=$(wc -l <pubs.ndjson)
assert_status "ingest" 0 jobads ingest --quiet pubs.ndjson
assert_eq "all stored" "$rows" "$(events_count)"
assert_status "etl in chunks of 2500" 0 jobads etl --chunk 2500 --quiet
assert_eq "cursor at the newest event" "$(newest_seq)" "$(cursor)"

# the newest row of each publisher, from the raw events
ev_sql "SELECT t.publisher_id, t.publisher_name, t.publisher_traffic, t.publisher_quality, t.seq
        FROM tracking t JOIN (SELECT publisher_id, MAX(seq) AS m FROM tracking GROUP BY publisher_id) x
          ON t.publisher_id = x.publisher_id AND t.seq = x.m
        ORDER BY t.publisher_id" >want.txt
an_sql "SELECT publisher_id, publisher_name, publisher_traffic, publisher_quality, last_seq
        FROM dim_publisher ORDER BY publisher_id" >got.txt
assert_eq "2777 publishers" 2777 "$(wc -l <got.txt)"
assert_eq "dim_publisher holds each publisher's newest row" "" "$(diff want.txt got.txt | head -5)"
assert_eq "every name is from the last round" 2777 "$(grep -c 'round 2|HIGH|LOW|' got.txt)"
assert_verify "many publishers"
assert_views_match "many publishers"
finish
