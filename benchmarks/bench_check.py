"""What a student and a grader wait for: `autograder check` of a correct notebook and `autograder grade`
of one submission, beside `python -c "import torch"`, as a Markdown table for BENCHMARKS.md.

    .venv/bin/python benchmarks/bench_check.py -n 5 [--before OTHER_CHECKOUT] [--breakdown]

The three commands take turns (import torch, check, grade; N rounds), so a change in the machine's
load during the run touches all three alike. Each is a fresh interpreter started from the repository
root (this checkout first on the import path), as a student or a grader starts it. `grade` writes to
a new folder each time (`--force`), so nothing it saved before is reused except what `grade` itself
would reuse on a first run: nothing. Targets (issue 11): check ≤ 4 s, grade of one submission ≤ 5 s.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO_ROOT, command, machine, table_header, table_row, today

NOTEBOOK = REPO_ROOT / "examples" / "submissions" / "hopfield_batchnorm" / "amelia_correct_torch.ipynb"
COLUMNS = ("command", "what it measures", "median (s)", "min–max (s)", "÷ import torch")


def commands(folder: Path, output: Path, engines: dict[str, Path]) -> list[tuple[list[str], str, Path]]:
    """(arguments after `python`, what the row measures, the checkout whose engine runs it): torch,
    then `check` and `grade` with each engine of `engines` ({label: checkout}); `folder` holds the
    one submission."""
    rows = [(["-c", "import torch"], "torch alone, for comparison", REPO_ROOT)]
    for label, checkout in engines.items():
        rows += [
            (["-m", "autograder", "check", str(folder / NOTEBOOK.name), "--assignment", "hopfield_batchnorm"],
             f"check of a correct notebook (visible checks in the sandbox){label}", checkout),
            (["-m", "autograder", "grade", "hopfield_batchnorm", str(folder), "-o", str(output), "--force"],
             f"grade of one submission (reference and hidden probes in the sandbox){label}", checkout),
        ]
    return rows


def write_ready_copy(notebook: Path, destination: Path) -> None:
    """`notebook` with a run count in every code cell: the example was saved with one cell not run,
    which `check` reports (exit 3), and a student's finished notebook has been run through."""
    data = json.loads(notebook.read_text(encoding="utf-8"))
    code = [cell for cell in data["cells"] if cell["cell_type"] == "code"]
    for count, cell in enumerate(code, start=1):
        cell["execution_count"] = cell.get("execution_count") or count
    destination.write_text(json.dumps(data, indent=1), encoding="utf-8")


def run_once(arguments: list[str], checkout: Path = REPO_ROOT) -> float:
    """Wall-clock seconds of one run of `python arguments` from the root of `checkout`, its engine
    first on the import path; fails loudly when the command fails (a broken command must not look
    fast)."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(checkout), str(checkout / "nn_course_kit"), os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *arguments], cwd=checkout, env=environment, capture_output=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{shlex.join(arguments)} exited {done.returncode}:\n{done.stdout.decode()}{done.stderr.decode()}")
    return seconds


BREAKDOWN_COLUMNS = ("part", "median (s)", "min–max (s)")


def breakdown(runs: int) -> list[tuple[str, list[float]]]:
    """Where the time of `check` and `grade` goes, part by part, in this process (the engine on the
    import path): the zygote's start with each preload, its close, the isolation probe (a start with
    and without it), and the grading process's own imports (a fresh interpreter each time)."""
    sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "nn_course_kit")]
    from autograder.sandbox import Limits, Zygote
    from autograder.sandbox.parent import DEFAULT_PRELOAD, ONE_RUN_PRELOAD
    parts: dict[str, list[float]] = {}
    settings = {"zygote start, numpy only, isolated": {"preload": ("numpy",)},
                "zygote start, numpy only, no isolation probe": {"preload": ("numpy",), "isolate": False},
                "zygote start, `check`'s preload (numpy, torch, matplotlib, utils)": {"preload": ONE_RUN_PRELOAD},
                "zygote start, `grade`'s preload (the same and torch._dynamo)": {"preload": DEFAULT_PRELOAD}}
    import logging
    logging.getLogger("autograder").setLevel(logging.ERROR)  # the no-isolation rows warn
    for _ in range(runs):
        for name, options in settings.items():
            started = time.perf_counter()
            zygote = Zygote(Limits(), **options)
            zygote.start()
            parts.setdefault(name, []).append(time.perf_counter() - started)
            started = time.perf_counter()
            zygote.close()
            if options["preload"] == DEFAULT_PRELOAD:
                parts.setdefault("zygote close, torch loaded", []).append(time.perf_counter() - started)
        for name, code in (("an empty interpreter", "pass"),
                           ("the grading process's imports for `check` (and the interpreter)",
                            "import autograder.verbs.check")):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True,
                           env={**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'nn_course_kit'}"})
            parts.setdefault(name, []).append(time.perf_counter() - started)
    return list(parts.items())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--before", type=Path, metavar="CHECKOUT",
                        help="also run check and grade with the engine of another checkout (e.g. the commit "
                             "before a change), in the same rounds")
    parser.add_argument("--breakdown", action="store_true", help="also time the parts (zygote start per preload, "
                                                                  "close, isolation probe, the parent's imports)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        write_ready_copy(NOTEBOOK, folder / NOTEBOOK.name)
        engines = {"": REPO_ROOT, **({f", engine of {args.before.name}/": args.before.resolve()} if args.before else {})}
        rows = commands(folder, Path(tmp) / "reports", engines)
        seconds: list[list[float]] = [[] for _ in rows]
        for _ in range(args.runs):
            for times, (arguments, _, checkout) in zip(seconds, rows):
                times.append(run_once(arguments, checkout))
        load = os.getloadavg()[0]
        print(f"machine: {machine()}; date: {today()}; command: {command()}; {args.runs} rounds; "
              f"load average at the end {load:.1f}\n")
        print(table_header(COLUMNS))
        torch_median = statistics.median(seconds[0])
        for times, (arguments, what, _) in zip(seconds, rows):
            shown = shlex.join(["python", *arguments]).replace(tmp, "TMP")
            median = statistics.median(times)
            print(table_row((f"`{shown}`", what, f"{median:.2f}", f"{min(times):.2f}–{max(times):.2f}",
                             f"{median / torch_median:.2f}")))
    if args.breakdown:
        print("\n" + table_header(BREAKDOWN_COLUMNS))
        for name, times in breakdown(args.runs):
            print(table_row((name, f"{statistics.median(times):.2f}", f"{min(times):.2f}–{max(times):.2f}")))


if __name__ == "__main__":
    main()
