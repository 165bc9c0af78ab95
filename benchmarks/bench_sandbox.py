"""Grading time per submission before and after the allow-list sandbox, as root and as an ordinary user.

    python benchmarks/bench_sandbox.py [--before REV] [--runs 3] [--copies 5]

Each configuration runs `bench_grading.py --nbgrader-subset 0` (100 `hopfield_batchnorm`
submissions by default, `-j 2`) `--runs` times, in a fresh process:

1. this checkout, as root;
2. this checkout, as an ordinary user who owns nothing (tests/ordinary_user.py: Debian's Python
   with this project's packages), isolated by unprivileged user namespaces;
3. the engine at REV (default: the commit before the allow-list sandbox), as root, checked out into
   a temporary git worktree;
4. the engine at REV as an ordinary user, which then ran with no isolation at all.

Prints a Markdown table (machine, date, command, configuration, median over runs of the
per-submission median, total / submissions) and the after / before ratios; progress on stderr.
"""
import argparse
import contextlib
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import REPO_ROOT, command, machine, table_header, table_row, today

sys.path.insert(0, str(REPO_ROOT / "tests"))
from ordinary_user import ordinary_user_python  # noqa: E402

BEFORE = "c89b63e"  # the last commit with the deny-list sandbox
COLUMNS = ("machine", "date", "command", "engine", "user", "runs", "median per submission",
           "total / submissions")
ROW = re.compile(r"^\| [^|]+ \| [^|]+ \| [^|]+ \| `autograder grade[^|]+\| (\d+) \| ([\d.]+) s \| ([\d.]+) s \|$",
                 re.MULTILINE)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(python: list[str], checkout: Path, copies: int, runs: int) -> tuple[float, float]:
    """(median per-submission median, median total / submissions) over `runs` runs."""
    medians, totals = [], []
    for run in range(runs):
        done = subprocess.run([*python, str(checkout / "benchmarks" / "bench_grading.py"), "--nbgrader-subset", "0",
                               "--copies", str(copies)], capture_output=True, text=True, cwd="/tmp")
        found = ROW.search(done.stdout)
        if done.returncode != 0 or not found:
            raise RuntimeError(f"bench_grading.py failed in {checkout}:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
        medians.append(float(found.group(2)))
        totals.append(float(found.group(3)))
        log(f"  run {run + 1}: median {medians[-1]:.2f} s, total / submissions {totals[-1]:.2f} s")
    return statistics.median(medians), statistics.median(totals)


@contextlib.contextmanager
def checkout_of(revision: str):
    """A temporary git worktree of `revision` that any user can read."""
    with tempfile.TemporaryDirectory(prefix="bench-before-", dir="/tmp") as scratch:
        folder = Path(scratch) / "checkout"
        Path(scratch).chmod(0o755)
        subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", str(folder), revision],
                       check=True, capture_output=True)
        try:
            yield folder
        finally:
            subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(folder)], check=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default=BEFORE, help=f"the engine to compare with (default {BEFORE})")
    parser.add_argument("--runs", type=int, default=3, help="runs per configuration (default 3)")
    parser.add_argument("--copies", type=int, default=5, help="copies of the 20-student class (default 5: 100)")
    args = parser.parse_args(argv)
    results = {}
    with ordinary_user_python() as (as_user, _), checkout_of(args.before) as before:
        for engine, checkout in (("this checkout", REPO_ROOT), (f"`{args.before}` (before)", before)):
            for user, python in (("root", [sys.executable]), ("ordinary user", as_user)):
                log(f"{engine}, {user}:")
                results[engine, user] = measure(python, checkout, args.copies, args.runs)
    print(table_header(COLUMNS))
    for (engine, user), (median, total) in results.items():
        print(table_row((machine(), today(), command(), engine, user, args.runs, f"{median:.3f} s", f"{total:.3f} s")))
    print()
    for user in ("root", "ordinary user"):
        after, earlier = results["this checkout", user][0], results[f"`{args.before}` (before)", user][0]
        print(f"{user}: after / before, median per submission: {after / earlier:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
