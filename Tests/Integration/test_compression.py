"""permessage-deflate (RFC 7692): CHECKLIST §1 O1–O10 and §3 cases 47–52, plus interop
with Python ``websockets`` servers with compression on and off."""

from __future__ import annotations

import os
import zlib

import pytest

from helpers import EXIT_HANDSHAKE, EXIT_OK, EXIT_PROTOCOL, FAST, STAY, assert_failed_with, evil_session
from peers import evil as E
from peers import ref as R

MiB = 1024  # ru_maxrss is in KiB
PMD = "Sec-WebSocket-Extensions: permessage-deflate"
CLOSE_NOW = E.close_frame(1000)


def deflate(data: bytes, wbits: int = -15, level: int = 9) -> bytes:
    """A message payload as RFC 7692 §7.2.1 sends it: sync flush, tail removed."""
    c = zlib.compressobj(level, zlib.DEFLATED, wbits)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def inflate_all(payloads: list[bytes], wbits: int = -15, fresh_each: bool = False) -> list[bytes]:
    """Inflate client messages the way a strict server does (shared context unless ``fresh_each``)."""
    d = zlib.decompressobj(wbits)
    out = []
    for p in payloads:
        if fresh_each:
            d = zlib.decompressobj(wbits)
        out.append(d.decompress(p + b"\x00\x00\xff\xff"))
    return out


def pmd_session(run_wsc, evil, payload: bytes, args=(), *, ext: str = PMD, **kw):
    return evil_session(run_wsc, evil, payload, args, handshake_kw={"extra": [ext]}, **kw)


# --------------------------------------------------------------------------
# Negotiation
# --------------------------------------------------------------------------


def test_O1_offer_in_request_and_ignored_offer_means_no_rsv1(run_wsc, evil):
    """O1: the request offers ``permessage-deflate; client_max_window_bits``; EVIL ignores it →
    every client frame has RSV1 = 0 and the payload is plain."""
    r, c = evil_session(run_wsc, evil, b"", input=b"hello\nworld\n\n", base=["-w", "0.3"] + FAST)
    # Two offers in order of preference (RFC 7692 §5.1): the second lets a server that
    # insists on client_no_context_takeover (Autobahn 13.2, 13.5, 13.6) agree at all.
    assert c.request.get("Sec-WebSocket-Extensions") == (
        "permessage-deflate; client_max_window_bits, permessage-deflate; client_no_context_takeover; client_max_window_bits"
    )
    assert r.rc == EXIT_OK, r
    assert c.texts() == [b"hello", b"world", b""]
    assert all(f.rsv == 0 for f in c.frames), c.frames


def test_no_compression_flag_sends_no_offer(run_wsc, evil):
    """--no-compression: no Sec-WebSocket-Extensions header at all, and plain frames."""
    r, c = evil_session(run_wsc, evil, b"", ["--no-compression"], input=b"hi\n", base=["-w", "0.3"] + FAST)
    assert c.request.get("Sec-WebSocket-Extensions") is None
    assert r.rc == EXIT_OK, r
    assert c.texts() == [b"hi"] and all(f.rsv == 0 for f in c.frames)


@pytest.mark.parametrize(
    "params",
    [
        "; foo",
        "; foo=1",
        "; server_max_window_bits=7",
        "; server_max_window_bits=16",
        "; server_max_window_bits=08",
        "; server_max_window_bits=abc",
        "; server_max_window_bits",
        "; server_no_context_takeover; server_no_context_takeover",
        "; client_max_window_bits=10; client_max_window_bits=10",
        "; client_no_context_takeover=1",
        "; client_max_window_bits",
        "; client_max_window_bits=16",
        ", permessage-deflate",
    ],
)
def test_O2_O3_case47_bad_response_parameters_exit_6(run_wsc, evil, params):
    """O2/O3/#47: an unknown, repeated or malformed parameter, a value-less client_max_window_bits,
    or two permessage-deflate elements → handshake class (6), nothing sent."""
    r, c = pmd_session(run_wsc, evil, b"", ext=PMD + params, input=b"x\n", base=FAST, collect=1)
    assert r.rc == EXIT_HANDSHAKE, r
    assert "permessage-deflate" in r.stderr, r
    assert c.data_frames() == [], c.frames


def test_O3_client_max_window_bits_when_not_offered(run_wsc, evil):
    """O3/#47: client_max_window_bits in the response when the offer had none. wsc always offers it,
    so the case is shown with an offer sent through -H and compression off: not offered by wsc → 6."""
    r, c = pmd_session(
        run_wsc, evil, b"", ["--no-compression"], ext=PMD + "; client_max_window_bits=10", base=FAST, collect=1
    )
    assert r.rc == EXIT_HANDSHAKE, r


