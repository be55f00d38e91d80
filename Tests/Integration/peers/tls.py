"""TLSP: the EVIL and REF peers wrapped in TLS, test certificates, and ``openssl s_server``.

* :class:`CertSet` mints every certificate the TLS tests need once per session
  (``trustme`` for the ordinary ones, ``cryptography`` for the odd ones) and
  writes them as PEM files into a directory.
* :class:`TlsEvil` is EVIL (:mod:`peers.evil`) behind an ``ssl.SSLContext``:
  before the handshake it *peeks* at the raw ClientHello (``MSG_PEEK``) and
  parses the SNI and the offered ALPN list; the context's ``sni_callback``
  records the SNI as OpenSSL saw it (``None`` when the client sent none). After
  the handshake the script runs on the decrypted stream exactly as with EVIL,
  and every decrypted byte the client sends is counted (``tls.app_bytes``), so a
  failed verification can be shown to leak 0 application bytes.
* :class:`TlsRef` is REF (:mod:`peers.ref`, ``websockets`` 17) served with
  ``ssl=ctx``; the ClientHello comes from OpenSSL's message callback.
* :class:`SServer` runs ``openssl s_server`` on 127.0.0.1 for the protocol
  version and alert cases.

``conn.tls`` / ``rec.tls`` is a :class:`TlsInfo`. Everything is bounded.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
import struct
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from peers.evil import MAX_TIMEOUT, Evil, EvilConn
from peers.ref import Ref, RefConn

PASSPHRASE = "s3cret-pass"

# Distinctive names, so `-v` output can be checked for the subject and the issuer.
CA_ORG = "wsc-test-ca-org"
LEAF_ORG = "wsc-test-leaf-org"
CLIENT_CA_ORG = "wsc-client-ca-org"
CLIENT_ORG = "wsc-client-org"


# --------------------------------------------------------------------------
# ClientHello parsing
# --------------------------------------------------------------------------


@dataclass
class ClientHello:
    legacy_version: int
    sni: str | None  # server_name (host_name) extension, None if absent
    alpn: list[bytes] | None  # offered ALPN protocols, None if no ALPN extension
    supported_versions: list[int]  # from the supported_versions extension (empty if absent)
    ciphers: list[int]
    extensions: list[int]  # extension types in order

    @property
    def offers_tls13(self) -> bool:
        return 0x0304 in self.supported_versions


def parse_client_hello(msg: bytes) -> ClientHello:
    """Parse a ClientHello *handshake message* (starting with type 0x01 and a 3-byte length)."""
    if len(msg) < 4 or msg[0] != 1:
        raise ValueError(f"not a ClientHello: {msg[:8].hex()}")
    body = msg[4 : 4 + int.from_bytes(msg[1:4], "big")]
    p = 0
    legacy_version = struct.unpack_from("!H", body, p)[0]
    p += 2 + 32
    p += 1 + body[p]  # session id
    (n,) = struct.unpack_from("!H", body, p)
    ciphers = [struct.unpack_from("!H", body, p + 2 + i)[0] for i in range(0, n, 2)]
    p += 2 + n
    p += 1 + body[p]  # compression methods
    sni, alpn, versions, exts = None, None, [], []
    if p + 2 <= len(body):
        (total,) = struct.unpack_from("!H", body, p)
        p += 2
        end = p + total
        while p + 4 <= end:
            etype, elen = struct.unpack_from("!HH", body, p)
            data = body[p + 4 : p + 4 + elen]
            p += 4 + elen
            exts.append(etype)
            if etype == 0:  # server_name
                q = 2
                while q + 3 <= len(data):
                    ntype = data[q]
                    (nlen,) = struct.unpack_from("!H", data, q + 1)
                    if ntype == 0:
                        sni = data[q + 3 : q + 3 + nlen].decode("ascii", "replace")
                    q += 3 + nlen
            elif etype == 16:  # ALPN
                alpn = []
                q = 2
                while q < len(data):
                    ln = data[q]
                    alpn.append(bytes(data[q + 1 : q + 1 + ln]))
                    q += 1 + ln
            elif etype == 43 and data:  # supported_versions (client form)
                ln = data[0]
                versions = [struct.unpack_from("!H", data, 1 + i)[0] for i in range(0, ln, 2)]
    return ClientHello(legacy_version, sni, alpn, versions, ciphers, exts)


def peek_client_hello(sock: socket.socket, timeout: float = 5.0) -> tuple[ClientHello | None, bytes]:
    """Peek (without consuming) at the first TLS records on ``sock`` until the whole
    ClientHello is visible. Returns ``(hello or None, first bytes seen)``; None when the
    client sent something that is not a TLS handshake record, or nothing in time."""
    deadline = time.monotonic() + min(timeout, MAX_TIMEOUT)
    data = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, data
        try:
            sock.settimeout(remaining)
            data = sock.recv(1 << 16, socket.MSG_PEEK)
        except OSError:
            return None, data
        if not data:
            return None, data
        if data[0] != 0x16:
            return None, data[:64]
        # reassemble handshake bytes from as many whole records as are visible
        hs, p = b"", 0
        while p + 5 <= len(data) and data[p] == 0x16:
            (rlen,) = struct.unpack_from("!H", data, p + 3)
            if p + 5 + rlen > len(data):
                break
            hs += data[p + 5 : p + 5 + rlen]
            p += 5 + rlen
        if len(hs) >= 4 and len(hs) >= 4 + int.from_bytes(hs[1:4], "big"):
            try:
                return parse_client_hello(hs), data[:64]
            except (ValueError, IndexError, struct.error):
                return None, data[:64]
        time.sleep(0.005)  # MSG_PEEK returns at once while data is pending: don't spin


# --------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------


@dataclass
class Leaf:
    name: str
    cert: Path  # the leaf (and, for chained leaves, its intermediates): what the server sends
    key: Path

    def __iter__(self):
        return iter((self.cert, self.key))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


class CertSet:
    """All test certificates, as files in ``root``.

    Server leaves (``self.leaf[name]``, issued by the trusted test CA ``ca_pem``
    unless said otherwise):

    ======================  =============================================================
    ``localhost``           DNS:localhost (CN localhost, O=LEAF_ORG)
    ``ip``                  IP:127.0.0.1 only
    ``localhost_ip``        DNS:localhost, IP:127.0.0.1, IP:::1
    ``other``               DNS:other.test only
    ``expired``             DNS:localhost, IP:127.0.0.1, not_after yesterday
    ``notyet``              DNS:localhost, IP:127.0.0.1, not_before tomorrow
    ``untrusted``           DNS:localhost, IP:127.0.0.1, issued by a CA nobody trusts
    ``selfsigned``          DNS:localhost, IP:127.0.0.1, self-signed (``cryptography``)
    ``chain``               leaf from an intermediate CA, served with the intermediate
    ``chain_leafonly``      the same leaf served without the intermediate
    ``noca_issuer``         leaf "issued" by a CA:FALSE leaf of the test CA (invalid CA)
    ======================  =============================================================

    Client side: ``client_ca_pem`` (the CA the mTLS servers trust), ``client_cert``,
    ``client_key`` (plain) and ``client_key_enc`` (PKCS#8, passphrase ``PASSPHRASE``).
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA(organization_name=CA_ORG)
        self.ca_pem = self.root / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_pem))
        self.ca_dir = self.root / "ca-dir"  # OpenSSL hashed directory form (SSL_CERT_DIR)
        self.ca_dir.mkdir(exist_ok=True)
        self._write_hashed(self.ca_dir, self.ca_pem)

        self.other_ca = trustme.CA(organization_name="wsc-untrusted-ca-org")
        self.other_ca_pem = self.root / "other-ca.pem"
        self.other_ca.cert_pem.write_to_path(str(self.other_ca_pem))

        self.leaf: dict[str, Leaf] = {}
        now = _now()
        day = dt.timedelta(days=1)
        self._issue("localhost", self.ca, "localhost", common_name="localhost", organization_name=LEAF_ORG)
        self._issue("ip", self.ca, "127.0.0.1")
        self._issue("localhost_ip", self.ca, "localhost", "127.0.0.1", "::1", organization_name=LEAF_ORG)
        self._issue("other", self.ca, "other.test", common_name="other.test")
        self._issue("expired", self.ca, "localhost", "127.0.0.1", not_before=now - 30 * day, not_after=now - day)
        self._issue("notyet", self.ca, "localhost", "127.0.0.1", not_before=now + day, not_after=now + 30 * day)
        self._issue("untrusted", self.other_ca, "localhost", "127.0.0.1")
        self._selfsigned("selfsigned")
        inter = self.ca.create_child_ca()
        self._issue("chain", inter, "localhost", "127.0.0.1")
        chained = self.leaf["chain"]
        leaf_only = self.root / "chain_leafonly.pem"
        leaf_only.write_bytes(trustme_leaf_pem(chained.cert.read_bytes()))
        self.leaf["chain_leafonly"] = Leaf("chain_leafonly", leaf_only, chained.key)
        self._noca_issuer("noca_issuer")

        # client certificates (mTLS)
        self.client_ca = trustme.CA(organization_name=CLIENT_CA_ORG)
        self.client_ca_pem = self.root / "client-ca.pem"
        self.client_ca.cert_pem.write_to_path(str(self.client_ca_pem))
        client = self.client_ca.issue_cert("wsc-client@example.test", common_name="wsc-client",
                                           organization_name=CLIENT_ORG)
        self.client_cert = self.root / "client.pem"
        self.client_key = self.root / "client.key"
        self.client_key_enc = self.root / "client-enc.key"
        for blob in client.cert_chain_pems[:1]:
            blob.write_to_path(str(self.client_cert))
        client.private_key_pem.write_to_path(str(self.client_key))
        key = serialization.load_pem_private_key(client.private_key_pem.bytes(), password=None)
        self.client_key_enc.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(PASSPHRASE.encode()),
            )
        )
        # a client cert from a CA the server does not trust
        stranger = self.other_ca.issue_cert("stranger@example.test", common_name="stranger")
        self.stranger_cert = self.root / "stranger.pem"
        self.stranger_key = self.root / "stranger.key"
        stranger.cert_chain_pems[0].write_to_path(str(self.stranger_cert))
        stranger.private_key_pem.write_to_path(str(self.stranger_key))

    # ---- minting helpers
    def _issue(self, name: str, ca: trustme.CA, *identities: str, **kw) -> Leaf:
        lc = ca.issue_cert(*identities, **kw)
        cert = self.root / f"{name}.pem"
        key = self.root / f"{name}.key"
        cert.write_bytes(b"".join(b.bytes() for b in lc.cert_chain_pems))
        lc.private_key_pem.write_to_path(str(key))
        self.leaf[name] = Leaf(name, cert, key)
        return self.leaf[name]

    def _selfsigned(self, name: str) -> Leaf:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "wsc-selfsigned-org"),
                             x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return self._write(name, cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))

    def _noca_issuer(self, name: str) -> Leaf:
        """A leaf signed with the key of an ordinary (CA:FALSE) leaf of the trusted CA."""
        fake_ca = self.ca.issue_cert("fake-ca.test", common_name="fake intermediate")
        fake_ca_cert = x509.load_pem_x509_certificate(fake_ca.cert_chain_pems[0].bytes())
        fake_ca_key = serialization.load_pem_private_key(fake_ca.private_key_pem.bytes(), password=None)
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(fake_ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(fake_ca_key, hashes.SHA256())
        )
        chain = cert.public_bytes(serialization.Encoding.PEM) + fake_ca_cert.public_bytes(serialization.Encoding.PEM)
        return self._write(name, chain, _key_pem(key))

    def _write(self, name: str, cert_pem: bytes, key_pem: bytes) -> Leaf:
        cert = self.root / f"{name}.pem"
        key = self.root / f"{name}.key"
        cert.write_bytes(cert_pem)
        key.write_bytes(key_pem)
        self.leaf[name] = Leaf(name, cert, key)
        return self.leaf[name]

    @staticmethod
    def _write_hashed(directory: Path, pem: Path) -> None:
        h = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(pem)], capture_output=True,
                           timeout=10, check=True).stdout.decode().strip()
        (directory / f"{h}.0").write_bytes(pem.read_bytes())

    # ---- contexts
    def server_context(
        self,
        name: str = "localhost_ip",
        *,
        alpn: tuple[str, ...] | None = ("http/1.1",),
        min_version: ssl.TLSVersion | None = None,
        max_version: ssl.TLSVersion | None = None,
        client_ca: Path | None = None,
        client_cert_required: bool = True,
    ) -> ssl.SSLContext:
        """A server-side context for leaf ``name``. ``client_ca``: ask for a client cert
        (required unless ``client_cert_required`` is False) verified against that CA."""
        leaf = self.leaf[name]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(leaf.cert), str(leaf.key))
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        if min_version is not None:
            ctx.minimum_version = min_version
        if max_version is not None:
            ctx.maximum_version = max_version
        if client_ca is not None:
            ctx.load_verify_locations(cafile=str(client_ca))
            ctx.verify_mode = ssl.CERT_REQUIRED if client_cert_required else ssl.CERT_OPTIONAL
        return ctx

    def client_context(self, *, cafile: Path | None = None, check_hostname: bool = True) -> ssl.SSLContext:
        """A client context trusting the test CA (for the peer self-tests)."""
        ctx = ssl.create_default_context(cafile=str(cafile or self.ca_pem))
        ctx.check_hostname = check_hostname
        if not check_hostname:
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


