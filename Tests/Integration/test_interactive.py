"""Issue 4: the interactive prompt, end to end in a real terminal (tmux).

Each test runs wsc in its own tmux server (``tmux -L wsc-test-<random>``, no user
config), types with ``send-keys``, reads the screen with ``capture-pane`` and polls
with bounded loops. The exit code comes from ``sh -c 'wsc ...; echo EXIT=$? > file'``.
CHECKLIST P1, P2, P11, Q1 and §3 #62-64.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from helpers import EXIT_LOST, EXIT_OK, EXIT_PEER_CLOSED, EXIT_SIGINT, wait_until, wsc_binary
from peers import evil as E
from peers.ref import echo

# scripts/setup.sh installs tmux; a missing tmux is a failure, never a silent skip.
assert shutil.which("tmux"), "tmux is required for the interactive tests (apt-get install tmux)"

FAST = ["--connect-timeout", "2", "--close-timeout", "2"]
ESCAPES = b"\x1b[c\x1b[6n\x05\x1b]0;pwn\x07\x1b]52;c;ZWNobyBoaQ==\x07\x1b[2J"


class Term:
    """wsc running in a private tmux server."""

    def __init__(self, tmp: Path, args, *, env: dict | None = None, width: int = 120, height: int = 40):
        self.server = f"wsc-test-{uuid.uuid4().hex[:10]}"
        self.exit_file = tmp / f"exit-{self.server}"
        self.state = tmp / "state"
        environment = {"LANG": "C.UTF-8", "XDG_STATE_HOME": str(self.state), "HOME": str(tmp)}
        environment.update(env or {})
        unset = [k for k, v in environment.items() if v is None]
        assigns = [f"{k}={v}" for k, v in environment.items() if v is not None]
        argv = ["env", "-u", "NO_COLOR", *sum((["-u", k] for k in unset), []), *assigns,
                str(wsc_binary()), *map(str, args)]
        command = f"{shlex.join(argv)}; echo EXIT=$? > {shlex.quote(str(self.exit_file))}; sleep 60"
        self.tmux("-f", "/dev/null", "new-session", "-d", "-x", str(width), "-y", str(height), command)
        self.socket_path = self.tmux("display-message", "-p", "#{socket_path}").strip()

    def tmux(self, *args: str, input: bytes | None = None) -> str:
        r = subprocess.run(["tmux", "-L", self.server, *args], capture_output=True, timeout=10, input=input)
        return r.stdout.decode("utf-8", "replace")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-l", text)

    def screen(self, escapes: bool = False) -> str:
        return self.tmux("capture-pane", "-p", "-J", *(["-e"] if escapes else []))

    def wait_for(self, text: str, timeout: float = 5.0) -> str:
        ok = wait_until(lambda: text in self.screen(), timeout, 0.05)
        screen = self.screen()
        assert ok, f"{text!r} never appeared on the screen:\n{screen}"
        return screen

    def title(self) -> str:
        return self.tmux("display-message", "-p", "#{pane_title}").strip()

    def exit_code(self, timeout: float = 8.0) -> int | None:
        wait_until(lambda: self.exit_file.exists() and self.exit_file.read_text().strip(), timeout, 0.02)
        if not self.exit_file.exists():
            return None
        return int(self.exit_file.read_text().strip().split("=")[1])

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.server, "kill-server"], capture_output=True, timeout=10)
        if self.socket_path:  # tmux leaves its socket file behind
            Path(self.socket_path).unlink(missing_ok=True)


@pytest.fixture
def term(tmp_path):
    terms: list[Term] = []

    def start(args, **kw) -> Term:
        t = Term(tmp_path, args, **kw)
        terms.append(t)
        return t

    yield start
    for t in terms:
        t.close()


def peer(collect: float = 9.0, *, answer_close: bool = True):
    """EVIL: 101, mark "open", then read the client's frames (answering its Close)."""

    def script(c):
        if c.read_request() is None:
            return
        c.handshake()
        c.mark("open")
        if answer_close:
            c.collect(collect)
        else:
            c.read_until_eof(collect)

    return script


