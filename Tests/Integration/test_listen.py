"""Listen mode (issue 6): ``wsc -l [host:]port`` as a server, driven by Python
``websockets`` clients and raw sockets: echo (text, binary, 200 KB, 16 MiB),
several clients with broadcast and tagged output, malformed upgrade requests
(400/426, and the server keeps serving), ``-x`` greetings, ``--once``, signals,
compression, subprotocols and wss:// with ``--cert``/``--key``."""

from __future__ import annotations

import base64
import contextlib
import os
import re
import signal
import socket
import ssl
import struct
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidMessage
from websockets.sync.client import connect

from helpers import EXIT_CONNECT, EXIT_OK, EXIT_PEER_CLOSED, EXIT_SIGINT, EXIT_SIGTERM, EXIT_USAGE, wait_until
from peers import churn
from peers import evil as E

LISTENING = re.compile(rb"listening on (wss?)://(\S+):(\d+)/")


class Server:
    """A running ``wsc -l`` and the URL it printed."""

    def __init__(self, proc, url: str):
        self.proc = proc
        self.url = url
        self.port = int(url.rsplit(":", 1)[1].rstrip("/"))

    def stderr(self) -> str:
        return bytes(self.proc.err).decode("utf-8", "replace")

    def stdout(self) -> str:
        return bytes(self.proc.out).decode("utf-8", "replace")

    def wait_stderr(self, text: str, timeout: float = 5) -> bool:
        return wait_until(lambda: text in self.stderr(), timeout)


@pytest.fixture
def listen(start_wsc):
    def start(args=(), address="127.0.0.1:0", **kw) -> Server:
        kw.setdefault("keep_stdin_open", True)
        p = start_wsc(["-l", address, "--close-timeout", "1", *args], **kw)
        assert wait_until(lambda: LISTENING.search(bytes(p.err)) or not p.alive(), 10), bytes(p.err)
        m = LISTENING.search(bytes(p.err))
        assert m, f"no 'listening on' line: {bytes(p.err)!r}"
        host = m.group(2).decode()
        return Server(p, f"{m.group(1).decode()}://{host}:{m.group(3).decode()}/")

    return start