def trustme_leaf_pem(chain_pem: bytes) -> bytes:
    """The first certificate of a PEM chain."""
    end = b"-----END CERTIFICATE-----"
    i = chain_pem.index(end) + len(end)
    return chain_pem[:i] + b"\n"


# --------------------------------------------------------------------------
# Per-connection TLS record
# --------------------------------------------------------------------------


@dataclass
class TlsInfo:
    hello: ClientHello | None = None  # parsed ClientHello (None: not TLS / nothing)
    first_bytes: bytes = b""  # the first bytes the client sent (peeked)
    sni_callback_called: bool = False
    sni: str | None = None  # what sni_callback saw (None: no SNI sent)
    handshake_ok: bool = False
    handshake_error: str | None = None
    version: str | None = None  # e.g. "TLSv1.3"
    cipher: str | None = None  # e.g. "TLS_AES_256_GCM_SHA384"
    selected_alpn: str | None = None
    peer_cert: dict | None = None  # the client's certificate (mTLS), ssl.getpeercert() form
    app_bytes: int = 0  # decrypted bytes received from the client (TlsEvil only; TlsRef leaves 0)

    @property
    def offered_alpn(self) -> list[bytes] | None:
        return self.hello.alpn if self.hello else None


def _sni_recorder(ssl_obj, server_name, ctx) -> None:
    """``sni_callback``: remember what OpenSSL saw on the SSLSocket/SSLObject."""
    try:
        ssl_obj._tlsp_sni = (True, server_name)
    except AttributeError:  # pragma: no cover
        pass
    return None


