"""The independent recompute for t_tz.sh: the raw events' local hour of day,
weekday, (weekday, hour) cells and local days in a zone, with the standard
library's zoneinfo, compared with what jobads shows.

  tz_check.py events.tsv ZONE KIND FILE
    KIND hourly   FILE: hourly_stats as TSV (hour, impressions, clicks, applies, records, cost_micros)
    KIND daily    FILE: daily_stats as TSV (day_of_week, ...)
    KIND report   FILE: report --format json (its hours and weekdays)
    KIND heatmap  FILE: /api/heatmap JSON
    KIND days     FILE: /api/timeseries?interval=day JSON

events.tsv: ts_ms, impressions, clicks, apply_count, cost_micros per line.
Prints OK or each difference, and exits 1 on any.
"""
import collections
import datetime
import json
import sys
import zoneinfo

events_path, zone, kind, path = sys.argv[1:5]
z = zoneinfo.ZoneInfo(zone)
MEAS = ("impressions", "clicks", "applies", "records", "cost_micros")


def local(ts_ms):
    # floor to the second, as jobads does, then the wall clock in the zone
    return datetime.datetime.fromtimestamp(ts_ms // 1000, tz=datetime.timezone.utc).astimezone(z)


def day_start_utc(d):
    # the first instant of local date d (no test zone changes its clock at midnight)
    t = datetime.datetime(d.year, d.month, d.day, tzinfo=z).astimezone(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


by = {k: collections.defaultdict(lambda: [0] * 5) for k in ("hour", "wd", "cell", "day")}
for line in open(events_path):
    ts, imp, clk, app, cost = map(int, line.split("\t"))
    t = local(ts)
    keys = {"hour": t.hour, "wd": t.isoweekday(), "cell": (t.isoweekday(), t.hour),
            "day": day_start_utc(t.date())}
    for k, key in keys.items():
        v = by[k][key]
        for i, x in enumerate((imp, clk, app, 1, cost)):
            v[i] += x

bad = []


def cmp(what, want, got):
    for key in sorted(set(want) | set(got), key=str):
        if want.get(key) != got.get(key):
            bad.append("%s %s %s: want %s, got %s" % (zone, what, key, want.get(key), got.get(key)))


def tsv(p):
    out = {}
    for line in open(p):
        f = line.rstrip("\n").split("\t")
        out[int(f[0])] = [int(float(x)) for x in f[1:6]]
    return out


if kind == "hourly":
    cmp("hourly_stats hour", dict(by["hour"]), tsv(path))
elif kind == "daily":
    cmp("daily_stats day_of_week", dict(by["wd"]), tsv(path))
elif kind == "report":
    d = json.load(open(path))
    if d["range"].get("tz") != zone:
        bad.append("report range.tz: want %s, got %s" % (zone, d["range"].get("tz")))
    cmp("report hour", dict(by["hour"]), {r["hour"]: [r[m] for m in MEAS] for r in d["hours"]})
    cmp("report weekday", dict(by["wd"]),
        {r["day_of_week"]: [r[m] for m in MEAS] for r in d["weekdays"]})
elif kind == "heatmap":
    d = json.load(open(path))
    if d.get("tz") != zone:
        bad.append("heatmap tz: want %s, got %s" % (zone, d.get("tz")))
    cmp("heatmap (weekday, hour)", dict(by["cell"]),
        {(c["weekday"], c["hour"]): [c[m] for m in MEAS] for c in d["cells"]})
elif kind == "days":
    d = json.load(open(path))
    if d.get("tz") != zone:
        bad.append("timeseries tz: want %s, got %s" % (zone, d.get("tz")))
    cmp("timeseries day", dict(by["day"]),
        {p["t"]: [p[m] for m in MEAS] for p in d["points"]})
else:
    sys.exit("tz_check.py: unknown kind " + kind)
for b in bad[:20]:
    print("FAIL", b)
print("OK" if not bad else "%d differences" % len(bad), kind, zone, "(%d events)" % sum(v[3] for v in by["hour"].values()))
sys.exit(1 if bad else 0)
