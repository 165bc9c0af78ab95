"""Grading at class scale: 1,000 hopfield_batchnorm submissions with `-j 2`, where the time goes,
how much memory the grader needs, and `nbgrader autograde` on a subset of the same notebooks.

    nice python benchmarks/bench_class_scale.py [--copies 50] [--jobs 2] [--nbgrader-subset 10] [--floor-runs 30]

The class is bench_grading.CLASS (20 samples: correct, wrong in one way, broken files, hostile
code that does no harm outside a sandbox) copied `--copies` times under new student ids: 1,000 by
default. What is measured, in one run:

1. `grade_assignment` with `--jobs` threads (what `autograder grade -j 2` runs), every result
   regraded: each submission's wall time (around `grade.grade_submission`) and the batch's total
   (zygote start and the reference run included), then `report.write_reports` for the class.
2. The cost split, from wrappers around the engine's own functions (summed over the threads, so
   they add up to the submissions' wall times, not to the total): read (`read_notebook`), extract
   (`extract`, the submission rules and the required names), sandbox and probes
   (`run_probes`: every child of the submission; split with the floor below), verdicts (`judge`),
   saving the result file, and the reports. "Sandbox" is the number of children started times the
   floor; "probes" is the rest of `run_probes`: loading the student's module, the probes' own
   computing and the waiting for a core.
3. The floor: `--floor-runs` children of an empty module with no probe (fork from the zygote,
   namespaces, the allow-list root, the wire), median. The goal is set from it: per submission,
   the floor plus the CPU time the child itself used (each result's `cpu_seconds`), two children
   at a time on two cores.
4. Memory: the grading process's peak RSS, and the zygote's (the largest child the grader waited for).
5. `nbgrader autograde` on `--nbgrader-subset` notebooks (`bench_grading.time_nbgrader`), half
   copies of the class's `chloe_untouched` (the current release as handed out), half copies of
   the reference notebook (a complete, correct submission). nbgrader refuses the other samples
   in a couple of seconds each (they were written for the notebook's layout before issue 10, and
   its cell metadata check fails), which would flatter it. It runs each notebook in full, one at
   a time, so its time for the whole class is extrapolated as its median per submission times
   the class size.

Prints Markdown tables for BENCHMARKS.md; progress goes to stderr.
"""
import argparse
import contextlib
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench_grading import ASSIGNMENT, SAMPLES, class_of, log, time_nbgrader
from common import REPO_ROOT, command, machine, table_header, table_row, timed_calls, today

sys.path.insert(0, str(REPO_ROOT))
from autograder import paths  # noqa: E402
from autograder.grading import grade  # noqa: E402
from autograder.grading.config import load_config  # noqa: E402
from autograder.sandbox import Zygote  # noqa: E402
from autograder.verbs import report  # noqa: E402

STAGES = ("read", "extract", "sandbox and probes", "verdicts", "save")


# The engine's functions timed per stage (their wall times summed over threads), by the name
# `grade` looks each up under at every call.
STAGE_OF = {"read_notebook": "read", "extract": "extract", "check_rules": "extract",
            "required_name_problems": "extract", "run_probes": "sandbox and probes", "judge": "verdicts",
            "write_atomically": "save"}


@dataclass
class Costs:
    seconds: dict[str, float]  # by stage, and "reports"
    children: int  # sandboxed children started for the submissions


def grade_class(students, jobs: int, work: Path):
    """Grade the class with every stage timed; return (result, per-submission times, total, costs)."""
    folder = work / "class"
    folder.mkdir()
    for student, notebook in students:
        (folder / f"{student}.ipynb").write_bytes(notebook.read_bytes())
    with contextlib.ExitStack() as stack:
        calls = {name: stack.enter_context(timed_calls(grade, name)) for name in STAGE_OF}
        children = stack.enter_context(timed_calls(Zygote, "run"))
        times = stack.enter_context(timed_calls(grade, "grade_submission"))
        start = time.perf_counter()
        result = grade.grade_assignment(ASSIGNMENT, folder, work / "out", jobs=jobs, force=True, progress=True)
        total = time.perf_counter() - start
    seconds = defaultdict(float)
    for name, stage in STAGE_OF.items():
        seconds[stage] += sum(calls[name])
    start = time.perf_counter()
    report.write_reports(result, work / "out")
    seconds["reports"] = time.perf_counter() - start
    return result, times, total, Costs(dict(seconds), len(children) - 1)  # less the reference's run


