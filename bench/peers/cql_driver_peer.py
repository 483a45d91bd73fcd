#!/usr/bin/env python3
"""The DataStax Python driver doing what jobads' Cassandra event store does, as a peer.

usage: cql_driver_peer.py write HOST PORT KEYSPACE EVENTS.ndjson
       cql_driver_peer.py read HOST PORT KEYSPACE

write  the same requests jobads' ingest sends (src/store/cassandra/write.c), with
       the same concurrency (internal.h: blocks of 256 rows, 64 requests in
       flight): per block, each key claimed on event_keys with INSERT ... IF NOT
       EXISTS, the block's partition recorded in buckets, the claimed rows in one
       unlogged batch into events_by_bucket, and each row into tracking. KEYSPACE
       is made by `jobads init` beforehand, so the tables are the same.
read   the same paged reads as jobads' ETL scan: the partitions listed in
       buckets, each read with SELECT of every column, 5,000 rows a page, each
       row decoded into Python values.
Prints "rows N secs S rate R" (wall clock of the requests, reading the file and
connecting excluded).
"""
import json
import sys
import time
import uuid
from datetime import datetime
from decimal import Decimal

from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.query import BatchStatement, BatchType
from cassandra.util import uuid_from_time

BLOCK = 256
WINDOW = 64
PAGE = 5000
SHARDS = 16
COLS = ("event_id, ts, publisher_id, publisher_name, publisher_traffic, publisher_quality, bid,"
        " job_id, campaign_id, industry, location, impressions, clicks, apply_count, cost,"
        " quality_score, device, hour, day_of_week")


def row_values(r):
    """One NDJSON record of `jobads generate` as the row's values (ts in ms, which the driver binds)."""
    ts = int(datetime.fromisoformat(r["ts"].replace("Z", "+00:00")).timestamp() * 1000)
    t = time.gmtime(ts / 1000)
    return (uuid.UUID(r["event_id"]), ts, r["publisher_id"], r["publisher_name"],
            r.get("publisher_traffic", ""), r.get("publisher_quality", ""), r.get("bid", 0),
            r.get("job_id", 0), r["campaign_id"], r["industry"], r["location"], r["impressions"],
            r["clicks"], r["apply_count"], float(Decimal(str(r["cost"]))), r["quality_score"],
            r["device"], t.tm_hour, t.tm_wday + 1)


def write(s, ks, path):
    rows = [row_values(json.loads(line)) for line in open(path)]
    bucket_ms = s.execute(f"SELECT bucket_ms FROM {ks}.jobads_schema WHERE store = 'events'").one()[0]
    claim = s.prepare(f"INSERT INTO {ks}.event_keys (event_id, ts, bucket, shard, id)"
                      " VALUES (?, ?, ?, ?, ?) IF NOT EXISTS")
    index = s.prepare(f"INSERT INTO {ks}.buckets (day, bucket, shard) VALUES (?, ?, ?)")
    ins = s.prepare(f"INSERT INTO {ks}.events_by_bucket (bucket, shard, id, {COLS})"
                    f" VALUES ({', '.join(['?'] * 22)})")
    orig = s.prepare(f"INSERT INTO {ks}.tracking ({COLS}) VALUES ({', '.join(['?'] * 19)})")
    t0 = time.monotonic()
    stored = 0
    for b in range(0, len(rows), BLOCK):
        block = rows[b:b + BLOCK]
        now = time.time()
        bucket = int(now * 1000) // bucket_ms * bucket_ms
        shard = (b // BLOCK) % SHARDS
        ids = [uuid_from_time(now) for _ in block]
        res = execute_concurrent_with_args(
            s, claim, [(r[0], r[1], bucket, shard, i) for r, i in zip(block, ids)],
            concurrency=WINDOW)
        mine = [(r, i) for (ok, rs), r, i in zip(res, block, ids) if ok and rs.one()[0]]
        s.execute(index, (bucket // 86400000, bucket, shard))
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        for r, i in mine:
            batch.add(ins, (bucket, shard, i) + r)
        if mine:
            s.execute(batch)
        execute_concurrent_with_args(s, orig, [r for r, _ in mine], concurrency=WINDOW)
        stored += len(mine)
    return stored, time.monotonic() - t0


def read(s, ks):
    t0 = time.monotonic()
    parts = []
    for day in [r[0] for r in s.execute(f"SELECT DISTINCT day FROM {ks}.buckets")]:
        parts += [(r[0], r[1]) for r in s.execute(
            f"SELECT bucket, shard FROM {ks}.buckets WHERE day = %s", (day,))]
    sel = s.prepare(f"SELECT id, {COLS} FROM {ks}.events_by_bucket WHERE bucket = ? AND shard = ?")
    sel.fetch_size = PAGE
    n = 0
    for bucket, shard in parts:
        for row in s.execute(sel, (bucket, shard)):
            n += 1
            _ = (row.campaign_id, row.impressions, row.cost, row.ts)
    return n, time.monotonic() - t0


def main():
    if len(sys.argv) < 5 or (sys.argv[1] == "write" and len(sys.argv) < 6):
        print(__doc__, file=sys.stderr)
        return 2
    cmd, host, port, ks = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    cluster = Cluster([host], port=port)
    s = cluster.connect()
    if cmd == "write":
        n, secs = write(s, ks, sys.argv[5])
    elif cmd == "read":
        n, secs = read(s, ks)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    cluster.shutdown()
    print(f"rows {n} secs {secs:.3f} rate {n / secs:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
