#!/usr/bin/env python3
"""compare= and report --compare against the same queries asked for the earlier range.

usage: compare_check.py api BASE FROM TO
       compare_check.py report CMP.json EARLIER.json

api: for every route that takes compare= (kpis, campaigns, publishers, industries,
devices, heatmap, timeseries by hour and day, JSON and CSV), with previous and
year, the earlier range the reply names must be the one compare.h defines, every
"previous" must equal what the route answers for that range asked directly, and
every "change" must be (cur - prev) / |prev| * 100 recomputed here from the two,
null where the earlier value is 0 or null. report: the same for one compared
report against a plain report of the earlier range. Prints one line per failed
check and a summary; exits 1 when any failed.
"""
import csv
import io
import json
import sys
import urllib.parse
import urllib.request
from datetime import datetime, timezone

CHANGE = ["records", "impressions", "clicks", "applies", "spend", "ctr", "cpc", "cpa",
          "apply_rate", "roi", "avg_quality_score"]
METRICS = ["records", "impressions", "clicks", "applies", "cost_micros", "spend", "ctr", "cpc",
           "cpa", "apply_rate", "roi", "avg_quality_score"]
YEAR = 364 * 86400
checks = fails = 0


def check(what, ok, detail=""):
    global checks, fails
    checks += 1
    if not ok:
        fails += 1
        print(f"FAIL {what}: {detail}")


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def want_change(cur, prev, k):
    c = cur.get(k) if cur else None
    p = prev.get(k) if prev else 0
    if c is None or p is None or p == 0:
        return None
    return (c - p) / abs(p) * 100.0


def same_metrics(what, got, want):
    for k in METRICS:
        check(f"{what} {k}", close(got.get(k), want.get(k)) if isinstance(want.get(k), float)
              or isinstance(got.get(k), float) else got.get(k) == want.get(k),
              f"{got.get(k)!r} != {want.get(k)!r}")


def check_changes(what, change, cur, prev):
    for k in CHANGE:
        check(f"{what} change {k}", close(change.get(k), want_change(cur, prev, k)),
              f"{change.get(k)!r} != {want_change(cur, prev, k)!r}")


def iso_s(t):
    return int(datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp())


def get(base, path, params):
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url) as r:
        body = r.read().decode()
    return body if params.get("format") == "csv" else json.loads(body)


def row_key(route, r):
    keys = {"/api/campaigns": ("campaign_id",), "/api/publishers": ("publisher_id",),
            "/api/industries": ("industry",), "/api/devices": ("device",),
            "/api/heatmap": ("weekday", "hour")}[route]
    return tuple(r[k] for k in keys)


def api(base, frm, to):
    f0, t0 = iso_s(frm), iso_s(to)
    for mode in ("previous", "year"):
        pf, pt = (f0 - (t0 - f0), f0) if mode == "previous" else (f0 - YEAR, t0 - YEAR)
        earlier = {"from": datetime.fromtimestamp(pf, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                   "to": datetime.fromtimestamp(pt, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        base_q = {"from": frm, "to": to, "compare": mode}
        k = get(base, "/api/kpis", base_q)
        check(f"{mode} kpis: compare.mode", k["compare"]["mode"] == mode, k["compare"])
        check(f"{mode} kpis: the earlier range", (iso_s(k["compare"]["range"]["from"]),
              iso_s(k["compare"]["range"]["to"])) == (pf, pt), k["compare"]["range"])
        direct = get(base, "/api/kpis", earlier)
        same_metrics(f"{mode} kpis previous", k["previous"], direct["total"])
        plain = get(base, "/api/kpis", {"from": frm, "to": to})
        same_metrics(f"{mode} kpis total unchanged", k["total"], plain["total"])
        check_changes(f"{mode} kpis", k["change"], k["total"], k["previous"])
        for route in ("/api/campaigns", "/api/publishers", "/api/industries", "/api/devices",
                      "/api/heatmap"):
            page = {"limit": 1000} if route != "/api/heatmap" else {}
            got = get(base, route, {**base_q, **page})
            member = "cells" if route == "/api/heatmap" else "rows"
            d = get(base, route, {**earlier, **page})
            direct = {row_key(route, r): r for r in d[member]}
            check(f"{mode} {route}: has rows", len(got[member]) > 0)
            for r in got[member]:
                w = direct.get(row_key(route, r))
                if w is None:
                    check(f"{mode} {route} {row_key(route, r)} previous is null", r["previous"] is None,
                          r["previous"])
                else:
                    same_metrics(f"{mode} {route} {row_key(route, r)} previous", r["previous"], w)
                check_changes(f"{mode} {route} {row_key(route, r)}", r["change"], r, r["previous"])
            if route == "/api/heatmap":
                continue
            # CSV: the previous_ and change_pct_ cells are the JSON's
            text = get(base, route, {**base_q, **page, "format": "csv"})
            rows = list(csv.DictReader(io.StringIO(text)))
            check(f"{mode} {route} csv: a row per group", len(rows) == len(got[member]),
                  f"{len(rows)} != {len(got[member])}")
            for c, r in zip(rows, got[member]):
                for m in CHANGE:
                    v = r["change"][m]
                    cell = c[f"change_pct_{m}"]
                    check(f"{mode} {route} csv change_pct_{m}",
                          (cell == "" and v is None) or (cell != "" and v is not None and close(float(cell), v)),
                          f"{cell!r} vs {v!r}")
                p = r["previous"]
                cell = c["previous_records"]
                check(f"{mode} {route} csv previous_records",
                      (cell == "" and p is None) or (p is not None and cell == str(p["records"])),
                      f"{cell!r} vs {p and p['records']!r}")
        for interval in ("hour", "day"):
            got = get(base, "/api/timeseries", {**base_q, "interval": interval})
            d = get(base, "/api/timeseries", {**earlier, "interval": interval})
            check(f"{mode} timeseries {interval}: previous_points are the earlier range's",
                  got["previous_points"] == d["points"],
                  f"{len(got['previous_points'])} vs {len(d['points'])} points")
            plain = get(base, "/api/timeseries", {"from": frm, "to": to, "interval": interval})
            check(f"{mode} timeseries {interval}: points unchanged", got["points"] == plain["points"])


def report(cmp_path, earlier_path):
    c = json.load(open(cmp_path))
    e = json.load(open(earlier_path))
    check("report: the earlier range", c["compare"]["range"] == e["range"],
          f"{c['compare']['range']} != {e['range']}")
    same_metrics("report previous", c["previous"], e["total"])
    check_changes("report total", c["change"], c["total"], c["previous"])
    for sec, keys in (("campaigns", ("campaign_id",)), ("publishers", ("publisher_id",)),
                      ("industries", ("industry",)), ("devices", ("device",)),
                      ("hours", ("hour",)), ("weekdays", ("day_of_week",))):
        direct = {tuple(r[k] for k in keys): r for r in e[sec]}
        check(f"report {sec}: has rows", len(c[sec]) > 0)
        for r in c[sec]:
            key = tuple(r[k] for k in keys)
            w = direct.get(key)
            if w is None:
                check(f"report {sec} {key} previous null", r["previous"] is None, r["previous"])
            else:
                same_metrics(f"report {sec} {key} previous", r["previous"], w)
            check_changes(f"report {sec} {key}", r["change"], r, r["previous"])


if __name__ == "__main__":
    if sys.argv[1] == "api":
        api(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        report(sys.argv[2], sys.argv[3])
    print(f"{checks - fails} of {checks} checks passed")
    sys.exit(1 if fails else 0)
