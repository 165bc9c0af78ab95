"""Wall-clock time of the test suite as `make test` runs it, and its slowest tests, for BENCHMARKS.md.

    .venv/bin/python benchmarks/bench_suite.py --runs 3

Each run is the Makefile's two pytest commands from the repository root: the whole suite on two
workers, then the release-staleness tests again on torch's portable CPU kernels. The table gives
the median and range of the runs' total wall time (and of each command's); the slowest tests are
pytest's own `--durations` list from the run whose total is the median. A machine that is busy with
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
PORTABLE = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_release.py", "-k", "committed_release"]
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

    runs = []
    for _ in range(args.runs):
        suite, output = timed(SUITE, dict(os.environ))
        portable, _ = timed(PORTABLE, {**os.environ, "ATEN_CPU_CAPABILITY": "default"})
        runs.append((suite + portable, suite, portable, output))
    runs.sort(key=lambda run: run[0])
    median_run = runs[(len(runs) - 1) // 2]

    print(f"machine: {machine()}; date: {today()}; command: {command()}; {args.runs} runs\n")
    print(table_header(("part", "median (s)", "min–max (s)")))
    for index, part in enumerate(("make test, both commands", "the whole suite, 2 workers",
                                  "release tests on portable kernels"), start=0):
        seconds = [run[index] for run in runs]
        print(table_row((part, f"{statistics.median(seconds):.1f}", f"{min(seconds):.1f}–{max(seconds):.1f}")))
    print("\nThe slowest 10 tests of the median run (pytest --durations=10):\n")
    print(table_header(("seconds", "phase", "test")))
    for seconds, phase, test in DURATION.findall(median_run[3])[:10]:
        print(table_row((seconds, phase, f"`{test}`")))


if __name__ == "__main__":
    main()
