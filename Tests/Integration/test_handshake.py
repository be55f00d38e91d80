"""CHECKLIST §1 B (TCP), E (request), F (response), G default (no redirects),
and §3 cases 1–15."""

from __future__ import annotations

import base64
import re
import socket
import time

import pytest

from helpers import (
    EXIT_CONNECT,
    EXIT_HANDSHAKE,
    EXIT_OK,
    EXIT_TIMEOUT,
    FAST,
    STAY,
    evil_session,
    no_raw_controls,
)
from peers import evil as E

CLOSE_NOW = E.close_frame(1000)


def hs_result(run_wsc, evil, raw_or_fn, *, linger: float = 1.0, then: str = "close", args=(), timeout=10):
    """EVIL reads the request and answers ``raw`` (bytes, or fn(conn)->bytes),
    then lingers reading; returns (result, evil)."""

    def script(c):
        if c.read_request() is None:
            return
        raw = raw_or_fn(c) if callable(raw_or_fn) else raw_or_fn
        c.send(raw)
        c.collect(linger)  # if the client accepted, this answers its Close
        if then == "reset":
            c.reset()

    ev = evil(script)
    r = run_wsc([ev.url(), *STAY, *args], timeout=timeout)
    ev.wait()
    return r, ev


# ================================================================ B. TCP


def test_B1_case1_connection_refused(run_wsc, refused_url):
    """B1/#1: refused → exit 3 in < 1 s, stderr says "refused"."""
    r = run_wsc([refused_url, *FAST], timeout=5)
    assert r.rc == EXIT_CONNECT, r
    assert r.elapsed < 1.0, r
    assert "refused" in r.stderr.lower(), r
    assert r.err.startswith(b"wsc: "), r


def test_B2_case2_blackhole_overall_deadline(run_wsc, evil):
    """B2/#2: EVIL accepts and never writes → exit 9 at 2 ± 0.5 s, no spin while waiting."""

    def script(c):
        c.read_request()
        c.recv_available(5)

    ev = evil(script)
    r = run_wsc([ev.url(), "--connect-timeout", "2", "--close-timeout", "1"], timeout=8)
    assert r.rc == EXIT_TIMEOUT, r
    assert 1.5 <= r.elapsed <= 2.5, r
    assert r.cpu <= 0.1 * r.elapsed + 0.15, f"CPU {r.cpu:.2f}s while waiting{r!r}"


@pytest.mark.parametrize("interval", [1.5, 3.0])
def test_B2_case3_slow_loris_is_bounded_by_overall_deadline(run_wsc, evil, interval):
    """B2/#3: the 101 trickles one byte every ``interval`` s → exit 9 at ≈2 s (≤ 3 s), not per read."""

    def script(c):
        if c.read_request() is None:
            return
        data = c.respond_101()
        for i in range(4):  # bounded: at most 4 bytes
            if not c.send(data[i : i + 1]):
                return
            c.recv_available(interval)
            if c.eof:
                return

    ev = evil(script)
    r = run_wsc([ev.url(), "--connect-timeout", "2", "--close-timeout", "1"], timeout=10)
    assert r.rc == EXIT_TIMEOUT, r
    assert r.elapsed <= 3.0, r


def test_B3_localhost_tries_every_address(run_wsc, evil):
    """B3: ``localhost`` resolves; when it lists ::1 (refused) and 127.0.0.1 (listening), the second is tried.

    (Here /etc/hosts may list only 127.0.0.1; then this still checks that a
    name is resolved and connected.)"""
    ev = evil(E.script_send(CLOSE_NOW), host="127.0.0.1")
    addrs = {ai[4][0] for ai in socket.getaddrinfo("localhost", ev.port, type=socket.SOCK_STREAM)}
    if "::1" in addrs:  # make sure nothing listens on [::1]:P
        probe = socket.socket(socket.AF_INET6)
        assert probe.connect_ex(("::1", ev.port)) != 0
        probe.close()
    r = run_wsc([f"ws://localhost:{ev.port}/", *STAY])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert ev.conn.request.get("Host") == f"localhost:{ev.port}"


