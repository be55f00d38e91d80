"""Issue 18: from the browser's network panel to the terminal. Cookies (`--cookie` as a
string or a Netscape cookie file), header files (`--header-file`, `-H @FILE`), checked
by what a Python websockets server received."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from websockets.datastructures import Headers
from websockets.http11 import Response

from helpers import EXIT_OK, EXIT_USAGE, FAST, wait_until
from peers import ref as R
from test_interactive import prompt_ready, term  # noqa: F401  (fixture)

ONE_SHOT = ["-w", "0", *FAST]


def received(srv, name: str) -> list[str]:
    srv.wait()
    return [v for k, v in srv.conn.headers if k.lower() == name.lower()]


def test_cookie_string_is_sent_as_given_and_merged_with_a_cookie_header(run_wsc, ref):
    srv = ref(R.echo)
    r = run_wsc(["--cookie", "a=1; b=2", "-H", "Cookie: first=0", "--cookie", "c=3", *ONE_SHOT, srv.url()])
    assert r.rc == EXIT_OK, r.err
    # One Cookie header (RFC 6265 §5.4), the -H value first.
    assert received(srv, "Cookie") == ["first=0; a=1; b=2; c=3"]


def test_cookie_file_sends_only_what_matches_domain_path_secure_and_expiry(run_wsc, ref, tmp_path):
    jar = tmp_path / "cookies.txt"
    future = int(time.time()) + 3600
    jar.write_text(
        "# Netscape HTTP Cookie File\n"
        f"127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\ts1\n"
        f"127.0.0.1\tFALSE\t/chat\tFALSE\t{future}\tchat\tc1\n"
        f"127.0.0.1\tFALSE\t/other\tFALSE\t0\tother\to1\n"
        f"127.0.0.1\tFALSE\t/\tTRUE\t0\tsecure\tonly-wss\n"
        f"127.0.0.1\tFALSE\t/\tFALSE\t1000\texpired\tgone\n"
        f"example.com\tTRUE\t/\tFALSE\t0\telsewhere\tx\n"
        f"#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\thttponly\th1\n"
    )
    srv = ref(R.echo)
    r = run_wsc(["--cookie", str(jar), *ONE_SHOT, srv.url("/chat/room")])
    assert r.rc == EXIT_OK, r.err
    assert received(srv, "Cookie") == ["session=s1; chat=c1; httponly=h1"]


def test_no_matching_cookie_sends_no_cookie_header(run_wsc, ref, tmp_path):
    jar = tmp_path / "cookies.txt"
    jar.write_text("example.com\tTRUE\t/\tFALSE\t0\telsewhere\tx\n")
    srv = ref(R.echo)
    r = run_wsc(["--cookie", str(jar), *ONE_SHOT, srv.url()])
    assert r.rc == EXIT_OK, r.err
    assert received(srv, "Cookie") == []


def test_header_file_and_at_file_add_headers_in_order(run_wsc, ref, tmp_path):
    a = tmp_path / "a.headers"
    a.write_text("# from the browser\r\nOrigin: https://app.example\r\n\r\nX-One: 1\r\n")
    b = tmp_path / "b.headers"
    b.write_text("X-Two: 2\n")
    srv = ref(R.echo)
    r = run_wsc(["-H", f"@{a}", "-H", "X-Zero: 0", "--header-file", str(b), *ONE_SHOT, srv.url()])
    assert r.rc == EXIT_OK, r.err
    got = [(k, v) for k, v in srv.wait().conn.headers if k.lower() in ("origin", "x-one", "x-two", "x-zero")]
    assert got == [("Origin", "https://app.example"), ("X-One", "1"), ("X-Zero", "0"), ("X-Two", "2")]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--cookie", "/nonexistent/jar"], b"--cookie /nonexistent/jar: cannot open: No such file or directory"),
        (["--header-file", "/nonexistent/h"], b"--header-file /nonexistent/h: cannot open: No such file or directory"),
        (["-H", "@/nonexistent/h"], b"-H @FILE /nonexistent/h: cannot open"),
        (["-H", "@/"], b"-H @FILE /: cannot read: Is a directory"),
    ],
)
def test_unreadable_files_are_usage_errors_naming_the_flag(run_wsc, args, message):
    r = run_wsc([*args, "ws://127.0.0.1:9/"], timeout=5)
    assert r.rc == EXIT_USAGE, r.err
    assert message in r.err, r.err


def test_a_malformed_cookie_file_names_the_line(run_wsc, tmp_path):
    jar = tmp_path / "bad"
    jar.write_text("# ok\nexample.com TRUE / FALSE 0 a b\n")
    r = run_wsc(["--cookie", str(jar), "ws://127.0.0.1:9/"], timeout=5)
    assert r.rc == EXIT_USAGE, r.err
    assert b"not a Netscape cookie file: line 2: expected 7 TAB-separated fields, found 1" in r.err, r.err


def test_a_header_line_in_a_file_without_a_colon_is_refused(run_wsc, tmp_path):
    h = tmp_path / "h"
    h.write_text("Origin-only\n")
    r = run_wsc(["--header-file", str(h), "ws://127.0.0.1:9/"], timeout=5)
    assert r.rc == EXIT_USAGE, r.err
    assert b'invalid header "Origin-only" (expected "Name: value")' in r.err, r.err


# ---- wsc curl: "Copy as cURL" commands

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "curl"
OWNED = ("sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "upgrade", "connection")


def fixture(name: str, port: int, tmp_path) -> Path:
    text = (FIXTURES / name).read_bytes().replace(b"PORT", str(port).encode())
    out = tmp_path / name
    out.write_bytes(text)
    return out


def headers_of(srv) -> dict[str, list[str]]:
    got: dict[str, list[str]] = {}
    for k, v in srv.wait().conn.headers:
        got.setdefault(k.lower(), []).append(v)
    return got


async def chat(ws, rec):
    async for msg in ws:
        rec.messages.append(msg)
        await ws.send(msg)


def check_browser_headers(srv, fixture_text: str, cookie: str, subprotocol: bool) -> None:
    got = headers_of(srv)
    assert got["origin"] == ["http://app.example"]
    # websockets decodes header bytes as Latin-1; wsc sent the UTF-8 of the command.
    assert [c.encode("latin-1").decode("utf-8") for c in got["cookie"]] == [cookie]
    assert got["pragma"] == ["no-cache"]
    assert "Mozilla/5.0" in got["user-agent"][0]
    # The handshake-owned headers are wsc's own: one each, never the browser's key.
    for name in OWNED:
        assert len(got.get(name, [])) <= 1, (name, got.get(name))
    assert got["sec-websocket-key"][0] not in fixture_text
    assert got["sec-websocket-extensions"] == [
        "permessage-deflate; client_max_window_bits, permessage-deflate; client_no_context_takeover; client_max_window_bits"
    ]
    assert got["upgrade"] == ["websocket"] and got["sec-websocket-version"] == ["13"]
    if subprotocol:
        assert got["sec-websocket-protocol"] == ["chat, superchat"]
    assert srv.conn.path == "/socket?room=42"
    assert srv.conn.messages == ["hello"]


@pytest.mark.parametrize(
    "name, cookie, subprotocol",
    [
        ("chromium-bash.txt", "session=abc123; pref=it's été", True),
        ("firefox-bash.txt", "session=abc123; theme=dark", False),
        ("chromium-cmd.txt", 'session=abc123; note="quoted" 100%', False),
    ],
)
def test_curl_from_a_pasted_command_sends_the_browsers_headers(run_wsc, ref, tmp_path, name, cookie, subprotocol):
    srv = ref(chat, subprotocols=["chat"] if subprotocol else None)
    path = fixture(name, srv.port, tmp_path)
    r = run_wsc(["curl", "--from", str(path), "--", "-x", "hello", "-w", "0.5", *FAST])
    assert r.rc == EXIT_OK, r.err
    assert r.out == b"hello\n"
    check_browser_headers(srv, path.read_text(), cookie, subprotocol)
    assert b"curl command: dropped " in r.err and b"(wsc's handshake writes its own)" in r.err, r.err
    if name.startswith("firefox"):
        assert b"curl command: ignored --compressed (nothing to do for a WebSocket)" in r.err, r.err


def test_curl_arguments_split_by_the_shell_work_the_same(run_wsc, ref, tmp_path):
    # What the user gets by pasting after "wsc ": the shell splits the words.
    srv = ref(chat, subprotocols=["chat"])
    text = fixture("chromium-bash.txt", srv.port, tmp_path).read_text()
    assert text.startswith("curl ")
    # bash itself splits it ($'…' included): printf prints each word NUL-terminated.
    split = subprocess.run(["bash", "-c", "printf '%s\\0' " + text[len("curl "):]], capture_output=True, check=True)
    words = ["curl", *split.stdout.decode().split("\0")[:-1]]
    assert "-b" in words and "session=abc123; pref=it's été" in words, words
    r = run_wsc([*words, "--", "-x", "hello", "-w", "0.5", *FAST])
    assert r.rc == EXIT_OK, r.err
    check_browser_headers(srv, " ".join(words), "session=abc123; pref=it's été", True)


def test_curl_maps_user_agent_auth_insecure_and_http_urls(run_wsc, ref):
    srv = ref(chat)
    url = srv.url("/x").replace("ws://", "http://")
    r = run_wsc(
        ["curl", url, "-A", "agent/1", "-u", "me:pw", "-sSL", "-X", "GET", "--http1.1", "-e", "http://ref",
         "--", "-x", "hello", "-w", "0.5", *FAST])
    assert r.rc == EXIT_OK, r.err
    got = headers_of(srv)
    assert got["user-agent"] == ["agent/1"] and got["referer"] == ["http://ref"]
    assert got["authorization"] == ["Basic bWU6cHc="]
    assert b"ignored -s, -S, -X GET, --http1.1" in r.err, r.err


@pytest.mark.parametrize(
    "args, message",
    [
        (["ws://127.0.0.1:9/", "-d", "x"], b"-d: a WebSocket handshake has no request body"),
        (["ws://127.0.0.1:9/", "-X", "POST"], b"-X POST: a WebSocket handshake is a GET"),
        (["ws://127.0.0.1:9/", "--trace-ascii", "f"], b"--trace-ascii is a curl option wsc does not map"),
        (["-H", "Origin: x"], b"no URL in the curl command"),
        (["ws://a/", "ws://b/"], b"more than one URL"),
        (["--from", "/nonexistent"], b"wsc curl --from /nonexistent: cannot open"),
    ],
)
def test_curl_commands_wsc_cannot_map_are_usage_errors(run_wsc, args, message):
    r = run_wsc(["curl", *args], timeout=5)
    assert r.rc == EXIT_USAGE, r.err
    assert message in r.err, r.err


def test_curl_from_a_file_that_is_not_a_curl_command(run_wsc, tmp_path):
    f = tmp_path / "cmd"
    f.write_text("wget 'http://x/'\n")
    r = run_wsc(["curl", "--from", str(f)], timeout=5)
    assert r.rc == EXIT_USAGE and b"the command does not start with curl" in r.err, r.err
    f.write_text("curl 'ws://x/\n")
    r = run_wsc(["curl", "--from", str(f)], timeout=5)
    assert r.rc == EXIT_USAGE and b"a ' quote is not closed" in r.err, r.err


# ---- --log FILE: the session as it happens


def log_events(path: Path) -> list[dict]:
    from test_jsonl import events

    return events(path.read_bytes())


def test_log_has_the_handshake_every_frame_messages_and_the_close(run_wsc, ref, tmp_path):
    log = tmp_path / "session.jsonl"
    srv = ref(R.echo)
    r = run_wsc(["--log", str(log), "-H", "X-Trace: 1", *ONE_SHOT, "-w", "0.5", srv.url("/logged")], input=b"hello\nworld\n")
    assert r.rc == EXIT_OK, r.err
    assert r.out == b"hello\nworld\n"  # stdout is unchanged
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    evs = log_events(log)
    kinds = [e["event"] for e in evs]
    assert kinds[:3] == ["request", "response", "open"], kinds
    assert evs[0]["lines"][0] == "GET /logged HTTP/1.1" and "X-Trace: 1" in evs[0]["lines"]
    assert evs[1]["status_line"].startswith("HTTP/1.1 101")
    sent = [e for e in evs if e["event"] == "frame" and e["direction"] == "sent"]
    got = [e for e in evs if e["event"] == "frame" and e["direction"] == "received"]
    srv.wait()
    # What the server received is what the log says went out, and the other way round.
    assert [e["preview_text"] for e in sent if e["opcode"] == "text"] == srv.conn.messages == ["hello", "world"]
    assert [e["preview_text"] for e in got if e["opcode"] == "text"] == ["hello", "world"]
    assert [e["data"] for e in evs if e["event"] == "message"] == ["hello", "world"]
    assert [e["opcode"] for e in sent][-1] == "close" and [e["opcode"] for e in got][-1] == "close"
    assert all(e["length"] == 5 for e in sent + got if e["opcode"] == "text")
    assert kinds[-1] == "close" and evs[-1]["by"] == "wsc" and evs[-1]["code"] == 1000


def test_log_records_a_rejection_and_reconnects(run_wsc, ref, tmp_path):
    calls = []

    def process_request(connection, request):
        calls.append(1)
        if len(calls) > 1:
            return Response(403, "Forbidden", Headers([("Content-Length", "0")]), b"")
        return None

    log = tmp_path / "session.jsonl"
    srv = ref(R.close_with(1011, "restart"), process_request=process_request)
    r = run_wsc(["--log", str(log), "--reconnect", "-w", "-1", *FAST, srv.url()], timeout=15)
    assert r.rc == 6, r.err
    evs = log_events(log)
    kinds = [e["event"] for e in evs]
    assert kinds.count("request") == 2 and "reconnect" in kinds, kinds
    responses = [e["status_line"] for e in evs if e["event"] == "response"]
    assert responses[0].startswith("HTTP/1.1 101") and responses[1].startswith("HTTP/1.1 403"), responses
    assert [e["class"] for e in evs if e["event"] == "error"] == ["handshake"]


def test_log_that_cannot_be_opened_is_exit_10_before_connecting(run_wsc, ref, tmp_path):
    srv = ref(R.echo)
    r = run_wsc(["--log", str(tmp_path), *ONE_SHOT, srv.url()], timeout=5)
    assert r.rc == 10, r.err
    assert f"--log {tmp_path}: cannot open: Is a directory".encode() in r.err, r.err
    assert srv.conns == []


def test_log_with_the_prompt(term, ref, tmp_path):
    log = tmp_path / "prompt.jsonl"
    srv = ref(R.echo)
    t = term([srv.url(), "--log", str(log), *FAST])
    prompt_ready(t)
    t.type("typed")
    t.keys("Enter")
    t.wait_for("< typed")
    # Written as it happens: the message is in the file while the session is still open.
    assert wait_until(lambda: b'"data":"typed"' in log.read_bytes(), 5), log.read_bytes()
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK
    kinds = [e["event"] for e in log_events(log)]
    assert kinds[-1] == "close" and "frame" in kinds, kinds


def test_ctrl_r_searches_the_history(term, ref):
    srv = ref(R.echo)
    t = term([srv.url(), *FAST])
    prompt_ready(t)
    for line in ("subscribe prices", "unsubscribe", "ping"):
        t.type(line)
        t.keys("Enter")
        t.wait_for(f"< {line}")
    # Substring search, newest first: "pri" is only in the first line.
    t.keys("C-r")
    t.type("pri")
    t.keys("Enter")
    assert wait_until(lambda: srv.conns and srv.conns[0].messages[-1:] == ["subscribe prices"], 5), (
        srv.conns[0].messages,
        t.screen(),
    )
    t.keys("C-d")
    assert t.exit_code() == EXIT_OK
    assert srv.conn.messages == ["subscribe prices", "unsubscribe", "ping", "subscribe prices"]
