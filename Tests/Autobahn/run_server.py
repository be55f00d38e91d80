#!/usr/bin/env python3
"""Run the Autobahn TestSuite server cases against `wsc -l --echo` with kosoku.

kosoku (PyPI, 0.1.0) in `fuzzingclient` mode is the client: it connects to the
server under test once per case, drives Autobahn's case, and writes the reports
(index.json plus one JSON/HTML file per case) when every case has run. The agent
name in the reports is the server's `Server` header (wsc sends `Server: wsc`).

Usage (from the repository root, with the venv that has kosoku):

    .venv/bin/python Tests/Autobahn/run_server.py --wsc .build/release/wsc \
        [--cases '1.*,2.*,...'] [--exclude '12.*,13.*'] [--parallelism 1] \
        [--out DIR] [--total-timeout 900] [--summary-md FILE]

The server is started as `wsc -l 127.0.0.1:0 --echo --max-message-size 64M`
(port 0: the port is read from its `listening on ws://127.0.0.1:PORT/` line, so
runs never collide with another service or with the client-case runner's 9001).

Exit status:
  0  every reported case passes: no FAILED/ERROR, behaviorClose OK or
     INFORMATIONAL, NON-STRICT only in 6.4.*, no hang, wsc still running at the end
  1  conformance failure (any of the above, or wsc died during the run)
  2  infrastructure error: wsc or kosoku not found, no report written
 64  usage error
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import (  # noqa: E402
    OK,
    InfraError,
    cli_main,
    find_kosoku,
    kill_group,
    log,
    md_cell,
    plain,
    split_patterns,
    tail,
    verdict_problems,
    verdict_tables_md,
)

HERE = Path(__file__).resolve().parent
LISTENING = re.compile(r"listening on ws://127\.0\.0\.1:(\d+)/")


def start_wsc(wsc: str, out: Path, timeout: float) -> tuple[subprocess.Popen, int, Path]:
    err_path = out / "wsc-server.stderr"
    errf = open(err_path, "wb")
    proc = subprocess.Popen(
        [wsc, "-l", "127.0.0.1:0", "--echo", "--max-message-size", "64M"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=errf,
        start_new_session=True,
    )
    errf.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = LISTENING.search(tail(err_path, 4000))
        if m:
            return proc, int(m.group(1)), err_path
        if proc.poll() is not None:
            raise InfraError(f"wsc -l exited with status {proc.returncode}: {tail(err_path, 500)}")
        time.sleep(0.05)
    kill_group(proc)
    raise InfraError("wsc -l did not print its 'listening on' line")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="Autobahn TestSuite server cases (kosoku fuzzingclient) against wsc -l")
    ap.add_argument("--wsc", required=True, help="path to the wsc binary")
    ap.add_argument("--cases", default="*", help="comma-separated case ids or globs (default: all)")
    ap.add_argument("--exclude", default="", help="comma-separated case ids or globs to exclude")
    ap.add_argument("--parallelism", type=int, default=1, help="cases kosoku runs at once (default 1)")
    ap.add_argument("--out", default=str(HERE / "reports-server"), help="output directory")
    ap.add_argument("--total-timeout", type=float, default=900.0, help="seconds for the whole run (a HANG beyond)")
    ap.add_argument("--summary-md", help="also write a markdown summary here")
    ap.add_argument("--kosoku", help="path to the kosoku executable (default: next to this python, .venv, PATH)")
    return cli_main(ap, argv, run)


def run(args: argparse.Namespace, t_start: float) -> int:
    wsc = os.path.abspath(args.wsc)
    if not (os.path.isfile(wsc) and os.access(wsc, os.X_OK)):
        raise InfraError(f"wsc not found or not executable: {wsc}")
    kosoku = find_kosoku(args.kosoku)
    include = split_patterns(args.cases) or ["*"]
    exclude = split_patterns(args.exclude)
    out = Path(args.out).resolve()
    report_dir = out / "servers"
    report_dir.mkdir(parents=True, exist_ok=True)
    for p in report_dir.iterdir():
        if p.suffix in (".json", ".html"):
            p.unlink()

    server, port, err_path = start_wsc(wsc, out, 10.0)
    notes: list[str] = []
    hung = False
    wsc_died = None
    try:
        cmd = [kosoku, "-m", "fuzzingclient", "-o", str(report_dir), "-p", str(max(1, args.parallelism))]
        for p in include:
            if include != ["*"]:
                cmd += ["-i", p]
        for p in exclude:
            cmd += ["-x", p]
        cmd.append(f"ws://127.0.0.1:{port}")
        log("kosoku: " + " ".join(cmd))
        with open(out / "kosoku.log", "wb") as klog:
            client = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=klog, stderr=subprocess.STDOUT, cwd=str(out), start_new_session=True
            )
            try:
                rc = client.wait(timeout=args.total_timeout)
            except subprocess.TimeoutExpired:
                hung = True
                rc = None
                kill_group(client)
                notes.append(f"kosoku did not finish within --total-timeout {args.total_timeout:g} s (HANG)")
        log(f"kosoku exited with status {rc}; cases took {time.monotonic() - t_start:.1f} s")
        if server.poll() is not None:
            wsc_died = server.returncode
            notes.append(f"wsc -l exited during the run with status {wsc_died}: {tail(err_path, 300)!r}")
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                kill_group(server)

    index_path = report_dir / "index.json"
    if not index_path.is_file():
        if hung or wsc_died is not None:
            for n in notes:
                log(f"FAIL: {n}")
            return 1
        raise InfraError(f"no report written ({index_path} missing); see {out / 'kosoku.log'}")
    return evaluate(args, report_dir, json.loads(index_path.read_text()), notes, hung, wsc_died, t_start)


def evaluate(args, report_dir: Path, index: dict, notes: list[str], hung: bool, wsc_died, t_start: float) -> int:
    if len(index) != 1:
        notes.append(f"agents in the report: {sorted(index)} (expected one, 'wsc')")
    entries = {}
    for agent_entries in index.values():
        entries.update(agent_entries)

    def sort_key(case_id: str) -> list[int]:
        return [int(p) if p.isdigit() else 0 for p in case_id.split(".")]

    cases = []
    for case_id in sorted(entries, key=sort_key):
        e = entries[case_id]
        detail = {}
        rf = report_dir / e.get("reportfile", "")
        if rf.is_file():
            try:
                detail = json.loads(rf.read_text())
            except ValueError:
                pass
        b, bc = e.get("behavior"), e.get("behaviorClose")
        why = verdict_problems(case_id, b, bc)
        cases.append(
            {
                "id": case_id,
                "behavior": b,
                "behaviorClose": bc,
                "remoteCloseCode": e.get("remoteCloseCode"),
                "duration": e.get("duration") or 0,
                "description": detail.get("description", ""),
                "result": detail.get("result", ""),
                "resultClose": detail.get("resultClose", ""),
                "why": "; ".join(why),
            }
        )

    bcount = Counter(c["behavior"] for c in cases)
    ccount = Counter(c["behaviorClose"] for c in cases)
    sections = Counter()
    section_time = Counter()
    for c in cases:
        s = c["id"].split(".")[0]
        sections[s] += 1
        section_time[s] += c["duration"]
    problems = [c for c in cases if c["behavior"] != OK or c["behaviorClose"] != OK or c["why"]]
    failing = [c for c in problems if c["why"]]
    elapsed = time.monotonic() - t_start
    status = 1 if failing or hung or wsc_died is not None else 0

    log("")
    log(f"Autobahn server cases against wsc -l --echo: {len(cases)} reported")
    log("behavior:      " + ", ".join(f"{k} {v}" for k, v in sorted(bcount.items())))
    log("behaviorClose: " + ", ".join(f"{k} {v}" for k, v in sorted(ccount.items())))
    log(
        "per section (cases, case time): "
        + ", ".join(f"{s}.*: {sections[s]} in {section_time[s] / 1000:.0f} s" for s in sorted(sections, key=int))
    )
    for n in notes:
        log(f"note: {n}")
    if problems:
        log("")
        log("Cases that are not OK/OK:")
        for p in problems:
            log(
                f"{'FAIL' if p['why'] else '    '} {p['id']:<9} behavior={p['behavior']} "
                f"behaviorClose={p['behaviorClose']} remoteCloseCode={p['remoteCloseCode']}"
                + (f"  [{p['why']}]" if p["why"] else "")
            )
            log(f"       {plain(p['description'], 200)}")
            log(f"       result: {plain(p['result'])}  close: {plain(p['resultClose'])}")
    log("")
    log(
        f"RESULT: {'FAIL' if status else 'PASS'} ({len(failing)} failing, {len(problems) - len(failing)} other non-OK"
        f"{', HANG' if hung else ''}{', wsc died' if wsc_died is not None else ''}) reports: {report_dir}/index.html"
    )

    if args.summary_md:
        lines = [
            "# Autobahn TestSuite server cases (kosoku fuzzingclient) against wsc -l --echo",
            "",
            f"- Result: **{'FAIL' if status else 'PASS'}**",
            f"- Selection: cases `{args.cases}`, exclude `{args.exclude or '-'}`; {len(cases)} reported",
            f"- Parallelism: {args.parallelism}; elapsed: {elapsed:.1f} s; hang: {'yes' if hung else 'no'}",
            "",
        ]
        lines += verdict_tables_md(bcount, ccount, notes)
        if not problems:
            lines.append("None.")
        else:
            lines += ["| case | behavior | behaviorClose | close code | fails? | description |", "|---|---|---|---:|---|---|"]
            for p in problems:
                lines.append(
                    "| "
                    + " | ".join(
                        md_cell(x)
                        for x in (
                            p["id"],
                            p["behavior"],
                            p["behaviorClose"],
                            p["remoteCloseCode"],
                            ("yes: " + p["why"]) if p["why"] else "no",
                            plain(p["description"], 160),
                        )
                    )
                    + " |"
                )
        path = Path(args.summary_md)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
        log(f"summary written to {path}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