def raw_request(port: int, request: bytes, *, read_timeout: float = 5) -> bytes:
    """Sends ``request`` on a fresh socket and returns everything until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        try:
            s.sendall(request)
        except OSError:
            pass
        return churn.read_to_eof(s, read_timeout)


def upgrade(path="/", *, key="dGhlIHNhbXBsZSBub25jZQ==", version="13", extra=(), method="GET", omit=()) -> bytes:
    headers = {
        "Host": "127.0.0.1",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": key,
        "Sec-WebSocket-Version": version,
    }
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items() if k not in omit]
    return ("\r\n".join(lines + list(extra)) + "\r\n\r\n").encode()


def echo_roundtrip(url: str, **kw) -> None:
    with connect(url, open_timeout=5, close_timeout=2, **kw) as ws:
        ws.send("still serving")
        assert ws.recv(timeout=5) == "still serving"


# --------------------------------------------------------------------------
# Echo server
# --------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["deflate", None], ids=["deflate", "plain"])
def test_echo_text_binary_200KB_16MiB(listen, compression):
    """``wsc -l --echo``: text, binary, 200 KB and 16 MiB messages come back byte-exact and
    with their type, with and without permessage-deflate."""
    srv = listen(["--echo"])
    big = os.urandom(16 << 20)
    text_200k = ("héllo wörld " * 20000)[:200_000]
    with connect(srv.url, max_size=None, compression=compression, open_timeout=5, close_timeout=5) as ws:
        agreed = ws.response.headers.get("Sec-WebSocket-Extensions")
        if compression:
            assert agreed and agreed.startswith("permessage-deflate"), ws.response.headers
        else:
            assert agreed is None
        assert ws.response.headers.get("Server") == "wsc"
        for msg in ["hello", "", b"\x00\x01\xff", b"", text_200k, big]:
            ws.send(msg)
            got = ws.recv(timeout=30)
            assert type(got) is type(msg)
            assert got == msg, f"{len(got)} != {len(msg)}"
    assert srv.wait_stderr("client 1 disconnected (code 1000)")
    assert srv.proc.alive()


def test_echo_frames_right_after_the_request_are_not_lost(listen):
    """Frames sent in the same segment as the request head are answered (bytes after the
    head belong to the connection)."""
    srv = listen(["--echo", "--no-compression"])
    mask = b"\x01\x02\x03\x04"
    data = raw_request(
        srv.port, upgrade() + E.frame(1, b"early", mask=mask) + E.frame(8, b"\x03\xe8", mask=mask), read_timeout=3
    )
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 "), data
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head
    assert rest.startswith(E.frame(1, b"early")), rest
    assert rest[len(E.frame(1, b"early")) :] == E.frame(8, b"\x03\xe8"), rest


def test_server_closes_tcp_first_after_the_closing_handshake(listen):
    """RFC 6455 §7.1.1: after the Close exchange the server closes TCP; the client sees EOF."""
    srv = listen(["--echo"])
    mask = b"\x0a\x0b\x0c\x0d"
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(upgrade())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        s.sendall(E.frame(8, b"\x03\xe8bye", mask=mask))
        t0 = time.monotonic()
        rest = buf.partition(b"\r\n\r\n")[2]
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            rest += chunk
        assert time.monotonic() - t0 < 1.5
        assert rest == E.frame(8, b"\x03\xe8"), rest


# --------------------------------------------------------------------------
# Several clients, broadcast, tags
# --------------------------------------------------------------------------


def test_broadcast_to_three_clients_and_tagged_output(listen):
    """Piped stdin lines go to every connected client; their messages are printed tagged
    ``[N]`` once two are connected, and still after the others left (stable tags,
    issue 20); connects and disconnects are on stderr."""
    srv = listen()
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(connect(srv.url, open_timeout=5, close_timeout=2)) for _ in range(3)]
        assert srv.wait_stderr("client 3 connected from 127.0.0.1:")
        assert srv.proc.write(b"one\ntwo\n")
        for ws in clients:
            assert ws.recv(timeout=5) == "one"
            assert ws.recv(timeout=5) == "two"
        for i, ws in enumerate(clients, 1):
            ws.send(f"from {i}")
            assert wait_until(lambda: f"[{i}] from {i}\n" in srv.stdout(), 5), srv.stdout()
        clients[0].close()
        clients[1].close(code=4000, reason="bye")
        assert srv.wait_stderr("client 1 disconnected (code 1000)")
        assert srv.wait_stderr('client 2 disconnected (code 4000, reason "bye")')
        clients[2].send("alone now")
        assert wait_until(lambda: "\n[3] alone now\n" in srv.stdout(), 5), srv.stdout()
        assert srv.proc.write(b"three\n")
        assert clients[2].recv(timeout=5) == "three"
    assert srv.wait_stderr("client 3 disconnected (code 1000)")
    assert srv.proc.alive()


def test_broadcast_batches_keep_order_and_the_last_line_without_newline_goes_at_eof(listen):
    """The lines of one stdin read go out as one batch per client: many lines in one
    write arrive whole and in order at every client, an invalid UTF-8 line among them is
    skipped with a message, and a last line without a newline is sent when stdin ends."""
    srv = listen()
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(connect(srv.url, open_timeout=5, close_timeout=2)) for _ in range(2)]
        assert srv.wait_stderr("client 2 connected from 127.0.0.1:")
        lines = [b"line %d" % i for i in range(2000)]
        assert srv.proc.write(b"\n".join(lines[:1000]) + b"\n\xff\xfe\n" + b"\n".join(lines[1000:]))
        srv.proc.close_stdin()
        for ws in clients:
            got = [ws.recv(timeout=5) for _ in range(2000)]
            assert got == [line.decode() for line in lines], [g for g, w in zip(got, lines) if g != w.decode()][:3]
        assert srv.wait_stderr("input message 1001 is not valid UTF-8; not sent"), srv.stderr()
    assert srv.proc.alive()


def test_single_client_output_is_untagged_and_stdin_eof_ends_nothing(listen):
    """With one client, messages print raw; the end of stdin does not stop the server."""
    srv = listen(keep_stdin_open=False, input=b"")
    time.sleep(0.3)
    assert srv.proc.alive(), srv.stderr()
    with connect(srv.url, open_timeout=5) as ws:
        ws.send("hi")
        ws.send(b"\x00bin")
        assert wait_until(lambda: srv.stdout() == "hi\n\x00bin\n", 5), repr(srv.stdout())
    srv.proc.signal(signal.SIGTERM)
    r = srv.proc.finish(5)
    assert r.rc == EXIT_SIGTERM, r


def test_greeting_with_x_for_every_client(listen):
    """``-x 'ho!'`` greets each client as it connects (the seed's greeting server)."""
    srv = listen(["-x", "ho!", "-x", "second"])
    for _ in range(2):
        with connect(srv.url, open_timeout=5) as ws:
            assert ws.recv(timeout=5) == "ho!"
            assert ws.recv(timeout=5) == "second"


def test_subprotocol_selection(listen):
    """``-s`` lists the subprotocols the server accepts; the client's first match is chosen."""
    srv = listen(["--echo", "-s", "chat", "-s", "v2"])
    with connect(srv.url, subprotocols=["x", "v2", "chat"], open_timeout=5) as ws:
        assert ws.subprotocol == "v2"
    with connect(srv.url, open_timeout=5) as ws:
        assert ws.subprotocol is None


# --------------------------------------------------------------------------
# Malformed requests
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,request_bytes,status",
    [
        ("no key", upgrade(omit=("Sec-WebSocket-Key",)), 400),
        ("short key", upgrade(key=base64.b64encode(b"x" * 15).decode()), 400),
        ("version 8", upgrade(version="8"), 426),
        ("POST", upgrade(method="POST"), 400),
        ("HTTP/1.0", upgrade().replace(b"HTTP/1.1", b"HTTP/1.0", 1), 400),
        ("plain GET", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 426),
        ("no Connection", upgrade(omit=("Connection",)), 400),
        ("no Host", upgrade(omit=("Host",)), 400),
        ("garbage", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + os.urandom(64), 400),
        ("oversized head", upgrade(extra=[f"X-Pad-{i}: {'a' * 1000}" for i in range(100)]), 400),
        ("bad extensions", upgrade(extra=["Sec-WebSocket-Extensions: permessage-deflate;;"]), 400),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_malformed_requests_get_400_or_426_and_the_server_keeps_serving(listen, name, request_bytes, status):
    srv = listen(["--echo"])
    data = raw_request(srv.port, request_bytes)
    status_line = data.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 %d " % status), (name, data)
    assert b"\r\nConnection: close\r\n" in data
    if status == 426:
        assert b"\r\nSec-WebSocket-Version: 13\r\n" in data
    assert srv.wait_stderr(f"refused a request from 127.0.0.1:")
    assert f": {status} " in srv.stderr()
    echo_roundtrip(srv.url)
    assert "client 1 connected" in srv.stderr(), "a refused request does not take a client number"


def test_silent_connection_times_out_without_blocking_others(listen):
    """A client that never sends its request does not stop others from being served."""
    srv = listen(["--echo", "--connect-timeout", "1"])
    idle = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    try:
        echo_roundtrip(srv.url)
        assert idle.recv(100) == b""  # closed after the handshake timeout
    finally:
        idle.close()


# --------------------------------------------------------------------------
# --once, signals, usage
# --------------------------------------------------------------------------


def test_once_exits_when_the_first_client_leaves(listen):
    srv = listen(["--echo", "--once"])
    with connect(srv.url, open_timeout=5) as ws:
        ws.send("x")
        assert ws.recv(timeout=5) == "x"
    r = srv.proc.finish(5)
    assert r.rc == EXIT_OK, r


def test_once_exit_code_follows_the_close_code(listen):
    srv = listen(["--once"])
    with connect(srv.url, open_timeout=5) as ws:
        ws.close(code=4001, reason="nope")
    r = srv.proc.finish(5)
    assert r.rc == EXIT_PEER_CLOSED, r


def test_sigint_closes_every_client_with_1001_and_exits_130(listen):
    srv = listen()
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(connect(srv.url, open_timeout=5)) for _ in range(2)]
        assert srv.wait_stderr("client 2 connected")
        srv.proc.signal(signal.SIGINT)
        for ws in clients:
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
            assert ws.close_code == 1001, ws.close_code
    r = srv.proc.finish(5)
    assert r.rc == EXIT_SIGINT, r


@pytest.mark.parametrize(
    "args",
    [
        ["-l", "8080", "ws://127.0.0.1:1/"],
        ["-l", "notaport"],
        ["-l", "70000"],
        ["-l", "[::1"],
        ["-l", "::1:80"],
        ["-l", "8080", "-H", "X: y"],
        ["-l", "8080", "--max-clients", "0"],
        ["-l", "8080", "--max-clients", "1000001"],
        ["--max-clients", "5", "ws://127.0.0.1:1/"],
    ],
    ids=["with URL", "bad port", "port too big", "bad bracket", "unbracketed v6", "client flag",
         "max-clients 0", "max-clients too many", "max-clients without -l"],
)
def test_usage_errors(run_wsc, args):
    r = run_wsc(args, timeout=5)
    assert r.rc == EXIT_USAGE, r


def test_max_clients_refuses_one_more_says_so_and_admits_again_after_one_leaves(listen):
    srv = listen(["--max-clients", "2", "--echo"])
    with connect(srv.url, open_timeout=5) as first, connect(srv.url, open_timeout=5) as second:
        assert srv.wait_stderr("client 2 connected")
        # The third is closed as soon as it is accepted, with no handshake answer: the
        # client sees that while sending its request (a reset) or reading the answer.
        started = time.monotonic()
        with pytest.raises((InvalidMessage, ConnectionClosed, OSError)) as refused:
            with connect(srv.url, open_timeout=5):
                pass
        assert not isinstance(refused.value, TimeoutError), refused.value
        assert time.monotonic() - started < 4, refused.value
        assert srv.wait_stderr("refused a client from 127.0.0.1:"), srv.stderr()
        assert "2 clients are connected, the most at once (--max-clients)" in srv.stderr(), srv.stderr()
        # The two admitted ones are still served.
        for ws in (first, second):
            ws.send("still here")
            assert ws.recv(timeout=5) == "still here"
        first.close()
        assert srv.wait_stderr("client 1 disconnected")
        # A place is free again.
        echo_roundtrip(srv.url)


def test_address_in_use_exits_3(run_wsc):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        r = run_wsc(["-l", f"127.0.0.1:{s.getsockname()[1]}"], timeout=5)
    finally:
        s.close()
    assert r.rc == EXIT_CONNECT, r
    assert "cannot listen" in r.stderr


def test_default_host_is_loopback_and_ipv6_brackets(listen):
    srv = listen(["--echo"], address="0")
    assert srv.url.startswith("ws://127.0.0.1:")
    echo_roundtrip(srv.url)
    if not socket.has_ipv6:
        return
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        pytest.skip("no IPv6 loopback")
    srv6 = listen(["--echo"], address="[::1]:0")
    assert srv6.url.startswith("ws://[::1]:")
    echo_roundtrip(srv6.url)


def trustme_files(tmp_path):
    """A trustme CA and a certificate for 127.0.0.1 and localhost, written as PEM files."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    return ca, cert, key


def test_wss_with_cert_and_key(listen, tmp_path):
    """``--cert``/``--key`` serve wss:// (server-side TLS with the same OpenSSL)."""
    ca, cert, key = trustme_files(tmp_path)
    srv = listen(["--echo", "--cert", str(cert), "--key", str(key)])
    assert srv.url.startswith("wss://127.0.0.1:")
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    with connect(srv.url, ssl=ctx, open_timeout=5, max_size=None) as ws:
        for msg in ["over tls", os.urandom(300_000)]:
            ws.send(msg)
            assert ws.recv(timeout=10) == msg
    assert srv.wait_stderr("client 1 disconnected (code 1000)")


def test_K4_listen_mode_drops_a_silent_client(listen):
    """K4 in the server role: a client that never answers gets a Ping, then Close 1011, and
    its TCP connection is closed; the server keeps running."""
    keepalive_close = struct.pack("!H", 1011) + b"keepalive ping timeout"
    srv = listen(["--ping-interval", "0.3", "--ping-timeout", "0.3"])
    data = raw_request(srv.port, upgrade(), read_timeout=5)
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), data
    assert rest[:2] == b"\x89\x04", rest
    assert rest[6:] == b"\x88" + bytes([len(keepalive_close)]) + keepalive_close, rest
    assert wait_until(lambda: b"client 1 disconnected" in bytes(srv.proc.err), 5), bytes(srv.proc.err)
    assert srv.proc.alive()