def test_verbose_prints_negotiated_parameters(run_wsc, evil):
    """-v prints the agreed parameters."""
    r, c = pmd_session(
        run_wsc, evil, E.frame(1, deflate(b"Hello"), rsv=4) + CLOSE_NOW, ["-v"],
        ext=PMD + "; server_no_context_takeover; client_max_window_bits=15",
    )
    assert r.rc == EXIT_OK, r
    assert "* permessage-deflate: server_no_context_takeover, client_max_window_bits=15" in r.stderr, r
    assert r.out == b"Hello\n", r


# --------------------------------------------------------------------------
# Receiving (O6, O7, O9, O10)
# --------------------------------------------------------------------------

VECTORS = {
    "one-block": "c1 07 f2 48 cd c9 c9 07 00",
    "stored": "c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00",
    "bfinal": "c1 08 f3 48 cd c9 c9 07 00 00",
    "two-blocks": "c1 0d f2 48 05 00 00 00 ff ff ca c9 c9 07 00",
    "fragmented": "41 03 f2 48 cd 80 04 c9 c9 07 00",
    "takeover": "c1 07 f2 48 cd c9 c9 07 00 c1 05 f2 00 11 00 00",
}


@pytest.mark.parametrize("name", list(VECTORS))
def test_O7_case48_rfc7692_vectors_print_hello(run_wsc, evil, name):
    """O7/#48: the RFC 7692 §7.2.3 examples all print Hello (takeover: twice)."""
    r, c = pmd_session(run_wsc, evil, E.hx(VECTORS[name]) + CLOSE_NOW)
    assert r.rc == EXIT_OK, r
    assert r.out == b"Hello\n" * (2 if name == "takeover" else 1), r


@pytest.mark.parametrize("payload", ["c9 00", "41 03 f2 48 cd c0 04 c9 c9 07 00"], ids=["ping", "continuation"])
def test_O6_case49_rsv1_on_ping_or_continuation_1002(run_wsc, evil, payload):
    """O6/#49: RSV1 on a ping or on a continuation → 1002, exit 7."""
    r, c = pmd_session(run_wsc, evil, E.hx(payload))
    assert_failed_with(r, c, 1002)
    assert r.out == b"", r


@pytest.mark.parametrize(
    "payload,ext",
    [
        ("c1 02 ff ff", PMD),
        ("c1 07 f2 48 cd c9 c9 07 00 c1 05 f2 00 11 00 00", PMD + "; server_no_context_takeover"),
    ],
    ids=["corrupt", "backref-after-no-context-takeover"],
)
def test_O10_case51_corrupt_or_backreference_1002(run_wsc, evil, payload, ext):
    """O10/#51: corrupt deflate data, or a back-reference into the previous message after
    server_no_context_takeover → 1002 (exit 7), no crash; the message before is printed."""
    r, c = pmd_session(run_wsc, evil, E.hx(payload), ext=ext)
    assert_failed_with(r, c, 1002)
    assert r.out == (b"Hello\n" if "backref" in ext or "server_no" in ext else b""), r
    assert b"Fatal error" not in r.err


_BOMB: bytes | None = None


def bomb() -> bytes:
    """≈1 MiB of deflate data that inflates to 1 GiB of zeros."""
    global _BOMB
    if _BOMB is None:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        chunk = bytes(64 << 20)
        parts = [c.compress(chunk) for _ in range(16)]
        _BOMB = b"".join(parts) + c.flush(zlib.Z_SYNC_FLUSH)[:-4]
    return _BOMB


def test_O9_case50_deflate_bomb_1009_memory_bounded(run_wsc, evil):
    """O9/#50: ≈1 MiB that inflates to 1 GiB, --max-message-size 16M → 1009, exit 7, nothing printed,
    RSS < 2 × max + 32 MiB."""
    b = bomb()
    assert len(b) < 2 << 20
    r, c = pmd_session(run_wsc, evil, E.frame(2, b, rsv=4), ["--max-message-size", "16M"], timeout=30)
    assert_failed_with(r, c, 1009)
    assert r.out == b"", r
    assert r.maxrss_kib < (2 * 16 + 32) * MiB, r


@pytest.mark.parametrize("size,ok", [(1024, True), (1025, False)])
@pytest.mark.parametrize("fragmented", [False, True])
def test_O9_case50_boundary_exact_limit_accepted_never_truncated(run_wsc, evil, size, ok, fragmented):
    """O9/#50 (websockets #1715): a compressed message inflating to exactly max is printed whole;
    max + 1 → 1009, nothing printed."""
    data = (b"abcdefgh" * 200)[:size]
    p = deflate(data)
    if fragmented:
        frames = E.frame(1, p[:3], fin=False, rsv=4) + E.cont(p[3:])
    else:
        frames = E.frame(1, p, rsv=4)
    r, c = pmd_session(run_wsc, evil, frames + (CLOSE_NOW if ok else b""), ["--max-message-size", "1K"])
    if ok:
        assert r.rc == EXIT_OK, r
        assert r.out == data + b"\n", r
    else:
        assert_failed_with(r, c, 1009)
        assert r.out == b"", r


