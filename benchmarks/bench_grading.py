"""Grading speed: the kit's grader against `nbgrader autograde`, on the same class of notebooks.

    nice python benchmarks/bench_grading.py [--copies 5] [--jobs 2] [--nbgrader-subset 20]

The class is CLASS: 20 of the hopfield_batchnorm sample submissions (correct, wrong in one way,
broken notebooks, and the hostile ones that do no harm outside a sandbox), copied `--copies` times
under new student ids: 100 submissions by default. Left out are the samples that sit at a limit on
purpose (endless loops, memory and fork bombs: they measure the limits, not the grader) and those
that would act on the machine when nbgrader runs them unsandboxed (writing files, network).

1. The kit's grader, `grade_assignment` with `--jobs` workers (what `autograder grade -j N` runs):
   each submission's wall time is measured around `grade.grade_submission` (reading, extraction,
   the sandboxed run of the probes, the verdicts), and the whole batch (zygote start, reference
   run, reports not included) is divided by the number of submissions.
2. `nbgrader autograde` in a temporary course (generate_assignment, then `submitted/<student>/`),
   which executes every notebook from top to bottom, one at a time, as submitted (COURSE_FAST
   unset, 600 s per cell). It takes minutes per dozen notebooks, so by default it grades one copy
   of each of the first `--nbgrader-subset` students; per-submission times come from the
   timestamps nbgrader logs as it starts each notebook.

Prints a Markdown table (machine, date, command, per-submission median, total / submissions) and
the ratio of the medians; progress goes to stderr.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from common import REPO_ROOT, command, machine, table_header, table_row, timed_calls, today

sys.path.insert(0, str(REPO_ROOT))
from autograder.grading import grade  # noqa: E402
from autograder import paths  # noqa: E402

ASSIGNMENT = "hopfield_batchnorm"
SAMPLES = REPO_ROOT / "examples" / "submissions" / ASSIGNMENT
CLASS = ("amelia_correct_torch", "bruno_correct_manual", "dario_correct_functional", "chloe_untouched",
         "dmitri_unbiased_variance", "esther_eps_outside_sqrt", "farid_wrong_axis", "gwen_bn_before_activation",
         "hiro_relu", "ines_missing_loss_fcn", "jonas_normalnet_with_batchnorm", "kofi_syntax_error",
         "lena_stray_training_code", "marco_scattered_imports", "nadia_magics", "beatriz_nbformat3",
         "celine_cp1252", "adam_invalid_json", "vera_monkeypatch", "samir_sys_exit")
NBGRADER_CELL_TIMEOUT = 600
COLUMNS = ("machine", "date", "command", "grader", "submissions", "median per submission",
           "total / submissions")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def class_of(copies: int) -> list[tuple[str, Path]]:
    """(student id, sample notebook) for `copies` copies of CLASS, copy by copy."""
    return [(f"{student}_{copy}", SAMPLES / f"{student}.ipynb") for copy in range(1, copies + 1) for student in CLASS]


# ---- the kit's grader -----------------------------------------------------------------------------

def time_autograder(students: list[tuple[str, Path]], jobs: int, work: Path) -> tuple[list[float], float]:
    """(wall time of each submission, wall time of the whole batch) of grading `students`."""
    folder = work / "autograder-submissions"
    folder.mkdir()
    for student, notebook in students:
        shutil.copy(notebook, folder / f"{student}.ipynb")
    with timed_calls(grade, "grade_submission") as times:  # grade._grade_and_save looks it up at each call
        start = time.perf_counter()
        result = grade.grade_assignment(ASSIGNMENT, folder, work / "autograder-out", jobs=jobs, force=True,
                                        progress=True)
        total = time.perf_counter() - start
    statuses = sorted({student.status_text for student in result.students})
    log(f"autograder: {len(result.students)} graded in {total:.1f} s; statuses: {', '.join(statuses)}")
    return times, total


# ---- nbgrader -------------------------------------------------------------------------------------------

def nbgrader(course: Path, *arguments: str) -> subprocess.CompletedProcess:
    """Run nbgrader in `course` with the virtualenv first on PATH (nbgrader runs `alembic` from it)."""
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    environment.pop("COURSE_FAST", None)
    return subprocess.run([sys.executable, "-m", "nbgrader", *arguments], cwd=course, env=environment,
                          capture_output=True, text=True)


def nbgrader_course(students: list[tuple[str, Path]], course: Path) -> None:
    """A course with the assignment generated and every student's notebook (and utils.py) submitted."""
    source = course / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    shutil.copy(paths.source_notebook(ASSIGNMENT), source)
    shutil.copy(paths.student_helpers(), source)
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "bench"\n'
                                               'c.CourseDirectory.db_url = "sqlite:///gradebook.db"\n')
    generated = nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    if generated.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{generated.stderr[-3000:]}")
    for student, notebook in students:
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(notebook, folder / f"{ASSIGNMENT}.ipynb")
        shutil.copy(paths.student_helpers(), folder)


