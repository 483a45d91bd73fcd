"""A hostile client against a running `jobads serve` on loopback (t_serve_hostile.sh).

usage: hostile_client.py BASE_URL ADMIN_TOKEN THREADS SERVE_PID

While a prober asks GET /api/health on a fresh connection every 100 ms (each
answer must come within 1 s), it holds idle connections beyond the worker count,
sends headers and bodies a byte at a time, declares 8 MiB bodies it never sends,
posts from foreign origins and hosts, with wrong content types and with
ambiguous framing, posts huge values and a batch of a thousand campaigns and
publishers. Prints "FAIL: ..." for each broken expectation and a summary line;
exits 1 when anything failed.
"""
import http.client
import json
import socket
import sys
import threading
import time
import urllib.parse

BASE, ADMIN, THREADS, PID = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
U = urllib.parse.urlparse(BASE)
HOST, PORT = U.hostname, U.port
fails = []
checks = 0
lock = threading.Lock()


def check(what, ok, detail=""):
    global checks
    with lock:
        checks += 1
        if not ok:
            fails.append(what)
            print(f"FAIL: {what}{': ' + str(detail) if detail else ''}", flush=True)


def request(method, path, body=None, headers=None, timeout=10):
    c = http.client.HTTPConnection(HOST, PORT, timeout=timeout)
    try:
        c.request(method, path, body, headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def raw(data, timeout=5):
    """Send raw bytes on a new connection; the status of the reply (0: none)."""
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    try:
        s.sendall(data)
        got = b""
        while b"\r\n" not in got:
            part = s.recv(4096)
            if not part:
                break
            got += part
        return int(got.split(b" ")[1]) if got.startswith(b"HTTP/") else 0
    except (socket.timeout, ConnectionError):
        return 0
    finally:
        s.close()


# ---- the prober ----
probe_times = []
probe_errors = []
stop_probe = threading.Event()


def prober():
    while not stop_probe.is_set():
        t0 = time.monotonic()
        try:
            st, _ = request("GET", "/api/health", timeout=3)
            dt = time.monotonic() - t0
            probe_times.append(dt)
            if st != 200 or dt >= 1.0:
                probe_errors.append(f"{st} in {dt:.2f} s at t={t0 - T0:.1f}")
        except OSError as e:
            probe_errors.append(f"{type(e).__name__} after {time.monotonic() - t0:.2f} s at t={t0 - T0:.1f}")
        stop_probe.wait(0.1)


def events_stored():
    st, body = request("GET", "/api/health")
    return json.loads(body)["events_stored"]


T0 = time.monotonic()
probe = threading.Thread(target=prober, daemon=True)
probe.start()

# ---- idle connections, four times the worker count, reopened if the server drops them ----
stop_idle = threading.Event()


def idle_holder():
    while not stop_idle.is_set():
        try:
            s = socket.create_connection((HOST, PORT), timeout=5)
        except OSError:
            time.sleep(0.05)
            continue
        try:
            s.settimeout(4)
            s.recv(1)  # until the server gives up on it
        except OSError:
            pass
        s.close()


idle = [threading.Thread(target=idle_holder, daemon=True) for _ in range(4 * THREADS)]
for t in idle:
    t.start()
time.sleep(4)
stop_idle.set()
for t in idle:
    t.join(10)

# ---- headers a byte at a time (slowloris) beyond the worker count: these hold a
# worker for header_timeout each, so half as many again as there are workers
# delay the probes by at most one header_timeout ----
def slow_headers():
    s = socket.create_connection((HOST, PORT), timeout=10)
    t0 = time.monotonic()
    try:
        for b in b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100:
            s.sendall(bytes([b]))
            time.sleep(0.2)
    except OSError:
        pass
    held = time.monotonic() - t0
    s.close()
    with lock:
        slow_held.append(held)


slow_held = []
sl = [threading.Thread(target=slow_headers, daemon=True) for _ in range(THREADS + THREADS // 2)]
for t in sl:
    t.start()
for t in sl:
    t.join(30)
check("a header sent a byte every 200 ms is cut off within 3 s", max(slow_held) < 3, f"held {max(slow_held):.1f} s")

# ---- bodies a byte at a time: cut off by the minimum rate, not held ----
def slow_body(results):
    s = socket.create_connection((HOST, PORT), timeout=10)
    t0 = time.monotonic()
    status = 0
    try:
        s.sendall(b"POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\n"
                  b"Content-Length: 100000\r\n\r\n")
        s.settimeout(0.01)
        for _ in range(12):  # 6 s, then give up
            s.sendall(b"{")
            try:
                got = s.recv(4096)
                if got.startswith(b"HTTP/"):
                    status = int(got.split(b" ")[1])
                    break
                if not got:
                    break
            except socket.timeout:
                pass
            time.sleep(0.5)
    except OSError:
        pass
    with lock:
        results.append((status, time.monotonic() - t0))
    s.close()


bodies = []
sb = [threading.Thread(target=slow_body, args=(bodies,), daemon=True) for _ in range(THREADS // 2)]
for t in sb:
    t.start()
for t in sb:
    t.join(60)
check("slow bodies get an answer", all(st in (400, 408) for st, _ in bodies), bodies)
check("a body trickled at 2 bytes/s is cut off within 4 s", max(d for _, d in bodies) < 4, bodies)

# ---- an 8 MiB Content-Length reserves nothing before the bytes come ----
def vm_data():
    """The server's writable private memory (malloc grows it as it reserves, even
    before the pages are touched)."""
    for line in open(f"/proc/{PID}/status"):
        if line.startswith("VmData:"):
            return int(line.split()[1]) * 1024
    return 0


before = vm_data()
held = []
for _ in range(THREADS // 2):
    s = socket.create_connection((HOST, PORT), timeout=10)
    s.sendall(b"POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\n"
              b"Content-Length: 8388000\r\n\r\n{")
    held.append(s)
time.sleep(0.3)
grown = vm_data() - before
for s in held:
    s.close()
check("declared 8 MiB bodies do not reserve memory", grown < 8 << 20, f"VmData grew {grown >> 20} MiB")

# ---- foreign origins, hosts and content types inject nothing ----
n0 = events_stored()
ev = json.dumps({"ts": int(time.time() * 1000), "publisher_id": 1, "publisher_name": "p", "job_id": 1,
                 "campaign_id": 7, "industry": "i", "location": "l", "device": "d", "impressions": 1,
                 "clicks": 1, "apply_count": 0, "cost": "0.5", "quality_score": 50}) + "\n"
for what, hdrs, want in [
    ("text/plain from a foreign page", {"Content-Type": "text/plain", "Origin": "http://evil.example"}, (403, 415)),
    ("text/plain with no origin", {"Content-Type": "text/plain"}, (415,)),
    ("a form post", {"Content-Type": "application/x-www-form-urlencoded"}, (415,)),
    ("JSON from a foreign origin", {"Content-Type": "application/json", "Origin": "http://evil.example"}, (403,)),
    ("JSON from another local port", {"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{PORT + 1}"}, (403,)),
    ("an opaque origin", {"Content-Type": "application/json", "Origin": "null"}, (403,)),
    ("a rebinding host", {"Content-Type": "application/json", "Host": f"evil.example:{PORT}"}, (421,)),
]:
    st, body = request("POST", "/api/events", ev, hdrs)
    check(f"{what}: {want}", st in want, f"{st} {body[:120]!r}")
for path in ("/api/kpis", "/metrics", "/"):
    st, _ = request("GET", path, None, {"Host": f"rebind.example:{PORT}"})
    check(f"a rebinding host cannot read {path}", st == 421, st)
check("nothing was stored by them", events_stored() == n0, f"{n0} -> {events_stored()}")
st, _ = request("POST", "/api/events", ev, {"Content-Type": "application/x-ndjson; charset=utf-8",
                                            "Origin": f"http://127.0.0.1:{PORT}"})
check("the server's own origin may post", st == 200, st)

# ---- ambiguous framing ----
head = f"POST /api/events HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nContent-Type: application/x-ndjson\r\n"
body = ev.encode()
for what, extra in [
    ("two different Content-Lengths", f"Content-Length: {len(body)}\r\nContent-Length: 3\r\n"),
    ("the same Content-Length twice", f"Content-Length: {len(body)}\r\nContent-Length: {len(body)}\r\n"),
    ("Content-Length with Transfer-Encoding", f"Content-Length: {len(body)}\r\nTransfer-Encoding: chunked\r\n"),
    ("a Content-Length list", f"Content-Length: {len(body)}, {len(body)}\r\n"),
    ("a Content-Length with a sign", f"Content-Length: +{len(body)}\r\n"),
]:
    st = raw((head + extra + "\r\n").encode() + body)
    check(f"{what} is 400", st == 400, st)

# ---- huge values: refused or stored, never a 5xx ----
now = int(time.time() * 1000)
huge = []
for i, (k, v) in enumerate([("cost", 1e12), ("cost", "999999999999.999999"), ("impressions", 10 ** 9),
                            ("clicks", 10 ** 9), ("cost", 1e300), ("impressions", 10 ** 30), ("bid", 2 ** 63)]):
    e = json.loads(ev)
    e["ts"] = now - i * 3600 * 1000
    e[k] = v
    huge.append(json.dumps(e))
st, body = request("POST", "/api/events", "\n".join(huge), {"Content-Type": "application/x-ndjson"})
check("huge values: no 5xx", st < 500, f"{st} {body[:200]!r}")

# ---- a thousand campaigns and publishers in one chunk ----
batch = []
for i in range(1000):
    e = json.loads(ev)
    e.update(campaign_id=100000 + i, publisher_id=50000 + i, publisher_name=f"pub {i}", cost=str(i % 97 + 1))
    batch.append(json.dumps(e))
st, body = request("POST", "/api/events", "\n".join(batch), {"Content-Type": "application/x-ndjson"})
check("a thousand campaigns and publishers are accepted", st == 200 and json.loads(body)["accepted"] == 1000,
      f"{st} {body[:200]!r}")
st, body = request("POST", "/api/runs", None, {"Authorization": "Bearer " + ADMIN})
check("the ETL runs over them", st == 200, f"{st} {body[:200]!r}")
for route in ("/api/kpis", "/api/campaigns", "/api/publishers", "/api/industries", "/api/devices",
              "/api/heatmap", "/api/timeseries", "/metrics"):
    st, body = request("GET", route)
    check(f"{route} after the hostile batches: no 5xx", st < 500, f"{st} {body[:200]!r}")
st, body = request("GET", "/api/campaigns")
page = json.loads(body)
check("/api/campaigns is one page of 100 with the total", len(page["rows"]) == 100 and page["total"] >= 1000,
      {k: page.get(k) for k in ("total", "limit", "offset", "sort")} | {"rows": len(page["rows"])})

stop_probe.set()
probe.join(5)
check("the prober ran throughout", len(probe_times) > 20, len(probe_times))
check("/api/health answered every probe within 1 s", not probe_errors, "; ".join(probe_errors[:8]))
pt = sorted(probe_times) or [0]
print(f"probes: {len(pt)}, median {pt[len(pt) // 2] * 1000:.0f} ms, slowest {pt[-1] * 1000:.0f} ms, "
      f"{len(probe_errors)} failed; "
      f"run {time.monotonic() - T0:.1f} s")
print(f"hostile_client.py: {checks - len(fails)} passed, {len(fails)} failed")
sys.exit(1 if fails else 0)
