#!/usr/bin/env python3
"""Events for t_campaign, and an independent recompute of `jobads pacing`.

usage: pacing_check.py events OUT.ndjson
       pacing_check.py check EVENTS.ndjson CAMPAIGNS.json ZONE NOW PACING.json PACING.csv

`events` writes deterministic events for campaigns 101..107 over January to
April 2026 (each campaign with its own hours and start). `check` recomputes the
pacing of every budgeted campaign from the raw events with zoneinfo (not the
store's offsets, nor its facts) by the rule docs/architecture.md gives, and
compares it field by field with the command's JSON, and the CSV with the JSON.
"""
import csv
import io
import json
import math
import random
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

BAND = 0.10
WEEKS = 4
FAILS = []


def check(what, ok, detail=""):
    if not ok:
        FAILS.append(f"{what}: {detail}")


# campaign -> (first day, last day, hours of the day it spends in, weekday weights)
PLAN = {
    101: (date(2026, 1, 20), date(2026, 4, 20), range(7, 12), [5, 5, 4, 4, 3, 1, 1]),  # weekday mornings
    102: (date(2026, 1, 20), date(2026, 4, 20), range(0, 24), [1] * 7),                # even, budget small
    103: (date(2026, 3, 10), date(2026, 4, 20), range(9, 18), [1] * 7),                # no history
    104: (date(2026, 2, 1), date(2026, 4, 20), range(12, 22), [1, 1, 1, 1, 1, 3, 3]),  # weekends
    105: (date(2026, 1, 20), date(2026, 4, 20), range(6, 23), [2, 2, 2, 2, 2, 1, 1]),  # a daily budget
    106: (date(2026, 1, 20), date(2026, 4, 20), range(0, 24), [1] * 7),                # no budget
    107: (date(2026, 1, 20), date(2026, 4, 20), range(8, 20), [1] * 7),                # flight from the 12th
}


def events(out):
    rnd = random.Random(17)
    z = ZoneInfo("Europe/Berlin")
    with open(out, "w") as f:
        for cid, (first, last, hours, wd) in PLAN.items():
            d = first
            while d <= last:
                for h in hours:
                    if rnd.random() < 0.55 * wd[d.weekday()] / max(wd):
                        local = datetime(d.year, d.month, d.day, h, rnd.randrange(60), rnd.randrange(60), tzinfo=z)
                        ts = int(local.timestamp())
                        cost = Decimal(rnd.randrange(50, 4000)) / 100  # exact cents
                        f.write(json.dumps({
                            "ts": datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "publisher_id": 1 + rnd.randrange(3), "publisher_name": "Pub",
                            "job_id": 1, "campaign_id": cid, "industry": "IT", "location": "Berlin",
                            "device": "mobile", "impressions": 100, "clicks": 5, "apply_count": 1,
                            "cost": str(cost), "quality_score": 50}) + "\n")
                d += timedelta(days=1)


def parse_day(s):
    return date.fromisoformat(s) if s else None


def midnight(z, d):
    return int(datetime(d.year, d.month, d.day, tzinfo=z).timestamp())


def local_date(z, t):
    return datetime.fromtimestamp(t, z).date()


def how(z, t):
    dt = datetime.fromtimestamp(t, z)
    return dt.weekday() * 24 + dt.hour


def hour_start(z, t):
    dt = datetime.fromtimestamp(t, z).replace(minute=0, second=0)
    return int(dt.timestamp())