# --------------------------------------------------------------------------
# Issue 19: subprotocols a browser offers, TLS failures, certificate files
# --------------------------------------------------------------------------


def test_without_s_the_first_offered_subprotocol_is_accepted_and_logged(listen):
    """``new WebSocket(url, 'chat')`` and the Node ``ws`` client fail the connection when a
    server that was offered subprotocols answers none; as a test server wsc accepts the first."""
    srv = listen(["--echo"])
    with connect(srv.url, subprotocols=["chat", "superchat"], open_timeout=5) as ws:
        assert ws.subprotocol == "chat"
        ws.send("hi")
        assert ws.recv(timeout=5) == "hi"
    assert srv.wait_stderr("subprotocol chat"), srv.stderr()
    assert "none accepted" not in srv.stderr()
    with connect(srv.url, open_timeout=5) as ws:
        assert ws.subprotocol is None
    assert srv.wait_stderr("client 2 disconnected"), srv.stderr()
    assert "none accepted" not in srv.stderr()


def test_s_restricts_and_says_when_offered_subprotocols_were_not_accepted(listen):
    # Python websockets goes on without a subprotocol (browsers and Node ws would fail).
    srv = listen(["--echo", "-s", "v2"])
    with connect(srv.url, subprotocols=["chat"], open_timeout=5) as ws:
        assert ws.subprotocol is None
    assert srv.wait_stderr("client 1 offered subprotocol chat; none accepted (-s accepts only v2)"), srv.stderr()
    with connect(srv.url, subprotocols=["chat", "v2"], open_timeout=5) as ws:
        assert ws.subprotocol == "v2"


