# Hostile text on MySQL/MariaDB: quotes, backslashes, SQL in a value, LIKE
# wildcards, 4-byte UTF-8 and names that differ only by a trailing space or a
# tab are stored, aggregated and reported verbatim, as distinct values, and
# ordered bytewise (verify merges fact rows in grain order, so a collation
# that padded or folded would show up as differences). Nothing is formatted
# into SQL: the DROP TABLE stays text.
source "$(dirname "$0")/../lib.sh" "$@"
EV_DB=$(my_db ev_events)
AN_DB=$(my_db an_analytics)

names=(
    "O'Brien \"Ads\""
    'back\slash\\n'
    "'; DROP TABLE tracking; --"
    $'Emoji \xf0\x9f\x98\x80 \xf0\x9d\x95\x8f ads'
    '100% _real_ ads'
    "Ads"
    "Ads "
    $'Ads\t'
)
industries=("IT" "IT " $'IT\t' $'\xc3\x84rzte' $'\xf0\x9f\x98\x80' "it" "'; DROP TABLE fact_hourly; --" 'a\b')
now=$(date -u +%s)
: >hostile.ndjson
jstr() { # JSON string literal of $1 (quotes, backslashes, tabs escaped)
    local s=${1//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\t'/\\t}
    printf '"%s"' "$s"
}
n=0
for i in "${!names[@]}"; do
    for j in "${!industries[@]}"; do
        n=$((n + 1))
        printf '{"event_id":"%08d-0000-4000-8000-000000000000","ts":%d,"publisher_id":%d,"publisher_name":%s,"job_id":1,"campaign_id":101,"industry":%s,"location":%s,"impressions":%d,"clicks":%d,"apply_count":1,"cost":"1.5","quality_score":50,"device":%s}\n' \
            "$n" $(( (now - 3600 * (n % 5)) * 1000 )) $((i + 1)) "$(jstr "${names[$i]}")" \
            "$(jstr "${industries[$j]}")" "$(jstr "${names[$i]}")" $((100 + n)) $((n % 7)) \
            "$(jstr "${industries[$j]}")" >>hostile.ndjson
    done
done
assert_status "ingest hostile text" 0 jobads ingest hostile.ndjson
assert_grep "all stored" "$n stored, 0 duplicates, 0 rejected" "$WORK/last.err"
assert_eq "tracking is still there, every row in it" "$n" "$(events_count)"

hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n' | tr a-f A-F; }
for i in "${!names[@]}"; do
    assert_eq "publisher_name $((i + 1)) stored byte for byte" "$(hex "${names[$i]}")" \
        "$(my "$EV_DB" -N -B -e "SELECT DISTINCT HEX(publisher_name) FROM tracking WHERE publisher_id = $((i + 1))")"
done
assert_eq "industries that differ by a trailing space, a tab or case are distinct" "${#industries[@]}" \
    "$(ev_sql 'SELECT COUNT(DISTINCT industry) FROM tracking')"

assert_status "etl" 0 jobads etl
assert_verify "hostile text: facts in grain order match the raw GROUP BY"
assert_views_match "hostile text"
assert_eq "fact_hourly keeps the distinct industries" "${#industries[@]}" \
    "$(an_sql 'SELECT COUNT(DISTINCT industry) FROM fact_hourly')"
assert_eq "fact_hourly is still there" "$n" "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
for i in "${!names[@]}"; do
    assert_eq "dim_publisher name $((i + 1)) verbatim" "$(hex "${names[$i]}")" \
        "$(my "$AN_DB" -N -B -e "SELECT HEX(publisher_name) FROM dim_publisher WHERE publisher_id = $((i + 1))")"
    assert_eq "publisher_summary name $((i + 1)) verbatim (mariadb client)" "$(hex "${names[$i]}")" \
        "$(my "$AN_DB" -N -B -e "SELECT HEX(publisher_name) FROM publisher_summary WHERE publisher_id = $((i + 1))")"
done

# reported verbatim: report --json carries the exact strings
assert_status "report --json" 0 jobads report --json
cp "$WORK/last.out" report.json
for i in "${!names[@]}"; do
    assert_eq "report names publisher $((i + 1)) verbatim" "$(hex "${names[$i]}")" \
        "$(sq :memory: "SELECT hex(json_extract(value, '\$.publisher_name')) FROM json_each(json_extract(readfile('report.json'), '\$.publishers')) WHERE json_extract(value, '\$.publisher_id') = $((i + 1))")"
done
for j in "${!industries[@]}"; do
    assert_eq "report has industry $((j + 1)) verbatim, once" 1 \
        "$(sq :memory: "SELECT COUNT(*) FROM json_each(json_extract(readfile('report.json'), '\$.industries')) WHERE hex(json_extract(value, '\$.industry')) = '$(hex "${industries[$j]}")'")"
done
assert_status "report filtered by a hostile industry" 0 jobads report --json --industry "'; DROP TABLE fact_hourly; --"
cp "$WORK/last.out" f.json
assert_eq "the filter matches that industry's records" "${#names[@]}" \
    "$(sq :memory: "SELECT json_extract(readfile('f.json'), '\$.total.records')")"
assert_status "report in the terminal" 0 jobads report
assert_grep "the terminal report shows 4-byte UTF-8" $'Emoji \xf0\x9f\x98\x80' "$WORK/last.out"

# The same facts through the multi-row statements that MySQL 8 gets (?bulk=0)
# as through MariaDB's array binding above: byte for byte.
AN2_DB=$(my_db an_nobulk)
FACTS="SELECT hour_start, campaign_id, publisher_id, HEX(industry), HEX(location), HEX(device),
  records, impressions, clicks, applies, cost_micros, quality_sum, ctr_sum, cpc_sum, cpa_sum, roi_sum
  FROM fact_hourly ORDER BY hour_start, campaign_id, publisher_id, industry, location, device"
assert_status "etl without array binding" 0 jobads etl --analytics "$MY_URL/$AN2_DB?bulk=0"
assert_status "verify without array binding" 0 jobads verify --analytics "$MY_URL/$AN2_DB?bulk=0"
assert_eq "multi-row statements and array binding store the same facts" \
    "$(my "$AN_DB" -N -B -e "$FACTS" | md5sum)" "$(my "$AN2_DB" -N -B -e "$FACTS" | md5sum)"
assert_eq "... and there are facts to compare" "$n" \
    "$(my "$AN2_DB" -N -B -e 'SELECT SUM(records) FROM fact_hourly')"
# and a second run over more events adds to what the first stored, on both paths
for url in "$MY_URL/$AN_DB" "$MY_URL/$AN2_DB?bulk=0"; do
    assert_status "ingest again" 0 jobads ingest <(sed 's/-0000-4000-8000-000000000000/-0000-4000-8000-000000000001/' hostile.ndjson)
    assert_status "etl adds" 0 jobads etl --analytics "$url"
done
assert_eq "both paths add deltas to existing facts alike" \
    "$(my "$AN_DB" -N -B -e "$FACTS" | md5sum)" "$(my "$AN2_DB" -N -B -e "$FACTS" | md5sum)"
assert_eq "... which doubled every fact" "$((2 * n))" \
    "$(my "$AN_DB" -N -B -e 'SELECT SUM(records) FROM fact_hourly')"
assert_status "bad bulk parameter" 1 jobads etl --analytics "$MY_URL/$AN2_DB?bulk=yes"
assert_grep "bad bulk parameter named" "bulk: want 0 or 1" "$WORK/last.err"
finish
