#!/usr/bin/env python3
"""Compare jobads serve's JSON API with an independent recompute: SQL written
here, run by the sqlite3 CLI over the raw `tracking` table (seq <= cursor).

usage: serve_check.py BASE_URL EVENTS_DB CURSOR
Prints one line per check ("ok ..." or "FAIL ...") and exits 1 on any failure.
"""
import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

base, events_db, cursor = sys.argv[1], sys.argv[2], int(sys.argv[3])
fails = 0
checks = 0


def api(path, params):
    q = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{base}{path}?{q}" if q else base + path, timeout=30) as r:
        return json.load(r)


def sql(query, args):
    """Run query with named parameters bound by the CLI (.param), so values are never spliced."""
    script = [".mode json"]
    for k, v in args.items():
        if isinstance(v, str):
            v = "'" + v.replace("'", "''") + "'"
        script.append(f".param set :{k} {v}")
    script.append(query.strip().rstrip(";") + ";")
    out = subprocess.run(["sqlite3", "-batch", "-bail", events_db], input="\n".join(script),
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out) if out.strip() else []


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b)) + 1e-12


def check(what, ok, detail=""):
    global fails, checks
    checks += 1
    if not ok:
        fails += 1
        print(f"FAIL {what}: {detail}")


# The raw rows in scope: processed by the ETL, in the range, matching the filters.
# hour_start = the event's hour, UTC; the API selects hour_start in [from, to).
WHERE = """
  FROM tracking
 WHERE seq <= :cursor
   AND (ts / 3600000) * 3600 >= :from_s AND (ts / 3600000) * 3600 < :to_s
   AND (:campaign = 0 OR campaign_id = :campaign)
   AND (:publisher = 0 OR publisher_id = :publisher)
   AND (:industry = '' OR industry = :industry)
   AND (:device = '' OR device = :device)
"""
SUMS = """COUNT(*) AS records, SUM(impressions) AS impressions, SUM(clicks) AS clicks,
          SUM(apply_count) AS applies, SUM(cost_micros) AS cost_micros"""


def kpis_of(r):
    cost = r["cost_micros"] / 1e6
    return {
        "ctr": r["clicks"] / r["impressions"] if r["impressions"] else None,
        "cpc": cost / r["clicks"] if r["clicks"] else None,
        "cpa": cost / r["applies"] if r["applies"] else None,
        "apply_rate": r["applies"] / r["clicks"] if r["clicks"] else None,
        "spend": cost,
    }


def compare_row(what, api_row, sql_row):
    for k in ("records", "impressions", "clicks", "applies", "cost_micros"):
        check(f"{what} {k}", api_row.get(k) == (sql_row.get(k) or 0),
              f"api {api_row.get(k)} sql {sql_row.get(k)}")
    for k, v in kpis_of(sql_row).items() if sql_row.get("records") else []:
        check(f"{what} {k}", close(api_row.get(k), v), f"api {api_row.get(k)} sql {v}")


def run_case(name, params, from_s, to_s):
    f = {"cursor": cursor, "from_s": from_s, "to_s": to_s,
         "campaign": int(params.get("campaign_id", 0)), "publisher": int(params.get("publisher_id", 0)),
         "industry": params.get("industry", ""), "device": params.get("device", "")}
    total = sql(f"SELECT {SUMS} {WHERE}", f)[0]
    k = api("/api/kpis", params)
    check(f"{name}: some data in range", (total["records"] or 0) > 0, "the case selects nothing")
    compare_row(f"{name} /api/kpis", k["total"], total)
    for route, key, expr in (("/api/campaigns", "campaign_id", "campaign_id"),
                             ("/api/publishers", "publisher_id", "publisher_id"),
                             ("/api/industries", "industry", "industry"),
                             ("/api/devices", "device", "device")):
        rows = sql(f"SELECT {expr} AS k, {SUMS} {WHERE} GROUP BY 1 ORDER BY 1", f)
        got = {r[key]: r for r in api(route, params)["rows"]}
        check(f"{name} {route} groups", sorted(map(str, got)) == sorted(str(r["k"]) for r in rows),
              f"api {sorted(got)} sql {[r['k'] for r in rows]}")
        for r in rows:
            compare_row(f"{name} {route} {r['k']}", got.get(r["k"], {}), r)
    # heatmap: ISO weekday and hour of the event, UTC
    rows = sql(f"""SELECT day_of_week AS wd, hour AS h, {SUMS} {WHERE} GROUP BY 1, 2""", f)
    got = {(c["weekday"], c["hour"]): c for c in api("/api/heatmap", params)["cells"]}
    check(f"{name} /api/heatmap cells", len(got) == len(rows), f"api {len(got)} sql {len(rows)}")
    for r in rows:
        compare_row(f"{name} /api/heatmap {r['wd']}x{r['h']}", got.get((r["wd"], r["h"]), {}), r)
    # daily series and the hourly clicks series
    rows = sql(f"SELECT (ts / 86400000) * 86400 AS d, {SUMS} {WHERE} GROUP BY 1 ORDER BY 1", f)
    pts = api("/api/timeseries", dict(params, interval="day"))["points"]
    check(f"{name} /api/timeseries day points", len(pts) == len(rows), f"api {len(pts)} sql {len(rows)}")
    for p, r in zip(pts, rows):
        compare_row(f"{name} /api/timeseries day {p['t']}", p, r)
    rows = sql(f"SELECT (ts / 3600000) * 3600 AS h, SUM(clicks) AS c {WHERE} GROUP BY 1 ORDER BY 1", f)
    pts = api("/api/timeseries", dict(params, interval="hour", metric="clicks"))["points"]
    check(f"{name} /api/timeseries hour clicks",
          [p["value"] for p in pts] == [r["c"] for r in rows], "series differ")


