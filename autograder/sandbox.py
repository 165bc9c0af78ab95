"""Run untrusted submission code in sandboxed children forked from a zygote that has torch loaded.

Processes, from trusted to untrusted:

* the parent — the grading process. It never imports torch. `Zygote.run` may be called from many
  threads at once: each run makes its own socket and pipes and hands them to the zygote with
  SCM_RIGHTS over one SOCK_SEQPACKET socket (one record per run, so concurrent sends never mix).
* the zygote — started once by `Zygote`; imports numpy, torch (one thread), matplotlib (Agg) and
  `utils`, then forks one *monitor* per run. It exits when the parent closes its socket or dies
  (PR_SET_PDEATHSIG; the parent should create the Zygote on a thread that outlives it, since the
  kernel ties that signal to the creating thread).
* the monitor (root, trusted) — reads the job from its socket, builds the namespaces and mounts,
  forks the *worker*, kills it when the parent asks (wall clock, malformed output) or goes away,
  reaps it and reports its exit status, CPU time and peak memory.
* the worker (untrusted from the moment `autograder.child.run_job` loads the submission) — PID 1 of
  its own PID namespace, so when it dies the kernel kills everything it started.

Isolation, in order, before any submission code runs, each step where the machine allows it:

1. `unshare` of the network, mount, PID and IPC namespaces, by ctypes (Python 3.11 has no
   `os.unshare`). bubblewrap would give the same, but it must exec a new program, which would lose
   the zygote's preloaded torch (seconds per child instead of milliseconds).
2. Mounts (in the monitor, which is root): `/` made private; every hidden path (the repository's
   `assignments/`, `source/`, `examples/`, `/root`, `/home`, `/run` — where services keep their
   Unix sockets, which a network namespace does not cut off — and the Zygote's `hide` list: the
   submissions and output folders) covered by an empty read-only tmpfs, into which the paths the
   child needs are bind-mounted back (the Python installation, which may live under /root, the
   virtualenv, the `autograder` package, the preloaded modules and the job's `extra_sys_path`); then
   the whole tree made read-only (mount_setattr, recursive; Linux 5.12) and a private tmpfs mounted
   on /tmp (the working directory, HOME and TMPDIR) and on /dev/shm. Nothing is written to disk.
3. In the worker: a new session; a fresh /proc for its PID namespace; stdin from /dev/null, stdout
   and stderr to pipes, the result pipe on fd `RESULT_FD`, every other fd closed; a minimal
   environment; rlimits (below); then setgroups([]) and a uid/gid of its own
   (`SANDBOX_ID_BASE` + the monitor's pid, so concurrent children never share one and each has its
   own RLIMIT_NPROC budget); PR_SET_NO_NEW_PRIVS; PR_SET_PDEATHSIG.

Mounts inherited into a namespace cannot be undone from a user namespace the child might create, so
the covers hold even then. There is no seccomp filter: the child may make any system call its user
and namespaces allow.

Limits: RLIMIT_CPU (soft = hard, so the kernel sends SIGKILL: as PID 1 of its namespace the worker
would ignore SIGXCPU), RLIMIT_AS, RLIMIT_NPROC, RLIMIT_FSIZE (with SIGXFSZ ignored, an oversized
write raises OSError), RLIMIT_CORE = 0, and the wall clock, which the parent enforces. RLIMIT_AS
limits address space, not resident memory, and the forked worker already maps everything the zygote
loaded (about 0.6 GB of mostly shared torch), so the limit is that size plus `memory_mb`: the
submission gets `memory_mb` of new address space. Allocations beyond it fail (MemoryError in
Python, a RuntimeError in torch) instead of waking the kernel's OOM killer.

stdout and stderr are pipes that the parent drains, keeping the last TAIL_BYTES of each: a true
tail however much is printed, and nothing on disk (a capped file would keep the head instead).

Where namespaces are not available (not root, or a container that forbids unshare), `isolation()`
says so once, as a logging warning, and the limits still apply; the working folder is then a
temporary folder on disk, removed after the run, and the monitor, a child subreaper, kills the
worker's process group and every process of its user and reaps them. Without root there is no
separate user, and so no process limit (RLIMIT_NPROC counts all of a user's processes).
Requires Linux 5.3 (pidfd_open).
"""
import ctypes
import functools
import json
import logging
import math
import os
import resource
import select
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder import wire
from autograder.paths import REPO_ROOT

log = logging.getLogger(__name__)

