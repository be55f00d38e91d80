"""CHECKLIST §1 I (receiving frames), K (ping/pong), L (UTF-8), R1/R3, and
§3 cases 27–36, 39, 46 (frames from the server)."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import time

import pytest

from helpers import EXIT_OK, EXIT_PROTOCOL, STAY, assert_failed_with, evil_session
from peers import evil as E

CLOSE_NOW = E.close_frame(1000)


# ================================================================ I1 / #27


def test_I1_case27_masked_server_frame_fails_1002(run_wsc, evil):
    """I1/#27: ``81 85 37 fa 21 3d 7f 9f 4d 51 58`` (masked "Hello") → Close 1002, exit 7, nothing printed."""
    r, c = evil_session(run_wsc, evil, E.hx("81 85 37 fa 21 3d 7f 9f 4d 51 58"))
    assert_failed_with(r, c, 1002)
    assert r.out == b"", r


# ================================================================ I2 / #28 / R1


@pytest.mark.parametrize("first", ["c1", "a1", "91", "f1"], ids=["rsv1", "rsv2", "rsv3", "rsv123"])
def test_I2_case28_rsv_bits_without_extension_fail_1002(run_wsc, evil, first):
    """I2/#28: RSV1/2/3 set with no extension negotiated → 1002, exit 7."""
    r, c = evil_session(run_wsc, evil, E.hx(first + " 05") + b"Hello")
    assert_failed_with(r, c, 1002)
    assert r.out == b"", r


def test_R1_case28_message_before_bad_frame_is_delivered(run_wsc, evil):
    """R1/#28: ``81 02 ok`` then ``c1 05 Hello`` in the same segment → "ok" printed, then exit 7."""
    r, c = evil_session(run_wsc, evil, E.hx("81 02") + b"ok" + E.hx("c1 05") + b"Hello")
    assert r.out == b"ok\n", r
    assert_failed_with(r, c, 1002)


# ================================================================ I3 / #29


@pytest.mark.parametrize("op", ["83", "84", "87", "8b", "8c", "8f"])
def test_I3_case29_reserved_opcodes_fail_1002(run_wsc, evil, op):
    """I3/#29: reserved opcodes 0x3–0x7, 0xB–0xF → 1002, exit 7."""
    r, c = evil_session(run_wsc, evil, E.hx(op + " 00"))
    assert_failed_with(r, c, 1002)


# ================================================================ I4 / #32 / #34


@pytest.mark.parametrize(
    "data",
    ["82 7f 80 00 00 00 00 00 00 00", "82 7f ff ff ff ff ff ff ff ff", "81 7f 80 00 00 00 00 00 00 05 48 65 6c 6c 6f"],
    ids=["msb-set", "all-ones", "msb-set-text"],
)
def test_I4_case32_64bit_length_with_msb_set_fails_1002(run_wsc, evil, data):
    """I4/#32: a 64-bit length with the MSB set → 1002, no overflow or crash."""
    r, c = evil_session(run_wsc, evil, E.hx(data))
    assert_failed_with(r, c, 1002)
    assert r.maxrss_kib < 64 * 1024, r


@pytest.mark.parametrize(
    "data",
    ["81 7e 00 05 48 65 6c 6c 6f", "81 7f 00 00 00 00 00 00 00 05 48 65 6c 6c 6f", "81 7f 00 00 00 00 00 00 00 7e" + " 61" * 126],
    ids=["16bit-for-5", "64bit-for-5", "64bit-for-126"],
)
def test_I4_case34_non_minimal_length_is_strict_1002(run_wsc, evil, data):
    """I4/#34: non-minimal length encoding → wsc is STRICT (documented): 1002, exit 7, nothing printed."""
    r, c = evil_session(run_wsc, evil, E.hx(data))
    assert_failed_with(r, c, 1002)
    assert r.out == b"", r


# ================================================================ I6 / I7 / #30 / #31


