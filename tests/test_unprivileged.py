"""The same isolation and the same grades without root.

Run as root (as CI runs), this module makes a system user who owns nothing and a virtualenv that
user can run (Debian's /usr/bin/python3, which any user may run, with this project's packages on its
import path), then, as that user: runs the sandbox's own tests, and grades the sample classes,
whose grades must equal the root run's. Run by an ordinary user, "that user" is the same user, and
the whole suite is the unprivileged run.
"""
import json
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from autograder.paths import REPO_ROOT
from corpus_grading import grade_corpus, grades

USER = "autograder-test"
SYSTEM_PYTHON = Path("/usr/bin/python3")
SAMPLES = REPO_ROOT / "examples" / "submissions"


@pytest.fixture(scope="module")
def ordinary_user():
    """(command prefix running this project's Python as USER with a clean environment, a folder
    that user may write to); without root, the current user and Python."""
    if os.geteuid() != 0:
        with tempfile.TemporaryDirectory() as work:
            yield [sys.executable], Path(work)
        return
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], check=True)
    unreachable = [str(folder) for folder in (REPO_ROOT, *REPO_ROOT.parents) if not os.stat(folder).st_mode & 0o001]
    assert not unreachable, f"an ordinary user cannot reach the checkout: chmod o+x {' '.join(unreachable)}"
    folder = Path(tempfile.mkdtemp(prefix="autograder-unprivileged-", dir="/tmp"))
    try:
        folder.chmod(0o755)
        venv = folder / "venv"
        subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
        site_packages = next(venv.glob("lib/python3*/site-packages"))
        (site_packages / "course.pth").write_text(f"{sysconfig.get_paths()['purelib']}\n{REPO_ROOT}\n")
        work = folder / "work"
        work.mkdir()
        shutil.chown(work, USER, USER)
        yield ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--clear-groups", "--reset-env",
               str(venv / "bin" / "python")], work
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_the_system_python_can_use_this_projects_packages():
    version = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == str(sys.version_info[:2]), "the compiled packages need the same Python minor version"


def test_the_sandbox_tests_pass_as_an_ordinary_user(ordinary_user):
    command, work = ordinary_user
    run = subprocess.run([*command, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                          f"--basetemp={work / 'pytest'}", str(REPO_ROOT / "tests" / "test_sandbox.py")],
                         cwd=work, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout


@pytest.mark.parametrize("assignment", ["hopfield_batchnorm", "mnist_cnn"])
def test_a_sample_class_gets_the_same_grades_as_an_ordinary_user(ordinary_user, assignment, tmp_path):
    command, work = ordinary_user
    as_root = grades(grade_corpus(assignment, SAMPLES / assignment, tmp_path / "root"))
    run = subprocess.run([*command, str(REPO_ROOT / "tests" / "corpus_grading.py"), assignment,
                          str(SAMPLES / assignment), str(work / assignment)],
                         cwd=work, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    assert json.loads(run.stdout.splitlines()[-1]) == as_root
