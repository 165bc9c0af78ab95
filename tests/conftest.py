"""Fixtures shared by the test modules: one course zygote per test process (pytest-xdist worker).

`make test` runs two workers on two cores, so every process the tests start computes on one thread
(torch in the workers, the notebook kernels `validate` starts, the sandbox's children already do):
more threads than cores only make them wait for each other.
"""
import os

import pytest

# Before any test module imports nbformat: the engine's import of it skips jsonschema's slow optional
# checker (see the module), which would otherwise cost every test process 1.5 s or more.
from autograder.analysis import quick_nbformat  # noqa: F401
from autograder.sandbox import Zygote

os.environ["OMP_NUM_THREADS"] = "1"  # read by torch when a test process first imports it


@pytest.fixture(scope="session")
def course_zygote():
    """A zygote with the course's preloads (torch, utils), for the tests that grade the real
    assignments; each grading passes its own limits."""
    with Zygote() as zygote:
        yield zygote


# Sample students of hopfield_batchnorm for the manual-grading tests: three different answers to Q1a,
# one identical to amelia's (grouped with it), the untouched release, and sven's notebook with its
# Q1a answer cell deleted (saved as dora_deleted_answer).
MARKING_SAMPLES = ("amelia_correct_torch", "bruno_correct_manual", "dario_correct_functional", "celine_cp1252",
                   "chloe_untouched")
DELETED_ANSWER = "dora_deleted_answer"


@pytest.fixture(scope="session")
def hopfield_marking_class(tmp_path_factory, course_zygote):
    """A few hopfield_batchnorm samples graded once per test process: (output folder, submissions
    folder). Tests that change the marks copy the output folder first (`copy_graded`)."""
    import json
    import shutil

    from autograder import paths
    from autograder.grading.grade import grade_assignment
    from autograder.verbs.report import write_reports

    folder = tmp_path_factory.mktemp("marking")
    samples = paths.REPO_ROOT / "examples" / "submissions" / "hopfield_batchnorm"
    submissions = folder / "submitted"
    submissions.mkdir()
    for name in MARKING_SAMPLES:
        shutil.copy(samples / f"{name}.ipynb", submissions / f"{name}.ipynb")
    nb = json.loads((samples / "sven_energy_sign.ipynb").read_text(encoding="utf-8"))
    nb["cells"] = [cell for cell in nb["cells"]
                   if cell["metadata"].get("nbgrader", {}).get("grade_id") != "q1a_answer"]
    (submissions / f"{DELETED_ANSWER}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    result = grade_assignment("hopfield_batchnorm", submissions, folder / "out", progress=False, zygote=course_zygote)
    write_reports(result, folder / "out")
    return folder / "out", submissions

