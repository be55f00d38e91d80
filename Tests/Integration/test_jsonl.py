"""``--jsonl`` events and ``--jsonl-input`` commands (issue 14): every event wsc writes
is validated against Docs/events.schema.json with ``jsonschema``; messages, pings,
closes and each error class come from Python websockets servers and scripted peers."""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path

import jsonschema
import pytest

from helpers import EXIT_CONNECT, EXIT_LOST, EXIT_OK, EXIT_PROTOCOL, EXIT_USAGE, FAST, STAY
from peers import evil as E
from peers import ref as R
from test_listen import listen  # noqa: F401  (fixture)

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "Docs" / "events.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def events(out: bytes) -> list[dict]:
    """Parses and validates every line; each must be one JSON object."""
    lines = out.decode("utf-8").splitlines()
    assert out.endswith(b"\n") or not out, out
    parsed = []
    for line in lines:
        event = json.loads(line)
        VALIDATOR.validate(event)
        parsed.append(event)
    return parsed


def kinds(evs: list[dict]) -> list[str]:
    return [e["event"] for e in evs]


def test_a_session_as_events_open_messages_close(run_wsc, ref):
    srv = ref(R.echo)
    r = run_wsc(["--jsonl", *FAST, srv.url("/feed")], input=b"hello\n")
    assert r.rc == EXIT_OK, r
    evs = events(r.out)
    assert kinds(evs) == ["open", "message", "close"], evs
    opened = evs[0]
    assert opened["version"] == 1 and opened["status"] == 101
    assert opened["url"] == f"ws://127.0.0.1:{srv.port}/feed"
    assert any(name.lower() == "sec-websocket-accept" for name, _ in opened["headers"])
    assert evs[1] == {**evs[1], "type": "text", "data": "hello", "size": 5}
    assert evs[2]["by"] == "wsc" and evs[2]["code"] == 1000 and evs[2]["clean"] is True
    assert [e["ts"] for e in evs] == sorted(e["ts"] for e in evs)


def test_binary_and_hostile_text_are_valid_json_on_one_line(run_wsc, evil):
    hostile = '"quote" \\back\\ \x1b[2J\x07 \u2028 line\nbreak \u0000 end'
    payload = E.text(hostile) + E.binary(b"\x00\xff\n\r") + E.close_frame(1000)
    ev = evil(E.script_send(payload))
    r = run_wsc(["--jsonl", ev.url(), *STAY])
    assert r.rc == EXIT_OK, r
    assert len(r.out.splitlines()) == 4, r.out
    assert b"\x1b" not in r.out and b"\x07" not in r.out and b"\x00" not in r.out
    evs = events(r.out)
    assert evs[1]["type"] == "text" and evs[1]["data"] == hostile
    assert evs[1]["size"] == len(hostile.encode())
    assert evs[2]["type"] == "binary" and base64.b64decode(evs[2]["data"]) == b"\x00\xff\n\r"
    assert evs[3]["by"] == "server" and evs[3]["code"] == 1000


@pytest.mark.parametrize(
    "case,exit_code,error_class",
    [("refused", EXIT_CONNECT, "connect"), ("masked", EXIT_PROTOCOL, "protocol"), ("reset", EXIT_LOST, "connection_lost")],
)
def test_error_classes_come_before_close_with_the_exit_code(run_wsc, evil, refused_url, case, exit_code, error_class):
    if case == "refused":
        url = refused_url
    else:
        def script(c):
            if c.read_request() is None:
                return
            c.handshake()
            if case == "masked":
                c.send(b"\x81\x82abcd" + bytes([ord("h") ^ ord("a"), ord("i") ^ ord("b")]))
                c.collect(2)
            else:
                c.reset()

        url = evil(script).url()
    r = run_wsc(["--jsonl", url, *STAY], check=False)
    assert r.rc == exit_code, r
    evs = events(r.out)
    errors = [e for e in evs if e["event"] == "error"]
    assert len(errors) == 1, evs
    assert errors[0]["class"] == error_class and errors[0]["exit_code"] == exit_code
    if case != "refused":
        assert kinds(evs)[-2:] == ["error", "close"], evs
        assert evs[-1]["by"] in ("none", "wsc") and evs[-1]["clean"] is False


def test_server_close_with_a_code_and_reason(run_wsc, ref):
    srv = ref(R.close_with(4001, "go away"))
    r = run_wsc(["--jsonl", srv.url(), *STAY], check=False)
    assert r.rc == 1, r
    close = events(r.out)[-1]
    assert close == {**close, "event": "close", "by": "server", "code": 4001, "reason": "go away", "clean": True}


