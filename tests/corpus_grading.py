"""Grade the course's sample classes and the adversarial corpus the way the tests do.

Shared by the tests that grade them as root and by tests/test_unprivileged.py, which runs this
file as a script, as an ordinary user:

    python tests/corpus_grading.py OUT     # prints {"<a> samples" | "<a> adversarial": {student: [status, total]}}

The script grades what the sandbox decides, the part of the classes whose grades could depend on
who runs the grader (`sandbox_decided`); attacks on the judging are the same for every user.

The limits are each assignment's own with a shorter clock (LIMITS), so that submissions that loop
forever cost the suite seconds, not minutes; every limit still stops what it must stop.
"""
import dataclasses
import json
import re
import shutil
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(TESTS.parent), str(TESTS)]

from autograder.grading import grade  # noqa: E402

from autograder import paths  # noqa: E402

from autograder.verbs import report  # noqa: E402
from autograder.grading.config import GradingConfig, load_config  # noqa: E402
from autograder.sandbox import Limits, Zygote  # noqa: E402

ASSIGNMENTS = ("hopfield_batchnorm", "mnist_cnn", "hopfield_memory")
# A correct submission's probes take under half a second of CPU (benchmarks/BENCHMARKS.md) and the
# costliest attacks (those that search the file system and memory for secrets) about 1.5 s here;
# these leave room for a CPU three times slower on a busy machine, and stop runaway code soon.
LIMITS = {"hopfield_batchnorm": Limits(wall_seconds=10, cpu_seconds=5, memory_mb=1024, processes=32, file_size_mb=16),
          "mnist_cnn": Limits(wall_seconds=12, cpu_seconds=6, memory_mb=2048, processes=32, file_size_mb=16),
          "hopfield_memory": Limits(wall_seconds=10, cpu_seconds=5, memory_mb=1024, processes=32, file_size_mb=16),
          "numpy_mlp": Limits(wall_seconds=10, cpu_seconds=5, memory_mb=1024, processes=32, file_size_mb=16),
          # graded by tests/test_deep_training.py only: its probes train 800 small networks and a few LeNets
          "deep_training": Limits(wall_seconds=30, cpu_seconds=15, memory_mb=2048, processes=32, file_size_mb=16)}


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


def expected_grades(assignment: str, section: str | None = None) -> dict[str, tuple[str, float]]:
    """{student: (status, score)} from the table(s) of the sample class's EXPECTED.md; with
    `section`, only the rows under the heading ``## <section>``."""
    text = (samples(assignment) / "EXPECTED.md").read_text(encoding="utf-8")
    if section is not None:
        text = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)\.ipynb` \| .+? \| ([^|]+?) \| ([\d.]+) \|$", text, re.MULTILINE)
    return {student: (status, float(score)) for student, status, score in rows}


# The samples whose grade the sandbox decides: each class's hostile section, its honest and untouched
# controls (the smaller classes are taken whole).
SANDBOX_SAMPLES = {"hopfield_batchnorm": ("Hostile or runaway code", ("amelia_correct_torch", "chloe_untouched")),
                   "mnist_cnn": (None, ()), "hopfield_memory": (None, ())}


def sandbox_decided_samples(assignment: str) -> dict[str, tuple[str, float]]:
    """The samples of SANDBOX_SAMPLES with their expected grades."""
    section, controls = SANDBOX_SAMPLES[assignment]
    return {**{student: expected_grades(assignment)[student] for student in controls},
            **expected_grades(assignment, section)}


def sandbox_decided(out: Path) -> dict[str, dict[str, list]]:
    """The samples and the attacks whose grades the sandbox decides (`sandbox_decided_samples`,
    `corpus.SANDBOX_KINDS`), graded in one zygote."""
    from adversarial import corpus
    graded = {}
    with Zygote() as zygote:
        for assignment in ASSIGNMENTS:
            chosen = out / assignment / "samples"
            chosen.mkdir(parents=True)
            for student in sandbox_decided_samples(assignment):
                shutil.copy(samples(assignment) / f"{student}.ipynb", chosen)
            graded[f"{assignment} samples"] = grades(grade_corpus(assignment, chosen, out / assignment / "graded samples",
                                                                  zygote))
            if not corpus.of(assignment):  # an assignment without an attack corpus of its own
                graded[f"{assignment} adversarial"] = {}
                continue
            attacks = out / assignment / "attacks"
            attacks.mkdir(parents=True)
            for attack in corpus.sandbox_decided(assignment):
                attack.write(attacks)
            graded[f"{assignment} adversarial"] = grades(grade_corpus(assignment, attacks, out / assignment / "graded",
                                                                      zygote))
    return graded


if __name__ == "__main__":
    print(json.dumps(sandbox_decided(Path(sys.argv[1]))))