def time_nbgrader(students: list[tuple[str, Path]], work: Path) -> tuple[list[float], float]:
    """(wall time of each submission, wall time of the whole autograde run)."""
    course = work / "nbgrader-course"
    nbgrader_course(students, course)
    start_clock, start = datetime.now(), time.perf_counter()
    run = nbgrader(course, "autograde", ASSIGNMENT, "--force", f"--ExecutePreprocessor.timeout={NBGRADER_CELL_TIMEOUT}",
                   "--Application.log_level=INFO", "--Application.log_format=%(asctime)s.%(msecs)03d %(message)s",
                   "--Application.log_datefmt=%Y-%m-%d %H:%M:%S")
    total = time.perf_counter() - start
    end_clock = datetime.now()
    times = _per_student_times(run.stderr, [student for student, _ in students], end_clock)
    failed = len(re.findall(r"There was an error processing assignment '\w+' for student", run.stderr))
    log(f"nbgrader: {len(students)} autograded in {total:.1f} s (start {start_clock:%H:%M:%S}); "
        f"{failed} it could not grade")
    return times, total


def _per_student_times(log_text: str, students: list[str], end: datetime) -> list[float]:
    """Each student's time in nbgrader's (sequential) log: from the first line naming the student
    to the first line naming the next one (the last ends with the run). nbgrader's own start-up,
    before any student, counts in the total only."""
    first_seen = {}
    for stamp, text in re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) (.*)$", log_text, re.MULTILINE):
        for student in re.findall(r"(?:submitted|autograded)/([\w.@-]+)/|student with ID '([\w.@-]+)'", text):
            name = next(filter(None, student))
            first_seen.setdefault(name, datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f"))
    missing = sorted(set(students) - set(first_seen))
    if missing:
        raise RuntimeError(f"nbgrader's log never names {', '.join(missing)}:\n{log_text[-3000:]}")
    starts = sorted(first_seen[student] for student in students)
    return [(finish - begin).total_seconds() for begin, finish in zip(starts, [*starts[1:], end])]


# ---- the table ------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=5, help="copies of the 20-student class (default 5: 100)")
    parser.add_argument("--jobs", type=int, default=2, help="the kit's grader: submissions at once (default 2)")
    parser.add_argument("--nbgrader-subset", type=int, default=len(CLASS),
                        help=f"nbgrader grades this many submissions (default {len(CLASS)}; 0 skips nbgrader)")
    args = parser.parse_args(argv)
    students = class_of(args.copies)

    rows, medians = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        work = Path(scratch)
        times, total = time_autograder(students, args.jobs, work)
        medians["autograder"] = statistics.median(times)
        rows.append((f"`autograder grade {ASSIGNMENT} SUBMISSIONS -j {args.jobs}` (sandboxed probes)",
                     len(students), medians["autograder"], total / len(students)))
        if args.nbgrader_subset:
            subset = students[:args.nbgrader_subset]
            times, total = time_nbgrader(subset, work)
            medians["nbgrader"] = statistics.median(times)
            rows.append((f"`nbgrader autograde {ASSIGNMENT}` (runs every notebook in full, one at a time)",
                         len(subset), medians["nbgrader"], total / len(subset)))

    print(table_header(COLUMNS))
    for grader, count, median, per_submission in rows:
        print(table_row((machine(), today(), command(), grader, count, f"{median:.2f} s", f"{per_submission:.2f} s")))
    if "nbgrader" in medians:
        print(f"\nnbgrader / autograder, median per submission: {medians['nbgrader'] / medians['autograder']:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
