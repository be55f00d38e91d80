"""CHECKLIST §1 N (resource limits), I5, K3, P8, and §3 cases 33, 44, 45, 55, 61."""

from __future__ import annotations

import os
import threading
import time

import pytest

from helpers import wsc_binary, EXIT_LOST, EXIT_OK, EXIT_PROTOCOL, FAST, STAY, assert_failed_with, evil_session
from peers import evil as E
from peers import ref as R

CLOSE_NOW = E.close_frame(1000)
MiB = 1024


def test_I5_N1_case33_declared_2_pow_40_then_silence(run_wsc, evil):
    """I5/N1/#33: ``82 7f 00 00 01 00 00 00 00 00`` (2^40) then silence → 1009 at once, no allocation."""
    r, c = evil_session(run_wsc, evil, E.hx("82 7f 00 00 01 00 00 00 00 00"), ["--max-message-size", "16M"], collect=5)
    assert_failed_with(r, c, 1009)
    assert c.close_frames()[0].t - c.t0 < 1.5, "1009 not sent at once"
    assert r.maxrss_kib < 64 * MiB, r


def test_I5_header_over_limit_fails_before_payload(run_wsc, evil):
    """I5: with --max-message-size 1K, a header declaring 1025 bytes (payload never sent) → 1009 at once."""
    r, c = evil_session(run_wsc, evil, E.hx("82 7e 04 01"), ["--max-message-size", "1K"], collect=5)
    assert_failed_with(r, c, 1009)
    assert r.elapsed < 2.0, r


@pytest.mark.parametrize(
    "payload,ok",
    [
        (E.binary(b"x" * 1024), True),
        (E.binary(b"x" * 1025), False),
        (E.text("y" * 1024), True),
        (E.text("y" * 1025), False),
        (E.frame(2, b"x" * 512, fin=False) + E.cont(b"x" * 512), True),
        (E.frame(2, b"x" * 512, fin=False) + E.cont(b"x" * 513), False),
        (E.frame(1, b"y" * 1000, fin=False) + E.cont(b"y" * 24, fin=False) + E.cont(b"y"), False),
    ],
    ids=["bin-1024", "bin-1025", "text-1024", "text-1025", "frag-1024", "frag-1025", "frag-text-1025"],
)
def test_N1_max_message_size_boundary_never_truncated(run_wsc, evil, payload, ok):
    """N1 (O9 shape without compression): exactly max → printed whole; max+1 → 1009, exit 7, nothing printed."""
    r, c = evil_session(run_wsc, evil, payload + (CLOSE_NOW if ok else b""), ["--max-message-size", "1K"])
    if ok:
        assert r.rc == EXIT_OK, r
        assert len(r.out) == 1025 and r.out.endswith(b"\n"), r
    else:
        assert_failed_with(r, c, 1009)
        assert r.out == b"", r


def _fragments(n: int, fin: bool) -> bytes:
    return E.hx("01 01 61") + E.hx("00 01 61") * (n - 2) + (E.hx("80 01 61") if fin else E.hx("00 01 61"))


def test_N2_case45_131071_one_byte_fragments_never_fin(run_wsc, evil):
    """N2/#45: ``01 01 61`` + 131 071 × ``00 01 61`` without FIN → fails with 1009 (or 1008) at the
    fragment limit, RSS < 2 × max + 32 MiB."""
    r, c = evil_session(run_wsc, evil, _fragments(131_072, fin=False), ["--max-message-size", "16M"], timeout=30)
    codes = c.close_codes()
    assert codes and codes[0] in (1009, 1008), (codes, r)
    assert r.rc == EXIT_PROTOCOL, r
    assert r.out == b"", r
    assert r.maxrss_kib < 64 * MiB, r


def test_N2_100001_fragments_fail_1009(run_wsc, evil):
    """Contract: a message in more than 100 000 fragments → 1009 even though it is tiny."""
    r, c = evil_session(run_wsc, evil, _fragments(100_001, fin=True) + CLOSE_NOW, timeout=30)
    assert_failed_with(r, c, 1009)
    assert r.out == b"", r


def test_N2_many_fragments_below_limit_accepted(run_wsc, evil):
    """N2 counter-check: 99 000 one-byte fragments (FIN on the last) → one 99 000-byte message."""
    r, c = evil_session(run_wsc, evil, _fragments(99_000, fin=True) + CLOSE_NOW, timeout=30)
    assert r.rc == EXIT_OK, r
    assert r.out == b"a" * 99_000 + b"\n", len(r.out)


