"""Fixtures for the wsc integration suite.

* ``wsc_bin``   – path of the binary under test (env ``WSC_BIN``, default
                   ``<repo>/.build/debug/wsc``); a missing binary FAILS the test.
* ``run_wsc``   – ``run_wsc(args, input=b"", timeout=15, **kw) -> Result``
                   (unpacks as ``rc, out, err, elapsed``).
* ``start_wsc`` – start wsc in the background (signals, streaming) -> WscProc.
* ``evil``      – ``evil(script, **kw) -> Evil`` (closed at teardown).
* ``ref``       – ``ref(handler, **kw) -> Ref`` (closed at teardown).
* ``refused_url`` – a ws:// URL on 127.0.0.1 where nothing listens.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import WscProc, wsc_binary  # noqa: E402
from peers.evil import Evil  # noqa: E402
from peers.ref import Ref  # noqa: E402


@pytest.fixture(scope="session")
def wsc_bin() -> Path:
    path = wsc_binary()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"wsc binary not found or not executable at {path} "
            f"(build it with `swift build`, or set WSC_BIN=/path/to/wsc)",
            pytrace=False,
        )
    return path


@pytest.fixture
def start_wsc(wsc_bin):
    procs: list[WscProc] = []

    def start(args, **kw) -> WscProc:
        p = WscProc(wsc_bin, args, **kw)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.kill()


@pytest.fixture
def run_wsc(start_wsc):
    def run(args, input=None, timeout: float = 15, check: bool = True, **kw):
        return start_wsc(args, input=input, **kw).finish(timeout, check=check)

    return run


@pytest.fixture
def evil():
    servers: list[Evil] = []

    def make(script=None, **kw) -> Evil:
        e = Evil(script, **kw)
        servers.append(e)
        return e

    yield make
    for e in servers:
        e.close()


@pytest.fixture
def ref():
    servers: list[Ref] = []

    def make(handler, **kw) -> Ref:
        r = Ref(handler, **kw)
        servers.append(r)
        return r

    yield make
    for r in servers:
        r.close()


@pytest.fixture
def refused_url() -> str:
    """A ws:// URL on a port that refuses connections (port 1, or a freed one)."""
    port = 1
    s = socket.socket()
    try:
        s.settimeout(1)
        if s.connect_ex(("127.0.0.1", port)) == 0:  # pragma: no cover - something listens on 1
            s2 = socket.socket()
            s2.bind(("127.0.0.1", 0))
            port = s2.getsockname()[1]
            s2.close()
    finally:
        s.close()
    return f"ws://127.0.0.1:{port}/"
