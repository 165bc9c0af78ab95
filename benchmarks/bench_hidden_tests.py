"""CPU time of running a source notebook's test cells (hidden tests = the probes) on sample
submissions in one process, as tests/hidden_tests.py does, with one torch thread and with torch's
default number, as a Markdown table for BENCHMARKS.md.

    .venv/bin/python benchmarks/bench_hidden_tests.py --runs 3

Each run is a fresh interpreter that imports torch, then times (process CPU and wall clock) loading
each sample of the "Honest work" table of the assignment's EXPECTED.md and running every test cell
with hidden tests on it; the reference's probe values are computed once, inside the timed part.
The CPU ratio compares each row with the one-thread row of its assignment, measured in the same run.
"""
import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import time

from common import REPO_ROOT, command, machine, table_header, table_row, today

ASSIGNMENTS = ("hopfield_batchnorm", "mnist_cnn")
COLUMNS = ("assignment", "samples", "torch threads", "median CPU (s)", "median wall (s)", "CPU ratio")


def honest_samples(assignment: str) -> list[str]:
    """The students of the "Honest work" table of EXPECTED.md, or of its only table where it has no
    such heading (no hostile samples)."""
    text = (REPO_ROOT / "examples" / "submissions" / assignment / "EXPECTED.md").read_text(encoding="utf-8")
    if "## Honest work" in text:
        text = text.split("## Honest work", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `(\w+)\.ipynb` \|", text, re.MULTILINE)


def worker(assignment: str, threads: int) -> dict:
    sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "nn_course_kit"), str(REPO_ROOT / "tests")]
    import torch

    from hidden_tests import cell_passes, hidden_test_cells, module_source
    from autograder.sandbox.loader import load_module

    if threads:
        torch.set_num_threads(threads)
    cells = hidden_test_cells(assignment)
    students = honest_samples(assignment)
    folder = REPO_ROOT / "examples" / "submissions" / assignment
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu, wall = usage.ru_utime + usage.ru_stime, time.perf_counter()
    for student in students:
        module = load_module(module_source(folder / f"{student}.ipynb"), f"bench_{student}")
        for source in cells.values():
            cell_passes(source, vars(module))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"samples": len(students), "threads": torch.get_num_threads(),
            "cpu": usage.ru_utime + usage.ru_stime - cpu, "wall": time.perf_counter() - wall}


def measure(assignment: str, threads: int, runs: int) -> dict:
    results = []
    for _ in range(runs):
        output = subprocess.run([sys.executable, __file__, "--worker", assignment, str(threads)], check=True,
                                capture_output=True, text=True, cwd=REPO_ROOT).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    return {"samples": results[0]["samples"], "threads": results[0]["threads"],
            "cpu": statistics.median(r["cpu"] for r in results), "wall": statistics.median(r["wall"] for r in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--worker", nargs=2, metavar=("ASSIGNMENT", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]))))
        return
    print(f"machine: {machine()}; date: {today()}; command: {command()}; median of {args.runs} runs\n")
    print(table_header(COLUMNS))
    for assignment in ASSIGNMENTS:
        one, default = measure(assignment, 1, args.runs), measure(assignment, 0, args.runs)
        for row in (default, one):
            print(table_row([assignment, row["samples"], row["threads"], f"{row['cpu']:.1f}", f"{row['wall']:.1f}",
                             f"{row['cpu'] / one['cpu']:.1f}×"]))


if __name__ == "__main__":
    main()
