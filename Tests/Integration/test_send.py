"""CHECKLIST §1 H (sending frames), §3 cases 68–70, and the sending/handshake
options of the CLI contract (-x, -b, -0, -H, -o, --auth, --host, -s,
--close-code, --close-reason)."""

from __future__ import annotations

import base64
import threading
import time

import pytest

from helpers import EXIT_OK, EXIT_USAGE, FAST, STAY, evil_session
from peers import evil as E

CLOSE_NOW = E.close_frame(1000)
END = ["-w", "0", *FAST]  # end of input → close at once


def client_session(run_wsc, evil, args=(), input=None, *, server_payload: bytes = b"", timeout=20, collect=8.0):
    """EVIL answers the 101 (+ ``server_payload``) and records what wsc sends
    until wsc's Close (answered)."""
    return evil_session(run_wsc, evil, server_payload, args, input=input, base=END, timeout=timeout, collect=collect)


# ================================================================ H1 / H4


def test_H1_H4_every_client_frame_masked_rsv_zero(run_wsc, evil):
    """H1/H4: text, binary, pong and close frames from the client are all masked, RSV = 0."""
    r, c = client_session(run_wsc, evil, ["-x", "t1"], input=b"a\nb\n", server_payload=E.ping(b"pp"))
    assert r.rc == EXIT_OK, r
    ops = {f.opcode for f in c.frames}
    assert {E.OP_TEXT, E.OP_PONG, E.OP_CLOSE} <= ops, c.frames
    assert all(f.masked and len(f.mask_key) == 4 for f in c.frames), c.frames
    assert all(f.rsv == 0 for f in c.frames), c.frames
    r, c = client_session(run_wsc, evil, ["-b"], input=b"bin\n")
    assert r.rc == EXIT_OK, r
    assert E.OP_BINARY in {f.opcode for f in c.frames}
    assert all(f.masked and f.rsv == 0 for f in c.frames), c.frames


# ================================================================ H2 / #68


def test_H2_case68_masking_keys_fresh_and_unpredictable(run_wsc, evil):
    """H2/#68: 10 000 frames: all masked, ≤ 1 duplicate key, no equal neighbours, no arithmetic
    progression, ones-bit count within ±3σ."""
    n = 10_000
    r, c = client_session(run_wsc, evil, input=b"".join(b"%d\n" % i for i in range(n)), timeout=60, collect=10)
    assert r.rc == EXIT_OK, r
    data = [f for f in c.frames if f.opcode != E.OP_CLOSE]
    assert [f.payload for f in data] == [b"%d" % i for i in range(n)]
    assert all(f.masked for f in c.frames)
    keys = [int.from_bytes(f.mask_key, "big") for f in c.frames]
    assert len(keys) - len(set(keys)) <= 1, "duplicate masking keys"
    assert all(a != b for a, b in zip(keys, keys[1:])), "equal neighbouring keys"
    deltas = [(b - a) % (1 << 32) for a, b in zip(keys, keys[1:])]
    same = sum(1 for a, b in zip(deltas, deltas[1:]) if a == b)
    assert same <= 2, f"{same} equal consecutive differences: keys form a progression"
    ones = sum(bin(k).count("1") for k in keys)
    mean, sigma = 16 * len(keys), (32 * len(keys) * 0.25) ** 0.5
    assert abs(ones - mean) <= 3 * sigma, f"ones={ones}, expected {mean}±{3 * sigma:.0f}"
    # the mask is not a constant XOR pattern either: payload bytes on the wire differ from the text
    assert any(f.header[-4:] != b"\x00\x00\x00\x00" for f in c.frames)


# ================================================================ H3 / #69


