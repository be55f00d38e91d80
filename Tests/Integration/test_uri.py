"""CHECKLIST §1 A (URI and command-line input) and the URL forms of the CLI contract."""

from __future__ import annotations

import base64
import errno
import socket
import time

import pytest

from helpers import EXIT_CONNECT, EXIT_HANDSHAKE, EXIT_OK, EXIT_USAGE, FAST, STAY
from peers import evil as E

CLOSE_NOW = E.close_frame(1000)


def settle(ev) -> None:
    """Let the sentinel's accept loop pick up any connection that was made."""
    time.sleep(0.25)


# ---------------------------------------------------------------- A1 / A2


@pytest.mark.parametrize(
    "url",
    [
        "ws://",
        "ws://127.0.0.1:0/",
        "ws://127.0.0.1:65536/",
        "ws://127.0.0.1:99999999999999999999/",
        "ws://127.0.0.1:-1/",
        "ws://127.0.0.1:{P}x/",
        "ws://[::1",
        "ws://:{P}/",
        "http:/x",
        "ftp://127.0.0.1:{P}/",
        "ws://127.0.0.1:{P}/a#b",  # A2: fragment
        "ws://127.0.0.1:{P}/#",  # A2: empty fragment
    ],
)
def test_A1_A2_invalid_uri_is_usage_error_before_any_io(run_wsc, evil, url):
    """A1/A2: an invalid URI (or one with a fragment) → exit 64, 'wsc: ' on stderr, 0 accepts."""
    ev = evil()
    r = run_wsc([url.format(P=ev.port), *FAST], timeout=5)
    settle(ev)
    assert r.rc == EXIT_USAGE, r
    assert b"wsc: " in r.err or b"Usage" in r.err or b"usage" in r.err, r
    assert ev.accepts == 0, f"a connection was made for an invalid URL{r!r}"


def test_A1_long_hostname_does_not_crash(run_wsc):
    """A1 (curl CVE-2023-38545 shape): a 256-character host name is handled (usage or connect class)."""
    host = "a" * 256 + ".invalid"
    r = run_wsc([f"ws://{host}:9/", *FAST], timeout=10)
    assert r.rc in (EXIT_USAGE, EXIT_CONNECT), r


def test_A1_scheme_is_case_insensitive_and_empty_path_is_slash(run_wsc, evil):
    """A1: ``WS://127.0.0.1:P`` is accepted; the resource name of an empty path is ``/``."""
    ev = evil(E.script_send(CLOSE_NOW))
    r = run_wsc([f"WS://127.0.0.1:{ev.port}", *STAY])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert ev.conn.request.request_line == "GET / HTTP/1.1"
    assert ev.conn.request.get("Host") == f"127.0.0.1:{ev.port}"


def test_A1_query_without_path(run_wsc, evil):
    """A1: ``ws://h:P?x=1`` → request target ``/?x=1``."""
    ev = evil(E.script_send(CLOSE_NOW))
    r = run_wsc([f"ws://127.0.0.1:{ev.port}?x=1", *STAY])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert ev.conn.request.request_line == "GET /?x=1 HTTP/1.1"


def test_A2_percent_23_travels_verbatim(run_wsc, evil):
    """A2: a literal '#' travels as %23, verbatim in the request line."""
    ev = evil(E.script_send(CLOSE_NOW))
    r = run_wsc([ev.url("/a%23b?c=%20d"), *STAY])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert ev.conn.request.request_line == "GET /a%23b?c=%20d HTTP/1.1"


# ---------------------------------------------------------------- A3


def test_A3_ipv6_host_header_and_request_target(run_wsc, evil):
    """A3: ``ws://[::1]:P/x?y=1`` → ``GET /x?y=1 HTTP/1.1`` and ``Host: [::1]:P``."""
    ev = evil(E.script_send(CLOSE_NOW), host="::1")
    r = run_wsc([f"ws://[::1]:{ev.port}/x?y=1", *STAY])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert ev.conn.request.request_line == "GET /x?y=1 HTTP/1.1"
    assert ev.conn.request.get("Host") == f"[::1]:{ev.port}"


