"""The probes are the one authority on what earns points, and a source notebook's hidden tests must
agree with them: on every sample submission, a question's test cell (visible and hidden tests)
passes exactly when the real grader gives every probe of that question full marks.

Each test cell runs here, in this test process, on the sample's extracted module (as the other
tests load extracted modules); the probe verdicts come from grading the samples in the sandbox.
"""
import types

import nbformat
import pytest

from autograder import paths
from autograder.grading.config import load_config
from autograder.analysis.extract import extract
from autograder.sandbox.loader import load_module
from autograder.analysis.notebook import NotebookError, read_notebook
from autograder.grading.status import Status
from corpus_grading import grade_corpus, samples

HIDDEN = "### BEGIN HIDDEN TESTS"
# Only assignments whose samples all end cleanly in the sandbox: their test cells run in this process,
# so a sample that loops or forks (hopfield_batchnorm has such samples) must never be among them.
ASSIGNMENTS = ("mnist_cnn",)
CLEAN = {Status.OK, Status.PARTIAL, Status.EXCEPTION_IN_PROBE, Status.EXTRACTION_ERROR}


def question_of(grade_id: str, questions: list[str]) -> str:
    """The autograded question a test cell belongs to: the one its grade id names (``Q2``), or the
    one whose id starts like it (``q2c_tests`` for ``Q2C-nets``)."""
    if grade_id in questions:
        return grade_id
    (question,) = [q for q in questions if q.lower().split("-")[0] == grade_id.lower().split("_")[0]]
    return question


def hidden_test_cells(assignment: str) -> dict[str, str]:
    """{question id: source} of each autograded test cell of the source notebook with hidden tests."""
    questions = [question.id for question in load_config(assignment, probes=False).autograded_questions]
    nb = nbformat.read(paths.source_notebook(assignment), as_version=4)
    cells = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution") and HIDDEN in cell.source:
            cells[question_of(meta["grade_id"], questions)] = cell.source
    return cells


def test_cell_passes(source: str, module) -> bool:
    """Whether a test cell runs without an exception on a copy of the module's namespace."""
    namespace = dict(vars(module))
    try:
        exec(compile(source, "<test cell>", "exec"), namespace)
    except Exception:
        return False
    return True


test_cell_passes.__test__ = False  # a helper, not a test


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_hidden_tests_agree_with_the_probes_on_every_sample(assignment, course_zygote, tmp_path):
    cells = hidden_test_cells(assignment)
    assert cells, f"{assignment}: no test cell with hidden tests"
    graded = grade_corpus(assignment, samples(assignment), tmp_path, course_zygote)
    disagreements = []
    for student in graded.students:
        assert student.status in CLEAN, f"{student.student} ({student.status_text}) must not run here"
        path = samples(assignment) / student.notebook
        try:
            module = load_module(extract(read_notebook(path)).source, f"agree_{assignment}_{student.student}")
        except NotebookError:  # nothing to run: every test cell fails, as every probe does
            module = types.SimpleNamespace()
        by_question = {question.id: question for question in student.questions}
        for question_id, source in cells.items():
            probes = by_question[question_id].probes
            full_marks = bool(probes) and all(p.points == p.max_points for p in probes)
            if test_cell_passes(source, module) != full_marks:
                disagreements.append(f"{student.student} {question_id}: probes give "
                                     f"{'full' if full_marks else 'partial'} marks, the test cell "
                                     f"{'fails' if full_marks else 'passes'}")
    assert not disagreements, disagreements
    assert len(graded.students) >= 10
