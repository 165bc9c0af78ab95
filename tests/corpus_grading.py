"""Grade the course's sample classes and the adversarial corpus the way the tests do.

Shared by the tests that grade them as root and by tests/test_unprivileged.py, which runs this
file as a script, as an ordinary user:

    python tests/corpus_grading.py OUT     # prints {"<a> samples" | "<a> adversarial": {student: [status, total]}}

The script grades what could get another grade when another user runs the grader
(`user_dependent`): what the sandbox's uid may read, write, start or signal. The limits on CPU,
memory and exits, and the attacks on the judging, are the same code for every user, and are graded
once, by the suite's own run.

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

# The samples' code takes under 0.6 s of CPU on an idle machine (a correct submission's probes
# under half a second: benchmarks/BENCHMARKS.md), but quentin's memory bomb, which faults in its
# 1 GB page by page, took more than 2 s on a busy one; the attacks that search the file system and
# memory for secrets take 1.2 to 2.1 s here. The limits leave room for that, with a wall clock for a
# busy machine, and stop runaway code soon: hopfield_batchnorm's samples and attacks are the ones
# that run away (a loop in `forward` costs three runs of the CPU limit: autograder/grading/probe_runs.py).
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


# The samples whose grade depends on the user who runs the grader: the process limit is counted in
# the sandbox's user namespace (rosa's fork bomb), file permissions are the mapped uid's (wanda reads
# secrets, yusuf writes outside), with the honest and untouched controls and the network attempts.
# Only hopfield_batchnorm's class holds hostile samples; the others' honest code is amelia's case.
USER_DEPENDENT_SAMPLES = {"hopfield_batchnorm": ("amelia_correct_torch", "chloe_untouched", "rosa_fork_bomb",
                                                 "wanda_reads_secrets", "xavier_network", "yusuf_writes_outside")}
USER_DEPENDENT_ASSIGNMENTS = ("hopfield_batchnorm", "mnist_cnn")  # with a sample or an attack of those


def user_dependent_samples(assignment: str) -> dict[str, tuple[str, float]]:
    """The samples of USER_DEPENDENT_SAMPLES with their expected grades."""
    return {student: expected_grades(assignment)[student] for student in USER_DEPENDENT_SAMPLES.get(assignment, ())}


def user_dependent(out: Path) -> dict[str, dict[str, list]]:
    """The samples and the attacks whose grades could depend on the user (`user_dependent_samples`,
    `corpus.USER_DEPENDENT_KINDS`), graded in one zygote."""
    from adversarial import corpus
    graded = {}
    with Zygote() as zygote:
        for assignment in USER_DEPENDENT_ASSIGNMENTS:
            chosen, attacks = out / assignment / "samples", out / assignment / "adversarial"
            chosen.mkdir(parents=True)
            attacks.mkdir()
            for student in user_dependent_samples(assignment):
                shutil.copy(samples(assignment) / f"{student}.ipynb", chosen)
            for attack in corpus.user_dependent(assignment):
                attack.write(attacks)
            for batch, folder in (("samples", chosen), ("adversarial", attacks)):
                graded[f"{assignment} {batch}"] = (
                    grades(grade_corpus(assignment, folder, out / assignment / f"graded {batch}", zygote))
                    if any(folder.iterdir()) else {})
    return graded


if __name__ == "__main__":
    print(json.dumps(user_dependent(Path(sys.argv[1]))))