def subject_text(cert: dict | None) -> str:
    if not cert:
        return ""
    return ", ".join(f"{k}={v}" for rdn in cert.get("subject", ()) for k, v in rdn)


# --------------------------------------------------------------------------
# TLSP = EVIL over TLS
# --------------------------------------------------------------------------


class _TlsSock:
    """Wrap an SSLSocket so that EVIL's socket habits work on it: non-blocking reads
    raise BlockingIOError (not SSLWantReadError), ``MSG_PEEK`` is emulated with a
    local buffer, and every decrypted byte received is counted."""

    def __init__(self, ssock: ssl.SSLSocket, info: TlsInfo):
        self._s = ssock
        self._info = info
        self._peeked = bytearray()

    def __getattr__(self, name):
        return getattr(self._s, name)

    def _recv_raw(self, n: int) -> bytes:
        try:
            data = self._s.recv(n)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise BlockingIOError("TLS: no data") from None
        except ssl.SSLZeroReturnError:
            return b""
        self._info.app_bytes += len(data)
        return data

    def recv(self, n: int, flags: int = 0) -> bytes:
        if flags & socket.MSG_PEEK:
            if not self._peeked:
                data = self._recv_raw(n)
                if not data:
                    return b""
                self._peeked += data
            return bytes(self._peeked[:n])
        if self._peeked:
            out = bytes(self._peeked[:n])
            del self._peeked[:n]
            return out
        return self._recv_raw(n)

    def send(self, data) -> int:
        try:
            return self._s.send(data)
        except ssl.SSLWantWriteError:
            raise BlockingIOError("TLS: would block") from None

    def sendall(self, data) -> None:
        self._s.sendall(data)

    def close(self) -> None:
        """Close TCP *without* close_notify (SSLSocket.close never sends one)."""
        self._s.close()

    def close_notify(self, timeout: float = 1.0) -> None:
        """Send close_notify (SSL_shutdown) but keep TCP open. SSL_shutdown writes the
        alert first and then waits for the peer's; that wait may fail (the peer sends
        data or nothing), which does not matter here."""
        try:
            self._s.settimeout(timeout)
            self._s._sslobj.shutdown()
        except (OSError, ValueError, AttributeError):
            pass


