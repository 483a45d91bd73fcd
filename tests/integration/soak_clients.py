#!/usr/bin/env python3
"""Clients for t_soak.sh: the writers of a long-running pipeline.

  soak_clients.py feed FILE START STATE STOP RATE
      Write FILE's lines from line START to stdout (a pipe into `jobads ingest`),
      RATE lines a second. STATE/pos holds the next line to write; STATE/max the
      furthest any feeder got. Once STOP exists it goes on until it has passed the
      furthest point an earlier feeder reached, closes stdout and exits 0. A feeder
      whose reader died (EPIPE) exits 3.

  soak_clients.py post FILE URL STATE STOP BATCH RATE
      POST FILE's lines to URL (NDJSON, BATCH lines a request, RATE requests a
      second), like a client that retries: a batch is re-sent until the server
      answers 200 (connection refused, a reset, a timeout, a 5xx are retried).
      STATE/acked holds how many lines the server has confirmed, STATE/slowest
      the longest a batch took from first try to its 200. Once STOP
      exists it finishes the batch in hand and exits 0.

Every line a writer sends before it stops is an event the pipeline must count
exactly once; t_soak.sh recomputes the expected totals from those lines.
"""
import http.client
import os
import sys
import time
import urllib.parse


def write_state(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(value))
    os.replace(tmp, path)


def read_state(path, default=0):
    try:
        with open(path) as f:
            return int(f.read().strip() or default)
    except FileNotFoundError:
        return default


def feed(path, start, state, stop, rate):
    lines = open(path, "rb").read().splitlines(keepends=True)
    furthest = read_state(os.path.join(state, "max"))
    pos = start
    out = sys.stdout.buffer
    period = 1.0 / rate
    next_t = time.monotonic()
    try:
        while pos < len(lines):
            if os.path.exists(stop) and pos >= furthest:
                break
            out.write(lines[pos])
            out.flush()
            pos += 1
            write_state(os.path.join(state, "pos"), pos)
            if pos > furthest:
                furthest = pos
                write_state(os.path.join(state, "max"), furthest)
            next_t += period
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    except BrokenPipeError:
        # the ingest was killed: what it had not committed is re-sent by the next feeder
        try:
            sys.stdout = None
        finally:
            os._exit(3)
    out.close()
    return 0


def post(path, url, state, stop, batch, rate):
    lines = open(path, "rb").read().splitlines(keepends=True)
    u = urllib.parse.urlsplit(url)
    acked = read_state(os.path.join(state, "acked"))
    period = 1.0 / rate
    retries = 0
    slowest = 0.0
    while acked < len(lines) and not os.path.exists(stop):
        body = b"".join(lines[acked:acked + batch])
        t0 = time.monotonic()
        deadline = t0 + 60
        while True:
            try:
                c = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
                c.request("POST", u.path, body, {"Content-Type": "application/x-ndjson"})
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    break
                if r.status < 500:
                    print(f"soak post: HTTP {r.status} for lines {acked}..", file=sys.stderr)
                    return 1
            except (OSError, http.client.HTTPException):
                pass
            retries += 1
            if time.monotonic() > deadline:
                print(f"soak post: no 200 for lines {acked}.. within 60 s", file=sys.stderr)
                return 1
            time.sleep(0.1)
        acked += len(lines[acked:acked + batch])
        write_state(os.path.join(state, "acked"), acked)
        took = time.monotonic() - t0
        if took > 1:
            print(f"soak post: {time.strftime('%H:%M:%S')} lines {acked - batch}.. took {took:.2f} s"
                  f" ({retries} retries so far)", file=sys.stderr)
        slowest = max(slowest, took)
        write_state(os.path.join(state, "slowest"), round(slowest, 3))
        delay = period - (time.monotonic() - t0)
        if delay > 0:
            time.sleep(delay)
    write_state(os.path.join(state, "retries"), retries)
    return 0


def main(argv):
    if len(argv) >= 6 and argv[1] == "feed":
        return feed(argv[2], int(argv[3]), argv[4], argv[5], float(argv[6]))
    if len(argv) >= 8 and argv[1] == "post":
        return post(argv[2], argv[3], argv[4], argv[5], int(argv[6]), float(argv[7]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
