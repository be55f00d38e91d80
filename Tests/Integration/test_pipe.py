"""CHECKLIST §1 P (terminal and pipes, minus P2/P11), R2, and §3 cases 53–60,
plus the pipe-mode contract (-w, --count, --echo, -0/--base64 output, -v)."""

from __future__ import annotations

import hashlib
import os
import pty
import random
import subprocess
import threading
import time

import pytest

from helpers import EXIT_LOCAL_IO, EXIT_OK, FAST, STAY, evil_session, no_raw_controls, wait_until
from peers import evil as E
from peers import ref as R

CLOSE_NOW = E.close_frame(1000)


# ================================================================ #53 / P7


def test_case53_P7_one_line_reply_after_300ms_default_wait(run_wsc, ref):
    """#53/P7: ``printf foo`` (no newline) → sent, the reply 300 ms later printed (default -w 2), Close 1000, exit 0."""
    srv = ref(R.delayed_reply(0.3, "reply"))
    r = run_wsc([srv.url(), *FAST], input=b"foo", timeout=10)
    srv.wait()
    assert r.out == b"reply\n", r
    assert r.rc == EXIT_OK, r
    assert srv.conn.messages == ["foo"]
    assert srv.conn.close_rcvd_code == 1000
    assert 2.0 <= r.elapsed <= 4.0, f"default wait is 2 s after the last message{r!r}"


@pytest.mark.parametrize("wait", ["0", "0.5"])
def test_P7_empty_stdin_still_closes(run_wsc, evil, wait):
    """P7: stdin at EOF with no line at all (``</dev/null``) is an end of input too → Close 1000, exit 0."""
    r, c = evil_session(run_wsc, evil, b"", base=["-w", wait, *FAST], collect=6)
    assert c.close_codes() == [1000], f"no Close after an empty stdin{r!r}"
    assert r.rc == EXIT_OK, r
    assert r.elapsed < float(wait) + 1.5, r


def test_P7_close_follows_a_large_last_message(run_wsc, evil):
    """P7: the end of input right after a large (8 MiB) line → the message, then Close 1000, exit 0."""
    line = b"q" * (8 << 20)
    r, c = evil_session(run_wsc, evil, b"", base=["-w", "0", *FAST], input=line + b"\n", timeout=30, collect=10)
    assert [len(p) for p in c.texts()] == [len(line)]
    assert c.close_codes() == [1000], f"no Close after the last message{r!r}"
    assert r.rc == EXIT_OK, r


# ================================================================ #54 / P7 / R2


def test_case54_P7_100k_lines_echoed_in_order(run_wsc, ref):
    """#54/P7: ``seq 1 100000`` into wsc against REF echo → 100 000 lines out, same order."""
    n = 100_000
    data = b"".join(b"%d\n" % i for i in range(1, n + 1))
    srv = ref(R.echo)
    r = run_wsc([srv.url(), "--count", str(n), *FAST], input=data, timeout=90)
    srv.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == data, f"{len(r.lines)} lines out{r!r}"


def test_R2_100k_lines_all_on_the_wire_before_close(run_wsc, ref):
    """R2: 100 000 numbered lines, REF counts them → 100 000, no gaps, no duplicates, then our Close 1000."""
    n = 100_000
    srv = ref(R.counter)
    r = run_wsc([srv.url(), "-w", "0", *FAST], input=b"".join(b"%d\n" % i for i in range(n)), timeout=90)
    srv.wait()
    assert r.rc == EXIT_OK, r
    got = srv.conn.messages
    assert len(got) == n, len(got)
    assert got == [str(i) for i in range(n)]
    assert srv.conn.close_rcvd_code == 1000


# ================================================================ P9 / #56 / H8


def test_P9_case56_H8_invalid_utf8_line_skipped_session_continues(run_wsc, ref):
    """P9/#56/H8: ``ok\\n\\xc3\\x28\\nok2\\n`` → "ok" and "ok2" echoed, a warning for line 2, REF never had to send 1007."""
    srv = ref(R.echo)
    r = run_wsc([srv.url(), "--count", "2", *FAST], input=b"ok\n\xc3\x28\nok2\n\xff\xfe\n", timeout=10)
    srv.wait()
    assert r.out == b"ok\nok2\n", r
    assert srv.conn.messages == ["ok", "ok2"]
    assert srv.conn.close_sent_code == 1000, "REF closed with something other than 1000"
    assert srv.conn.close_rcvd_code == 1000
    assert r.rc == EXIT_OK, r
    assert b"wsc: " in r.err, "no warning for the invalid line"


