"""Self-tests of the peers (EVIL and REF), using the Python websockets client.

These do not need the wsc binary: they prove the harness itself is right, so a
failure elsewhere points at wsc, not at the peers.
"""

from __future__ import annotations

import socket
import struct
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect, unix_connect

from peers import evil as E
from peers import ref as R


def test_accept_key_rfc_vector():
    """RFC 6455 §1.3 example (F4)."""
    assert E.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_frame_encoding_and_mask():
    assert E.text("Hello") == E.hx("81 05") + b"Hello"
    assert E.frame(1, b"Hello", length_form="16") == E.hx("81 7e 00 05") + b"Hello"
    # RFC 6455 §5.7 masked "Hello"
    assert E.frame(1, b"Hello", mask=E.hx("37 fa 21 3d")) == E.hx("81 85 37 fa 21 3d 7f 9f 4d 51 58")
    assert E.close_frame(1000) == E.hx("88 02 03 e8")
    assert len(E.binary(b"x" * 70000)) == 70000 + 10


def test_evil_handshake_frames_and_close(evil):
    ev = evil(E.script_send(E.text("Hello") + E.ping(b"abc") + E.binary(b"\x00\x01")))
    with connect(ev.url("/p?q=1"), compression=None, close_timeout=2) as ws:
        assert ws.recv(timeout=5) == "Hello"
        assert ws.recv(timeout=5) == b"\x00\x01"
        ws.send("from client")
        ws.send(b"\xff" * 200)
        ws.close(4001, "bye")
    ev.wait()
    c = ev.conn
    assert c.request.request_line == "GET /p?q=1 HTTP/1.1"
    assert c.request.get("Upgrade").lower() == "websocket"
    assert all(f.masked and len(f.mask_key) == 4 for f in c.frames)
    assert [f.payload for f in c.pongs()] == [b"abc"]
    assert c.messages() == [(1, b"from client"), (2, b"\xff" * 200)]
    assert c.close_codes() == [4001]
    assert c.close_frames()[0].close_reason == b"bye"
    assert all(f.minimal_length for f in c.frames)


def test_evil_trickle_and_reset(evil):
    def script(c):
        c.read_request()
        c.send(c.respond_101() + E.text("ab"), trickle=True)
        c.send(E.hx("81 05") + b"He")
        c.sleep(0.2)
        c.reset()

    ev = evil(script)
    with connect(ev.url(), compression=None) as ws:
        assert ws.recv(timeout=5) == "ab"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    ev.wait()


def test_evil_non_101(evil):
    ev = evil(E.script_respond(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
    with pytest.raises(InvalidStatus):
        connect(ev.url(), open_timeout=5)
    ev.wait()
    assert ev.accepts == 1


def test_evil_detects_bad_accept(evil):
    def script(c):
        c.read_request()
        c.handshake(accept="AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        c.recv_available(1)

    ev = evil(script)
    with pytest.raises(InvalidHandshake):
        connect(ev.url(), open_timeout=5)
    ev.wait()


def test_evil_early_bytes_counter(evil):
    """E6 machinery: bytes pipelined before the 101 are counted."""

    def script(c):
        c.read_request()
        c.sleep(0.3)
        c.early = c.pending_count()
        c.mark("counted")
        c.handshake()
        c.collect(3)

    ev = evil(script)
    s = socket.create_connection(("127.0.0.1", ev.port), timeout=5)
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    s.sendall(
        (f"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        + E.frame(1, b"early", mask=b"abcd")
    )
    assert ev.wait_mark("counted", 5)
    s.sendall(E.frame(8, struct.pack("!H", 1000), mask=b"wxyz"))
    s.settimeout(5)
    data = b""
    while b"\x88\x02" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    ev.wait()
    assert ev.conn.early == 11
    assert ev.conn.texts() == [b"early"]


def test_evil_ipv6_and_unix(evil, tmp_path):
    ev6 = evil(E.script_send(E.close_frame(1000)), host="::1")
    with connect(ev6.url(), compression=None) as ws:
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    ev6.wait()
    assert ev6.conn.request.get("Host") == f"[::1]:{ev6.port}"

    path = str(tmp_path / "s.sock")
    evu = evil(E.script_send(E.text("u") + E.close_frame(1000)), unix_path=path)
    with unix_connect(path, "ws://localhost/req/path", compression=None) as ws:
        assert ws.recv(timeout=5) == "u"
    evu.wait()
    assert evu.conn.request.target == "/req/path"


def test_ref_echo_and_records(ref):
    r = ref(R.echo)
    with connect(r.url("/x"), compression=None) as ws:
        ws.send("a")
        assert ws.recv(timeout=5) == "a"
        ws.send(b"\x00")
        assert ws.recv(timeout=5) == b"\x00"
        ws.close(1000)
    r.wait()
    assert r.conn.messages == ["a", b"\x00"]
    assert r.conn.close_rcvd_code == 1000
    assert r.conn.path == "/x"


def test_ref_delayed_close_count_sendn(ref):
    r = ref(R.delayed_reply(0.3, "reply"))
    with connect(r.url(), compression=None) as ws:
        t = time.monotonic()
        ws.send("foo")
        assert ws.recv(timeout=5) == "reply"
        assert time.monotonic() - t >= 0.25
    r2 = ref(R.close_with(4000, "go away"))
    with connect(r2.url(), compression=None) as ws:
        with pytest.raises(ConnectionClosed) as ei:
            ws.recv(timeout=5)
        assert ei.value.rcvd.code == 4000
    r3 = ref(R.counter)
    with connect(r3.url(), compression=None) as ws:
        for i in range(100):
            ws.send(str(i))
    r3.wait()
    assert r3.conn.messages == [str(i) for i in range(100)]
    r4 = ref(R.send_n(5))
    with connect(r4.url(), compression=None) as ws:
        got = [m for m in ws]
    assert got == [f"msg {i}" for i in range(5)]


def test_ref_is_strict_about_invalid_utf8(ref):
    """REF would fail a text frame with invalid UTF-8 with 1007 (H8/P9 rely on it)."""
    r = ref(R.echo)
    s = socket.create_connection(("127.0.0.1", r.port), timeout=5)
    s.sendall(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        + E.frame(1, b"\xff\xfe", mask=b"abcd")
    )
    data = b""
    s.settimeout(5)
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    r.wait()
    assert r.conn.close_sent_code == 1007
