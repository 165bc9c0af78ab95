"""Authoring mistakes that `release` and `validate` refuse, each naming the cell and the fix: a
solution line pasted into a prompt, solution markup in the wrong cell, a graded cell grading.toml
does not know, points that disagree with grading.toml (the one source of marks), a title whose
total drifted, and an assignment without grading.toml. All on the tiny course; none of them runs
the reference or a kernel, since the refusals come first."""
import nbformat
import pytest

from autograder import paths
from autograder.grading import marks
from autograder.grading.config import load_config
from autograder.verbs import release, validate
from tiny_course import ASSIGNMENT, SOLUTION_LINE, make_course, nbgrader_cell, tiny_notebook

PROMPT = 5  # "Why is squaring monotone ...", a read-only Markdown cell


def refusal(tmp_path, nb=None, grading=True) -> str:
    tmp_path.mkdir(exist_ok=True)
    course = make_course(tmp_path, nb, grading=grading)
    with pytest.raises(release.ReleaseError) as refused:
        release.release(ASSIGNMENT, course)
    assert not paths.release_dir(ASSIGNMENT, course).exists()
    return str(refused.value)


def source_problems(tmp_path, nb=None, grading=True) -> list[str]:
    tmp_path.mkdir(exist_ok=True)
    return validate.marks_problems(ASSIGNMENT, make_course(tmp_path, nb, grading=grading))


# ---- a solution line in a prompt ------------------------------------------------------------------

def test_a_solution_line_pasted_into_a_prompt_is_refused(tmp_path):
    nb = tiny_notebook()
    nb.cells[PROMPT - 1].source += f"\n\nHint:\n```python\n{SOLUTION_LINE}\n```"
    assert refusal(tmp_path, nb) == (
        "refusing to release 'tiny': a public cell of tiny.ipynb shows solution code, which the release would keep\n"
        f"  cell 5 (prompt) shows the solution line {SOLUTION_LINE!r}: remove it from the prompt, or, if students "
        "should see it, move it out of the solution region")


def test_trivial_lines_and_lines_already_released_may_be_public():
    nb = tiny_notebook()
    nb.cells[2].source = nb.cells[2].source.replace(
        "### BEGIN SOLUTION", "### BEGIN SOLUTION\n    import functools\n    return result")
    nb.cells[PROMPT - 1].source += "\n```python\nimport functools\nreturn result\n```"
    assert release.exposed_solution_lines(nb) == []
    nb.cells[1].source += f"\n    {SOLUTION_LINE}"
    (exposed,) = release.exposed_solution_lines(nb)
    assert (exposed.cell, exposed.label) == (2, "imports")
    previous = tiny_notebook()
    previous.cells[1].source += f"\n{SOLUTION_LINE}"  # students saw it in the last release
    assert release.exposed_solution_lines(nb, previous) == []


def test_solution_markup_in_a_prompt_names_the_cell_and_the_fix(tmp_path):
    nb = tiny_notebook()
    nb.cells[PROMPT - 1].source += "\n### BEGIN SOLUTION\nBecause 2x >= 0.\n### END SOLUTION"
    assert refusal(tmp_path, nb) == (
        "nbgrader generate_assignment failed for 'tiny': cell 5 (prompt, 'Why is squaring monotone for $x \\\\ge 0$?'): "
        "a ### BEGIN SOLUTION region in a cell that is not an answer cell, so the release would show it; make the "
        "cell an Autograded answer or a Manually graded answer (View > Cell Toolbar > Create Assignment), or "
        "remove the region")


# ---- the notebook against grading.toml ------------------------------------------------------------

def test_a_graded_cell_grading_toml_does_not_know_is_refused(tmp_path):
    nb = tiny_notebook()
    nb.cells.insert(4, nbgrader_cell(nbformat.v4.new_code_cell("assert square(5) == 25"), "test_more",
                                     grade=True, locked=True, points=1))
    problem = ("cell 5 (test_more, 'assert square(5) == 25') is a graded cell that no question of grading.toml "
               "lists, so it would never be graded; add a [[questions]] table with id = 'test_more', or list "
               "'test_more' in the `cells` of its question (`autograder add-question` writes both for a new question)")
    assert refusal(tmp_path / "r", nb) == ("refusing to release 'tiny': its notebook and assignments/tiny/grading.toml "
                                           f"disagree on the marks\n  {problem}")
    assert source_problems(tmp_path / "v", nb) == [f"source {problem}"]


def test_points_that_disagree_with_grading_toml_are_refused(tmp_path):
    nb = tiny_notebook()
    nb.cells[3].metadata.nbgrader.points = 4
    problem = ("cell 4 (test_square, 'assert square(2) == 4'): the notebook gives question Q1 4 points, grading.toml "
               "gives it 2; grading.toml holds the marks, so set the nbgrader points of the cell to add up to 2 "
               "(JupyterLab: View > Cell Toolbar > Create Assignment)")
    assert refusal(tmp_path / "r", nb).endswith(f"disagree on the marks\n  {problem}")
    assert source_problems(tmp_path / "v", nb) == [f"source {problem}"]


def test_an_assignment_without_grading_toml_is_refused(tmp_path):
    problem = ("assignments/tiny/grading.toml does not exist, so nothing would grade this assignment and `check` "
               "would fail for every student; write it (docs/authoring.md, grading.toml), or start from the one "
               "`autograder new NAME` scaffolds")
    assert refusal(tmp_path / "r", grading=False) == f"refusing to release 'tiny': {problem}"
    assert source_problems(tmp_path / "v", grading=False) == [f"source: {problem}"]


def test_other_disagreements_each_name_the_cell_or_question(tmp_path):
    config = load_config(ASSIGNMENT, make_course(tmp_path), probes=False)
    nb = tiny_notebook()
    assert marks.problems(config, nb) == []
    nb.cells[0].source += "\n\nThis assignment is worth **5 marks** in all."
    nb.cells[5].metadata.nbgrader.grade_id = "why_not"  # Q2 loses its only graded cell
    nb.cells[3].metadata.nbgrader.solution = True  # the tests cell becomes a manually graded answer
    found = marks.problems(config, nb)
    assert [problem.split(" ", 2)[:2] for problem in found] == [["cell", "4"], ["cell", "6"], ["question", "Q2"],
                                                              ["cell", "1"]]
    assert "is a manually graded answer, but grading.toml says question Q1 is autograded" in found[0]
    assert found[3] == ("cell 1 (the title) says **5 marks**, but the questions of grading.toml add up to 3; "
                        "correct the title")


@pytest.mark.parametrize("assignment", paths.list_assignments())
def test_course_notebooks_agree_with_grading_toml_title_included(assignment):
    """The marks live in grading.toml; each notebook's graded cells and its title's total follow."""
    config = load_config(assignment, probes=False)
    nb = nbformat.read(paths.source_notebook(assignment), as_version=4)
    assert marks.problems(config, nb) == []
    assert marks.stated_total(nb)[1] == sum(question.points for question in config.questions)