# ================================================================ P10 / #57


def test_P10_case57_utf8_split_across_stdin_reads(run_wsc, ref):
    """P10/#57: 65 535 'a' + '😀' with the emoji split across slow writes, and "κόσμε" one byte per write → intact."""
    long_line = b"a" * 65535 + "😀".encode()
    short = "κόσμε".encode()

    def feed(write):
        write(long_line[:-2])
        time.sleep(0.2)
        write(long_line[-2:-1])
        time.sleep(0.2)
        write(long_line[-1:] + b"\n")
        for i in range(len(short)):
            time.sleep(0.03)
            write(short[i : i + 1])
        write(b"\n")

    srv = ref(R.echo)
    r = run_wsc([srv.url(), "--count", "2", *FAST], input=feed, timeout=15)
    srv.wait()
    assert r.rc == EXIT_OK, r
    assert srv.conn.messages == [long_line.decode(), short.decode()]
    assert r.out == long_line + b"\n" + short + b"\n"


# ================================================================ P1 / P3 (pipe and TTY)


def run_with_pty_stdout(start_wsc, args, timeout=10):
    """Run wsc with stdout on a pseudo-terminal (stdin stays a non-TTY), return (result, tty bytes)."""
    master, slave = pty.openpty()
    out = bytearray()

    def reader():
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out.extend(chunk)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        p = start_wsc(args, stdout=slave)
        os.close(slave)
        r = p.finish(timeout)
        t.join(2)
    finally:
        try:
            os.close(master)
        except OSError:
            pass
    return r, bytes(out)


NASTY = b"line1\nline2\rline3 \x1b[31mred\x1b]0;title\x07 \x05 \xc2\x9b end"


def test_P1_text_to_pipe_is_raw(run_wsc, evil):
    """P1 (pipe side): stdout not a TTY → the message is written raw, byte for byte."""
    r, _ = evil_session(run_wsc, evil, E.text(NASTY) + CLOSE_NOW)
    assert r.rc == EXIT_OK, r
    assert r.out == NASTY + b"\n"


def test_P1_text_to_tty_is_escaped(start_wsc, evil):
    """P1: stdout is a TTY → C0, DEL and C1 are escaped: ``line1\\nline2\\rline3`` stays on one line."""
    ev = evil(E.script_send(E.text(NASTY) + CLOSE_NOW))
    r, tty = run_with_pty_stdout(start_wsc, [ev.url(), *STAY])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert b"line1" in tty and b"line3" in tty, tty
    lines = [l for l in tty.replace(b"\r\n", b"\n").split(b"\n") if b"line1" in l]
    assert lines and b"line3" in lines[0], f"the message spans several terminal lines: {tty!r}"
    body = tty.replace(b"\r\n", b"\n")
    assert no_raw_controls(body), f"raw control characters reached the terminal: {tty!r}"


def test_P3_binary_to_pipe_is_byte_exact(run_wsc, evil):
    """P3: a binary message to a pipe is byte-exact (sha256)."""
    payload = random.Random(3).randbytes(100_000)
    r, _ = evil_session(run_wsc, evil, E.binary(payload) + CLOSE_NOW)
    assert r.rc == EXIT_OK, r
    assert hashlib.sha256(r.out).hexdigest() == hashlib.sha256(payload + b"\n").hexdigest()


def test_P3_binary_to_tty_is_summarised(start_wsc, evil):
    """P3: a binary message to a TTY → a hex/size summary, never raw bytes."""
    payload = b"\x00\x1b[2J\xff\xfe\x07binary"
    ev = evil(E.script_send(E.binary(payload) + CLOSE_NOW))
    r, tty = run_with_pty_stdout(start_wsc, [ev.url(), *STAY])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert tty.strip(), "nothing shown for a binary message"
    assert b"\x00" not in tty and b"\x1b" not in tty and b"\xff" not in tty and b"\x07" not in tty, tty


# ================================================================ P4 / #58


