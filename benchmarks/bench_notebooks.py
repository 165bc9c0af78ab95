"""Time how long notebooks take to run from top to bottom.

Each notebook is executed ``--runs`` times in a fresh kernel (started in the
notebook's folder, with the repository root on PYTHONPATH so ``import utils``
works); the median wall time, kernel start-up included, is reported as a row of
the Markdown table in benchmarks/BENCHMARKS.md:

    python benchmarks/bench_notebooks.py source/hopfield_batchnorm/hopfield_batchnorm.ipynb --runs 3 [--fast]

``--fast`` sets COURSE_FAST=1 for the kernel (utils.FAST, the CI settings).
Per-run times go to stderr; the table row(s) go to stdout.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import nbclient
import nbformat

from common import REPO_ROOT, command, machine, table_header, table_row, today

COLUMNS = ("machine", "date", "command", "runs", "median wall time")


def run_once(notebook: Path, timeout: int) -> float:
    """Execute the notebook once in a new kernel; returns the wall time in seconds."""
    nb = nbformat.read(notebook, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(notebook.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def kernel_environment(fast: bool) -> None:
    """Set what the kernel inherits: utils importable, and COURSE_FAST as asked."""
    paths = [str(REPO_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    if fast:
        os.environ["COURSE_FAST"] = "1"
    else:
        os.environ.pop("COURSE_FAST", None)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="notebooks to execute")
    parser.add_argument("--runs", type=int, default=3, help="executions per notebook (default 3)")
    parser.add_argument("--fast", action="store_true", help="run with COURSE_FAST=1")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    parser.add_argument("--header", action="store_true", help="print the table header first")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    kernel_environment(args.fast)
    if args.header:
        print(table_header(COLUMNS))
    for notebook in args.notebooks:
        times = []
        for run in range(1, args.runs + 1):
            times.append(run_once(notebook.resolve(), args.timeout))
            print(f"{notebook}: run {run}/{args.runs}: {times[-1]:.1f} s", file=sys.stderr)
        print(table_row((machine(), today(), command(), args.runs, f"{statistics.median(times):.1f} s")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
