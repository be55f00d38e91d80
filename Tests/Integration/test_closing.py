"""CHECKLIST §1 M (closing) and §3 cases 37–43, plus the close-related exit codes
(0 / 1 / 7 / 8 / 9)."""

from __future__ import annotations

import struct
import time

import pytest

from helpers import (
    EXIT_LOST,
    EXIT_OK,
    EXIT_PEER_CLOSED,
    EXIT_PROTOCOL,
    EXIT_TIMEOUT,
    FAST,
    STAY,
    assert_failed_with,
    evil_session,
    no_raw_controls,
)
from peers import evil as E

CLOSE_NOW = E.close_frame(1000)


# ================================================================ M1 / #42


def test_M1_case42_server_close_echoed_while_tcp_stays_open(run_wsc, evil):
    """M1/#42: EVIL sends ``88 02 03 e8`` and keeps TCP open → wsc echoes 1000 and exits 0 within ≤ 2.5 s
    (default --close-timeout)."""

    def script(c):
        if c.read_request() is None:
            return
        c.send(c.respond_101() + E.hx("88 02 03 e8"))
        c.read_until_eof(6)  # never close TCP ourselves

    ev = evil(script)
    r = run_wsc([ev.url(), "-w", "-1"], timeout=10)
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert ev.conn.close_codes() == [1000]
    assert r.elapsed <= 2.9, r  # 2.5 s + process start-up


# ================================================================ M2 / #43


def test_M2_case43_our_close_never_answered(run_wsc, evil):
    """M2/#43: we close (end of input, -w 0), the server never answers → exit 9 after the
    close timeout (1 s) + ≤ 0.5 s."""

    def script(c):
        if c.read_request() is None:
            return
        c.handshake()
        c.mark("open")
        c.read_until_eof(6)

    ev = evil(script)
    r = run_wsc([ev.url(), "-w", "0", *FAST], input=b"last\n", timeout=10)
    ev.wait()
    c = ev.conn
    assert c.close_codes() == [1000], c.frames
    assert r.rc == EXIT_TIMEOUT, r
    waited = r.t_end - c.close_frames()[0].t
    assert 0.9 <= waited <= 1.6, f"waited {waited:.2f}s after sending Close{r!r}"


def test_M2_our_close_answered_exits_0(run_wsc, evil):
    """M2/P7: end of input → Close 1000 → server answers → exit 0 promptly."""
    r, c = evil_session(run_wsc, evil, b"", base=["-w", "0", *FAST], input=b"last\n")
    assert r.rc == EXIT_OK, r
    assert c.close_codes() == [1000]
    assert r.elapsed < 1.0, r


# ================================================================ M3 / #37


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535])
def test_M3_case37_invalid_close_code_fails_1002(run_wsc, evil, code):
    """M3/#37: a Close with an invalid code → we reply 1002, exit 7."""
    r, c = evil_session(run_wsc, evil, E.close_frame(code))
    assert_failed_with(r, c, 1002)


def test_M3_case37_one_byte_close_payload_fails_1002(run_wsc, evil):
    """M3/#37: ``88 01 03`` → 1002, exit 7."""
    r, c = evil_session(run_wsc, evil, E.hx("88 01 03"))
    assert_failed_with(r, c, 1002)


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999])
def test_M3_case37_valid_close_code_echoed(run_wsc, evil, code):
    """M3/#37: a valid code is echoed; exit 0 for 1000/1001, otherwise 1 with the code on stderr."""
    r, c = evil_session(run_wsc, evil, E.close_frame(code, "why"))
    assert c.close_codes() == [code], (c.frames, r)
    if code in (1000, 1001):
        assert r.rc == EXIT_OK, r
    else:
        assert r.rc == EXIT_PEER_CLOSED, r
        assert str(code) in r.stderr, r
        assert "why" in r.stderr, r


def test_M3_empty_close_payload(run_wsc, evil):
    """M3: ``88 00`` (no status) is valid → wsc answers with a Close (empty or 1000) and exits 0 or 1."""
    r, c = evil_session(run_wsc, evil, E.hx("88 00"))
    assert c.close_codes() in ([None], [1000]), c.frames
    assert r.rc in (EXIT_OK, EXIT_PEER_CLOSED), r


def test_exit1_server_close_code_and_reason_printed(run_wsc, evil):
    """Contract: the server closes with 4000 "bye" → exit 1, code and reason on stderr."""
    r, c = evil_session(run_wsc, evil, E.text("m") + E.close_frame(4000, "bye"))
    assert r.out == b"m\n"
    assert r.rc == EXIT_PEER_CLOSED, r
    assert "4000" in r.stderr and "bye" in r.stderr, r
    assert r.err.startswith(b"wsc: "), r


# ================================================================ M4 / #39


