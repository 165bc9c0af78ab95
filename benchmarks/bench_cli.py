"""Start-up time of the `autograder` command, as a Markdown table for BENCHMARKS.md.

    .venv/bin/python benchmarks/bench_cli.py -n 10

Each row is the median wall-clock time of N fresh interpreters running one command from the
repository root (this checkout first on the import path): an empty interpreter, the help, two verbs
stopped by argparse, nbformat imported plainly and as the engine imports it, and a whole extraction
of a source notebook.
"""
import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import REPO_ROOT, command, machine, table_header, table_row, today, wall_times

NOTEBOOK = REPO_ROOT / "source" / "hopfield_batchnorm" / "hopfield_batchnorm.ipynb"
COLUMNS = ("command", "what it measures", "median (s)", "min–max (s)")


def commands(output: Path) -> list[tuple[list[str], str]]:
    """(arguments after `python`, what the row measures)."""
    return [
        (["-c", "pass"], "an empty interpreter"),
        (["-m", "autograder", "--help"], "the help"),
        (["-m", "autograder", "extract"], "argparse error: missing notebook"),
        (["-m", "autograder", "check"], "argparse error: missing notebook"),
        (["-c", "import nbformat"], "nbformat as is, for comparison"),
        (["-c", "from autograder.analysis.quick_nbformat import nbformat"], "nbformat as the engine imports it"),
        (["-m", "autograder", "extract", str(NOTEBOOK.relative_to(REPO_ROOT)), "-o", str(output)],
         "a whole extraction of a source notebook"),
    ]


def run_times(arguments: list[str], runs: int) -> list[float]:
    """Wall-clock seconds of `runs` runs of `python arguments` from the repository root."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    return wall_times(runs, lambda _: subprocess.run([sys.executable, *arguments], cwd=REPO_ROOT, env=environment,
                                                     capture_output=True))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=10, help="runs of each command (default 10)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    print(f"machine: {machine()}; date: {today()}; command: {command()}; {args.runs} runs of each\n")
    print(table_header(COLUMNS))
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        for arguments, what in commands(Path(tmp) / "module.py"):
            seconds = run_times(arguments, args.runs)
            shown = shlex.join(["python", *arguments]).replace(tmp, "TMP")
            print(table_row((f"`{shown}`", what, f"{statistics.median(seconds):.3f}",
                             f"{min(seconds):.3f}–{max(seconds):.3f}")))


if __name__ == "__main__":
    main()