def _evil_on_port_80(evil):
    try:
        return evil(E.script_send(CLOSE_NOW), port=80)
    except OSError as e:
        if e.errno in (errno.EADDRINUSE, errno.EACCES):
            pytest.skip(f"cannot listen on 127.0.0.1:80 here ({e}); default-port case not testable")
        raise


@pytest.mark.parametrize("url,host", [("ws://localhost:80/", "localhost"), ("ws://127.0.0.1/p", "127.0.0.1")])
def test_A3_default_port_is_80_and_omitted_from_host(run_wsc, evil, url, host):
    """A1/A3: default port 80; ``Host`` carries the port only when non-default."""
    ev = _evil_on_port_80(evil)
    r = run_wsc([url, *STAY])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert ev.conn.request.get("Host") == host


# ---------------------------------------------------------------- A4


@pytest.mark.parametrize(
    "args",
    [
        ["-H", "X-A: b\r\nX-Evil: 1"],
        ["-H", "X-A: b\nX-Evil: 1"],
        ["-H", "X-A: b\rX-Evil: 1"],
        ["-H", "X-Evil\r\n: 1"],
        ["--subprotocol", "a\r\nb"],
        ["-s", "a\nX-Evil: 1"],
        ["-o", "http://o\r\nX-Evil: 1"],
        ["--host", "h\r\nX-Evil: 1"],
        ["--auth", "u:p\r\nX-Evil: 1"],
    ],
    ids=["H-crlf", "H-lf", "H-cr", "H-name-crlf", "subprotocol-crlf", "s-lf", "origin-crlf", "host-crlf", "auth-crlf"],
)
def test_A4_no_crlf_injection_usage_error(run_wsc, evil, args):
    """A4: CR/LF in a header, subprotocol, origin, host or credentials → exit 64, nothing sent."""
    ev = evil(E.script_send(CLOSE_NOW))
    r = run_wsc([ev.url(), *STAY, *args], timeout=5)
    settle(ev)
    assert r.rc == EXIT_USAGE, r
    assert ev.accepts == 0, f"connected although a header was invalid{r!r}"


def test_A4_crlf_in_url_never_reaches_the_wire_raw(run_wsc, evil):
    """A4: a URL carrying CR LF is refused (64) or percent-encoded; EVIL never sees an X-Evil header."""
    ev = evil(E.script_send(CLOSE_NOW))
    r = run_wsc([ev.url("/a\r\nX-Evil: 1"), *STAY], timeout=5)
    settle(ev)
    if r.rc == EXIT_USAGE:
        assert ev.accepts == 0, r
    else:
        ev.wait()
        assert ev.conn.request.get("X-Evil") is None, ev.conn.request.raw
        assert "\r" not in ev.conn.request.request_line and "\n" not in ev.conn.request.request_line


@pytest.mark.parametrize("hdr", ["NoColon", ": empty-name", "Bad Name: x", "X-Nul: a\x01b"])
def test_A4_malformed_header_usage_error(run_wsc, evil, hdr):
    """A4/contract: a malformed ``-H`` (no colon, empty or spaced name, control char) → 64."""
    ev = evil(E.script_send(CLOSE_NOW))
    r = run_wsc([ev.url(), *STAY, "-H", hdr], timeout=5)
    settle(ev)
    assert r.rc == EXIT_USAGE, r
    assert ev.accepts == 0


# ---------------------------------------------------------------- A5

SECRET = b"s3cret"
B64 = base64.b64encode(b"u:s3cret")


def test_A5_url_credentials_not_in_stderr_on_connect_error(run_wsc, refused_url):
    """A5: ``ws://u:s3cret@127.0.0.1:1/`` with -v → exit 3 and no ``s3cret`` in stderr."""
    url = refused_url.replace("ws://", "ws://u:s3cret@")
    r = run_wsc([url, "-v", *FAST], timeout=5)
    assert r.rc == EXIT_CONNECT, r
    assert SECRET not in r.err and B64 not in r.err, r