def test_invalid_utf8_after_inflating_1007(run_wsc, evil):
    """Text is validated after decompression: invalid UTF-8 inside → 1007."""
    r, c = pmd_session(run_wsc, evil, E.frame(1, deflate(b"ok \xff"), rsv=4))
    assert_failed_with(r, c, 1007)


# --------------------------------------------------------------------------
# Sending (O3, O5, O8)
# --------------------------------------------------------------------------


def _lines(n: int) -> list[bytes]:
    return [f"message {i} ".encode() + b"lorem ipsum dolor " * (i % 13) for i in range(n)]


def _collect_n(n: int, ext: str):
    def script(c: E.EvilConn) -> None:
        if c.read_request() is None:
            return
        c.send(c.respond_101(extra=[ext]))
        c.collect(20, on_frame=lambda f: None)

    return script


def test_O3_case52_client_window_9_strict_inflater(run_wsc, evil):
    """O3/#52: EVIL answers client_max_window_bits=9 → it inflates all 1 000 client messages
    with wbits = -9 (one shared context), and each has RSV1 on its single frame."""
    lines = _lines(1000)
    ev = evil(_collect_n(1000, PMD + "; client_max_window_bits=9"))
    r = run_wsc([ev.url(), "-w", "0.5", *FAST], input=b"\n".join(lines) + b"\n", timeout=30)
    ev.wait()
    c = ev.conn
    assert r.rc == EXIT_OK, r
    frames = c.data_frames()
    assert len(frames) == 1000 and all(f.rsv == 4 and f.fin for f in frames)
    assert inflate_all([f.payload for f in frames], wbits=-9) == lines


def test_O5_client_no_context_takeover_fresh_inflater(run_wsc, evil):
    """O5: EVIL answers client_no_context_takeover → each message inflates with a fresh inflater."""
    lines = _lines(50)
    ev = evil(_collect_n(50, PMD + "; client_no_context_takeover"))
    r = run_wsc([ev.url(), "-w", "0.3", *FAST], input=b"\n".join(lines) + b"\n")
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert inflate_all([f.payload for f in ev.conn.data_frames()], fresh_each=True) == lines


def test_O8_empty_message_is_single_zero_byte(run_wsc, evil):
    """O8: an empty line goes out as the payload ``00`` with RSV1."""
    ev = evil(_collect_n(1, PMD))
    r = run_wsc([ev.url(), "-w", "0.3", *FAST], input=b"\n")
    ev.wait()
    assert r.rc == EXIT_OK, r
    f = ev.conn.data_frames()
    assert [(x.rsv, x.payload) for x in f] == [(4, b"\x00")]


def test_client_window_8_sends_uncompressed(run_wsc, evil):
    """client_max_window_bits=8: zlib cannot compress with a raw 8-bit window, so wsc accepts the
    answer but sends every message uncompressed (RSV1 = 0), which RFC 7692 §6 allows."""
    ev = evil(_collect_n(2, PMD + "; client_max_window_bits=8"))
    r = run_wsc([ev.url(), "-w", "0.3", *FAST], input=b"aaaa aaaa aaaa\nbbbb\n")
    ev.wait()
    assert r.rc == EXIT_OK, r
    assert [(f.rsv, f.payload) for f in ev.conn.data_frames()] == [(0, b"aaaa aaaa aaaa"), (0, b"bbbb")]


# --------------------------------------------------------------------------
# Interop with Python websockets, compression on and off
# --------------------------------------------------------------------------

SIZES = [0, 1, 125, 126, 65_535, 65_536, 1 << 20, 16 << 20]


