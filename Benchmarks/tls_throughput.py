"""ws:// against wss:// receive throughput for 1 MiB messages (issue #3's figure).

A raw-socket server on 127.0.0.1 answers the handshake, then writes N prebuilt
binary frames of 1 MiB in large chunks and a Close, over plain TCP or TLS (the
same certificate either way, minted with trustme). The client under test is
`wsc -w -1 URL > /dev/null`; each run is verified (wsc's byte count on stdout
and exit 0) and timed as a whole process. Prints a markdown table of medians.

    .venv/bin/python Benchmarks/tls_throughput.py --wsc .build/release/wsc [--runs 5] [--messages 256]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import platform
import socket
import ssl
import statistics
import struct
import subprocess
import tempfile
import threading
import time

import trustme

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SIZE = 1 << 20


def frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def serve(listener: socket.socket, ctx: ssl.SSLContext | None, body: bytes, stop: threading.Event) -> None:
    listener.settimeout(0.5)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        conn.settimeout(30)
        try:
            if ctx is not None:
                conn = ctx.wrap_socket(conn, server_side=True)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    raise ConnectionError("no request")
                request += chunk
            key = next(l.split(b":", 1)[1].strip() for l in request.split(b"\r\n") if l.lower().startswith(b"sec-websocket-key"))
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            view = memoryview(body)
            for i in range(0, len(body), 4 << 20):
                conn.sendall(view[i:i + (4 << 20)])
            # The client's Close answers ours; then close TCP first, as a server should
            # (RFC 6455 §7.1.1), so the client does not wait out its linger time.
            conn.settimeout(10)
            conn.recv(65536)
        except (OSError, ConnectionError, StopIteration):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--wsc", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--messages", type=int, default=256)
    args = ap.parse_args()

    payload = os.urandom(SIZE)
    body = frame(2, payload) * args.messages + frame(8, struct.pack("!H", 1000))
    ca = trustme.CA()
    tmp = tempfile.mkdtemp()
    ca_path = os.path.join(tmp, "ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)

    rows = []
    for scheme, ctx in (("ws", None), ("wss", server_ctx)):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        stop = threading.Event()
        thread = threading.Thread(target=serve, args=(listener, ctx, body, stop), daemon=True)
        thread.start()
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            p = subprocess.run([args.wsc, "-w", "-1", "--ca", ca_path, f"{scheme}://localhost:{port}/"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
            elapsed = time.perf_counter() - start
            expected = (SIZE + 1) * args.messages
            if p.returncode != 0 or len(p.stdout) != expected:
                raise SystemExit(f"{scheme}: exit {p.returncode}, {len(p.stdout)} of {expected} bytes: {p.stderr[-300:]!r}")
            times.append(elapsed)
        stop.set()
        thread.join()
        listener.close()
        med = statistics.median(times)
        rows.append((scheme, med, args.messages * SIZE / med / 1e6))

    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; "
          f"{args.messages} × 1 MiB binary messages, median of {args.runs} runs")
    print()
    print("| transport | time (median) | throughput |")
    print("|---|---:|---:|")
    for scheme, med, mbps in rows:
        print(f"| {scheme}:// | {med:.3f} s | {mbps:.0f} MB/s |")
    ratio = rows[1][1] / rows[0][1]
    print()
    print(f"wss:// takes {ratio:.2f}× the time of ws://")


if __name__ == "__main__":
    main()