def check_paging():
    """The grouped routes' pages: total, and the order of sort=[-]FIELD (ties by the key,
    nulls last), paged 3 rows at a time, equal the SQL's."""
    f = {"cursor": cursor, "from_s": -INF, "to_s": INF, "campaign": 0, "publisher": 0, "industry": "", "device": ""}
    for route, key, expr, text in (("/api/campaigns", "campaign_id", "campaign_id", False),
                                   ("/api/publishers", "publisher_id", "publisher_id", False),
                                   ("/api/industries", "industry", "industry", True),
                                   ("/api/devices", "device", "device", True)):
        rows = sql(f"SELECT {expr} AS k, {SUMS} {WHERE} GROUP BY 1", f)
        first = api(route, {})
        check(f"{route} total", first["total"] == len(rows), f"api {first['total']} sql {len(rows)}")
        check(f"{route} default page", (first["limit"], first["offset"], first["sort"]) == (100, 0, "-spend"),
              str((first["limit"], first["offset"], first["sort"])))
        for sort in ("-spend", "clicks", "-ctr", key, "-" + key):
            field, desc = sort.lstrip("-"), sort.startswith("-")

            def value(r):
                return r["k"] if field == key else (kpis_of(r) | r)[field]

            have = [r for r in rows if value(r) is not None]
            tie = sorted(have, key=lambda r: r["k"])
            want = sorted(tie, key=value, reverse=desc) if field != key else sorted(have, key=lambda r: r["k"], reverse=desc)
            want = [r["k"] for r in want] + sorted(r["k"] for r in rows if value(r) is None)
            got, off = [], 0
            while off < len(rows) + 3:
                page = api(route, {"sort": sort, "limit": 3, "offset": off})
                got += [r[key] for r in page["rows"]]
                off += 3
                if not page["rows"]:
                    break
            check(f"{route}?sort={sort} paged 3 at a time", got == want, f"api {got[:8]} sql {want[:8]}")
    for path, q in (("/api/devices", "sort=campaign_id"), ("/api/campaigns", "limit=0"),
                    ("/api/campaigns", "limit=1001"), ("/api/campaigns", "offset=-1"), ("/api/campaigns", "sort=nope")):
        try:
            urllib.request.urlopen(f"{base}{path}?{q}", timeout=30)
            check(f"{path}?{q} is 400", False, "got 200")
        except urllib.error.HTTPError as e:
            check(f"{path}?{q} is 400", e.code == 400, str(e.code))


def iso(s):
    import datetime
    return datetime.datetime.fromtimestamp(s, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


span = sql("SELECT MIN(ts) / 1000 AS lo, MAX(ts) / 1000 AS hi FROM tracking WHERE seq <= :c", {"c": cursor})[0]
lo, hi = span["lo"], span["hi"]
INF = 2**62
cases = [
    ("all time", {}, -INF, INF),
    # the last three days, from a time that is not on an hour: the API counts whole hours from the next one
    ("last 3 days", {"from": iso(hi - 3 * 86400 + 1234)}, ((hi - 3 * 86400 + 1234 + 3599) // 3600) * 3600, INF),
    ("a middle window", {"from": iso(lo + 2 * 86400), "to": iso(lo + 6 * 86400 + 1800)},
     ((lo + 2 * 86400 + 3599) // 3600) * 3600, ((lo + 6 * 86400 + 1800 + 3599) // 3600) * 3600),
    ("epoch ms bounds", {"from": str((lo + 86400) * 1000), "to": str((hi - 86400) * 1000)},
     ((lo + 86400 + 3599) // 3600) * 3600, ((hi - 86400 + 3599) // 3600) * 3600),
    ("campaign filter", {"campaign_id": "103", "from": iso(lo + 86400)}, ((lo + 86400 + 3599) // 3600) * 3600, INF),
    ("device filter", {"device": "desktop"}, -INF, INF),
    ("publisher + industry filter", {"publisher_id": "2", "industry": "IT", "to": iso(hi - 86400)},
     -INF, ((hi - 86400 + 3599) // 3600) * 3600),
]
for name, params, f, t in cases:
    run_case(name, params, f, t)
check_paging()
print(f"serve_check: {checks - fails} passed, {fails} failed")
sys.exit(1 if fails else 0)
