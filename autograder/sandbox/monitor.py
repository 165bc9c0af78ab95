"""The monitor: one per run, forked by the zygote, trusted, outside the sandbox's PID namespace.

It reads the job from its socket, enters the namespaces (see `namespaces`), forks the worker,
kills it when the parent asks (wall clock, malformed output), when it goes away, or when the
sandbox's processes together have used the CPU limit, reaps it and reports its exit status, CPU
time and peak memory on the socket, as one JSON line.

RLIMIT_CPU bounds each process; a child that forks 32 spinning copies of itself would use 32 times
the limit, every core of the machine until the wall clock stops it. So the monitor also sums the
CPU time of every process of the sandbox every CPU_POLL_SECONDS: it shares the worker's mount
namespace, so after the worker's pivot_root its /proc is the sandbox's, which lists exactly the
sandbox's processes (without isolation: those of the worker's session). A process's time counts
while it lives, then in its parent's, once reaped; a child auto-reaped (its parent ignores SIGCHLD)
is lost to the sum, which the wall clock still bounds.
"""
import json
import os
import select
import shutil
import signal
import socket
import struct
import tempfile
from pathlib import Path

from autograder.sandbox import libc, namespaces, rootfs, worker
from autograder.sandbox.forked import run_forked
from autograder.sandbox.isolation import Isolation
from autograder.sandbox.limits import Limits

CPU_POLL_SECONDS = 0.2


def run(fds: list[int], paths: list[str], isolation: Isolation, hidden: dict[str, list[str]] | None = None) -> None:
    """Run one job: `fds` are the parent's channel socket, then the write ends of the result,
    stdout and stderr pipes; `paths` the allow-list of the child's root; `hidden` the blocked
    packages' folders (`rootfs.blocked_packages`)."""
    channel_fd, result_w, out_w, err_w = fds
    channel = socket.socket(fileno=channel_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    libc.prctl(libc.PR_SET_PDEATHSIG, signal.SIGKILL)
    libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1)  # without a PID namespace, orphans come here to be reaped
    zygote_rss_kb = _resident_kb()  # read now: the worker will mount a /proc this process is not in
    request = json.loads(_receive_exactly(channel, struct.unpack(">Q", _receive_exactly(channel, 8))[0]))
    job, limits = request["job"], Limits(**request["limits"])
    paths = rootfs.outermost([*paths, *(os.path.realpath(p) for p in job["extra_sys_path"])])
    entries = None
    try:
        if isolation.complete:
            entries = namespaces.enter(lambda: rootfs.open_paths(paths))
        workdir = "/tmp" if isolation.complete else tempfile.mkdtemp(prefix="autograder-child-")
    except OSError as error:
        channel.sendall(json.dumps({"setup_error": str(error)}).encode() + b"\n")
        return
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        channel.close()
        run_forked(lambda: worker.run(job, limits, entries, workdir, hidden or {}, {
            0: os.open(os.devnull, os.O_RDONLY), 1: out_w, 2: err_w, worker.RESULT_FD: result_w,
            worker.READY_FD: ready_w}))
    for fd in (result_w, out_w, err_w, ready_w):
        os.close(fd)
    with os.fdopen(ready_r, "rb") as ready:
        setup = ready.read()
    report = {**_supervise(channel, pid, isolation.complete, limits.cpu_seconds), "zygote_rss_kb": zygote_rss_kb}
    if not isolation.complete:
        shutil.rmtree(workdir, ignore_errors=True)
    if setup != b"ok":
        report["setup_error"] = setup.decode(errors="replace") or "the child died while being isolated"
    channel.sendall(json.dumps(report).encode() + b"\n")


def _receive_exactly(channel: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = channel.recv(min(size - len(data), 2**20))
        if not chunk:
            raise EOFError("the parent closed the channel")
        data += chunk
    return bytes(data)


def _resident_kb() -> int:
    """This process's resident memory, which a worker forked from it starts with."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _supervise(channel: socket.socket, pid: int, isolated: bool, cpu_seconds: float) -> dict:
    """Wait for the worker; kill it first if the parent asks or goes away, or when the sandbox's
    processes have used `cpu_seconds` together."""
    pidfd = os.pidfd_open(pid)
    session = None if isolated else pid  # the worker called setsid; isolated, every process counts
    used = 0.0
    while True:
        readable, _, _ = select.select([channel, pidfd], [], [], CPU_POLL_SECONDS)
        if readable:
            break
        used = _sandbox_cpu_seconds(session)
        if used >= cpu_seconds:
            break
    # Without a PID namespace, what the worker left behind is killed too. Either way this happens
    # before the worker is reaped, so its pid and process group cannot belong to anyone else yet.
    if pidfd not in readable or not isolated:
        _kill_worker(pid, isolated)
    _, status, usage = os.wait4(pid, 0)
    os.close(pidfd)
    if not isolated:
        _reap_orphans()
    return {"exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "cpu_seconds": max(usage.ru_utime + usage.ru_stime, used), "cpu_limit_reached": used >= cpu_seconds,
            "max_rss_kb": usage.ru_maxrss, "isolated": isolated}


def _sandbox_cpu_seconds(session: int | None) -> float:
    """The CPU time of the processes in /proc (of `session` only, when given), with that of the
    children each has reaped."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_bytes()
            # Fields after the command name (which may hold spaces and parentheses): state, ppid,
            # pgrp, session, ..., utime, stime, cutime, cstime (fields 3 to 6, ..., 14 to 17 of proc(5)).
            fields = stat[stat.rindex(b")") + 2:].split()
            if session is None or int(fields[3]) == session:
                ticks += sum(int(field) for field in fields[11:15])
        except (OSError, ValueError, IndexError):
            continue  # it exited while being read: a fork bomb's processes come and go
    return ticks / os.sysconf("SC_CLK_TCK")


def _kill_worker(pid: int, isolated: bool) -> None:
    """SIGKILL the worker; as PID 1 of its namespace, the kernel then kills everything inside.
    Without one, also its process group (a child that left the group escapes: the weak mode)."""
    for kill in (os.kill, *(() if isolated else (os.killpg,))):
        try:
            kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _reap_orphans() -> None:
    """Reap the worker's descendants, killed with it and left to this subreaper."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
