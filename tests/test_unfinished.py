"""Unfinished work in a saved notebook (`autograder.analysis.unfinished`), on notebooks built here;
`tests/test_check.py` covers the same findings through `autograder check` on a released handout."""
import json
from pathlib import Path

import nbformat
import nbformat.v4 as v4

from autograder.analysis.unfinished import (nbgrader_checksum, record_release_cells, recorded_signatures,
                                             unfinished_work)

REPO_ROOT = Path(__file__).resolve().parent.parent


def graded(cell, grade_id, *, solution=False, locked=False, points=None):
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "solution": solution, "locked": locked,
                                 "grade": points is not None, "schema_version": 3,
                                 **({"points": points} if points is not None else {})}
    return cell


def handout():
    """A release as nbgrader writes it, checksums included, and as `autograder release` records it."""
    nb = v4.new_notebook(cells=[
        graded(v4.new_markdown_cell("## Q1"), "q1_prompt", locked=True),
        graded(v4.new_code_cell("def area(r):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
               "q1_code", solution=True),
        graded(v4.new_code_cell("assert area(1) > 3"), "q1_tests", points=1),
        graded(v4.new_code_cell("# Plot the areas.\n# YOUR CODE HERE\nraise NotImplementedError()"),
               "q2_plot", solution=True),
        graded(v4.new_markdown_cell("YOUR ANSWER HERE"), "q2_answer", solution=True, points=2),
    ])
    for cell in nb.cells:
        cell.metadata.nbgrader["checksum"] = nbgrader_checksum(cell)
    record_release_cells(nb, "circles")
    return nb


def findings(nb) -> list[tuple]:
    return [(item.cell, item.rule) for item in unfinished_work(nb)]


def test_the_checksum_is_the_one_nbgrader_stored_in_the_release_notebooks():
    for assignment in ("hopfield_batchnorm", "mnist_cnn"):
        nb = nbformat.read(REPO_ROOT / "release" / assignment / f"{assignment}.ipynb", as_version=4)
        stored = [(cell.metadata.nbgrader["checksum"], nbgrader_checksum(cell)) for cell in nb.cells
                  if "checksum" in cell.metadata.get("nbgrader", {})]
        assert len(stored) > 20 and all(ours == nbgraders for nbgraders, ours in stored)


def test_the_untouched_handout_lists_every_unfinished_cell():
    nb = handout()
    assert findings(nb) == [(2, "stub"), (4, "unanswered"), (5, "unanswered"), (None, "not-run")]
    stub, plot, answer, never = unfinished_work(nb)
    assert stub.message == ('Cell 2 ("def area(r):") still raises NotImplementedError in `area` (line 3): '
                            "that part is not written yet.")
    assert plot.message == ('Cell 4 ("# Plot the areas.") is not answered: it holds only the stub '
                            "`raise NotImplementedError()`.")
    assert answer.message == 'Cell 5 ("YOUR ANSWER HERE") is not answered: it still says YOUR ANSWER HERE.'
    assert never.message == "The notebook was never run: none of its 3 code cells has an output or a run count."
    assert recorded_signatures(nb) == {"area": "(r)"}


def finished():
    nb = handout()
    nb.cells[1].source = "def area(r):\n    return 3.14159 * r * r"
    nb.cells[3].source = "print([area(r) for r in range(3)])"
    nb.cells[4].source = "The area grows as the square of the radius."
    for count, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.execution_count = count
    return nb


def test_a_finished_notebook_has_nothing_left():
    assert findings(finished()) == []


def test_what_a_student_can_break_in_the_handouts_cells():
    nb = finished()
    nb.cells[2].source = "print('passes')"  # the graded test cell, edited
    nb.cells[2].outputs = [v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero")]
    nb.cells.pop(4)  # the graded answer cell, deleted
    nb.cells.insert(1, nbformat.from_dict({**nb.cells[0], "id": "copy"}))  # the prompt, copied
    assert findings(nb) == [(2, "duplicate-cell"), (4, "error-output"), (4, "locked-cell-edited"),
                            (None, "graded-cell-missing")]
    assert unfinished_work(nb)[-1].message == (
        'The graded cell q2_answer, handout cell 5 ("YOUR ANSWER HERE") is missing: it was deleted, or its '
        "nbgrader metadata was removed.")


def test_without_the_release_record_an_edit_is_found_by_the_cells_own_checksum():
    nb = finished()
    del nb.metadata["course_kit"]
    nb.cells[2].source = "print('passes')"
    nb.cells.pop(4)  # not found without the record of the handout's cells
    assert findings(nb) == [(3, "locked-cell-edited")]


def test_some_cells_never_run_are_listed_with_their_first_lines():
    nb = finished()
    nb.cells[3].execution_count = None
    assert [item.message for item in unfinished_work(nb)] == [
        '1 of the 3 code cells was never run: cell 4 ("print([area(r) for r in range(3)])").']


def test_a_notebook_without_nbgrader_metadata_counts_every_cell_as_an_answer():
    nb = v4.new_notebook(cells=[v4.new_markdown_cell("YOUR ANSWER HERE"),
                                v4.new_code_cell("def f():\n    raise NotImplementedError", execution_count=1)])
    assert findings(json.loads(json.dumps(nb), object_hook=nbformat.NotebookNode)) == [(1, "unanswered"), (2, "stub")]
