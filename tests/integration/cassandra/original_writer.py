#!/usr/bin/env python3
"""Write the original stack's job_ads.tracking table with the DataStax Python driver.

usage: original_writer.py HOST PORT KEYSPACE COUNT SEED EXPECTED.tsv [--no-bad]
                          [--days-ago FROM,TO]

Creates KEYSPACE (SimpleStrategy, replication_factor 1) and its table tracking
with the original's columns (../shared/seed/original-stack-facts.md), then
inserts COUNT records the way the original fake_generator.py did, one prepared
INSERT per record: a publisher and a job chosen uniformly, the bid in the
publisher's range, cost = clicks * bid as a double, ts over the past 30 days in
no order (--days-ago: between FROM and TO days before an hour ago). Then, unless
--no-bad, a few rows no input may carry, each a reason to reject it.
Writes the good rows to EXPECTED.tsv (event_id, ts_ms, publisher_id, job_id,
campaign_id, impressions, clicks, apply_count, cost_micros, quality_score,
device, location; sorted by event_id) and prints the bad rows' event_ids.
"""
import argparse
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

from cassandra.cluster import Cluster

PUBLISHERS = [(1, "Facebook Ads", 2, 6, "HIGH", "MED"), (2, "Google Ads", 15, 25, "HIGH", "HIGH"),
              (3, "LinkedIn", 30, 50, "MED", "HIGH"), (4, "TikTok Ads", 1, 3, "HIGH", "LOW"),
              (5, "TopCV", 10, 18, "MED", "MED"), (6, "VietnamWorks", 20, 30, "MED", "HIGH"),
              (7, "CareerBuilder", 15, 20, "LOW", "MED"), (8, "Indeed", 8, 15, "HIGH", "MED"),
              (9, "Zalo Ads", 3, 8, "HIGH", "LOW"), (10, "Admicro", 2, 5, "MED", "LOW")]
INDUSTRIES = ["IT", "Sales", "Marketing", "Finance", "HR", "Logistics", "Healthcare", "Education",
              "Banking", "Data"]
LOCATIONS = ["HCM", "HN", "DN", "HP"]

COLUMNS = ("event_id, ts, publisher_id, publisher_name, publisher_traffic, publisher_quality, bid,"
           " job_id, campaign_id, industry, location, impressions, clicks, apply_count, cost,"
           " quality_score, device, hour, day_of_week")


def main():
    ap = argparse.ArgumentParser()
    for a in ("host", "port", "keyspace", "count", "seed", "expected"):
        ap.add_argument(a)
    ap.add_argument("--no-bad", action="store_true", help="no rows to reject")
    ap.add_argument("--days-ago", default="0,30", help="FROM,TO: the ts range, in days before an hour ago")
    a = ap.parse_args()
    host, port, ks, count, seed, out = a.host, int(a.port), a.keyspace, int(a.count), int(a.seed), a.expected
    d_from, d_to = (float(x) for x in a.days_ago.split(","))
    rnd = random.Random(seed)
    cluster = Cluster([host], port=port)
    s = cluster.connect()
    s.execute(f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication ="
              " {'class': 'SimpleStrategy', 'replication_factor': 1}")
    s.execute(f"""CREATE TABLE IF NOT EXISTS {ks}.tracking (
        event_id uuid PRIMARY KEY, ts timestamp, publisher_id int, publisher_name text,
        publisher_traffic text, publisher_quality text, bid int, job_id int, campaign_id int,
        industry text, location text, impressions int, clicks int, apply_count int, cost double,
        quality_score int, device text, hour int, day_of_week int)""")
    ins = s.prepare(f"INSERT INTO {ks}.tracking ({COLUMNS}) VALUES ({', '.join(['?'] * 19)})")
    now = int(time.time() * 1000) - 3600 * 1000
    good = []
    futures = []
    for _ in range(count):
        pid, pname, lo, hi, traffic, quality = rnd.choice(PUBLISHERS)
        job = rnd.randint(1, 10)
        bid = rnd.randint(lo, hi)
        impressions = rnd.randint(50, 4000)
        clicks = rnd.randint(0, impressions // 12)
        applies = rnd.randint(0, clicks // 4) if clicks else 0
        ts = now - rnd.randint(int(d_from * 86400 * 1000), int(d_to * 86400 * 1000))
        t = time.gmtime(ts / 1000)
        row = (uuid.UUID(int=rnd.getrandbits(128), version=4), ts, pid, pname, traffic, quality, bid,
               job, 100 + job, rnd.choice(INDUSTRIES), rnd.choice(LOCATIONS), impressions, clicks,
               applies, float(clicks * bid), rnd.randint(0, 100), rnd.choice(["mobile", "desktop"]),
               t.tm_hour, t.tm_wday + 1)
        # the driver writes a timestamp from a datetime, as the original's generator did
        futures.append(s.execute_async(ins, (row[0], datetime.fromtimestamp(ts / 1000, timezone.utc)) + row[2:]))
        good.append(row)
        if len(futures) >= 200:
            for f in futures:
                f.result()
            futures = []
    for f in futures:
        f.result()
    # rows that break one rule each: the import must reject them, naming why
    bad = []
    base = list(good[0])
    for field, value in () if a.no_bad else (
            ("clicks", -5), ("campaign_id", None), ("cost", float("nan")),
            ("ts", datetime.now(timezone.utc) + timedelta(days=2)), ("publisher_name", "")):
        r = list(base)
        r[0] = uuid.UUID(int=rnd.getrandbits(128), version=4)
        r[1] = datetime.fromtimestamp(r[1] / 1000, timezone.utc)
        r[COLUMNS.replace(" ", "").split(",").index(field)] = value
        s.execute(ins, r)
        bad.append((str(r[0]), field))
    cluster.shutdown()
    with open(out, "w") as f:
        for r in sorted(good, key=lambda r: str(r[0])):
            f.write("\t".join(str(x) for x in (r[0], r[1], r[2], r[7], r[8], r[11], r[12], r[13],
                                                int(round(r[14] * 1000000)), r[15], r[16], r[10])) + "\n")
    for eid, field in bad:
        print(eid, field)


if __name__ == "__main__":
    main()
