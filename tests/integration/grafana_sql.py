#!/usr/bin/env python3
"""The rawSql of deploy/grafana/dashboards/*.json with Grafana's MySQL macros
expanded to a time range, as Grafana's MySQL data source expands them.

usage: grafana_sql.py DASHBOARD.json FROM_UNIX TO_UNIX
Prints one JSON object per line: {"panel": title, "type": panel type,
"format": table|time_series, "sql": expanded SQL}. Exits 1 when a query has no
rawSql or uses a macro this script does not know.
"""
import json
import re
import sys

dash = json.load(open(sys.argv[1]))
t0, t1 = int(sys.argv[2]), int(sys.argv[3])
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def expand(sql):
    # $__timeFilter(col): col BETWEEN FROM_UNIXTIME(from) AND FROM_UNIXTIME(to)
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)",
                 lambda m: f"{m.group(1).strip()} BETWEEN FROM_UNIXTIME({t0}) AND FROM_UNIXTIME({t1})", sql)

    # $__timeGroupAlias(col, 'interval'): the bucket start in unix seconds, named time
    def group(m):
        col, iv = m.group(1).strip(), m.group(2).strip().strip("'\"")
        secs = int(iv[:-1]) * UNITS[iv[-1]]
        return f"UNIX_TIMESTAMP({col}) DIV {secs} * {secs} AS \"time\""
    sql = re.sub(r"\$__timeGroupAlias\(([^,]+),([^)]+)\)", group, sql)
    sql = sql.replace("$__timeFrom()", f"FROM_UNIXTIME({t0})").replace("$__timeTo()", f"FROM_UNIXTIME({t1})")
    left = re.findall(r"\$__\w+", sql)
    if left:
        raise SystemExit(f"unknown macro {left[0]}")
    return sql


bad = 0
for p in dash["panels"]:
    for t in p.get("targets", []):
        if not t.get("rawSql"):
            print(f"panel {p['title']}: no rawSql", file=sys.stderr)
            bad = 1
            continue
        print(json.dumps({"panel": p["title"], "type": p["type"], "format": t.get("format", "table"),
                          "sql": expand(t["rawSql"])}))
sys.exit(bad)
