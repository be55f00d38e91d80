"""Raw-socket clients that connect to a WebSocket server and end in each of six ways
(issue 21): a clean closing handshake, a TCP close without Close, a reset, half a
request, a refused request, and connect-then-close. Every call is bounded in time.

    python -m peers.churn PORT COUNT    # COUNT clients one after another, cycling the six
"""

from __future__ import annotations

import base64
import socket
import struct
import sys
import time

KEY = base64.b64encode(b"0123456789abcdef").decode()
UPGRADE = (
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
).encode()
MASK = b"\x01\x02\x03\x04"


def masked(opcode: int, payload: bytes) -> bytes:
    assert len(payload) < 126
    body = bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + MASK + body


def read_until(s: socket.socket, marker: bytes, limit: float = 5) -> bytes:
    data = b""
    deadline = time.monotonic() + limit
    while marker not in data and time.monotonic() < deadline:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def read_to_eof(s: socket.socket, limit: float = 5) -> bytes:
    data = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    return data


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def open_ws(port: int) -> socket.socket:
    s = connect(port)
    s.sendall(UPGRADE)
    head = read_until(s, b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return s


def clean_close(port: int) -> None:
    with open_ws(port) as s:
        s.sendall(masked(0x8, struct.pack("!H", 1000)))
        assert read_to_eof(s).startswith(b"\x88\x02\x03\xe8")


def tcp_close_without_close(port: int) -> None:
    open_ws(port).close()


def reset(port: int) -> None:
    s = open_ws(port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def half_a_request(port: int) -> None:
    with connect(port) as s:
        s.sendall(UPGRADE[:40])


def refused_request(port: int) -> None:
    with connect(port) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_to_eof(s).startswith(b"HTTP/1.1 4")


def connect_then_close(port: int) -> None:
    connect(port).close()


OUTCOMES = [clean_close, tcp_close_without_close, reset, half_a_request, refused_request, connect_then_close]


def run(port: int, count: int) -> None:
    for i in range(count):
        OUTCOMES[i % len(OUTCOMES)](port)


if __name__ == "__main__":
    run(int(sys.argv[1]), int(sys.argv[2]))
