"""Issue 20 item 1: SIGTERM (and SIGINT) give 128+N whatever moment they land, in every
mode. Before the fix, a SIGTERM during the closing handshake, or one whose best-effort
Close the server acknowledged quickly, often exited 0: the main thread saw the connection
end normally and reported success before the signal's own thread had exited.

Each moment runs ``REPEAT`` times with a small random delay after it is reached (the seed
is printed in the assertion message), since the bug was a race."""

from __future__ import annotations

import contextlib
import os
import pty
import random
import re
import signal
import threading
import time

import pytest
from websockets.sync.client import connect

from helpers import EXIT_SIGINT, EXIT_SIGTERM, FAST
from peers import evil as E

REPEAT = 20


def moment_script(moment: str):
    """An EVIL script that reaches ``moment`` and marks it ("here")."""

    def script(c):
        if moment == "connecting":
            c.mark("here")  # accepted, never reads or answers
            c.read_until_eof(8)
            return
        if c.read_request() is None:
            return
        if moment == "handshake":
            c.send(c.respond_101()[:20])  # half a status line, then nothing
            c.mark("here")
            c.read_until_eof(8)
            return
        c.send(c.respond_101())
        if moment == "idle":
            c.mark("here")
            c.collect(8)
        elif moment == "flooding":
            c.mark("here")
            deadline = time.monotonic() + 8
            chunk = b"".join(E.text(b"x" * 100) for _ in range(50))
            while time.monotonic() < deadline and not c.closed:
                if not c.send(chunk, timeout=2):
                    break
                f = c.read_frame(0.001)
                if f is not None and f.opcode == E.OP_CLOSE:
                    c.send_close(1000)
                    break
        elif moment == "closing":
            # Wait for wsc's Close (end of input, -w 0), then answer it after a moment.
            while True:
                f = c.read_frame(5)
                if f is None:
                    return
                if f.opcode == E.OP_CLOSE:
                    break
            c.mark("here")
            # Answer only once the signal is on its way, so it lands inside the closing
            # handshake, and answer fast: the race the issue found.
            c.server.wait_mark("signalled", 5)
            time.sleep(random.uniform(0, 0.02))
            c.send_close(1000)
            # and closes TCP first, as a server does (RFC 6455 §7.1.1)

    return script


MOMENTS = ["connecting", "handshake", "idle", "flooding", "closing"]


def _args(moment: str) -> list[str]:
    # "closing": the end of input starts our Close at once; otherwise stay open.
    return ["-w", "0"] if moment == "closing" else ["-w", "-1"]


def _run_moments(start_wsc, evil, moment, sig, code, *, mode: str):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    codes = []
    for i in range(REPEAT):
        ev = evil(moment_script(moment))
        args = [ev.url(), *FAST, *_args(moment)]
        master = None
        if mode == "one-shot":
            p = start_wsc([*args, "-x", "hi"])
        elif mode == "pipe":
            p = start_wsc(args, input=b"a\nb\n", keep_stdin_open=moment != "closing")
        else:  # interactive: stdin and stdout a terminal
            master, slave = pty.openpty()
            p = start_wsc(args, stdin=slave, stdout=slave)
            os.close(slave)
            if moment == "closing":
                os.write(master, b"/close\r")
        try:
            assert ev.wait_mark("here", 5), f"moment {moment} not reached (run {i}, seed {seed}){p.finish(5)!r}"
            time.sleep(rng.uniform(0, 0.03))
            p.signal(sig)
            ev.mark("signalled")
            r = p.finish(10)
        finally:
            if master is not None:
                os.close(master)
        codes.append(r.rc)
        ev.wait(5)
        if moment == "idle" and mode != "interactive":
            # the best-effort Close: 1001 (going away) for SIGTERM, 1000 for Ctrl-C
            want = 1001 if sig == signal.SIGTERM else 1000
            assert ev.conns[0].close_codes() == [want], (seed, ev.conns[0].frames)
        ev.close()
    assert codes == [code] * REPEAT, f"{mode} {moment}: exit codes {codes} (seed {seed})"


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("mode", ["one-shot", "pipe"])
def test_sigterm_at_every_moment_exits_143(start_wsc, evil, moment, mode):
    _run_moments(start_wsc, evil, moment, signal.SIGTERM, EXIT_SIGTERM, mode=mode)


@pytest.mark.parametrize("moment", ["idle", "closing"])
def test_sigterm_at_the_prompt_exits_143(start_wsc, evil, moment):
    _run_moments(start_wsc, evil, moment, signal.SIGTERM, EXIT_SIGTERM, mode="interactive")


@pytest.mark.parametrize("moment", ["handshake", "closing"])
def test_sigint_at_every_moment_exits_130(start_wsc, evil, moment):
    _run_moments(start_wsc, evil, moment, signal.SIGINT, EXIT_SIGINT, mode="pipe")


@pytest.mark.parametrize("moment", ["no-client", "idle", "flooding"])
def test_sigterm_in_listen_mode_exits_143(start_wsc, moment):
    """Listen mode, with stdin open: no client yet, one idle client, one client flooding."""
    listening = re.compile(rb"listening on ws://127\.0\.0\.1:(\d+)/")
    codes = []
    for _ in range(REPEAT):
        p = start_wsc(["-l", "127.0.0.1:0", "--close-timeout", "1"], keep_stdin_open=True)
        deadline = time.monotonic() + 5
        while not listening.search(bytes(p.err)) and time.monotonic() < deadline and p.alive():
            time.sleep(0.005)
        m = listening.search(bytes(p.err))
        assert m, bytes(p.err)
        stop = threading.Event()
        with contextlib.ExitStack() as stack:
            if moment != "no-client":
                client = stack.enter_context(connect(f"ws://127.0.0.1:{m.group(1).decode()}/", open_timeout=5))
                if moment == "flooding":

                    def flood(ws=client):
                        with contextlib.suppress(Exception):
                            while not stop.is_set():
                                ws.send("y" * 100)

                    threading.Thread(target=flood, daemon=True).start()
            time.sleep(random.uniform(0, 0.03))
            p.signal(signal.SIGTERM)
            r = p.finish(10)
            stop.set()
        codes.append(r.rc)
    assert codes == [EXIT_SIGTERM] * REPEAT, f"listen {moment}: exit codes {codes}"
