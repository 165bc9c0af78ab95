"""Grade a folder of submissions the way the corpus tests do, and say each student's grade.

Shared by the tests that grade a sample class as root and by tests/test_unprivileged.py, which runs
this file as a script, as an ordinary user, to show the scores are the same:

    python tests/corpus_grading.py ASSIGNMENT FOLDER OUT     # prints {student: [status, total]}

The limits are the assignment's own with a shorter wall clock, so that submissions that loop
forever cost the suite seconds, not minutes; every limit still stops what it must stop.
"""
import dataclasses
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from autograder import grade, report  # noqa: E402
from autograder.config import GradingConfig, load_config  # noqa: E402

WALL_SECONDS = 6
CPU_SECONDS = 4


def corpus_config(assignment: str) -> GradingConfig:
    """The assignment's grading config with the corpus tests' shorter time limits."""
    config = load_config(assignment)
    limits = dataclasses.replace(config.limits, wall_seconds=min(config.limits.wall_seconds, WALL_SECONDS),
                                 cpu_seconds=min(config.limits.cpu_seconds, CPU_SECONDS))
    return dataclasses.replace(config, limits=limits)


def grade_corpus(assignment: str, folder: Path, out: Path, **options) -> grade.ClassResult:
    """Grade `folder` into `out` with `corpus_config` and write every report."""
    result = grade.grade_assignment(corpus_config(assignment), folder, out, jobs=2, progress=False, **options)
    report.write_reports(result, out)
    return result


def grades(result: grade.ClassResult) -> dict[str, list]:
    """{student: [status, autograded total]}."""
    return {student.student: [student.status, student.total] for student in result.students}


if __name__ == "__main__":
    assignment_name, submissions, output = sys.argv[1:]
    print(json.dumps(grades(grade_corpus(assignment_name, Path(submissions), Path(output)))))