def test_I6_fragmented_message_with_ping_between(run_wsc, evil):
    """I6: ``01 03 Hel`` + ``89 00`` + ``80 02 lo`` → an empty Pong, then "Hello"."""
    r, c = evil_session(run_wsc, evil, E.hx("01 03") + b"Hel" + E.hx("89 00") + E.hx("80 02") + b"lo" + CLOSE_NOW)
    assert r.out == b"Hello\n", r
    assert r.rc == EXIT_OK, r
    assert [p.payload for p in c.pongs()] == [b""]
    assert c.close_codes() == [1000]


def test_I6_many_fragments_and_binary(run_wsc, evil):
    """I6: a binary message in 50 fragments and a text message in 3 → both reassembled exactly."""
    data = bytes(range(256)) * 4
    parts = [data[i : i + 21] for i in range(0, len(data), 21)]
    stream = E.frame(2, parts[0], fin=False) + b"".join(E.cont(p, fin=False) for p in parts[1:-1]) + E.cont(parts[-1])
    stream += E.text("a", fin=False) + E.cont("b", fin=False) + E.cont("c")
    r, c = evil_session(run_wsc, evil, stream + CLOSE_NOW, ["--base64"])
    assert r.rc == EXIT_OK, r
    lines = r.out.split(b"\n")
    assert base64.b64decode(lines[0]) == data, r
    assert lines[1] == b"abc", r


@pytest.mark.parametrize(
    "data",
    [
        "80 05 48 65 6c 6c 6f",  # continuation without a start
        "01 03 48 65 6c 81 02 6c 6f",  # new text frame inside a fragmented message
        "01 03 48 65 6c 82 02 6c 6f",  # new binary frame inside a fragmented message
        "09 02 68 69",  # fragmented ping
        "08 02 03 e8",  # fragmented close
        "0a 00",  # fragmented pong
        "89 7e 00 7e" + " 61" * 126,  # ping of 126 bytes (K2)
        "88 7e 00 7e 03 e8" + " 61" * 124,  # close of 126 bytes
    ],
    ids=["cont-no-start", "text-in-fragmented", "binary-in-fragmented", "fragmented-ping", "fragmented-close",
         "fragmented-pong", "ping-126", "close-126"],
)
def test_I7_K2_case30_case31_fragmentation_and_control_frame_errors(run_wsc, evil, data):
    """I7/K2/#30/#31: continuation without start, data frame inside a fragmented message,
    fragmented or oversized control frames → 1002, exit 7."""
    r, c = evil_session(run_wsc, evil, E.hx(data))
    assert_failed_with(r, c, 1002)
    assert r.out == b"", r


# ================================================================ I8 / #46


def _session_bytes():
    return (
        E.text("Hello")
        + E.text("Hel", fin=False)
        + E.ping(b"p1")
        + E.cont("lo")
        + E.binary(b"\x00\x01\x02")
        + E.text("κόσμε")
        + E.text("x" * 300)
        + CLOSE_NOW
    )


def test_I8_one_byte_per_segment(run_wsc, evil):
    """I8: the 101 and a whole session sent one byte per send() (TCP_NODELAY) → same result as unsplit."""
    expected = b"Hello\nHello\n\x00\x01\x02\n" + "κόσμε\n".encode() + b"x" * 300 + b"\n"
    r, c = evil_session(run_wsc, evil, _session_bytes(), trickle=True, timeout=20, collect=8)
    assert r.out == expected, r
    assert r.rc == EXIT_OK, r
    assert [p.payload for p in c.pongs()] == [b"p1"]
    r2, _ = evil_session(run_wsc, evil, _session_bytes())
    assert r2.out == r.out


def test_case46_session_one_byte_per_segment(run_wsc, evil):
    """#46: every byte of a 256 KiB session in its own TCP segment → output identical to the normal run.

    (256 KiB instead of 1 MiB keeps the run to a few seconds; the property is the same.)"""
    rnd = random.Random(46)
    msgs = ["".join(rnd.choice("abcdefghijκόσμε") for _ in range(rnd.randint(0, 20000))) for _ in range(20)]
    payload = b"".join(E.text(m) for m in msgs)
    while len(payload) < 256 * 1024:
        m = "y" * 8000
        msgs.append(m)
        payload += E.text(m)
    payload += CLOSE_NOW
    expected = b"".join(m.encode() + b"\n" for m in msgs)
    r_fast, _ = evil_session(run_wsc, evil, payload)
    r_slow, _ = evil_session(run_wsc, evil, payload, trickle=True, timeout=60, collect=10)
    assert r_fast.out == expected, r_fast
    assert r_slow.out == expected, r_slow
    assert r_slow.rc == r_fast.rc == EXIT_OK, r_slow


