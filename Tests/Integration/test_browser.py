"""Issue 18: from the browser's network panel to the terminal. Cookies (`--cookie` as a
string or a Netscape cookie file), header files (`--header-file`, `-H @FILE`), checked
by what a Python websockets server received."""

from __future__ import annotations

import time

import pytest

from helpers import EXIT_OK, EXIT_USAGE, FAST
from peers import ref as R

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