def test_jsonl_input_round_trip(run_wsc, ref):
    srv = ref(R.echo)
    lines = [
        {"text": "hi \u00e9\U0001F600"},
        {"binary": base64.b64encode(b"\x00\x01\xff").decode()},
        {"ping": "p1"},
        {"sleep": 0.1},
        {"close": {"code": 4000, "reason": "bye"}},
        {"text": "never sent"},
    ]
    stdin = "".join(json.dumps(line) + "\n" for line in lines).encode()
    r = run_wsc(["--jsonl", "--jsonl-input", *FAST, srv.url()], input=stdin)
    assert r.rc == EXIT_OK, r
    evs = events(r.out)
    assert srv.conn.messages == ["hi \u00e9\U0001F600", b"\x00\x01\xff"]
    msgs = [e for e in evs if e["event"] == "message"]
    assert msgs[0]["data"] == "hi \u00e9\U0001F600" and base64.b64decode(msgs[1]["data"]) == b"\x00\x01\xff"
    pong = next(e for e in evs if e["event"] == "pong")
    assert base64.b64decode(pong["data"]) == b"p1" and pong["rtt_ms"] >= 0
    assert srv.conn.close_rcvd_code == 4000
    assert evs[-1]["event"] == "close" and evs[-1]["by"] == "wsc"


@pytest.mark.parametrize(
    "line,message",
    [
        (b"not json", "input line 1: invalid JSON at byte 1"),
        (b'{"text": "unterminated}', "input line 1: invalid JSON"),
        (b"[1, 2]", "input line 1: expected a JSON object"),
        (b'{"bogus": 1}', 'unknown command "bogus"'),
        (b'{"text": 5}', '"text" takes a string'),
        (b'{"binary": "***"}', '"binary" takes a base64 string'),
        (b'{"ping": "' + b"x" * 126 + b'"}', "at most 125 bytes"),
        (b'{"close": {"code": 1005}}', '"close" code must be'),
        (b'{"text": "a", "binary": "AA=="}', "exactly one command"),
        (b'{"text": "\xff"}', "not valid UTF-8"),
        (b'{"sleep": -1}', '"sleep" takes seconds'),
    ],
)
def test_jsonl_input_malformed_line_is_reported_and_the_session_goes_on(run_wsc, ref, line, message):
    srv = ref(R.echo)
    r = run_wsc(["--jsonl-input", "-w", "0.5", *FAST, srv.url()], input=line + b'\n{"text": "after"}\n')
    assert r.rc == EXIT_OK, r
    assert message in r.stderr and "not sent" in r.stderr, r
    assert srv.conn.messages == ["after"]
    assert r.out == b"after\n"


def test_jsonl_usage_errors(run_wsc):
    for args, text in [
        (["--jsonl", "--base64"], "--base64 does not apply with --jsonl"),
        (["--jsonl", "--no-separator"], "--no-separator does not apply with --jsonl"),
        (["--jsonl-input", "-b"], "-b does not apply with --jsonl-input"),
    ]:
        r = run_wsc([*args, "ws://127.0.0.1:9/"], check=False)
        assert r.rc == EXIT_USAGE, r
        assert text in r.stderr, r


def test_listen_mode_events_carry_the_client_with_three_clients(listen):
    from websockets.sync.client import connect

    srv = listen(["--jsonl", "--jsonl-input"])
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(connect(srv.url + f"c{i}", open_timeout=5)) for i in range(3)]
        for i, ws in enumerate(clients, 1):
            ws.send(f"from {i}")
            ws.send(bytes([i]))
        from helpers import wait_until

        assert wait_until(lambda: srv.stdout().count('"event":"message"') == 6, 5), srv.stdout()
        srv.proc.write(b'{"text": "to all"}\n{"ping": "hb"}\nbad line\n')
        for ws in clients:
            assert ws.recv(timeout=5) == "to all"
        assert wait_until(lambda: "input line 3" in srv.stderr(), 5), srv.stderr()
        clients[1].close(code=4002, reason="bye")
        assert wait_until(lambda: '"event":"close"' in srv.stdout(), 5), srv.stdout()
    assert wait_until(lambda: srv.stdout().count('"event":"close"') == 3, 5), srv.stdout()
    evs = events(srv.proc.out)
    assert {e["client"] for e in evs} == {1, 2, 3}
    opens = [e for e in evs if e["event"] == "open"]
    assert sorted(e["url"].rsplit("/", 1)[1] for e in opens) == ["c0", "c1", "c2"]
    msgs = [e for e in evs if e["event"] == "message"]
    for e in msgs:
        if e["type"] == "text":
            assert e["data"] == f"from {e['client']}"
        else:
            assert base64.b64decode(e["data"]) == bytes([e["client"]])
    pongs = [e for e in evs if e["event"] == "pong"]
    assert len(pongs) == 3 and all(base64.b64decode(p["data"]) == b"hb" for p in pongs)
    by_client = {e["client"]: e for e in evs if e["event"] == "close"}
    closed_by_2 = by_client[2]
    assert closed_by_2["by"] == "client" and closed_by_2["code"] == 4002 and closed_by_2["reason"] == "bye"
