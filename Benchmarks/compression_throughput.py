#!/usr/bin/env python3
"""Compressed-throughput figure for Docs/Performance.md.

Starts a local Python `websockets` echo server (compression on, then off), pipes
N messages of 16 MiB of compressible text (JSON-like records on one line) into
`wsc --count N`, and reports MB/s of payload echoed (sent + received, wall time
of the whole wsc run, handshake included), best of R runs.

    .venv/bin/python Benchmarks/compression_throughput.py [--wsc .build/release/wsc] [-n 4] [-r 3]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import threading
import time

from websockets.asyncio.server import serve


def start_server(compression: str | None) -> int:
    ready = threading.Event()
    port: list[int] = []

    async def echo(ws):
        async for m in ws:
            await ws.send(m)

    async def main():
        async with serve(echo, "127.0.0.1", 0, compression=compression, max_size=None, ping_interval=None) as s:
            port.append(s.sockets[0].getsockname()[1])
            ready.set()
            await asyncio.Future()

    threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()
    ready.wait(10)
    return port[0]


def message(size: int) -> bytes:
    out = bytearray()
    i = 0
    while len(out) < size:
        out += b'{"id":%d,"user":"user%d","event":"click","path":"/items/%d","ok":true} ' % (i, i % 97, i % 1013)
        i += 1
    return bytes(out[:size])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--wsc", default=".build/release/wsc")
    ap.add_argument("-n", type=int, default=4, help="messages per run")
    ap.add_argument("-r", type=int, default=3, help="runs (best is reported)")
    ap.add_argument("--size", type=int, default=16 << 20)
    args = ap.parse_args()
    data = (message(args.size) + b"\n") * args.n
    for compression, flags in (("deflate", []), (None, ["--no-compression"])):
        port = start_server(compression)
        best = None
        for _ in range(args.r):
            t0 = time.monotonic()
            p = subprocess.run(
                [args.wsc, f"ws://127.0.0.1:{port}/", "--count", str(args.n), "-w", "60", *flags],
                input=data, capture_output=True,
            )
            dt = time.monotonic() - t0
            assert p.returncode == 0 and len(p.stdout) == len(data), (p.returncode, len(p.stdout), p.stderr[-300:])
            best = dt if best is None else min(best, dt)
        mb = 2 * args.n * args.size / 1e6
        label = "permessage-deflate" if compression else "no compression"
        print(f"{label:20s} {args.n} x {args.size >> 20} MiB echoed in {best:.2f} s: {mb / best:.0f} MB/s")


if __name__ == "__main__":
    main()