# torch._dynamo: the first optimiser a process builds imports it, which costs seconds per child.
DEFAULT_PRELOAD = ("numpy", "torch", "torch._dynamo", "matplotlib.pyplot", "utils")
# /run holds the Unix sockets of local services (databases, D-Bus), which no network namespace stops.
DEFAULT_HIDDEN = (REPO_ROOT / "assignments", REPO_ROOT / "source", REPO_ROOT / "examples",
                  Path("/root"), Path("/home"), Path("/run"))
# A world-writable folder outside those that a read-only root would protect; covered without one.
WORLD_WRITABLE = (Path("/var/tmp"),)
SANDBOX_ID_BASE = 2_000_000_000
RESULT_FD = 3
TAIL_BYTES = 8192
START_TIMEOUT = 300  # importing torch on a busy machine
KILL_GRACE = 10  # seconds the monitor has to report after a kill request
DRAIN_GRACE = 2  # seconds to wait for the last output once the worker has been reaped
JOB_KEYS = {"module_name": str, "module_source": str, "probe_source": str, "probe_names": list,
            "seed": int, "extra_sys_path": list}
STATUSES = ("ok", "time limit", "memory limit", "crashed", "malformed")
ENVIRONMENT_KEPT = ("PATH", "LANG", "LC_ALL")
ENVIRONMENT_PREFIX_KEPT = "COURSE_"
THREAD_VARIABLES = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

# Linux interfaces that Python 3.11 does not wrap.
CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x08000000, 0x20000000, 0x40000000
NAMESPACES = {"network": CLONE_NEWNET, "mount": CLONE_NEWNS, "pid": CLONE_NEWPID, "ipc": CLONE_NEWIPC}
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 36, 38
SYS_MOUNT_SETATTR, AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = 442, -100, 0x8000, 1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the submission): the zygote or a monitor is gone, or the
    child could not be isolated."""


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 60
    cpu_seconds: float = 60
    memory_mb: int = 3072
    processes: int = 32
    file_size_mb: int = 16

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not value > 0:
                raise ValueError(f"Limits.{name} must be positive, not {value!r}")


@dataclass
class ChildOutcome:
    status: str  # one of STATUSES
    detail: str  # what the child did, a phrase to follow "it": "used its 60 s of CPU time"
    messages: list[dict]  # validated and decoded (arrays as numpy), in the order received
    exit_code: int | None
    signal: str | None  # e.g. "SIGKILL"
    elapsed: float  # wall-clock seconds
    cpu_seconds: float
    stdout_tail: str
    stderr_tail: str

    @property
    def load_error(self) -> dict | None:
        """{"type", "message"} when the submission did not load."""
        return next((m["error"] for m in self.messages if m["event"] == "load_error"), None)

    @property
    def results(self) -> dict[str, dict]:
        """The probe messages by probe name: {"name", "value"} or {"name", "error"}."""
        return {m["name"]: m for m in self.messages if m["event"] == "probe"}


@dataclass(frozen=True)
class Isolation:
    namespaces: tuple[str, ...]  # of "network", "mount", "pid", "ipc"
    read_only_root: bool
    separate_user: bool
    missing: str  # why something is unavailable; empty when nothing is

    @classmethod
    def from_json(cls, fields: dict) -> "Isolation":
        return cls(**{**fields, "namespaces": tuple(fields["namespaces"])})

    @property
    def complete(self) -> bool:
        return not self.missing

    def describe(self) -> str:
        parts = [f"{', '.join(self.namespaces)} namespaces" if self.namespaces else "no namespaces"]
        if "mount" in self.namespaces:
            parts.append("hidden folders emptied, a private /tmp"
                         + (", everything else read-only" if self.read_only_root else ""))
        else:
            parts.append("the child sees every file its user can read")
        parts.append("a separate unprivileged user per child" if self.separate_user
                     else "the grader's own user (no process limit)")
        limits = "CPU time, memory" + (", processes" if self.separate_user else "") + ", file size"
        parts.append(f"limits on {limits} and wall-clock time")
        return "; ".join(parts) + (f" (unavailable: {self.missing})" if self.missing else "")


@functools.cache
def isolation() -> str:
    """What isolation this machine gives a child, probed once per process (in a subprocess, so that
    the grading process never forks); warns once when it is incomplete."""
    output = subprocess.run(_python_command("_print_isolation"), capture_output=True, text=True,
                            check=True, timeout=60, stdin=subprocess.DEVNULL)
    return _announce(Isolation.from_json(json.loads(output.stdout))).describe()


@functools.cache
def _announce(found: Isolation) -> Isolation:
    if not found.complete:
        log.warning("the sandbox is weaker on this machine: %s", found.describe())
    return found


class Zygote:
    """One long-lived process with the heavy libraries imported, forking a sandboxed child per job.

        with Zygote(Limits(wall_seconds=60)) as zygote:
            outcome = zygote.run(job)              # safe to call from several threads at once
    """

    def __init__(self, limits_default: Limits = Limits(), preload=DEFAULT_PRELOAD, hide=()):
        self.limits_default = limits_default
        self.preload = tuple(preload)
        self.hidden = tuple(str(Path(p).resolve()) for p in (*DEFAULT_HIDDEN, *hide))
        self.isolation: Isolation | None = None
        self._process: subprocess.Popen | None = None
        self._control: socket.socket | None = None

    def __enter__(self) -> "Zygote":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def pid(self) -> int:
        return self._process.pid

    def start(self) -> None:
        """Start the zygote and wait until it has imported the preloaded modules."""
        control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        settings = {"control_fd": theirs.fileno(), "parent_pid": os.getpid(), "preload": self.preload,
                    "hidden": self.hidden}
        environment = {**os.environ, **THREAD_VARIABLES, "MPLBACKEND": "Agg"}
        self._process = subprocess.Popen(
            _python_command("_zygote_main", json.dumps(settings)), pass_fds=[theirs.fileno()],
            env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
        theirs.close()
        self._control = control
        control.settimeout(START_TIMEOUT)
        try:
            hello = json.loads(control.recv(2**20) or b'{"error": "it exited"}')
        except (OSError, ValueError) as error:
            hello = {"error": f"no answer ({error})"}
        control.settimeout(None)
        if "error" in hello:
            self.close()
            raise SandboxError(f"the sandbox zygote did not start: {hello['error']}")
        self.isolation = _announce(Isolation.from_json(hello["isolation"]))

    def close(self) -> None:
        """Stop the zygote (it exits when its socket closes) and reap it."""
        if self._control is not None:
            self._control.close()
            self._control = None
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
        status, detail = _classify(watch.stream, report, limits, watch.timed_out, watch.malformed, stderr_tail)
        return ChildOutcome(
            status=status, detail=detail, messages=watch.stream.messages, exit_code=report["exit_code"],
            signal=_signal_name(report["signal"]) if report["signal"] else None,
            elapsed=time.monotonic() - started, cpu_seconds=report["cpu_seconds"],
            stdout_tail=watch.tail(out_r), stderr_tail=stderr_tail)


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


def _classify(stream: wire.MessageStream, report: dict, limits: Limits, timed_out: bool,
              malformed: str | None, stderr_tail: str) -> tuple[str, str]:
    """(status, detail) of a finished run. The worst thing that happened wins: a malformed message,
    then the time limit, the memory limit, a crash; the messages received before it still count."""
    signal_number, exit_code = report["signal"], report["exit_code"]
    if malformed:
        return "malformed", f"sent a malformed message: {malformed}"
    if timed_out:
        return "time limit", f"still running after {limits.wall_seconds:g} s of wall-clock time"
    # RLIMIT_CPU is whole seconds, and the kernel's CPU clock and getrusage's differ by a tick or so.
    cpu_limit_reached = report["cpu_seconds"] >= 0.9 * math.ceil(limits.cpu_seconds)
    if signal_number in (signal.SIGKILL, signal.SIGXCPU) and cpu_limit_reached:
        return "time limit", f"used its {limits.cpu_seconds:g} s of CPU time"
    where = _memory_error(stream.messages)
    if where:
        return "memory limit", f"ran out of its {limits.memory_mb} MB of memory {where}"
    if signal_number and _memory_exhausted(signal_number, report, limits, stderr_tail):
        return "memory limit", (f"was killed by {_signal_name(signal_number)} after running out "
                                f"of its {limits.memory_mb} MB of memory")
    if signal_number:
        return "crashed", f"was killed by {_signal_name(signal_number)}"
    if not stream.done or exit_code != 0:
        return "crashed", f"exited with code {exit_code} before it had finished"
    if stream.messages[0]["event"] == "load_error":
        error = stream.messages[0]["error"]
        return "ok", f"did not load: {error['type']}: {error['message'][:200]}"
    probes = len(stream.messages) - 2
    return "ok", f"ran {probes} probe{'' if probes == 1 else 's'}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _memory_error(messages: list[dict]) -> str:
    """Where the child reported a MemoryError ('while loading', 'in probe NAME'), or ''."""
    for message in messages:
        if message.get("error", {}).get("type") == "MemoryError":
            return f"in probe {message['name']}" if message["event"] == "probe" else "while loading"
    return ""


def _memory_exhausted(signal_number: int, report: dict, limits: Limits, stderr_tail: str) -> bool:
    """Signs that a killed child ran out of memory: the OOM killer's SIGKILL after the child grew by
    nearly its limit (beyond what it shares with the zygote), or an abort or fault right after an
    allocation failure."""
    if signal_number == signal.SIGKILL:
        return (report["max_rss_kb"] - report["zygote_rss_kb"]) * 1024 >= 0.9 * limits.memory_mb * 2**20
    failures = ("MemoryError", "bad_alloc", "Cannot allocate memory", "can't allocate memory", "out of memory")
    return (signal_number in (signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS)
            and any(phrase in stderr_tail for phrase in failures))


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


def _python_command(function: str, *args) -> list[str]:
    """Call `function(*args)` of this module in a fresh interpreter. -I keeps the current folder
    (which may hold submissions) and PYTHON* variables out of its import path."""
    code = (f"import sys; sys.path.insert(0, {str(REPO_ROOT)!r}); "
            f"from autograder.sandbox import {function}; {function}(*{args!r})")
    return [sys.executable, "-I", "-c", code]


# ---- the zygote ---------------------------------------------------------------------------------

def _print_isolation() -> None:
    print(json.dumps(asdict(_probe_isolation())))


def _zygote_main(settings_json: str) -> None:
    settings = json.loads(settings_json)
    control = socket.socket(fileno=settings["control_fd"])
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != settings["parent_pid"]:
        return  # the parent died before the line above
    found = _probe_isolation()
    try:
        _preload(settings["preload"])
        settings["keep"] = _paths_the_child_needs(settings["preload"])
    except BaseException as error:
        control.send(json.dumps({"error": f"{type(error).__name__}: {error}"}).encode())
        return
    control.send(json.dumps({"isolation": asdict(found)}).encode())
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are reaped by the kernel
    while True:
        message, fds, _, _ = socket.recv_fds(control, 16, 4, socket.MSG_CMSG_CLOEXEC)
        if not message:
            return  # the parent closed the socket, or died
        try:
            pid = os.fork()
        except OSError:
            pid = None  # the run's parent sees its channel close and reports it
        if pid == 0:
            control.close()
            _run_forked(lambda: _monitor(fds, settings, found))
        for fd in fds:
            os.close(fd)


def _preload(names) -> None:
    """Import the modules every child would otherwise import again, and the child's own code."""
    import importlib
    for name in names:
        importlib.import_module(name)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    import autograder.child  # noqa: F401  (and with it autograder.extract, which imports nbformat)


