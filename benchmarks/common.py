"""What every benchmark prints beside its figures (the machine, the date and the command), and how it times."""
import contextlib
import datetime
import os
import platform
import shlex
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    """CPU model (from /proc/cpuinfo) and the number of cores this process may use."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores"


def today() -> str:
    return datetime.date.today().isoformat()


def command() -> str:
    """The command line that ran this benchmark, as a Markdown code span."""
    return f"`{shlex.join(['python', *sys.argv])}`"


def table_row(cells) -> str:
    return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"


def table_header(columns) -> str:
    return table_row(columns) + "\n" + table_row("---" for _ in columns)


@contextlib.contextmanager
def timed_calls(owner, name: str):
    """Within the block, every call of `owner.name` appends its wall-clock seconds to the list this
    yields (for a function the code under test looks up at each call, such as
    `grade.grade_submission`); the original is restored afterwards."""
    untimed, seconds = getattr(owner, name), []

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return untimed(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - started)

    setattr(owner, name, timed)
    try:
        yield seconds
    finally:
        setattr(owner, name, untimed)


def wall_times(runs: int, action) -> list[float]:
    """Wall-clock seconds of each of `runs` calls `action(run)`, run = 0, 1, ..."""
    seconds = []
    for run in range(runs):
        started = time.perf_counter()
        action(run)
        seconds.append(time.perf_counter() - started)
    return seconds
