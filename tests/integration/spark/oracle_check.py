#!/usr/bin/env python3
"""Compare jobads' seed-compatible views with what the original's PySpark job wrote.

usage: oracle_check.py ANALYTICS.db DIR

DIR holds one TSV file per summary table, as the mariadb client printed it
(-N -B): TABLE.tsv with the original's columns in their order. The same
columns are read from the views of the SQLite analytics store. Counts must be
equal exactly, ratio means (avg_*, quality) within 1e-9 relative. Prints one
line per difference and exits 1 if there is any; otherwise prints what it
compared.
"""
import math
import sqlite3
import sys

TABLES = {
    "campaign_summary": ("campaign_id", ["total_impressions", "total_clicks", "total_applies"],
                         ["avg_ctr", "avg_cpc", "avg_cpa", "avg_roi"], []),
    "publisher_summary": ("publisher_id", ["total_impressions", "total_clicks", "total_applies"],
                          ["avg_quality_score", "avg_ctr", "avg_cpc", "avg_cpa", "avg_roi"],
                          ["publisher_name"]),
    "industry_summary": ("industry", ["clicks", "applications"], ["quality"], []),
    "hourly_stats": ("hour", ["impressions", "clicks", "applies"], [], []),
    "daily_stats": ("day_of_week", ["clicks", "applies"], [], []),
}


def main():
    db, d = sys.argv[1], sys.argv[2]
    con = sqlite3.connect(db)
    bad, cells = [], 0
    for table, (key, counts, means, texts) in TABLES.items():
        cols = [key] + counts + means + texts
        mine = {str(r[0]): r[1:] for r in con.execute(f"SELECT {', '.join(cols)} FROM {table}")}
        theirs = {}
        for line in open(f"{d}/{table}.tsv"):
            f = line.rstrip("\n").split("\t")
            theirs[f[0]] = f[1:]
        if sorted(mine) != sorted(theirs):
            bad.append(f"{table}: keys differ: jobads {sorted(mine)}, the original {sorted(theirs)}")
            continue
        for k in sorted(theirs):
            for i, c in enumerate(counts + means + texts):
                a, b = mine[k][i], theirs[k][i]
                cells += 1
                if c in counts:
                    ok = int(a) == int(b)
                elif c in means:
                    ok = math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
                else:
                    ok = str(a) == b
                if not ok:
                    bad.append(f"{table} {key}={k} {c}: jobads {a!r}, the original {b!r}")
    for b in bad:
        print(b)
    if not bad:
        print(f"{len(TABLES)} summaries, {cells} cells equal")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
