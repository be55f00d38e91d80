#!/usr/bin/env python3
"""Run the Autobahn TestSuite client cases against `wsc` with kosoku.

kosoku (PyPI, 0.1.0) drives Autobahn's own case files from Python 3. In
`fuzzingserver` mode it is the server; the client under test fetches
/getCaseCount, connects to /runCase?case=N&agent=AGENT for N = 1..count and
echoes every message until the server closes, then connects to
/updateReports?agent=AGENT, after which kosoku writes the reports and exits.

Usage (from the repository root, with the venv that has kosoku):

    .venv/bin/python Tests/Autobahn/run.py --wsc .build/release/wsc \
        [--cases '1.*,2.*,...'] [--exclude '12.*,13.*'] [--port 9001] \
        [--out DIR] [--case-timeout 60] [--summary-md FILE]

Python 3.10+, standard library only; kosoku is run as a separate process.
A `--wsc` path ending in `.py` is run with this interpreter (used for the
stand-in testee, Tests/Autobahn/echo_testee.py).

Exit status:
  0  every selected case ran; no FAILED, no hang, NON-STRICT only in 6.4.*
  1  conformance failure: behavior FAILED/ERROR, behaviorClose other than
     OK/INFORMATIONAL, NON-STRICT outside 6.4.*, a hang (killed after
     --case-timeout), wsc killed by a signal, or a case missing from the report
  2  infrastructure error: wsc or kosoku not found, port busy, the server did
     not start, the case count could not be fetched, no report was written
 64  usage error
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
HOST = "127.0.0.1"

# behavior values (Autobahn labels, as kosoku writes them)
OK, NON_STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED, ERROR = (
    "OK",
    "NON-STRICT",
    "INFORMATIONAL",
    "UNIMPLEMENTED",
    "FAILED",
    "ERROR",
)
# Cases where NON-STRICT is acceptable (fail-fast on invalid UTF-8 is a SHOULD).
NON_STRICT_ALLOWED = ("6.4.*",)
# behaviorClose values that pass
CLOSE_PASS = {"OK", "INFORMATIONAL"}


class InfraError(Exception):
    """Something other than wsc's conformance went wrong."""


def log(msg: str) -> None:
    print(msg, flush=True)


def warn(msg: str) -> None:
    print(f"WARNING: {msg}", file=sys.stderr, flush=True)


def split_patterns(text: str | None) -> list[str]:
    if not text:
        return []
    return [p.strip() for p in text.split(",") if p.strip()]


# ---------------------------------------------------------------- processes


