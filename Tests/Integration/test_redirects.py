"""Redirects of the opening handshake (issue 13, CHECKLIST G): not followed by default
(exit 6 naming the Location); with ``-L`` followed up to ``--max-redirects`` (10), loops
detected, wss:// never downgraded to ws://, credentials kept only for the same origin.
Scripted servers answer the redirects and record the headers they got; the final hop
is Python websockets."""

from __future__ import annotations

import pytest

from helpers import EXIT_OK, EXIT_USAGE, FAST
from peers import ref as R
from peers import tls as T

EXIT_HANDSHAKE = 6
ONE = ["-x", "hello", "--count", "1", "-w", "5", *FAST]


def redirecting(status: int, location):
    """EVIL: answers every request with ``status`` and ``Location: location(conn_index)``."""
    count = {"n": 0}

    def script(c):
        if c.read_request() is None:
            return
        count["n"] += 1
        loc = location(count["n"]) if callable(location) else location
        c.send(f"HTTP/1.1 {status} Moved\r\nLocation: {loc}\r\nContent-Length: 0\r\n\r\n".encode())
        c.collect(1)

    return script


def test_G1_without_L_a_redirect_is_exit_6_naming_the_location(run_wsc, evil, ref):
    srv = ref(R.echo)
    ev = evil(redirecting(302, srv.url("/there")))
    r = run_wsc([*ONE, ev.url()], check=False)
    ev.wait()
    assert r.rc == EXIT_HANDSHAKE, r
    assert f"redirect to {srv.url('/there')}" in r.stderr and "-L follows it" in r.stderr, r
    assert len(ev.conns) == 1 and not srv.conns, "a redirect was followed without -L"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_G5_absolute_location_followed_with_L(run_wsc, evil, ref, status):
    srv = ref(R.echo)
    ev = evil(redirecting(status, srv.url("/final?x=1")))
    r = run_wsc([*ONE, "-L", "-v", ev.url("/start")])
    assert r.rc == EXIT_OK, r
    assert r.out == b"hello\n"
    assert srv.conn.path == "/final?x=1"
    assert f"* redirect 1: {status} to ws://127.0.0.1:{srv.port}/final?x=1" in r.stderr, r.stderr


def test_G5_relative_locations_resolve_against_the_current_url(run_wsc, evil):
    """/a/b/start → 'next' → /a/b/next → '../up?q' → /a/up?q → '?only' → /a/up?only."""
    hops = {1: "next", 2: "../up?q", 3: "?only"}

    def script(c):
        req = c.read_request()
        if req is None:
            return
        if req.target == "/a/up?only":
            c.handshake()
            c.send(b"\x81\x04done\x88\x02\x03\xe8")
            c.collect(2)
            return
        n = {"/a/b/start": 1, "/a/b/next": 2, "/a/up?q": 3}[req.target]
        c.send(f"HTTP/1.1 302 Found\r\nLocation: {hops[n]}\r\n\r\n".encode())
        c.collect(1)

    ev = evil(script)
    r = run_wsc([ev.url("/a/b/start"), "-L", "-w", "-1", *FAST])
    assert r.rc == EXIT_OK, r
    assert r.out == b"done\n"
    assert [c.request.target for c in ev.conns] == ["/a/b/start", "/a/b/next", "/a/up?q", "/a/up?only"]


def test_G5_https_location_means_wss_and_http_means_ws(run_wsc, evil, ref):
    srv = ref(R.echo)
    ev = evil(redirecting(301, f"http://127.0.0.1:{srv.port}/h"))
    r = run_wsc([*ONE, "-L", ev.url()])
    assert r.rc == EXIT_OK, r
    assert srv.conn.path == "/h"


