#!/usr/bin/env python3
"""The CSV exports against the JSON of the same query, cell for cell.

usage: export_check.py report REPORT.json REPORT.csv
       export_check.py api BASE

Every cell of a CSV parsed back by the csv module must equal the JSON value of
the same row and column: integers as their exact digits, money (spend) with six
decimals that are exactly cost_micros / 10^6, ratios the same double, NULL as an
empty cell, text as itself, except text that a spreadsheet would run as a
formula, which must come back with OWASP's leading quote. Prints one line per
check; exits 1 when any failed.
"""
import csv
import io
import json
import re
import sys
import urllib.request
from decimal import Decimal

FORMULA = ("=", "+", "-", "@", "\t", "\r")
NUMERIC = {"records", "impressions", "clicks", "applies", "cost_micros", "spend", "ctr", "cpc",
           "cpa", "apply_rate", "roi", "avg_quality_score", "campaign_id", "publisher_id",
           "hour", "day_of_week", "weekday", "value"}
checks = fails = 0


def check(what, ok, detail=""):
    global checks, fails
    checks += 1
    if not ok:
        fails += 1
        print(f"FAIL {what}: {detail}")


def cell_ok(col, want, got, row, metric=None):
    """Whether CSV text got stands for the JSON value want in column col."""
    if want is None:
        return got == ""
    if isinstance(want, bool):
        return False
    if col == "spend" or (col == "value" and metric == "spend"):
        if not re.fullmatch(r"-?\d+\.\d{6}", got):
            return False
        if "cost_micros" in row and Decimal(got) * 10**6 != Decimal(str(row["cost_micros"])):
            return False
        return float(got) == want
    if isinstance(want, int):
        return got == str(want)
    if isinstance(want, float):
        return float(got) == want and re.fullmatch(r"-?[0-9.e+-]+", got) is not None
    if col in NUMERIC:  # a sum past int64: JSON has its exact digits as a string
        return got == want
    if want.startswith(FORMULA):
        return got == "'" + want
    return got == want


def compare_rows(what, jrows, header, crows, metric=None):
    check(f"{what}: as many rows", len(jrows) == len(crows), f"{len(jrows)} JSON, {len(crows)} CSV")
    if jrows:
        check(f"{what}: the header is the JSON's fields", header == list(jrows[0].keys()),
              f"{header} vs {list(jrows[0].keys())}")
    bad = []
    for i, (j, c) in enumerate(zip(jrows, crows)):
        if len(c) != len(header):
            bad.append(f"row {i}: {len(c)} cells")
            continue
        for col, got in zip(header, c):
            if not cell_ok(col, j.get(col), got, j, metric):
                bad.append(f"row {i} {col}: JSON {j.get(col)!r}, CSV {got!r}")
    check(f"{what}: every cell equals the JSON", not bad, "; ".join(bad[:5]))


def parse_csv(text, what):
    check(f"{what}: rows end in CRLF", text.endswith("\r\n"), repr(text[-20:]))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def neutral_ok(what, header, rows):
    """No text cell starts a formula; numbers may start with '-'."""
    bad = [c for r in rows for col, c in zip(header, r) if col not in NUMERIC and c.startswith(FORMULA)]
    check(f"{what}: no text cell starts a formula", not bad, repr(bad[:3]))


