"""Issue 14: ``--reconnect[=N]`` against Python websockets servers that go away and come
back on the same port.

What is checked: messages written before, between (while no server listens) and after
two restarts all arrive, in order, each connection gets the ``-x`` preamble first, each
attempt is reported on stderr and as a ``reconnect`` event; a 4xx stops it (exit 6); the
waits stay inside the full-jitter ceilings, judged from the server's own connection
times; what no connection took is counted; memory stays bounded while disconnected.
"""

from __future__ import annotations

import re
import socket
import time

import pytest
import websockets
from websockets.http11 import Response
from websockets.datastructures import Headers

from helpers import (
    EXIT_CONNECT,
    EXIT_HANDSHAKE,
    EXIT_OK,
    EXIT_PEER_CLOSED,
    EXIT_PROTOCOL,
    EXIT_USAGE,
    FAST,
    wait_until,
)
from peers import evil as E
from peers import ref as R
from test_interactive import prompt_ready, term  # noqa: F401  (fixture)
from test_jsonl import events, kinds

ATTEMPT = re.compile(rb"reconnecting in (\d+\.\d{3}) s \(attempt (\d+)(?: of (\d+))?\)")


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def record(ws, rec: R.RefConn) -> None:
    """Keep what arrives; answer nothing."""
    async for msg in ws:
        rec.messages.append(msg)


def test_reconnect_across_two_restarts_loses_nothing_and_resends_the_preamble(start_wsc, ref):
    first = ref(R.echo)
    port = first.port
    p = start_wsc(["--reconnect", "-x", "hello", *FAST, first.url()], keep_stdin_open=True)
    assert wait_until(lambda: first.conns and first.conns[0].messages == ["hello"], 5), first.conns
    p.write(b"before\n")
    assert wait_until(lambda: b"before\n" in p.out, 5), p.out

    # Restart 1: a clean shutdown (Close 1001), and a message written while nothing listens.
    first.close()
    p.write(b"between-1\n")
    time.sleep(0.3)
    second = ref(R.echo, port=port)
    assert wait_until(lambda: second.conns and second.conns[0].messages == ["hello", "between-1"], 10), second.conns
    p.write(b"during\n")
    assert wait_until(lambda: b"during\n" in p.out, 5), p.out

    # Restart 2: the same, the messages now in the queue of an attempt that fails first.
    second.close()
    time.sleep(0.2)
    p.write(b"between-2a\nbetween-2b\n")
    time.sleep(0.6)
    third = ref(R.echo, port=port)
    expected = ["hello", "between-2a", "between-2b"]
    assert wait_until(lambda: third.conns and third.conns[-1].messages == expected, 15), third.conns
    p.write(b"after\n")
    assert wait_until(lambda: b"after\n" in p.out, 5), p.out
    p.close_stdin()
    r = p.finish(15)

    assert r.rc == EXIT_OK, r.err
    assert [c.messages for c in first.conns] == [["hello", "before"]]
    # Every connection that opened got the preamble once, first.
    assert all(c.messages[:1] == ["hello"] for c in second.conns + third.conns)
    assert [m for c in second.conns for m in c.messages] == ["hello", "between-1", "during"]
    assert [m for c in third.conns for m in c.messages] == ["hello", "between-2a", "between-2b", "after"]
    lines = r.out.decode().splitlines()
    assert [l for l in lines if l != "hello"] == ["before", "between-1", "during", "between-2a", "between-2b", "after"]
    attempts = ATTEMPT.findall(r.err)
    assert len(attempts) >= 2, r.err
    assert b'server closed the connection: code 1001, reason ""; reconnecting in' in r.err, r.err
    assert r.err.count(b"reconnected to ws://127.0.0.1:") == 2, r.err
    assert b"not sent" not in r.err, r.err


def test_reconnect_events_in_jsonl_validate_against_the_schema(start_wsc, ref):
    first = ref(R.close_with(1011, "restart", after_messages=1))
    port = first.port
    p = start_wsc(["--reconnect=3", "--jsonl", *FAST, first.url()], keep_stdin_open=True)
    p.write(b"one\n")
    assert wait_until(lambda: first.conns and first.conns[0].messages == ["one"], 5)
    first.close()
    second = ref(R.echo, port=port)
    p.write(b"two\n")
    assert wait_until(lambda: b'"data":"two"' in p.out, 10), (p.out, p.err)
    p.close_stdin()
    r = p.finish(15)
    assert r.rc == EXIT_OK, r.err
    evs = events(r.out)
    ks = kinds(evs)
    assert ks[:3] == ["open", "close", "reconnect"], ks
    assert ks.count("open") == 2 and ks[-1] == "close", ks
    rec = evs[2]
    assert rec["attempt"] == 1 and rec["max_attempts"] == 3, rec
    assert 0 <= rec["delay_ms"] <= 500, rec
    assert rec["after"] == 'server closed the connection: code 1011, reason "restart"', rec
    assert evs[1]["code"] == 1011 and evs[1]["by"] == "server"
    assert second.conns[0].messages == ["two"]
    assert b"reconnecting" not in r.err, r.err  # the events say it; stderr stays quiet


