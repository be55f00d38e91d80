"""REF: a strict, well-behaved Python ``websockets`` 17 server in a thread.

Each :class:`Ref` runs its own asyncio loop in a background thread and serves
on 127.0.0.1 on an ephemeral port. Handlers are coroutines ``handler(ws, rec)``
where ``rec`` is a :class:`RefConn` record of that connection: the messages
received (str for text, bytes for binary), the client's Close code/reason and
ours. Ready-made handlers: :func:`echo`, :func:`delayed_reply`,
:func:`close_with`, :func:`counter`, :func:`send_n`.

The websockets server is strict: it fails the connection with 1002/1007 on
client mistakes (unmasked frames, invalid UTF-8 ...), which tests can see in
``rec.close_sent_code``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import websockets
from websockets.asyncio.server import ServerConnection, serve

assert websockets.version.version.startswith("17."), websockets.version.version


@dataclass
class RefConn:
    path: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    messages: list[str | bytes] = field(default_factory=list)
    close_rcvd_code: int | None = None  # the client's Close
    close_rcvd_reason: str | None = None
    close_sent_code: int | None = None  # ours
    close_sent_reason: str | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)
    opened_at: float = 0.0
    closed_at: float = 0.0


Handler = Callable[[ServerConnection, RefConn], Awaitable[None]]


class Ref:
    def __init__(self, handler: Handler, *, max_size: int | None = 64 * 1024 * 1024, port: int = 0, **serve_kw):
        self.handler = handler
        self._port = port  # 0: an ephemeral port; a fixed one to restart a server in place
        self.conns: list[RefConn] = []
        self._serve_kw = dict(
            compression=None,
            ping_interval=None,
            max_size=max_size,
            max_queue=64,
            close_timeout=5,
            open_timeout=5,
        )
        self._serve_kw.update(serve_kw)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Future | None = None
        self._startup_error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True, name="ref-server")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("REF server did not start")
        if self._startup_error:
            raise self._startup_error

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._amain())
        finally:
            self._loop.close()

    async def _amain(self) -> None:
        self._stop = self._loop.create_future()
        try:
            server = await serve(self._handle, "127.0.0.1", self._port, **self._serve_kw)
        except BaseException as e:  # pragma: no cover
            self._startup_error = e
            self._ready.set()
            return
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop
            server.close(close_connections=True)
            try:
                await asyncio.wait_for(server.wait_closed(), 5)
            except asyncio.TimeoutError:  # pragma: no cover
                pass

    async def _handle(self, ws: ServerConnection) -> None:
        rec = RefConn(opened_at=time.monotonic())
        rec.path = ws.request.path if ws.request else ""
        rec.headers = list(ws.request.headers.raw_items()) if ws.request else []
        self.conns.append(rec)
        try:
            await self.handler(ws, rec)
        except websockets.ConnectionClosed:
            pass
        except BaseException as e:
            rec.error = e
            raise
        finally:
            try:
                await asyncio.wait_for(ws.wait_closed(), 5)
            except (asyncio.TimeoutError, Exception):
                pass
            proto = ws.protocol
            if proto.close_rcvd is not None:
                rec.close_rcvd_code = proto.close_rcvd.code
                rec.close_rcvd_reason = proto.close_rcvd.reason
            if proto.close_sent is not None:
                rec.close_sent_code = proto.close_sent.code
                rec.close_sent_reason = proto.close_sent.reason
            rec.closed_at = time.monotonic()
            rec.done.set()

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"ws://{host}:{self.port}{path}"

    @property
    def conn(self) -> RefConn:
        assert self.conns, "REF saw no connection"
        return self.conns[0]

    def wait(self, timeout: float = 10.0) -> "Ref":
        """Wait until every connection's handler has finished (bounded)."""
        deadline = time.monotonic() + timeout
        for c in list(self.conns):
            c.done.wait(max(0.0, deadline - time.monotonic()))
            if c.error is not None:
                raise AssertionError(f"REF handler error: {c.error!r}") from c.error
        return self

    def close(self) -> None:
        if self._stop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(lambda: self._stop.done() or self._stop.set_result(None))
            except RuntimeError:
                pass
        self._thread.join(10)

    def __enter__(self) -> "Ref":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------
# Handlers
# --------------------------------------------------------------------------


async def echo(ws: ServerConnection, rec: RefConn) -> None:
    """Echo every message back with the same type."""
    async for msg in ws:
        rec.messages.append(msg)
        await ws.send(msg)


def delayed_reply(delay: float, reply: str | bytes | None = None) -> Handler:
    """Answer each message after ``delay`` seconds (with ``reply`` or an echo)."""

    async def handler(ws: ServerConnection, rec: RefConn) -> None:
        async for msg in ws:
            rec.messages.append(msg)
            await asyncio.sleep(delay)
            await ws.send(msg if reply is None else reply)

    return handler


def close_with(code: int, reason: str = "", *, after_messages: int = 0) -> Handler:
    """Close with ``code``/``reason`` (after receiving ``after_messages`` messages)."""

    async def handler(ws: ServerConnection, rec: RefConn) -> None:
        n = 0
        if after_messages:
            async for msg in ws:
                rec.messages.append(msg)
                n += 1
                if n >= after_messages:
                    break
        await ws.close(code, reason)

    return handler


async def counter(ws: ServerConnection, rec: RefConn) -> None:
    """Count (record) every message; never reply."""
    async for msg in ws:
        rec.messages.append(msg)


def send_n(n: int, make: Callable[[int], str | bytes] = lambda i: f"msg {i}", *, close_code: int = 1000,
           interval: float = 0.0) -> Handler:
    """Send ``n`` messages ``make(i)`` then close with ``close_code``."""

    async def handler(ws: ServerConnection, rec: RefConn) -> None:
        for i in range(n):
            await ws.send(make(i))
            if interval:
                await asyncio.sleep(interval)
        await ws.close(close_code)

    return handler


def send_messages(msgs: list[str | bytes], *, close_code: int | None = 1000, then_echo: bool = False) -> Handler:
    """Send the given messages, then echo (optional), then close."""

    async def handler(ws: ServerConnection, rec: RefConn) -> None:
        for m in msgs:
            await ws.send(m)
        if then_echo:
            async for msg in ws:
                rec.messages.append(msg)
                await ws.send(msg)
        if close_code is not None:
            await ws.close(close_code)

    return handler


def stream_until_close(interval: float = 0.001, limit: int = 20_000, burst: int = 0) -> Handler:
    """Send ``burst`` numbered text messages at once, then one every ``interval`` seconds,
    and stop the moment the
    client's Close arrives (as many real servers do). ``rec.messages`` records what was
    sent successfully, i.e. everything that precedes our Close frame on the wire."""

    async def handler(ws: ServerConnection, rec: RefConn) -> None:
        async def reader() -> None:
            async for msg in ws:
                pass

        reading = asyncio.ensure_future(reader())
        try:
            for i in range(limit):
                if reading.done():
                    break
                try:
                    await ws.send(f"n{i}")
                except websockets.exceptions.ConnectionClosed:
                    break
                rec.messages.append(f"n{i}")
                if i >= burst:
                    await asyncio.sleep(interval)
        finally:
            await reading

    return handler
