#!/usr/bin/env python3
"""Peers for bench/bench_web.sh.

  web_peer.py post URL FILE BATCH [TOKEN]   POST FILE's NDJSON lines in batches over one
                                            keep-alive connection; prints seconds
  web_peer.py sql DB SECONDS THREADS NAME   run the API's SQL for NAME (kpis, hourly, daily)
                                            directly on the analytics store from THREADS
                                            threads with their own connections (sqlite3
                                            releases the GIL while a query runs); prints
                                            "p50_ms p99_ms queries_per_s"
"""
import http.client
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
    args = (now - days * 86400, now + 3600, 0, 0, None, None)
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


if sys.argv[1] == "post":
    post(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None)
else:
    sql(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
