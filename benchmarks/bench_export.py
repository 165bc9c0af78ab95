"""Median time of `autograder pdf` on one notebook, as a Markdown table row for BENCHMARKS.md.

    .venv/bin/python benchmarks/bench_export.py source/hopfield_batchnorm/hopfield_batchnorm.ipynb -n 5

Each run is a whole export (nbconvert HTML, then headless Chromium printing it) into a temporary
folder. The first run also pays for importing nbconvert, which the median mostly hides.
"""
import argparse
import datetime
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

from autograder.export import export_pdf

COLUMNS = ("date", "machine", "notebook", "runs", "median export (s)", "min–max (s)", "command")


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, or what the platform module knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu_model()}, {usable} cores"


def time_exports(notebook: Path, runs: int) -> list[float]:
    """Wall-clock seconds of ``runs`` exports of ``notebook``."""
    seconds = []
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        for run in range(runs):
            started = time.perf_counter()
            export_pdf(notebook, Path(tmp) / f"run{run}.pdf")
            seconds.append(time.perf_counter() - started)
    return seconds


def table_row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("-n", "--runs", type=int, default=5, help="number of exports (default 5)")
    parser.add_argument("--header", action="store_true", help="print the table header first")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    seconds = time_exports(args.notebook, args.runs)
    if args.header:
        print(table_row(COLUMNS))
        print(table_row(tuple("---" for _ in COLUMNS)))
    print(
        table_row(
            (
                datetime.date.today().isoformat(),
                machine(),
                args.notebook.name,
                str(args.runs),
                f"{statistics.median(seconds):.2f}",
                f"{min(seconds):.2f}–{max(seconds):.2f}",
                f"`{shlex.join(['python', *sys.argv])}`",
            )
        )
    )


if __name__ == "__main__":
    main()