def sandbox_floor(runs: int) -> float:
    """Median wall time of a child that loads an empty module and runs no probe."""
    config = load_config(ASSIGNMENT)
    job = grade.probe_job("", config, [], grade.batch_seed(ASSIGNMENT))
    with Zygote(config.limits) as zygote:
        zygote.run(job, config.limits)  # the first run warms the zygote's caches
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            outcome = zygote.run(job, config.limits)
            times.append(time.perf_counter() - start)
            assert outcome.status == "ok", outcome.detail
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=50, help="copies of the 20-student class (default 50: 1,000)")
    parser.add_argument("--jobs", type=int, default=2, help="submissions at once (default 2)")
    parser.add_argument("--nbgrader-subset", type=int, default=10, help="nbgrader grades this many (0: none)")
    parser.add_argument("--floor-runs", type=int, default=30, help="children of the floor measurement")
    args = parser.parse_args(argv)
    students = class_of(args.copies)
    count = len(students)

    with tempfile.TemporaryDirectory(prefix="bench-class-scale-") as scratch:
        work = Path(scratch)
        result, times, total, costs = grade_class(students, args.jobs, work)
        log(f"autograder: {count} graded in {total:.1f} s, {costs.children} children")
        grader_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        zygote_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        floor = sandbox_floor(args.floor_runs)
        log(f"sandbox floor: {floor * 1000:.0f} ms per child")
        nbgrader_times = []
        if args.nbgrader_subset:
            half = args.nbgrader_subset // 2
            subset = [(f"untouched_{n}", SAMPLES / "chloe_untouched.ipynb") for n in range(args.nbgrader_subset - half)]
            subset += [(f"reference_{n}", paths.source_notebook(ASSIGNMENT)) for n in range(half)]
            nbgrader_times, _ = time_nbgrader(subset, work)

    median = statistics.median(times)
    cpu = [student.details.get("cpu_seconds", 0.0) for student in result.students]
    goal = (floor + statistics.median(cpu)) / args.jobs  # per submission, two children at a time
    split = dict(costs.seconds)
    split["sandbox"] = costs.children * floor
    split["probes"] = split.pop("sandbox and probes") - split["sandbox"]
    summed = sum(times) + split["reports"]

    print(table_header(("machine", "date", "command", "submissions", "median per submission",
                        "total", "total / submissions", "goal (floor)", "grader peak RSS", "zygote peak RSS")))
    print(table_row((machine(), today(), command(), count, f"{median:.3f} s", f"{total:.0f} s",
                     f"{total / count:.3f} s", f"{goal:.3f} s", f"{grader_peak:.0f} MB", f"{zygote_peak:.0f} MB")))
    print()
    print(table_header(("stage", "total (summed over threads)", "per submission", "share")))
    other = sum(times) - sum(split[stage] for stage in split if stage != "reports")
    for stage in ("read", "extract", "sandbox", "probes", "verdicts", "save", "reports"):
        print(table_row((stage, f"{split[stage]:.1f} s", f"{split[stage] / count * 1000:.1f} ms",
                         f"{split[stage] / summed:.0%}")))
    print(table_row(("other (fingerprints, result objects)", f"{other:.1f} s", f"{other / count * 1000:.1f} ms",
                     f"{other / summed:.0%}")))
    print(f"\nchildren started: {costs.children} for {count} submissions; sandbox floor {floor * 1000:.0f} ms "
          f"a child; median child CPU {statistics.median(cpu) * 1000:.0f} ms")
    print(f"total / submissions is {total / count / goal:.1f}x the goal")
    if nbgrader_times:
        nb_median = statistics.median(nbgrader_times)
        print(f"\nnbgrader autograde, {len(nbgrader_times)} submissions: median {nb_median:.2f} s per submission; "
              f"the class of {count} extrapolated (median x {count}, one at a time): {nb_median * count / 3600:.1f} h; "
              f"nbgrader / autograder, median per submission: {nb_median / median:.0f}x, "
              f"class total: {nb_median * count / total:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