@pytest.mark.parametrize("mode", ["text", "binary"])
def test_H3_case69_minimal_length_encoding_at_boundaries(run_wsc, evil, mode):
    """H3/#69: messages of 0, 125, 126, 127, 65535, 65536 bytes use the minimal length encoding
    (``7d``, ``7e 00 7e``, ``7e ff ff``, ``7f 00..01 00 00``), MSB of a 64-bit length 0."""
    sizes = [0, 125, 126, 127, 65535, 65536, 70000]
    args = ["-b"] if mode == "binary" else []
    r, c = client_session(run_wsc, evil, args, input=b"".join(b"a" * n + b"\n" for n in sizes))
    assert r.rc == EXIT_OK, r
    assert [len(p) for _, p in c.messages()] == sizes
    assert all(f.minimal_length for f in c.frames), [f.header.hex() for f in c.frames if not f.minimal_length]
    # when a message is a single frame, check the exact header bytes too
    expect = {0: "00", 125: "7d", 126: "7e007e", 127: "7e007f", 65535: "7effff", 65536: "7f0000000000010000"}
    for f in c.data_frames():
        if f.fin and f.opcode != E.OP_CONT and f.length in expect:
            assert (bytes([f.header[1] & 0x7F]) + f.header[2:-4]).hex() == expect[f.length], f.header.hex()


# ================================================================ H5 / #70


def test_H5_close_reason_123_bytes_utf8_sent(run_wsc, evil):
    """H5: a 122-byte UTF-8 reason (61 × 'é') and a 123-byte ASCII reason go out intact."""
    for reason in ("é" * 61, "r" * 123):
        r, c = client_session(run_wsc, evil, ["--close-reason", reason], input=b"m\n")
        assert r.rc == EXIT_OK, r
        f = c.close_frames()[0]
        assert f.close_code == 1000
        assert f.close_reason == reason.encode()
        assert f.length <= 125


@pytest.mark.parametrize("reason", ["é" * 62, "r" * 124, "é" * 100], ids=["124B-utf8", "124B-ascii", "200B-utf8"])
def test_H5_case70_close_reason_over_123_bytes_usage_error(run_wsc, evil, reason):
    """H5/#70: a close reason > 123 bytes → usage error (64), nothing on the wire."""
    ev = evil()
    r = run_wsc([ev.url(), *END, "--close-reason", reason], timeout=5)
    time.sleep(0.25)
    assert r.rc == EXIT_USAGE, r
    assert ev.accepts == 0


# ================================================================ H6


def test_H6_fragments_never_interleaved_while_pongs_interleave(run_wsc, evil):
    """H6: big messages (1–4 MiB) go out while EVIL pings every 2 ms: data frames of one message are
    never interleaved with another message; pings are all answered."""
    sizes = [4 << 20, 3, 1 << 20, 5, 2 << 20]
    lines = [bytes([97 + i]) * n for i, n in enumerate(sizes)]
    sent_pings = []

    def script(c):
        if c.read_request() is None:
            return
        c.handshake()
        stop = threading.Event()

        def pinger():
            i = 0
            while not stop.is_set() and i < 2000:
                p = b"%d" % i
                if not c.send(E.ping(p), timeout=2):
                    break
                sent_pings.append(p)
                i += 1
                time.sleep(0.002)

        t = threading.Thread(target=pinger, daemon=True)
        t.start()
        c.collect(15, on_frame=lambda f: f.opcode == E.OP_CLOSE and stop.set())
        stop.set()
        t.join(3)

    ev = evil(script)
    r = run_wsc([ev.url(), *END, "--max-message-size", "16M"], input=b"".join(l + b"\n" for l in lines), timeout=30)
    ev.wait()
    c = ev.conn
    assert r.rc == EXIT_OK, r
    in_msg = False
    for f in c.frames:
        if f.opcode in (E.OP_TEXT, E.OP_BINARY):
            assert not in_msg, "a new message started inside a fragmented one"
            in_msg = not f.fin
        elif f.opcode == E.OP_CONT:
            assert in_msg, "continuation outside a message"
            in_msg = not f.fin
        elif f.opcode in (E.OP_PING, E.OP_PONG, E.OP_CLOSE):
            assert f.fin and f.length <= 125
    assert [p for _, p in c.messages()] == lines
    pongs = [p.payload for p in c.pongs()]
    # every pong echoes a ping, in order (answering only the latest pending ping is allowed)
    assert pongs == sorted(set(pongs), key=lambda x: int(x)), pongs[:20]
    assert set(pongs) <= set(sent_pings)


# ================================================================ H9 / #70


@pytest.mark.parametrize("code", ["1005", "1006", "1015", "999", "0", "1004", "1016", "2999", "5000", "65536", "-1",
                                  "abc", "1000x"])
