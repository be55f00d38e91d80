"""PROXY: a scripted HTTP CONNECT proxy on 127.0.0.1 for the misbehaviours real
proxies do not produce on demand (issue 13, CHECKLIST D). Each accepted client
gets a thread: it reads the request head (bounded), records it, then acts out
``mode``:

- ``tunnel``: ``200 Connection established`` (plus ``extra_headers``), then relays
  bytes both ways to the requested host:port until either side closes;
- ``status``: answers ``status_line`` and closes;
- ``endless``: a 200 status line, then header lines forever (until the client goes);
- ``body``: a 200 with ``body`` right after the blank line, then tunnels;
- ``close_mid_reply``: half a status line, then closes;
- ``silent``: reads the request and never answers.

Every loop is bounded in time (``limit`` seconds per connection)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass, field


@dataclass
class ProxyRequest:
    request_line: str
    headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


class ScriptedProxy:
    def __init__(self, mode: str = "tunnel", *, status_line: str = "HTTP/1.1 403 Forbidden",
                 extra_headers: tuple[str, ...] = (), body: bytes = b"", limit: float = 10.0,
                 tls=None):
        """``tls``: a server ``ssl.SSLContext`` makes it an ``https://`` proxy."""
        self.tls = tls
        self.mode = mode
        self.status_line = status_line
        self.extra_headers = extra_headers
        self.body = body
        self.limit = limit
        self.requests: list[ProxyRequest] = []
        self.accepts = 0
        self.relayed_to_origin = bytearray()
        self.tls_failures: list[str] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accept_thread = threading.Thread(target=self._accept, daemon=True)
        self._accept_thread.start()

    def url(self, userinfo: str = "", host: str = "127.0.0.1") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{userinfo + '@' if userinfo else ''}{host}:{self.port}"

    def close(self) -> None:
        self._stop.set()
        self._accept_thread.join(2)
        self._sock.close()
        for t in self._threads:
            t.join(2)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                c, _ = self._sock.accept()
            except OSError:
                continue
            self.accepts += 1
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            self._threads.append(t)
            t.start()

    def _read_head(self, c: socket.socket, deadline: float) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536 and time.monotonic() < deadline:
            try:
                chunk = c.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        return data if b"\r\n\r\n" in data else None

    def _serve(self, c: socket.socket) -> None:
        deadline = time.monotonic() + self.limit
        if self.tls is not None:
            c.settimeout(5)
            try:
                c = self.tls.wrap_socket(c, server_side=True)
            except (OSError, ValueError) as e:
                self.tls_failures.append(str(e))
                c.close()
                return
        c.settimeout(0.2)
        try:
            head = self._read_head(c, deadline)
            if head is None:
                return
            text, _, early = head.partition(b"\r\n\r\n")
            lines = text.decode("latin-1").split("\r\n")
            req = ProxyRequest(lines[0], [tuple(x.strip() for x in line.split(":", 1)) for line in lines[1:] if ":" in line])
            self.requests.append(req)
            if self.mode == "status":
                c.sendall(self.status_line.encode("latin-1") + b"\r\nContent-Length: 0\r\n\r\n")
                return
            if self.mode == "close_mid_reply":
                c.sendall(b"HTTP/1.1 2")
                return
            if self.mode == "silent":
                while time.monotonic() < deadline and not self._stop.is_set():
                    try:
                        if not c.recv(4096):
                            return
                    except socket.timeout:
                        continue
                return
            if self.mode == "endless":
                c.sendall(b"HTTP/1.1 200 OK\r\n")
                i = 0
                while time.monotonic() < deadline and not self._stop.is_set():
                    try:
                        c.sendall(b"X-Filler-%d: %s\r\n" % (i, b"y" * 100))
                    except OSError:
                        return
                    i += 1
                return
            target = lines[0].split()[1]
            host, _, port = target.rpartition(":")
            origin = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
            reply = b"HTTP/1.1 200 Connection established\r\n"
            for h in self.extra_headers:
                reply += h.encode("latin-1") + b"\r\n"
            reply += b"\r\n"
            if self.mode == "body":
                reply += self.body
            c.sendall(reply)
            if early:
                origin.sendall(early)
            self._relay(c, origin, deadline)
        finally:
            c.close()

    def _relay(self, client: socket.socket, origin: socket.socket, deadline: float) -> None:
        origin.settimeout(0.05)
        client.settimeout(0.05)
        try:
            while time.monotonic() < deadline and not self._stop.is_set():
                moved = False
                for src, dst, up in ((client, origin, True), (origin, client, False)):
                    try:
                        data = src.recv(65536)
                    except (socket.timeout, ssl.SSLWantReadError):
                        continue
                    except OSError:
                        return
                    if not data:
                        return
                    if up:
                        self.relayed_to_origin += data
                    dst.sendall(data)
                    moved = True
                if not moved:
                    continue
        finally:
            origin.close()