def test_P4_case58_stdout_to_head_1(start_wsc, evil):
    """P4/#58: EVIL streams a line per ms, stdout piped to ``head -1`` → wsc exits ≤ 1 s after head,
    exit 0, nothing on stderr, EVIL sees a Close."""
    stop = threading.Event()

    def script(c):
        if c.read_request() is None:
            return
        c.handshake()
        reader = threading.Thread(target=lambda: (c.collect(8), stop.set()), daemon=True)
        reader.start()
        deadline = time.monotonic() + 6
        i = 0
        while not stop.is_set() and time.monotonic() < deadline:
            if not c.send(E.text(b"line %d" % i), timeout=2):
                break
            i += 1
            time.sleep(0.001)
        reader.join(8)

    ev = evil(script)
    rfd, wfd = os.pipe()
    head = subprocess.Popen(["head", "-1"], stdin=rfd, stdout=subprocess.PIPE)
    os.close(rfd)
    p = start_wsc([ev.url(), *STAY], stdout=wfd)
    os.close(wfd)
    head_out, _ = head.communicate(timeout=10)
    head_done = time.monotonic()
    r = p.finish(10)
    ev.wait()
    assert head_out == b"line 0\n"
    assert r.t_end - head_done <= 1.0, f"exited {r.t_end - head_done:.2f}s after head{r!r}"
    assert r.rc == EXIT_OK, r
    assert r.err == b"", f"noise on stderr{r!r}"
    assert ev.conn.close_frames(), "EVIL saw no Close"


# ================================================================ P5 / #60


def test_P5_case60_started_with_fds_0_1_2_closed(start_wsc, evil):
    """P5/#60: ``<&- >&- 2>&-`` → nothing leaks into the socket; a clean exit (0 or local-I/O)."""

    def script(c):
        if c.read_request() is None:
            return
        c.send(c.respond_101() + E.text("hello-from-server"))
        c.sleep(0.5)
        c.send(CLOSE_NOW)
        c.read_until_eof(5)

    ev = evil(script)

    def close_std():
        for fd in (0, 1, 2):
            try:
                os.close(fd)
            except OSError:
                pass

    p = start_wsc([ev.url(), *STAY], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                  preexec_fn=close_std)
    r = p.finish(10)
    time.sleep(0.25)
    if ev.accepts == 0:
        # refusing to run without a stdout is the P5 "local-I/O class" outcome
        assert r.rc == EXIT_LOCAL_IO, r
        return
    ev.wait()
    c = ev.conn
    assert c.request is not None and c.request.raw.startswith(b"GET "), c.request
    assert c.client_bad_bytes is None and c.truncated_frame is None, "non-frame bytes arrived on the socket"
    assert c.buf == b"", f"stray bytes after the last frame: {bytes(c.buf)!r}"
    assert all(f.masked for f in c.frames)
    assert c.data_frames() == [], f"data frames leaked: {c.data_frames()}"
    for f in c.frames:
        assert b"hello" not in f.payload and b"wsc" not in f.payload, f
    assert r.rc in (EXIT_OK, EXIT_LOCAL_IO), r


# ================================================================ P6 / #59


def test_P6_case59_stdout_dev_full(start_wsc, evil):
    """P6/#59: ``>/dev/full`` → exit 10, "No space left on device", EVIL sees a Close."""
    ev = evil(E.script_send(E.text("hello") + E.text("again")))
    with open("/dev/full", "wb") as full:
        p = start_wsc([ev.url(), *STAY], stdout=full)
    r = p.finish(10)
    ev.wait()
    assert r.rc == EXIT_LOCAL_IO, r
    assert "No space left on device" in r.stderr, r
    assert ev.conn.close_frames(), "EVIL saw no Close"


# ================================================================ latency: output is not held back


@pytest.mark.parametrize("same_segment", [True, False], ids=["with-101", "own-segment"])
def test_output_flushed_while_the_server_is_silent(start_wsc, evil, same_segment):
    """DESIGN §3 / F9: a message is written to stdout (a pipe) as soon as the socket has nothing more to
    read — also when it came in the same segment as the 101 — not only at the next socket event."""

    def script(c):
        if c.read_request() is None:
            return
        if same_segment:
            c.send(c.respond_101() + E.text("early"))
        else:
            c.handshake()
            c.sleep(0.3)
            c.send(E.text("early"))
        c.mark("sent")
        c.recv_available(3.0)  # silence
        c.send(CLOSE_NOW)
        c.collect(3)

    ev = evil(script)
    p = start_wsc([ev.url(), *STAY])
    assert ev.wait_mark("sent", 5)
    t = time.monotonic()
    seen = wait_until(lambda: b"early\n" in p.out, 2.0)
    latency = time.monotonic() - t
    r = p.finish(10)
    ev.wait()
    assert seen, f"the message was not on stdout within 2 s of arriving (only at exit){r!r}"
    assert latency < 0.5, f"printed {latency:.2f}s after arrival"
    assert r.out == b"early\n" and r.rc == EXIT_OK, r


# ================================================================ contract: -w, --count, --echo, output forms


