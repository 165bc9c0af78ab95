"""The manual questions' model (autograder.grading.manual): answers found by cell id, "no answer",
rubrics read from the instructor notebooks, and the scores file."""
import json

import nbformat
import pytest

from autograder.analysis.notebook import read_notebook
from autograder.grading.config import load_config
from autograder.grading.manual import (SCORES_FILE, ManualScores, Mark, ScoresError, find_answer, rubric, rubric_items,
                                       valid_mark)

ASSIGNMENTS = ("hopfield_batchnorm", "mnist_cnn")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_manual_question_has_a_rubric_whose_items_add_up(assignment):
    config = load_config(assignment, probes=False)
    source = read_notebook(config.source_path, keep_outputs=False)
    for question in config.manual_questions:
        text = rubric(source, question)
        assert text.startswith("*Marking") and "END SOLUTION" not in text, question.id
        items = rubric_items(text, question.points)
        assert items and sum(points for points, _ in items) == question.points, question.id
    q1b = next(q for q in config.manual_questions if q.id == "Q1b")
    if assignment == "mnist_cnn":  # an item's own breakdown in brackets stays in it
        assert [p for p, _ in rubric_items(rubric(source, q1b), 4)] == [2, 1, 1]


def test_rubric_items_that_do_not_add_up_are_not_offered():
    assert rubric_items("*Marking:* 1 mark for a, 1 for b.", 3) == []
    assert rubric_items("*Marking:* judge the whole.", 2) == []


def cell(source, grade_id, cell_type="markdown", solution=True):
    make = nbformat.v4.new_markdown_cell if cell_type == "markdown" else nbformat.v4.new_code_cell
    return make(source, metadata={"nbgrader": {"grade_id": grade_id, "solution": solution}})


@pytest.mark.parametrize("cells, answered, deleted", [
    ([cell("x = 1", "run", "code", False), cell("It converges.", "ans")], True, False),
    ([cell("x = 1", "run", "code", False), cell("YOUR ANSWER HERE", "ans")], False, False),  # read-only code only
    ([cell("# plot\n# YOUR CODE HERE\nraise NotImplementedError()", "run", "code"), cell("YOUR ANSWER HERE", "ans")],
     False, False),
    ([cell("plt.plot(x)", "run", "code")], False, True),  # the graded cell deleted
])
def test_an_answer_is_no_answer_when_deleted_or_as_handed_out(cells, answered, deleted):
    question = load_config("hopfield_batchnorm", probes=False).manual_questions[0].model_copy(
        update={"cells": ["run", "ans"]})
    answer = find_answer(nbformat.v4.new_notebook(cells=cells), question)
    assert (answer.answered, answer.deleted, bool(answer.digest)) == (answered, deleted, answered)
    assert answer.why_no_answer.startswith("no answer") != answered


def test_scores_are_saved_whole_and_refused_when_not_ours(tmp_path):
    scores = ManualScores.load(tmp_path, "hopfield_batchnorm")
    scores.mark("ann", "Q1a", Mark(1.5, "sign", [0], "digest"))
    scores.mark_all([("bob", "Q1a", Mark(2)), ("ann", "Q1b", Mark(0))])
    scores.mark("bob", "Q1a", None)
    again = ManualScores.load(tmp_path, "hopfield_batchnorm")
    assert again.get("ann", "Q1a") == Mark(1.5, "sign", [0], "digest") and again.get("bob", "Q1a") is None
    assert [p.name for p in tmp_path.iterdir()] == [SCORES_FILE]  # no temporary file left
    with pytest.raises(ScoresError, match="holds the scores of 'hopfield_batchnorm', not of 'mnist_cnn'"):
        ManualScores.load(tmp_path, "mnist_cnn")
    (tmp_path / SCORES_FILE).write_text(json.dumps({"format": 1, "assignment": "hopfield_batchnorm",
                                                    "marks": {"ann": {"Q1a": {"pts": 1}}}}))
    with pytest.raises(ScoresError, match="is not a manual scores file"):
        ManualScores.load(tmp_path, "hopfield_batchnorm")


@pytest.mark.parametrize("points", [-1, 2.5, True, "2", float("nan"), None])
def test_a_mark_outside_the_questions_points_is_refused(points):
    with pytest.raises(ScoresError, match="from 0 to 2"):
        valid_mark(points, 2.0)