def test_G2_a_loop_is_detected(run_wsc, evil):
    ev = evil(None)
    ev.script = redirecting(302, lambda n: ev.url("/a" if n % 2 else "/b"))
    r = run_wsc([*ONE, "-L", ev.url("/a")], check=False)
    assert r.rc == EXIT_HANDSHAKE, r
    assert "redirect loop" in r.stderr, r
    assert len(ev.conns) <= 3


def test_G2_at_most_max_redirects(run_wsc, evil):
    ev = evil(None)
    ev.script = redirecting(307, lambda n: ev.url(f"/hop{n}"))
    r = run_wsc([*ONE, "-L", "--max-redirects", "3", ev.url("/hop0")], check=False)
    assert r.rc == EXIT_HANDSHAKE, r
    assert "more than 3 redirects (--max-redirects)" in r.stderr, r
    assert len(ev.conns) == 4
    r = run_wsc([*ONE, "-L", ev.url("/x")], check=False)
    assert "more than 10 redirects" in r.stderr, r


def test_G3_wss_to_ws_downgrade_is_refused(run_wsc, evil, tmp_path):
    certs = T.CertSet(tmp_path)
    target = evil(None)
    tls_ev = T.TlsEvil(redirecting(302, target.url("/plain")), ctx=certs.server_context("localhost"))
    try:
        r = run_wsc([*ONE, "-L", "--ca", str(certs.ca_pem), tls_ev.url(host="localhost")], check=False)
    finally:
        tls_ev.close()
    assert r.rc == EXIT_HANDSHAKE, r
    assert "refusing to follow the redirect from wss:// to ws://" in r.stderr, r
    assert not target.conns, "the ws:// target was contacted"


def test_G4_credentials_dropped_for_another_origin_kept_for_the_same(run_wsc, evil):
    final = evil(None)

    def final_script(c):
        if c.read_request() is None:
            return
        c.handshake()
        c.send(b"\x81\x02ok\x88\x02\x03\xe8")
        c.collect(2)

    final.script = final_script
    first = evil(None)
    first.script = redirecting(302, lambda n: first.url("/same") if n == 1 else final.url("/other"))
    args = ["-L", "-w", "-1", *FAST, "-H", "Cookie: session=1", "--auth", "user:pw"]
    r = run_wsc([*args, first.url("/start")])
    assert r.rc == EXIT_OK, r
    same = first.conns[1].request
    assert same.target == "/same"
    assert same.get("Authorization") and same.get("Cookie") == "session=1", same.headers
    other = final.conn.request
    assert other.get("Authorization") is None and other.get("Cookie") is None, other.headers
    # userinfo in the URL is dropped the same way.
    first2 = evil(None)
    first2.script = redirecting(302, final.url("/other"))
    r = run_wsc(["-L", "-w", "-1", *FAST, first2.url("/start").replace("ws://", "ws://u:p@")])
    assert r.rc == EXIT_OK, r
    assert first2.conn.request.get("Authorization")
    assert final.conns[1].request.get("Authorization") is None


def test_max_redirects_needs_L_and_L_is_not_for_listen(run_wsc):
    r = run_wsc(["--max-redirects", "3", "ws://127.0.0.1:9/"], check=False)
    assert r.rc == EXIT_USAGE and "--max-redirects needs -L" in r.stderr, r
    r = run_wsc(["-l", "127.0.0.1:0", "-L"], check=False)
    assert r.rc == EXIT_USAGE, r


def test_G6_a_401_with_credentials_is_reported_once_not_retried(run_wsc, evil):
    def script(c):
        if c.read_request() is None:
            return
        c.send(b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="x"\r\nContent-Length: 0\r\n\r\n')
        c.collect(1)

    ev = evil(script)
    r = run_wsc([*ONE, "-L", "--auth", "user:wrong", ev.url()], check=False)
    ev.wait()
    assert r.rc == EXIT_HANDSHAKE, r
    assert "HTTP 401 Unauthorized" in r.stderr, r
    assert "wrong" not in r.stderr
    assert len(ev.conns) == 1, "a refused credential was retried"