def test_contract_wait_0_closes_at_once(run_wsc, evil):
    """-w 0: after the end of input, Close right away (no 2 s wait)."""
    r, c = evil_session(run_wsc, evil, b"", base=["-w", "0", *FAST], input=b"m\n")
    assert r.rc == EXIT_OK, r
    assert c.texts() == [b"m"]
    assert c.close_frames()[0].t - c.frames[0].t < 0.5
    assert r.elapsed < 1.5, r


def test_contract_wait_restarts_on_each_message(run_wsc, evil):
    """-w 1: the wait ends 1 s after the LAST incoming message (messages every 0.4 s keep it open)."""
    sent_at = []

    def script(c):
        if c.read_request() is None:
            return
        c.handshake()
        f = c.read_frame(5)  # the stdin line
        assert f is not None and f.payload == b"go"
        for i in range(4):
            c.sleep(0.4)
            c.send(E.text(b"m%d" % i))
            sent_at.append(time.monotonic())
        c.collect(5)

    ev = evil(script)
    r = run_wsc([ev.url(), "-w", "1", *FAST], input=b"go\n")
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == b"m0\nm1\nm2\nm3\n", r
    gap = ev.conn.close_frames()[0].t - sent_at[-1]
    assert 0.8 <= gap <= 1.6, f"closed {gap:.2f}s after the last message"


def test_contract_wait_minus_1_stays_until_server_closes(run_wsc, evil):
    """-w -1: stays open (3 s of silence) until the server closes."""

    def script(c):
        if c.read_request() is None:
            return
        c.handshake()
        c.read_frame(5)
        c.recv_available(3.0)
        c.send(E.text("late") + CLOSE_NOW)
        c.collect(5)

    ev = evil(script)
    r = run_wsc([ev.url(), "-w", "-1", *FAST], input=b"x\n", timeout=15)
    ev.wait()
    assert r.out == b"late\n", r
    assert r.rc == EXIT_OK, r
    assert ev.conn.close_codes() == [1000]
    assert [f for f in ev.conn.frames if f.opcode == E.OP_CLOSE][0].t - ev.conn.t0 > 3.0


def test_contract_count_ends_the_wait(run_wsc, evil):
    """--count 2: Close as soon as 2 messages have arrived (not after -w)."""

    def script(c):
        if c.read_request() is None:
            return
        c.send(c.respond_101() + E.text("m1") + E.text("m2"))
        c.collect(5)

    ev = evil(script)
    r = run_wsc([ev.url(), "--count", "2", "-w", "5", *FAST])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == b"m1\nm2\n", r
    assert r.elapsed < 1.5, r


def test_contract_echo_mode(run_wsc, evil):
    """--echo: every message is echoed with the same type, stdin is ignored, stays until the server closes."""

    def script(c):
        if c.read_request() is None:
            return
        c.send(c.respond_101() + E.text("t1") + E.binary(b"\x00\x01") + E.text(""))
        got = []
        while len(got) < 3:
            f = c.read_frame(5)
            if f is None:
                break
            got.append(f)
        c.sleep(0.5)  # wsc must not close on its own (stdin EOF is ignored)
        c.send(CLOSE_NOW)
        c.collect(5)

    ev = evil(script)
    r = run_wsc([ev.url(), "--echo", *FAST], input=b"ignored\n")
    ev.wait()
    c = ev.conn
    assert c.messages() == [(E.OP_TEXT, b"t1"), (E.OP_BINARY, b"\x00\x01"), (E.OP_TEXT, b"")], c.frames
    assert c.close_codes() == [1000]
    assert r.rc == EXIT_OK, r


def test_contract_binary_output_raw_and_null_separated(run_wsc, evil):
    """Output: binary written raw + "\\n"; with -0 every message ends with NUL instead."""
    data = E.text("x") + E.binary(b"y\n\x00z") + E.text("")
    r, _ = evil_session(run_wsc, evil, data + CLOSE_NOW)
    assert r.out == b"x\ny\n\x00z\n\n", r
    r, _ = evil_session(run_wsc, evil, data + CLOSE_NOW, ["-0"])
    assert r.out == b"x\x00y\n\x00z\x00\x00", r


def test_contract_base64_output(run_wsc, evil):
    """--base64: binary messages as base64 lines, text messages unchanged."""
    r, _ = evil_session(run_wsc, evil, E.binary(b"\x00\xff") + E.text("plain") + E.binary(b"") + CLOSE_NOW, ["--base64"])
    assert r.rc == EXIT_OK, r
    assert r.out == b"AP8=\nplain\n\n", r


