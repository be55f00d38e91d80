"""CHECKLIST §1 K4 (optional keepalive): ``--ping-interval S`` sends a Ping every S seconds;
a Pong that does not come within ``--ping-timeout`` gives up the connection with Close 1011
and exit 9 (timeout class). The server role's test is in test_listen.py."""

from __future__ import annotations

import struct

import pytest

from helpers import EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE, FAST, STAY
from peers import evil as E
from peers import ref as R

KEEPALIVE_CLOSE = struct.pack("!H", 1011) + b"keepalive ping timeout"


def test_K4_silent_peer_fails_with_1011_and_exit_9(run_wsc, evil):
    """K4: the server reads but never answers a Ping (as if stopped) → one Ping, then Close
    1011 "keepalive ping timeout", exit 9 within interval + timeout + 1 s."""

    def script(c):
        if c.read_request() is None:
            return
        c.send(c.respond_101())
        c.read_until_eof(6)

    ev = evil(script)
    r = run_wsc([ev.url(), *STAY, "--ping-interval", "0.5", "--ping-timeout", "0.5"], timeout=10)
    ev.wait()
    assert r.rc == EXIT_TIMEOUT, r
    assert r.elapsed <= 0.5 + 0.5 + 1, r
    assert "--ping-timeout 0.5" in r.stderr, r
    pings = [f for f in ev.conn.frames if f.opcode == E.OP_PING]
    assert [len(p.payload) for p in pings] == [4], ev.conn.frames
    closes = ev.conn.close_frames()
    assert [c.payload for c in closes] == [KEEPALIVE_CLOSE], ev.conn.frames
    assert ev.conn.frames.index(closes[0]) > ev.conn.frames.index(pings[0])


def test_K4_pong_with_another_payload_does_not_count(run_wsc, evil):
    """§5.5.3: a Pong answers a Ping only with the same payload. A server that answers every
    Ping with a Pong of other bytes (and sends unsolicited ones) is still timed out."""

    def script(c):
        if c.read_request() is None:
            return
        c.send(c.respond_101() + E.pong(b"unsolicited"))
        c.collect(6, on_frame=lambda f: c.send(E.pong(f.payload + b"x")) if f.opcode == E.OP_PING else None)

    ev = evil(script)
    r = run_wsc([ev.url(), *STAY, "--ping-interval", "0.3", "--ping-timeout", "0.4"], timeout=10)
    ev.wait()
    assert r.rc == EXIT_TIMEOUT, r
    assert ev.conn.close_codes() == [1011], ev.conn.frames


def test_K4_live_server_answers_and_the_session_ends_normally(run_wsc, ref):
    """K4 with the reference server (Python websockets answers Pings): Pings every 0.2 s, each
    with its own payload, all answered; the message and the normal close are unaffected."""
    srv = ref(R.send_messages([], close_code=None, then_echo=True))
    r = run_wsc([srv.url(), *FAST, "-w", "1.2", "-x", "hello", "-P", "--ping-interval", "0.2"], timeout=10)
    srv.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == b"hello\n", r
    pongs = [line for line in r.stderr.splitlines() if "received pong (4 bytes)" in line]
    assert len(pongs) >= 3, r
    assert len(set(pongs)) == len(pongs), f"each Ping has its own payload{r!r}"
    assert srv.conn.close_rcvd_code == 1000


@pytest.mark.parametrize(
    "args, message",
    [
        (["--ping-timeout", "5"], "--ping-timeout needs --ping-interval"),
        (["--ping-interval", "0"], "--ping-interval must be a number of seconds above 0"),
        (["--ping-interval", "nan"], "--ping-interval must be a number of seconds above 0"),
        (["--ping-interval", "1", "--ping-timeout=-1"], "--ping-timeout must be a number of seconds above 0"),
    ],
)
def test_K4_bad_keepalive_options_are_usage_errors(run_wsc, args, message):
    r = run_wsc(["ws://127.0.0.1:1/", *args], timeout=5)
    assert r.rc == EXIT_USAGE, r
    assert message in r.stderr, r


def test_keepalive_rtt_is_shown_with_P_and_in_jsonl(run_wsc, ref):
    """Issue 14: each keepalive Pong's round-trip time, with -P (or -v) and in --jsonl."""
    import json
    import re

    from peers import ref as R

    srv = ref(R.echo)
    r = run_wsc([srv.url(), "-P", "--ping-interval", "0.2", "-w", "0.9", "--close-timeout", "1"], input=b"x\n")
    rtts = re.findall(r"received pong \(4 bytes\): .*, keepalive round trip ([0-9.]+) ms", r.stderr)
    assert len(rtts) >= 2 and all(float(x) >= 0 for x in rtts), r.stderr
    r = run_wsc([srv.url(), "-v", "--ping-interval", "0.2", "-w", "0.9", "--close-timeout", "1"], input=b"x\n")
    assert len(re.findall(r"keepalive pong in ([0-9.]+) ms", r.stderr)) >= 2, r.stderr
    r = run_wsc([srv.url(), "--jsonl", "--ping-interval", "0.2", "-w", "0.9", "--close-timeout", "1"], input=b"x\n")
    pongs = [e for e in map(json.loads, r.out.decode().splitlines()) if e["event"] == "pong"]
    assert len(pongs) >= 2 and all(p["rtt_ms"] >= 0 for p in pongs), r.out
