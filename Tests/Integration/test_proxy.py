"""Network reach through proxies (issue 13, CHECKLIST D): ``--proxy`` and the proxy
environment, against Debian's ``tinyproxy`` (HTTP CONNECT, Basic auth, ConnectPort
limits) and ``microsocks`` (SOCKS5 with and without user/password), both started
here on 127.0.0.1, and a scripted proxy for what real ones will not do on demand
(407, endless headers, a body after the 200, a reply cut short, silence). The
origin behind them is Python websockets (ws:// and wss:// with the test CA)."""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import time

import pytest

from helpers import EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE, FAST, wait_until
from peers import ref as R
from peers import tls as T
from peers.proxy import ScriptedProxy
from test_tls import certs, tls_ref  # noqa: F401  (fixtures)

EXIT_PROXY = 4
ONE = ["-x", "hello", "--count", "1", "-w", "5", *FAST]
PASSWORD = "p@ss:w0rd"


def wait_port(port: int, timeout: float = 5) -> bool:
    def up() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    return wait_until(up, timeout, 0.05)


class Daemon:
    def __init__(self, argv: list[str], port: int, log):
        self.port = port
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if not wait_port(port):
            self.close()
            raise RuntimeError(f"{argv[0]} did not start on port {port}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def daemons():
    started: list[Daemon] = []
    yield started
    for d in started:
        d.close()


@pytest.fixture
def tinyproxy(daemons, tmp_path):
    """``tinyproxy(connect_ports, auth=None) -> port``: tinyproxy allowing CONNECT to those ports."""
    binary = shutil.which("tinyproxy")
    assert binary, "tinyproxy is missing: scripts/setup.sh installs it"

    def start(connect_ports: list[int], auth: tuple[str, str] | None = None) -> int:
        port = T.free_port()
        conf = tmp_path / f"tinyproxy-{port}.conf"
        lines = [f"Port {port}", "Listen 127.0.0.1", "Timeout 30", "MaxClients 20", "Allow 127.0.0.1",
                 "LogLevel Info", f'LogFile "{tmp_path}/tinyproxy-{port}.log"',
                 f'PidFile "{tmp_path}/tinyproxy-{port}.pid"']
        lines += [f"ConnectPort {p}" for p in connect_ports]
        if auth:
            lines.append(f"BasicAuth {auth[0]} {auth[1]}")
        conf.write_text("\n".join(lines) + "\n")
        log = open(tmp_path / f"tinyproxy-{port}.out", "wb")
        daemons.append(Daemon([binary, "-d", "-c", str(conf)], port, log))
        return port

    return start


@pytest.fixture
def microsocks(daemons, tmp_path):
    """``microsocks(auth=None) -> port``: a SOCKS5 proxy, with ``-u/-P`` when ``auth``."""
    binary = shutil.which("microsocks")
    assert binary, "microsocks is missing: scripts/setup.sh installs it"

    def start(auth: tuple[str, str] | None = None) -> int:
        port = T.free_port()
        argv = [binary, "-i", "127.0.0.1", "-p", str(port)]
        if auth:
            argv += ["-u", auth[0], "-P", auth[1]]
        log = open(tmp_path / f"microsocks-{port}.out", "wb")
        daemons.append(Daemon(argv, port, log))
        return port

    return start


@pytest.fixture
def scripted():
    proxies: list[ScriptedProxy] = []

    def make(mode: str = "tunnel", **kw) -> ScriptedProxy:
        p = ScriptedProxy(mode, **kw)
        proxies.append(p)
        return p

    yield make
    for p in proxies:
        p.close()


def no_proxy_env(**extra) -> dict:
    """An environment with every proxy variable unset, then ``extra``."""
    env = {name: "" for name in ("http_proxy", "https_proxy", "all_proxy", "ws_proxy", "wss_proxy", "no_proxy",
                                 "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "WS_PROXY", "WSS_PROXY", "NO_PROXY")}
    env.update(extra)
    return env


# ---------------------------------------------------------------- real proxies


def test_ws_through_tinyproxy_with_proxy_flag_and_with_http_proxy(run_wsc, ref, tinyproxy):
    srv = ref(R.echo)
    port = tinyproxy([srv.port])
    r = run_wsc([*ONE, "--proxy", f"http://127.0.0.1:{port}", srv.url()], env=no_proxy_env())
    assert r.rc == EXIT_OK, r
    assert r.out == b"hello\n"
    r = run_wsc([*ONE, srv.url()], env=no_proxy_env(http_proxy=f"http://127.0.0.1:{port}/"))
    assert r.rc == EXIT_OK, r
    assert r.out == b"hello\n"


def test_D1_tinyproxy_basic_auth_percent_decoded(run_wsc, ref, tinyproxy):
    srv = ref(R.echo)
    port = tinyproxy([srv.port], auth=("user", "s3cret"))
    r = run_wsc([*ONE, "--proxy", f"http://user:s3cre%74@127.0.0.1:{port}", srv.url()], env=no_proxy_env())
    assert r.rc == EXIT_OK, r
    r = run_wsc([*ONE, "--proxy", f"http://127.0.0.1:{port}", srv.url()], env=no_proxy_env(), check=False)
    assert r.rc == EXIT_PROXY, r
    assert "HTTP 407" in r.stderr and "credentials" in r.stderr, r
    r = run_wsc([*ONE, "--proxy", f"http://user:wrong@127.0.0.1:{port}", srv.url()], env=no_proxy_env(),
                check=False)
    assert r.rc == EXIT_PROXY, r
    assert "wrong" not in r.stderr, r


def test_D2_tinyproxy_connect_port_limit_is_a_403_exit_4(run_wsc, ref, tinyproxy):
    srv = ref(R.echo)
    port = tinyproxy([srv.port + 1 if srv.port < 65535 else srv.port - 1])
    r = run_wsc([*ONE, "--proxy", f"http://127.0.0.1:{port}", srv.url()], env=no_proxy_env(), check=False)
    assert r.rc == EXIT_PROXY, r
    assert "proxy error: the proxy refused the tunnel to 127.0.0.1:" in r.stderr and "HTTP 403" in r.stderr, r
    assert r.elapsed < 2, r


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
def test_ws_through_microsocks(run_wsc, ref, microsocks, scheme):
    srv = ref(R.echo)
    port = microsocks()
    r = run_wsc([*ONE, "-v", "--proxy", f"{scheme}://127.0.0.1:{port}", srv.url(host="localhost")],
                env=no_proxy_env())
    assert r.rc == EXIT_OK, r
    assert r.out == b"hello\n"
    resolved_here = "resolved localhost here" in r.stderr
    assert resolved_here == (scheme == "socks5"), r.stderr


def test_microsocks_user_password(run_wsc, ref, microsocks):
    srv = ref(R.echo)
    port = microsocks(auth=("user", PASSWORD))
    quoted = PASSWORD.replace("@", "%40").replace(":", "%3A")
    r = run_wsc([*ONE, "-v", "--proxy", f"socks5h://user:{quoted}@127.0.0.1:{port}", srv.url()],
                env=no_proxy_env())
    assert r.rc == EXIT_OK, r
    assert PASSWORD not in r.stderr and quoted not in r.stderr, r
    r = run_wsc([*ONE, "--proxy", f"socks5h://127.0.0.1:{port}", srv.url()], env=no_proxy_env(), check=False)
    assert r.rc == EXIT_PROXY, r
    assert "wants credentials" in r.stderr, r
    r = run_wsc([*ONE, "--proxy", f"socks5h://user:nope@127.0.0.1:{port}", srv.url()], env=no_proxy_env(),
                check=False)
    assert r.rc == EXIT_PROXY, r
    assert "refused the user name and password" in r.stderr, r


def test_socks5_proxy_that_cannot_reach_the_origin_says_why(run_wsc, microsocks, refused_url):
    port = microsocks()
    r = run_wsc([*ONE, "--proxy", f"socks5://127.0.0.1:{port}", refused_url], env=no_proxy_env(), check=False)
    assert r.rc == EXIT_PROXY, r
    assert "the SOCKS5 proxy could not connect to 127.0.0.1:" in r.stderr, r


# ---------------------------------------------------------------- wss:// through the tunnel


def test_D6_wss_through_each_proxy_verifies_the_origin_name(run_wsc, certs, tls_ref, tinyproxy, microsocks):
    srv = tls_ref(R.echo, ctx=certs.server_context("localhost"))
    for proxy in (f"http://127.0.0.1:{tinyproxy([srv.port])}", f"socks5h://127.0.0.1:{microsocks()}"):
        r = run_wsc([*ONE, "--ca", str(certs.ca_pem), "--proxy", proxy, srv.url(host="localhost")],
                    env=no_proxy_env())
        assert r.rc == EXIT_OK, (proxy, r)
        assert r.out == b"hello\n"
    assert [c.tls.sni for c in srv.conns] == ["localhost", "localhost"]


def test_D6_a_certificate_valid_for_the_proxy_name_only_fails(run_wsc, certs, tls_ref, scripted):
    """The proxy is reached as ``localhost``, the origin as 127.0.0.1, and the origin's
    certificate names only localhost: a check against the proxy's name would pass."""
    srv = tls_ref(R.echo, ctx=certs.server_context("localhost"))
    proxy = scripted("tunnel")
    via_name = f"http://localhost:{proxy.port}"
    r = run_wsc([*ONE, "--ca", str(certs.ca_pem), "--proxy", via_name, srv.url(host="127.0.0.1")],
                env=no_proxy_env(), check=False)
    assert r.rc == 5, r
    assert proxy.requests and proxy.requests[0].request_line.startswith("CONNECT 127.0.0.1:")


# ---------------------------------------------------------------- what is sent, and to whom


def test_D1_D4_D5_connect_request_and_headers_stay_where_they_belong(run_wsc, ref, scripted):
    srv = ref(R.echo)
    proxy = scripted("tunnel")
    r = run_wsc([*ONE, "-H", "Authorization: Bearer X", "-H", "Cookie: a=b", srv.url()],
                env=no_proxy_env(http_proxy=proxy.url("u:p%40ss")))
    assert r.rc == EXIT_OK, r
    req = proxy.requests[0]
    assert req.request_line == f"CONNECT 127.0.0.1:{srv.port} HTTP/1.1"
    assert req.header("Host") == f"127.0.0.1:{srv.port}"
    assert req.header("Proxy-Authorization") == "Basic " + base64.b64encode(b"u:p@ss").decode() == "Basic dTpwQHNz"
    assert req.header("Authorization") is None and req.header("Cookie") is None
    origin = dict((k.lower(), v) for k, v in srv.conn.headers)
    assert origin.get("authorization") == "Bearer X"
    assert "proxy-authorization" not in origin


def test_proxy_credentials_never_appear_in_diagnostics(run_wsc, ref, scripted):
    srv = ref(R.echo)
    proxy = scripted("tunnel")
    r = run_wsc([*ONE, "-v", srv.url()], env=no_proxy_env(ws_proxy=proxy.url("alice:s3cr3t")))
    assert r.rc == EXIT_OK, r
    secret_forms = ["s3cr3t", base64.b64encode(b"alice:s3cr3t").decode()]
    assert not any(s in r.stderr for s in secret_forms), r.stderr
    assert "* proxy > Proxy-Authorization: Basic [redacted]" in r.stderr, r.stderr
    assert f"* proxy {proxy.url()} (from ws_proxy, with credentials)" in r.stderr, r.stderr
    deny = scripted("status", status_line="HTTP/1.1 407 Proxy Authentication Required")
    r = run_wsc([*ONE, "-v", srv.url()], env=no_proxy_env(ws_proxy=deny.url("alice:s3cr3t")), check=False)
    assert r.rc == EXIT_PROXY, r
    assert not any(s in r.stderr for s in secret_forms), r.stderr


# ---------------------------------------------------------------- strict replies


@pytest.mark.parametrize(
    "status_line",
    ["HTTP/1.1 403 Forbidden", "HTTP/1.1 407 Proxy Authentication Required", "HTTP/1.1 502 Bad Gateway",
     "HTTP/1.1 503 \x1b[2JUnavailable"],
)
def test_D2_a_refusal_is_exit_4_at_once_with_the_status_escaped(run_wsc, ref, scripted, status_line):
    srv = ref(R.echo)
    proxy = scripted("status", status_line=status_line)
    r = run_wsc([*ONE, "--proxy", proxy.url(), srv.url()], env=no_proxy_env(), check=False)
    assert r.rc == EXIT_PROXY, r
    code = status_line.split()[1]
    assert f"HTTP {code} " in r.stderr, r
    assert "\x1b" not in r.stderr, r
    assert r.elapsed < 1.5, r
    assert proxy.accepts == 1


@pytest.mark.parametrize("mode", ["close_mid_reply"])
def test_D2_a_proxy_that_hangs_up_mid_reply_is_exit_4(run_wsc, ref, scripted, mode):
    srv = ref(R.echo)
    proxy = scripted(mode)
    r = run_wsc([*ONE, "--proxy", proxy.url(), srv.url()], env=no_proxy_env(), check=False)
    assert r.rc == EXIT_PROXY, r
    assert "the proxy closed the connection before the tunnel was open" in r.stderr, r


def test_D3_content_length_on_the_200_is_ignored(run_wsc, ref, scripted):
    srv = ref(R.echo)
    proxy = scripted("tunnel", extra_headers=("Content-Length: 5", "Transfer-Encoding: chunked"))
    r = run_wsc([*ONE, "--proxy", proxy.url(), srv.url()], env=no_proxy_env())
    assert r.rc == EXIT_OK, r
    assert r.out == b"hello\n"


def test_bytes_after_the_200_are_reported_not_taken_for_the_server(run_wsc, ref, scripted):
    """A proxy that sends a body (here a forged 101) after its 200: the origin cannot have
    spoken yet, so wsc must not read it as the server's handshake response."""
    srv = ref(R.echo)
    forged = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
    proxy = scripted("body", body=forged)
    r = run_wsc([*ONE, "--proxy", proxy.url(), srv.url()], env=no_proxy_env(), check=False)
    assert r.rc == EXIT_PROXY, r
    assert f"the proxy sent {len(forged)} bytes after its reply" in r.stderr, r
    assert "HTTP/1.1 101" in r.stderr, r
    assert bytes(proxy.relayed_to_origin) == b"", "nothing may go to the origin"


def test_D9_endless_headers_stop_at_the_limit(start_wsc, ref, scripted):
    srv = ref(R.echo)
    proxy = scripted("endless")
    p = start_wsc([*ONE, "--proxy", proxy.url(), srv.url()], env=no_proxy_env())
    r = p.finish(15, check=False)
    assert r.rc == EXIT_PROXY, r
    assert "invalid reply from the proxy" in r.stderr, r
    assert r.maxrss_kib < 64 * 1024, r


def test_B2_a_silent_proxy_times_out_within_connect_timeout(run_wsc, ref, scripted):
    srv = ref(R.echo)
    proxy = scripted("silent")
    t0 = time.monotonic()
    r = run_wsc(["-x", "hello", "--connect-timeout", "1", "--proxy", proxy.url(), srv.url()], env=no_proxy_env(),
                check=False)
    assert r.rc == EXIT_TIMEOUT, r
    assert "while the proxy opened the tunnel" in r.stderr, r
    assert time.monotonic() - t0 < 3


def test_a_proxy_that_is_not_running_is_exit_4(run_wsc, ref, refused_url):
    srv = ref(R.echo)
    port = int(refused_url.rsplit(":", 1)[1].strip("/"))
    r = run_wsc([*ONE, "--proxy", f"http://127.0.0.1:{port}", srv.url()], env=no_proxy_env(), check=False)
    assert r.rc == EXIT_PROXY, r
    assert f"(the proxy http://127.0.0.1:{port})" in r.stderr, r


def test_an_http_origin_speaking_to_wsc_as_a_proxy_is_reported(run_wsc, ref):
    """--proxy pointed at something that is not a proxy (here a WebSocket server)."""
    srv = ref(R.echo)
    r = run_wsc([*ONE, "--proxy", f"http://127.0.0.1:{srv.port}", srv.url()], env=no_proxy_env(), check=False)
    assert r.rc == EXIT_PROXY, r


# ---------------------------------------------------------------- the environment


def test_D7_environment_order(run_wsc, ref, certs, tls_ref, scripted):
    srv = ref(R.echo)
    tsrv = tls_ref(R.echo, ctx=certs.server_context("localhost"))
    names = ["ws_proxy", "WS_PROXY", "http_proxy", "all_proxy", "ALL_PROXY",
             "wss_proxy", "WSS_PROXY", "https_proxy", "HTTPS_PROXY", "HTTP_PROXY"]
    proxies = {n: scripted("tunnel") for n in names}

    def used(url: str, *set_names: str, extra=()) -> str | None:
        before = {n: p.accepts for n, p in proxies.items()}
        env = no_proxy_env(**{n: proxies[n].url() for n in set_names})
        r = run_wsc([*ONE, *extra, url], env=env)
        assert r.rc == EXIT_OK, r
        hit = [n for n, p in proxies.items() if p.accepts > before[n]]
        assert len(hit) <= 1, hit
        return hit[0] if hit else None

    ws = srv.url()
    assert used(ws, *names) == "ws_proxy"
    assert used(ws, "WS_PROXY", "http_proxy", "all_proxy") == "WS_PROXY"
    assert used(ws, "http_proxy", "all_proxy", "HTTP_PROXY") == "http_proxy"
    assert used(ws, "all_proxy", "ALL_PROXY", "HTTP_PROXY") == "all_proxy"
    assert used(ws, "ALL_PROXY") == "ALL_PROXY"
    assert used(ws, "HTTP_PROXY") is None, "HTTP_PROXY is never read (httpoxy)"
    assert used(ws, "https_proxy", "wss_proxy") is None, "wss_proxy/https_proxy are for wss://"
    wss = tsrv.url(host="localhost")
    ca = ["--ca", str(certs.ca_pem)]
    assert used(wss, *names, extra=ca) == "wss_proxy"
    assert used(wss, "WSS_PROXY", "https_proxy", extra=ca) == "WSS_PROXY"
    assert used(wss, "https_proxy", "HTTPS_PROXY", "all_proxy", extra=ca) == "https_proxy"
    assert used(wss, "HTTPS_PROXY", "all_proxy", extra=ca) == "HTTPS_PROXY"
    assert used(wss, "all_proxy", "http_proxy", "ws_proxy", extra=ca) == "all_proxy"


def test_D8_no_proxy_matching(run_wsc, ref, scripted):
    srv = ref(R.echo)
    proxy = scripted("tunnel")

    def proxied(url: str, no_proxy: str, flag: list[str] = ()) -> bool:
        before = proxy.accepts
        r = run_wsc([*ONE, *flag, url], env=no_proxy_env(http_proxy=proxy.url(), no_proxy=no_proxy))
        assert r.rc == EXIT_OK, r
        return proxy.accepts > before

    by_ip, by_name = srv.url(host="127.0.0.1"), srv.url(host="localhost")
    assert proxied(by_ip, "")
    assert not proxied(by_ip, "127.0.0.1")
    assert proxied(by_ip, "127.0.0.2")
    assert not proxied(by_ip, "127.0.0.0/8")
    assert proxied(by_ip, "10.0.0.0/8")
    assert not proxied(by_ip, "*")
    assert not proxied(by_name, "LOCALHOST")
    assert not proxied(by_name, ".localhost, example.com")
    assert not proxied(by_name, f"localhost:{srv.port + 1}"), "the port in an entry is ignored"
    assert proxied(by_name, "calhost"), "whole labels only"
    assert proxied(by_name, "127.0.0.1"), "a name never matches an address entry"
    # --noproxy replaces no_proxy; --proxy '' turns the environment's proxy off.
    assert proxied(by_ip, "127.0.0.1", ["--noproxy", "example.com"])
    assert not proxied(by_ip, "", ["--noproxy", "127.0.0.1"])
    assert not proxied(by_ip, "", ["--proxy", ""])


def test_v_says_which_proxy_and_why(run_wsc, ref, scripted):
    srv = ref(R.echo)
    proxy = scripted("tunnel")
    r = run_wsc([*ONE, "-v", srv.url()], env=no_proxy_env(all_proxy=proxy.url()))
    assert f"* proxy {proxy.url()} (from all_proxy)" in r.stderr, r.stderr
    assert f"* proxy > CONNECT 127.0.0.1:{srv.port} HTTP/1.1" in r.stderr
    assert "* proxy < HTTP/1.1 200 Connection established" in r.stderr
    r = run_wsc([*ONE, "-v", srv.url()], env=no_proxy_env(all_proxy=proxy.url(), no_proxy="127.0.0.1"))
    assert "* no proxy: no_proxy matches 127.0.0.1, so not through the all_proxy proxy" in r.stderr, r.stderr


def test_ws_unix_ignores_proxies(run_wsc, evil, tmp_path):
    from peers import evil as E

    path = str(tmp_path / "ws.sock")
    ev = evil(E.script_send(E.text("unix") + E.close_frame(1000)), unix_path=path)
    r = run_wsc([f"ws+unix:{path}:/", "-w", "-1", *FAST],
                env=no_proxy_env(http_proxy="http://127.0.0.1:9", all_proxy="http://127.0.0.1:9"))
    assert r.rc == EXIT_OK, r
    assert r.out == b"unix\n"


@pytest.mark.parametrize(
    "proxy,message",
    [
        ("socks4://127.0.0.1:1080", "socks4:// proxies are not supported"),
        ("ftp://127.0.0.1:21", "unsupported proxy scheme"),
        ("http://127.0.0.1:3128/path", "a proxy URL has no path"),
        ("http://127.0.0.1:99999", "port"),
    ],
)
def test_invalid_proxy_urls_are_usage_errors(run_wsc, proxy, message):
    r = run_wsc(["--proxy", proxy, "ws://127.0.0.1:9/"], env=no_proxy_env(), check=False)
    assert r.rc == EXIT_USAGE, r
    assert message in r.stderr, r
    r = run_wsc(["ws://127.0.0.1:9/"], env=no_proxy_env(ws_proxy=proxy), check=False)
    assert r.rc == EXIT_USAGE, r
    assert "invalid proxy in ws_proxy" in r.stderr, r


def test_proxy_flags_do_not_apply_to_listen(run_wsc):
    for flag in (["--proxy", "http://127.0.0.1:1"], ["--noproxy", "*"]):
        r = run_wsc(["-l", "127.0.0.1:0", *flag], check=False)
        assert r.rc == EXIT_USAGE, r


# ---------------------------------------------------------------- https:// proxies


@pytest.fixture
def https_proxy(scripted, certs):
    """A scripted CONNECT proxy behind TLS, its certificate from the test CA (localhost, 127.0.0.1)."""
    return scripted("tunnel", tls=certs.server_context("localhost_ip"))


def test_ws_through_an_https_proxy(run_wsc, ref, https_proxy, certs):
    srv = ref(R.echo)
    r = run_wsc([*ONE, "-v", "--proxy-ca", str(certs.ca_pem), "--proxy", https_proxy.url(), srv.url()],
                env=no_proxy_env())
    assert r.rc == EXIT_OK, r
    assert r.out == b"hello\n"
    assert https_proxy.requests[0].request_line == f"CONNECT 127.0.0.1:{srv.port} HTTP/1.1"


def test_wss_through_an_https_proxy_is_tls_inside_tls(run_wsc, certs, tls_ref, https_proxy):
    srv = tls_ref(R.echo, ctx=certs.server_context("localhost"))
    big = "x" * 300_000
    r = run_wsc(["--count", "1", "-w", "10", *FAST, "--ca", str(certs.ca_pem), "--proxy-ca",
                 str(certs.ca_pem), "--proxy", https_proxy.url(), srv.url(host="localhost")], env=no_proxy_env(),
                input=big.encode() + b"\n")
    assert r.rc == EXIT_OK, r
    assert r.out == big.encode() + b"\n"
    assert srv.conn.tls.sni == "localhost"
    # The proxy saw only TLS records, never the WebSocket request in clear.
    assert b"GET / HTTP/1.1" not in bytes(https_proxy.relayed_to_origin)
    assert bytes(https_proxy.relayed_to_origin)[:1] == b"\x16", "the first bytes through are a TLS handshake"


def test_an_https_proxy_with_an_untrusted_certificate_is_exit_4(run_wsc, ref, https_proxy, certs):
    srv = ref(R.echo)
    r = run_wsc([*ONE, "--proxy", https_proxy.url(), srv.url()], env=no_proxy_env(), check=False)
    assert r.rc == EXIT_PROXY, r
    assert f"TLS with the proxy {https_proxy.url()}" in r.stderr and "certificate" in r.stderr, r
    assert not https_proxy.requests, "the CONNECT went out before the proxy was verified"
    r = run_wsc([*ONE, "--proxy-insecure", "--proxy", https_proxy.url(), srv.url()], env=no_proxy_env())
    assert r.rc == EXIT_OK, r
    assert "warning: --proxy-insecure" in r.stderr


def test_an_https_proxy_name_is_checked_against_its_certificate(run_wsc, ref, scripted, certs):
    srv = ref(R.echo)
    proxy = scripted("tunnel", tls=certs.server_context("other"))
    r = run_wsc([*ONE, "--proxy-ca", str(certs.ca_pem), "--proxy", proxy.url(), srv.url()], env=no_proxy_env(),
                check=False)
    assert r.rc == EXIT_PROXY, r


def test_the_https_proxy_relay_does_not_spin_while_idle_or_after_the_end(start_wsc, ref, https_proxy, certs):
    srv = ref(R.echo)
    p = start_wsc(["--proxy-ca", str(certs.ca_pem), "--proxy", https_proxy.url(), *FAST, srv.url()],
                  keep_stdin_open=True, env=no_proxy_env())
    assert p.write(b"one\n")
    assert wait_until(lambda: bytes(p.out) == b"one\n", 5), bytes(p.out)
    time.sleep(1.5)
    assert p.cpu_seconds() < 0.5, f"{p.cpu_seconds()} s of CPU while idle"
    p.close_stdin()
    r = p.finish(10)
    assert r.rc == EXIT_OK, r
    assert srv.conn.close_rcvd_code == 1000
