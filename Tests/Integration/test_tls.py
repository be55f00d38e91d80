"""CHECKLIST §1 C (TLS, C1–C12) and §3 cases 16–21 and 67 over wss://, plus the TLS CLI
contract (--ca/--cacert, SSL_CERT_FILE/SSL_CERT_DIR, --cert/--key/--passphrase,
-n/--no-check/-k/--insecure, -v).

Peers (peers/tls.py): TLSP = EVIL or REF behind an ``ssl.SSLContext`` (SNI from
``sni_callback``, offered ALPN from the raw ClientHello, decrypted byte count),
``openssl s_server`` for protocol-version and alert cases. Certificates are minted
once per session (``CertSet``). The ``test_peer_*`` tests check the peers with
Python's own ssl/websockets client and need no wsc.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import signal
import socket
import ssl
import struct
import termios
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidMessage
from websockets.sync.client import connect

from helpers import (
    EXIT_LOST,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_TLS,
    EXIT_USAGE,
    FAST,
    Result,
)
from peers import evil as E
from peers import ref as R
from peers import tls as T

CLOSE_NOW = E.close_frame(1000)
ONE_SHOT = ["-x", "hello", "--count", "1", "-w", "5", *FAST]  # send "hello", exit after 1 message


# ================================================================ fixtures


@pytest.fixture(scope="session")
def certs(tmp_path_factory) -> T.CertSet:
    return T.CertSet(tmp_path_factory.mktemp("tls-certs"))


@pytest.fixture
def tlsp():
    """``tlsp(script, ctx=..., **evil_kw) -> TlsEvil`` (EVIL over TLS), closed at teardown."""
    servers: list[T.TlsEvil] = []

    def make(script=None, *, ctx, **kw) -> T.TlsEvil:
        s = T.TlsEvil(script, ctx=ctx, **kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


@pytest.fixture
def tls_ref():
    """``tls_ref(handler, ctx=..., **serve_kw) -> TlsRef`` (websockets 17 over TLS)."""
    servers: list[T.TlsRef] = []

    def make(handler, *, ctx, **kw) -> T.TlsRef:
        s = T.TlsRef(handler, ctx=ctx, **kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


@pytest.fixture
def s_server():
    """``s_server([openssl s_server args]) -> SServer`` on 127.0.0.1, killed at teardown."""
    servers: list[T.SServer] = []

    def make(args) -> T.SServer:
        s = T.SServer(args)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def trust(certs: T.CertSet) -> list[str]:
    return ["--ca", str(certs.ca_pem)]


def system_store_env() -> dict:
    """The environment for "no user CA": SSL_CERT_FILE/SSL_CERT_DIR pointing at the
    system defaults, in case the calling environment set them."""
    env = {}
    paths = ssl.get_default_verify_paths()
    if "SSL_CERT_FILE" in os.environ:
        env["SSL_CERT_FILE"] = paths.openssl_cafile
    if "SSL_CERT_DIR" in os.environ:
        env["SSL_CERT_DIR"] = paths.openssl_capath
    return env


# ================================================================ helpers


def script_echo(c) -> None:
    """Read the request, answer 101, echo every data frame (same opcode/fin) until the
    client's Close (answered)."""
    if c.read_request() is None:
        return
    c.handshake()

    def on(f):
        if f.opcode in (E.OP_TEXT, E.OP_BINARY, E.OP_CONT):
            c.send(E.frame(f.opcode, f.payload, fin=f.fin))

    c.collect(8, on_frame=on)


def open_then(after):
    def script(c):
        if c.read_request() is None:
            return
        c.handshake()
        c.mark("open")
        after(c)

    return script


def assert_tls_failure(r: Result, reasons, *, max_elapsed: float = 3.0) -> None:
    """Exit 5 (TLS class), one of ``reasons`` (case-insensitive) on stderr on a line that
    starts with "wsc: ", within ``max_elapsed`` seconds."""
    if isinstance(reasons, str):
        reasons = (reasons,)
    assert r.rc == EXIT_TLS, f"expected the TLS-class exit {EXIT_TLS}{r!r}"
    err = r.stderr
    lines = [ln for ln in err.splitlines() if any(x.lower() in ln.lower() for x in reasons)]
    assert lines, f"none of {reasons} on stderr{r!r}"
    assert any(ln.startswith("wsc: ") for ln in lines), f"the TLS error line does not start with 'wsc: '{r!r}"
    assert r.elapsed <= max_elapsed, f"took {r.elapsed:.2f}s{r!r}"


def assert_no_app_bytes(ev: T.TlsEvil) -> None:
    """C1: the TLSP saw no decrypted application byte (no HTTP request)."""
    for c in ev.conns:
        assert c.tls.app_bytes == 0, f"the client sent {c.tls.app_bytes} application bytes after a failed verification"
        assert c.request is None, f"an HTTP request got through: {c.request.request_line}"


def tls_server_hello(version: int = 0x0302, cipher: int = 0xC013) -> bytes:
    """A bare ServerHello record announcing ``version`` (TLS 1.1 by default), no extensions."""
    body = struct.pack("!H", version) + os.urandom(32) + b"\x00" + struct.pack("!H", cipher) + b"\x00"
    hs = b"\x02" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x02" + struct.pack("!H", len(hs)) + hs


def script_tls11_server_hello(c) -> None:
    """Plain EVIL: wait for the ClientHello, answer with a TLS 1.1 ServerHello."""
    c.recv_available(0.3)
    c.send(tls_server_hello())
    c.recv_available(1.0)


# ================================================================ peer self-tests (no wsc)