def test_a_4xx_rejection_stops_reconnecting_with_exit_6(run_wsc, ref):
    calls = []

    def process_request(connection, request):
        calls.append(request.path)
        if len(calls) > 1:
            return Response(403, "Forbidden", Headers([("Content-Length", "0")]), b"")
        return None

    r_srv = ref(R.close_with(1011, "going down"), process_request=process_request)
    r = run_wsc(["--reconnect", "-w", "-1", *FAST, r_srv.url()], timeout=15)
    assert r.rc == EXIT_HANDSHAKE, r.err
    assert len(calls) == 2, calls
    assert len(ATTEMPT.findall(r.err)) == 1, r.err
    assert b"server rejected the WebSocket connection: HTTP 403 Forbidden" in r.err, r.err


def test_a_first_connection_rejected_is_not_retried(run_wsc, ref):
    def process_request(connection, request):
        return Response(401, "Unauthorized", Headers([("Content-Length", "0")]), b"")

    r_srv = ref(R.echo, process_request=process_request)
    r = run_wsc(["--reconnect", *FAST, r_srv.url()], input=b"x\n", timeout=10)
    assert r.rc == EXIT_HANDSHAKE, r.err
    assert b"reconnecting" not in r.err, r.err


def test_a_5xx_answer_is_retried(run_wsc, ref):
    calls = []

    def process_request(connection, request):
        calls.append(1)
        if len(calls) == 1:
            return Response(503, "Service Unavailable", Headers([("Content-Length", "0")]), b"")
        return None

    r_srv = ref(R.echo, process_request=process_request)
    r = run_wsc(["--reconnect", "-w", "1", *FAST, r_srv.url()], input=b"x\n", timeout=15)
    assert r.rc == EXIT_OK, r.err
    assert b"HTTP 503 Service Unavailable; reconnecting in" in r.err, r.err
    assert r.out == b"x\n"


def test_backoff_stays_inside_the_full_jitter_ceilings(run_wsc, ref):
    # Each connection is closed at once (1011), so none is stable and every attempt
    # counts: the ceilings are 0.5, 1, 2, 2, 2 s with --reconnect-max-delay 2.
    r_srv = ref(R.close_with(1011, "busy"))
    r = run_wsc(
        ["--reconnect=5", "--reconnect-max-delay", "2", "-w", "-1", *FAST, r_srv.url()], timeout=40
    )
    assert r.rc == EXIT_PEER_CLOSED, r.err
    r_srv.wait()
    opened = [c.opened_at for c in r_srv.conns]
    assert len(opened) == 6, (len(opened), r.err)
    ceilings = [0.5, 1, 2, 2, 2]
    stated = [(float(d), int(n), int(of)) for d, n, of in ATTEMPT.findall(r.err)]
    assert [(n, of) for _, n, of in stated] == [(i, 5) for i in range(1, 6)], r.err
    for (delay, n, _), ceiling, gap in zip(stated, ceilings, (b - a for a, b in zip(opened, opened[1:]))):
        assert 0 <= delay <= ceiling, (n, delay)
        # The gap between two connections is the stated wait plus a connection's life.
        assert delay - 0.05 <= gap <= delay + 1.0, (n, delay, gap)
    assert b"giving up after 5 reconnect attempts (--reconnect=5)" in r.err, r.err
    assert b'server closed the connection: code 1011, reason "busy"' in r.err.splitlines()[-1], r.err


def test_messages_no_connection_took_are_counted(start_wsc, ref):
    r_srv = ref(R.close_with(1011, "bye", after_messages=1))
    p = start_wsc(["--reconnect=1", "--reconnect-max-delay", "0.2", *FAST, r_srv.url()], keep_stdin_open=True)
    p.write(b"first\n")
    assert wait_until(lambda: r_srv.conns and r_srv.conns[0].messages == ["first"], 5)
    r_srv.close()  # and nothing listens again: the one attempt fails
    p.write(b"lost-1\nlost-2\nlost-3\n")
    r = p.finish(15)
    assert r.rc == EXIT_CONNECT, r.err
    assert b"giving up after 1 reconnect attempt (--reconnect=1)" in r.err, r.err
    assert b"3 messages were not sent (the connection ended first)" in r.err, r.err


