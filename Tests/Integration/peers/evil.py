"""EVIL: a scripted raw-socket WebSocket server for integration tests.

The server listens on 127.0.0.1 (or ::1, or a Unix socket) on an ephemeral
port and runs a *script* for each accepted connection in its own thread.
A script is a plain function ``script(conn)``; ``conn`` is an :class:`EvilConn`
with helpers to read the HTTP request, send exact bytes (optionally one byte
per ``send()``), answer with a proper ``101``, read and decode the frames the
client sends (unmasked, with mask keys, close codes and timestamps), reset the
socket (SO_LINGER 0), half-close, and so on.

Everything is bounded: every socket operation has a timeout (<= 10 s), read
helpers return ``None`` on EOF/reset/timeout instead of raising, and sends
swallow connection errors (recorded in ``conn.send_error``). Only a bug in a
script raises; :meth:`Evil.wait` re-raises it in the test thread.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_TIMEOUT = 10.0

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


# --------------------------------------------------------------------------
# Byte helpers
# --------------------------------------------------------------------------


def hx(s: str) -> bytes:
    """``hx("81 05") + b"Hello"`` — hex with optional spaces."""
    return bytes.fromhex(s.replace(" ", "").replace("\n", ""))


def accept_key(key: str | bytes) -> str:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2)."""
    if isinstance(key, str):
        key = key.encode()
    return base64.b64encode(hashlib.sha1(key.strip() + GUID).digest()).decode()