def _py_client_ctx(certs, alpn=("http/1.1",)):
    ctx = certs.client_context()
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def test_peer_tlsp_records_sni_alpn_and_bytes(certs, tlsp):
    ev = tlsp(E.script_send(E.text("hi")), ctx=certs.server_context())
    with connect(ev.url(host="localhost"), ssl=_py_client_ctx(certs), compression=None, open_timeout=5) as ws:
        assert ws.recv(timeout=5) == "hi"
    ev.wait()
    tls = ev.conn.tls
    assert tls.handshake_ok and tls.sni_callback_called
    assert tls.sni == "localhost" and tls.hello.sni == "localhost"
    assert tls.offered_alpn == [b"http/1.1"] and tls.selected_alpn == "http/1.1"
    assert tls.version == "TLSv1.3" and tls.cipher
    assert tls.app_bytes > 100  # the request and the Close
    assert ev.conn.request.request_line == "GET / HTTP/1.1"

    ev = tlsp(E.script_send(CLOSE_NOW), ctx=certs.server_context())
    with connect(ev.url(host="127.0.0.1"), ssl=_py_client_ctx(certs, None), compression=None, open_timeout=5):
        pass
    ev.wait()
    tls = ev.conn.tls
    assert tls.sni_callback_called and tls.sni is None and tls.hello.sni is None
    assert tls.offered_alpn is None


@pytest.mark.parametrize(
    "leaf,host,reason",
    [
        ("selfsigned", "localhost", "self-signed certificate"),
        ("expired", "localhost", "certificate has expired"),
        ("notyet", "localhost", "certificate is not yet valid"),
        ("untrusted", "localhost", "unable to get local issuer certificate"),
        ("chain_leafonly", "localhost", "unable to get local issuer certificate"),
        ("noca_issuer", "localhost", "invalid CA certificate"),
        ("other", "localhost", "Hostname mismatch"),
        ("localhost", "127.0.0.1", "IP address mismatch"),
        ("ip", "localhost", "Hostname mismatch"),
        ("chain", "localhost", None),
        ("ip", "127.0.0.1", None),
        ("localhost_ip", "localhost", None),
    ],
)
def test_peer_certset_verify_results(certs, tlsp, leaf, host, reason):
    """Each minted cert produces exactly the intended verify result in a Python (OpenSSL) client,
    and a failed verification leaves the TLSP with 0 application bytes."""
    ev = tlsp(E.script_send(CLOSE_NOW), ctx=certs.server_context(leaf))
    try:
        with connect(ev.url(host=host), ssl=_py_client_ctx(certs), compression=None, open_timeout=5):
            pass
        got = None
    except ssl.SSLCertVerificationError as e:
        got = str(e)
    ev.wait()
    if reason is None:
        assert got is None
    else:
        assert got and reason in got, got
        assert_no_app_bytes(ev)
        assert ev.conn.tls.handshake_error, "the server did not see the failed handshake"


def test_peer_tlsref_echo_and_mtls(certs, tls_ref):
    srv = tls_ref(R.echo, ctx=certs.server_context(client_ca=certs.client_ca_pem))
    ctx = _py_client_ctx(certs)
    ctx.load_cert_chain(str(certs.client_cert), str(certs.client_key_enc), password=T.PASSPHRASE)
    with connect(srv.url(host="localhost"), ssl=ctx, compression=None, open_timeout=5) as ws:
        ws.send("x")
        assert ws.recv(timeout=5) == "x"
    srv.wait()
    tls = srv.conn.tls
    assert tls.sni == "localhost" and tls.offered_alpn == [b"http/1.1"] and tls.selected_alpn == "http/1.1"
    assert T.CLIENT_ORG in T.subject_text(tls.peer_cert)
    # without a client certificate the server refuses (TLS 1.3: after the client's handshake)
    with pytest.raises((ssl.SSLError, OSError, InvalidMessage, EOFError, ConnectionClosed)):
        with connect(srv.url(), ssl=_py_client_ctx(certs), compression=None, open_timeout=5) as ws:
            ws.recv(timeout=5)


def _py_tls_connect(port: int, ctx: ssl.SSLContext) -> str:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        ss = ctx.wrap_socket(s, server_hostname="localhost")
        ss.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        ss.recv(100)
        return "ok"
    except (ssl.SSLError, OSError) as e:
        return str(e)
    finally:
        s.close()


