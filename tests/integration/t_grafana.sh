# deploy/grafana: the dashboard has the original's panels, every query is rawSql
# on the MySQL data source with Grafana's macros; and, with a MySQL/MariaDB test
# server and a build with the mysql backend, every rawSql expanded to a time
# range runs against a real analytics store and returns rows with the expected
# columns. (Grafana itself is not installed here: docs/operations.md.)
source "$(dirname "$0")/lib.sh" "$@"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
DASH=$SRC/deploy/grafana/dashboards/job-ads-overview.json
assert_status "dashboard JSON parses" 0 python3 -m json.tool "$DASH"
for title in "Campaign Totals" "Industry Clicks & Applications" "Device Performance" \
    "Daily Traffic" "Publisher Performance" "Event Clicks Over Time"; do
    assert_grep "panel '$title'" "\"title\": \"$title\"" "$DASH"
done
assert_grep "percent-stacked industries" '"stacking": "percent"' "$DASH"
assert_grep "horizontal publishers" '"orientation": "horizontal"' "$DASH"
assert_grep "datasource provisioned" 'type: mysql' "$SRC/deploy/grafana/provisioning/datasources/jobads-mysql.yaml"

now=$(date +%s)
python3 "$(dirname "$0")/grafana_sql.py" "$DASH" $((now - 14 * 86400)) "$now" >queries.jsonl
assert_eq "every panel has a query, and every macro expands" 0 $?
nq=$(wc -l <queries.jsonl)
assert_eq "queries" 10 "$nq"
assert_eq "time panels use \$__timeFilter" 9 "$(grep -c 'BETWEEN FROM_UNIXTIME' queries.jsonl)"
assert_eq "time series use \$__timeGroupAlias" 2 "$(grep -c 'DIV [0-9]* \* [0-9]* AS \\"time\\"' queries.jsonl)"

# the rawSql against a real MariaDB, when there is one
if [ -z "${JOBADS_TEST_MYSQL_URL:-}" ] || "$JOBADS" runs --analytics mysql://x@127.0.0.1:1/x 2>&1 | grep -q "unknown analytics store scheme"; then
    echo "t_grafana: the rawSql run needs a MySQL test server (JOBADS_TEST_MYSQL_URL, scripts/mariadb.sh) and the mysql backend; static checks only" >&2
    finish
    exit 0
fi
hp=${JOBADS_TEST_MYSQL_URL#mysql://}
user=${hp%%@*} hp=${hp#*@}
host=${hp%%:*} port=${hp#*:}
db=jt_grafana_$$
mdb() { MYSQL_PWD=${JOBADS_MYSQL_PASSWORD:-} mariadb --no-defaults -h "$host" -P "$port" -u "$user" "$@"; }
mdb -e "DROP DATABASE IF EXISTS $db"
jobads generate --count 20000 --days 14 --seed 3 >/dev/null 2>&1
jobads etl --quiet --analytics "${JOBADS_TEST_MYSQL_URL%/}/$db"
jobads campaign set 101 --name "Senior Java, HCM" --analytics "${JOBADS_TEST_MYSQL_URL%/}/$db" >/dev/null
while IFS= read -r q; do
    title=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["panel"])' "$q")
    sql=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sql"])' "$q")
    if mdb -D "$db" --batch -e "SET time_zone = '+00:00'; $sql" >out.tsv 2>err.txt; then ok; else
        fail "$title: $(cat err.txt)"
        continue
    fi
    rows=$(($(wc -l <out.tsv) - 1))
    [ "$rows" -gt 0 ] && ok || fail "$title: no rows"
    cols=$(head -1 out.tsv)
    case $title in
    "Campaign Totals") want="impressions	clicks	applies" ;;
    "Industry Clicks & Applications") want="industry	clicks	applications" ;;
    "Device Performance") want="device	clicks" ;;
    "Daily Traffic") want="time	impressions	clicks	applies" ;;
    "Publisher Performance") want="publisher	clicks	impressions	applies" ;;
    "Event Clicks Over Time") want="time	clicks" ;;
    *) want=$cols ;;
    esac
    assert_eq "$title: columns" "$want" "$cols"
    case $title in "Campaigns" | campaign_summary*) # the name beside the id (issue 17)
        assert_grep "$title: names campaign 101" '^101	.*Senior Java, HCM' out.tsv ;;
    esac
done <queries.jsonl
# the numbers agree with fact_hourly over the same range
sql=$(python3 -c 'import json,sys; print([q for q in map(json.loads, open(sys.argv[1])) if q["panel"] == "Campaign Totals"][0]["sql"])' queries.jsonl)
got=$(mdb -D "$db" -N -B -e "SET time_zone = '+00:00'; $sql" | cut -f2)
want=$(mdb -D "$db" -N -B -e "SELECT SUM(clicks) FROM fact_hourly WHERE hour_start BETWEEN $((now - 14 * 86400)) AND $now")
assert_eq "Campaign Totals clicks = fact_hourly over the range" "$want" "$got"
mdb -e "DROP DATABASE IF EXISTS $db"
finish