def kill_group(proc: subprocess.Popen) -> None:
    """Kill a process we started in its own session, and its children."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def wsc_command(wsc: str) -> list[str]:
    if wsc.endswith(".py"):
        return [sys.executable, wsc]
    return [wsc]


def run_bounded(cmd: list[str], timeout: float, stdout, stderr) -> tuple[int | None, bool, float]:
    """Run cmd with stdin=/dev/null; return (returncode, timed_out, seconds).

    On timeout the whole process group is killed and returncode is None.
    """
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
    )
    try:
        rc = proc.wait(timeout=timeout)
        return rc, False, time.monotonic() - t0
    except subprocess.TimeoutExpired:
        kill_group(proc)
        return None, True, time.monotonic() - t0
    finally:
        if proc.poll() is None:
            kill_group(proc)


# ------------------------------------------------ stdlib fallback WS client


def fallback_ws_messages(port: int, path: str, timeout: float) -> list[str]:
    """Minimal stdlib WebSocket client: GET path, collect text messages until
    the server closes. Used only when wsc cannot do it (reported loudly)."""
    deadline = time.monotonic() + timeout
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        buf = b""

        def need(n: int) -> bytes:
            nonlocal buf
            while len(buf) < n:
                s.settimeout(max(0.1, deadline - time.monotonic()))
                chunk = s.recv(65536)
                if not chunk:
                    raise EOFError("connection closed")
                buf += chunk
            out, buf = buf[:n], buf[n:]
            return out

        while b"\r\n\r\n" not in buf:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            chunk = s.recv(65536)
            if not chunk:
                raise EOFError("closed during handshake")
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise InfraError(f"handshake refused: {head[:200]!r}")
        messages: list[str] = []
        pending = b""
        while True:
            try:
                b0, b1 = need(2)
            except (EOFError, OSError):
                return messages
            opcode, length = b0 & 0x0F, b1 & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", need(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", need(8))
            if b1 & 0x80:
                need(4)  # servers must not mask; skip it anyway
            payload = need(length)
            if opcode == 0x8:  # close: answer with a masked close, then stop
                mask = os.urandom(4)
                body = payload[:2]
                masked = bytes(c ^ mask[i % 4] for i, c in enumerate(body))
                try:
                    s.sendall(bytes([0x88, 0x80 | len(body)]) + mask + masked)
                except OSError:
                    pass
                return messages
            if opcode in (0x1, 0x2, 0x0):
                pending += payload
                if b0 & 0x80:
                    messages.append(pending.decode("utf-8", "replace"))
                    pending = b""


# ------------------------------------------------------------------ kosoku


def find_kosoku(explicit: str | None) -> str:
    candidates = []
    if explicit:
        candidates.append(explicit)
    candidates.append(str(Path(sys.executable).parent / "kosoku"))
    candidates.append(str(REPO / ".venv" / "bin" / "kosoku"))
    found = shutil.which("kosoku")
    if found:
        candidates.append(found)
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    raise InfraError(
        "kosoku not found (pip install kosoku==0.1.0 into .venv, or pass --kosoku PATH)"
    )


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise InfraError(f"kosoku exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise InfraError(f"kosoku did not accept connections on {HOST}:{port} within {timeout:.0f} s")


def tail(path: Path, limit: int = 2000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-limit:].decode("utf-8", "replace")


def clean_old_reports(report_dir: Path, agent: str) -> None:
    if not report_dir.is_dir():
        return
    prefix = re.sub(r"[^a-z0-9]+", "_", agent.lower()).strip("_") + "_case_"
    for p in report_dir.iterdir():
        if p.name in ("index.json", "index.html") or (
            p.name.startswith(prefix) and p.suffix in (".json", ".html")
        ):
            p.unlink()


# ------------------------------------------------------------------- runner


def plain(text: object, limit: int = 300) -> str:
    """Report prose without Autobahn's HTML (<br>, <b>) and line breaks."""
    s = "" if text is None else str(text)
    s = re.sub(r"<br\s*/?>", " ", s)
    s = re.sub(r"</?[a-zA-Z][^>]*>", "", s)
    s = re.sub(r"\s+", " ", s).strip()
    return s if len(s) <= limit else s[: limit - 3] + "..."


def md_cell(text: object, limit: int = 300) -> str:
    return plain(text, limit).replace("|", "\\|")


def verdict_problems(
    case_id: str, behavior: object, behavior_close: object, *, allow_unimplemented: bool = True
) -> list[str]:
    """Why a case fails the project's rule (CHECKLIST.md: no FAILED, NON-STRICT only in
    6.4.*, a clean close); empty when it passes. Shared by the client and server runners.
    ``allow_unimplemented=False`` fails UNIMPLEMENTED too (issue 15: every case runs)."""
    why = []
    if behavior == UNIMPLEMENTED and not allow_unimplemented:
        why.append("behavior UNIMPLEMENTED (the case did not run)")
    elif behavior in (FAILED, ERROR):
        why.append(f"behavior {behavior}")
    elif behavior == NON_STRICT and not any(fnmatch.fnmatchcase(case_id, p) for p in NON_STRICT_ALLOWED):
        why.append("NON-STRICT outside 6.4.*")
    elif behavior not in (OK, NON_STRICT, INFORMATIONAL, UNIMPLEMENTED):
        why.append(f"unknown behavior {behavior}")
    if behavior_close not in CLOSE_PASS:
        why.append(f"behaviorClose {behavior_close}")
    return why