def test_A5_url_userinfo_becomes_basic_auth_and_is_redacted_in_verbose(run_wsc, evil):
    """A5 + contract (userinfo → Basic auth): EVIL gets the header, -v output never shows it."""
    ev = evil(E.script_send(E.text("hi") + CLOSE_NOW))
    r = run_wsc([f"ws://u:s3cret@127.0.0.1:{ev.port}/", "-v", *STAY])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert ev.conn.request.get("Authorization") == "Basic " + B64.decode()
    assert SECRET not in r.err and B64 not in r.err, r
    assert SECRET not in r.out and B64 not in r.out, r


@pytest.mark.parametrize(
    "args,secret",
    [
        (["-H", "Authorization: Bearer t0psecret"], b"t0psecret"),
        (["--auth", "u:s3cret"], SECRET),
    ],
    ids=["H-authorization", "auth"],
)
def test_A5_explicit_credentials_redacted_in_verbose_and_errors(run_wsc, evil, args, secret):
    """A5: ``-H Authorization`` / ``--auth`` are sent, but never echoed by -v or by the 401 error."""
    ev = evil(E.script_respond(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=x\r\nContent-Length: 0\r\n\r\n"))
    r = run_wsc([ev.url(), "-v", *STAY, *args], timeout=10)
    ev.wait()
    assert r.rc == EXIT_HANDSHAKE, r
    assert ev.conn.request.get("Authorization") is not None
    assert secret not in r.err and base64.b64encode(b"u:" + secret) not in r.err, r


# ---------------------------------------------------------------- URL forms of the contract


def test_contract_host_port_without_scheme_means_ws(run_wsc, evil):
    """Contract: ``127.0.0.1:P/path`` with no scheme → ws://."""
    ev = evil(E.script_send(CLOSE_NOW))
    r = run_wsc([f"127.0.0.1:{ev.port}/path", *STAY])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert ev.conn.request.request_line == "GET /path HTTP/1.1"


@pytest.mark.parametrize("flag", ["-c", "--connect"])
def test_contract_connect_flag(run_wsc, evil, flag):
    """Contract: ``-c/--connect URL``."""
    ev = evil(E.script_send(E.text("ok") + CLOSE_NOW))
    r = run_wsc([flag, ev.url("/c"), *STAY])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == b"ok\n"
    assert ev.conn.request.target == "/c"


def test_contract_ws_unix_socket(run_wsc, evil, tmp_path):
    """Contract: ``ws+unix:/path.sock:/request/path``."""
    path = str(tmp_path / "wsc.sock")
    ev = evil(E.script_send(E.text("unix") + CLOSE_NOW), unix_path=path)
    r = run_wsc([f"ws+unix:{path}:/request/path?q=1", *STAY])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == b"unix\n"
    assert ev.conn.request.request_line == "GET /request/path?q=1 HTTP/1.1"


def test_contract_missing_url_and_unknown_flag_are_usage_errors(run_wsc):
    """Contract: no URL, or an unknown flag → 64."""
    r = run_wsc([], timeout=5)
    assert r.rc == EXIT_USAGE, r
    r = run_wsc(["--definitely-not-a-flag", "ws://127.0.0.1:1/"], timeout=5)
    assert r.rc == EXIT_USAGE, r


@pytest.mark.parametrize(
    "url_userinfo, args",
    [
        ("", ["-H", "Authorization: Bearer T0KEN", "--auth", "u:s3cret"]),
        ("u:s3cret@", ["-H", "Authorization: Bearer T0KEN"]),
        ("u:s3cret@", ["--auth", "v:0ther"]),
    ],
    ids=["header+auth", "header+userinfo", "auth+userinfo"],
)
def test_authorization_from_two_sources_is_a_usage_error(run_wsc, evil, url_userinfo, args):
    """Issue 20 item 7: two sources for the one Authorization header used to let -H win
    silently. Now a usage error naming the sources (never their values), before any I/O."""
    ev = evil()
    r = run_wsc([f"ws://{url_userinfo}{ev.hostport}/", *args])
    assert r.rc == EXIT_USAGE, r
    assert "both set the Authorization header; give one" in r.stderr, r
    assert "s3cret" not in r.stderr and "T0KEN" not in r.stderr and "0ther" not in r.stderr, r
    assert ev.accepts == 0
