"""The worker: becomes the sandboxed child and runs the job. Untrusted from the moment
`autograder.sandbox.child.run_job` loads the submission.

In order, before any submission code runs: a new session; the allow-list root (`rootfs`, when
isolated), which also gives it its own /proc; stdin from /dev/null, stdout and stderr to pipes, the
result pipe on fd RESULT_FD, every other fd closed; hard rlimits; an environment built from nothing;
every capability dropped (when isolated); PR_SET_NO_NEW_PRIVS; PR_SET_PDEATHSIG.

Limits: RLIMIT_CPU (soft = hard, so the kernel sends SIGKILL: as PID 1 of its namespace the worker
would ignore SIGXCPU), RLIMIT_AS, RLIMIT_NPROC (counted per user namespace, so it bounds this
child's processes only; not set in the weak mode, where it would count all the grader's),
RLIMIT_FSIZE (with SIGXFSZ ignored, an oversized write raises OSError), RLIMIT_CORE = 0. RLIMIT_AS
limits address space, not resident memory, and the forked worker already maps everything the zygote
loaded (about 0.6 GB of mostly shared torch), so the limit is that size plus `memory_mb`.
"""
import math
import os
import resource
import signal
import sys
import tempfile
from pathlib import Path

from autograder.sandbox import libc, rootfs
from autograder.sandbox.limits import Limits

RESULT_FD = 3
READY_FD = 4
THREAD_VARIABLES = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
# The whole environment of a child (and of the zygote it forks from, with HOME): nothing inherited.
ENVIRONMENT = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "USER": "sandbox",
               "MPLBACKEND": "Agg", **THREAD_VARIABLES}


def run(job: dict, limits: Limits, root_entries: list | None, workdir: str, hidden: dict[str, list[str]],
        fds: dict[int, int]) -> None:
    """Isolate this process (an allow-list root of `root_entries` from `rootfs.open_paths`, with the
    `hidden` packages replaced by stand-ins, or none: the weak mode), tell the monitor through fd
    READY_FD, run the job. Called through `run_forked`, which exits."""
    ready = fds[READY_FD]
    try:
        os.setsid()
        if root_entries is not None:
            rootfs.build_root(root_entries, tmp_size_mb=4 * limits.file_size_mb, hidden=hidden)
        _place_fds(fds)
        ready = READY_FD
        _set_limits(limits, count_processes=root_entries is not None)
        _set_environment(workdir)
        os.chdir(workdir)
        if root_entries is not None:
            libc.drop_capabilities()
        libc.prctl(libc.PR_SET_NO_NEW_PRIVS, 1)
        libc.prctl(libc.PR_SET_PDEATHSIG, signal.SIGKILL)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write over the limit raises OSError instead
        os.write(ready, b"ok")
        os.close(ready)
    except BaseException as error:
        os.write(ready, f"{type(error).__name__}: {error}".encode())
        raise
    from autograder.sandbox import child  # imported by the zygote already
    try:
        child.run_job(job, RESULT_FD)
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass  # a submission replaced or closed it


def _place_fds(fds: dict[int, int]) -> None:
    """Put each fd at its target number (fds may overlap the targets) and close all others."""
    moved = {target: os.dup(fd) for target, fd in fds.items()}
    for target, fd in moved.items():
        os.dup2(fd, target, inheritable=target <= 2)
    for name in os.listdir("/proc/self/fd"):
        if int(name) > max(fds):
            try:
                os.close(int(name))
            except OSError:
                pass  # the listing's own fd, already closed


def _set_limits(limits: Limits, count_processes: bool) -> None:
    """Hard limits (the child cannot raise them). Address space: what is mapped now, the zygote's
    libraries, plus `memory_mb` (see the module docstring)."""
    mapped = os.sysconf("SC_PAGE_SIZE") * int(Path("/proc/self/statm").read_text().split()[0])
    chosen = {resource.RLIMIT_CORE: 0, resource.RLIMIT_CPU: math.ceil(limits.cpu_seconds),
              resource.RLIMIT_AS: mapped + limits.memory_mb * 2**20,
              resource.RLIMIT_FSIZE: limits.file_size_mb * 2**20}
    if count_processes:
        chosen[resource.RLIMIT_NPROC] = limits.processes
    for kind, value in chosen.items():
        resource.setrlimit(kind, (value, value))


def _set_environment(workdir: str) -> None:
    os.environ.clear()
    os.environ.update(ENVIRONMENT, HOME=workdir, TMPDIR=workdir, MPLCONFIGDIR=workdir)
    tempfile.tempdir = workdir