def test_no_subprotocol_accepts_none_and_says_so(listen):
    srv = listen(["--echo", "--no-subprotocol"])
    with connect(srv.url, subprotocols=["chat", "superchat"], open_timeout=5) as ws:
        assert ws.subprotocol is None
    assert srv.wait_stderr(
        "client 1 offered subprotocols chat, superchat; none accepted (--no-subprotocol accepts none)"
    ), srv.stderr()
    with connect(srv.url, open_timeout=5) as ws:
        ws.send("still serving")
        assert ws.recv(timeout=5) == "still serving"


@pytest.mark.parametrize("args", [["--no-subprotocol", "-s", "chat"]])
def test_no_subprotocol_with_s_is_a_usage_error(run_wsc, args):
    r = run_wsc(["-l", "127.0.0.1:0", *args], check=False)
    assert r.rc == EXIT_USAGE, r
    assert "--no-subprotocol" in r.stderr


def test_no_subprotocol_and_once_need_listen(run_wsc):
    for flag in ["--no-subprotocol", "--once"]:
        r = run_wsc([flag, "ws://127.0.0.1:9/"], check=False)
        assert r.rc == EXIT_USAGE, r
        assert f"{flag} is for --listen" in r.stderr


@pytest.fixture
def tls_server(listen, tmp_path):
    ca, cert, key = trustme_files(tmp_path)
    srv = listen(["--echo", "--cert", str(cert), "--key", str(key)])
    good = ssl.create_default_context()
    ca.configure_trust(good)
    return srv, good