def test_M4_case39_no_processing_after_fail(run_wsc, evil):
    """M4/#39: ``83 00`` then ``81 05 Hello`` and a Close in the same segment → "Hello" is NOT printed,
    and the only Close we send is the 1002 (no responding 1000)."""
    r, c = evil_session(run_wsc, evil, E.hx("83 00") + E.hx("81 05") + b"Hello" + CLOSE_NOW)
    assert r.out == b"", r
    assert_failed_with(r, c, 1002)
    assert c.close_codes() == [1002], c.frames


def test_M4_no_pong_after_fail(run_wsc, evil):
    """M4: a ping after the bad frame is not answered."""
    r, c = evil_session(run_wsc, evil, E.hx("81 01 ff") + E.ping(b"late"))
    assert_failed_with(r, c, 1007)
    assert c.pongs() == []


# ================================================================ M5 / #41 (and plain-TCP #20)


def _lost_script(ending: str):
    def script(c):
        if c.read_request() is None:
            return
        c.send(c.respond_101() + E.text("m1") + E.text("m2") + E.hx("81 7e 10 00") + b"x" * 100)
        c.sleep(0.3)
        if ending == "reset":
            c.reset()
        else:
            c.close()

    return script


@pytest.mark.parametrize("ending", ["reset", "fin"])
def test_M5_case41_connection_lost_mid_frame(run_wsc, evil, ending):
    """M5/#41: RST (SO_LINGER 0) or FIN in the middle of a frame → exit 8, earlier messages printed once."""
    ev = evil(_lost_script(ending))
    r = run_wsc([ev.url(), *STAY], timeout=10)
    ev.wait()
    assert r.out == b"m1\nm2\n", r
    assert r.rc == EXIT_LOST, r


def test_M5_case20_fin_between_frames_without_close(run_wsc, evil):
    """M5 (#20 without TLS): TCP FIN at a frame boundary but no Close → exit 8."""

    def script(c):
        if c.read_request() is None:
            return
        c.send(c.respond_101() + E.text("m1"))
        c.sleep(0.2)
        c.shutdown_write()
        c.read_until_eof(3)

    ev = evil(script)
    r = run_wsc([ev.url(), *STAY], timeout=10)
    ev.wait()
    assert r.out == b"m1\n", r
    assert r.rc == EXIT_LOST, r


def test_M5_fin_right_after_close_handshake_is_fine(run_wsc, evil):
    """#20 counterpart: server Close then FIN → exit 0."""

    def script(c):
        if c.read_request() is None:
            return
        c.send(c.respond_101() + E.text("m1") + CLOSE_NOW)
        c.shutdown_write()
        c.read_until_eof(3)

    ev = evil(script)
    r = run_wsc([ev.url(), *STAY], timeout=10)
    ev.wait()
    assert r.out == b"m1\n", r
    assert r.rc == EXIT_OK, r


# ================================================================ M6 / #40


def test_M6_case40_data_and_ping_after_server_close_ignored(run_wsc, evil):
    """M6/#40 (+K1): ``88 02 03 e8`` + ``81 02 hi`` + ping → "hi" not printed, no pong, Close echoed, exit 0."""
    r, c = evil_session(run_wsc, evil, CLOSE_NOW + E.hx("81 02") + b"hi" + E.ping(b"x"))
    assert r.out == b"", r
    assert c.pongs() == []
    assert c.close_codes() == [1000]
    assert r.rc == EXIT_OK, r


# ================================================================ M7 / #63


def test_M7_case63_close_reason_printed_escaped(run_wsc, evil):
    """M7/#63: reason ``\\x1b]0;x\\x07`` → shown escaped and labelled with the code; no raw ESC/BEL."""
    r, c = evil_session(run_wsc, evil, E.close_frame(4000, b"\x1b]0;x\x07"))
    assert r.rc == EXIT_PEER_CLOSED, r
    assert "4000" in r.stderr
    assert "]0;x" in r.stderr, r
    assert no_raw_controls(r.err), r


# ================================================================ no spin while idle


def test_idle_connection_does_not_spin(start_wsc, evil):
    """§3 defaults: CPU ≤ 10 % of wall time while idle-waiting on an open connection."""

    def script(c):
        if c.read_request() is None:
            return
        c.handshake()
        c.mark("open")
        c.recv_available(2.5)
        c.send(CLOSE_NOW)
        c.collect(3)

    ev = evil(script)
    p = start_wsc([ev.url(), *STAY])
    assert ev.wait_mark("open", 5)
    time.sleep(0.3)
    c0, t0 = p.cpu_seconds(), time.monotonic()
    time.sleep(1.5)
    c1, t1 = p.cpu_seconds(), time.monotonic()
    r = p.finish(10)
    ev.wait()
    assert (c1 - c0) / (t1 - t0) <= 0.10, f"CPU {(c1 - c0):.2f}s in {(t1 - t0):.2f}s idle{r!r}"
    assert r.rc == EXIT_OK, r
