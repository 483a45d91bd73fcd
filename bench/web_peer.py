#!/usr/bin/env python3
"""Peers for bench/bench_web.sh.

  web_peer.py post URL FILE BATCH [TOKEN]   POST FILE's NDJSON lines in batches over one
                                            keep-alive connection; prints seconds
  web_peer.py sql DB SECONDS THREADS NAME   run the API's SQL for NAME (kpis, hourly, daily)
                                            directly on the analytics store from THREADS
                                            threads with their own connections (sqlite3
                                            releases the GIL while a query runs); prints
                                            "p50_ms p99_ms queries_per_s"; pacing: the
                                            grouped query GET /api/pacing makes
  web_peer.py campaigns IN OUT K CSV        IN's events spread over K campaigns (ids 101..)
                                            into OUT, and a budget for each in CSV (as
                                            `jobads campaign load` reads): most per month,
                                            a tenth per day, a tenth a flight around now
"""
import calendar
import http.client
import json
import random
import sqlite3
import sys
import threading
import time
import urllib.parse

MEASURES = ("COALESCE(SUM(records), 0), COALESCE(SUM(impressions), 0), COALESCE(SUM(clicks), 0),"
            " COALESCE(SUM(applies), 0), COALESCE(SUM(cost_micros), 0), COALESCE(SUM(quality_sum), 0),"
            " TOTAL(ctr_sum), TOTAL(cpc_sum), TOTAL(cpa_sum), TOTAL(roi_sum) FROM fact_hourly f")
FILTER = (" WHERE hour_start >= ?1 AND hour_start < ?2 AND (?3 = 0 OR campaign_id = ?3)"
          " AND (?4 = 0 OR publisher_id = ?4) AND (?5 IS NULL OR industry = ?5)"
          " AND (?6 IS NULL OR device = ?6)")
SQL = {  # the statements of src/store/sqlite/analytics.c, with the same binds
    "kpis": ("SELECT 0, NULL, " + MEASURES + FILTER, 30),
    "hourly": ("SELECT hour_start, NULL, " + MEASURES + FILTER + " GROUP BY 1 ORDER BY 1", 365),
    "daily": ("SELECT (hour_start / 86400) * 86400, NULL, " + MEASURES + FILTER + " GROUP BY 1 ORDER BY 1", 365),
    # the month so far and the four weeks of history before it (days: set in sql())
    "pacing": ("SELECT hour_start, NULL, 0, 0, 0, 0, COALESCE(SUM(cost_micros), 0), 0, 0, 0, 0, 0,"
               " campaign_id FROM fact_hourly f" + FILTER + " GROUP BY hour_start, campaign_id", None),
}


def post(url, path, batch, token):
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    lines = open(path, "rb").read().splitlines(keepends=True)
    headers = {"Content-Type": "application/x-ndjson"}
    if token:
        headers["Authorization"] = "Bearer " + token
    t0 = time.monotonic()
    for i in range(0, len(lines), batch):
        conn.request("POST", "/api/events", b"".join(lines[i:i + batch]), headers)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise SystemExit(f"POST failed: {r.status} {body[:200]!r}")
    print(f"{time.monotonic() - t0:.3f}")


def sql(db, secs, threads, name):
    stmt, days = SQL[name]
    now = int(time.time())
    if days is None:  # from 28 days before the UTC month's first day
        t = time.gmtime(now)
        days = 28 + (now - calendar.timegm((t.tm_year, t.tm_mon, 1, 0, 0, 0))) / 86400
    args = (int(now - days * 86400), now + 3600, 0, 0, None, None)
    lat, lock = [], threading.Lock()
    stop = time.monotonic() + secs

    def worker():
        c = sqlite3.connect(db, check_same_thread=False)
        mine = []
        while time.monotonic() < stop:
            t = time.monotonic()
            c.execute(stmt, args).fetchall()
            mine.append(time.monotonic() - t)
        with lock:
            lat.extend(mine)

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    lat.sort()
    print(f"{lat[len(lat) // 2] * 1000:.2f} {lat[int(len(lat) * 0.99)] * 1000:.2f} {len(lat) / secs:.0f}")


def campaigns(src, dst, k, csv_path):
    rnd = random.Random(17)
    with open(src) as f, open(dst, "w") as out:
        for line in f:
            e = json.loads(line)
            e["campaign_id"] = 101 + rnd.randrange(k)
            out.write(json.dumps(e) + "\n")
    now = time.time()
    start = time.strftime("%Y-%m-%d", time.gmtime(now - 20 * 86400))
    end = time.strftime("%Y-%m-%d", time.gmtime(now + 10 * 86400))
    with open(csv_path, "w") as out:
        out.write("campaign_id,name,start,end,budget,per\n")
        for i in range(k):
            kind = rnd.random()
            per, s, e = ("day", "", "") if kind < 0.1 else ("flight", start, end) if kind < 0.2 else ("month", "", "")
            budget = {"day": 20, "month": 600, "flight": 600}[per] * rnd.uniform(0.5, 2)
            out.write(f"{101 + i},Campaign {101 + i},{s},{e},{budget:.2f},{per}\n")


if sys.argv[1] == "post":
    post(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None)
elif sys.argv[1] == "campaigns":
    campaigns(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
else:
    sql(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