def _paths_the_child_needs(preloaded) -> list[str]:
    """What the child must still see when the folders that hold it are hidden: Python, the
    virtualenv, the autograder package and the preloaded modules."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(__file__).parent)}
    for name in {name.partition(".")[0] for name in preloaded}:
        module = sys.modules[name]
        if getattr(module, "__file__", None):  # not for built-in modules
            paths.add(str(Path(module.__file__).parent if hasattr(module, "__path__") else module.__file__))
    return sorted(os.path.realpath(p) for p in paths)


def _run_forked(body) -> None:
    """Run `body` in a forked process and exit, never returning into the zygote's code."""
    code = 1
    try:
        body()
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def _probe_isolation() -> Isolation:
    """Try each namespace, a read-only root and a change of user in a throwaway child."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _run_forked(lambda: os.write(write_end, json.dumps(_try_isolation()).encode()))
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        found = json.loads(answer.read() or b"{}")
    os.waitpid(pid, 0)
    return Isolation(namespaces=tuple(found["namespaces"]), read_only_root=found["read_only_root"],
                     separate_user=found["separate_user"], missing="; ".join(found["missing"]))


def _try_isolation() -> dict:
    found = {"namespaces": [], "read_only_root": False, "separate_user": False, "missing": []}
    for name, flag in NAMESPACES.items():
        try:
            _unshare(flag)
            found["namespaces"].append(name)
        except OSError as error:
            found["missing"].append(f"{name} namespace ({error.strerror})")
    if "mount" in found["namespaces"]:
        try:
            _mount(None, "/", None, MS_REC | MS_PRIVATE)
            _make_read_only("/")
            found["read_only_root"] = True
        except OSError as error:
            found["missing"].append(f"read-only root ({error.strerror})")
    try:
        _become(SANDBOX_ID_BASE)
        found["separate_user"] = True
    except OSError as error:
        found["missing"].append(f"separate user ({error.strerror})")
    return found


# ---- the monitor: one per run, root, outside the sandbox ----------------------------------------

def _monitor(fds: list[int], settings: dict, found: Isolation) -> None:
    channel_fd, result_w, out_w, err_w = fds
    channel = socket.socket(fileno=channel_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)  # without a PID namespace, orphans come here to be reaped
    zygote_rss_kb = _resident_kb()  # read now: the worker will mount a /proc this process is not in
    request = json.loads(_receive_exactly(channel, struct.unpack(">Q", _receive_exactly(channel, 8))[0]))
    job, limits = request["job"], Limits(**request["limits"])
    uid = SANDBOX_ID_BASE + os.getpid() if found.separate_user else None
    keep = [*settings["keep"], *(os.path.realpath(p) for p in job["extra_sys_path"])]
    try:
        workdir = _enter_namespaces(found, settings["hidden"], keep, uid, limits)
    except OSError as error:
        channel.sendall(json.dumps({"setup_error": str(error)}).encode() + b"\n")
        return
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        channel.close()
        _run_forked(lambda: _worker(job, limits, uid, workdir, found, {
            0: os.open(os.devnull, os.O_RDONLY), 1: out_w, 2: err_w, RESULT_FD: result_w, RESULT_FD + 1: ready_w}))
    for fd in (result_w, out_w, err_w, ready_w):
        os.close(fd)
    with os.fdopen(ready_r, "rb") as ready:
        setup = ready.read()
    report = {**_supervise(channel, pid, found), "zygote_rss_kb": zygote_rss_kb}
    if "mount" not in found.namespaces:
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


def _enter_namespaces(found: Isolation, hidden: list[str], keep: list[str], uid: int | None,
                      limits: Limits) -> str:
    """Unshare what the machine allows, hide and protect files; return the child's working folder."""
    flags = sum(NAMESPACES[name] for name in found.namespaces)
    if flags:
        _unshare(flags)
    if "mount" not in found.namespaces:
        workdir = tempfile.mkdtemp(prefix="autograder-child-")
        if uid is not None:
            os.chown(workdir, uid, uid)
        return workdir
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    keep_paths = [Path(p) for p in keep]
    for path in [*hidden, *([] if found.read_only_root else WORLD_WRITABLE)]:
        _cover(Path(path), keep_paths)
    if found.read_only_root:
        _make_read_only("/")
    owner = f",uid={uid},gid={uid}" if uid is not None else ""
    for private in ("/tmp", "/dev/shm"):
        # A course checked out under /tmp keeps its virtualenv and package visible in the private /tmp.
        _cover(Path(private), keep_paths, f"size={4 * limits.file_size_mb}m,mode=0700{owner}", read_only=False)
    return "/tmp"


