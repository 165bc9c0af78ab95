"""Median time of `autograder pdf` on one notebook, as a Markdown table row for BENCHMARKS.md.

    .venv/bin/python benchmarks/bench_export.py source/hopfield_batchnorm/hopfield_batchnorm.ipynb -n 5

Each run is a whole export (nbconvert HTML, then headless Chromium printing it) into a temporary
folder. The first run also pays for importing nbconvert, which the median mostly hides.
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

from autograder.verbs.export import export_pdf
from common import command, machine, table_header, table_row, today

COLUMNS = ("date", "machine", "notebook", "runs", "median export (s)", "min–max (s)", "command")


def time_exports(notebook: Path, runs: int) -> list[float]:
    """Wall-clock seconds of ``runs`` exports of ``notebook``."""
    seconds = []
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        for run in range(runs):
            started = time.perf_counter()
            export_pdf(notebook, Path(tmp) / f"run{run}.pdf")
            seconds.append(time.perf_counter() - started)
    return seconds


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
        print(table_header(COLUMNS))
    print(
        table_row(
            (
                today(),
                machine(),
                args.notebook.name,
                str(args.runs),
                f"{statistics.median(seconds):.2f}",
                f"{min(seconds):.2f}–{max(seconds):.2f}",
                command(),
            )
        )
    )


if __name__ == "__main__":
    main()