def cli_main(ap: argparse.ArgumentParser, argv: list[str], run_fn) -> int:
    """Parses the arguments and runs `run_fn(args, t_start)` with the runners' common exit
    statuses: 64 usage, 2 setup problem (InfraError), 130 interrupted (SIGTERM too)."""
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 64 if e.code else 0

    def on_sigterm(signum, frame):  # e.g. `timeout`: clean up like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    t_start = time.monotonic()
    try:
        return run_fn(args, t_start)
    except InfraError as e:
        print(f"ERROR: {e}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr, flush=True)
        return 130
    finally:
        log(f"Total elapsed: {time.monotonic() - t_start:.1f} s")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        description="Autobahn TestSuite client cases (kosoku fuzzingserver) against wsc",
    )
    ap.add_argument("--wsc", required=True, help="path to the wsc binary (a .py file runs with this python)")
    ap.add_argument("--cases", default="*", help="comma-separated case ids or globs (default: all)")
    ap.add_argument("--exclude", default="", help="comma-separated case ids or globs to exclude")
    ap.add_argument("--port", type=int, default=9001)
    ap.add_argument("--out", default=str(HERE / "reports"), help="output directory (default: Tests/Autobahn/reports)")
    ap.add_argument("--case-timeout", type=float, default=60.0, help="seconds per case before wsc is killed (HANG)")
    ap.add_argument("--summary-md", help="also write a markdown summary here")
    ap.add_argument("--agent", default="wsc", help="agent name sent to the server (default: wsc)")
    ap.add_argument("--kosoku", help="path to the kosoku executable (default: next to this python, .venv, PATH)")
    ap.add_argument("--server-start-timeout", type=float, default=30.0)
    ap.add_argument("--report-timeout", type=float, default=180.0, help="seconds for kosoku to write reports and exit")
    ap.add_argument("--total-timeout", type=float, default=3600.0, help="stop starting new cases after this many seconds")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per case")
    ap.add_argument("--no-unimplemented", action="store_true", help="an UNIMPLEMENTED case fails the run")
    return cli_main(ap, argv, run)


def run(args: argparse.Namespace, t_start: float) -> int:
    include = split_patterns(args.cases) or ["*"]
    exclude = split_patterns(args.exclude)
    agent = args.agent
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", agent):
        raise InfraError("--agent must be [A-Za-z0-9_.-]+")

    wsc = args.wsc
    if not (os.path.isfile(wsc) and (wsc.endswith(".py") or os.access(wsc, os.X_OK))):
        raise InfraError(f"wsc not found or not executable: {wsc}")
    wsc_cmd = wsc_command(os.path.abspath(wsc))
    kosoku = find_kosoku(args.kosoku)

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    report_dir = out / "clients"
    report_dir.mkdir(exist_ok=True)
    clean_old_reports(report_dir, agent)
    stderr_dir = out / "wsc-stderr"
    if stderr_dir.is_dir():
        for p in stderr_dir.glob("*.txt"):
            p.unlink()
    stderr_dir.mkdir(exist_ok=True)

    # Autobahn-style spec, written for the record. kosoku 0.1.0 rejects
    # --spec ("not implemented yet"), so the same selection is passed as
    # repeated -i/-x flags below.
    base = f"ws://{HOST}:{args.port}"
    spec = {
        "url": base,
        "options": {"failByDrop": False},
        "outdir": str(report_dir),
        "cases": include,
        "exclude-cases": exclude,
        "exclude-agent-cases": {},
    }
    (out / "fuzzingserver.json").write_text(json.dumps(spec, indent=2) + "\n")

    if not port_is_free(args.port):
        raise InfraError(f"port {HOST}:{args.port} is already in use")

    notes: list[str] = []
    server_log_path = out / "kosoku.log"
    server, server_log = start_server(kosoku, report_dir, include, exclude, args, out, server_log_path, notes)
    results: dict[int, dict] = {}
    count = 0
    try:
        log(f"kosoku listening on {base} (log: {server_log_path})")

        # ---- case count
        count = fetch_case_count(wsc_cmd, args.port, out, notes)
        log(f"case count: {count}")
        if count <= 0:
            raise InfraError("the server reports 0 cases for this selection")

        # ---- the cases
        deadline = t_start + args.total_timeout
        t_cases = time.monotonic()
        for n in range(1, count + 1):
            if time.monotonic() > deadline:
                notes.append(f"--total-timeout reached: cases {n}..{count} not run")
                warn(notes[-1])
                break
            if server.poll() is not None:
                raise InfraError(f"kosoku exited (status {server.returncode}) during case {n}")
            url = f"{base}/runCase?case={n}&agent={agent}"
            errpath = stderr_dir / f"{n}.txt"
            with open(errpath, "wb") as errf:
                rc, hung, secs = run_bounded(
                    wsc_cmd + ["--echo", "--max-message-size", "64M", url],
                    args.case_timeout,
                    subprocess.DEVNULL,
                    errf,
                )
            if errpath.stat().st_size == 0:
                errpath.unlink()
            results[n] = {"rc": rc, "hang": hung, "secs": secs, "stderr": errpath if errpath.exists() else None}
            if hung:
                warn(f"case #{n}: HANG, wsc killed after {secs:.1f} s")
            elif rc is not None and rc < 0:
                warn(f"case #{n}: wsc killed by signal {-rc}")
            if args.verbose:
                log(f"  #{n:>3}  rc={rc}  {secs:6.2f} s{'  HANG' if hung else ''}")
            elif n % 50 == 0 or n == count:
                log(f"  {n}/{count} cases run ({time.monotonic() - t_cases:.1f} s)")
        log(f"cases took {time.monotonic() - t_cases:.1f} s")

        # ---- reports
        update_reports(wsc_cmd, args.port, agent, server, args.report_timeout, out, notes)
    finally:
        if server.poll() is None:
            warn("stopping kosoku (it did not exit by itself)")
            try:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
            kill_group(server)
        server_log.close()

    return evaluate(args, agent, report_dir, count, results, notes, t_start)


