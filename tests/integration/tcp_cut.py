#!/usr/bin/env python3
"""tcp_cut.py - a loopback TCP proxy that cuts every connection once a byte
budget is spent, to fail a store in the middle of a request at a chosen point.

    tcp_cut.py TARGET_PORT PORT_FILE DIR

Listens on a free 127.0.0.1 port (written to PORT_FILE) and forwards to
127.0.0.1:TARGET_PORT. DIR/count holds the bytes forwarded from clients so far;
when DIR/budget holds a number, the connections are cut (and new ones refused)
as soon as the clients' bytes would pass it.
"""
import os
import select
import socket
import sys
import threading

target, port_file, ctl = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lock = threading.Lock()
sent = 0
cut = False
conns = []


def budget():
    try:
        with open(os.path.join(ctl, "budget")) as f:
            return int(f.read().strip() or "-1")
    except (OSError, ValueError):
        return -1


def cut_all():
    global cut
    cut = True
    for s in conns:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


def pump(client, server):
    global sent
    socks = [client, server]
    try:
        while not cut:
            ready, _, _ = select.select(socks, [], [], 0.2)
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                with lock:
                    if cut:
                        return
                    if s is client:
                        b = budget()
                        if b >= 0 and sent + len(data) > b:
                            server.sendall(data[: max(0, b - sent)])
                            sent = b
                            cut_all()
                            return
                        sent += len(data)
                        with open(os.path.join(ctl, "count.tmp"), "w") as f:
                            f.write(str(sent))
                        os.replace(os.path.join(ctl, "count.tmp"), os.path.join(ctl, "count"))
                        server.sendall(data)
                    else:
                        client.sendall(data)
    except OSError:
        return


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(16)
with open(port_file + ".tmp", "w") as f:
    f.write(str(ls.getsockname()[1]))
os.replace(port_file + ".tmp", port_file)
while True:
    c, _ = ls.accept()
    if cut:
        c.close()
        continue
    s = socket.create_connection(("127.0.0.1", target))
    with lock:
        conns.extend([c, s])
    threading.Thread(target=pump, args=(c, s), daemon=True).start()
