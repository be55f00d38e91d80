"""Issue 18: ``--sslkeylogfile FILE`` and ``SSLKEYLOGFILE`` write the TLS session secrets in
the NSS key log format (as curl and browsers do), so Wireshark can decrypt a wss:// session.

The secrets wsc logs are checked against the peer's own: Python's ``ssl`` writes the
server's key log (``SSLContext.keylog_filename``), and both ends of one TLS session know
the same secrets, so the two files must hold the same lines. With ``tshark`` installed, a
loopback capture is decrypted with wsc's file and must show the upgrade request, which it
must not without the file.
"""

from __future__ import annotations

import os
import re
import secrets
import select
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import time

import pytest
from websockets.sync.client import connect

from helpers import EXIT_LOCAL_IO, EXIT_OK, FAST, wait_until
from peers import ref as R
from peers import tls as T
from peers.proxy import ScriptedProxy

ONE_SHOT = ["-x", "hello", "--count", "1", "-w", "5", *FAST]
WARNING = re.compile(
    r"wsc: warning: TLS session keys are written to (.+) \((--sslkeylogfile|SSLKEYLOGFILE)\); "
    r"anyone who can read it can decrypt the traffic\n")
# An NSS key log line: a label, the ClientHello's random (32 bytes) and a secret.
LINE = re.compile(r"^([A-Z_0-9]+) ([0-9a-f]{64}) ([0-9a-f]+)$")
TLS13_LABELS = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0",
                "SERVER_TRAFFIC_SECRET_0"}


@pytest.fixture(scope="session")
def certs(tmp_path_factory) -> T.CertSet:
    return T.CertSet(tmp_path_factory.mktemp("keylog-certs"))