def test_contract_verbose_trace_on_stderr_only(run_wsc, evil):
    """-v: request/response headers and frame lines go to stderr; stdout is unchanged.
    Every trace line starts with "* " (issue 20: the same format as at the prompt, where
    "> " is the prompt and "< " a message)."""
    r, _ = evil_session(run_wsc, evil, E.text("m") + CLOSE_NOW, ["-v"])
    assert r.rc == EXIT_OK, r
    assert r.out == b"m\n", r
    lines = r.stderr.strip().splitlines()
    assert "* > GET / HTTP/1.1" in lines and any(l.startswith("* < HTTP/1.1 101") for l in lines), r
    assert any(l.lower().startswith("* > sec-websocket-key: ") for l in lines), r
    assert '* < frame TEXT fin len=1 "m"' in lines, r
    assert [l for l in lines if not l.startswith("* ")] == [], r


def test_contract_max_message_size_line_skipped(run_wsc, evil):
    """A stdin line longer than --max-message-size → error on stderr, line skipped, later lines sent."""
    r, c = evil_session(run_wsc, evil, b"", ["--max-message-size", "1K"], base=["-w", "0", *FAST],
                        input=b"small\n" + b"a" * 1025 + b"\n" + b"b" * 1024 + b"\nafter\n")
    assert r.rc == EXIT_OK, r
    assert c.texts() == [b"small", b"b" * 1024, b"after"]
    assert b"wsc: " in r.err, r


# --------------------------------------------------------------------------
# Issue 19: payloads byte for byte, with no separator
# --------------------------------------------------------------------------


def test_no_separator_writes_one_binary_message_to_a_file_byte_for_byte(start_wsc, ref, tmp_path):
    """``wsc --count 1 --no-separator URL > file.bin``: the file is the message, not one
    byte longer; the server keeps the connection open (a feed), so --count ends it."""
    payload = random.Random(19).randbytes(1 << 20) + b"\n"
    srv = ref(R.send_messages([payload, b"second"], close_code=None, then_echo=True))
    out = tmp_path / "file.bin"
    with out.open("wb") as f:
        p = start_wsc(["--count", "1", "--no-separator", srv.url()], stdout=f)
        r = p.finish(15)
    assert r.rc == EXIT_OK, r
    data = out.read_bytes()
    assert len(data) == len(payload), (len(data), len(payload))
    assert hashlib.sha256(data).digest() == hashlib.sha256(payload).digest()


def test_no_separator_runs_messages_together_and_applies_with_null_input(run_wsc, evil):
    data = E.text("x\n") + E.binary(b"y\x00") + E.text("") + E.text("z")
    r, _ = evil_session(run_wsc, evil, data + CLOSE_NOW, ["--no-separator"])
    assert r.rc == EXIT_OK, r
    assert r.out == b"x\ny\x00z", r


def test_no_separator_with_null_input_still_splits_the_input(run_wsc, ref):
    """-0 splits stdin at NUL; --no-separator only changes what is written after each message."""
    srv = ref(R.echo)
    r = run_wsc([srv.url(), "-0", "--no-separator"], input=b"a\x00b\x00")
    assert r.rc == EXIT_OK, r
    assert srv.conn.messages == ["a", "b"]
    assert r.out == b"ab", r


def test_no_separator_with_base64_is_a_usage_error(run_wsc):
    r = run_wsc(["--no-separator", "--base64", "ws://127.0.0.1:9/"], check=False)
    assert r.rc == 64, r
    assert "--no-separator" in r.stderr and "--base64" in r.stderr, r


def test_no_separator_at_a_terminal_still_ends_each_message_with_a_newline(start_wsc, evil):
    ev = evil(E.script_send(E.text("one") + E.text("two") + CLOSE_NOW))
    r, tty = run_with_pty_stdout(start_wsc, [ev.url(), "--no-separator", *STAY])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert b"one\r\ntwo" in tty or b"one\ntwo" in tty, tty


def test_slash_commands_are_data_in_a_pipe(run_wsc, ref):
    """Issue 19: slash commands belong to the prompt; piped lines are sent as they are."""
    srv = ref(R.echo)
    lines = b"/ping\n/close 4000 bye\n/binary 00 ff\n//x\n/quit\n"
    r = run_wsc([srv.url(), *FAST], input=lines)
    assert r.rc == EXIT_OK, r
    assert srv.conn.messages == ["/ping", "/close 4000 bye", "/binary 00 ff", "//x", "/quit"]
    assert r.out == lines, r
    assert srv.conn.close_rcvd_code == 1000
