"""The "Done when" items of issue #2 that no CHECKLIST case states exactly:
a reply 0.5 s after a single piped line, -w 0 against a server that stops
sending when it sees our Close, and the exit codes against a real server."""

from __future__ import annotations

import pytest

from helpers import EXIT_OK, EXIT_PEER_CLOSED, FAST
from peers import ref as R


def test_single_line_reply_half_a_second_later_is_printed(run_wsc, ref):
    """One piped line, the reply 0.5 s later: printed before exit 0 (default -w 2)."""
    srv = ref(R.delayed_reply(0.5, "late reply"))
    r = run_wsc([srv.url(), *FAST], input=b"question\n", timeout=10)
    srv.wait()
    assert r.out == b"late reply\n", r
    assert r.rc == EXIT_OK, r
    assert srv.conn.messages == ["question"]


def test_wait_0_loses_nothing_that_arrived_before_the_close(run_wsc, ref):
    """-w 0 and a server that streams until it sees our Close: every message it sent
    before that (all of them precede its Close on the wire) is printed, exit 0."""
    srv = ref(R.stream_until_close(interval=0.001, burst=2000))
    r = run_wsc([srv.url(), "-w", "0", *FAST], input=b"go\n", timeout=15)
    srv.wait()
    assert r.rc == EXIT_OK, r
    sent = srv.conn.messages
    print(f"{len(sent)} messages were sent before the server saw the Close")
    assert r.out.decode().splitlines() == sent, f"{len(sent)} sent, {len(r.lines)} printed{r!r}"
    assert srv.conn.close_rcvd_code == 1000


@pytest.mark.parametrize("code,exit_code", [(1000, EXIT_OK), (1001, EXIT_OK), (4001, EXIT_PEER_CLOSED)])
def test_exit_code_follows_the_servers_close(run_wsc, ref, code, exit_code):
    """The server closes first: 1000/1001 → exit 0, 4001 → exit 1 with the code on stderr."""
    srv = ref(R.close_with(code, "done", after_messages=1))
    r = run_wsc([srv.url(), "-w", "-1", *FAST], input=b"hi\n", timeout=10)
    srv.wait()
    assert r.rc == exit_code, r
    if exit_code == EXIT_PEER_CLOSED:
        assert "4001" in r.stderr and "done" in r.stderr, r