def prompt_ready(t: Term) -> str:
    return t.wait_for("Connected (press CTRL+C to quit)")


def last_line(screen: str) -> str:
    lines = [line for line in screen.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# ---- P11: typing survives incoming messages


def test_P11_half_typed_line_survives_incoming_messages(term, evil):
    ev = evil(peer())
    t = term([ev.url(), *FAST])
    assert ev.wait_mark("open", 5)
    prompt_ready(t)
    t.type("hello wo")
    t.wait_for("> hello wo")
    for i in range(3):
        ev.conn.send(E.text(f"incoming {i}"))
    screen = t.wait_for("< incoming 2")
    assert last_line(screen) == "> hello wo", screen
    t.type("rld")
    t.keys("Enter")
    assert wait_until(lambda: ev.conn.texts(), 5), ev.conn.frames
    assert ev.conn.texts() == [b"hello world"]
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK


def test_P11_cursor_mid_line_and_wide_characters_redraw_intact(term, evil):
    """A line wider than the terminal, with wide characters, edited mid-line while messages arrive."""
    ev = evil(peer())
    t = term([ev.url(), *FAST], width=40)
    assert ev.wait_mark("open", 5)
    prompt_ready(t)
    line = "日本語テキスト " + "y" * 60
    t.type(line)
    t.keys("Left", "Left", "Left")
    for i in range(3):
        ev.conn.send(E.text(f"m{i}"))
    t.wait_for("< m2")
    t.type("Z")
    t.keys("Enter")
    assert wait_until(lambda: ev.conn.texts(), 5), ev.conn.frames
    assert ev.conn.texts() == [(line[:-3] + "Z" + line[-3:]).encode()]
    screen = t.screen()
    assert screen.count("日本語テキスト") == 1, screen  # no leftover copies of the line
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK


def test_P11_burst_while_typing_loses_no_keystroke(term, ref):
    async def burst(ws, rec):
        async for m in ws:
            rec.messages.append(m)
            if m == "go":
                for i in range(500):
                    await ws.send(f"burst {i}")

    r = ref(burst)
    t = term([r.url(), *FAST])
    prompt_ready(t)
    t.type("go")
    t.keys("Enter")
    for ch in "abcdefghij":
        t.type(ch)
    t.wait_for("< burst 499", 10)
    t.type("KLM")
    t.keys("Enter")
    assert wait_until(lambda: len(r.conn.messages) == 2, 5), r.conn.messages
    assert r.conn.messages == ["go", "abcdefghijKLM"]
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK


def test_empty_line_sends_an_empty_message(term, evil):
    ev = evil(peer())
    t = term([ev.url(), *FAST])
    prompt_ready(t)
    t.keys("Enter")
    t.type("next")
    t.keys("Enter")
    assert wait_until(lambda: len(ev.conn.texts()) == 2, 5), ev.conn.frames
    assert ev.conn.texts() == [b"", b"next"]
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK


# ---- P1, P2, #62: nothing from the network drives the terminal


def test_P2_case62_escape_sequences_shown_escaped_no_answerback(term, evil):
    ev = evil(peer())
    t = term([ev.url(), *FAST])
    assert ev.wait_mark("open", 5)
    prompt_ready(t)
    title = t.title()
    ev.conn.send(E.text(ESCAPES))
    screen = t.wait_for(r"< \x1b[c\x1b[6n\x05\x1b]0;pwn\x07\x1b]52;c;ZWNobyBoaQ==\x07\x1b[2J")
    assert "Connected (press CTRL+C to quit)" in screen  # not cleared by ESC[2J
    assert t.title() == title
    # Anything the terminal answered would sit in the line and go out with it.
    t.type("ok")
    t.keys("Enter")
    assert wait_until(lambda: ev.conn.texts(), 5)
    time.sleep(0.3)
    assert ev.conn.texts() == [b"ok"], ev.conn.frames
    assert all(b"\x1b[" not in f.payload for f in ev.conn.frames), ev.conn.frames
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK


def test_P1_controls_and_c1_escaped_binary_previewed(term, evil):
    ev = evil(peer())
    t = term([ev.url(), *FAST])
    prompt_ready(t)
    ev.conn.send(E.text("line1\nline2\rline3\x7f\u0085end".encode()))
    ev.conn.send(E.binary(bytes([0, 1, 0xFF]) + bytes(range(100))))
    t.wait_for(r"< line1\nline2\rline3\x7f\x85end")
    t.wait_for("< (binary, 103 bytes) 00 01 ff 00 01 02")
    assert "…" in t.screen()
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK


def closes_on_bye(reason: bytes):
    """EVIL: 101, then once the test marks "bye", Close 4001 with ``reason``."""

    def script(c):
        if c.read_request() is None:
            return
        c.handshake()
        c.mark("open")
        c.server.wait_mark("bye", 8)
        c.send_close(4001, reason)
        c.collect(3)

    return script


def test_P1_close_reason_escaped_and_status_lines(term, evil):
    ev = evil(closes_on_bye(b"bad\x1b[2Jreason"))
    t = term([ev.url(), *FAST])
    prompt_ready(t)
    ev.mark("bye")
    t.wait_for(r'Disconnected (code: 4001, reason: "bad\x1b[2Jreason")')
    assert t.exit_code() == EXIT_PEER_CLOSED


def test_colour_on_by_default_off_with_NO_COLOR_and_flag(term, evil):
    green = "\x1b[32m<"
    for env, args, want in [({}, [], True), ({"NO_COLOR": "1"}, [], False), ({}, ["--no-color"], False)]:
        ev = evil(peer())
        t = term([ev.url(), *FAST, *args], env=env)
        prompt_ready(t)
        ev.conn.send(E.text("hi"))
        t.wait_for("< hi")
        assert (green in t.screen(escapes=True)) is want, (env, args, repr(t.screen(escapes=True)))
        t.keys("C-d")
        assert t.exit_code() == EXIT_OK
        t.close()


# ---- History


def test_history_recalled_with_up_in_a_second_run(term, ref, tmp_path):
    r = ref(echo)
    t = term([r.url(), *FAST])
    prompt_ready(t)
    t.type("remember me")
    t.keys("Enter")
    t.wait_for("< remember me")
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK
    history = tmp_path / "state" / "wsc" / "history"
    assert history.exists()
    assert oct(history.stat().st_mode & 0o777) == "0o600"

    t2 = term([r.url(), *FAST])
    prompt_ready(t2)
    t2.keys("Up")
    t2.wait_for("> remember me")
    t2.keys("Enter")
    assert wait_until(lambda: len(r.conns) == 2 and r.conns[1].messages == ["remember me"], 5), r.conns
    t2.keys("C-d")
    assert t2.exit_code() == EXIT_OK


def test_no_history_writes_nothing(term, ref, tmp_path):
    r = ref(echo)
    t = term([r.url(), *FAST, "--no-history"])
    prompt_ready(t)
    t.type("secret token")
    t.keys("Enter")
    t.wait_for("< secret token")
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK
    assert not (tmp_path / "state" / "wsc" / "history").exists()


# ---- Slash commands


def test_slash_ping_shows_round_trip_time(term, ref):
    r = ref(echo)
    t = term([r.url(), *FAST, "--slash"])
    prompt_ready(t)
    t.type("/ping abc")
    t.keys("Enter")
    screen = t.wait_for("Received pong in ")
    assert '(data: "abc")' in screen and " ms " in screen, screen
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK


def test_slash_pong_close_with_code_and_reason(term, evil):
    ev = evil(peer())
    t = term([ev.url(), *FAST])
    prompt_ready(t)
    t.type("/pong hey")
    t.keys("Enter")
    assert wait_until(lambda: ev.conn.pongs(), 5), ev.conn.frames
    assert ev.conn.pongs()[0].payload == b"hey"
    t.type("/close 4000 bye")
    t.keys("Enter")
    assert wait_until(lambda: ev.conn.close_frames(), 5), ev.conn.frames
    close = ev.conn.close_frames()[0]
    assert (close.close_code, close.close_reason) == (4000, b"bye")
    t.wait_for('Disconnected (code: 4000, reason: "")')
    assert t.exit_code() == EXIT_OK


def test_slash_binary_hex_and_base64_and_escaped_slash(term, ref):
    r = ref(echo)
    t = term([r.url(), *FAST])
    prompt_ready(t)
    t.type("/binary 00 01 ff")
    t.keys("Enter")
    t.wait_for("< (binary, 3 bytes) 00 01 ff")
    t.type("/binary base64:" + base64.b64encode(b"\x10\x20hi").decode())
    t.keys("Enter")
    t.wait_for("< (binary, 4 bytes) 10 20 68 69")
    t.type("//text")
    t.keys("Enter")
    t.wait_for("< /text")
    assert r.conn.messages == [b"\x00\x01\xff", b"\x10\x20hi", "/text"]
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK


def test_slash_help_unknown_and_bad_arguments_send_nothing(term, ref):
    r = ref(echo)
    t = term([r.url(), *FAST])
    prompt_ready(t)
    t.type("/help")
    t.keys("Enter")
    t.wait_for("/close [code [reason]]")
    t.type("/frobnicate now")
    t.keys("Enter")
    t.wait_for("unknown command /frobnicate")
    t.type("/binary zz")
    t.keys("Enter")
    t.wait_for("/binary expects hex bytes")
    t.type("/close 1005")
    t.keys("Enter")
    t.wait_for("not a close code that may be sent")
    t.type("after")
    t.keys("Enter")
    t.wait_for("< after")
    assert r.conn.messages == ["after"]
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK


def test_slash_quit_closes_1000_exit_0(term, ref):
    r = ref(echo)
    t = term([r.url(), *FAST])
    prompt_ready(t)
    t.type("/quit")
    t.keys("Enter")
    assert t.exit_code() == EXIT_OK
    r.wait()
    assert r.conn.close_rcvd_code == 1000


# ---- Q1, #63-64: Ctrl-D, Ctrl-C, a second Ctrl-C


def test_ctrl_d_closes_1000_exit_0(term, evil):
    ev = evil(peer())
    t = term([ev.url(), *FAST])
    prompt_ready(t)
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK
    ev.wait()
    assert ev.conn.close_codes() == [1000]
    assert "Disconnected (code: 1000" in t.screen()


def test_Q1_case64_ctrl_c_closes_1000_exit_130(term, evil):
    ev = evil(peer())
    t = term([ev.url(), *FAST])
    prompt_ready(t)
    t.type("unsent")
    t.wait_for("> unsent")
    t0 = time.monotonic()
    t.keys("C-c")
    assert t.exit_code() == EXIT_SIGINT
    assert time.monotonic() - t0 < 3.5
    ev.wait()
    assert ev.conn.close_codes() == [1000]
    assert ev.conn.texts() == []


def test_Q1_second_ctrl_c_exits_at_once(term, evil):
    ev = evil(peer(9, answer_close=False))
    t = term([ev.url(), "--connect-timeout", "2", "--close-timeout", "5"])
    prompt_ready(t)
    t.keys("C-c")
    assert wait_until(lambda: ev.conn.close_frames(), 3), "no Close after the first Ctrl-C"
    assert not t.exit_file.exists()
    t0 = time.monotonic()
    t.keys("C-c")
    assert t.exit_code(3) == EXIT_SIGINT
    assert time.monotonic() - t0 < 1.0


# ---- Pastes, resize


def test_paste_of_10000_characters_arrives_whole(term, ref, tmp_path):
    r = ref(echo)
    t = term([r.url(), *FAST])
    prompt_ready(t)
    payload = "".join(f"{i:05d}abcde" for i in range(1000))  # 10,000 characters
    assert len(payload) == 10_000
    t.tmux("load-buffer", "-b", "big", "-", input=payload.encode())
    t.tmux("paste-buffer", "-b", "big")
    time.sleep(0.3)
    t.keys("Enter")
    assert wait_until(lambda: r.conn.messages, 10), r.conn
    assert r.conn.messages == [payload]
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK


def test_resize_redraws_the_prompt(term, evil):
    ev = evil(peer())
    t = term([ev.url(), *FAST], width=100)
    prompt_ready(t)
    t.type("typed before resize")
    t.wait_for("> typed before resize")
    t.tmux("resize-window", "-x", "50", "-y", "20")
    ev.conn.send(E.text("after resize"))
    screen = t.wait_for("< after resize")
    assert last_line(screen) == "> typed before resize", screen
    t.keys("Enter")
    assert wait_until(lambda: ev.conn.texts(), 5)
    assert ev.conn.texts() == [b"typed before resize"]
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK


def test_execute_with_wait_forever_then_prompt(term, ref):
    """DESIGN §4: -x with -w -1 on a terminal sends the preamble, then the prompt follows."""
    r = ref(echo)
    t = term([r.url(), *FAST, "-x", "first", "-w", "-1"])
    prompt_ready(t)
    t.wait_for("< first")
    t.type("second")
    t.keys("Enter")
    t.wait_for("< second")
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK
    assert r.conn.messages == ["first", "second"]


def test_listen_mode_prompt_broadcasts_and_shows_clients_above_the_line(term):
    """Issue 6, interactive listen mode: connects, disconnects and tagged messages appear
    above the prompt (escaped), a typed line goes to every client, /close closes them
    all with its code, and Ctrl-D stops the server with exit 0."""
    t = term(["-l", "127.0.0.1:0", "--no-history", "--no-color"])
    screen = t.wait_for("listening on ws://127.0.0.1:")
    port = re.search(r"listening on ws://127\.0\.0\.1:(\d+)/", screen).group(1)
    url = f"ws://127.0.0.1:{port}/room"
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(connect(url, open_timeout=5))
        b = stack.enter_context(connect(url, open_timeout=5))
        t.wait_for("client 2 connected from 127.0.0.1:")
        t.type("half typed")
        a.send("hi from a\x1b]0;pwn\x07")
        screen = t.wait_for("[1] < hi from a\\x1b]0;pwn\\x07")
        assert last_line(screen) == "> half typed", screen
        t.type(" line")
        t.keys("Enter")
        assert a.recv(timeout=5) == "half typed line"
        assert b.recv(timeout=5) == "half typed line"
        t.type("/close 4000 done")
        t.keys("Enter")
        for ws in (a, b):
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
            assert ws.close_code == 4000
        t.wait_for("client 2 disconnected (code 4000")
    t.keys("C-d")
    assert t.exit_code() == 0, t.screen()


# ---- Issue 20 item 5: one clear line per event, no stray prompt


def prompt_only_lines(screen: str) -> list[str]:
    """Lines that hold a bare prompt (nothing typed): left behind, they read as a prompt."""
    return [line for line in screen.splitlines() if line.strip() == ">"]


def test_issue20_item5_no_stray_prompt_before_a_connect_error(term, refused_url):
    t = term([refused_url, *FAST])
    assert t.exit_code() == 3
    screen = t.screen()
    assert "wsc: " in screen, screen
    assert prompt_only_lines(screen) == [], screen


def test_issue20_item5_server_close_reported_once_and_no_prompt_after_it(term, evil):
    ev = evil(closes_on_bye(b"bye"))
    t = term([ev.url(), *FAST])
    prompt_ready(t)
    ev.mark("bye")
    assert t.exit_code() == EXIT_PEER_CLOSED
    screen = t.screen()
    assert [line for line in screen.splitlines() if "4001" in line] == [
        'Disconnected (code: 4001, reason: "bye")'
    ], screen
    assert prompt_only_lines(screen) == [], screen


def resets_on(mark: str):
    """EVIL: 101, then once the test marks ``mark``, an RST instead of a Close."""

    def script(c):
        if c.read_request() is None:
            return
        c.handshake()
        c.server.wait_mark(mark, 8)
        c.reset()

    return script


def test_issue20_item5_lost_connection_reported_once(term, evil):
    """A reset at the prompt: one line with the code and the cause, not "Disconnected"
    and then the same cause again as "wsc: connection lost"."""
    ev = evil(resets_on("rst"))
    t = term([ev.url(), *FAST])
    prompt_ready(t)
    ev.mark("rst")
    assert t.exit_code() == EXIT_LOST
    screen = t.screen()
    lines = [line for line in screen.splitlines() if "connection" in line.lower() and "Connected" not in line]
    assert len(lines) == 1, screen
    assert lines[0].startswith("Disconnected (code: 1006): connection lost: "), screen
    assert prompt_only_lines(screen) == [], screen


def test_issue20_item5_ctrl_c_during_a_pending_close_says_what_happens(term, evil):
    ev = evil(peer(9, answer_close=False))
    t = term([ev.url(), "--connect-timeout", "2", "--close-timeout", "5"])
    prompt_ready(t)
    t.type("/close")
    t.keys("Enter")
    assert wait_until(lambda: ev.conn.close_frames(), 3), "no Close after /close"
    t.keys("C-c")
    t.wait_for("Closing… (press CTRL+C again to exit now)", 2)
    assert not t.exit_file.exists()
    t0 = time.monotonic()
    t.keys("C-c")
    assert t.exit_code(3) == EXIT_SIGINT
    assert time.monotonic() - t0 < 1.0


def test_issue20_item5_execute_preamble_shown_as_sent(term, ref):
    r = ref(echo)
    t = term([r.url(), *FAST, "-x", "first", "-x", "sec\x1bond", "-w", "-1"])
    screen = t.wait_for("< sec\\x1bond")
    lines = screen.splitlines()
    assert lines.index("> first") < lines.index("< first"), screen
    assert lines.index("> sec\\x1bond") < lines.index("< sec\\x1bond"), screen
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK


def test_issue20_item5_verbose_trace_is_distinct_from_the_prompt(term, ref):
    r = ref(echo)
    t = term([r.url(), *FAST, "-v", "--no-compression"], env={"NO_COLOR": "1"})
    prompt_ready(t)
    t.type("hello")
    t.keys("Enter")
    screen = t.wait_for('* < frame TEXT fin len=5 "hello"')
    lines = [line for line in screen.splitlines() if line.strip()]
    assert "* > GET / HTTP/1.1" in lines and "* < HTTP/1.1 101 Switching Protocols" in lines, screen
    assert '* > frame TEXT fin len=5 "hello"' in lines, screen
    # What starts with "> " is the prompt and the typed line, what starts with "< " a message.
    assert [line for line in lines if line.startswith(">")] == ["> hello", "> "], screen
    assert [line for line in lines if line.startswith("<")] == ["< hello"], screen
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK

    # On a colour terminal the trace is dimmed (SGR 2), messages are not.
    t = term([r.url(), *FAST, "-v"])
    prompt_ready(t)
    t.wait_for("* < HTTP/1.1 101")
    assert "\x1b[2m* > GET / HTTP/1.1" in t.screen(escapes=True), t.screen(escapes=True)
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK


def test_timestamps_before_each_message_at_the_prompt(term, ref):
    import re

    r = ref(echo)
    t = term([r.url(), *FAST, "--timestamps"])
    prompt_ready(t)
    t.type("stamped")
    t.keys("Enter")
    screen = t.wait_for("< stamped")
    assert re.search(r"^\d\d:\d\d:\d\d\.\d{3} < stamped$", screen, re.M), screen
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK


def test_json_at_the_prompt_is_indented_and_coloured(term, evil):
    ev = evil(peer())
    t = term([ev.url(), *FAST, "-j"], env={})
    prompt_ready(t)
    ev.conn.send(E.text('{"k": [1, true], "s": "v"}'))
    t.wait_for('"s": "v"')
    screen = t.screen()
    assert '< {\n    "k": [\n      1,\n      true\n    ],\n    "s": "v"\n  }' in screen, screen
    coloured = t.screen(escapes=True)
    # tmux re-encodes the SGR codes: bold blue keys, green strings, cyan numbers.
    assert "\x1b[34m\"k\"" in coloured and "\x1b[32m\"v\"" in coloured and "\x1b[36m1" in coloured, repr(coloured)
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK
