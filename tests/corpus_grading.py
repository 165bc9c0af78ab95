"""Grade the course's sample classes and the adversarial corpus the way the tests do.

Shared by the tests that grade them as root and by tests/test_unprivileged.py, which runs this
file as a script, as an ordinary user:

    python tests/corpus_grading.py OUT     # prints {"<a> samples" | "<a> adversarial": {student: [status, total]}}

The limits are each assignment's own with a shorter clock (LIMITS), so that submissions that loop
forever cost the suite seconds, not minutes; every limit still stops what it must stop.
"""
import dataclasses
import json
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(TESTS.parent), str(TESTS)]

from autograder.grading import grade  # noqa: E402

from autograder import paths  # noqa: E402

from autograder.verbs import report  # noqa: E402
from autograder.grading.config import GradingConfig, load_config  # noqa: E402
from autograder.sandbox import Limits, Zygote  # noqa: E402

ASSIGNMENTS = ("hopfield_batchnorm", "mnist_cnn")
# A correct submission's probes take under half a second of CPU (benchmarks/BENCHMARKS.md); these
# leave room for a busy machine and stop runaway code soon.
LIMITS = {"hopfield_batchnorm": Limits(wall_seconds=6, cpu_seconds=4, memory_mb=1024, processes=32, file_size_mb=16),
          "mnist_cnn": Limits(wall_seconds=8, cpu_seconds=5, memory_mb=2048, processes=32, file_size_mb=16),
          "numpy_mlp": Limits(wall_seconds=6, cpu_seconds=4, memory_mb=1024, processes=32, file_size_mb=16)}


def samples(assignment: str) -> Path:
    return paths.REPO_ROOT / "examples" / "submissions" / assignment


def corpus_config(assignment: str) -> GradingConfig:
    """The assignment's grading config with the tests' limits."""
    return dataclasses.replace(load_config(assignment), limits=LIMITS[assignment])


def grade_corpus(assignment: str, folder: Path, out: Path, zygote: Zygote, **options) -> grade.ClassResult:
    """Grade `folder` into `out` with `corpus_config` in `zygote`, and write every report."""
    result = grade.grade_assignment(corpus_config(assignment), folder, out, jobs=2, progress=False, zygote=zygote,
                                    **options)
    report.write_reports(result, out)
    return result


def grades(result: grade.ClassResult) -> dict[str, list]:
    """{student: [status, autograded total]}."""
    return {student.student: [student.status_text, student.total] for student in result.students}


def grade_everything(out: Path) -> dict[str, dict[str, list]]:
    """Every sample class and every assignment's adversarial corpus, graded in one zygote."""
    from adversarial import corpus
    graded = {}
    with Zygote() as zygote:
        for assignment in ASSIGNMENTS:
            graded[f"{assignment} samples"] = grades(grade_corpus(assignment, samples(assignment),
                                                                  out / assignment / "samples", zygote))
            attacks = out / assignment / "attacks"
            attacks.mkdir(parents=True)
            for attack in corpus.of(assignment):
                attack.write(attacks)
            graded[f"{assignment} adversarial"] = grades(grade_corpus(assignment, attacks, out / assignment / "graded",
                                                                      zygote))
    return graded


if __name__ == "__main__":
    print(json.dumps(grade_everything(Path(sys.argv[1]))))
