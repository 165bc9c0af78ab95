"""The parent's side of the sandbox: `Zygote` starts the zygote and runs jobs in it.

The grading process never imports torch. `Zygote.run` may be called from many threads at once:
each run makes its own socket and pipes and hands them to the zygote with SCM_RIGHTS over one
SOCK_SEQPACKET socket (one record per run, so concurrent sends never mix), then reads the child's
result pipe, keeps tails of its stdout and stderr, enforces the wall clock, and waits for the
monitor's report.
"""
import json
import logging
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import asdict

from autograder.errors import AutograderError
from autograder import paths
from autograder.paths import REPO_ROOT
from autograder.sandbox import wire
from autograder.sandbox import zygote as zygote_process
from autograder.sandbox.isolation import Isolation
from autograder.sandbox.limits import Limits
from autograder.sandbox.outcome import ChildOutcome, classify, signal_name
from autograder.sandbox.worker import ENVIRONMENT

log = logging.getLogger(__name__)

# torch._dynamo: the first optimiser a process builds imports it, which costs seconds per child.
DEFAULT_PRELOAD = ("numpy", "torch", "torch._dynamo", "matplotlib.pyplot", "utils")
# For a verb that runs one child (`check`): preloading only moves an import from the child to the
# zygote, so torch._dynamo, which a submission's module and the visible checks do not need (only an
# optimiser step imports it), would cost 1.5 s for nothing. What every child imports stays, so
# that the memory limit counts the same as in `grade`.
MANY_RUNS_ONLY = ("torch._dynamo",)
ONE_RUN_PRELOAD = tuple(name for name in DEFAULT_PRELOAD if name not in MANY_RUNS_ONLY)
# Settings of the engine and its libraries passed to the zygote; never anything else of the grader's.
PASSED_VARIABLES = ("COURSE_FAST", "ATEN_CPU_CAPABILITY")
TAIL_BYTES = 8192
START_TIMEOUT = 300  # importing torch on a busy machine
KILL_GRACE = 10  # seconds the monitor has to report after a kill request
DRAIN_GRACE = 2  # seconds to wait for the last output once the worker has been reaped
JOB_KEYS = {"module_name": str, "module_source": str, "probe_source": str, "probe_names": list,
            "seed": int, "extra_sys_path": list}


class SandboxError(AutograderError):
    """The sandbox itself failed (not the submission): the zygote or a monitor is gone, the child
    could not be isolated, or this machine cannot isolate and the weak mode was not accepted."""