def test_a_protocol_violation_is_not_retried(run_wsc, evil):
    def script(c):
        if c.read_request() is None:
            return
        c.handshake()
        c.send(b"\x81\x82abcd" + bytes([ord("h") ^ ord("a"), ord("i") ^ ord("b")]))  # masked
        c.collect(2)

    e = evil(script)
    r = run_wsc(["--reconnect", "-w", "-1", *FAST, e.url()], timeout=10)
    assert r.rc == EXIT_PROTOCOL, r.err
    assert b"reconnecting" not in r.err, r.err
    assert len(e.conns) == 1


def test_a_reset_is_retried_and_messages_queued_after_it_go_on_the_next_connection(start_wsc, evil):
    # Connection 1 reads one message and resets (1006); connection 2 collects.
    def script(c):
        if c.read_request() is None:
            return
        c.handshake()
        if c.index == 0:
            c.read_frame(5)
            c.reset()
        else:
            c.collect(3)

    e = evil(script)
    p = start_wsc(["--reconnect", "-x", "hi", *FAST, e.url()], keep_stdin_open=True)
    assert wait_until(lambda: len(e.conns) == 2, 10), (e.conns, p.err)
    p.write(b"after-reset\n")
    time.sleep(0.5)
    p.close_stdin()
    r = p.finish(15)
    assert r.rc == EXIT_OK, r.err
    assert b"connection lost: " in r.err and b"; reconnecting in" in r.err, r.err
    texts = e.conns[1].texts()
    assert texts == [b"hi", b"after-reset"], texts


def test_close_1000_ends_the_session_and_stop_codes_are_configurable(run_wsc, ref):
    r_srv = ref(R.close_with(1000, "done"))
    r = run_wsc(["--reconnect", "-w", "-1", *FAST, r_srv.url()], timeout=10)
    assert r.rc == EXIT_OK, r.err
    assert len(r_srv.conns) == 1

    r_srv2 = ref(R.close_with(4001, "go away"))
    r = run_wsc(["--reconnect", "--reconnect-stop-codes", "1000, 4001", "-w", "-1", *FAST, r_srv2.url()], timeout=10)
    assert r.rc == EXIT_PEER_CLOSED, r.err
    assert len(r_srv2.conns) == 1 and b"reconnecting" not in r.err, r.err


def test_stdin_idle_and_open_while_the_server_is_gone_for_good_ends(start_wsc, refused_url):
    # Never connected, stdin open and idle: the attempts run out and wsc exits (it does not
    # wait for stdin), saying why.
    p = start_wsc(["--reconnect=2", "--reconnect-max-delay", "0.2", *FAST, refused_url], keep_stdin_open=True)
    r = p.finish(10)
    assert r.rc == EXIT_CONNECT, r.err
    assert len(ATTEMPT.findall(r.err)) == 2, r.err


def test_memory_stays_bounded_while_disconnected_and_order_is_kept(start_wsc, ref):
    first = ref(record)
    port = first.port
    p = start_wsc(["--reconnect", "--reconnect-max-delay", "0.5", *FAST, first.url()], keep_stdin_open=True)
    p.write(b"start\n")
    assert wait_until(lambda: first.conns and first.conns[0].messages == ["start"], 5)
    first.close()
    # 64 MiB while nothing listens: wsc holds its send queue (4 MiB) and stops reading
    # stdin, so its memory stays far below what it was given.
    line = b"x" * 4095 + b"\n"
    n = 16 * 1024
    import threading

    def feed():
        for i in range(n):
            if not p.write(b"%06d" % i + line[6:]):
                return

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    time.sleep(3)
    assert p.alive()
    peak_while_down = p.peak_rss_kib
    second = ref(record, port=port)
    t.join(60)
    assert not t.is_alive()
    assert wait_until(lambda: sum(len(c.messages) for c in second.conns) == n, 60), sum(
        len(c.messages) for c in second.conns
    )
    got = [m for c in second.conns for m in c.messages]
    assert [int(m[:6]) for m in got] == list(range(n))
    p.close_stdin()
    r = p.finish(15)
    assert r.rc == EXIT_OK, r.err
    assert peak_while_down < 48 * 1024, peak_while_down
    print(f"peak RSS while disconnected: {peak_while_down} KiB; at the end {p.peak_rss_kib} KiB")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--reconnect=0"], b"--reconnect=N takes a number of attempts of at least 1"),
        (["--reconnect=x"], b"--reconnect=N takes a number of attempts of at least 1"),
        (["--reconnect-max-delay", "5"], b"--reconnect-max-delay needs --reconnect"),
        (["--reconnect", "--reconnect-max-delay", "0"], b"--reconnect-max-delay must be a number of seconds"),
        (["--reconnect", "--reconnect-stop-codes", "1000,99"], b"--reconnect-stop-codes takes close codes"),
        (["--reconnect-stop-codes", "1000"], b"--reconnect-stop-codes needs --reconnect"),
    ],
)
def test_reconnect_usage_errors(run_wsc, args, message):
    r = run_wsc([*args, "ws://127.0.0.1:9/"], timeout=5)
    assert r.rc == EXIT_USAGE, r.err
    assert message in r.err, r.err