# ================================================================ I9


def test_I9_unsolicited_pong_and_empty_messages(run_wsc, evil):
    """I9: ``8a 00`` ignored; ``81 00`` and ``01 00 00 00 80 00`` are valid empty messages."""
    data = E.hx("8a 00") + E.hx("81 00") + E.text("a") + E.hx("01 00 00 00 80 00") + E.text("b") + E.hx("82 00")
    r, c = evil_session(run_wsc, evil, data + CLOSE_NOW)
    assert r.out == b"\na\n\nb\n\n", r
    assert r.rc == EXIT_OK, r
    assert c.pongs() == []


# ================================================================ K1


def test_K1_pong_payload_identical(run_wsc, evil):
    """K1: ``89 04 00 ff 80 7f`` → the Pong payload matches byte for byte (and an empty ping → empty pong)."""
    data = E.hx("89 04 00 ff 80 7f") + E.ping(b"") + E.ping(bytes(range(125)))
    r, c = evil_session(run_wsc, evil, data + CLOSE_NOW)
    assert r.rc == EXIT_OK, r
    assert [p.payload for p in c.pongs()] == [E.hx("00 ff 80 7f"), b"", bytes(range(125))]
    assert all(p.masked for p in c.pongs())


def test_K1_show_ping_pong_notices_on_stderr(run_wsc, evil):
    """Contract ``-P``: ping/pong notices go to stderr, stdout stays the messages only."""
    r, c = evil_session(run_wsc, evil, E.ping(b"hi") + E.pong(b"yo") + E.text("m") + CLOSE_NOW, ["-P"])
    assert r.rc == EXIT_OK, r
    assert r.out == b"m\n", r
    assert "ping" in r.stderr.lower(), r
    assert "pong" in r.stderr.lower(), r


# ================================================================ L1 / #35


@pytest.mark.parametrize(
    "data",
    ["81 01 ff", "81 03 ed a0 80", "81 02 c0 af", "81 04 f4 90 80 80", "81 04 ce ba e1 bd", "81 02 fe fe",
     "01 02 ce ba 80 01 ff", "01 01 ce 80 01 41"],
    ids=["ff", "surrogate", "overlong", "above-10ffff", "truncated-end", "fe", "bad-in-continuation",
         "split-then-bad"],
)
def test_L1_case35_invalid_utf8_fails_1007(run_wsc, evil, data):
    """L1/#35: invalid UTF-8 in a text message → Close 1007, exit 7, nothing printed."""
    r, c = evil_session(run_wsc, evil, E.hx(data))
    assert_failed_with(r, c, 1007)
    assert r.out == b"", r


def test_L1_fail_fast_on_first_bad_fragment(run_wsc, evil):
    """L1 (strict): ``01 01 ff`` (not final) then silence → 1007 at once, without waiting for FIN."""
    r, c = evil_session(run_wsc, evil, E.hx("01 01 ff"), collect=4)
    assert_failed_with(r, c, 1007)
    assert c.close_frames()[0].t - c.t0 < 2.0, "did not fail on the first bad fragment"


# ================================================================ L2 / #36


def test_L2_case36_utf8_split_one_byte_per_frame_with_pings(run_wsc, evil):
    """L2/#36: "κόσμε" one byte per frame with pings interleaved → printed intact, every ping answered."""
    raw = "κόσμε".encode()
    data = E.frame(1, raw[:1], fin=False)
    for i in range(1, len(raw)):
        data += E.ping(b"%d" % i) + E.cont(raw[i : i + 1], fin=(i == len(raw) - 1))
    r, c = evil_session(run_wsc, evil, data + CLOSE_NOW, trickle=True)
    assert r.out == raw + b"\n", r
    assert r.rc == EXIT_OK, r
    assert [p.payload for p in c.pongs()] == [b"%d" % i for i in range(1, len(raw))]