def recompute(c, spend, z, now):
    """spend: {hour_start: micros} of the campaign"""
    d = local_date(z, now)
    per = c["per"]
    if per == "day":
        lo, hi = d, d + timedelta(days=1)
    elif per == "month":
        lo = d.replace(day=1)
        hi = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    else:
        lo, hi = parse_day(c["start"]), parse_day(c["end"]) + timedelta(days=1)
    if c["start"] and lo < parse_day(c["start"]):
        lo = parse_day(c["start"])
    if c["end"] and hi > parse_day(c["end"]) + timedelta(days=1):
        hi = parse_day(c["end"]) + timedelta(days=1)
    hi = max(hi, lo)
    f, t = midnight(z, lo), midnight(z, hi)
    hist = f - WEEKS * 7 * 86400
    B = c["budget_micros"]
    w = [0.0] * 168
    weeks = set()
    for hs, m in spend.items():
        if hist <= hs < f:
            w[how(z, hs)] += m
            if m > 0:
                weeks.add((f - 1 - hs) // (7 * 86400))
    hours = list(range(f, t, 3600))
    weight = [w[how(z, h)] for h in hours]
    shaped = len(weeks) == WEEKS and sum(weight) > 0
    if not shaped:
        weight = [1.0] * len(hours)
    frac = [1.0 if h + 3600 <= now else (now - h) / 3600.0 if h < now else 0.0 for h in hours]
    total = passed = 0.0
    for k in range(len(hours)):
        total += weight[k]
        passed += weight[k] * frac[k]
    share = passed / total if total > 0 else 0.0
    spent = sum(m for hs, m in spend.items() if f <= hs < min(now, t))
    expected = B * share
    r = {"period_start": lo.isoformat(), "period_end": (hi - timedelta(days=1)).isoformat() if hi > lo else None,
         "budget_micros": B, "spent_micros": spent, "expected_micros": math.floor(expected + 0.5),
         "projected_micros": math.floor(spent / share + 0.5) if share > 0 else None,
         "left_micros": max(B - spent, 0), "shape": "history" if shaped else "linear", "elapsed_share": share}
    if now < f or now >= t:
        r["state"] = "inactive"
    elif spent >= B:
        r["state"] = "exhausted"
    elif expected <= 0:
        r["state"] = "over-pacing" if spent > 0 else "on track"
    elif spent > expected * (1 + BAND):
        r["state"] = "over-pacing"
    elif spent < expected * (1 - BAND):
        r["state"] = "under-pacing"
    else:
        r["state"] = "on track"
    r["runs_out"] = None
    if spent >= B:
        cum = 0
        for h in hours:
            cum += spend.get(h, 0) if h < now else 0
            if cum >= B:
                r["runs_out"] = local_date(z, h).isoformat()
                break
    elif passed > 0 and spent > 0 and r["state"] != "inactive":
        rate, cum = spent / passed, float(spent)
        for k, h in enumerate(hours):
            if frac[k] >= 1.0:
                continue
            cum += rate * weight[k] * (1.0 - frac[k])
            if cum >= B:
                r["runs_out"] = local_date(z, h).isoformat()
                break
    return r


def check_all(evpath, campath, zone, now_text, jpath, cpath):
    z = ZoneInfo(zone)
    now = int(datetime.fromisoformat(now_text.replace("Z", "+00:00")).timestamp())
    spend = {}
    for line in open(evpath):
        e = json.loads(line)
        t = int(datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp())
        hs = hour_start(z, t)
        per = spend.setdefault(e["campaign_id"], {})
        per[hs] = per.get(hs, 0) + int(Decimal(e["cost"]) * 1000000)
    cams = json.load(open(campath))["campaigns"]
    doc = json.load(open(jpath))
    got = {r["campaign_id"]: r for r in doc["campaigns"]}
    want_ids = sorted(c["campaign_id"] for c in cams if c["budget_micros"] is not None)
    check("the budgeted campaigns, in id order", [r["campaign_id"] for r in doc["campaigns"]] == want_ids,
          f"{[r['campaign_id'] for r in doc['campaigns']]} vs {want_ids}")
    states = {}
    for c in cams:
        if c["budget_micros"] is None or c["campaign_id"] not in got:
            continue
        want = recompute(c, spend.get(c["campaign_id"], {}), z, now)
        g = got[c["campaign_id"]]
        states[c["campaign_id"]] = (want["state"], want["shape"])
        for k, v in want.items():
            if k in ("expected_micros", "projected_micros") and v is not None and g[k] is not None:
                ok = abs(g[k] - v) <= 1
            elif k == "elapsed_share":
                ok = abs(g[k] - v) <= 1e-12
            else:
                ok = g[k] == v
            check(f"campaign {c['campaign_id']} {k}", ok, f"jobads {g[k]!r}, recompute {v!r}")
        check(f"campaign {c['campaign_id']} name", g["campaign_name"] == c["campaign_name"], repr(g["campaign_name"]))
    rows = list(csv.DictReader(io.StringIO(open(cpath, newline="").read())))
    check("csv: a row per campaign", len(rows) == len(doc["campaigns"]), str(len(rows)))
    for row, j in zip(rows, doc["campaigns"]):
        for k in ("budget", "spent", "expected", "left", "projected"):
            jm = j[k + "_micros"]
            check(f"csv {j['campaign_id']} {k}", (row[k] == "" and jm is None) or
                  (row[k] != "" and Decimal(row[k]) * 1000000 == jm), f"{row[k]!r} vs {jm!r}")
        for k in ("state", "shape", "period_start", "period_end", "runs_out"):
            check(f"csv {j['campaign_id']} {k}", row[k] == (j[k] or ""), f"{row[k]!r} vs {j[k]!r}")
    print(json.dumps(states, sort_keys=True))
    if FAILS:
        for m in FAILS[:20]:
            print("FAIL:", m, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    if sys.argv[1] == "events":
        events(sys.argv[2])
    else:
        check_all(*sys.argv[2:8])
