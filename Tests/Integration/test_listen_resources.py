"""Listen mode keeps nothing per finished connection (issue 21).

Before the fix every client left a pipe pair behind (4 + 2N descriptors after
N clients, whatever the outcome), so a server at the usual 1024 limit stopped
serving after ~500 clients and one at ``ulimit -n 64`` after ~30, then spun on
EMFILE. Here raw-socket clients connect one after another in six ways a
connection can end, and the server's /proc/PID/fd and /proc/PID/task counts
must come back to where they started. A server out of descriptors must say so
once, keep serving the clients it has, and accept again once some are freed."""

from __future__ import annotations

import os
import resource
import socket
import time

import pytest

from helpers import wait_until
from peers import churn
from peers.churn import OUTCOMES, UPGRADE, clean_close, connect, masked, read_until
from test_listen import listen  # noqa: F401  (fixture)


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def thread_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def settle(pid: int, fds: int, threads: int, timeout: float = 15) -> bool:
    return wait_until(lambda: fd_count(pid) <= fds and thread_count(pid) <= threads, timeout, 0.05)


def test_two_thousand_sequential_clients_leave_no_descriptor_or_thread(listen):
    server = listen(["--echo"])
    pid = server.proc.pid
    # The listener is running; let the process reach its resting state first.
    time.sleep(0.3)
    fds, threads = fd_count(pid), thread_count(pid)
    rss = server.proc.rss_kib()
    churn.run(server.port, 2000)
    assert settle(pid, fds, threads), (
        f"after 2000 clients: {fd_count(pid)} descriptors (started with {fds}), "
        f"{thread_count(pid)} threads (started with {threads}); {os.listdir(f'/proc/{pid}/fd')[:20]}"
    )
    # Memory too: nothing per finished client (measured: 18.8 MiB before and after).
    assert server.proc.rss_kib() < rss + 16 * 1024, f"RSS {rss} KiB -> {server.proc.rss_kib()} KiB"
    # Still serving.
    clean_close(server.port)
    assert server.proc.alive()


@pytest.mark.parametrize("stdin", ["unread (--echo)", "at EOF", "open and idle"])
def test_each_outcome_alone_leaves_nothing(listen, stdin):
    """Each way a client can end (Close, TCP close without Close, reset, half a request, a
    refused request, a bare connect) leaves nothing behind and the server goes on: with
    --echo, which never reads stdin, and without it, reading stdin to broadcast it,
    whether stdin has ended or stays open; with it open, a line still reaches the next
    client."""
    if stdin == "unread (--echo)":
        server = listen(["--echo"])
    elif stdin == "at EOF":
        server = listen(keep_stdin_open=False, input=b"")
    else:
        server = listen()
    pid = server.proc.pid
    time.sleep(0.3)
    fds, threads = fd_count(pid), thread_count(pid)
    for outcome in OUTCOMES:
        for _ in range(20):
            outcome(server.port)
        assert settle(pid, fds, threads), (
            f"{outcome.__name__}: {fd_count(pid)} descriptors (started with {fds}), "
            f"{thread_count(pid)} threads (started with {threads})"
        )
    assert server.proc.alive(), server.stderr()
    if stdin == "open and idle":
        with churn.open_ws(server.port) as s:
            # The 101 went out after the client was registered: the line reaches it.
            assert server.proc.write(b"after the churn\n")
            assert b"after the churn" in read_until(s, b"after the churn")
    clean_close(server.port)
    assert server.proc.alive(), server.stderr()


def test_an_open_client_costs_one_descriptor_and_one_thread(listen):
    """Issue 17: a connection's I/O thread is woken by a signal, not a pipe, so 10,000
    clients fit in a limit of 20,000 descriptors (a pipe made it three a client)."""
    server = listen()
    pid = server.proc.pid
    time.sleep(0.3)
    fds, threads = fd_count(pid), thread_count(pid)
    held = []
    try:
        for _ in range(50):
            s = connect(server.port)
            s.settimeout(5)
            s.sendall(UPGRADE)
            assert read_until(s, b"\r\n\r\n").startswith(b"HTTP/1.1 101")
            held.append(s)
        assert wait_until(lambda: thread_count(pid) == threads + 50, 5, 0.05), thread_count(pid)
        assert fd_count(pid) == fds + 50, f"{fds} descriptors before, {fd_count(pid)} with 50 clients"
        # Without a pipe each I/O thread is still woken when another thread queues for
        # it: stdin's lines, broadcast from the stdin thread, twice (a second wake-up
        # after the first was seen).
        for line in (b"first line", b"second line"):
            assert server.proc.write(line + b"\n")
            for s in held:
                assert read_until(s, line).endswith(line)
    finally:
        for s in held:
            s.close()
    assert settle(pid, fds, threads)


def limit_descriptors(n: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))

    return apply


def test_two_hundred_clients_under_ulimit_64(listen):
    server = listen(["--echo"], preexec_fn=limit_descriptors(64))
    churn.run(server.port, 200)
    clean_close(server.port)
    assert "too many open files" not in server.stderr().lower(), server.stderr()


def test_out_of_descriptors_logs_once_keeps_serving_and_resumes(listen):
    server = listen(["--echo"], preexec_fn=limit_descriptors(48))
    held: list[socket.socket] = []
    try:
        # Each open client costs the server one descriptor, its socket; 48 runs out
        # before 60 clients. Connections past that wait in the backlog.
        for _ in range(60):
            s = connect(server.port)
            s.sendall(UPGRADE)
            held.append(s)
        assert server.wait_stderr("cannot accept", 10), server.stderr()
        served = []
        for s in held:
            s.settimeout(0.5)
            try:
                head = s.recv(4096)
            except socket.timeout:
                head = b""
            if head.startswith(b"HTTP/1.1 101"):
                served.append(s)
        assert 30 < len(served) < 48, len(served)
        # The clients it has are still served while it cannot accept.
        for s in served[:3]:
            s.settimeout(5)
            s.sendall(masked(0x1, b"still here"))
            assert read_until(s, b"still here").endswith(b"still here")
        time.sleep(1)
        assert server.stderr().count("cannot accept") == 1, server.stderr()
        # Free descriptors: the waiting clients are accepted and get their 101.
        for s in served:
            s.close()
        waiting = [s for s in held if s not in served]
        for s in waiting[:5]:
            s.settimeout(10)
            assert read_until(s, b"\r\n\r\n", 10).startswith(b"HTTP/1.1 101")
        assert server.wait_stderr("accepting new clients again", 5), server.stderr()
    finally:
        for s in held:
            s.close()
    clean_close(server.port)
    # The process does not spin while it waits for descriptors.
    assert server.proc.alive()
