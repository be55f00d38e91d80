"""CHECKLIST §1 Q (signals), H7, and §3 cases 64–67."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from helpers import EXIT_LOST, EXIT_SIGHUP, EXIT_SIGINT, EXIT_SIGTERM, FAST
from peers import evil as E


def open_then(script_after_open, *, rcvbuf=None):
    def script(c):
        if c.read_request() is None:
            return
        c.handshake()
        c.mark("open")
        script_after_open(c)

    return script


@pytest.mark.parametrize(
    "sig,code",
    [(signal.SIGINT, EXIT_SIGINT), (signal.SIGTERM, EXIT_SIGTERM), (signal.SIGHUP, EXIT_SIGHUP)],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
def test_Q1_Q2_case64_signal_closes_cleanly(start_wsc, evil, sig, code):
    """Q1/Q2/#64: a signal while connected → Close 1000 on the wire before FIN, exit 128+N,
    within close_timeout + 1 s."""
    ev = evil(open_then(lambda c: c.collect(8)))
    p = start_wsc([ev.url(), *FAST], keep_stdin_open=True)
    assert ev.wait_mark("open", 5)
    time.sleep(0.2)
    t_sig = time.monotonic()
    p.signal(sig)
    r = p.finish(10)
    ev.wait()
    c = ev.conn
    assert c.close_codes() in ([1000], [1001]), c.frames
    assert r.rc == code, r
    assert r.t_end - t_sig <= 2.0, r


def test_Q1_case64_second_sigint_exits_at_once(start_wsc, evil):
    """Q1/#64: EVIL never answers the Close; a second SIGINT during the close wait exits in < 200 ms."""
    ev = evil(open_then(lambda c: c.read_until_eof(9)))
    p = start_wsc([ev.url(), "--connect-timeout", "2", "--close-timeout", "5"], keep_stdin_open=True)
    assert ev.wait_mark("open", 5)
    time.sleep(0.2)
    p.signal(signal.SIGINT)
    assert _wait_for(lambda: ev.conn.close_frames(), 2), "no Close after the first SIGINT"
    assert p.alive(), "exited before the close timeout although the server never answered"
    t2 = time.monotonic()
    p.signal(signal.SIGINT)
    exited = p.wait_exit(1.0)
    r = p.finish(5)
    ev.wait()
    assert exited and r.t_end - t2 < 0.2, f"second SIGINT took {r.t_end - t2:.3f}s{r!r}"
    assert r.rc == EXIT_SIGINT, r


