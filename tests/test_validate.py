"""validate: the source must run clean, the release may fail only on its answer stubs."""
import nbformat
import pytest

from autograder import paths

from autograder.verbs import release, validate
from tiny_course import ASSIGNMENT, make_course, tiny_notebook


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("course"))
    release.release(ASSIGNMENT, root)
    return root


def _write(root, name, nb):
    path = root / name
    nbformat.write(nb, path)
    return path


def test_a_working_assignment_validates(course):
    results = validate.validate(ASSIGNMENT, root=course)
    assert [(r.notebook.name, r.ok, r.problems) for r in results] == [("tiny.ipynb", True, [])] * 2


def test_a_failing_source_cell_is_named(course):
    nb = tiny_notebook()
    nb.cells[2].source = nb.cells[2].source.replace("x * x", "x + x")  # right for 2 only: a hidden test fails
    result = validate.validate_source(_write(course, "broken_source.ipynb", nb), root=course)
    assert not result.ok
    assert result.problems == ["source cell 4: AssertionError: negative numbers square to positive"]


def test_stderr_warnings_are_not_failures(course):
    nb = tiny_notebook()
    nb.cells[1].source += "\nimport sys, warnings\nwarnings.warn('deprecated thing')\nprint('noise', file=sys.stderr)"
    assert validate.validate_source(_write(course, "noisy.ipynb", nb), root=course).problems == []


def test_release_errors_other_than_stubs_are_reported(course):
    nb = nbformat.read(paths.release_notebook(ASSIGNMENT, course), as_version=4)
    nb.cells[1].source += "\nimport a_module_that_does_not_exist"
    result = validate.validate_release(_write(course, "bad_import.ipynb", nb), root=course)
    assert result.problems == [
        "release cell 2: ModuleNotFoundError: No module named 'a_module_that_does_not_exist' "
        "(only NotImplementedError from an answer stub may fail here)"]


def test_a_release_test_that_passes_without_an_answer_is_reported(course):
    nb = nbformat.read(paths.release_notebook(ASSIGNMENT, course), as_version=4)
    nb.cells[3].source = "assert True"
    result = validate.validate_release(_write(course, "weak_test.ipynb", nb), root=course)
    assert result.problems == ["release cell 4: this test passes without any answer, so it tests nothing"]


@pytest.mark.parametrize("assignment", paths.list_assignments())
def test_every_course_assignment_validates_in_fast_mode(assignment):
    problems = [problem for result in validate.validate(assignment) for problem in result.problems]
    assert problems == []