def response_101(
    key: str | None,
    *,
    status_line: str = "HTTP/1.1 101 Switching Protocols",
    upgrade: str | None = "websocket",
    connection: str | None = "Upgrade",
    accept: str | None = None,
    extra: Iterable[str] = (),
) -> bytes:
    """Build a 101 response. Pass ``None`` to omit a header; ``accept``
    defaults to the correct value for ``key``."""
    lines = [status_line]
    if upgrade is not None:
        lines.append(f"Upgrade: {upgrade}")
    if connection is not None:
        lines.append(f"Connection: {connection}")
    if accept is None and key is not None:
        accept = accept_key(key)
    if accept is not None:
        lines.append(f"Sec-WebSocket-Accept: {accept}")
    lines.extend(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = None,
    length_form: str | None = None,
) -> bytes:
    """Encode one frame (server frames are unmasked unless ``mask`` is given).

    ``rsv`` is a 3-bit value (RSV1=4, RSV2=2, RSV3=1). ``length_form`` forces a
    length encoding: ``"7"``, ``"16"`` or ``"64"`` (for non-minimal tests).
    """
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0x0F)
    n = len(payload)
    mbit = 0x80 if mask is not None else 0
    form = length_form or ("7" if n < 126 else "16" if n < 65536 else "64")
    if form == "7":
        head = bytes([b0, mbit | n])
    elif form == "16":
        head = bytes([b0, mbit | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack("!Q", n)
    if mask is not None:
        head += mask
        payload = apply_mask(payload, mask)
    return head + payload


def apply_mask(data: bytes, mask: bytes) -> bytes:
    if not data:
        return b""
    n = len(data)
    reps = (n + 3) // 4
    m = int.from_bytes((mask * reps)[:n], "big")
    return (int.from_bytes(data, "big") ^ m).to_bytes(n, "big")


def text(s: str | bytes, fin: bool = True) -> bytes:
    return frame(OP_TEXT, s.encode() if isinstance(s, str) else s, fin=fin)


def binary(b: bytes, fin: bool = True) -> bytes:
    return frame(OP_BINARY, b, fin=fin)


def cont(b: bytes | str, fin: bool = True) -> bytes:
    return frame(OP_CONT, b.encode() if isinstance(b, str) else b, fin=fin)


def ping(b: bytes = b"") -> bytes:
    return frame(OP_PING, b)


def pong(b: bytes = b"") -> bytes:
    return frame(OP_PONG, b)


def close_frame(code: int | None = 1000, reason: bytes | str = b"") -> bytes:
    if code is None:
        return frame(OP_CLOSE, b"")
    if isinstance(reason, str):
        reason = reason.encode()
    return frame(OP_CLOSE, struct.pack("!H", code) + reason)


# --------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------


@dataclass
class Frame:
    """One frame as the client sent it (payload already unmasked)."""

    fin: bool
    rsv: int
    opcode: int
    masked: bool
    mask_key: bytes | None
    length: int
    header: bytes  # raw header bytes as sent (incl. mask key)
    payload: bytes
    t: float  # time.monotonic() when the frame was complete

    @property
    def close_code(self) -> int | None:
        if self.opcode == OP_CLOSE and len(self.payload) >= 2:
            return struct.unpack("!H", self.payload[:2])[0]
        return None

    @property
    def close_reason(self) -> bytes:
        return self.payload[2:] if self.opcode == OP_CLOSE else b""

    @property
    def minimal_length(self) -> bool:
        b1 = self.header[1] & 0x7F
        if self.length < 126:
            return b1 == self.length
        if self.length < 65536:
            return b1 == 126
        return b1 == 127 and not (self.header[2] & 0x80)

    def __repr__(self) -> str:  # short, for assertion messages
        p = self.payload if len(self.payload) <= 40 else self.payload[:40] + b"..."
        return (
            f"Frame(op={self.opcode:#x}, fin={self.fin}, rsv={self.rsv}, masked={self.masked}, "
            f"len={self.length}, payload={p!r})"
        )


@dataclass
class Request:
    raw: bytes
    request_line: str
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]

    def get(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def get_all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def key(self) -> str | None:
        return self.get("Sec-WebSocket-Key")


class ProtocolErrorFromClient(Exception):
    """The client sent bytes that are not a valid frame stream."""


# --------------------------------------------------------------------------
# Connection
# --------------------------------------------------------------------------


class EvilConn:
    def __init__(self, sock: socket.socket, index: int, server: "Evil"):
        self.sock = sock
        self.index = index
        self.server = server
        self.t0 = time.monotonic()
        self.buf = bytearray()  # received and not yet consumed
        self.received = bytearray()  # everything ever received (after the request too)
        self.request: Request | None = None
        self.request_done_at: float | None = None
        self.frames: list[Frame] = []
        self.events: list[tuple[float, str]] = []
        self.eof = False
        self.reset_by_peer = False
        self.timed_out = False
        self.send_error: Exception | None = None
        self.bytes_sent = 0
        self.client_bad_bytes: bytes | None = None  # set when the client sent junk
        self.truncated_frame: tuple[bytes, int, bytes] | None = None  # header, declared len, partial payload
        self.error: BaseException | None = None
        self.closed = False
        self._send_lock = threading.RLock()
        sock.settimeout(MAX_TIMEOUT)

    # ---- bookkeeping
    def log(self, what: str) -> None:
        self.events.append((time.monotonic(), what))

    def mark(self, name: str) -> None:
        self.server.mark(name)

    # ---- low-level receive
    def _recv_some(self, deadline: float) -> bool:
        """Receive more bytes into self.buf. False on EOF/reset/timeout."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self.timed_out = True
            return False
        try:
            self.sock.settimeout(min(remaining, MAX_TIMEOUT))
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            self.timed_out = True
            return False
        except (ConnectionResetError, BrokenPipeError):
            self.reset_by_peer = True
            self.eof = True
            self.log("reset by peer")
            return False
        except OSError as e:  # closed by us, etc.
            self.eof = True
            self.log(f"recv error {e!r}")
            return False
        if not data:
            self.eof = True
            self.log("eof")
            return False
        self.buf += data
        self.received += data
        return True

    def read_exact(self, n: int, timeout: float = 5.0) -> bytes | None:
        deadline = time.monotonic() + min(timeout, MAX_TIMEOUT)
        while len(self.buf) < n:
            if not self._recv_some(deadline):
                return None
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def recv_available(self, wait: float = 0.0) -> bytes:
        """Return what is buffered plus whatever arrives within ``wait`` seconds
        (stops early at EOF)."""
        deadline = time.monotonic() + min(wait, MAX_TIMEOUT)
        while time.monotonic() < deadline and self._recv_some(deadline):
            pass
        if not self.eof:
            try:
                self.sock.setblocking(False)
                while True:
                    data = self.sock.recv(1 << 20)
                    if not data:
                        self.eof = True
                        break
                    self.buf += data
                    self.received += data
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                self.eof = True
            finally:
                try:
                    self.sock.settimeout(MAX_TIMEOUT)
                except OSError:
                    pass
        out = bytes(self.buf)
        self.buf.clear()
        return out

    def pending_count(self) -> int:
        """Bytes the client has sent that nobody has consumed (peek, no wait)."""
        n = len(self.buf)
        try:
            self.sock.setblocking(False)  # a timeout socket would wait despite MSG_DONTWAIT
            data = self.sock.recv(1 << 20, socket.MSG_PEEK)
            n += len(data)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            pass
        finally:
            try:
                self.sock.settimeout(MAX_TIMEOUT)
            except OSError:
                pass
        return n

    # ---- HTTP
    def read_request(self, timeout: float = 5.0, limit: int = 1 << 20) -> Request | None:
        deadline = time.monotonic() + min(timeout, MAX_TIMEOUT)
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > limit or not self._recv_some(deadline):
                self.log("no complete request")
                return None
        end = self.buf.index(b"\r\n\r\n") + 4
        raw = bytes(self.buf[:end])
        del self.buf[:end]
        self.received = bytearray(self.buf)  # from now on: bytes after the request
        text_ = raw.decode("latin-1")
        lines = text_.split("\r\n")[:-2]
        request_line = lines[0]
        parts = request_line.split(" ")
        method, target, version = (parts + ["", "", ""])[:3]
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.append((k, v.strip(" \t")))
        self.request = Request(raw, request_line, method, target, " ".join(parts[2:]) or version, headers)
        self.request_done_at = time.monotonic()
        self.log("request")
        return self.request

    def handshake(self, *, trickle: bool = False, **kw) -> None:
        """Send a correct 101 (``kw`` goes to :func:`response_101`)."""
        key = self.request.key if self.request else None
        self.send(response_101(key, **kw), trickle=trickle)

    def respond_101(self, **kw) -> bytes:
        key = self.request.key if self.request else None
        return response_101(key, **kw)

    # ---- sending
    def send(self, data: bytes, *, trickle: bool = False, delay: float = 0.0, timeout: float = MAX_TIMEOUT) -> bool:
        """Send bytes. ``trickle``: one byte per send() with TCP_NODELAY (and
        ``delay`` seconds between bytes). ``timeout`` bounds the whole call
        (a blocked send is recorded as ``send_error``, e.g. back-pressure).
        Returns False on a connection error or timeout. Thread-safe."""
        with self._send_lock:
            if self.send_error is not None:
                return False
            deadline = time.monotonic() + min(timeout, MAX_TIMEOUT)
            try:
                if trickle:
                    if self.server.family != socket.AF_UNIX:
                        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    mv = memoryview(data)
                    for i in range(len(data)):
                        self._send_all(mv[i : i + 1], deadline)
                        if delay:
                            time.sleep(delay)
                else:
                    self._send_all(memoryview(data), deadline)
                return True
            except (OSError, socket.timeout) as e:
                self.send_error = e
                self.log(f"send error {e!r}")
                return False

    def _send_all(self, mv: memoryview, deadline: float) -> None:
        while len(mv):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("send timed out (peer not reading)")
            self.sock.settimeout(remaining)
            n = self.sock.send(mv)
            self.bytes_sent += n
            mv = mv[n:]

    def send_chunks(self, data: bytes, sizes: Iterable[int], delay: float = 0.0) -> bool:
        """Send ``data`` cut at the given chunk sizes (TCP_NODELAY on)."""
        if self.server.family != socket.AF_UNIX:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pos = 0
        for n in sizes:
            if pos >= len(data):
                break
            if not self.send(data[pos : pos + n]):
                return False
            pos += n
            if delay:
                time.sleep(delay)
        if pos < len(data):
            return self.send(data[pos:])
        return True

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, MAX_TIMEOUT))

    # ---- frames from the client
    def read_frame(self, timeout: float = 5.0) -> Frame | None:
        """Read and decode one client frame. None on EOF/reset/timeout or junk."""
        deadline = time.monotonic() + min(timeout, MAX_TIMEOUT)

        def need(n: int) -> bool:
            while len(self.buf) < n:
                if not self._recv_some(deadline):
                    return False
            return True

        if not need(2):
            return None
        b0, b1 = self.buf[0], self.buf[1]
        masked = bool(b1 & 0x80)
        n7 = b1 & 0x7F
        hlen = 2 + (2 if n7 == 126 else 8 if n7 == 127 else 0) + (4 if masked else 0)
        if not need(hlen):
            return None
        if n7 == 126:
            length = struct.unpack("!H", self.buf[2:4])[0]
        elif n7 == 127:
            length = struct.unpack("!Q", self.buf[2:10])[0]
        else:
            length = n7
        if length > (1 << 31):
            self.client_bad_bytes = bytes(self.buf[:64])
            self.log("client sent an absurd frame length")
            return None
        if not need(hlen + length):
            self.truncated_frame = (bytes(self.buf[:hlen]), length, bytes(self.buf[hlen:]))
            return None
        header = bytes(self.buf[:hlen])
        mask_key = header[-4:] if masked else None
        payload = bytes(self.buf[hlen : hlen + length])
        del self.buf[: hlen + length]
        if masked:
            payload = apply_mask(payload, mask_key)
        f = Frame(
            fin=bool(b0 & 0x80),
            rsv=(b0 >> 4) & 7,
            opcode=b0 & 0x0F,
            masked=masked,
            mask_key=mask_key,
            length=length,
            header=header,
            payload=payload,
            t=time.monotonic(),
        )
        self.frames.append(f)
        return f

    def collect(
        self,
        timeout: float = 5.0,
        *,
        reply_close: bool = True,
        stop_on_close: bool = True,
        on_frame: Callable[[Frame], None] | None = None,
    ) -> list[Frame]:
        """Read client frames until the client's Close (or EOF/timeout).

        ``reply_close``: answer the client's Close with the same code (unless
        we already sent a Close ourselves via :meth:`send_close`). Returns the
        frames read by this call."""
        deadline = time.monotonic() + min(timeout, MAX_TIMEOUT)
        got = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.timed_out = True
                break
            f = self.read_frame(timeout=remaining)
            if f is None:
                break
            got.append(f)
            if on_frame:
                on_frame(f)
            if f.opcode == OP_CLOSE:
                if reply_close and not self.closed:
                    code = f.close_code
                    self.send(close_frame(code) if code is not None else close_frame(None))
                    self.closed = True
                if stop_on_close:
                    break
        return got

    def read_until_eof(self, timeout: float = 5.0) -> list[Frame]:
        """Read frames until EOF (no Close reply), e.g. to see what follows a Close."""
        return self.collect(timeout, reply_close=False, stop_on_close=False)

    def send_close(self, code: int | None = 1000, reason: bytes | str = b"") -> bool:
        self.closed = True
        return self.send(close_frame(code, reason))

    # ---- socket endings
    def reset(self) -> None:
        """Abort with RST (SO_LINGER 0)."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.log("reset")
        self._close_sock()

    def shutdown_write(self) -> None:
        """Half-close: send FIN, keep reading."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.log("shutdown write")

    def close(self) -> None:
        self.log("close")
        self._close_sock()

    def _close_sock(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    # ---- queries used by tests
    def data_frames(self) -> list[Frame]:
        return [f for f in self.frames if f.opcode in (OP_CONT, OP_TEXT, OP_BINARY)]

    def messages(self) -> list[tuple[int, bytes]]:
        """Reassemble data frames into (opcode, payload) messages."""
        out, cur_op, cur = [], None, []
        for f in self.frames:
            if f.opcode in (OP_TEXT, OP_BINARY):
                cur_op, cur = f.opcode, [f.payload]
            elif f.opcode == OP_CONT and cur_op is not None:
                cur.append(f.payload)
            else:
                continue
            if f.fin and cur_op is not None:
                out.append((cur_op, b"".join(cur)))
                cur_op, cur = None, []
        return out

    def texts(self) -> list[bytes]:
        return [p for op, p in self.messages() if op == OP_TEXT]

    def close_frames(self) -> list[Frame]:
        return [f for f in self.frames if f.opcode == OP_CLOSE]

    def close_codes(self) -> list[int | None]:
        return [f.close_code for f in self.close_frames()]

    def pongs(self) -> list[Frame]:
        return [f for f in self.frames if f.opcode == OP_PONG]


# --------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------


class Evil:
    """Listen and run ``script(conn)`` for each connection in its own thread.

    >>> with Evil(script) as ev:
    ...     run wsc against ev.url("/path")
    ...     ev.wait()          # join the script threads, re-raise script bugs
    ...     ev.conns[0].frames
    """

    def __init__(
        self,
        script: Callable[[EvilConn], None] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        family: int | None = None,
        unix_path: str | None = None,
        rcvbuf: int | None = None,
        max_conns: int = 1000,
    ):
        self.script = script or (lambda c: c.read_request())
        self.host = host
        self.unix_path = unix_path
        if unix_path:
            self.family = socket.AF_UNIX
        else:
            self.family = family or (socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock = socket.socket(self.family, socket.SOCK_STREAM)
        if self.family != socket.AF_UNIX:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf is not None:
            # Set on the listener so accepted sockets inherit it (and the window).
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if unix_path:
            if os.path.exists(unix_path):
                os.unlink(unix_path)
            self.sock.bind(unix_path)
            self.port = 0
        else:
            self.sock.bind((host, port))
            self.port = self.sock.getsockname()[1]
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.conns: list[EvilConn] = []
        self.accepts = 0
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._marks: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self.max_conns = max_conns
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True, name="evil-accept")
        self._acceptor.start()

    # ---- addresses
    @property
    def hostport(self) -> str:
        h = f"[{self.host}]" if self.family == socket.AF_INET6 else self.host
        return f"{h}:{self.port}"

    def url(self, path: str = "/", scheme: str = "ws") -> str:
        if self.family == socket.AF_UNIX:
            return f"ws+unix:{self.unix_path}:{path}"
        return f"{scheme}://{self.hostport}{path}"

    # ---- marks (cross-thread signals from scripts to tests)
    def _event(self, name: str) -> threading.Event:
        with self._lock:
            return self._marks.setdefault(name, threading.Event())

    def mark(self, name: str) -> None:
        self._event(name).set()

    def wait_mark(self, name: str, timeout: float = 5.0) -> bool:
        return self._event(name).wait(min(timeout, MAX_TIMEOUT))

    # ---- lifecycle
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                s, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with self._lock:
                idx = self.accepts
                self.accepts += 1
                c = EvilConn(s, idx, self)
                self.conns.append(c)
            if idx >= self.max_conns:
                c.close()
                continue
            t = threading.Thread(target=self._run, args=(c,), daemon=True, name=f"evil-conn-{idx}")
            self._threads.append(t)
            t.start()

    def _run(self, c: EvilConn) -> None:
        try:
            self.script(c)
        except BaseException as e:  # a script bug: surfaced by wait()
            c.error = e
            c.log(f"script error {e!r}")
        finally:
            c.close()

    def wait(self, timeout: float = 10.0) -> "Evil":
        """Join all connection threads (bounded); re-raise script errors."""
        deadline = time.monotonic() + min(timeout, MAX_TIMEOUT)
        for t in list(self._threads):
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        for c in self.conns:
            if c.error is not None:
                raise AssertionError(f"EVIL script error on connection {c.index}: {c.error!r}") from c.error
        if alive:
            raise AssertionError(f"EVIL script threads still running after {timeout}s: {alive}")
        return self

    @property
    def conn(self) -> EvilConn:
        """The first connection (asserts there was one)."""
        assert self.conns, "EVIL saw no connection"
        return self.conns[0]

    def close(self) -> None:
        self._stop.set()
        try:
            self.sock.close()
        except OSError:
            pass
        self._acceptor.join(2)
        for c in list(self.conns):
            c.close()
        if self.unix_path and os.path.exists(self.unix_path):
            try:
                os.unlink(self.unix_path)
            except OSError:
                pass

    def __enter__(self) -> "Evil":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------
# Ready-made scripts
# --------------------------------------------------------------------------


def script_send(payload: bytes = b"", *, trickle: bool = False, collect: float = 5.0, then: str = "close",
                handshake_kw: dict | None = None) -> Callable[[EvilConn], None]:
    """Read request, 101 + ``payload`` in ONE send (or trickled), then read the
    client's frames until its Close (answered) / EOF / ``collect`` seconds.
    ``then``: "close" (close TCP) or "reset"."""

    def script(c: EvilConn) -> None:
        if c.read_request() is None:
            return
        c.send(c.respond_101(**(handshake_kw or {})) + payload, trickle=trickle)
        c.collect(collect)
        if then == "reset":
            c.reset()

    return script


def script_respond(raw: bytes, *, then: str = "close", linger: float = 0.0, trickle: bool = False):
    """Read request, send raw bytes (e.g. a non-101 response), wait ``linger``
    seconds reading whatever the client sends, then close/reset/half-close."""

    def script(c: EvilConn) -> None:
        if c.read_request() is None:
            return
        c.send(raw, trickle=trickle)
        if linger:
            c.recv_available(linger)
        if then == "reset":
            c.reset()
        elif then == "shutdown":
            c.shutdown_write()
            c.recv_available(1.0)

    return script
