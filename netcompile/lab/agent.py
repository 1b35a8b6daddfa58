"""The lab's agent, run inside a namespace with `ip netns exec NS python -I -S agent.py ...`.

Standard library only and no netcompile imports, so it starts in milliseconds with `-S`.

    agent.py serve NAME SPEC...   SPEC = tcp:ADDR:PORT or udp:ADDR:PORT (ADDR IPv4 or IPv6); prints
                                  `ready` once every socket is bound, then answers each TCP connection
                                  and UDP datagram with one JSON line
                                  {"pod": NAME, "peer": SOURCE-ADDRESS, "port": LOCAL-PORT}.
    agent.py probe                reads a JSON list of probes {id, protocol, src, dst, port, timeout} on
                                  stdin, runs them all at once (one thread each), prints one JSON line per
                                  probe as it finishes: {id, status, pod, peer, port, ms, error}.
                                  status: answered | refused (TCP reset, ICMP port unreachable)
                                  | unreachable (ICMP host/network unreachable) | prohibited (ICMPv6
                                  administratively prohibited) | blocked (EPERM: the sender's own
                                  netfilter dropped it) | timeout | error.
"""

from __future__ import annotations

import errno
import json
import selectors
import socket
import sys
import threading
import time
from typing import Any

REFUSED = {errno.ECONNREFUSED, errno.ECONNRESET}
UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH}
PROHIBITED = {errno.EACCES}
BLOCKED = {errno.EPERM}


def family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def serve(name: str, specs: list[str]) -> int:
    sel = selectors.DefaultSelector()
    for spec in specs:
        proto, _, rest = spec.partition(":")
        addr, _, port = rest.rpartition(":")
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        sock = socket.socket(family(addr), kind)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((addr, int(port)))
        except OSError as exc:
            print(f"error: cannot bind {spec}: {exc.strerror}", flush=True)
            return 1
        if kind == socket.SOCK_STREAM:
            sock.listen(256)
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ, proto)
    print("ready", flush=True)

    def answer(peer: str, port: int) -> bytes:
        return (json.dumps({"pod": name, "peer": peer, "port": port}) + "\n").encode()

    while True:
        for key, _ in sel.select():
            listener = key.fileobj
            if not isinstance(listener, socket.socket):
                continue
            port = listener.getsockname()[1]
            try:
                if key.data == "tcp":
                    conn, peer = listener.accept()
                    with conn:
                        conn.setblocking(True)
                        conn.settimeout(1.0)
                        conn.sendall(answer(peer[0], port))
                else:
                    _, peer = listener.recvfrom(2048)
                    listener.sendto(answer(peer[0], port), peer)
            except OSError:
                continue


def probe_one(p: dict[str, Any]) -> dict[str, Any]:
    timeout = float(p["timeout"])
    tcp = p["protocol"] == "TCP"
    sock = socket.socket(family(p["dst"]), socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
    out: dict[str, Any] = {"id": p["id"], "status": "error", "pod": None, "peer": None, "port": None, "error": None}
    start = time.monotonic()
    try:
        sock.settimeout(timeout)
        sock.bind((p["src"], 0))
        sock.connect((p["dst"], int(p["port"])))
        if tcp:
            data = b""
            while not data.endswith(b"\n"):
                sock.settimeout(max(0.01, timeout - (time.monotonic() - start)))
                chunk = sock.recv(2048)
                if not chunk:
                    break
                data += chunk
        else:
            try:
                sock.send(b"probe\n")
            except PermissionError:
                # The sender's own output hook refused the datagram. A `reject` there also sends an ICMP
                # port unreachable back to this socket, which the next recv reports (ECONNREFUSED); a
                # drop sends nothing, and the recv times out: EPERM alone does not tell the two apart.
                sock.settimeout(max(0.01, timeout - (time.monotonic() - start)))
                try:
                    sock.recv(2048)
                except TimeoutError:
                    raise PermissionError(errno.EPERM, "dropped by the sender's own netfilter") from None
                raise PermissionError(errno.EPERM, "sent nothing back") from None  # pragma: no cover
            data = sock.recv(2048)
        reply = json.loads(data.decode())
        out.update(status="answered", pod=reply["pod"], peer=reply["peer"], port=reply["port"])
    except TimeoutError:
        out["status"] = "timeout"
    except OSError as exc:
        if exc.errno in REFUSED:
            out["status"] = "refused"
        elif exc.errno in UNREACHABLE:
            out["status"] = "unreachable"
        elif exc.errno in PROHIBITED:
            out["status"] = "prohibited"
        elif exc.errno in BLOCKED:
            out["status"] = "blocked"
        out["error"] = exc.strerror or str(exc)
    except ValueError as exc:
        out["error"] = f"bad answer: {exc}"
    finally:
        sock.close()
    out["ms"] = round((time.monotonic() - start) * 1000, 1)
    return out


def probe() -> int:
    probes = json.load(sys.stdin)
    lock = threading.Lock()

    def run(p: dict[str, Any]) -> None:
        result = probe_one(p)
        with lock:
            sys.stdout.write(json.dumps(result) + "\n")
            sys.stdout.flush()

    threads = [threading.Thread(target=run, args=(p,)) for p in probes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 0


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "serve":
        try:
            return serve(argv[1], argv[2:])
        except KeyboardInterrupt:
            return 0
    if argv == ["probe"]:
        return probe()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