def report(jpath, cpath):
    doc = json.load(open(jpath))
    text = open(cpath, newline="").read()
    header, rows = parse_csv(text, "report")
    keys = ["section", "campaign_id", "campaign_name", "publisher_id", "publisher_name", "industry", "device",
            "hour", "day_of_week"]
    check("report: the header", header[: len(keys)] == keys and header[len(keys):] == list(doc["total"].keys()),
          repr(header))
    neutral_ok("report", header, rows)
    for sec in [k for k in doc if k != "range"]:
        jrows = [doc[sec]] if sec == "total" else doc[sec]
        crows = [r for r in rows if r[0] == sec]
        check(f"report {sec}: as many rows", len(jrows) == len(crows), f"{len(jrows)} vs {len(crows)}")
        bad = []
        for i, (j, c) in enumerate(zip(jrows, crows)):
            for col, got in zip(header[1:], c[1:]):
                if col in j:
                    if not cell_ok(col, j[col], got, j):
                        bad.append(f"row {i} {col}: JSON {j[col]!r}, CSV {got!r}")
                elif got != "":
                    bad.append(f"row {i} {col}: not a field of {sec}, yet {got!r}")
        check(f"report {sec}: every cell equals the JSON", not bad, "; ".join(bad[:5]))
    check("report: no row outside the sections",
          len(rows) == 1 + sum(len(doc[k]) for k in doc if k not in ("range", "total")), str(len(rows)))
    return rows


def get(base, path):
    with urllib.request.urlopen(base + path) as r:
        return r.status, dict(r.headers), r.read().decode("utf-8")


def api(base):
    routes = [
        ("/api/campaigns", "rows"), ("/api/campaigns?sort=campaign_id&limit=7&offset=3", "rows"),
        ("/api/campaigns?sort=-ctr&limit=1000", "rows"), ("/api/publishers?limit=1000", "rows"),
        ("/api/publishers?sort=publisher_name&limit=1000", "rows"),
        ("/api/publishers?publisher_id=901", "rows"), ("/api/industries", "rows"),
        ("/api/devices?sort=device", "rows"), ("/api/devices?device=mobile", "rows"),
        ("/api/kpis", "total"), ("/api/kpis?from=now-2d&campaign_id=101", "total"),
        ("/api/heatmap", "cells"), ("/api/timeseries", "points"),
        ("/api/timeseries?interval=day", "points"), ("/api/timeseries?metric=clicks", "points"),
        ("/api/timeseries?interval=day&metric=spend", "points"),
        ("/api/timeseries?metric=ctr", "points"), ("/api/timeseries?metric=cpa&interval=day", "points"),
    ]
    pubs = None
    for path, member in routes:
        sep = "&" if "?" in path else "?"
        _, _, jtext = get(base, path)
        doc = json.loads(jtext)
        st, hdr, text = get(base, path + sep + "format=csv")
        check(f"{path}: 200", st == 200, str(st))
        check(f"{path}: text/csv", hdr.get("Content-Type") == "text/csv; charset=utf-8", hdr.get("Content-Type"))
        name = path.split("?")[0].rsplit("/", 1)[1]
        check(f"{path}: a download", hdr.get("Content-Disposition") == f'attachment; filename="{name}.csv"',
              hdr.get("Content-Disposition"))
        header, rows = parse_csv(text, path)
        jrows = [doc[member]] if member == "total" else doc[member]
        compare_rows(path, jrows, header, rows, doc.get("metric"))
        neutral_ok(path, header, rows)
        if path == "/api/publishers?limit=1000":
            pubs = (header, rows, text)
    header, rows, text = pubs
    names = {r[0]: r[1] for r in rows}
    check("=HYPERLINK(\"x\") comes back neutralised", names.get("901") == "'=HYPERLINK(\"x\")", repr(names.get("901")))
    check("... quoted in the file as OWASP says", "901,\"'=HYPERLINK(\"\"x\"\")\"," in text, "")
    check("a comma, a quote and a newline come back intact", names.get("902") == 'a,b "c"\nd', repr(names.get("902")))
    check("+, @ and - are neutralised too",
          names.get("903") == "'+1" and names.get("904") == "'@SUM(A1)" and names.get("905") == "'-2+3",
          repr([names.get(k) for k in ("903", "904", "905")]))


if __name__ == "__main__":
    if sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3])
    else:
        api(sys.argv[2])
    print(f"export_check: {checks - fails} passed, {fails} failed")
    sys.exit(1 if fails else 0)
