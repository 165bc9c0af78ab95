"""What became of one sandboxed run: the `ChildOutcome` the parent returns, and how a finished
run is classified from the monitor's report and the child's messages."""
import math
import signal
from dataclasses import dataclass

from autograder.sandbox import wire
from autograder.sandbox.limits import Limits

STATUSES = ("ok", "time limit", "memory limit", "crashed", "malformed")
# Phrases of allocation failures on stderr after an abort or a fault.
ALLOCATION_FAILURES = ("MemoryError", "bad_alloc", "Cannot allocate memory", "can't allocate memory",
                       "out of memory")


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
    # The child ended by itself with exit code 0 after a complete, well-formed stream (a probe may
    # still have reported a MemoryError). Only then are its messages believed (see probe_runs).
    clean: bool

    @property
    def load_error(self) -> dict | None:
        """{"type", "message"} when the submission did not load."""
        return next((m["error"] for m in self.messages if m["event"] == "load_error"), None)

    @property
    def results(self) -> dict[str, dict]:
        """The probe messages by probe name: {"name", "value"} or {"name", "error"}."""
        return {m["name"]: m for m in self.messages if m["event"] == "probe"}


def classify(stream: wire.MessageStream, report: dict, limits: Limits, timed_out: bool,
             malformed: str | None, stderr_tail: str) -> tuple[str, str]:
    """(status, detail) of a finished run. The worst thing that happened wins: a malformed message,
    then the time limit, the memory limit, a crash."""
    signal_number, exit_code = report["signal"], report["exit_code"]
    if malformed:
        return "malformed", f"sent a malformed message: {malformed}"
    if timed_out:
        return "time limit", f"still running after {limits.wall_seconds:g} s of wall-clock time"
    if report["cpu_limit_reached"]:  # by all the sandbox's processes together (see `monitor`)
        return "time limit", f"used its {limits.cpu_seconds:g} s of CPU time"
    # RLIMIT_CPU is whole seconds, and the kernel's CPU clock and getrusage's differ by a tick or so.
    cpu_limit_reached = report["cpu_seconds"] >= 0.9 * math.ceil(limits.cpu_seconds)
    if signal_number in (signal.SIGKILL, signal.SIGXCPU) and cpu_limit_reached:
        return "time limit", f"used its {limits.cpu_seconds:g} s of CPU time"
    where = _memory_error(stream.messages)
    if where:
        return "memory limit", f"ran out of its {limits.memory_mb} MB of memory {where}"
    if signal_number and _memory_exhausted(signal_number, report, limits, stderr_tail):
        return "memory limit", (f"was killed by {signal_name(signal_number)} after running out "
                                f"of its {limits.memory_mb} MB of memory")
    if signal_number == signal.SIGKILL and report["isolated"]:
        # The worker is PID 1 of its namespace, which ignores a SIGKILL sent from inside it, and the
        # parent's kill is the wall clock above: only the kernel's RLIMIT_CPU is left, whose count
        # runs ahead of getrusage's on a busy machine (so the CPU time measured may fall short).
        return "time limit", f"used its {limits.cpu_seconds:g} s of CPU time"
    if signal_number:
        return "crashed", f"was killed by {signal_name(signal_number)}"
    if not stream.done or exit_code != 0:
        return "crashed", f"exited with code {exit_code} before it had finished"
    if stream.messages[0]["event"] == "load_error":
        error = stream.messages[0]["error"]
        return "ok", f"did not load: {error['type']}: {error['message'][:200]}"
    probes = len(stream.messages) - 2
    return "ok", f"ran {probes} probe{'' if probes == 1 else 's'}"


def signal_name(number: int) -> str:
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
    return (signal_number in (signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS)
            and any(phrase in stderr_tail for phrase in ALLOCATION_FAILURES))