def _payloads() -> list[str | bytes]:
    rnd = os.urandom(1 << 16)
    out: list[str | bytes] = []
    for n in SIZES:
        text = ("wsc κόσμε " * (n // 13 + 1)).encode()[:n].decode("utf-8", "ignore")
        out.append(text)
        # Binary: a compressible pattern interleaved with random bytes.
        b = bytearray(n)
        b[0::2] = (rnd * (n // len(rnd) + 2))[: len(b[0::2])]
        b[1::2] = bytes(i & 0x3F for i in range(256)) * (len(b[1::2]) // 256) + bytes(range(len(b[1::2]) % 256))
        out.append(bytes(b))
    return out


def _echo_check(msgs, seen: dict):
    async def handler(ws, rec):
        seen["extensions"] = [e.name for e in ws.protocol.extensions]
        for m in msgs:
            await ws.send(m)
            got = await ws.recv()
            rec.messages.append(got)
        await ws.close(1000)

    return handler


@pytest.mark.parametrize("compression", ["deflate", None], ids=["deflate", "plain"])
@pytest.mark.parametrize("client_compression", [True, False], ids=["offered", "no-compression"])
def test_interop_websockets_round_trip_0B_to_16MiB(run_wsc, ref, compression, client_compression):
    """REF (websockets, compression on/off) sends text and binary messages of 0 B … 16 MiB; wsc --echo
    returns them; every one comes back byte-exact and of the same type."""
    msgs = _payloads()
    seen: dict = {}
    srv = ref(_echo_check(msgs, seen), compression=compression)
    args = [srv.url(), "--echo", *FAST] + ([] if client_compression else ["--no-compression"])
    r = run_wsc(args, timeout=120)
    srv.wait(30)
    assert r.rc == EXIT_OK, r
    expected = ["permessage-deflate"] if (compression and client_compression) else []
    assert seen["extensions"] == expected
    got = srv.conn.messages
    assert len(got) == len(msgs)
    for m, g in zip(msgs, got):
        assert type(m) is type(g) and m == g, (type(m), len(m), len(g))


@pytest.mark.parametrize(
    "server_kw",
    [
        {"server_max_window_bits": 10, "client_max_window_bits": 9},
        {"server_no_context_takeover": True, "client_no_context_takeover": True},
    ],
    ids=["windows-10-9", "no-context-takeover"],
)
def test_interop_websockets_deflate_parameters(run_wsc, ref, server_kw):
    """REF with limited windows or no context takeover: the pipe round trip stays exact."""
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

    lines = [l.decode() for l in _lines(200)]
    srv = ref(R.echo, compression=None, extensions=[ServerPerMessageDeflateFactory(**server_kw)])
    r = run_wsc([srv.url(), "-w", "1", *FAST], input=("\n".join(lines) + "\n").encode(), timeout=30)
    assert r.rc == EXIT_OK, r
    assert r.out.decode().splitlines() == lines


# --------------------------------------------------------------------------
# --compression: the offer, for people testing servers (issue 15)
# --------------------------------------------------------------------------


def test_first_offer_accepted_keeps_context_takeover(run_wsc, evil):
    """The server answers plain permessage-deflate: the first offer, so the second identical
    message refers back into the first (it is shorter), and a shared inflater reads both."""
    line = b"the same line, long enough to be worth a back reference"
    ev = evil(_collect_n(2, PMD))
    r = run_wsc([ev.url(), "-w", "0.3", *FAST], input=line + b"\n" + line + b"\n")
    ev.wait()
    assert r.rc == EXIT_OK, r
    payloads = [f.payload for f in ev.conn.data_frames()]
    assert len(payloads[1]) < len(payloads[0]), payloads
    assert inflate_all(payloads) == [line, line]


@pytest.mark.parametrize(
    "spec, offer",
    [
        ("client_max_window_bits=10; server_no_context_takeover", "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"),
        ("client_no_context_takeover", "permessage-deflate; client_no_context_takeover"),
        ("server_max_window_bits=9;client_max_window_bits", "permessage-deflate; server_max_window_bits=9; client_max_window_bits"),
        ("default", "permessage-deflate; client_max_window_bits, permessage-deflate; client_no_context_takeover; client_max_window_bits"),
        ("off", None),
    ],
)
def test_compression_spec_is_offered_as_given(run_wsc, evil, spec, offer):
    r, c = evil_session(run_wsc, evil, b"", ["--compression", spec], input=b"hi\n", base=["-w", "0.3"] + FAST)
    assert r.rc == EXIT_OK, r
    assert c.request.get("Sec-WebSocket-Extensions") == offer


def test_compression_no_context_takeover_offered_compresses_each_message_alone(run_wsc, evil):
    line = b"the same line, long enough to be worth a back reference"
    ev = evil(_collect_n(2, PMD))
    r = run_wsc([ev.url(), "--compression", "client_no_context_takeover", "-w", "0.3", *FAST], input=line + b"\n" + line + b"\n")
    ev.wait()
    assert r.rc == EXIT_OK, r
    payloads = [f.payload for f in ev.conn.data_frames()]
    # We promised in the offer: each message stands alone, whatever the server answered.
    assert payloads[0] == payloads[1]
    assert inflate_all(payloads, fresh_each=True) == [line, line]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--compression", "client_max_window_bits=16"], b"--compression: client_max_window_bits needs a window size 8"),
        (["--compression", "foo"], b'--compression: "foo" is not a permessage-deflate parameter'),
        (["--compression", "server_no_context_takeover; server_no_context_takeover"], b"given twice"),
        (["--compression", "off", "--no-compression"], b"give --no-compression or --compression, not both"),
    ],
)
def test_compression_usage_errors(run_wsc, args, message):
    r = run_wsc([*args, "ws://127.0.0.1:9/"], timeout=5)
    assert r.rc == 64, r
    assert message in r.err, r