def _cover(path: Path, keep: list[Path], options: str = "size=1m,mode=0755", read_only: bool = True) -> None:
    """Replace `path` by an empty tmpfs (read-only unless asked), except the paths in `keep` below
    it, which are mounted back into it (its folders anyone may cross, unlike /root's)."""
    if path.is_symlink() or not path.exists() or path in keep:
        return
    if path.is_file():
        _mount(os.devnull, str(path), None, MS_BIND)
        return
    if not path.is_dir():
        return  # a socket or fifo: guarded by its permissions
    inside = [kept for kept in keep if path in kept.parents and kept.exists()]
    # The outermost only: a bind mount brings back everything below it.
    inside = [kept for kept in inside if not any(other in kept.parents for other in inside)]
    # Handles and kinds are taken first: once `path` is covered, the kept paths are out of sight.
    handles = [(kept, os.open(kept, os.O_PATH), kept.is_dir()) for kept in inside]
    _mount("tmpfs", str(path), "tmpfs", MS_NOSUID | MS_NODEV, options)
    for kept, handle, is_dir in handles:
        target = path / kept.relative_to(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.mkdir() if is_dir else target.touch()
        _mount(f"/proc/self/fd/{handle}", str(target), None, MS_BIND | MS_REC)
        os.close(handle)
    if read_only:
        _mount(None, str(path), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _resident_kb() -> int:
    """This process's resident memory, which a worker forked from it starts with."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _supervise(channel: socket.socket, pid: int, found: Isolation) -> dict:
    """Wait for the worker; kill it first if the parent asks or goes away."""
    pidfd = os.pidfd_open(pid)
    readable, _, _ = select.select([channel, pidfd], [], [])
    # Without a PID namespace, what the worker left behind is killed too. Either way this happens
    # before the worker is reaped, so its pid and process group cannot belong to anyone else yet.
    if pidfd not in readable or "pid" not in found.namespaces:
        _kill_worker(pid, found)
    _, status, usage = os.wait4(pid, 0)
    os.close(pidfd)
    if "pid" not in found.namespaces:
        _reap_orphans()
    return {"exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "cpu_seconds": usage.ru_utime + usage.ru_stime, "max_rss_kb": usage.ru_maxrss}


def _reap_orphans() -> None:
    """Reap the worker's descendants, killed by `_kill_worker` and left to this subreaper."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _kill_worker(pid: int, found: Isolation) -> None:
    """SIGKILL the worker; in a PID namespace the kernel then kills everything inside. Without one,
    also its process group and, with a user of its own, every process of that user."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if "pid" in found.namespaces:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if found.separate_user:
        sweeper = os.fork()
        if sweeper == 0:
            _run_forked(lambda: (_become(SANDBOX_ID_BASE + os.getppid()), os.kill(-1, signal.SIGKILL)))
        os.waitpid(sweeper, 0)


# ---- the worker: becomes the sandboxed child ----------------------------------------------------

def _worker(job: dict, limits: Limits, uid: int | None, workdir: str, found: Isolation,
            fds: dict[int, int]) -> None:
    """Isolate this process, tell the monitor through fd RESULT_FD + 1, run the job. Called through
    `_run_forked`, which exits."""
    ready = fds[RESULT_FD + 1]
    try:
        os.setsid()
        if "pid" in found.namespaces:
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        _place_fds(fds)
        ready = RESULT_FD + 1
        _set_limits(limits, separate_user=uid is not None)
        _set_environment(workdir)
        os.chdir(workdir)
        if uid is not None:
            _become(uid)
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # after the change of user, which clears it
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write over the limit raises OSError instead
        os.write(ready, b"ok")
        os.close(ready)
    except BaseException as error:
        os.write(ready, f"{type(error).__name__}: {error}".encode())
        raise
    from autograder import child  # imported by the zygote already
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


def _set_limits(limits: Limits, separate_user: bool) -> None:
    """Hard limits (the child cannot raise them). Address space: what is mapped now, the zygote's
    libraries, plus `memory_mb` (see the module docstring)."""
    mapped = os.sysconf("SC_PAGE_SIZE") * int(Path("/proc/self/statm").read_text().split()[0])
    chosen = {resource.RLIMIT_CORE: 0, resource.RLIMIT_CPU: math.ceil(limits.cpu_seconds),
              resource.RLIMIT_AS: mapped + limits.memory_mb * 2**20,
              resource.RLIMIT_FSIZE: limits.file_size_mb * 2**20}
    if separate_user:
        chosen[resource.RLIMIT_NPROC] = limits.processes
    for kind, value in chosen.items():
        resource.setrlimit(kind, (value, value))


def _set_environment(workdir: str) -> None:
    kept = {key: value for key, value in os.environ.items()
            if key in ENVIRONMENT_KEPT or key.startswith(ENVIRONMENT_PREFIX_KEPT)}
    os.environ.clear()
    os.environ.update(kept, HOME=workdir, TMPDIR=workdir, MPLBACKEND="Agg", **THREAD_VARIABLES)
    tempfile.tempdir = workdir


# ---- thin wrappers over libc --------------------------------------------------------------------

def _checked(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _unshare(flags: int) -> None:
    _checked(_libc.unshare(flags), "unshare")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _checked(_libc.mount(_c_string(source), _c_string(target), _c_string(fstype), ctypes.c_ulong(flags),
                         _c_string(data)), f"mount {target}")


def _c_string(text: str | None) -> bytes | None:
    return None if text is None else text.encode()


class _MountAttributes(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _make_read_only(path: str) -> None:
    """Make every mount at and below `path` read-only (mount_setattr, Linux 5.12)."""
    attributes = _MountAttributes(MOUNT_ATTR_RDONLY, 0, 0, 0)
    _checked(_libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), AT_RECURSIVE,
                           ctypes.byref(attributes), ctypes.sizeof(attributes)), "mount_setattr")


def _prctl(option: int, value: int) -> None:
    _checked(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), "prctl")


def _become(uid: int) -> None:
    """Drop root for good: no supplementary groups, gid and uid `uid`."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
