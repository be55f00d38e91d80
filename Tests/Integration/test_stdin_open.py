"""Issue 12 and DESIGN.md §4 "the connection ends first": with stdin still open and idle
(a pipe or FIFO that never reaches EOF, or a terminal), the end of the connection ends wsc
at once with the mapped exit code, having printed everything received; unread input is not
sent and is not an error. Listen mode is the exception: the end of stdin ends nothing there,
and an idle stdin must not keep a signal or ``--once`` from ending it.

Each test bounds the run with a generous hang detector (``HANG``), not a speed assertion:
before the fix, every one of these runs waited until the test's timeout killed wsc."""

from __future__ import annotations

import contextlib
import os
import pty
import signal
import subprocess
import time

import pytest
from websockets.sync.client import connect

from helpers import (
    EXIT_LOST,
    EXIT_OK,
    EXIT_PEER_CLOSED,
    EXIT_PROTOCOL,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    EXIT_TIMEOUT,
    FAST,
    wait_until,
)
from peers import evil as E
from peers import ref as R
from test_listen import listen  # noqa: F401  (the fixture)

# Seconds from the end of the connection to wsc's exit beyond which it counts as a hang.
HANG = 5.0

MSGS = ["m0", "m1", "m2"]


@contextlib.contextmanager
def held_fifo(tmp_path):
    """A FIFO whose write end this process holds open and never writes: wsc's stdin
    never reaches EOF (the issue's `exec 9<>hold` reproduction)."""
    path = tmp_path / "hold"
    os.mkfifo(path)
    fd = os.open(path, os.O_RDWR)
    try:
        yield fd
    finally:
        os.close(fd)


def echo_then_close(n: int, code: int = 1000):
    """REF handler: echo the first ``n`` messages, then close with ``code``."""

    async def handler(ws, rec) -> None:
        async for msg in ws:
            rec.messages.append(msg)
            await ws.send(msg)
            if len(rec.messages) >= n:
                break
        await ws.close(code)

    return handler


def finished_within(r, ended_at: float) -> None:
    assert r.t_end - ended_at <= HANG, f"wsc exited {r.t_end - ended_at:.2f}s after the connection ended{r!r}"


# ---------------------------------------------------------------- server Close


def test_server_close_1000_with_stdin_a_held_fifo_exits_0(start_wsc, ref, tmp_path):
    """The issue's reproduction: the server sends m0 m1 m2 and closes with 1000 while stdin
    (a FIFO held open by another descriptor) stays idle → m0 m1 m2 printed, exit 0."""
    srv = ref(R.send_messages(MSGS, close_code=1000))
    with held_fifo(tmp_path) as fd:
        p = start_wsc([srv.url(), *FAST], stdin=fd)
        srv.wait()
        ended = time.monotonic()
        r = p.finish(HANG + 10)
    assert r.rc == EXIT_OK, r
    assert r.out == b"m0\nm1\nm2\n", r
    assert r.err == b"", r
    finished_within(r, ended)


def test_server_close_4001_with_stdin_an_open_pipe_exits_1(start_wsc, ref):
    srv = ref(R.send_messages(MSGS, close_code=4001))
    p = start_wsc([srv.url(), *FAST], keep_stdin_open=True)
    srv.wait()
    ended = time.monotonic()
    r = p.finish(HANG + 10)
    assert r.rc == EXIT_PEER_CLOSED, r
    assert r.out == b"m0\nm1\nm2\n", r
    assert "code 4001" in r.stderr, r
    finished_within(r, ended)


def test_input_sent_before_the_close_goes_out_and_the_rest_is_not_an_error(start_wsc, ref):
    """Lines that arrived before the server's Close are sent (the server echoes them); the
    server then closes while stdin is still open: exit 0, every echo printed, no error."""
    srv = ref(echo_then_close(2))
    p = start_wsc([srv.url(), *FAST], keep_stdin_open=True)
    assert p.write(b"a\nb\n")
    srv.wait()
    ended = time.monotonic()
    r = p.finish(HANG + 10)
    assert r.rc == EXIT_OK, r
    assert srv.conn.messages == ["a", "b"], srv.conn.messages
    assert r.out == b"a\nb\n", r
    assert r.err == b"", r
    finished_within(r, ended)


