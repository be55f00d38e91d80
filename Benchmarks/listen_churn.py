"""Descriptors, threads and RSS of ``wsc -l`` after N clients that connect one after
another and end in six ways (Tests/Integration/peers/churn.py); figures in
Docs/Reliability.md.

    .venv/bin/python Benchmarks/listen_churn.py --wsc .build/debug/wsc [--clients 2000] [--ulimit 64]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Tests" / "Integration"))
from peers import churn  # noqa: E402


def counts(pid: int) -> tuple[int, int]:
    return len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--wsc", required=True)
    ap.add_argument("--clients", type=int, default=2000)
    ap.add_argument("--ulimit", type=int, default=0, help="RLIMIT_NOFILE for the server (0: inherit)")
    a = ap.parse_args()

    def limit():
        if a.ulimit:
            resource.setrlimit(resource.RLIMIT_NOFILE, (a.ulimit, a.ulimit))

    p = subprocess.Popen(
        [a.wsc, "-l", "127.0.0.1:0", "--echo", "--close-timeout", "1"],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=limit,
    )
    try:
        line = p.stderr.readline().decode()
        m = re.search(r":(\d+)/", line)
        if not m:
            sys.exit(f"wsc -l did not start: {line!r}")
        port = int(m.group(1))
        # Drain stderr (a line per client), or wsc would block writing it.
        threading.Thread(target=lambda: [None for _ in iter(lambda: p.stderr.read(65536), b"")], daemon=True).start()
        time.sleep(0.3)
        fd0, th0 = counts(p.pid)
        ok = failed = 0
        first_failure = None
        t0 = time.monotonic()
        for i in range(a.clients):
            try:
                churn.OUTCOMES[i % len(churn.OUTCOMES)](port)
                ok += 1
            except (OSError, AssertionError):
                failed += 1
                first_failure = first_failure or i + 1
        elapsed = time.monotonic() - t0
        time.sleep(2)
        fd1, th1 = counts(p.pid)
        status = Path(f"/proc/{p.pid}/status").read_text()
        rss = int(status.split("VmRSS:")[1].split()[0])
        print(
            f"clients={a.clients} ulimit={a.ulimit or 'inherited'} served={ok} failed={failed}"
            + (f" (first at client {first_failure})" if failed else "")
            + f" descriptors {fd0}->{fd1} threads {th0}->{th1} rss={rss / 1024:.1f}MiB time={elapsed:.1f}s"
        )
    finally:
        p.kill()
        p.wait()


if __name__ == "__main__":
    main()