def start_server(kosoku, report_dir, include, exclude, args, out, log_path, notes):
    """Start kosoku and wait until it accepts connections.

    kosoku refuses to start when an include pattern matches no case (e.g.
    `8.*`: Autobahn has no section 8); such a pattern is dropped with a note
    and the server is started again."""
    include = list(include)
    while True:
        cmd = [kosoku, "-m", "fuzzingserver", "-o", str(report_dir)]
        for p in include:
            if include != ["*"]:  # no -i at all selects the whole suite
                cmd += ["-i", p]
        for p in exclude:
            cmd += ["-x", p]
        cmd.append(f"{HOST}:{args.port}")
        log("kosoku: " + " ".join(cmd))
        server_log = open(log_path, "wb")
        server = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            cwd=str(out),
            start_new_session=True,
        )
        try:
            wait_for_port(args.port, server, args.server_start_timeout)
            return server, server_log
        except InfraError:
            kill_group(server)
            server_log.close()
            text = tail(log_path, 4000)
            m = re.search(r"no cases match pattern: (\S+)", text)
            if m and m.group(1) in include and len(include) > 1:
                include.remove(m.group(1))
                notes.append(f"include pattern {m.group(1)!r} matches no case; dropped")
                warn(notes[-1])
                continue
            print(text, file=sys.stderr)
            raise
        except BaseException:  # interrupted while starting: leave nothing behind
            kill_group(server)
            server_log.close()
            raise


def fetch_case_count(wsc_cmd: list[str], port: int, out: Path, notes: list[str]) -> int:
    url = f"ws://{HOST}:{port}/getCaseCount"
    outpath = out / "getCaseCount.stdout"
    errpath = out / "getCaseCount.stderr"
    with open(outpath, "wb") as so, open(errpath, "wb") as se:
        rc, hung, _ = run_bounded(wsc_cmd + ["-w", "-1", url], 15.0, so, se)
    text = outpath.read_text("utf-8", "replace")
    m = re.findall(r"^\s*(\d+)\s*$", text, re.M)
    if m:
        if rc not in (0,):
            notes.append(f"wsc -w -1 getCaseCount printed the count but exited {rc}")
            warn(notes[-1])
        return int(m[-1])
    why = "timed out" if hung else f"exit {rc}"
    notes.append(
        f"FALLBACK: `wsc -w -1 {url}` did not print the case count ({why}; "
        f"stdout {text[:80]!r}, stderr {tail(errpath, 200)!r}); used the stdlib client instead"
    )
    warn(notes[-1])
    msgs = fallback_ws_messages(port, "/getCaseCount", 15.0)
    for msg in msgs:
        if msg.strip().isdigit():
            return int(msg.strip())
    raise InfraError(f"could not read the case count (messages: {msgs!r})")