# ------------------------------------------- every ending × every stdin


@contextlib.contextmanager
def wsc_with_stdin(start_wsc, args, stdin: str):
    """wsc with stdin at EOF (/dev/null), an open idle pipe, or a terminal (a pty; stdout
    stays a pipe, so this is the plain line reader)."""
    if stdin == "eof":
        yield start_wsc(args)
    elif stdin == "open":
        yield start_wsc(args, keep_stdin_open=True)
    else:
        master, slave = pty.openpty()
        try:
            p = start_wsc(args, stdin=slave)
            os.close(slave)
            yield p
        finally:
            os.close(master)


def _ending(name: str):
    """An EVIL script: handshake, m0 m1 m2, then the connection ends as ``name`` says.
    Returns (script, ended) where ``ended["t"]`` is when the server side was over."""
    ended = {}

    def script(c):
        if c.read_request() is None:
            return
        c.send(c.respond_101() + b"".join(E.text(m) for m in MSGS))
        if name in ("close-1000", "close-4001"):
            c.send_close(int(name[-4:]))
            c.collect(HANG)  # wsc's answering Close; then TCP closes from our side
        elif name == "reset":
            time.sleep(0.2)
            c.reset()
        elif name == "masked-frame":
            c.send(E.hx("81 85 37 fa 21 3d 7f 9f 4d 51 58"))
            c.read_until_eof(HANG)
        elif name == "keepalive-timeout":
            c.read_until_eof(HANG)  # reads our Pings, never answers
        ended["t"] = time.monotonic()

    return script, ended


ENDINGS = {
    # name: (extra args, exit code, the Close codes wsc sends)
    "close-1000": ([], EXIT_OK, [1000]),
    "close-4001": ([], EXIT_PEER_CLOSED, [4001]),
    "masked-frame": ([], EXIT_PROTOCOL, [1002]),  # CHECKLIST #27
    "reset": ([], EXIT_LOST, None),
    "keepalive-timeout": (["--ping-interval", "0.3", "--ping-timeout", "0.3"], EXIT_TIMEOUT, [1011]),
}


# The two stdin readers: lines as messages, and --jsonl-input's JSON commands (issue 14).
READERS = {"lines": [], "jsonl-input": ["--jsonl-input"]}


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("stdin", ["eof", "open", "tty"])
@pytest.mark.parametrize("ending", list(ENDINGS))
def test_every_ending_with_every_kind_of_stdin(start_wsc, evil, ending, stdin, reader):
    """Close 1000 → 0, Close 4001 → 1, a protocol error → 7 (we send 1002), a reset → 8, a
    keepalive timeout → 9 (we send 1011): the same exit, the same output and a prompt end
    whether stdin is at EOF, open and idle, or a terminal. (At EOF the 2 s idle wait is
    still running when each of these ends the connection.)"""
    extra, code, closes = ENDINGS[ending]
    script, ended = _ending(ending)
    ev = evil(script)
    with wsc_with_stdin(start_wsc, [ev.url(), *FAST, *extra, *READERS[reader]], stdin) as p:
        ev.wait(HANG + 5)
        r = p.finish(HANG + 10)
    assert r.rc == code, r
    assert r.out == b"m0\nm1\nm2\n", r
    if closes is not None:
        assert ev.conn.close_codes() == closes, ev.conn.frames
    finished_within(r, ended["t"])


def test_close_timeout_after_stdout_goes_away_with_stdin_open(start_wsc, evil, tmp_path):
    """stdout's reader leaves (EPIPE) while stdin stays open: wsc says goodbye with 1001,
    and when the server never answers, the close timeout ends it (exit 0: a reader that
    left is not a failure, README's table)."""
    ended = {}

    def script(c):
        if c.read_request() is None:
            return
        c.send(c.respond_101() + E.text("first"))
        time.sleep(0.3)  # the reader below is gone by now
        c.send(E.text("second"))
        c.read_until_eof(HANG)  # never answer the Close
        ended["t"] = time.monotonic()

    ev = evil(script)
    r_fd, w_fd = os.pipe()
    head = subprocess.Popen(["head", "-c", "1"], stdin=r_fd, stdout=subprocess.DEVNULL)
    os.close(r_fd)
    try:
        p = start_wsc([ev.url(), *FAST], keep_stdin_open=True, stdout=w_fd)
        os.close(w_fd)
        ev.wait()
        r = p.finish(HANG + 10)
    finally:
        head.wait(5)
    assert r.rc == EXIT_OK, r
    assert ev.conn.close_codes() == [1001], ev.conn.frames
    finished_within(r, ended["t"])


