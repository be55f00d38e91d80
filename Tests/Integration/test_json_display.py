"""``-j/--json`` (issue 14): JSON text messages shown indented or compact; other text
and binary messages untouched; colour only on a terminal (tested at the prompt in
test_interactive.py)."""

from __future__ import annotations

from helpers import EXIT_OK, EXIT_USAGE, STAY, evil_session
from peers import evil as E
from test_listen import listen  # noqa: F401  (fixture)


def test_pretty_on_a_pipe_keeps_numbers_as_written_and_has_no_colour(run_wsc, evil):
    doc = '{"a":[1,2.50,12345678901234567890,-0.5e3],"b":{"c":null,"d":"x\\u001by"},"e":[],"f":{}}'
    r, _ = evil_session(run_wsc, evil, E.text(doc) + E.close_frame(1000), ["-j"])
    assert r.rc == EXIT_OK, r
    assert r.out.decode() == (
        '{\n  "a": [\n    1,\n    2.50,\n    12345678901234567890,\n    -0.5e3\n  ],\n'
        '  "b": {\n    "c": null,\n    "d": "x\\u001by"\n  },\n  "e": [],\n  "f": {}\n}\n'
    ), r.out
    assert b"\x1b" not in r.out


def test_compact_is_one_line_per_message(run_wsc, evil):
    payload = E.text('{ "a" : [ 1 , 2 ] }') + E.text("[true,false]") + E.close_frame(1000)
    r, _ = evil_session(run_wsc, evil, payload, ["--json=compact"])
    assert r.out == b'{"a":[1,2]}\n[true,false]\n', r.out


def test_text_that_is_not_json_and_binary_pass_through(run_wsc, evil):
    payload = E.text("not json {") + E.text('{"ok": 1} trailing') + E.binary(b"\x00{}") + E.close_frame(1000)
    r, _ = evil_session(run_wsc, evil, payload, ["-j"])
    assert r.out == b'not json {\n{"ok": 1} trailing\n\x00{}\n', r.out


def test_json_in_listen_mode_with_tags(listen):
    from websockets.sync.client import connect

    from helpers import wait_until

    srv = listen(["--json=compact", "--tag"])
    with connect(srv.url, open_timeout=5) as ws:
        ws.send('{"x": 1}')
        assert wait_until(lambda: srv.stdout() == '[1] {"x":1}\n', 5), srv.stdout()


def test_json_usage_errors(run_wsc):
    r = run_wsc(["--json=yaml", "ws://127.0.0.1:9/"], check=False)
    assert r.rc == EXIT_USAGE and "--json takes pretty or compact" in r.stderr, r
    r = run_wsc(["-j", "--jsonl", "ws://127.0.0.1:9/"], check=False)
    assert r.rc == EXIT_USAGE and "--jsonl already writes JSON" in r.stderr, r
