"""The same isolation and the same grades without root.

Run as root (as CI runs), this module makes a system user who owns nothing and a virtualenv that
user can run (Debian's /usr/bin/python3, which any user may run, with this project's packages on its
import path), then, as that user: runs the sandbox's tests whose outcome could depend on the user
(marked `user_dependent`), and grades every sample and attack whose grade could depend on the user
(tests/corpus_grading.py), which must get the grades the root run gives them. Run by an ordinary
user, "that user" is the same user, and the whole suite is the unprivileged run.
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from adversarial import corpus
from autograder.paths import REPO_ROOT
from corpus_grading import USER_DEPENDENT_ASSIGNMENTS, samples, user_dependent_samples
from ordinary_user import ordinary_user_python, same_minor_version


@pytest.fixture(scope="module")
def ordinary_user():
    """(command prefix running this project's Python as an ordinary user, a folder that user may
    write to); without root, the current user and Python."""
    if os.geteuid() != 0:
        with tempfile.TemporaryDirectory() as work:
            yield [sys.executable], Path(work)
        return
    with ordinary_user_python() as prepared:
        yield prepared


def test_the_system_python_can_use_this_projects_packages():
    assert same_minor_version(), "the compiled packages need the same Python minor version"


def test_the_user_dependent_sandbox_tests_pass_as_an_ordinary_user(ordinary_user):
    command, work = ordinary_user
    run = subprocess.run([*command, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", "-m", "user_dependent",
                          f"--basetemp={work / 'pytest'}", str(REPO_ROOT / "tests" / "test_sandbox.py")],
                         cwd=work, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    marked = (REPO_ROOT / "tests" / "test_sandbox.py").read_text().count("\n@pytest.mark.user_dependent\n")
    assert f"\n{marked} passed" in run.stdout and "skipped" not in run.stdout, run.stdout[-2000:]


def test_the_user_dependent_samples_and_attacks_get_their_grades_as_an_ordinary_user(ordinary_user):
    """The grades the root run asserts (tests/test_hopfield_grading.py, test_adversarial.py): each
    sample its EXPECTED.md row, each attack its expectation."""
    command, work = ordinary_user
    run = subprocess.run([*command, str(REPO_ROOT / "tests" / "corpus_grading.py"), str(work / "graded")],
                         cwd=work, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-4000:]
    graded = json.loads(run.stdout.splitlines()[-1])
    for assignment in USER_DEPENDENT_ASSIGNMENTS:
        sample_grades = graded[f"{assignment} samples"]
        assert {student: (status, pytest.approx(total, abs=5e-4)) for student, (status, total) in sample_grades.items()} \
            == user_dependent_samples(assignment)
        attack_grades = graded[f"{assignment} adversarial"]
        chosen = corpus.user_dependent(assignment)
        wrong = {attack.student: attack_grades.get(attack.student) for attack in chosen
                 if not attack.expected.allows(*attack_grades.get(attack.student, ("missing", 0)))}
        assert wrong == {} and len(attack_grades) == len(chosen)


def test_the_ordinary_user_run_takes_every_user_dependent_class_of_attack():
    for assignment in corpus.ASSIGNMENTS:
        kinds = {attack.kind for attack in corpus.user_dependent(assignment)}
        assert kinds == {kind for kind in corpus.USER_DEPENDENT_KINDS if kind in {a.kind for a in corpus.of(assignment)}}
        assert assignment in USER_DEPENDENT_ASSIGNMENTS or not kinds
    assert {"rosa_fork_bomb", "wanda_reads_secrets", "yusuf_writes_outside", "amelia_correct_torch"} \
        <= set(user_dependent_samples("hopfield_batchnorm"))


def without_user_namespaces(command: list[str]) -> list[str]:
    """`command` run where no user namespace can be created (as in a container that forbids them):
    inside one of its own, with the limit on nested ones set to 0."""
    return ["unshare", "--user", "--map-root-user", "sh", "-c",
            'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', "sh", *command]


def test_without_user_namespaces_grade_refuses_unless_the_weak_mode_is_allowed(tmp_path):
    sample = samples("hopfield_batchnorm") / "amelia_correct_torch.ipynb"
    grade = [sys.executable, "-m", "autograder", "grade", "hopfield_batchnorm", str(sample)]
    refused = subprocess.run(without_user_namespaces([*grade, "-o", str(tmp_path / "refused")]),
                             capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert refused.returncode == 2
    assert "cannot isolate submissions" in refused.stderr and "--allow-weak-sandbox" in refused.stderr
    allowed = subprocess.run(without_user_namespaces([*grade, "-o", str(tmp_path / "weak"), "--allow-weak-sandbox"]),
                             capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert allowed.returncode == 0, allowed.stderr[-3000:]
    feedback = (tmp_path / "weak" / "feedback" / "amelia_correct_torch.md").read_text(encoding="utf-8")
    assert "NO ISOLATION" in feedback
    assert json.loads((tmp_path / "weak" / "results" / "amelia_correct_torch.json").read_text())["status"] == "ok"