# ---------------------------------------------------------------- each input mode


@pytest.mark.parametrize(
    "args, sent",
    [
        (["-b"], [b"x"]),
        (["-0"], ["x"]),
        (["-0", "-b"], [b"x"]),
        (["-x", "hi"], ["hi", "x"]),
    ],
    ids=["binary", "null", "null-binary", "execute-then-pipe"],
)
def test_each_input_mode_ends_when_the_server_closes(start_wsc, ref, args, sent):
    """-b, -0 and -x followed by a pipe: the server echoes what it got, then closes with 1000
    while stdin stays open → every echo printed, exit 0."""
    n = len(sent)
    srv = ref(echo_then_close(n))
    p = start_wsc([srv.url(), *FAST, *args], keep_stdin_open=True)
    assert p.write(b"x\0" if "-0" in args else b"x\n")
    srv.wait()
    ended = time.monotonic()
    r = p.finish(HANG + 10)
    assert r.rc == EXIT_OK, r
    assert srv.conn.messages == sent, srv.conn.messages
    sep = b"\0" if "-0" in args else b"\n"
    assert r.out == b"".join((m if isinstance(m, bytes) else m.encode()) + sep for m in sent), r
    finished_within(r, ended)


def test_plain_line_reader_on_a_terminal_ends_when_the_server_closes(start_wsc, ref):
    """stdin a terminal, stdout a pipe (the plain line reader): the reference server's Close
    ends wsc without anyone pressing Ctrl-D."""
    srv = ref(R.send_messages(MSGS, close_code=1000))
    with wsc_with_stdin(start_wsc, [srv.url(), *FAST], "tty") as p:
        srv.wait()
        ended = time.monotonic()
        r = p.finish(HANG + 10)
    assert r.rc == EXIT_OK, r
    assert r.out == b"m0\nm1\nm2\n", r
    finished_within(r, ended)


def test_idle_stdin_costs_no_cpu_while_the_connection_is_open(start_wsc, evil):
    """No busy loop: 1.5 s connected with stdin open and idle, then the server closes."""

    def script(c):
        if c.read_request() is None:
            return
        c.send(c.respond_101())
        time.sleep(1.5)
        c.send_close(1000)
        c.read_until_eof(HANG)

    ev = evil(script)
    p = start_wsc([ev.url(), *FAST], keep_stdin_open=True)
    ev.wait()
    r = p.finish(HANG + 10)
    assert r.rc == EXIT_OK, r
    assert r.cpu < 0.15 * r.elapsed, r


# ---------------------------------------------------------------- listen mode


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, EXIT_SIGINT), (signal.SIGTERM, EXIT_SIGTERM)])
def test_listen_with_idle_stdin_exits_at_once_on_a_signal(listen, sig, code, reader):  # noqa: F811
    srv = listen(READERS[reader])
    with connect(srv.url, open_timeout=5):
        assert srv.wait_stderr("client 1 connected")
        sent = time.monotonic()
        srv.proc.signal(sig)
        assert wait_until(lambda: not srv.proc.alive(), HANG), srv.stderr()
    r = srv.proc.finish(1)
    assert r.rc == code, r
    finished_within(r, sent)


@pytest.mark.parametrize("reader", list(READERS))
def test_listen_once_with_idle_stdin_exits_when_the_client_leaves(listen, reader):  # noqa: F811
    srv = listen(["--once", *READERS[reader]])
    with connect(srv.url, open_timeout=5) as ws:
        ws.send("hello")
        assert srv.wait_stderr("client 1 connected")
    left = time.monotonic()
    r = srv.proc.finish(HANG + 5)
    assert r.rc == EXIT_OK, r
    assert r.out == b"hello\n", r
    finished_within(r, left)