def update_reports(
    wsc_cmd: list[str],
    port: int,
    agent: str,
    server: subprocess.Popen,
    timeout: float,
    out: Path,
    notes: list[str],
) -> None:
    url = f"ws://{HOST}:{port}/updateReports?agent={agent}"
    with open(out / "updateReports.stderr", "wb") as se:
        rc, hung, _ = run_bounded(wsc_cmd + ["-w", "-1", url], 30.0, subprocess.DEVNULL, se)
    # kosoku writes the reports and exits once it has seen /updateReports
    # (it drops that connection without a Close, so wsc's status is not 0).
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        notes.append(
            f"FALLBACK: kosoku still running 10 s after `wsc {url}` "
            f"({'timed out' if hung else f'exit {rc}'}); sent /updateReports with the stdlib client"
        )
        warn(notes[-1])
        try:
            fallback_ws_messages(port, f"/updateReports?agent={agent}", 10.0)
        except (OSError, EOFError, InfraError) as e:
            warn(f"fallback /updateReports: {e}")
        try:
            server.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise InfraError(f"kosoku did not write its reports within {timeout:.0f} s")
    log(f"kosoku exited with status {server.returncode}")


def evaluate(
    args: argparse.Namespace,
    agent: str,
    report_dir: Path,
    count: int,
    results: dict[int, dict],
    notes: list[str],
    t_start: float,
) -> int:
    index_path = report_dir / "index.json"
    if not index_path.is_file():
        raise InfraError(f"no report written ({index_path} missing)")
    index = json.loads(index_path.read_text())
    entries = index.get(agent, {})
    if not entries:
        raise InfraError(f"index.json has no entries for agent {agent!r} (agents: {list(index)})")

    # Per-case details; "case" is the 1-based runCase number.
    cases: list[dict] = []
    by_number: dict[int, dict] = {}
    for case_id, entry in entries.items():
        detail: dict = {}
        rf = report_dir / entry.get("reportfile", "")
        if rf.is_file():
            try:
                detail = json.loads(rf.read_text())
            except ValueError:
                pass
        c = {
            "id": case_id,
            "n": detail.get("case"),
            "behavior": entry.get("behavior"),
            "behaviorClose": entry.get("behaviorClose"),
            "remoteCloseCode": entry.get("remoteCloseCode"),
            "duration": entry.get("duration"),
            "description": detail.get("description", ""),
            "result": detail.get("result", ""),
            "resultClose": detail.get("resultClose", ""),
            "reportfile": entry.get("reportfile"),
        }
        cases.append(c)
        if isinstance(c["n"], int):
            by_number[c["n"]] = c

    def sort_key(c: dict) -> list[int]:
        return [int(p) if p.isdigit() else 0 for p in c["id"].split(".")]

    cases.sort(key=sort_key)

    problems: list[dict] = []  # every non-OK row, with "fail" True/False
    for c in cases:
        run = results.get(c["n"]) if c["n"] is not None else None
        c["rc"] = run["rc"] if run else None
        c["hang"] = bool(run and run["hang"])
        b, bc = c["behavior"], c["behaviorClose"]
        why = verdict_problems(c["id"], b, bc, allow_unimplemented=not args.no_unimplemented)
        if c["hang"]:
            why.append(f"HANG (>{args.case_timeout:g} s)")
        if c["rc"] is not None and c["rc"] < 0:
            why.append(f"wsc killed by signal {-c['rc']}")
        c["fail"] = bool(why)
        c["why"] = "; ".join(why)
        if b != OK or bc != OK or c["fail"]:
            problems.append(c)

    # Cases we ran (or should have) that are absent from the report.
    for n in range(1, count + 1):
        if n not in by_number:
            run = results.get(n)
            state = "not run" if run is None else ("HANG" if run["hang"] else f"wsc exit {run['rc']}")
            # kosoku only reports cases a client connected to, and has no
            # public way to list the selection, so name the neighbours.
            before = max((k for k in by_number if k < n), default=None)
            after = min((k for k in by_number if k > n), default=None)
            where = ", ".join(
                x
                for x in (
                    f"after {by_number[before]['id']}" if before else "",
                    f"before {by_number[after]['id']}" if after else "",
                )
                if x
            )
            problems.append(
                {
                    "id": f"#{n}",
                    "description": f"case absent from the report ({where or 'id unknown'})",
                    "n": n,
                    "behavior": "MISSING",
                    "behaviorClose": "MISSING",
                    "remoteCloseCode": None,
                    "result": state,
                    "resultClose": "",
                    "rc": run["rc"] if run else None,
                    "hang": bool(run and run["hang"]),
                    "fail": True,
                    "why": f"missing from report ({state})",
                }
            )

    # ---- counts
    from collections import Counter

    bcount = Counter(c["behavior"] for c in cases)
    ccount = Counter(c["behaviorClose"] for c in cases)
    hangs = sum(1 for r in results.values() if r["hang"])
    failing = [p for p in problems if p["fail"]]
    elapsed = time.monotonic() - t_start

    log("")
    log(f"Autobahn client cases for agent {agent!r}: {len(cases)} reported, {count} selected")
    log("behavior:      " + ", ".join(f"{k} {v}" for k, v in sorted(bcount.items())))
    log("behaviorClose: " + ", ".join(f"{k} {v}" for k, v in sorted(ccount.items())))
    log(f"hangs: {hangs}")
    for note in notes:
        log(f"note: {note}")
    if problems:
        log("")
        log("Cases that are not OK/OK:")
        for p in problems:
            mark = "FAIL" if p["fail"] else "    "
            log(
                f"{mark} {p['id']:<9} #{p['n'] if p['n'] is not None else '?':<4} behavior={p['behavior']} "
                f"behaviorClose={p['behaviorClose']} remoteCloseCode={p['remoteCloseCode']} wsc_rc={p['rc']}"
                + (f"  [{p['why']}]" if p["why"] else "")
            )
            log(f"       {plain(p['description'], 200)}")
            log(f"       result: {plain(p['result'])}  close: {plain(p['resultClose'])}")
    status = 1 if failing else 0
    log("")
    log(
        f"RESULT: {'FAIL' if status else 'PASS'} ({len(failing)} failing, "
        f"{len(problems) - len(failing)} other non-OK) reports: {report_dir}/index.html"
    )

    if args.summary_md:
        write_summary_md(
            Path(args.summary_md), args, agent, cases, count, bcount, ccount, hangs, problems, notes, status, elapsed
        )
    return status