class TlsEvil(Evil):
    """EVIL behind TLS. ``ctx`` is a server ``ssl.SSLContext`` (its ``sni_callback`` is
    replaced by a recorder). Each connection: peek the ClientHello, handshake (bounded
    by ``handshake_timeout``), then run ``script(conn)`` on the decrypted stream.
    ``conn.tls`` is the :class:`TlsInfo`; on a failed handshake the script is not run."""

    def __init__(self, script=None, *, ctx: ssl.SSLContext, handshake_timeout: float = 5.0, **kw):
        ctx.sni_callback = _sni_recorder
        self.ctx = ctx
        self.handshake_timeout = handshake_timeout
        self.handshakes_done = threading.Event()
        super().__init__(script, **kw)

    def url(self, path: str = "/", scheme: str = "wss", host: str | None = None) -> str:
        return f"{scheme}://{host or self.hostport.rsplit(':', 1)[0]}:{self.port}{path}"

    def _run(self, c: EvilConn) -> None:
        try:
            ok = self._tls_accept(c)
        except BaseException as e:  # a bug here: surfaced by wait() like a script error
            c.error = e
            c.close()
            return
        if ok:
            super()._run(c)

    def _tls_accept(self, c: EvilConn) -> bool:
        """Peek the ClientHello and do the server handshake. False if it failed."""
        info = TlsInfo()
        c.tls = info
        raw = c.sock
        info.hello, info.first_bytes = peek_client_hello(raw, self.handshake_timeout)
        ssock = None
        try:
            raw.settimeout(self.handshake_timeout)
            ssock = self.ctx.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
            ssock.do_handshake()
        except (OSError, ValueError) as e:
            info.handshake_error = f"{type(e).__name__}: {e}"
            c.log(f"TLS handshake failed: {info.handshake_error}")
            for s in (ssock, raw):
                try:
                    if s is not None:
                        s.close()
                except OSError:
                    pass
            self.handshakes_done.set()
            return False
        finally:
            sni = getattr(ssock, "_tlsp_sni", None)
            if sni is not None:
                info.sni_callback_called, info.sni = sni
        info.handshake_ok = True
        info.version = ssock.version()
        info.cipher = (ssock.cipher() or (None,))[0]
        info.selected_alpn = ssock.selected_alpn_protocol()
        info.peer_cert = ssock.getpeercert() or None
        c.sock = _TlsSock(ssock, info)
        self.handshakes_done.set()
        c.log("tls handshake done")
        return True