# ================================================================ E. request


def test_E1_E2_E3_E4_request_is_a_valid_upgrade(run_wsc, evil):
    """E1–E4: GET, HTTP/1.1, Upgrade: websocket, Connection: Upgrade, 16-byte key, version 13, Host."""
    r, c = evil_session(run_wsc, evil, CLOSE_NOW)
    assert r.rc == EXIT_OK, r
    req = c.request
    assert req.method == "GET"
    assert req.version == "HTTP/1.1"
    assert req.target == "/"
    assert req.get("Upgrade").lower() == "websocket"
    assert "upgrade" in [t.strip().lower() for t in req.get("Connection").split(",")]
    assert len(base64.b64decode(req.key, validate=True)) == 16
    assert req.get("Sec-WebSocket-Version") == "13"
    assert req.get("Host") == f"127.0.0.1:{c.server.port}"
    assert len(req.get_all("Host")) == 1
    # nothing after the request until the 101: the header block is complete and alone
    assert req.raw.endswith(b"\r\n\r\n")


def test_E3_keys_are_fresh_for_each_connection(run_wsc, evil):
    """E3: 100 connections show 100 distinct keys, each 16 random bytes (1 000 in the checklist; bounded here)."""
    ev = evil(E.script_respond(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"))
    for _ in range(100):
        r = run_wsc([ev.url(), *FAST], timeout=5)
        assert r.rc == EXIT_HANDSHAKE, r
    ev.wait()
    keys = [c.request.key for c in ev.conns]
    assert len(keys) == 100
    assert all(len(base64.b64decode(k, validate=True)) == 16 for k in keys)
    assert len(set(keys)) == 100


def test_E4_protocol_8_is_accepted(run_wsc, evil):
    """E4/contract: ``-p 8`` → ``Sec-WebSocket-Version: 8``; ``-p 13`` → 13."""
    for v in ("8", "13"):
        r, c = evil_session(run_wsc, evil, CLOSE_NOW, ["-p", v])
        assert r.rc == EXIT_OK, r
        assert c.request.get("Sec-WebSocket-Version") == v


def test_E4_426_reports_the_server_versions(run_wsc, evil):
    """E4: a 426 listing other versions → exit 6, the status and the server's versions are reported."""
    r, ev = hs_result(run_wsc, evil, b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 7, 99\r\nContent-Length: 0\r\n\r\n")
    assert r.rc == EXIT_HANDSHAKE, r
    assert "426" in r.stderr, r
    assert "99" in r.stderr, f"the versions the server lists are not reported{r!r}"


@pytest.mark.parametrize("args", [["-s", "a b"], ["-s", "x", "-s", "x"], ["-s", ""], ["-s", "a,b"], ["-s", "a;b"]],
                         ids=["space", "duplicate", "empty", "comma", "separator"])
def test_E5_invalid_subprotocols_usage_error(run_wsc, evil, args):
    """E5: subprotocols must be distinct non-empty tokens → otherwise exit 64 and no connection."""
    ev = evil()
    r = run_wsc([ev.url(), *FAST, *args], timeout=5)
    time.sleep(0.25)
    assert r.rc == 64, r
    assert ev.accepts == 0


def test_E6_case13_waits_for_101_before_sending(run_wsc, evil):
    """E6/#13: 100 lines preloaded on stdin, 101 delayed by 1 s → 0 early bytes, then all 100 arrive in order."""

    def script(c):
        if c.read_request() is None:
            return
        c.sleep(1.0)
        c.early = c.pending_count()
        c.handshake()
        c.collect(5)

    ev = evil(script)
    lines = [f"line {i}" for i in range(100)]
    r = run_wsc([ev.url(), "-w", "0", *FAST], input="".join(l + "\n" for l in lines).encode())
    ev.wait()
    c = ev.conn
    assert c.early == 0, f"{c.early} bytes sent before the 101"
    assert [t.decode() for t in c.texts()] == lines
    assert r.rc == EXIT_OK, r


# ================================================================ F. response


@pytest.mark.parametrize("status", ["200 OK", "404 Not Found", "426 Upgrade Required", "500 Internal Server Error"])
def test_F1_case6_non_101_status_rejected(run_wsc, evil, status):
    """F1/#6: a status other than 101 (even 200) → exit 6 promptly, the status in stderr."""
    raw = f"HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n".encode()
    r, ev = hs_result(run_wsc, evil, raw, linger=3.0)
    assert r.rc == EXIT_HANDSHAKE, r
    assert status.split()[0] in r.stderr, r
    assert r.elapsed < 2.0, f"waited for the server to close instead of failing at once{r!r}"
    assert ev.accepts == 1


def test_F1_case6_body_capped_and_not_printed_raw(run_wsc, evil):
    """#6: a 404 with a 2 MiB body full of escapes → exit 6, body not dumped raw, stderr small."""
    body = (b"\x1b]0;pwn\x07\x1b[2J" + b"x" * 1000) * 2048
    raw = b"HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    r, _ = hs_result(run_wsc, evil, raw)
    assert r.rc == EXIT_HANDSHAKE, r
    assert "404" in r.stderr
    assert len(r.err) < 64 * 1024, f"stderr is {len(r.err)} bytes"
    assert b"\x1b" not in r.err and b"\x07" not in r.err, r


def test_F1_case63_reason_phrase_is_escaped(run_wsc, evil):
    """F1/#63: the reason phrase is shown escaped (no raw ESC/BEL)."""
    r, _ = hs_result(run_wsc, evil, b"HTTP/1.1 403 \x1b]0;x\x07Nope\r\nContent-Length: 0\r\n\r\n")
    assert r.rc == EXIT_HANDSHAKE, r
    assert "403" in r.stderr
    assert no_raw_controls(r.err), r


@pytest.mark.parametrize(
    "upgrade,ok",
    [("h2c", False), (None, False), ("websocket2", False), ("WebSocket", True), ("websocket", True), ("WEBSOCKET", True)],
)
def test_F2_case8_upgrade_header(run_wsc, evil, upgrade, ok):
    """F2/#8: Upgrade missing or not "websocket" → exit 6; any ASCII case → accepted."""
    r, ev = hs_result(run_wsc, evil, lambda c: c.respond_101(upgrade=upgrade) + (CLOSE_NOW if ok else b""))
    assert r.rc == (EXIT_OK if ok else EXIT_HANDSHAKE), r


@pytest.mark.parametrize(
    "connection,ok",
    [("close", False), (None, False), ("keep-alive", False), ("keep-alive, Upgrade", True), ("upgrade", True)],
)
def test_F3_case8_connection_header(run_wsc, evil, connection, ok):
    """F3/#8: Connection missing or without the Upgrade token → 6; ``keep-alive, Upgrade`` → accepted."""
    r, ev = hs_result(run_wsc, evil, lambda c: c.respond_101(connection=connection) + (CLOSE_NOW if ok else b""))
    assert r.rc == (EXIT_OK if ok else EXIT_HANDSHAKE), r


def _accept_variant(kind):
    def make(c):
        good = E.accept_key(c.request.key)
        if kind == "missing":
            return E.response_101(None)
        if kind == "wrong":
            return c.respond_101(accept=E.accept_key("dGhlIHNhbXBsZSBub25jZQ=="))
        if kind == "duplicated":
            return c.respond_101(extra=[f"Sec-WebSocket-Accept: {good}"])
        if kind == "empty":
            return c.respond_101(accept="")
        if kind == "spaces":
            return c.respond_101(accept=f"   {good}  \t") + CLOSE_NOW
        raise AssertionError(kind)

    return make


@pytest.mark.parametrize("kind,ok", [("missing", False), ("wrong", False), ("duplicated", False), ("empty", False),
                                     ("spaces", True)])
def test_F4_case9_sec_websocket_accept(run_wsc, evil, kind, ok):
    """F4/#9: Accept missing, wrong, duplicated (even if both correct) → 6; surrounded by spaces → accepted."""
    r, _ = hs_result(run_wsc, evil, _accept_variant(kind))
    assert r.rc == (EXIT_OK if ok else EXIT_HANDSHAKE), r


@pytest.mark.parametrize(
    "ext",
    ["x-foo", "permessage-deflate;;", "permessage-deflate; foo", 'a; b="' + "\\c" * 32768],
    ids=["x-foo", "pmd-double-semicolon", "pmd-unknown-param", "redos-64k"],
)
def test_F5_case10_unoffered_or_malformed_extension(run_wsc, evil, ext):
    """F5/#10: an extension not offered, or a malformed header → exit 6, fast (< 1 s even for 64 KiB)."""
    r, _ = hs_result(run_wsc, evil, lambda c: c.respond_101(extra=[f"Sec-WebSocket-Extensions: {ext}"]), linger=2)
    assert r.rc == EXIT_HANDSHAKE, r
    assert r.elapsed < 1.0, r


def test_F5_case10_permessage_deflate_when_not_offered(run_wsc, evil):
    """F5/#10: ``permessage-deflate`` accepted by the server although the client did not offer it
    (``--no-compression``) → 6."""
    offered = {}

    def make(c):
        offered["ext"] = c.request.get("Sec-WebSocket-Extensions") or ""
        return c.respond_101(extra=["Sec-WebSocket-Extensions: permessage-deflate"]) + CLOSE_NOW

    # wsc offers permessage-deflate by default (test_compression.py covers that); here it must not.
    r, _ = hs_result(run_wsc, evil, make, args=["--no-compression"])
    assert "permessage-deflate" not in offered["ext"], offered
    assert r.rc == EXIT_HANDSHAKE, r


@pytest.mark.parametrize(
    "offer,answer,ok",
    [
        (["a"], "b", False),
        ([], "a", False),
        (["a", "b"], "a, b", False),
        (["a", "b"], "b", True),
        (["a"], "a", True),
    ],
    ids=["not-offered", "none-offered", "two-accepted", "second-ok", "one-ok"],
)
def test_F6_case10_subprotocol(run_wsc, evil, offer, answer, ok):
    """F6/#10: a subprotocol not offered, any when none offered, or several → 6; an offered one → 0."""
    args = [a for s in offer for a in ("-s", s)]
    r, ev = hs_result(
        run_wsc, evil, lambda c: c.respond_101(extra=[f"Sec-WebSocket-Protocol: {answer}"]) + (CLOSE_NOW if ok else b""),
        args=args,
    )
    assert r.rc == (EXIT_OK if ok else EXIT_HANDSHAKE), r
    if offer:
        sent = [t.strip() for v in ev.conn.request.get_all("Sec-WebSocket-Protocol") for t in v.split(",")]
        assert sent == offer


def test_F7_case4_eof_before_any_response(run_wsc, evil):
    """F7/#4: EOF before any response → exit 6, stderr says the connection closed while reading the status line."""
    r, _ = hs_result(run_wsc, evil, b"", linger=0)
    assert r.rc == EXIT_HANDSHAKE, r
    low = r.stderr.lower()
    assert re.search(r"clos|eof|end of", low), r


def test_F7_case5_junk_response(run_wsc, evil):
    """F7/#5: ``220 smtp.invalid`` → exit 6, "invalid" status line, the text shown escaped."""
    r, _ = hs_result(run_wsc, evil, b"220 smtp.invalid ESMTP \x1b[31mready\r\n\r\n")
    assert r.rc == EXIT_HANDSHAKE, r
    assert "invalid" in r.stderr.lower() or "status" in r.stderr.lower(), r
    assert no_raw_controls(r.err), r


def test_F7_case7_http_1_0_101(run_wsc, evil):
    """F7/#7: ``HTTP/1.0 101`` → exit 6."""
    r, _ = hs_result(run_wsc, evil, lambda c: c.respond_101(status_line="HTTP/1.0 101 Switching Protocols") + CLOSE_NOW)
    assert r.rc == EXIT_HANDSHAKE, r


def test_F7_truncated_response(run_wsc, evil):
    """F7: a response cut before the blank line, then EOF → exit 6."""
    r, _ = hs_result(run_wsc, evil, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n", linger=0)
    assert r.rc == EXIT_HANDSHAKE, r


def test_F7_truncated_response_then_reset(run_wsc, evil):
    """F7: a response cut mid-header, then RST → exit 6 (handshake class, not a crash)."""
    r, _ = hs_result(run_wsc, evil, b"HTTP/1.1 101 Switching Protocols\r\nUpgr", linger=0.2, then="reset")
    assert r.rc == EXIT_HANDSHAKE, r


# ---------------------------------------------------------------- F8 / #11 limits


def _big_response(kind):
    def make(c):
        base = c.respond_101()[:-2]  # drop the final CRLF, add headers, close the block
        if kind == "1MiB-line":
            return base + b"X-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"
        if kind == "100k-headers":
            return base + b"".join(b"X-%d: v\r\n" % i for i in range(100_000)) + b"\r\n"
        if kind == "200-headers":
            return base + b"".join(b"X-%d: v\r\n" % i for i in range(200)) + b"\r\n"
        if kind == "9000-byte-line":
            return base + b"X-Long: " + b"a" * 9000 + b"\r\n\r\n"
        if kind == "72KiB-block":
            return base + b"".join(b"X-%d: " % i + b"b" * 6000 + b"\r\n" for i in range(12)) + b"\r\n"
        if kind == "long-status-line":
            return b"HTTP/1.1 101 " + b"S" * 9000 + b"\r\n" + base.split(b"\r\n", 1)[1] + b"\r\n"
        raise AssertionError(kind)

    return make


@pytest.mark.parametrize("kind", ["1MiB-line", "100k-headers", "200-headers", "9000-byte-line", "72KiB-block",
                                  "long-status-line"])
def test_F8_case11_response_limits(run_wsc, evil, kind):
    """F8/#11: header line > 8192 B, > 128 headers, block > 64 KiB → exit 6, RSS < 64 MiB."""
    r, _ = hs_result(run_wsc, evil, _big_response(kind), linger=2)
    assert r.rc == EXIT_HANDSHAKE, r
    assert r.maxrss_kib < 64 * 1024, r


@pytest.mark.parametrize("kind", ["100-headers", "8000-byte-line", "60KiB-block"])
def test_F8_within_limits_accepted(run_wsc, evil, kind):
    """F8 counter-check: 100 headers, an 8000-byte line, a 60 KiB block → accepted."""

    def make(c):
        base = c.respond_101()[:-2]
        if kind == "100-headers":
            extra = b"".join(b"X-%d: v\r\n" % i for i in range(100))
        elif kind == "8000-byte-line":
            extra = b"X-Long: " + b"a" * 8000 + b"\r\n"
        else:
            extra = b"".join(b"X-%d: " % i + b"b" * 6000 + b"\r\n" for i in range(10))
        return base + extra + b"\r\n" + CLOSE_NOW

    r, _ = hs_result(run_wsc, evil, make)
    assert r.rc == EXIT_OK, r


def test_F8_case11_endless_headers(run_wsc, evil):
    """F8/#11: endless headers (streamed for up to 5 s) → exit 6 at the limit, RSS < 64 MiB."""

    def script(c):
        if c.read_request() is None:
            return
        head = c.respond_101()[:-2]
        if not c.send(head):
            return
        deadline = time.monotonic() + 5
        i = 0
        while time.monotonic() < deadline:
            chunk = b"".join(b"X-Endless-%d: %s\r\n" % (i + j, b"v" * 50) for j in range(200))
            i += 200
            if not c.send(chunk, timeout=1):
                return

    ev = evil(script)
    r = run_wsc([ev.url(), *STAY], timeout=10)
    ev.wait()
    assert r.rc == EXIT_HANDSHAKE, r
    assert r.elapsed < 4, r
    assert r.maxrss_kib < 64 * 1024, r


def test_F9_case12_frames_in_the_same_segment_as_the_101(run_wsc, evil):
    """F9/#12: one send() of 101 + ``81 05 Hello`` + ``88 02 03 e8`` → "Hello" printed, exit 0."""
    r, c = evil_session(run_wsc, evil, E.hx("81 05") + b"Hello" + E.hx("88 02 03 e8"))
    assert r.out == b"Hello\n", r
    assert r.rc == EXIT_OK, r
    assert c.close_codes() == [1000]


def test_F10_interim_100_continue(run_wsc, evil):
    """F10: ``100 Continue`` then the 101 → works, or fails clearly (exit 6), within the budget; never hangs."""
    r, _ = hs_result(run_wsc, evil, lambda c: b"HTTP/1.1 100 Continue\r\n\r\n" + c.respond_101() + E.text("hi") + CLOSE_NOW)
    assert r.rc in (EXIT_OK, EXIT_HANDSHAKE), r
    assert r.elapsed < 3, r
    if r.rc == EXIT_OK:
        assert r.out == b"hi\n"
    else:
        assert r.err.startswith(b"wsc: "), r


# ================================================================ G (default) / #14 / #15


def test_G1_case14_301_not_followed(run_wsc, evil):
    """G1/#14: a 301 → exit 6 with the Location in stderr, and no second connection anywhere."""
    target = evil(E.script_send(CLOSE_NOW))
    loc = target.url("/moved")
    r, ev = hs_result(run_wsc, evil, f"HTTP/1.1 301 Moved Permanently\r\nLocation: {loc}\r\nContent-Length: 0\r\n\r\n".encode())
    time.sleep(0.25)
    assert r.rc == EXIT_HANDSHAKE, r
    assert "301" in r.stderr and loc in r.stderr, r
    assert ev.accepts == 1 and target.accepts == 0


def test_case14_401_is_not_retried_forever(run_wsc, evil):
    """G6/#14: the server always answers 401 (credentials given) → exit 6 after 1–2 tries."""
    r, ev = hs_result(run_wsc, evil, b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n",
                      args=["--auth", "u:p"])
    time.sleep(0.25)
    assert r.rc == EXIT_HANDSHAKE, r
    assert "401" in r.stderr, r
    assert 1 <= ev.accepts <= 2


def test_case15_cross_origin_redirect_leaks_nothing(run_wsc, evil):
    """G4/#15 (default, no -L): a 301 to another port with ``-H Authorization`` → exit 6,
    the other port sees no connection and the token is not printed."""
    target = evil(E.script_send(CLOSE_NOW))
    loc = target.url("/")
    r, ev = hs_result(run_wsc, evil, f"HTTP/1.1 301 Moved\r\nLocation: {loc}\r\nContent-Length: 0\r\n\r\n".encode(),
                      args=["-H", "Authorization: Bearer T0KEN"])
    time.sleep(0.25)
    assert r.rc == EXIT_HANDSHAKE, r
    assert target.accepts == 0
    assert ev.conn.request.get("Authorization") == "Bearer T0KEN"
    assert b"T0KEN" not in r.err


def test_case63_location_is_escaped(run_wsc, evil):
    """#63: a Location carrying ``\\x1b]0;x\\x07`` is printed escaped."""
    r, _ = hs_result(run_wsc, evil, b"HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:1/\x1b]0;x\x07\r\nContent-Length: 0\r\n\r\n")
    assert r.rc == EXIT_HANDSHAKE, r
    assert no_raw_controls(r.err), r


@pytest.mark.parametrize("status", ["200 ok", "403 Forbidden"])
def test_F1_http10_error_response_is_a_rejection_with_its_status(run_wsc, evil, status):
    """Issue 19: an HTTP/1.0 server cannot upgrade, but its status is still its answer."""
    raw = f"HTTP/1.0 {status}\r\nContent-type: text/html\r\n\r\n<HTML><BODY>no</BODY></HTML>\r\n".encode()
    r, _ = hs_result(run_wsc, evil, raw)
    assert r.rc == EXIT_HANDSHAKE, r
    assert f"server rejected the WebSocket connection: HTTP {status}" in r.stderr, r


def test_F1_http10_101_is_still_invalid(run_wsc, evil):
    r, _ = hs_result(run_wsc, evil, b"HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
    assert r.rc == EXIT_HANDSHAKE, r
    assert "invalid HTTP status line" in r.stderr, r
