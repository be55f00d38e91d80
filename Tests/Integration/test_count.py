"""``--count N`` and ``-b`` with ``-x`` (issues 19 and 20): ``--count N`` prints exactly N
messages and then closes; it waits for them with no idle wait, until they arrive, the
server closes, or an explicit ``-w S`` deadline passes. Fewer than N is never exit 0:
9 at the deadline ("got 0 of 1 message"), 1 when the server closed normally first.
``-b`` makes the ``-x`` messages binary as it does stdin's lines."""

from __future__ import annotations

import time

from helpers import EXIT_OK, EXIT_PEER_CLOSED, EXIT_TIMEOUT, EXIT_USAGE, FAST, evil_session
from peers import evil as E
from peers import ref as R


def test_count_1_waits_for_a_slow_reply_beyond_the_idle_wait(run_wsc, ref):
    """The issue's case: the reply comes 2.5 s after the message, later than the default
    2 s idle wait → wsc waits for it, prints it, exits 0."""
    srv = ref(R.delayed_reply(2.5, "late reply"))
    r = run_wsc([srv.url(), *FAST, "--count", "1", "-x", "hey"], timeout=15)
    assert r.rc == EXIT_OK, r
    assert r.out == b"late reply\n", r
    assert r.elapsed >= 2.5, r
    assert srv.conn.close_rcvd_code == 1000


def test_count_with_0_arrivals_times_out_at_the_w_deadline_with_exit_9(run_wsc, ref):
    srv = ref(R.counter)  # reads, never replies
    r = run_wsc([srv.url(), *FAST, "--count", "1", "-w", "1", "-x", "hey"], timeout=15)
    assert r.rc == EXIT_TIMEOUT, r
    assert r.out == b"", r
    assert "got 0 of 1 message (--count 1) in 1 s (-w)" in r.stderr, r
    assert srv.conn.messages == ["hey"]
    assert srv.conn.close_rcvd_code == 1000, "the deadline still closes cleanly"


def test_count_with_1_of_3_then_a_normal_close_is_exit_1(run_wsc, ref):
    srv = ref(R.send_n(1, close_code=1000))
    r = run_wsc([srv.url(), *FAST, "--count", "3"], timeout=15)
    assert r.rc == EXIT_PEER_CLOSED, r
    assert r.out == b"msg 0\n", r
    assert "server closed the connection (code 1000) before wsc got 1 of 3 messages (--count 3)" in r.stderr, r


def test_count_prints_exactly_n_of_a_burst_then_closes(run_wsc, evil):
    """A server sends 5 messages in one segment; --count 2 prints 2 and closes with 1000."""
    burst = b"".join(E.text(f"n{i}") for i in range(5))
    r, conn = evil_session(run_wsc, evil, burst, ["--count", "2"], base=FAST)
    assert r.rc == EXIT_OK, r
    assert r.out == b"n0\nn1\n", r
    assert conn.close_codes() == [1000], conn.frames


def test_count_reached_while_stdin_is_still_open_ends_the_session(start_wsc, ref):
    """The Nth message ends the run without waiting for the end of input."""
    srv = ref(R.echo)
    p = start_wsc([srv.url(), *FAST, "--count", "2"], keep_stdin_open=True)
    assert p.write(b"a\nb\n")
    r = p.finish(15)
    assert r.rc == EXIT_OK, r
    assert r.out == b"a\nb\n", r
    assert srv.conn.close_rcvd_code == 1000


def test_count_with_echo_answers_exactly_n(run_wsc, evil):
    r, conn = evil_session(run_wsc, evil, E.text("a") + E.text("b") + E.text("c"), ["--echo", "--count", "2"], base=FAST)
    assert r.rc == EXIT_OK, r
    assert conn.texts() == [b"a", b"b"], conn.frames
    assert conn.close_codes() == [1000]


def test_count_with_w_0_is_a_usage_error(run_wsc):
    r = run_wsc(["ws://127.0.0.1:1/", "--count", "1", "-w", "0"])
    assert r.rc == EXIT_USAGE, r
    assert "-w 0 leaves --count no time" in r.stderr, r


def test_binary_flag_applies_to_x_messages(run_wsc, evil):
    """``wsc -b -x hi``: the -x message goes out as a binary frame, as stdin lines do."""
    r, conn = evil_session(run_wsc, evil, b"", ["-w", "0", "-b", "-x", "hi"], input=b"line\n", base=FAST)
    assert r.rc == EXIT_OK, r
    data = [(f.opcode, f.payload) for f in conn.frames if f.opcode in (E.OP_TEXT, E.OP_BINARY)]
    assert data == [(E.OP_BINARY, b"hi"), (E.OP_BINARY, b"line")], conn.frames