# --------------------------------------------------------------------------
# TLSP = REF over TLS
# --------------------------------------------------------------------------


class TlsRef(Ref):
    """REF served with ``ssl=ctx``. ``rec.tls`` is a :class:`TlsInfo` for each
    connection that completed the TLS handshake; ``self.hellos`` lists every
    ClientHello seen (also those of failed handshakes)."""

    def __init__(self, handler, *, ctx: ssl.SSLContext, **kw):
        self.ctx = ctx
        self.hellos: list[ClientHello] = []
        ctx.sni_callback = _sni_recorder
        ctx._msg_callback = self._msg  # OpenSSL's SSL_CTX_set_msg_callback (debug hook)

        async def wrapped(ws, rec: RefConn) -> None:
            rec.tls = self._info(ws)
            await handler(ws, rec)

        super().__init__(wrapped, ssl=ctx, **kw)

    def _msg(self, conn, direction, version, content_type, msg_type, data) -> None:
        try:
            if direction == "read" and int(content_type) == 22 and data and data[0] == 1:
                hello = parse_client_hello(bytes(data))
                self.hellos.append(hello)
                conn._tlsp_hello = hello
        except Exception:  # never break the handshake from a debug hook
            pass

    @staticmethod
    def _info(ws) -> TlsInfo:
        info = TlsInfo(handshake_ok=True)
        obj = ws.transport.get_extra_info("ssl_object") if ws.transport else None
        if obj is not None:
            info.hello = getattr(obj, "_tlsp_hello", None)
            sni = getattr(obj, "_tlsp_sni", None)
            if sni is not None:
                info.sni_callback_called, info.sni = sni
            info.version = obj.version()
            info.cipher = (obj.cipher() or (None,))[0]
            info.selected_alpn = obj.selected_alpn_protocol()
            info.peer_cert = obj.getpeercert() or None
        return info

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"wss://{host}:{self.port}{path}"


