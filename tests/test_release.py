"""Release generation: stubs replace solutions, leaks are refused, a stale release is noticed."""
import nbformat
import pytest

from autograder import paths, release
from tiny_course import ASSIGNMENT, HIDDEN_LINE, MODEL_ANSWER, SOLUTION_LINE, make_course, tiny_notebook


@pytest.fixture
def course(tmp_path):
    return make_course(tmp_path)


def _release_text(root):
    nb = nbformat.read(paths.release_notebook(ASSIGNMENT, root), as_version=4)
    return nb, "\n".join(cell.source for cell in nb.cells)


def test_release_replaces_solutions_and_hides_tests(course):
    folder = release.release(ASSIGNMENT, course)
    nb, text = _release_text(course)
    assert (folder / "utils.py").read_text() == (course / "utils.py").read_text()
    assert SOLUTION_LINE not in text and HIDDEN_LINE not in text and MODEL_ANSWER not in text
    assert "raise NotImplementedError()" in nb.cells[2].source
    assert nb.cells[5].source == "YOUR ANSWER HERE"
    assert nb.cells[3].source.strip() == "assert square(2) == 4"
    assert nb.cells[3].metadata["nbgrader"]["locked"] is True


def test_leak_check_catches_a_planted_solution_line(course):
    release.release(ASSIGNMENT, course)
    source = nbformat.read(paths.source_notebook(ASSIGNMENT, course), as_version=4)
    planted, _ = _release_text(course)
    planted.cells[4].source += f"\n    {SOLUTION_LINE}"
    planted.cells[1].source += f"\n{HIDDEN_LINE}"
    leaks = release.find_leaks(source, planted)
    assert [(leak.cell, leak.what) for leak in leaks] == [(2, "hidden test"), (5, "solution code")]
    assert "cell 5: solution code leaked" in str(leaks[1])


def test_leak_check_passes_a_clean_release(course):
    release.release(ASSIGNMENT, course)
    source = nbformat.read(paths.source_notebook(ASSIGNMENT, course), as_version=4)
    assert release.find_leaks(source, _release_text(course)[0]) == []


def test_release_refuses_hidden_tests_outside_a_test_cell(tmp_path):
    nb = tiny_notebook()
    # nbgrader only clears hidden tests in graded cells; in an ordinary cell they would ship.
    nb.cells[1].source += f"\n### BEGIN HIDDEN TESTS\n{HIDDEN_LINE}\n### END HIDDEN TESTS"
    course = make_course(tmp_path, nb)
    with pytest.raises(release.ReleaseError) as refusal:
        release.release(ASSIGNMENT, course)
    assert str(refusal.value) == ("nbgrader generate_assignment failed for 'tiny': RuntimeError: Hidden "
                                  "test region detected in a non-grade cell; please make sure all solution "
                                  "regions are within 'Autograder tests' cells.")
    assert not paths.release_dir(ASSIGNMENT, course).exists()


def test_stale_release_is_noticed(course):
    release.release(ASSIGNMENT, course)
    assert release.stale_files(ASSIGNMENT, course) == []
    source = paths.source_notebook(ASSIGNMENT, course)
    nb = nbformat.read(source, as_version=4)
    nb.cells[0].source += "\nA new sentence in the introduction."
    nbformat.write(nb, source)
    assert release.stale_files(ASSIGNMENT, course) == [f"{ASSIGNMENT}.ipynb"]
    (course / "utils.py").write_text("CHANGED = True\n")
    assert release.stale_files(ASSIGNMENT, course) == [f"{ASSIGNMENT}.ipynb", "utils.py"]


def test_unknown_assignment_is_a_clear_error(course):
    with pytest.raises(ValueError, match="unknown assignment 'nope'; known: tiny"):
        paths.resolve_assignments(["nope"], course)


@pytest.mark.parametrize("assignment", paths.list_assignments())
def test_committed_release_is_current(assignment):
    stale = release.stale_files(assignment)
    assert stale == [], f"release/{assignment}/ is stale ({', '.join(stale)}): run `autograder release {assignment}`"


@pytest.mark.parametrize("assignment", paths.list_assignments())
def test_source_notebook_is_committed_without_outputs(assignment):
    nb = nbformat.read(paths.source_notebook(assignment), as_version=4)
    carrying = [number for number, cell in enumerate(nb.cells, start=1)
                if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert carrying == [], f"source/{assignment} has outputs in cells {carrying}: strip them before committing"
