"""Running the wsc binary under test, with bounded time, and measuring it.

``run(args, input=b"...", timeout=15)`` returns a :class:`Result` that unpacks
as ``rc, out, err, elapsed`` and also carries the peak RSS and CPU time
(from ``wait4``), so memory and spin checks need no psutil.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO / ".build" / "debug" / "wsc"

# Exit codes (DESIGN.md §5)
EXIT_OK = 0
EXIT_PEER_CLOSED = 1
EXIT_CONNECT = 3
EXIT_PROXY = 4
EXIT_TLS = 5
EXIT_HANDSHAKE = 6
EXIT_PROTOCOL = 7
EXIT_LOST = 8
EXIT_TIMEOUT = 9
EXIT_LOCAL_IO = 10
EXIT_USAGE = 64
EXIT_SIGINT = 130
EXIT_SIGTERM = 143
EXIT_SIGHUP = 129

# Defaults for the harness (CHECKLIST §3): short timeouts.
FAST = ["--connect-timeout", "2", "--close-timeout", "1"]
# For EVIL-driven sessions: never close on our own initiative, EVIL decides.
STAY = ["-w", "-1"] + FAST

CRASH_MARKERS = (
    b"Fatal error",
    b"Current stack trace",
    b"Stack dump",
    b"Program crashed",
    b"Segmentation fault",
    b"Illegal instruction",
    b"AddressSanitizer",
    b"ThreadSanitizer",
)

CLK_TCK = os.sysconf("SC_CLK_TCK")


def wsc_binary() -> Path:
    return Path(os.environ.get("WSC_BIN") or DEFAULT_BIN)


def clean_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_COLOR"] = "1"
    if extra:
        env.update(extra)
    return env


@dataclass
class Result:
    argv: list[str]
    rc: int | None  # None: killed at the timeout
    out: bytes
    err: bytes
    elapsed: float
    maxrss_kib: int = 0  # peak RSS seen in /proc (VmHWM), polled every 10 ms
    cpu: float = 0.0  # user + sys seconds
    timed_out: bool = False
    t_start: float = 0.0  # time.monotonic() at spawn
    t_end: float = 0.0  # time.monotonic() when the exit was seen

    def __iter__(self):
        return iter((self.rc, self.out, self.err, self.elapsed))

    @property
    def stderr(self) -> str:
        return self.err.decode("utf-8", "replace")

    @property
    def stdout(self) -> str:
        return self.out.decode("utf-8", "replace")

    @property
    def lines(self) -> list[bytes]:
        return self.out.split(b"\n")[:-1] if self.out.endswith(b"\n") else self.out.split(b"\n")

    def __repr__(self) -> str:
        def cut(b: bytes, n: int = 1500) -> bytes:
            return b if len(b) <= n else b[:n] + b"...(%d bytes)" % len(b)

        return (
            f"\n  argv: {' '.join(self.argv)}\n  rc={self.rc} elapsed={self.elapsed:.2f}s "
            f"maxrss={self.maxrss_kib / 1024:.1f}MiB cpu={self.cpu:.2f}s timed_out={self.timed_out}\n"
            f"  stdout={cut(self.out)!r}\n  stderr={cut(self.err)!r}"
        )


class WscProc:
    """A running wsc. ``input`` may be bytes, an iterable of byte chunks
    (written as they come), or a callable ``feed(write)``; stdin is closed
    after it unless ``keep_stdin_open``."""

    def __init__(
        self,
        binary: Path,
        args: Sequence[str],
        *,
        input: bytes | Iterable[bytes] | Callable | None = None,
        stdin=None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        keep_stdin_open: bool = False,
        env: dict | None = None,
        preexec_fn=None,
        pass_fds=(),
    ):
        self.argv = [str(binary), *map(str, args)]
        if stdin is None:
            stdin = subprocess.PIPE if (input is not None or keep_stdin_open) else subprocess.DEVNULL
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            env=clean_env(env),
            preexec_fn=preexec_fn,
            pass_fds=pass_fds,
        )
        self.pid = self.proc.pid
        self.out = bytearray()
        self.err = bytearray()
        self.stdin_error: BaseException | None = None
        self._threads = []
        if self.proc.stdout is not None:
            self._reader(self.proc.stdout, self.out)
        if self.proc.stderr is not None:
            self._reader(self.proc.stderr, self.err)
        self._result: Result | None = None
        self.peak_rss_kib = 0
        self._stop_monitor = threading.Event()
        self._monitor = threading.Thread(target=self._watch_rss, daemon=True)
        self._monitor.start()
        if self.proc.stdin is not None and input is not None:
            t = threading.Thread(target=self._feed, args=(input, keep_stdin_open), daemon=True)
            t.start()
            self._feeder = t
        else:
            self._feeder = None

    def _watch_rss(self) -> None:
        """Peak RSS from /proc/PID/status VmHWM, polled every 10 ms.

        (wait4's ru_maxrss is useless here: Linux keeps the high-water mark
        across fork+exec, so it reports the forking pytest process.)"""
        path = f"/proc/{self.pid}/status"
        while not self._stop_monitor.is_set():
            try:
                with open(path) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            self.peak_rss_kib = max(self.peak_rss_kib, int(line.split()[1]))
                            break
            except (OSError, ValueError):
                return
            self._stop_monitor.wait(0.01)

    def _reader(self, f, buf: bytearray) -> None:
        def run():
            while True:
                try:
                    chunk = os.read(f.fileno(), 1 << 16)
                except OSError:
                    break
                if not chunk:
                    break
                buf.extend(chunk)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        self._threads.append(t)

    def write(self, data: bytes) -> bool:
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError) as e:
            self.stdin_error = e
            return False

    def close_stdin(self) -> None:
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    def _feed(self, input, keep_open: bool) -> None:
        try:
            if isinstance(input, (bytes, bytearray, memoryview)):
                self.write(bytes(input))
            elif callable(input):
                input(self.write)
            else:
                for chunk in input:
                    if not self.write(chunk):
                        break
        finally:
            if not keep_open:
                self.close_stdin()

    # ---- observation while running
    def alive(self) -> bool:
        return self._result is None and self._poll() is None

    def _poll(self):
        try:
            pid, status, ru = os.wait4(self.pid, os.WNOHANG)
        except ChildProcessError:
            return self._result
        if pid == 0:
            return None
        self._reap(status, ru, timed_out=False)
        return self._result

    def _reap(self, status, ru, timed_out: bool) -> None:
        t_end = time.monotonic()
        self._stop_monitor.set()
        self._monitor.join(1)
        elapsed = t_end - self.t0
        rc = os.waitstatus_to_exitcode(status)
        self.proc.returncode = rc
        for t in self._threads:
            t.join(5)
        self._result = Result(
            argv=self.argv,
            rc=None if timed_out else rc,
            out=bytes(self.out),
            err=bytes(self.err),
            elapsed=elapsed,
            maxrss_kib=self.peak_rss_kib,
            cpu=ru.ru_utime + ru.ru_stime,
            timed_out=timed_out,
            t_start=self.t0,
            t_end=t_end,
        )

    def cpu_seconds(self) -> float:
        """utime+stime so far, from /proc (process still running)."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss_kib(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def signal(self, sig: int) -> None:
        if self._result is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def wait_exit(self, timeout: float) -> bool:
        """Poll until exit or timeout (does not kill)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._poll() is not None:
                return True
            time.sleep(0.005)
        return self._poll() is not None

    def finish(self, timeout: float = 15.0, *, check: bool = True) -> Result:
        """Wait for exit (kill at ``timeout``) and return the Result.
        ``check``: assert no timeout, no crash signal, no crash text."""
        if self._result is None and not self.wait_exit(timeout):
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _, status, ru = os.wait4(self.pid, 0)
            self._reap(status, ru, timed_out=True)
        if self.proc.stdin is not None:
            self.close_stdin()
        if self._feeder is not None:
            self._feeder.join(5)
        r = self._result
        if check:
            assert_no_crash(r, timeout)
        return r

    def kill(self) -> None:
        if self._result is None:
            self.signal(signal.SIGKILL)
            self.finish(5, check=False)


def assert_no_crash(r: Result, timeout: float | None = None) -> None:
    assert not r.timed_out, f"wsc did not exit within {timeout}s and was killed:{r!r}"
    assert r.rc is not None and r.rc >= 0, f"wsc died from signal {-r.rc if r.rc else '?'}:{r!r}"
    for marker in CRASH_MARKERS:
        assert marker not in r.err, f"crash marker {marker!r} in stderr:{r!r}"


def no_raw_controls(b: bytes) -> bool:
    """True when ``b`` has no C0 control (other than TAB/LF) and no DEL/ESC/C1."""
    s = b.decode("utf-8", "replace")
    for ch in s:
        o = ord(ch)
        if (o < 0x20 and ch not in "\t\n") or o == 0x7F or 0x80 <= o <= 0x9F:
            return False
    return True


def wait_until(pred: Callable[[], bool], timeout: float, interval: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


def evil_session(run_wsc, evil, payload: bytes, args=(), *, input=None, timeout: float = 15, trickle: bool = False,
                 collect: float = 5.0, handshake_kw: dict | None = None, base=None, then: str = "close"):
    """EVIL answers 101 + ``payload`` in one send() (or trickled), then reads
    the client's frames until its Close (answered), EOF, or ``collect`` s.
    wsc runs with ``-w -1`` and short timeouts unless ``base`` overrides.
    Returns ``(result, conn)``."""
    from peers.evil import script_send

    ev = evil(script_send(payload, trickle=trickle, collect=collect, handshake_kw=handshake_kw, then=then))
    r = run_wsc([ev.url(), *(STAY if base is None else base), *args], input=input, timeout=timeout)
    ev.wait()
    return r, ev.conn


def assert_failed_with(r: Result, conn, code: int, exit_code: int = EXIT_PROTOCOL) -> None:
    """wsc failed the connection: its first Close carried ``code`` and it exited ``exit_code``."""
    codes = conn.close_codes()
    assert codes and codes[0] == code, f"expected the client's Close {code}, EVIL saw closes {codes}; frames={conn.frames}{r!r}"
    assert r.rc == exit_code, f"expected exit {exit_code}{r!r}"