def test_H9_case70_invalid_close_code_usage_error(run_wsc, evil, code):
    """H9/#70: ``--close-code`` 1005/1006/1015/<1000/1004/1016–2999/≥5000 or junk → 64, nothing sent."""
    ev = evil()
    r = run_wsc([ev.url(), *END, "--close-code", code], timeout=5)
    time.sleep(0.25)
    assert r.rc == EXIT_USAGE, r
    assert ev.accepts == 0


@pytest.mark.parametrize("code", [1000, 1001, 1008, 3000, 4999])
def test_H9_valid_close_code_and_reason_sent(run_wsc, evil, code):
    """H9/contract: ``--close-code N --close-reason TEXT`` → EVIL sees that Close; acknowledged → exit 0."""
    r, c = client_session(run_wsc, evil, ["--close-code", str(code), "--close-reason", "done"], input=b"m\n")
    assert c.close_codes() == [code]
    assert c.close_frames()[0].close_reason == b"done"
    assert r.rc == EXIT_OK, r


# ================================================================ contract: -x, -b, -0, headers


def test_contract_execute_in_order_then_stdin(run_wsc, evil):
    """-x (repeatable) goes first, in order, right after the handshake; stdin lines follow."""
    r, c = client_session(run_wsc, evil, ["-x", "one", "--execute", "two", "-x", ""], input=b"three\nfour\n")
    assert r.rc == EXIT_OK, r
    assert c.texts() == [b"one", b"two", b"", b"three", b"four"]


def test_contract_execute_only(run_wsc, evil):
    """-x with stdin at EOF: the messages are sent, then Close 1000."""
    r, c = client_session(run_wsc, evil, ["-x", "solo"])
    assert r.rc == EXIT_OK, r
    assert c.texts() == [b"solo"]
    assert c.close_codes() == [1000]


def test_contract_empty_lines_and_crlf(run_wsc, evil):
    """Pipe mode: every line is one message without its newline; an empty line is an empty message."""
    r, c = client_session(run_wsc, evil, input=b"a\n\nb\nlast-without-newline")
    assert r.rc == EXIT_OK, r
    assert c.texts() == [b"a", b"", b"b", b"last-without-newline"]


def test_contract_binary_flag(run_wsc, evil):
    """-b: stdin lines are sent as binary messages (bytes kept exactly, even invalid UTF-8)."""
    r, c = client_session(run_wsc, evil, ["-b"], input=b"ab\n\xff\xfe\x00\n")
    assert r.rc == EXIT_OK, r
    assert c.messages() == [(E.OP_BINARY, b"ab"), (E.OP_BINARY, b"\xff\xfe\x00")]


def test_contract_null_separated_input(run_wsc, evil):
    """-0: stdin is split on NUL, newlines are part of the messages."""
    r, c = client_session(run_wsc, evil, ["-0"], input=b"a\x00b\nc\x00last")
    assert r.rc == EXIT_OK, r
    assert c.texts() == [b"a", b"b\nc", b"last"]


def test_contract_handshake_options(run_wsc, evil):
    """-H (repeatable), -o, --host, --auth, -s (repeatable) reach the request."""
    args = ["-H", "X-One: 1", "--header", "X-Two: two words", "-o", "http://origin.test", "--host", "virtual.test:8080",
            "--auth", "user:pa:ss", "-s", "chat", "--subprotocol", "superchat"]
    r, c = evil_session(run_wsc, evil, CLOSE_NOW, args,
                        handshake_kw={"extra": ["Sec-WebSocket-Protocol: chat"]})
    assert r.rc == EXIT_OK, r
    req = c.request
    assert req.get("X-One") == "1"
    assert req.get("X-Two") == "two words"
    assert req.get("Origin") == "http://origin.test"
    assert req.get("Host") == "virtual.test:8080"
    assert len(req.get_all("Host")) == 1
    assert req.get("Authorization") == "Basic " + base64.b64encode(b"user:pa:ss").decode()
    protos = [t.strip() for v in req.get_all("Sec-WebSocket-Protocol") for t in v.split(",")]
    assert protos == ["chat", "superchat"]