# ================================================================ L3 / #38


def test_L3_case38_close_reason_not_utf8(run_wsc, evil):
    """L3/#38: ``88 04 03 e8 ff fe`` → Close 1007 (or 1002), exit 7."""
    r, c = evil_session(run_wsc, evil, E.hx("88 04 03 e8 ff fe"))
    codes = c.close_codes()
    assert codes and codes[0] in (1007, 1002), (codes, r)
    assert r.rc == EXIT_PROTOCOL, r


# ================================================================ R3


def test_R3_random_binary_messages_random_chops_interleaved_pings(run_wsc, evil):
    """R3 (no compression): 150 random binary messages of 0–64 KiB, random chops and pings → hashes match."""
    seed = int.from_bytes(os.urandom(4), "big")
    rnd = random.Random(seed)
    msgs = [rnd.randbytes(rnd.choice([0, 1, 125, 126, 65535, 65536, rnd.randint(0, 65536)])) for _ in range(150)]
    pings = []
    stream = b""
    for i, m in enumerate(msgs):
        if rnd.random() < 0.3 and len(m) > 2:  # fragment with a ping in the middle
            cut = rnd.randint(1, len(m) - 1)
            p = b"%d" % i
            pings.append(p)
            stream += E.frame(2, m[:cut], fin=False) + E.ping(p) + E.cont(m[cut:])
        else:
            stream += E.binary(m)
    stream += CLOSE_NOW

    def script(c):
        if c.read_request() is None:
            return
        data = c.respond_101() + stream
        sizes = []
        total = 0
        while total < len(data):
            n = rnd.choice([1, 2, 3, 7, 100, 997, 4096, 65536])
            sizes.append(n)
            total += n
        c.send_chunks(data, sizes)
        c.collect(10)

    ev = evil(script)
    r = run_wsc([ev.url(), *STAY, "--base64"], timeout=30)
    ev.wait()
    assert r.rc == EXIT_OK, f"seed={seed}{r!r}"
    got = [base64.b64decode(line) for line in r.out.split(b"\n")[:-1]]
    assert len(got) == len(msgs), f"seed={seed}: {len(got)} messages printed, {len(msgs)} sent"
    assert [hashlib.sha256(g).hexdigest() for g in got] == [hashlib.sha256(m).hexdigest() for m in msgs], f"seed={seed}"
    assert [p.payload for p in ev.conn.pongs()] == pings, f"seed={seed}"


def test_R3_large_and_small_messages_mixed_random_chops(run_wsc, evil):
    """R3 for messages read straight into their buffer (≥ 64 KiB, unfragmented): large UTF-8
    text messages (multi-byte characters cut anywhere) between small ones and empty ones,
    cut at random sizes that split headers (after a large message wsc reads one header's
    worth first) → every message printed whole, in order."""
    seed = int.from_bytes(os.urandom(4), "big")
    rnd = random.Random(seed)
    alphabet = "aé€😀"
    sizes = [3 << 20, 5, 0, 70_000, (1 << 20) + 1, 64 << 10, 125, 2 << 20, 65_535, 300_000]
    msgs = ["".join(rnd.choice(alphabet) for _ in range(n // 3)).encode() for n in sizes]
    stream = b"".join(E.text(m) for m in msgs) + CLOSE_NOW

    def script(c):
        if c.read_request() is None:
            return
        data = c.respond_101() + stream
        chops, total = [], 0
        while total < len(data):
            n = rnd.choice([1, 2, 9, 10, 11, 14, 15, 4096, 65536, 1 << 20])
            chops.append(n)
            total += n
        c.send_chunks(data, chops)
        c.collect(10)

    ev = evil(script)
    r = run_wsc([ev.url(), *STAY], timeout=60)
    ev.wait()
    assert r.rc == EXIT_OK, f"seed={seed}{r!r}"
    got = r.out.split(b"\n")[:-1]
    assert len(got) == len(msgs), f"seed={seed}: {len(got)} messages printed, {len(msgs)} sent"
    assert [hashlib.sha256(g).hexdigest() for g in got] == [hashlib.sha256(m).hexdigest() for m in msgs], f"seed={seed}"
