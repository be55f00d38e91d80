#!/usr/bin/env python3
"""Stand-in for the `wsc` binary, used to validate Tests/Autobahn/run.py.

It is NOT the product under test: it is a small client built on the PyPI
package `websockets` (17.x) that accepts the two command-line shapes run.py
uses and behaves as DESIGN.md describes `wsc` for them:

    echo_testee.py --echo --max-message-size 64M URL
        connect, send every received message back with the same type (text
        or binary) until the server closes, then exit.

    echo_testee.py -w -1 URL   (stdin is ignored)
        connect, print every received message on stdout (text as-is, binary
        as hex), one per line, until the server closes, then exit.

Exit codes follow DESIGN.md §5 where they apply: 0 closed normally
(1000/1001), 1 the server closed with another code, 3 could not connect,
7 we failed the connection (protocol error, 1002/1007/1009), 8 connection
lost without a Close, 9 timeout, 64 usage error.

Needs: `pip install websockets==17.4` (the venv in /work/main/.venv has it).
"""

from __future__ import annotations

import argparse
import sys

try:
    from websockets.exceptions import (
        ConnectionClosed,
        InvalidHandshake,
        InvalidURI,
    )
    from websockets.sync.client import connect
except ImportError:  # pragma: no cover - environment problem
    sys.stderr.write("echo_testee: the 'websockets' package is required (pip install websockets==17.4)\n")
    sys.exit(10)


def parse_size(text: str) -> int:
    """'64M' -> 67108864; suffixes K/M/G (powers of 1024)."""
    text = text.strip()
    mult = 1
    suffix = text[-1:].upper()
    if suffix in ("K", "M", "G"):
        mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[suffix]
        text = text[:-1]
    value = int(text)
    if value <= 0:
        raise ValueError("size must be positive")
    return value * mult


def exit_code_for(exc: ConnectionClosed) -> int:
    rcvd, sent = exc.rcvd, exc.sent
    if rcvd is None and sent is None:
        return 8  # connection lost without a Close
    if exc.rcvd_then_sent is False or (rcvd is None and sent is not None):
        # We sent the first Close: a close we initiated because the server
        # broke the protocol (1002 / 1007 / 1009 / 1010).
        if sent is not None and sent.code in (1002, 1007, 1009, 1010):
            return 7
    if rcvd is not None:
        return 0 if rcvd.code in (1000, 1001) else 1
    return 0 if sent is not None and sent.code in (1000, 1001) else 7


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="echo_testee", add_help=True)
    parser.add_argument("--echo", action="store_true")
    parser.add_argument("-w", "--wait", type=float, default=2.0)
    parser.add_argument("--max-message-size", default="64M")
    parser.add_argument("url")
    try:
        args = parser.parse_args(argv)
        max_size = parse_size(args.max_message_size)
    except SystemExit as e:
        return 64 if e.code else 0
    except ValueError as e:
        sys.stderr.write(f"echo_testee: bad --max-message-size: {e}\n")
        return 64

    try:
        ws = connect(
            args.url,
            max_size=max_size,
            proxy=None,  # loopback only; never pick up proxy env vars
            ping_interval=None,  # no unsolicited pings: Autobahn logs them
            open_timeout=10,
            close_timeout=10,
            max_queue=None,
        )
    except InvalidURI as e:
        sys.stderr.write(f"echo_testee: {e}\n")
        return 64
    except InvalidHandshake as e:
        sys.stderr.write(f"echo_testee: handshake failed: {e}\n")
        return 6
    except TimeoutError as e:
        sys.stderr.write(f"echo_testee: timeout: {e}\n")
        return 9
    except OSError as e:
        sys.stderr.write(f"echo_testee: could not connect: {e}\n")
        return 3

    out = sys.stdout
    try:
        with ws:
            while True:
                if args.echo:
                    msg = ws.recv()
                    ws.send(msg)  # str -> text frame, bytes -> binary frame
                else:
                    # -w S: stay open until the server closes (-1), or until
                    # S seconds pass with no message.
                    timeout = None if args.wait < 0 else args.wait
                    try:
                        msg = ws.recv(timeout=timeout)
                    except TimeoutError:
                        ws.close(1000)
                        return 0
                    if isinstance(msg, bytes):
                        out.write(msg.hex() + "\n")
                    else:
                        out.write(msg + "\n")
                    out.flush()
    except ConnectionClosed as e:
        code = exit_code_for(e)
        if code != 0:
            sys.stderr.write(f"echo_testee: connection closed: {e}\n")
        return code
    except BrokenPipeError:
        return 10
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
