#!/usr/bin/env python3
"""Independent recompute for t_prune.sh: the per-hour sums of every event ever
ingested (NDJSON files, as jobads generate writes them), each event counted
once by (ts, event_id) as the event stores do, in the local hours of a zone
(the standard library's zoneinfo). Prints hour_start|records|impressions|
clicks|applies|cost_micros, one line per hour, in hour order.

usage: prune_check.py ZONE FILE..."""
import json
import sys
from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def hour_start(ts_ms, zone):
    t = datetime.fromtimestamp(ts_ms // 1000, timezone.utc).astimezone(zone)
    return int(t.replace(minute=0, second=0, microsecond=0).timestamp())


def main():
    zone = ZoneInfo(sys.argv[1])
    seen = set()
    sums = defaultdict(lambda: [0, 0, 0, 0, 0])
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                ev = json.loads(line)
                ts = datetime.fromisoformat(ev["ts"].replace("Z", "+00:00"))
                d = ts - EPOCH  # exact, no float
                ts_ms = d.days * 86400000 + d.seconds * 1000 + d.microseconds // 1000
                key = (ts_ms, ev["event_id"].lower())
                if key in seen:
                    continue
                seen.add(key)
                s = sums[hour_start(ts_ms, zone)]
                s[0] += 1
                s[1] += ev["impressions"]
                s[2] += ev["clicks"]
                s[3] += ev["apply_count"]
                s[4] += int(Decimal(str(ev["cost"])) * 1000000)
    for h in sorted(sums):
        print("|".join(str(v) for v in [h] + sums[h]))


main()
