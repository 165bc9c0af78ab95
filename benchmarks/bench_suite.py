"""Wall-clock time of the test suite as `make test` runs it, and its slowest tests, for BENCHMARKS.md.

    .venv/bin/python benchmarks/bench_suite.py --runs 3

Each run is the Makefile's pytest command from the repository root: the whole suite on two
workers. The table gives the median and range of the runs' wall time; the slowest tests are
pytest's own `--durations` list from the median run. A machine that is busy with
other work makes every figure larger: run it on an idle one.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import REPO_ROOT, command, machine, table_header, table_row, today

SUITE = ["-m", "pytest", "-n", "2", "--dist", "loadfile", "-q", "-p", "no:cacheprovider", "--durations=10"]
DURATION = re.compile(r"^(\d+\.\d+)s (setup|call|teardown)\s+(\S+)$", re.MULTILINE)


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy (user, nice, system, interrupts) since it booted:
    the sandbox's children are nobody's reaped children, so no rusage of the run counts them."""
    user, nice, system, _idle, _iowait, irq, softirq = map(int, Path("/proc/stat").read_text().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def timed(arguments: list[str], environment: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, the machine's busy CPU seconds meanwhile, stdout) of `python arguments` from the
    repository root; stops on a failure."""
    started, cpu = time.perf_counter(), busy_cpu_seconds()
    run = subprocess.run([sys.executable, *arguments], cwd=REPO_ROOT, env=environment, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - started, busy_cpu_seconds() - cpu
    if run.returncode != 0:
        sys.exit(f"{' '.join(arguments)} failed:\n{run.stdout[-3000:]}{run.stderr[-2000:]}")
    return seconds, cpu, run.stdout


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of the whole suite (default 3)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    runs = sorted(timed(SUITE, dict(os.environ)) for _ in range(args.runs))
    median_run = runs[(len(runs) - 1) // 2]

    print(f"machine: {machine()}; date: {today()}; command: {command()}; {args.runs} runs\n")
    print(table_header(("make test (the whole suite, 2 workers)", "median (s)", "min–max (s)")))
    for index, what in enumerate(("wall time", "the machine's busy CPU time")):
        values = [run[index] for run in runs]
        print(table_row((what, f"{statistics.median(values):.1f}", f"{min(values):.1f}–{max(values):.1f}")))
    print("\nThe slowest 10 tests of the median run (pytest --durations=10):\n")
    print(table_header(("seconds", "phase", "test")))
    for duration, phase, test in DURATION.findall(median_run[2])[:10]:
        print(table_row((duration, phase, f"`{test}`")))


if __name__ == "__main__":
    main()