class Zygote:
    """One long-lived process with the heavy libraries imported, forking a sandboxed child per job.

        with Zygote(Limits(wall_seconds=60)) as zygote:
            outcome = zygote.run(job)              # safe to call from several threads at once
    """

    def __init__(self, limits_default: Limits = Limits(), preload=DEFAULT_PRELOAD, *, blocked=(),
                 allow_weak: bool = False, isolate: bool = True):
        """`blocked`: top-level packages no run can import (see `rootfs.blocked_packages`): the zygote
        imports none of them, not even as a dependency of a preloaded module, and `import torch`,
        say, raises ImportError in every run. `allow_weak`: run even where this machine cannot
        isolate a child (every report then says so); `isolate=False`: do not isolate at all (the
        weak mode on purpose, for tests)."""
        self.limits_default = limits_default
        self.blocked = tuple(blocked)
        if any(name.partition(".")[0] in self.blocked for name in preload):
            raise ValueError(f"preload {tuple(preload)} names a blocked package ({', '.join(self.blocked)})")
        self.preload = tuple(preload)
        self.allow_weak = allow_weak or not isolate
        self.isolate = isolate
        self.isolation: Isolation | None = None
        self._process: subprocess.Popen | None = None
        self._control: socket.socket | None = None
        self._launch_error = ""
        self._starting = threading.Lock()

    def __enter__(self) -> "Zygote":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def pid(self) -> int:
        return self._process.pid

    def start(self) -> None:
        """Start the zygote and wait until it has imported the preloaded modules and tried the
        isolation. Raises SandboxError when it cannot start, or cannot isolate and the weak mode
        was not allowed."""
        self.launch()
        self.wait_started()

    def launch(self) -> None:
        """Start the zygote without waiting for it: it imports the preloaded modules while the
        caller does other work. `wait_started` (which the first `run` calls) waits for it; `close`
        before then kills it."""
        if self._process is not None:
            return
        self.isolation, self._launch_error = None, ""
        control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._process = subprocess.Popen(
            _zygote_command(theirs.fileno()), pass_fds=[theirs.fileno()], env=_zygote_environment(),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
        theirs.close()
        self._control = control
        try:
            control.send(json.dumps({"parent_pid": os.getpid(), "preload": self.preload,
                                     "blocked": self.blocked, "isolate": self.isolate}).encode())
        except OSError as error:
            self._launch_error = f"no answer ({error})"

    def wait_started(self) -> None:
        """Wait until the launched zygote is ready (at once when it is). Raises SandboxError as
        `start` does."""
        with self._starting:
            if self.isolation is not None:
                return
            if self._control is None:
                raise SandboxError("the zygote is not running; use `with Zygote(...) as zygote:`")
            self._control.settimeout(START_TIMEOUT)
            try:
                hello = json.loads(self._control.recv(2**20) or b'{"error": "it exited"}')
            except (OSError, ValueError) as error:
                hello = {"error": self._launch_error or f"no answer ({error})"}
            if "error" in hello:
                self.close()
                raise SandboxError(f"the sandbox zygote did not start: {hello['error']}")
            self._control.settimeout(None)
            isolation = Isolation(**hello["isolation"])
            if not isolation.complete:
                if not self.allow_weak:
                    self.close()
                    raise SandboxError(f"this machine cannot isolate submissions ({isolation.missing}); "
                                       "unprivileged user namespaces are needed (see docs/architecture.md). "
                                       "To grade anyway, without protection, pass --allow-weak-sandbox")
                log.warning("the sandbox is weak: %s", isolation.describe())
            self.isolation = isolation

    def import_modules(self, names) -> None:
        """Have the zygote import those of `names` it has not, so that every child forked from now on
        finds them loaded: an assignment's own preloads, when the zygote was started before its
        grading.toml was read or serves several assignments. Raises SandboxError when one is a
        blocked package or cannot be imported."""
        missing = [name for name in names if name not in self.preload]
        if not missing:
            return
        blocked = [name for name in missing if name.partition(".")[0] in self.blocked]
        if blocked:
            raise SandboxError(f"this sandbox zygote blocks {', '.join(blocked)}, which the assignment preloads")
        self.wait_started()
        with self._starting:
            try:
                self._control.send(zygote_process.IMPORT + json.dumps(missing).encode())
                answer = json.loads(self._control.recv(2**16) or b'{"error": "it exited"}')
            except OSError as error:
                answer = {"error": f"no answer ({error})"}
        if "error" in answer:
            raise SandboxError(f"the sandbox zygote could not import {', '.join(missing)}: {answer['error']}")
        self.preload += tuple(missing)

    def close(self) -> None:
        """Stop the zygote (it exits when its socket closes) and reap it; one launched but never
        waited for is killed, with the processes of its session, rather than left to finish its
        imports."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None and self.isolation is None:
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._process is not None:
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def run(self, job: dict, limits: Limits | None = None) -> ChildOutcome:
        """Run `job` in a new sandboxed child and wait for it. Raises SandboxError when the sandbox
        (not the submission) fails, ValueError for a malformed job."""
        _check_job(job)
        limits = limits or self.limits_default
        self.wait_started()
        if self._control is None:
            raise SandboxError("the zygote is not running; use `with Zygote(...) as zygote:`")
        started = time.monotonic()
        channel, monitor_end = socket.socketpair()
        (result_r, result_w), (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe(), os.pipe()
        try:
            socket.send_fds(self._control, [b"run"], [monitor_end.fileno(), result_w, out_w, err_w])
            request = json.dumps({"job": job, "limits": asdict(limits)}).encode()
            channel.sendall(struct.pack(">Q", len(request)) + request)
        except OSError as error:
            for fd in (result_r, out_r, err_r):
                os.close(fd)
            channel.close()
            raise SandboxError(f"the sandbox zygote is not running ({error})") from None
        finally:
            monitor_end.close()
            for fd in (result_w, out_w, err_w):
                os.close(fd)
        watch = _Watch(channel, result_r, out_r, err_r, wire.MessageStream(job["probe_names"]))
        report = watch.until_reported(started + limits.wall_seconds)
        if "setup_error" in report:
            raise SandboxError(f"the child could not be isolated: {report['setup_error']}")
        stderr_tail = watch.tail(err_r)
        status, detail = classify(watch.stream, report, limits, watch.timed_out, watch.malformed, stderr_tail)
        return ChildOutcome(
            status=status, detail=detail, messages=watch.stream.messages, exit_code=report["exit_code"],
            signal=signal_name(report["signal"]) if report["signal"] else None,
            elapsed=time.monotonic() - started, cpu_seconds=report["cpu_seconds"],
            stdout_tail=watch.tail(out_r), stderr_tail=stderr_tail,
            clean=(watch.stream.done and watch.malformed is None and not watch.timed_out
                   and report["signal"] is None and report["exit_code"] == 0))


class _Watch:
    """The parent's side of one run: reads the result pipe into `stream`, keeps the last
    TAIL_BYTES of stdout and stderr, asks the monitor to kill the worker at the deadline or on a
    malformed message, and waits for the monitor's report. Closes every fd it was given."""

    def __init__(self, channel: socket.socket, result_fd: int, out_fd: int, err_fd: int,
                 stream: wire.MessageStream):
        self.channel, self.result_fd, self.stream = channel, result_fd, stream
        self.tails = {out_fd: bytearray(), err_fd: bytearray()}
        self.timed_out = False
        self.malformed: str | None = None
        self._kill_sent_at: float | None = None
        self._selector = selectors.DefaultSelector()
        for fd in (result_fd, out_fd, err_fd):
            self._selector.register(fd, selectors.EVENT_READ)
        self._selector.register(channel, selectors.EVENT_READ)

    def tail(self, fd: int) -> str:
        return bytes(self.tails[fd]).decode("utf-8", errors="replace")

    def until_reported(self, deadline: float) -> dict:
        """The monitor's report, once the worker is gone and its pipes are drained."""
        report_bytes, report, drain_until = bytearray(), None, None
        try:
            while self._selector.get_map():
                now = time.monotonic()
                if report is not None:
                    wait = max(0.0, drain_until - now)  # past the grace, only what is already there
                elif self._kill_sent_at is not None:
                    wait = self._kill_sent_at + KILL_GRACE - now
                    if wait <= 0:
                        raise SandboxError("the sandbox monitor did not answer a kill request")
                elif now >= deadline:
                    self.timed_out = True
                    self._kill()
                    continue
                else:
                    wait = deadline - now
                ready = self._selector.select(wait)
                if not ready and report is not None and time.monotonic() >= drain_until:
                    break  # a process outside a PID namespace still holds a pipe open
                for key, _ in ready:
                    if key.fileobj is self.channel:
                        report_bytes += self._read_channel()
                        if report_bytes.endswith(b"\n"):
                            report, drain_until = json.loads(report_bytes), time.monotonic() + DRAIN_GRACE
                            self._selector.unregister(self.channel)
                    else:
                        self._read_pipe(key.fd)
        finally:
            for key in list(self._selector.get_map().values()):
                self._selector.unregister(key.fileobj)
                if key.fileobj is not self.channel:
                    os.close(key.fd)
            self._selector.close()
            self.channel.close()
        if self.stream.done and self.stream.has_partial_message and self.malformed is None:
            self.malformed = "bytes came after the done message"
        return report

    def _read_channel(self) -> bytes:
        data = self.channel.recv(65536)
        if not data:
            raise SandboxError("the sandbox monitor stopped without a report")
        return data

    def _read_pipe(self, fd: int) -> None:
        data = os.read(fd, 65536)
        if not data:
            self._selector.unregister(fd)
            os.close(fd)
        elif fd in self.tails:
            tail = self.tails[fd]
            tail += data
            del tail[:-TAIL_BYTES]
        elif self.malformed is None:
            try:
                self.stream.feed(data)
            except wire.MalformedMessage as error:
                self.malformed = str(error)
                self._kill()

    def _kill(self) -> None:
        if self._kill_sent_at is None:
            self._kill_sent_at = time.monotonic()
            try:
                self.channel.send(b"k")
            except OSError:
                pass  # the monitor is gone; reading the channel says so


def _check_job(job: dict) -> None:
    if not isinstance(job, dict) or set(job) != set(JOB_KEYS):
        raise ValueError(f"a job must have exactly the keys {sorted(JOB_KEYS)}")
    for key, kind in JOB_KEYS.items():
        if not isinstance(job[key], kind):
            raise ValueError(f"job[{key!r}] must be a {kind.__name__}")
    if not job["module_name"].isidentifier():
        raise ValueError(f"job['module_name'] must be an identifier, not {job['module_name']!r}")
    if not all(isinstance(item, str) for item in job["probe_names"] + job["extra_sys_path"]):
        raise ValueError("job['probe_names'] and job['extra_sys_path'] must hold strings")




def _zygote_command(control_fd: int) -> list[str]:
    """A fresh interpreter running the zygote. -I keeps the current folder (which may hold
    submissions) and PYTHON* variables out of its import path."""
    code = (f"import sys; sys.path[:0] = {[str(REPO_ROOT), str(paths.student_helpers().parent)]!r}; "
            f"from autograder.sandbox.zygote import main; main({control_fd})")
    return [sys.executable, "-I", "-c", code]


def _zygote_environment() -> dict[str, str]:
    """The zygote's whole environment: fixed values, HOME (for the libraries' caches, which only
    the zygote uses) and the engine settings in PASSED_VARIABLES."""
    passed = {name: os.environ[name] for name in PASSED_VARIABLES if name in os.environ}
    return {**ENVIRONMENT, "HOME": os.path.expanduser("~"), **passed}