@pytest.fixture
def tls_ref():
    servers: list[T.TlsRef] = []

    def make(handler, *, ctx, **kw) -> T.TlsRef:
        s = T.TlsRef(handler, ctx=ctx, **kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


@pytest.fixture(autouse=True)
def no_inherited_keylog(monkeypatch):
    """wsc inherits this process's environment: an SSLKEYLOGFILE exported by whoever runs
    the suite must not decide the tests that leave it unset."""
    monkeypatch.delenv("SSLKEYLOGFILE", raising=False)


def server_ctx(certs: T.CertSet, keylog, **kw) -> ssl.SSLContext:
    """The test server's context, logging its own view of the secrets to ``keylog``."""
    ctx = certs.server_context("localhost_ip", **kw)
    ctx.keylog_filename = str(keylog)
    return ctx


def entries(path) -> list[tuple[str, str, str]]:
    """(label, client random, secret) of every line; comments (Python writes one) skipped.
    Every other line must be well formed."""
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, f"not an NSS key log line: {line!r} in {path}"
        out.append(m.groups())
    return out


def warnings(stderr: str) -> list[tuple[str, str]]:
    return WARNING.findall(stderr)


def test_tls13_secrets_match_the_servers_and_the_file_is_private(run_wsc, tls_ref, certs, tmp_path):
    server_log, log = tmp_path / "server.keys", tmp_path / "wsc.keys"
    srv = tls_ref(R.echo, ctx=server_ctx(certs, server_log))
    r = run_wsc(["--ca", certs.ca_pem, "--sslkeylogfile", log, srv.url(), *ONE_SHOT])
    srv.wait()
    assert r.rc == EXIT_OK and r.out == b"hello\n", r
    assert srv.conn.tls.version == "TLSv1.3"
    got = entries(log)
    assert TLS13_LABELS <= {label for label, _, _ in got}, got
    # One session, so one ClientHello random in every line.
    assert len({random for _, random, _ in got}) == 1, got
    # The secrets are the session's: the server derived the same ones.
    assert set(got) == set(entries(server_log)), (got, entries(server_log))
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    assert warnings(r.stderr) == [(str(log), "--sslkeylogfile")], r


def test_tls12_writes_client_random_lines(run_wsc, tls_ref, certs, tmp_path):
    server_log, log = tmp_path / "server.keys", tmp_path / "wsc.keys"
    srv = tls_ref(R.echo, ctx=server_ctx(certs, server_log, max_version=ssl.TLSVersion.TLSv1_2))
    r = run_wsc(["--ca", certs.ca_pem, "--sslkeylogfile", log, srv.url(), *ONE_SHOT])
    srv.wait()
    assert r.rc == EXIT_OK, r
    assert srv.conn.tls.version == "TLSv1.2"
    got = entries(log)
    assert got and {label for label, _, _ in got} == {"CLIENT_RANDOM"}, got
    # TLS 1.2 logs the 48-byte master secret.
    assert all(len(secret) == 96 for _, _, secret in got), got
    assert set(got) == set(entries(server_log))


def test_the_environment_variable_works_and_the_file_is_appended_to(run_wsc, tls_ref, certs, tmp_path):
    log = tmp_path / "env.keys"
    log.write_text("# kept\n")
    srv = tls_ref(R.echo, ctx=certs.server_context("localhost_ip"))
    for run in (1, 2):
        r = run_wsc(["--ca", certs.ca_pem, srv.url(), *ONE_SHOT], env={"SSLKEYLOGFILE": str(log)})
        assert r.rc == EXIT_OK, r
        assert warnings(r.stderr) == [(str(log), "SSLKEYLOGFILE")], r
        # Each run adds its own session; earlier lines stay.
        assert len({random for _, random, _ in entries(log)}) == run
    assert log.read_text().startswith("# kept\n")


def test_the_flag_overrides_the_environment_and_empty_means_off(run_wsc, tls_ref, certs, tmp_path):
    from_env, from_flag = tmp_path / "env.keys", tmp_path / "flag.keys"
    srv = tls_ref(R.echo, ctx=certs.server_context("localhost_ip"))
    env = {"SSLKEYLOGFILE": str(from_env)}
    r = run_wsc(["--ca", certs.ca_pem, "--sslkeylogfile", from_flag, srv.url(), *ONE_SHOT], env=env)
    assert r.rc == EXIT_OK, r
    assert entries(from_flag) and not from_env.exists()
    assert warnings(r.stderr) == [(str(from_flag), "--sslkeylogfile")], r

    # --sslkeylogfile '' silences the variable; an empty variable is off.
    for args, env in ((["--sslkeylogfile", ""], {"SSLKEYLOGFILE": str(from_env)}), ([], {"SSLKEYLOGFILE": ""})):
        r = run_wsc(["--ca", certs.ca_pem, *args, srv.url(), *ONE_SHOT], env=env)
        assert r.rc == EXIT_OK, r
        assert not from_env.exists() and "session keys" not in r.stderr, r


def test_no_key_log_without_the_flag_or_the_variable(run_wsc, tls_ref, ref, certs, tmp_path):
    srv = tls_ref(R.echo, ctx=certs.server_context("localhost_ip"))
    r = run_wsc(["--ca", certs.ca_pem, srv.url(), *ONE_SHOT])
    assert r.rc == EXIT_OK, r
    assert "session keys" not in r.stderr, r
    # ws:// has no TLS keys: an exported SSLKEYLOGFILE creates nothing and warns of nothing.
    plain, log = ref(R.echo), tmp_path / "plain.keys"
    r = run_wsc([plain.url(), *ONE_SHOT], env={"SSLKEYLOGFILE": str(log)})
    assert r.rc == EXIT_OK, r
    assert not log.exists() and "session keys" not in r.stderr, r


@pytest.mark.parametrize("source", ["--sslkeylogfile", "SSLKEYLOGFILE"])
def test_an_unopenable_file_is_exit_10_before_connecting(run_wsc, tmp_path, source):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    bad = tmp_path / "a-directory"
    bad.mkdir()
    args, env = (["--sslkeylogfile", bad], None) if source == "--sslkeylogfile" else ([], {"SSLKEYLOGFILE": str(bad)})
    try:
        r = run_wsc([*args, f"wss://127.0.0.1:{port}/", *ONE_SHOT], env=env, check=False)
        assert r.rc == EXIT_LOCAL_IO, r
        assert f"wsc: {source}: cannot open {bad}: Is a directory" in r.stderr, r
        assert "session keys" not in r.stderr, r
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()[0].close()  # wsc connected although it could not log
    finally:
        listener.close()


def test_an_https_proxy_session_is_logged_too(run_wsc, tls_ref, certs, tmp_path):
    proxy_log, server_log, log = tmp_path / "proxy.keys", tmp_path / "server.keys", tmp_path / "wsc.keys"
    proxy = ScriptedProxy("tunnel", tls=server_ctx(certs, proxy_log))
    try:
        srv = tls_ref(R.echo, ctx=server_ctx(certs, server_log))
        r = run_wsc(["--ca", certs.ca_pem, "--proxy-ca", certs.ca_pem, "--proxy", proxy.url(), "--sslkeylogfile",
                     log, srv.url(host="localhost"), *ONE_SHOT])
    finally:
        proxy.close()
    assert r.rc == EXIT_OK, r
    # TLS to the proxy and TLS to the origin inside it: two sessions, both in the one file.
    got = set(entries(log))
    assert got == set(entries(proxy_log)) | set(entries(server_log)), got
    assert len({random for _, random, _ in got}) == 2, got
    assert len(warnings(r.stderr)) == 1, r


def test_listen_mode_logs_its_clients_sessions(start_wsc, certs, tmp_path):
    leaf = certs.leaf["localhost_ip"]
    log = tmp_path / "listen.keys"
    p = start_wsc(["-l", "127.0.0.1:0", "--echo", "--cert", leaf.cert, "--key", leaf.key, "--sslkeylogfile", log],
                  keep_stdin_open=True)
    listening = re.compile(rb"listening on wss://127\.0\.0\.1:(\d+)/")
    assert wait_until(lambda: listening.search(bytes(p.err)) or not p.alive(), 10), bytes(p.err)
    port = int(listening.search(bytes(p.err)).group(1))
    client_logs = []
    for n in range(2):
        ctx = certs.client_context()
        client_logs.append(tmp_path / f"client{n}.keys")
        ctx.keylog_filename = str(client_logs[-1])
        with connect(f"wss://127.0.0.1:{port}/", ssl=ctx, open_timeout=5, close_timeout=2) as ws:
            ws.send("over tls")
            assert ws.recv(timeout=5) == "over tls"
    assert wait_until(lambda: bytes(p.err).count(b"disconnected") == 2, 5), bytes(p.err)
    p.kill()
    want = set(entries(client_logs[0])) | set(entries(client_logs[1]))
    assert set(entries(log)) == want
    assert len({random for _, random, _ in want}) == 2
    assert warnings(bytes(p.err).decode()) == [(str(log), "--sslkeylogfile")]


# ---------------------------------------------------------------- Wireshark


def capture_and_decode(certs, tls_ref, run_wsc, tmp_path, path: str):
    """Captures a wss:// session on loopback while wsc logs its keys; returns the key log
    and a function that lists the HTTP requests tshark finds with a given key log."""
    log, pcap = tmp_path / "wsc.keys", tmp_path / "session.pcapng"
    srv = tls_ref(R.echo, ctx=certs.server_context("localhost_ip"))
    dumpcap = subprocess.Popen(["dumpcap", "-q", "-i", "lo", "-f", f"tcp port {srv.port}", "-w", str(pcap)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # dumpcap says "Capturing on …" once packets are being recorded.
        seen = b""
        deadline = time.monotonic() + 10
        while b"Capturing on" not in seen and (left := deadline - time.monotonic()) > 0:
            if select.select([dumpcap.stderr], [], [], left)[0]:
                chunk = os.read(dumpcap.stderr.fileno(), 4096)
                if not chunk:
                    break  # dumpcap exited
                seen += chunk
        # Without the right to capture, dumpcap prints "Capturing on" too, then the error
        # and exits: it must still be running a moment later.
        time.sleep(0.5)
        if dumpcap.poll() is not None:
            seen += dumpcap.stderr.read()
        assert b"Capturing on" in seen and dumpcap.poll() is None, f"dumpcap did not start: {seen!r}"
        r = run_wsc(["--ca", certs.ca_pem, "--sslkeylogfile", log, srv.url(path), *ONE_SHOT])
        assert r.rc == EXIT_OK, r
        time.sleep(0.5)  # the last packets reach the capture file
    finally:
        dumpcap.send_signal(signal.SIGINT)
        dumpcap.wait(10)
        dumpcap.stderr.close()

    def requests(keylog) -> list[str]:
        out = subprocess.run(
            ["tshark", "-r", str(pcap), "-d", f"tcp.port=={srv.port},tls", "-o", f"tls.keylog_file:{keylog}",
             "-Y", "http.request", "-T", "fields", "-e", "http.request.method", "-e", "http.request.uri"],
            capture_output=True, timeout=60, text=True)
        assert out.returncode == 0, out.stderr
        return [line for line in out.stdout.splitlines() if line]

    return log, requests


def test_wireshark_decrypts_the_capture_with_the_key_log(run_wsc, tls_ref, certs, tmp_path):
    # scripts/setup.sh installs tshark; a missing one is a failure, never a silent skip.
    assert shutil.which("tshark") and shutil.which("dumpcap"), "tshark is required (apt-get install tshark)"
    path = f"/keylog-{secrets.token_hex(4)}"
    log, requests = capture_and_decode(certs, tls_ref, run_wsc, tmp_path, path)
    assert requests(log) == [f"GET\t{path}"]
    # Without the secrets the same capture shows no request: it is the file that decrypts it.
    empty = tmp_path / "empty.keys"
    empty.write_text("")
    assert requests(empty) == []