def _wait_for(pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return bool(pred())


def test_Q3_case65_sigint_during_blackholed_connect(start_wsc, evil):
    """Q3/#65: EVIL accepts and never answers; SIGINT at t = 0.5 s → exit 130 by t = 1.5 s."""

    def script(c):
        c.read_request()
        c.mark("request")
        c.recv_available(5)

    ev = evil(script)
    p = start_wsc([ev.url(), "--connect-timeout", "10"], keep_stdin_open=True)
    assert ev.wait_mark("request", 5)
    time.sleep(max(0.0, 0.5 - (time.monotonic() - p.t0)))
    t_sig = time.monotonic()
    p.signal(signal.SIGINT)
    r = p.finish(5)
    ev.wait()
    assert r.rc == EXIT_SIGINT, r
    assert r.t_end - t_sig <= 1.0, r


def test_H7_no_data_frame_after_close_on_sigint(start_wsc, evil):
    """H7: SIGINT while stdin is still streaming → EVIL sees no data frame after our Close."""
    counted = threading.Event()

    def after_open(c):
        def on_frame(f):
            if len(c.frames) >= 200:
                counted.set()

        c.collect(8, stop_on_close=False, on_frame=on_frame)

    ev = evil(open_then(after_open))

    def feed(write):
        deadline = time.monotonic() + 8
        i = 0
        while time.monotonic() < deadline:
            if not write(b"".join(b"line %d\n" % (i + j) for j in range(50))):
                return
            i += 50
            time.sleep(0.001)

    p = start_wsc([ev.url(), *FAST], input=feed)
    assert ev.wait_mark("open", 5)
    assert counted.wait(5), "wsc did not stream stdin"
    p.signal(signal.SIGINT)
    r = p.finish(10)
    ev.wait()
    c = ev.conn
    closes = [i for i, f in enumerate(c.frames) if f.opcode == E.OP_CLOSE]
    assert closes, c.frames[-5:]
    after = [f for f in c.frames[closes[0] + 1 :] if f.opcode in (E.OP_TEXT, E.OP_BINARY, E.OP_CONT)]
    assert after == [], f"{len(after)} data frames after the Close"
    assert c.truncated_frame is None
    texts = c.texts()
    assert texts == [b"line %d" % i for i in range(len(texts))], "messages lost or reordered before the Close"
    assert r.rc == EXIT_SIGINT, r


def _looks_like_close_at_end(partial: bytes) -> bool:
    """A masked Close frame (``88 8n`` + key + n bytes) sitting at the end of a cut payload."""
    for n in range(0, 126):
        start = len(partial) - (6 + n)
        if start < 0:
            break
        if partial[start] == 0x88 and partial[start + 1] == 0x80 | n:
            return True
    return False


def test_case66_sigterm_while_big_message_streams_out(start_wsc, evil):
    """#66: SIGTERM while a big message is being written → the frame finishes or the connection is
    failed; never a half frame followed by a Close. Exit 143.

    (16 MiB rather than 64 MiB: a debug build needs ~0.2 s per MiB of stdin before the first byte
    goes out; the property is the same.)"""
    size = 16 << 20

    def after_open(c):
        # read slowly at first so the message is mid-flight when the signal comes
        got = 0
        t_end = time.monotonic() + 1.0
        while got < (2 << 20) and time.monotonic() < t_end:
            data = c.sock.recv(65536)
            if not data:
                break
            c.buf += data
            got += len(data)
            time.sleep(0.01)
        c.mark("midflight")
        c.collect(10, stop_on_close=False)

    ev = evil(open_then(after_open))
    line = b"a" * size + b"\n"
    p = start_wsc([ev.url(), "--max-message-size", "128M", *FAST], input=line)
    assert ev.wait_mark("midflight", 10), "the message never started"
    p.signal(signal.SIGTERM)
    r = p.finish(15)
    ev.wait(10)
    c = ev.conn
    if c.truncated_frame is not None:
        header, declared, partial = c.truncated_frame
        assert not _looks_like_close_at_end(partial), "a Close was written inside an unfinished frame"
    else:
        # every frame complete: data (maybe all 64 MiB), then possibly a Close
        seen_close = False
        for f in c.frames:
            if f.opcode == E.OP_CLOSE:
                seen_close = True
            elif f.opcode in (E.OP_TEXT, E.OP_BINARY, E.OP_CONT):
                assert not seen_close, "data after Close"
    assert r.rc == EXIT_SIGTERM, r


def test_case67_C12_reset_while_writing_big_message_is_not_sigpipe(start_wsc, evil):
    """#67/C12: the server resets while we write a 16 MiB message → exit 8, not killed by SIGPIPE (141)."""

    def after_open(c):
        c.recv_available(0.3)
        c.reset()

    ev = evil(open_then(after_open))
    p = start_wsc([ev.url(), "--max-message-size", "32M", *FAST], input=b"b" * (16 << 20) + b"\n")
    r = p.finish(10, check=False)
    ev.wait()
    assert r.rc != -signal.SIGPIPE and r.rc != 141, f"killed by SIGPIPE{r!r}"
    assert r.rc == EXIT_LOST, r


def test_a_sigurg_from_outside_is_harmless_to_client_and_server(start_wsc):
    """Issue 17: the I/O threads are woken by SIGURG, so wsc installs a handler for it (with
    SA_RESTART). A SIGURG sent to the process from outside lands on whichever thread does
    not block it (the main thread, the stdin reader, the listener) or, pending, ends an I/O
    thread's next wait with nothing queued: a spurious wake-up. 500 of them at each end
    must cost nothing: no call failing with EINTR, no line lost, a normal exit."""
    server = start_wsc(["-l", "127.0.0.1:0", "--echo"], keep_stdin_open=True)
    assert _wait_for(lambda: b"listening on" in bytes(server.err), 10), bytes(server.err)
    url = bytes(server.err).split(b"listening on ", 1)[1].split(b"\n", 1)[0].decode()
    client = start_wsc([url, "-w", "1"], keep_stdin_open=True)
    for i in range(5):
        line = b"line %d" % i
        assert client.write(line + b"\n")
        assert _wait_for(lambda: line in bytes(client.out), 5), client
        for _ in range(100):
            client.signal(signal.SIGURG)
            server.signal(signal.SIGURG)
    client.close_stdin()
    r = client.finish(10)
    assert r.rc == 0, r
    assert r.lines == [b"line %d" % i for i in range(5)], r
    assert server.alive(), bytes(server.err)
    said = bytes(server.err).lower()
    assert b"error" not in said and b"interrupted" not in said, bytes(server.err)