def test_peer_sserver_tls11_and_client_cert(certs, s_server):
    leaf = certs.leaf["localhost_ip"]
    ctx = _py_client_ctx(certs)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    s = s_server(["-cert", leaf.cert, "-key", leaf.key, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
    got = _py_tls_connect(s.port, ctx)
    assert "protocol version" in got or "unsupported protocol" in got, got
    for extra, alert in (([], "certificate required"), (["-tls1_2"], "handshake failure")):
        s = s_server(["-cert", leaf.cert, "-key", leaf.key, "-Verify", "1", "-CAfile", certs.client_ca_pem, *extra])
        got = _py_tls_connect(s.port, _py_client_ctx(certs))
        assert alert in got, got


def test_peer_evil_tls11_server_hello(evil):
    ev = evil(script_tls11_server_hello)
    ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    got = _py_tls_connect(ev.port, ctx)
    ev.wait()
    assert "unsupported protocol" in got, got


# ================================================================ C1 / C7 / C8 / #16


VERIFY_FAILURES = [
    ("selfsigned", ("self-signed certificate", "self signed certificate")),
    ("expired", ("certificate has expired",)),
    ("notyet", ("certificate is not yet valid",)),
    ("untrusted", ("unable to get local issuer certificate",)),
    ("chain_leafonly", ("unable to get local issuer certificate",)),
    ("noca_issuer", ("invalid CA certificate",)),
    ("other", ("hostname mismatch",)),
]


@pytest.mark.parametrize("leaf,reasons", VERIFY_FAILURES, ids=[v[0] for v in VERIFY_FAILURES])
def test_C1_C7_case16_verify_failure_tls_exit_and_no_http_bytes(run_wsc, tlsp, certs, leaf, reasons):
    """C1/C7/#16: self-signed, expired, not yet valid, untrusted CA, missing intermediate,
    CA:FALSE issuer, wrong host → exit 5 with OpenSSL's verify reason; the TLSP saw 0
    application bytes (no HTTP request before verification)."""
    ev = tlsp(script_echo, ctx=certs.server_context(leaf))
    r = run_wsc([ev.url(host="localhost"), *trust(certs), *ONE_SHOT])
    ev.wait()
    assert_tls_failure(r, reasons)
    assert_no_app_bytes(ev)
    assert r.out == b"", r


def test_C8_case16_selfsigned_without_flag_fails_same_for_ip(run_wsc, tlsp, certs):
    """C8/#16: self-signed on wss://127.0.0.1 without -k → exit 5 (no user CA at all)."""
    ev = tlsp(script_echo, ctx=certs.server_context("selfsigned"))
    r = run_wsc([ev.url(), *ONE_SHOT], env=system_store_env())
    ev.wait()
    assert_tls_failure(r, ("self-signed certificate", "self signed certificate"))
    assert_no_app_bytes(ev)


@pytest.mark.parametrize("flag", ["-n", "--no-check", "-k", "--insecure"])
def test_C8_insecure_flag_connects_and_warns(run_wsc, tls_ref, certs, flag):
    """C8: with -n/--no-check/-k/--insecure a self-signed server is accepted, and stderr warns."""
    srv = tls_ref(R.echo, ctx=certs.server_context("selfsigned"))
    r = run_wsc([srv.url(host="localhost"), flag, *ONE_SHOT])
    srv.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == b"hello\n", r
    err = r.stderr.lower()
    assert "insecure" in err or "not verified" in err, f"no warning about skipped verification{r!r}"


@pytest.mark.parametrize("leaf", ["expired", "other", "untrusted"])
def test_C8_insecure_skips_every_check(run_wsc, tls_ref, certs, leaf):
    """C8: -k skips expiry, hostname and trust checks alike."""
    srv = tls_ref(R.echo, ctx=certs.server_context(leaf))
    r = run_wsc([srv.url(host="localhost"), "-k", *ONE_SHOT])
    srv.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == b"hello\n", r


# ================================================================ C2 / C3 / #19


def test_C2_sni_sent_for_host_name(run_wsc, tlsp, certs):
    """C2: wss://localhost:P → the TLSP's sni_callback sees "localhost" (and the raw ClientHello carries it)."""
    ev = tlsp(script_echo, ctx=certs.server_context("localhost_ip"))
    r = run_wsc([ev.url(host="localhost"), *trust(certs), *ONE_SHOT])
    ev.wait()
    assert r.rc == EXIT_OK, r
    tls = ev.conn.tls
    assert tls.sni_callback_called and tls.sni == "localhost", tls
    assert tls.hello is not None and tls.hello.sni == "localhost", tls.hello


@pytest.mark.parametrize("host,listen", [("127.0.0.1", "127.0.0.1"), ("[::1]", "::1")], ids=["ipv4", "ipv6"])
def test_C2_C3_case19_ip_literal_no_sni_ip_san_ok(run_wsc, tlsp, certs, host, listen):
    """C2/C3/#19: wss://127.0.0.1:P (and [::1]) with an IP SAN → works and no SNI is sent."""
    leaf = "ip" if listen == "127.0.0.1" else "localhost_ip"
    ev = tlsp(script_echo, ctx=certs.server_context(leaf), host=listen)
    r = run_wsc([f"wss://{host}:{ev.port}/", *trust(certs), *ONE_SHOT])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == b"hello\n", r
    tls = ev.conn.tls
    assert tls.sni_callback_called and tls.sni is None, f"SNI sent for an IP literal: {tls.sni!r}"
    assert tls.hello is not None and tls.hello.sni is None, tls.hello
    assert 0 not in tls.hello.extensions, "server_name extension present"


def test_C3_case19_dns_only_cert_on_ip_literal_fails(run_wsc, tlsp, certs):
    """C3/#19: a cert with DNS:localhost only, used on wss://127.0.0.1 → exit 5 (IP mismatch)."""
    ev = tlsp(script_echo, ctx=certs.server_context("localhost"))
    r = run_wsc([ev.url(host="127.0.0.1"), *trust(certs), *ONE_SHOT])
    ev.wait()
    assert_tls_failure(r, ("IP address mismatch", "hostname mismatch"))
    assert_no_app_bytes(ev)


def test_C3_ip_only_cert_on_host_name_fails(run_wsc, tlsp, certs):
    """C3: a cert with IP:127.0.0.1 only, used on wss://localhost → exit 5 "hostname mismatch"."""
    ev = tlsp(script_echo, ctx=certs.server_context("ip"))
    r = run_wsc([ev.url(host="localhost"), *trust(certs), *ONE_SHOT])
    ev.wait()
    assert_tls_failure(r, "hostname mismatch")
    assert_no_app_bytes(ev)


def test_C3_other_host_cert_fails(run_wsc, tlsp, certs):
    """C3 (CVE-2020-11050): a valid cert of the trusted CA for other.test on wss://localhost → exit 5."""
    ev = tlsp(script_echo, ctx=certs.server_context("other"))
    r = run_wsc([ev.url(host="localhost"), *trust(certs), *ONE_SHOT])
    ev.wait()
    assert_tls_failure(r, "hostname mismatch")
    assert_no_app_bytes(ev)


def test_C7_intermediate_chain_sent_by_server_ok(run_wsc, tls_ref, certs):
    """C7 counter-check: a leaf from an intermediate CA, served with the intermediate → ok."""
    srv = tls_ref(R.echo, ctx=certs.server_context("chain"))
    r = run_wsc([srv.url(host="localhost"), *trust(certs), *ONE_SHOT])
    srv.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == b"hello\n", r


# ================================================================ C4: trust sources


def test_C4_ssl_cert_file_trusted(run_wsc, tls_ref, certs):
    """C4: SSL_CERT_FILE=ca.pem → the test CA is trusted, ok."""
    srv = tls_ref(R.echo, ctx=certs.server_context())
    r = run_wsc([srv.url(host="localhost"), *ONE_SHOT], env={"SSL_CERT_FILE": str(certs.ca_pem)})
    srv.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == b"hello\n", r


def test_C4_ssl_cert_dir_trusted(run_wsc, tls_ref, certs):
    """C4: SSL_CERT_DIR=<hashed dir with ca.pem> → ok."""
    srv = tls_ref(R.echo, ctx=certs.server_context())
    r = run_wsc([srv.url(host="localhost"), *ONE_SHOT], env={"SSL_CERT_DIR": str(certs.ca_dir)})
    srv.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == b"hello\n", r


def test_C4_system_store_does_not_trust_test_ca(run_wsc, tlsp, certs):
    """C4: no flag, no SSL_CERT_FILE → default verify paths only → exit 5, 0 application bytes."""
    ev = tlsp(script_echo, ctx=certs.server_context())
    r = run_wsc([ev.url(host="localhost"), *ONE_SHOT], env=system_store_env())
    ev.wait()
    assert_tls_failure(r, "unable to get local issuer certificate")
    assert_no_app_bytes(ev)


@pytest.mark.parametrize("flag", ["--ca", "--cacert"])
def test_C4_ca_flag_trusted(run_wsc, tls_ref, certs, flag):
    """--ca FILE (alias --cacert FILE) → the test CA is trusted, ok."""
    srv = tls_ref(R.echo, ctx=certs.server_context())
    r = run_wsc([srv.url(host="localhost"), flag, str(certs.ca_pem), *ONE_SHOT], env=system_store_env())
    srv.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == b"hello\n", r


def test_C4_ca_flag_replaces_default_store(run_wsc, tlsp, certs):
    """--ca FILE is used *instead of* the default store: --ca other-ca.pem with
    SSL_CERT_FILE=ca.pem (which alone would succeed) → exit 5."""
    ev = tlsp(script_echo, ctx=certs.server_context())
    r = run_wsc([ev.url(host="localhost"), "--ca", str(certs.other_ca_pem), *ONE_SHOT],
                env={"SSL_CERT_FILE": str(certs.ca_pem)})
    ev.wait()
    assert_tls_failure(r, "unable to get local issuer certificate")
    assert_no_app_bytes(ev)


def test_C4_ca_file_missing_is_a_clear_error(run_wsc, tlsp, certs, tmp_path):
    """--ca with a missing file → exit 5 or 64 with a "wsc: " message naming the file; no HTTP bytes."""
    ev = tlsp(script_echo, ctx=certs.server_context())
    missing = tmp_path / "no-such-ca.pem"
    r = run_wsc([ev.url(host="localhost"), "--ca", str(missing), *ONE_SHOT])
    ev.wait()
    assert r.rc in (EXIT_TLS, EXIT_USAGE), r
    assert r.stderr.startswith("wsc: "), r
    assert "no-such-ca.pem" in r.stderr, r
    assert_no_app_bytes(ev)


# ================================================================ C5 / #17


def test_C5_case17_tls11_only_server_openssl(run_wsc, s_server, certs):
    """C5/#17: ``openssl s_server -tls1_1 -cipher DEFAULT@SECLEVEL=0`` → exit 5, the message names the
    protocol version. (OpenSSL 3 client offering 1.2–1.3 gets the server's protocol_version alert:
    "tlsv1 alert protocol version"; a 1.1 ServerHello gives "unsupported protocol".)"""
    leaf = certs.leaf["localhost_ip"]
    s = s_server(["-cert", leaf.cert, "-key", leaf.key, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
    r = run_wsc([s.url(host="localhost"), *trust(certs), *ONE_SHOT])
    assert_tls_failure(r, ("unsupported protocol", "protocol version"), max_elapsed=2.0)


def test_C5_case17_tls11_server_hello_unsupported_protocol(run_wsc, evil, certs):
    """C5/#17: a server answering with a TLS 1.1 ServerHello → exit 5 "unsupported protocol"."""
    ev = evil(script_tls11_server_hello)
    r = run_wsc([ev.url(scheme="wss"), *trust(certs), *ONE_SHOT])
    ev.wait()
    assert_tls_failure(r, "unsupported protocol", max_elapsed=2.0)
    assert ev.conn.received[:1] == b"\x16", "the client did not start with a TLS handshake record"


# ================================================================ C6


def test_C6_alpn_offers_only_http11(run_wsc, tlsp, certs):
    """C6: the ClientHello's ALPN list is exactly [b"http/1.1"]; the server selects it; session works."""
    ev = tlsp(script_echo, ctx=certs.server_context(alpn=("h2", "http/1.1")))
    r = run_wsc([ev.url(host="localhost"), *trust(certs), *ONE_SHOT])
    ev.wait()
    assert r.rc == EXIT_OK, r
    tls = ev.conn.tls
    assert tls.hello is not None, "no ClientHello seen"
    assert tls.offered_alpn == [b"http/1.1"], f"offered ALPN {tls.offered_alpn!r}"
    assert tls.selected_alpn == "http/1.1"


def test_C6_client_offers_tls13_and_tls12_only(run_wsc, tlsp, certs):
    """C5/C6: supported_versions in the ClientHello lists only TLS 1.3 and 1.2 (minimum 1.2)."""
    ev = tlsp(script_echo, ctx=certs.server_context())
    r = run_wsc([ev.url(host="localhost"), *trust(certs), *ONE_SHOT])
    ev.wait()
    assert r.rc == EXIT_OK, r
    versions = ev.conn.tls.hello.supported_versions
    assert versions and all(v >= 0x0303 for v in versions), [hex(v) for v in versions]
    assert ev.conn.tls.version == "TLSv1.3"


@pytest.mark.parametrize("alpn", [("h2",), None], ids=["server-h2-only", "server-no-alpn"])
def test_C6_server_without_http11_alpn(run_wsc, tlsp, certs, alpn):
    """C6: a server that only knows h2 (so it acknowledges no ALPN) or has no ALPN at all →
    the session works over HTTP/1.1, or fails cleanly with a TLS-class exit; never a crash/hang."""
    ev = tlsp(script_echo, ctx=certs.server_context(alpn=alpn))
    r = run_wsc([ev.url(host="localhost"), *trust(certs), *ONE_SHOT])
    ev.wait()
    assert ev.conn.tls.selected_alpn is None
    if r.rc == EXIT_TLS:
        assert r.stderr.startswith("wsc: "), r
    else:
        assert r.rc == EXIT_OK, r
        assert r.out == b"hello\n", r


# ================================================================ C9 / #20


def test_C9_case20_fin_without_close_notify_mid_frame(run_wsc, tlsp, certs):
    """C9/#20: after one complete message, TLSP sends half a frame and closes TCP (FIN, no
    close_notify) → abnormal class (exit 8); the complete message is printed once."""

    def after(c):
        c.send(E.text("before") + E.hx("81 64") + b"x" * 10)
        c.sleep(0.2)
        c.close()  # TCP FIN without close_notify

    ev = tlsp(open_then(after), ctx=certs.server_context())
    r = run_wsc([ev.url(host="localhost"), *trust(certs), "-w", "-1", *FAST])
    ev.wait()
    assert r.rc == EXIT_LOST, r
    assert r.out == b"before\n", r


def test_C9_case20_rst_mid_frame(run_wsc, tlsp, certs):
    """C9/#20: the same with a TCP reset (SO_LINGER 0) → exit 8."""

    def after(c):
        c.send(E.text("before") + E.hx("81 64") + b"x" * 10)
        c.sleep(0.2)
        c.reset()

    ev = tlsp(open_then(after), ctx=certs.server_context())
    r = run_wsc([ev.url(host="localhost"), *trust(certs), "-w", "-1", *FAST])
    ev.wait()
    assert r.rc == EXIT_LOST, r
    assert r.out == b"before\n", r


def test_C9_fin_without_close_notify_between_frames(run_wsc, tlsp, certs):
    """C9: TCP ends (no close_notify) between frames but before any WS Close → exit 8."""

    def after(c):
        c.send(E.text("m1"))
        c.sleep(0.2)
        c.close()

    ev = tlsp(open_then(after), ctx=certs.server_context())
    r = run_wsc([ev.url(host="localhost"), *trust(certs), "-w", "-1", *FAST])
    ev.wait()
    assert r.rc == EXIT_LOST, r
    assert r.out == b"m1\n", r


def test_C9_close_notify_without_ws_close_is_abnormal(run_wsc, tlsp, certs):
    """C9: a clean TLS close_notify is still no WebSocket Close → abnormal (exit 8)."""

    def after(c):
        c.send(E.text("m1"))
        c.sleep(0.2)
        c.sock.close_notify()
        c.sleep(0.5)
        c.close()

    ev = tlsp(open_then(after), ctx=certs.server_context())
    r = run_wsc([ev.url(host="localhost"), *trust(certs), "-w", "-1", *FAST])
    ev.wait()
    assert r.rc == EXIT_LOST, r
    assert r.out == b"m1\n", r


def test_C9_case20_our_close_answered_then_tcp_drop_is_ok(run_wsc, tlsp, certs):
    """C9/#20: we close (end of input, -w 0), TLSP answers the Close and drops TCP without
    close_notify → exit 0."""

    def script(c):
        if c.read_request() is None:
            return
        c.handshake()
        c.collect(5)  # answers our Close
        c.close()  # no close_notify

    ev = tlsp(script, ctx=certs.server_context())
    r = run_wsc([ev.url(host="localhost"), *trust(certs), "-w", "0", *FAST], input=b"last\n")
    ev.wait()
    assert ev.conn.texts() == [b"last"], ev.conn.frames
    assert ev.conn.close_codes() == [1000], ev.conn.frames
    assert r.rc == EXIT_OK, r
    assert r.elapsed < 2.0, r


def test_C9_case20_server_close_then_tcp_drop_is_ok(run_wsc, tlsp, certs):
    """C9/#20: TLSP sends Close 1000, reads our Close, drops TCP without close_notify → exit 0."""

    def after(c):
        c.send(E.text("m") + CLOSE_NOW)
        c.closed = True
        f = c.read_frame(5)
        assert f is not None and f.opcode == E.OP_CLOSE, f
        c.close()

    ev = tlsp(open_then(after), ctx=certs.server_context())
    r = run_wsc([ev.url(host="localhost"), *trust(certs), "-w", "-1", *FAST])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == b"m\n", r
    assert ev.conn.close_codes() == [1000]


# ================================================================ C10


def _echo_with_pings(every: int = 50):
    async def handler(ws, rec) -> None:
        waiters = []
        n = 0
        async for msg in ws:
            rec.messages.append(msg)
            await ws.send(msg)
            n += 1
            if n % every == 0:
                waiters.append(await ws.ping(b"p%d" % n))
        rec.pongs = sum(1 for w in waiters if w.done() and not w.cancelled() and w.exception() is None)

    return handler


def test_C10_10k_echo_over_tls_with_pings(run_wsc, tls_ref, certs):
    """C10: 10 000 lines over wss:// to REF echo, which pings every 50 ms and after every 50th
    message → all 10 000 echoed in order, exit 0, nothing on stderr, the pings answered."""
    n = 10_000
    data = b"".join(b"%d\n" % i for i in range(1, n + 1))
    srv = tls_ref(_echo_with_pings(50), ctx=certs.server_context(), ping_interval=0.05, ping_timeout=5)
    r = run_wsc([srv.url(host="localhost"), *trust(certs), "--count", str(n), *FAST], input=data, timeout=90)
    srv.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == data, f"{len(r.lines)} lines out{r!r}"
    assert r.err == b"", r
    rec = srv.conn
    assert len(rec.messages) == n
    assert rec.close_sent_code == 1000 and rec.close_rcvd_code == 1000, (rec.close_sent_code, rec.close_rcvd_code)
    assert getattr(rec, "pongs", 0) > 0, "none of the server's pings was answered"


def test_C10_many_messages_in_one_tls_record_no_stall(run_wsc, tlsp, certs):
    """C10 (SSL_pending): 2000 small messages in one send() (a few full 16 KiB TLS records), then
    silence with TCP open → all printed and --count ends the run at once: decrypted bytes
    buffered inside OpenSSL must not wait for more socket data."""
    n = 2000
    msgs = [b"m%04d" % i for i in range(n)]

    def after(c):
        c.send(b"".join(E.text(m) for m in msgs))
        c.collect(8)

    ev = tlsp(open_then(after), ctx=certs.server_context())
    r = run_wsc([ev.url(host="localhost"), *trust(certs), "--count", str(n), "-w", "-1", *FAST], timeout=20)
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert r.lines == msgs, f"{len(r.lines)} lines{r!r}"
    assert r.elapsed < 3.0, r


def test_C10_trickled_one_byte_records(run_wsc, tlsp, certs):
    """C10: the server sends its 101 and two messages one byte per TLS record → intact."""

    def script(c):
        if c.read_request() is None:
            return
        c.send(c.respond_101() + E.text("héllo") + E.binary(b"\x00\x01\x02"), trickle=True)
        c.send(CLOSE_NOW)
        c.closed = True
        c.collect(5)

    ev = tlsp(script, ctx=certs.server_context())
    r = run_wsc([ev.url(host="localhost"), *trust(certs), "-w", "-1", *FAST])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == "héllo\n".encode() + b"\x00\x01\x02\n", r


def test_C10_big_messages_both_ways(run_wsc, tls_ref, certs):
    """Large TLS writes and reads (partial SSL_write/SSL_read): a 4 MiB line echoed intact."""
    line = (b"0123456789abcdef" * (1 << 18))  # 4 MiB
    srv = tls_ref(R.echo, ctx=certs.server_context())
    r = run_wsc([srv.url(host="localhost"), *trust(certs), "--count", "1", "--max-message-size", "16M", *FAST],
                input=line + b"\n", timeout=60)
    srv.wait()
    assert r.rc == EXIT_OK, r.__repr__()
    assert r.out == line + b"\n", f"got {len(r.out)} bytes"


# ================================================================ C11 / #18


@pytest.mark.parametrize("proto", [[], ["-tls1_2"]], ids=["tls1.3", "tls1.2"])
def test_C11_case18_client_cert_required_fast_no_spin(run_wsc, s_server, certs, proto):
    """C11/#18: ``openssl s_server -Verify 1`` demands a client cert, we give none → exit 5 in < 2 s,
    CPU < 0.5 s, the alert named."""
    leaf = certs.leaf["localhost_ip"]
    s = s_server(["-cert", leaf.cert, "-key", leaf.key, "-Verify", "1", "-CAfile", certs.client_ca_pem, *proto])
    r = run_wsc([s.url(host="localhost"), *trust(certs), *ONE_SHOT])
    assert_tls_failure(r, ("certificate required", "handshake failure", "alert"), max_elapsed=2.0)
    assert r.cpu < 0.5, f"CPU {r.cpu:.2f}s (spinning?){r!r}"
    # Issue 20: the cause named, with what to do about it, and OpenSSL's alert beside it.
    assert "the server requires a client certificate: use --cert and --key (" in r.stderr, r


def test_C11_mtls_ref_without_cert_fails(run_wsc, tls_ref, certs):
    """C11: REF requires a client cert, we give none → exit 5 in < 2 s. (The Python asyncio server
    drops TCP with our HTTP request unread, so the alert may be lost to a RST or an EOF: any TLS
    error text will do here; the s_server tests check the alert wording.)"""
    srv = tls_ref(R.echo, ctx=certs.server_context(client_ca=certs.client_ca_pem))
    r = run_wsc([srv.url(host="localhost"), *trust(certs), *ONE_SHOT])
    assert_tls_failure(r, ("certificate required", "handshake failure", "alert", "reset", "eof"), max_elapsed=2.0)
    assert r.cpu < 0.5, r
    # Whether the alert arrived or not, the cause is named (issue 20).
    assert "the server requires a client certificate: use --cert and --key" in r.stderr, r
    assert not srv.conns, "the WebSocket handshake got through without a client certificate"


@pytest.mark.parametrize("keyfile,pw", [("client_key_enc", ["--passphrase", T.PASSPHRASE]), ("client_key", [])],
                         ids=["encrypted-key", "plain-key"])
def test_C11_mtls_with_client_cert_works(run_wsc, tls_ref, certs, keyfile, pw):
    """--cert/--key (encrypted key + --passphrase, or a plain key) → mTLS works; the server saw our cert."""
    srv = tls_ref(R.echo, ctx=certs.server_context(client_ca=certs.client_ca_pem))
    r = run_wsc([srv.url(host="localhost"), *trust(certs), "--cert", str(certs.client_cert),
                 "--key", str(getattr(certs, keyfile)), *pw, *ONE_SHOT])
    srv.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == b"hello\n", r
    assert T.CLIENT_ORG in T.subject_text(srv.conn.tls.peer_cert), srv.conn.tls.peer_cert


def test_C11_wrong_passphrase_clear_error(run_wsc, tls_ref, certs):
    """A wrong --passphrase → exit 5 (or 64), a "wsc: " message about the key/passphrase, fast."""
    srv = tls_ref(R.echo, ctx=certs.server_context(client_ca=certs.client_ca_pem))
    r = run_wsc([srv.url(host="localhost"), *trust(certs), "--cert", str(certs.client_cert),
                 "--key", str(certs.client_key_enc), "--passphrase", "wrong-pass", *ONE_SHOT])
    assert r.rc in (EXIT_TLS, EXIT_USAGE), r
    err = r.stderr.lower()
    assert r.stderr.startswith("wsc: "), r
    assert any(w in err for w in ("passphrase", "password", "decrypt", "private key", "key")), r
    assert "wrong-pass" not in r.stderr, "the passphrase is echoed in the error"
    assert r.elapsed < 2.0, r
    assert not srv.conns


def test_C11_encrypted_key_without_passphrase_and_no_tty_fails_fast(run_wsc, tls_ref, certs):
    """An encrypted key, no --passphrase, no controlling terminal → a clear error, no hang."""
    srv = tls_ref(R.echo, ctx=certs.server_context(client_ca=certs.client_ca_pem))
    r = run_wsc([srv.url(host="localhost"), *trust(certs), "--cert", str(certs.client_cert),
                 "--key", str(certs.client_key_enc), *ONE_SHOT], preexec_fn=os.setsid, timeout=10)
    assert r.rc in (EXIT_TLS, EXIT_USAGE), r
    assert r.stderr.startswith("wsc: "), r
    assert r.elapsed < 3.0, r


def test_C11_untrusted_client_cert_rejected(run_wsc, s_server, certs):
    """A client cert from a CA the server does not trust (``s_server -Verify 1 -verify_return_error``)
    → exit 5 naming
    the alert ("unknown ca"), fast."""
    leaf = certs.leaf["localhost_ip"]
    s = s_server(["-cert", leaf.cert, "-key", leaf.key, "-Verify", "1", "-verify_return_error",
                  "-CAfile", certs.client_ca_pem])
    r = run_wsc([s.url(host="localhost"), *trust(certs), "--cert", str(certs.stranger_cert),
                 "--key", str(certs.stranger_key), *ONE_SHOT])
    assert_tls_failure(r, ("unknown ca", "alert"), max_elapsed=2.0)
    assert r.cpu < 0.5, r


def _read_pty(fd: int, buf: bytearray, until, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not until(bytes(buf)):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the slave side is gone
            return until(bytes(buf))
        if not chunk:
            return until(bytes(buf))
        buf += chunk
    return True


def test_C11_passphrase_prompt_on_tty_echo_off(start_wsc, tls_ref, certs):
    """``--passphrase`` without a value prompts on /dev/tty with echo off; the typed passphrase
    unlocks the key, is not echoed, and mTLS works. (stdin is not the terminal.)"""
    srv = tls_ref(R.echo, ctx=certs.server_context(client_ca=certs.client_ca_pem))
    master, slave = os.openpty()

    def make_ctty():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    try:
        p = start_wsc([srv.url(host="localhost"), *trust(certs), "--cert", str(certs.client_cert),
                       "--key", str(certs.client_key_enc), *ONE_SHOT, "--passphrase"],
                      preexec_fn=make_ctty, pass_fds=(slave,))
        os.close(slave)
        slave = -1
        seen = bytearray()
        prompted = _read_pty(master, seen, lambda b: len(b.strip()) > 0, 5)
        if not prompted:
            r = p.finish(5, check=False)
            pytest.fail(f"no prompt on the terminal within 5 s; tty={bytes(seen)!r}{r!r}")
        deadline = time.monotonic() + 2  # echo may be switched off just after the prompt is written
        while termios.tcgetattr(master)[3] & termios.ECHO and time.monotonic() < deadline:
            time.sleep(0.02)
        lflag = termios.tcgetattr(master)[3]
        assert not (lflag & termios.ECHO), f"echo is on while prompting; prompt={bytes(seen)!r}"
        os.write(master, T.PASSPHRASE.encode() + b"\n")
        r = p.finish(10)
        _read_pty(master, seen, lambda b: False, 0.2)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    srv.wait()
    assert r.rc == EXIT_OK, f"{r!r}\n  tty={bytes(seen)!r}"
    assert r.out == b"hello\n", r
    assert T.PASSPHRASE.encode() not in bytes(seen), f"passphrase echoed: {bytes(seen)!r}"


# ================================================================ C12 / #67


def test_C12_case67_reset_while_writing_big_message_over_tls(start_wsc, tlsp, certs):
    """C12/#67: TLSP resets (RST) once ≥ 1 MiB of our 16 MiB message has arrived → exit 8, not
    killed by SIGPIPE (141)."""
    got = {"n": 0}

    def after(c):
        deadline = time.monotonic() + 15
        while got["n"] < (1 << 20) and time.monotonic() < deadline:
            try:
                data = c.sock.recv(1 << 16)
            except OSError:
                break
            if not data:
                break
            got["n"] += len(data)
        c.mark("midflight")
        c.reset()

    ev = tlsp(open_then(after), ctx=certs.server_context())
    p = start_wsc([ev.url(host="localhost"), *trust(certs), "--max-message-size", "32M", *FAST],
                  input=b"b" * (16 << 20) + b"\n")
    r = p.finish(30, check=False)
    ev.wait(10)
    assert got["n"] >= (1 << 20), f"the message never got going ({got['n']} bytes){r!r}"
    assert r.rc != -signal.SIGPIPE and r.rc != 141, f"killed by SIGPIPE{r!r}"
    assert r.rc == EXIT_LOST, r


# ================================================================ #21: not a TLS server


def test_case21_plain_http_on_wss_port(run_wsc, evil, certs):
    """#21: a plain-HTTP server answers our ClientHello with ``HTTP/1.1 400`` → exit 5,
    "wrong version number" / "not a TLS server", fast."""

    def script(c):
        c.recv_available(0.3)  # the ClientHello
        c.send(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
               b"Connection: close\r\n\r\nBad Request")
        c.recv_available(0.5)

    ev = evil(script)
    r = run_wsc([ev.url(scheme="wss"), *trust(certs), *ONE_SHOT])
    ev.wait()
    assert_tls_failure(r, ("wrong version number", "not a TLS server"), max_elapsed=2.0)


def test_case21_banner_instead_of_server_hello(run_wsc, evil, certs):
    """#21: a server that talks first (``220 smtp.invalid ESMTP``) on the wss port → exit 5."""

    def script(c):
        c.send(b"220 smtp.invalid ESMTP ready\r\n")
        c.recv_available(1.0)

    ev = evil(script)
    r = run_wsc([ev.url(scheme="wss"), *trust(certs), *ONE_SHOT])
    ev.wait()
    assert_tls_failure(r, ("wrong version number", "not a TLS server"), max_elapsed=2.0)


def test_case21_plain_ws_server_on_wss_url(run_wsc, evil, certs):
    """#21: EVIL speaking plain WebSocket (waits for an HTTP request it never gets, then answers
    its 101 anyway) → exit 5, never a WebSocket session."""

    def script(c):
        c.recv_available(0.3)
        c.send(E.response_101("dGhlIHNhbXBsZSBub25jZQ==") + E.text("plain"))
        c.recv_available(0.5)

    ev = evil(script)
    r = run_wsc([ev.url(scheme="wss"), *trust(certs), *ONE_SHOT])
    ev.wait()
    assert_tls_failure(r, ("wrong version number", "not a TLS server"), max_elapsed=2.0)
    assert b"plain" not in r.out


def test_case21_plain_websockets_server_hangs_up_on_the_client_hello(run_wsc, ref, certs):
    """Issue 20: ``wss://`` against a plain Python websockets server, which reads our
    ClientHello as a broken HTTP request and closes without a byte → exit 5, and the message
    says why (not "unexpected eof while reading" alone)."""
    srv = ref(R.echo)
    r = run_wsc([srv.url().replace("ws://", "wss://"), *trust(certs), *ONE_SHOT])
    assert_tls_failure(r, ("not a TLS server",), max_elapsed=2.0)
    assert "the server closed the connection without answering the TLS handshake" in r.stderr, r


def test_tls_handshake_blackhole_times_out(run_wsc, evil, certs):
    """A server that accepts TCP and never answers the ClientHello → timeout class (9) at the
    connect timeout (2 s), CPU low."""
    ev = evil(lambda c: c.recv_available(6))
    r = run_wsc([ev.url(scheme="wss"), *trust(certs), *ONE_SHOT], timeout=10)
    assert r.rc == EXIT_TIMEOUT, r
    assert 1.5 <= r.elapsed <= 3.0, r
    assert r.cpu < 0.5, r


# ================================================================ -v, modes, default port


@pytest.mark.parametrize("maxv", [None, ssl.TLSVersion.TLSv1_2], ids=["tls1.3", "tls1.2"])
def test_verbose_prints_version_cipher_subject_issuer(run_wsc, tls_ref, certs, maxv):
    """-v: stderr names the negotiated TLS version and cipher (as the server saw them), and the
    peer certificate's subject and issuer."""
    srv = tls_ref(R.echo, ctx=certs.server_context("localhost", max_version=maxv))
    r = run_wsc([srv.url(host="localhost"), *trust(certs), "-v", *ONE_SHOT])
    srv.wait()
    assert r.rc == EXIT_OK, r
    tls = srv.conn.tls
    assert tls.version in r.stderr, f"{tls.version} not on stderr{r!r}"
    assert tls.cipher in r.stderr, f"{tls.cipher} not on stderr{r!r}"
    assert T.LEAF_ORG in r.stderr, f"subject ({T.LEAF_ORG}) not on stderr{r!r}"
    assert T.CA_ORG in r.stderr, f"issuer ({T.CA_ORG}) not on stderr{r!r}"


def test_mode_pipe_over_tls(run_wsc, tls_ref, certs):
    """Pipe mode over wss://: three lines → three echoes, in order, exit 0."""
    srv = tls_ref(R.echo, ctx=certs.server_context())
    r = run_wsc([srv.url(host="localhost"), *trust(certs), "--count", "3", *FAST], input=b"a\nb\nc\n")
    srv.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == b"a\nb\nc\n", r
    assert srv.conn.messages == ["a", "b", "c"]


def test_mode_one_shot_over_tls(run_wsc, tls_ref, certs):
    """One-shot: ``-x hello -w 0`` over wss:// → REF receives "hello", our Close 1000, exit 0."""
    srv = tls_ref(R.counter, ctx=certs.server_context())
    r = run_wsc([srv.url(host="localhost"), *trust(certs), "-x", "hello", "-w", "0", *FAST])
    srv.wait()
    assert r.rc == EXIT_OK, r
    assert srv.conn.messages == ["hello"]
    assert srv.conn.close_rcvd_code == 1000


def test_mode_echo_over_tls(run_wsc, tlsp, certs):
    """--echo over wss://: every message echoed with the same type; exit 0 on the server's Close."""

    def after(c):
        c.send(E.text("t1") + E.binary(b"\x00\x01"))
        got = [c.read_frame(5), c.read_frame(5)]
        assert all(f is not None for f in got), got
        c.send(CLOSE_NOW)
        c.closed = True
        c.collect(5)

    ev = tlsp(open_then(after), ctx=certs.server_context())
    r = run_wsc([ev.url(host="localhost"), *trust(certs), "--echo", *FAST], input=b"ignored\n")
    ev.wait()
    c = ev.conn
    assert c.messages() == [(E.OP_TEXT, b"t1"), (E.OP_BINARY, b"\x00\x01")], c.frames
    assert c.close_codes() == [1000]
    assert r.rc == EXIT_OK, r


def test_wss_host_header_and_request(run_wsc, tlsp, certs):
    """Over TLS the request is the ordinary one: ``GET /p?q=1``, ``Host: localhost:P``."""
    ev = tlsp(script_echo, ctx=certs.server_context())
    r = run_wsc([ev.url("/p?q=1", host="localhost"), *trust(certs), *ONE_SHOT])
    ev.wait()
    assert r.rc == EXIT_OK, r
    req = ev.conn.request
    assert req.request_line == "GET /p?q=1 HTTP/1.1"
    assert req.get("Host") == f"localhost:{ev.port}"


def test_wss_default_port_443(run_wsc, tlsp, certs):
    """``wss://localhost/`` connects to port 443 (``Host: localhost``, no port)."""
    try:
        ev = tlsp(script_echo, ctx=certs.server_context(), port=443)
    except OSError as e:
        if e.errno in (errno.EADDRINUSE, errno.EACCES):
            pytest.skip(f"cannot listen on 127.0.0.1:443 here ({e})")
        raise
    r = run_wsc(["wss://localhost/", *trust(certs), *ONE_SHOT])
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert r.out == b"hello\n", r
    assert ev.conn.request.get("Host") in ("localhost", "localhost:443")


def test_openssl_s_server_www_http10_200_is_a_rejection_with_its_status(certs, s_server, run_wsc):
    """Issue 19: ``openssl s_server -www`` answers ``HTTP/1.0 200 ok`` and a page; that is the
    server refusing the upgrade (exit 6 with the status), not an invalid status line."""
    leaf = certs.leaf["localhost_ip"]
    s = s_server(["-cert", leaf.cert, "-key", leaf.key, "-www"])
    r = run_wsc([*trust(certs), *FAST, s.url()], check=False)
    assert r.rc == 6, r
    assert "server rejected the WebSocket connection: HTTP 200 ok" in r.stderr, r
    assert "invalid HTTP status line" not in r.stderr, r
