"""``--timestamps`` (issue 14): local time with milliseconds, or ``=relative`` seconds
since connecting, before each message and each ``-v`` line of the human formats."""

from __future__ import annotations

import re
import time

from helpers import EXIT_OK, EXIT_USAGE, FAST
from peers import ref as R
from test_listen import listen  # noqa: F401  (fixture)

LOCAL = re.compile(rb"^(\d\d):(\d\d):(\d\d)\.(\d{3}) (.*)$")
RELATIVE = re.compile(rb"^\+(\d+)\.(\d{3}) (.*)$")


def test_local_timestamps_in_pipe_mode(run_wsc, ref):
    srv = ref(R.echo)
    before = time.localtime()
    r = run_wsc(["--timestamps", "-w", "0.3", *FAST, srv.url()], input=b"one\ntwo\n")
    assert r.rc == EXIT_OK, r
    lines = r.out.splitlines()
    assert [LOCAL.match(line).group(5) for line in lines] == [b"one", b"two"], r.out
    hour = int(LOCAL.match(lines[0]).group(1))
    assert hour in (before.tm_hour, (before.tm_hour + 1) % 24)


def test_relative_timestamps_grow_and_apply_to_the_v_trace(run_wsc, ref):
    srv = ref(R.send_n(2, interval=0.3))
    r = run_wsc(["--timestamps=relative", "-v", "-w", "-1", *FAST, srv.url()], check=False)
    assert r.rc == EXIT_OK, r
    stamps = [RELATIVE.match(line) for line in r.out.splitlines()]
    assert all(stamps), r.out
    seconds = [int(m.group(1)) + int(m.group(2)) / 1000 for m in stamps]
    assert [m.group(3) for m in stamps] == [b"msg 0", b"msg 1"]
    assert 0 <= seconds[0] <= seconds[1] and seconds[1] - seconds[0] >= 0.25, seconds
    trace = [line for line in r.err.splitlines() if b"* > GET" in line]
    assert trace and RELATIVE.match(trace[0]), r.err


def test_timestamps_in_listen_mode(listen):
    from websockets.sync.client import connect

    from helpers import wait_until

    srv = listen(["--timestamps=relative"])
    with connect(srv.url, open_timeout=5) as ws:
        ws.send("hello")
        assert wait_until(lambda: RELATIVE.match(bytes(srv.proc.out).rstrip(b"\n")) is not None, 5), srv.stdout()
    assert RELATIVE.match(bytes(srv.proc.out).rstrip(b"\n")).group(3) == b"hello"


def test_an_unknown_timestamp_form_is_a_usage_error(run_wsc):
    r = run_wsc(["--timestamps=utc", "ws://127.0.0.1:9/"], check=False)
    assert r.rc == EXIT_USAGE, r
    assert "--timestamps takes local or relative" in r.stderr