def _tls_client_without_the_ca(port: int) -> None:
    ctx = ssl.create_default_context()  # the system store: trustme's CA is not in it
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with pytest.raises(ssl.SSLCertVerificationError):
            ctx.wrap_socket(s, server_hostname="127.0.0.1")


def _plain_http_on_the_wss_port(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(upgrade())
        s.settimeout(5)
        try:
            while s.recv(4096):
                pass
        except (ConnectionResetError, socket.timeout):
            pass


@pytest.mark.parametrize(
    "client,reason",
    [
        (_tls_client_without_the_ca, re.compile(r"alert unknown ca|unknown ca|certificate unknown|bad certificate")),
        (_plain_http_on_the_wss_port, re.compile(r"http request|wrong version number|record layer failure|packet length")),
    ],
    ids=["client-without-the-ca", "plain-http"],
)
def test_listen_logs_a_failed_tls_handshake_and_keeps_serving(tls_server, client, reason):
    srv, good = tls_server
    client(srv.port)
    assert srv.wait_stderr("TLS handshake with 127.0.0.1:"), srv.stderr()
    line = next(line for line in srv.stderr().splitlines() if "TLS handshake with" in line)
    assert re.search(r"TLS handshake with 127\.0\.0\.1:\d+ failed: ", line), line
    assert reason.search(line.lower()), line
    with connect(srv.url, ssl=good, open_timeout=5) as ws:
        ws.send("after the failure")
        assert ws.recv(timeout=5) == "after the failure"
    assert srv.proc.alive()


def test_a_port_check_on_the_wss_port_is_not_logged_as_a_tls_failure(tls_server):
    srv, good = tls_server
    for _ in range(3):
        socket.create_connection(("127.0.0.1", srv.port), timeout=5).close()
    with connect(srv.url, ssl=good, open_timeout=5) as ws:
        ws.send("x")
        assert ws.recv(timeout=5) == "x"
    assert srv.wait_stderr("client 1 disconnected"), srv.stderr()
    assert "TLS handshake" not in srv.stderr(), srv.stderr()


@pytest.mark.parametrize("missing", ["cert", "key"])
def test_missing_certificate_or_key_is_a_tls_failure_before_binding(run_wsc, tmp_path, missing):
    trustme = pytest.importorskip("trustme")
    leaf = trustme.CA().issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    (cert if missing == "cert" else key).unlink()
    # The port is taken: a bind attempted first would exit 3 instead.
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        r = run_wsc(["-l", f"127.0.0.1:{port}", "--cert", str(cert), "--key", str(key)], check=False)
    assert r.rc == 5, r
    assert str(cert if missing == "cert" else key) in r.stderr, r
    assert "listening" not in r.stderr


def test_unreadable_key_is_a_tls_failure(run_wsc, tmp_path):
    """A key that cannot be read as a file (here a directory: unreadable even for root)."""
    trustme = pytest.importorskip("trustme")
    leaf = trustme.CA().issue_cert("127.0.0.1")
    cert = tmp_path / "cert.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    key = tmp_path / "key.d"
    key.mkdir()
    r = run_wsc(["-l", "127.0.0.1:0", "--cert", str(cert), "--key", str(key)], check=False)
    assert r.rc == 5, r
    assert str(key) in r.stderr, r
    assert "listening" not in r.stderr


def test_no_separator_in_listen_mode(listen):
    srv = listen(["--no-separator"])
    with connect(srv.url, open_timeout=5) as ws:
        ws.send(b"\x00\x01")
        ws.send("two")
    assert wait_until(lambda: srv.proc.out == bytearray(b"\x00\x01two"), 5), bytes(srv.proc.out)


def test_slash_commands_are_data_when_a_listen_server_reads_a_pipe(listen):
    srv = listen()
    with connect(srv.url, open_timeout=5) as ws:
        assert srv.wait_stderr("client 1 connected")
        srv.proc.write(b"/ping\n/close\n")
        assert ws.recv(timeout=5) == "/ping"
        assert ws.recv(timeout=5) == "/close"


def test_tags_are_stable_from_the_moment_a_second_client_connects(listen):
    """Issue 20: a client's lines must not change form when another one comes and goes."""
    srv = listen()
    with connect(srv.url, open_timeout=5) as first:
        first.send("before")
        assert wait_until(lambda: srv.stdout() == "before\n", 5), srv.stdout()
        with connect(srv.url, open_timeout=5) as second:
            assert srv.wait_stderr("client 2 connected")
            second.send("second")
            assert wait_until(lambda: "[2] second\n" in srv.stdout(), 5), srv.stdout()
        assert srv.wait_stderr("client 2 disconnected")
        first.send("after")
        assert wait_until(lambda: srv.stdout().endswith("[1] after\n"), 5), srv.stdout()
    with connect(srv.url, open_timeout=5) as third:
        third.send("later")
        assert wait_until(lambda: srv.stdout().endswith("[3] later\n"), 5), srv.stdout()


def test_tag_tags_from_the_first_message(listen):
    srv = listen(["--tag"])
    with connect(srv.url, open_timeout=5) as ws:
        ws.send("hi")
        ws.send(b"\x00bin")
        assert wait_until(lambda: srv.stdout() == "[1] hi\n[1] \x00bin\n", 5), repr(srv.stdout())


def test_tag_is_for_listen(run_wsc):
    r = run_wsc(["--tag", "ws://127.0.0.1:9/"], check=False)
    assert r.rc == EXIT_USAGE, r
    assert "--tag is for --listen" in r.stderr