def test_reconnect_does_not_apply_to_listen(run_wsc):
    r = run_wsc(["-l", "0", "--reconnect"], timeout=5)
    assert r.rc == EXIT_USAGE
    assert b"--reconnect is for connecting; it does not apply to --listen" in r.err, r.err


def test_the_prompt_reconnects_and_keeps_what_was_typed_while_down(term, ref):
    first = ref(R.echo)
    port = first.port
    t = term([first.url(), "--reconnect", *FAST])
    prompt_ready(t)
    t.type("one")
    t.keys("Enter")
    t.wait_for("< one")
    first.close()
    t.wait_for("Disconnected (code: 1001")
    screen = t.wait_for("Reconnecting in ")
    assert re.search(r"Reconnecting in \d+\.\d{3} s \(attempt 1\)…", screen), screen
    # Typed while no server listens: queued for the next connection.
    t.type("typed while down")
    t.keys("Enter")
    time.sleep(0.3)
    second = ref(R.echo, port=port)
    t.wait_for("< typed while down", timeout=10)
    assert t.screen().count("Connected (press CTRL+C to quit)") == 2, t.screen()
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK
    assert [m for c in second.conns for m in c.messages] == ["typed while down"]


def test_stdin_at_eof_the_idle_wait_runs_on_while_reconnecting(start_wsc, ref):
    # Input ended and went out; then the server goes for good. Waiting for replies (-w)
    # is no reason to reconnect forever: the wait ends, and so does wsc.
    first = ref(R.echo)
    p = start_wsc(["--reconnect", "--reconnect-max-delay", "0.1", "-w", "1.5", *FAST, first.url()], input=b"a\n")
    assert wait_until(lambda: b"a\n" in p.out, 5), p.err
    first.close()
    t0 = time.monotonic()
    r = p.finish(10)
    assert r.rc == EXIT_CONNECT, r.err  # the last attempt was refused
    assert time.monotonic() - t0 < 4, r.err
    assert len(ATTEMPT.findall(r.err)) >= 2, r.err


@pytest.mark.parametrize("stdin", ["eof", "open"])
@pytest.mark.parametrize(
    "ending, exit_code, retried",
    [("close", EXIT_PEER_CLOSED, True), ("reset", 8, True), ("timeout", 9, True), ("error", EXIT_PROTOCOL, False)],
)
def test_every_ending_with_stdin_at_eof_or_open_and_idle_ends_when_attempts_run_out(
    start_wsc, evil, stdin, ending, exit_code, retried
):
    # Every connection ends the same way; --reconnect=1 retries once (when the ending is
    # one it retries) and then wsc exits with that ending's code, whether or not stdin
    # has ended. The terminal case is test_the_prompt_reconnects_… above.
    def script(c):
        if c.read_request() is None:
            return
        c.handshake()
        if ending == "close":
            c.send_close(1011, b"again")
            c.collect(2)
        elif ending == "reset":
            c.reset()
        elif ending == "timeout":
            c.sleep(3)  # never answers the keepalive Ping
        else:
            c.send(b"\x81\x82abcd" + bytes([ord("h") ^ ord("a"), ord("i") ^ ord("b")]))  # masked: 1002
            c.collect(2)

    e = evil(script)
    args = ["--reconnect=1", "--reconnect-max-delay", "0.2", "-w", "-1", "--ping-interval", "0.3", "--ping-timeout", "0.3"]
    kw = {"keep_stdin_open": True} if stdin == "open" else {"input": b""}
    r = start_wsc([*args, *FAST, e.url()], **kw).finish(15)
    assert r.rc == exit_code, r.err
    assert len(e.conns) == (2 if retried else 1), (len(e.conns), r.err)
    assert (b"giving up after 1 reconnect attempt" in r.err) == retried, r.err
