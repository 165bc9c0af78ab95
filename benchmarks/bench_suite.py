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

from common import REPO_ROOT, command, machine, table_header, table_row, today

SUITE = ["-m", "pytest", "-n", "2", "--dist", "loadfile", "-q", "-p", "no:cacheprovider", "--durations=10"]
DURATION = re.compile(r"^(\d+\.\d+)s (setup|call|teardown)\s+(\S+)$", re.MULTILINE)


def timed(arguments: list[str], environment: dict[str, str]) -> tuple[float, str]:
    """(wall seconds, stdout) of `python arguments` from the repository root; stops on a failure."""
    started = time.perf_counter()
    run = subprocess.run([sys.executable, *arguments], cwd=REPO_ROOT, env=environment, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if run.returncode != 0:
        sys.exit(f"{' '.join(arguments)} failed:\n{run.stdout[-3000:]}{run.stderr[-2000:]}")
    return seconds, run.stdout


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of the whole suite (default 3)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    runs = sorted(timed(SUITE, dict(os.environ)) for _ in range(args.runs))
    seconds = [run[0] for run in runs]
    median_run = runs[(len(runs) - 1) // 2]

    print(f"machine: {machine()}; date: {today()}; command: {command()}; {args.runs} runs\n")
    print(table_header(("command", "median (s)", "min–max (s)")))
    print(table_row(("make test (the whole suite, 2 workers)", f"{statistics.median(seconds):.1f}",
                     f"{min(seconds):.1f}–{max(seconds):.1f}")))
    print("\nThe slowest 10 tests of the median run (pytest --durations=10):\n")
    print(table_header(("seconds", "phase", "test")))
    for duration, phase, test in DURATION.findall(median_run[1])[:10]:
        print(table_row((duration, phase, f"`{test}`")))


if __name__ == "__main__":
    main()
