"""Issue 15: 500 clients connected to ``wsc -l`` at once all get every broadcast, in
order, and the server's threads and memory follow the number of clients (one I/O
thread each, DESIGN.md §2) and come back down when they leave."""

from __future__ import annotations

import asyncio
import os

from websockets.asyncio.client import connect

from helpers import wait_until
from test_listen import listen  # noqa: F401  (fixture)

CLIENTS = 500
LINES = 20
# Measured: 35 MiB for 500 clients in a debug build, about 70 KiB each (threads,
# queues, protocol state; 1,000 and 6,000 clients in Docs/Performance.md). It was
# 168 MiB while every connection zero-filled its 256 KiB read buffer (issue 17): the
# ceiling catches that coming back (+125 MiB), or any other 256 KiB per client.
RSS_CEILING_KIB = 96 * 1024


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_500_clients_at_once_get_every_broadcast_in_order(listen):
    srv = listen(["--no-subprotocol"])
    pid = srv.proc.pid
    idle_threads = threads(pid)

    async def main() -> list[list[str]]:
        clients = []
        for _ in range(CLIENTS):
            clients.append(await connect(srv.url, compression=None, open_timeout=20, ping_interval=None))
        assert wait_until(lambda: threads(pid) >= idle_threads + CLIENTS, 20), threads(pid)
        peak = (threads(pid), rss_kib(pid))
        # Every client is connected: now broadcast.
        srv.proc.write(b"".join(b"line %d\n" % i for i in range(LINES)))

        async def read_all(ws) -> list[str]:
            return [await asyncio.wait_for(ws.recv(), 30) for _ in range(LINES)]

        got = await asyncio.gather(*(read_all(ws) for ws in clients))
        await asyncio.gather(*(ws.close() for ws in clients))
        return got, peak

    got, (peak_threads, peak_rss) = asyncio.run(main())
    expected = [f"line {i}" for i in range(LINES)]
    assert all(g == expected for g in got), [g for g in got if g != expected][:1]
    assert peak_threads <= idle_threads + CLIENTS + 4, (idle_threads, peak_threads)
    assert peak_rss < RSS_CEILING_KIB, peak_rss
    # Everyone left: the per-client threads are gone again.
    assert wait_until(lambda: threads(pid) <= idle_threads, 20), (idle_threads, threads(pid))
    assert srv.wait_stderr(f"client {CLIENTS} disconnected", 20), srv.stderr()[-500:]
    print(f"{CLIENTS} clients: {peak_threads} threads (idle {idle_threads}), RSS {peak_rss // 1024} MiB")


def test_a_broadcast_leaves_no_large_buffer_behind_in_500_idle_clients(listen):
    """Issue 17: each connection kept the output buffer a broadcast had grown (about the
    broadcast's size: 80 KiB here, 40 MiB over 500 clients), so 10,000 clients after a
    broadcast of 1,000 lines took 570 MiB instead of 220. A connection with nothing left
    to write now frees it before it waits."""
    srv = listen(["--no-subprotocol"])
    pid = srv.proc.pid
    lines = [b"%04d " % i + b"x" * 1995 for i in range(40)]

    async def main() -> tuple[int, int, bool]:
        clients = [
            await connect(srv.url, compression=None, open_timeout=20, ping_interval=None, max_size=None)
            for _ in range(CLIENTS)
        ]
        await asyncio.sleep(0.5)
        before = rss_kib(pid)
        srv.proc.write(b"".join(line + b"\n" for line in lines))
        expected = [line.decode() for line in lines]

        async def read_all(ws) -> bool:
            return [await asyncio.wait_for(ws.recv(), 30) for _ in lines] == expected

        ok = all(await asyncio.gather(*(read_all(ws) for ws in clients)))
        await asyncio.sleep(0.5)
        after = rss_kib(pid)
        await asyncio.gather(*(ws.close() for ws in clients))
        return before, after, ok

    before, after, ok = asyncio.run(main())
    assert ok, "a client did not get the broadcast in order"
    # Measured: +8 MiB now (deeper thread stacks, about 16 KiB a client), +32 MiB when
    # every connection kept its buffer.
    assert after - before < 16 * 1024, f"RSS {before // 1024} MiB idle, {after // 1024} MiB after the broadcast"