# --------------------------------------------------------------------------
# openssl s_server
# --------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class SServer:
    """``openssl s_server`` on 127.0.0.1:<free port> with extra ``args``; output
    collected in ``self.output``. Killed by :meth:`close`."""

    def __init__(self, args: list[str], *, ready_timeout: float = 5.0):
        last = b""
        for _ in range(5):  # the free port may be taken in between: retry
            self.port = free_port()
            self.argv = ["openssl", "s_server", "-accept", f"127.0.0.1:{self.port}", *map(str, args)]
            self.output = bytearray()
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT)
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
            deadline = time.monotonic() + ready_timeout
            while time.monotonic() < deadline and b"ACCEPT" not in self.output and self.proc.poll() is None:
                time.sleep(0.01)
            if b"ACCEPT" in self.output:
                return
            last = bytes(self.output)
            self.close()
        raise RuntimeError(f"openssl s_server did not start: {' '.join(self.argv)}\n{last.decode(errors='replace')}")

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
            except (OSError, ValueError):
                break
            if not chunk:
                break
            self.output += chunk

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"wss://{host}:{self.port}{path}"

    @property
    def text(self) -> str:
        return bytes(self.output).decode("utf-8", "replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        self._reader.join(2)  # EOF once the process is gone
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except (OSError, AttributeError):
                pass

    def __enter__(self) -> "SServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