def _ping_flood(start_wsc, evil, copies: int):
    """EVIL (SO_RCVBUF 4096) never reads and floods ``copies`` × ``89 00``, then idles 4 s and closes.
    Returns (result, lowest CPU ratio seen in a 0.5 s window after the flood)."""

    def script(c):
        if c.read_request() is None:
            return
        c.handshake()
        flood = E.hx("89 00") * copies
        c.send(flood, timeout=4)  # may block when wsc applies back-pressure: fine, bounded
        c.mark("flooded")
        c.sleep(4.0)
        c.close()  # unread data → RST

    ev = evil(script, rcvbuf=4096)
    p = start_wsc([ev.url(), *STAY])
    assert ev.wait_mark("flooded", 8)
    # Processing what was buffered takes real CPU; once it is done (or blocked on a full
    # socket) wsc must go idle. A spinning client never shows a quiet window.
    lowest = 1.0
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and p.alive():
        c0, t0 = p.cpu_seconds(), time.monotonic()
        time.sleep(0.5)
        if not p.alive():
            break
        c1, t1 = p.cpu_seconds(), time.monotonic()
        lowest = min(lowest, (c1 - c0) / (t1 - t0))
        if lowest <= 0.10:
            break
    r = p.finish(10)
    ev.wait()
    return r, lowest, ev.conn


def test_K3_case44_ping_flood_bounded(start_wsc, evil):
    """K3/#44: a ping flood while EVIL never reads → RSS(10×) < 1.2 × RSS(2×), no spin (a 0.5 s window
    at ≤ 10 % CPU within 3 s of the flood), exit 8 after EVIL's close."""
    r2, cpu2, _ = _ping_flood(start_wsc, evil, 2 * 65536)
    r10, cpu10, c10 = _ping_flood(start_wsc, evil, 10 * 65536)
    assert cpu2 <= 0.10 and cpu10 <= 0.10, f"spinning: {cpu2:.2f} / {cpu10:.2f} CPU while blocked"
    assert r10.maxrss_kib < 1.2 * r2.maxrss_kib, f"RSS 2x={r2.maxrss_kib}KiB 10x={r10.maxrss_kib}KiB"
    assert r2.rc == EXIT_LOST and r10.rc == EXIT_LOST, (r2, r10)


def test_N3_case61_slow_consumer_back_pressure(start_wsc, evil):
    """N3/#61: EVIL pushes 64 KiB messages (up to 1 GiB / 5 s), wsc's stdout is a pipe nobody reads →
    RSS stays < 64 MiB and TCP back-pressure stops EVIL."""

    msg = E.binary(b"z" * 65536)

    def script(c):
        if c.read_request() is None:
            return
        c.handshake()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and c.bytes_sent < (1 << 30):
            if not c.send(msg, timeout=1.5):
                break  # blocked: back-pressure reached us
        c.mark("blocked" if c.send_error else "done")
        c.mark("finished")
        c.recv_available(3)

    ev = evil(script)
    rfd, wfd = os.pipe()
    try:
        p = start_wsc([ev.url(), *STAY], stdout=wfd)
        os.close(wfd)
        assert ev.wait_mark("finished", 10)
        rss = p.rss_kib()
        time.sleep(0.5)
        rss = max(rss, p.rss_kib())
        sent = ev.conn.bytes_sent
        p.kill()
        ev.wait()
    finally:
        os.close(rfd)
    assert rss < 64 * MiB, f"RSS {rss} KiB with a blocked stdout"
    assert ev.wait_mark("blocked", 0), f"EVIL was never blocked: sent {sent >> 20} MiB"
    assert sent < 256 << 20, f"{sent >> 20} MiB accepted with stdout blocked"


def huge_line_mib() -> int:
    """Size of the P8 line: 1 GiB for a release build; 64 MiB (4 × the limit) for a debug build, which
    scans stdin at only ~5 MB/s. Override with WSC_HUGE_LINE_MIB."""
    env = os.environ.get("WSC_HUGE_LINE_MIB")
    if env:
        return int(env)
    return 1024 if "release" in str(wsc_binary()) else 64


def test_P8_case55_huge_line_without_newline(run_wsc, ref):
    """P8/#55: a huge line (1 GiB on release builds, see huge_line_mib) then "ok", with
    --max-message-size 16M → size error on stderr, the line is skipped, "ok" is sent, RSS < 64 MiB, exit 0."""
    chunk = b"a" * (1 << 20)
    n = huge_line_mib()

    def feed(write):
        for _ in range(n):
            if not write(chunk):
                return
        write(b"\nok\n")

    srv = ref(R.counter)
    r = run_wsc([srv.url(), "-w", "0", "--max-message-size", "16M", *FAST], input=feed, timeout=90)
    srv.wait()
    assert srv.conn.messages == ["ok"], [len(m) for m in srv.conn.messages]
    assert r.rc == EXIT_OK, r
    assert b"wsc: " in r.err, r
    assert r.maxrss_kib < 64 * MiB, r