def verdict_tables_md(bcount, ccount, notes) -> list[str]:
    """The verdict counts and notes of a summary, up to the heading of the non-OK cases
    (shared by the client and the server runner)."""
    lines = ["| verdict | behavior | behaviorClose |", "|---|---:|---:|"]
    for k in sorted(set(bcount) | set(ccount)):
        lines.append(f"| {k} | {bcount.get(k, 0)} | {ccount.get(k, 0)} |")
    if notes:
        lines += ["", "Notes:", ""] + [f"- {md_cell(n)}" for n in notes]
    lines += ["", "## Cases that are not OK/OK", ""]
    return lines


def write_summary_md(
    path: Path, args, agent, cases, count, bcount, ccount, hangs, problems, notes, status, elapsed
) -> None:
    lines = [
        "# Autobahn TestSuite client cases (kosoku)",
        "",
        f"- Result: **{'FAIL' if status else 'PASS'}**",
        f"- Agent: `{agent}`; testee: `{args.wsc}`",
        f"- Selection: cases `{args.cases}`, exclude `{args.exclude or '-'}`; {count} selected, {len(cases)} reported",
        f"- Per-case timeout: {args.case_timeout:g} s; hangs: {hangs}",
        f"- Elapsed: {elapsed:.1f} s",
        "",
    ]
    lines += verdict_tables_md(bcount, ccount, notes)
    if not problems:
        lines.append("None.")
    else:
        lines += [
            "| case | # | behavior | behaviorClose | close code | wsc exit | fails? | description | result |",
            "|---|---:|---|---|---:|---:|---|---|---|",
        ]
        for p in problems:
            result = p["result"] + (f" / {p['resultClose']}" if p.get("resultClose") else "")
            lines.append(
                "| "
                + " | ".join(
                    md_cell(x)
                    for x in (
                        p["id"],
                        p["n"],
                        p["behavior"],
                        p["behaviorClose"],
                        p["remoteCloseCode"],
                        "HANG" if p["hang"] else p["rc"],
                        ("yes: " + p["why"]) if p["fail"] else "no",
                        plain(p["description"], 160),
                        plain(result, 200),
                    )
                )
                + " |"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    log(f"summary written to {path}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
