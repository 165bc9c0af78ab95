"""The probes are the one authority on what earns points, and a source notebook's hidden tests must
agree with them: on every sample submission, a question's test cell (visible and hidden tests)
passes exactly when the real grader gives every probe of that question full marks.

Each assignment's grading tests (tests/test_hopfield_grading.py, tests/test_mnist_cnn.py) call
`disagreements` with the class they graded once in the sandbox, so the samples are not graded again.
The test cells run here, in the test process, each in the namespace of the sample's freshly
extracted module itself (not a copy: a cell that swaps a name, as the hopfield cells swap
`BatchNorm`, must reach the module's classes as it does in a notebook). So only samples that ended
cleanly in the sandbox run here, and never the hostile ones, whatever their status: a sample that
monkeypatches torch or writes outside its folder is contained only in the sandbox.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from pathlib import Path

import nbformat

from autograder import paths
from autograder.analysis.extract import extract
from autograder.analysis.notebook import NotebookError, read_notebook
from autograder.grading.config import load_config
from autograder.grading.status import Status
from autograder.sandbox.loader import load_module

HIDDEN = "### BEGIN HIDDEN TESTS"
# A student with another status did not end cleanly (looped, forked, crashed): never run here. An
# unreadable notebook defines nothing, so every test cell must fail on it, as every probe does.
CLEAN = {Status.OK, Status.PARTIAL, Status.EXCEPTION_IN_PROBE, Status.EXTRACTION_ERROR, Status.UNREADABLE_NOTEBOOK}


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


def cell_passes(source: str, namespace: dict) -> bool:
    """Whether a test cell runs without an exception in `namespace`, as in the notebook's kernel."""
    try:
        exec(compile(source, "<test cell>", "exec"), namespace)
    except Exception:
        return False
    return True


def module_source(notebook: Path) -> str:
    """The notebook's extracted module; an unreadable notebook defines nothing."""
    try:
        return extract(read_notebook(notebook)).source
    except NotebookError:
        return ""


def disagreements(assignment: str, students: Iterable, notebook_of: Callable[[str], Path],
                  never_here: Iterable[str] = (), cells: dict[str, str] | None = None) -> tuple[list[str], list[str]]:
    """(disagreements, students run): one line for each question of each student whose test cell
    passes while the probes do not all give full marks, or fails while they do. `students` are the
    grader's StudentResults; `never_here` the hostile samples, which are skipped; `cells` the test
    cells by question, the source notebook's by default."""
    cells = hidden_test_cells(assignment) if cells is None else cells
    assert cells, f"{assignment}: no test cell with hidden tests"
    with one_torch_thread():
        return _disagreements(assignment, students, notebook_of, set(never_here), cells)


@contextlib.contextmanager
def one_torch_thread():
    """One intra-op torch thread while the block runs, as in the sandbox: the probes' tensors are
    small, and a second thread costs several times the CPU time for them."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _disagreements(assignment: str, students: Iterable, notebook_of: Callable[[str], Path], never_here: set[str],
                   cells: dict[str, str]) -> tuple[list[str], list[str]]:
    found, run, passes = [], [], {}
    for student in students:
        if student.student in never_here or student.status not in CLEAN:
            continue
        run.append(student.student)
        source = module_source(notebook_of(student.student))
        if source not in passes:  # samples with the same code (other encodings, stray cells) pass alike
            module = load_module(source, f"agree_{assignment}_{student.student}")
            passes[source] = {question_id: cell_passes(cell, vars(module)) for question_id, cell in cells.items()}
        by_question = {question.id: question for question in student.questions}
        for question_id in cells:
            probes = by_question[question_id].probes
            full_marks = bool(probes) and all(p.points == p.max_points for p in probes)
            if passes[source][question_id] != full_marks:
                found.append(f"{student.student} {question_id}: probes give {'full' if full_marks else 'partial'} "
                             f"marks, the test cell {'fails' if full_marks else 'passes'}")
    return found, run
