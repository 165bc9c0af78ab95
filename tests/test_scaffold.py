"""`autograder new` and `add-question`: the scaffold releases, validates and grades as it is, in a
temporary course; a question added to it is marked up, registered and totalled without a hand edit."""
import shutil

import nbformat
import pytest

from autograder import paths
from autograder.grading import grade, marks
from autograder.grading.config import load_config
from autograder.verbs import release, scaffold, validate
from tiny_course import make_course

DEMO = "demo"
RELU = "def relu(x):\n    return np.where(x > 0, x, 0.0)"


@pytest.fixture(scope="module")
def course(tmp_path_factory, course_zygote):
    """A course (nbgrader_config.py, utils.py) holding the scaffolded `demo`, released once; the
    zygote has the default preloads, which a new assignment's grading.toml asks for."""
    root = make_course(tmp_path_factory.mktemp("course"), grading=False)
    shutil.rmtree(root / "source" / "tiny")
    scaffold.new_assignment(DEMO, root)
    release.release(DEMO, root, zygote=course_zygote)
    return root, course_zygote


def test_new_writes_a_consistent_assignment(course):
    root, _ = course
    config = load_config(DEMO, root)
    nb = nbformat.read(paths.source_notebook(DEMO, root), as_version=4)
    assert [(q.id, q.points, q.manual) for q in config.questions] == [("Q1", 2, False), ("Q2", 1, True)]
    assert marks.problems(config, nb) == [] and marks.stated_total(nb) == (1, 3)
    assert sorted(p.name for p in (paths.release_dir(DEMO, root) / "check").iterdir()) == [
        "checks.py", "expected.json", "grading.toml"]


def test_new_validates(course):
    root, _ = course
    assert [(r.ok, r.problems) for r in validate.validate(DEMO, root=root)] == [(True, [])] * 2


def test_new_grades_a_submission_folder(course, tmp_path):
    root, zygote = course
    handed_in = tmp_path / "submissions"
    handed_in.mkdir()
    released = nbformat.read(paths.release_notebook(DEMO, root), as_version=4)
    nbformat.write(released, handed_in / "bob.ipynb")
    (answer,) = [cell for cell in released.cells if cell.source.startswith("def relu")]
    answer.source = RELU
    nbformat.write(released, handed_in / "alice.ipynb")
    result = grade.grade_assignment(DEMO, handed_in, tmp_path / "out", jobs=1, progress=False, zygote=zygote, root=root)
    by_student = {student.student: student for student in result.students}
    assert (by_student["alice"].total, by_student["alice"].max_total, by_student["alice"].status_text) == (2, 2, "ok")
    assert by_student["bob"].total == 0
    assert [q.id for q in by_student["alice"].manual_pending] == ["Q2"]


def test_add_question_marks_up_registers_and_totals(tmp_path):
    root = make_course(tmp_path, grading=False)
    scaffold.new_assignment(DEMO, root)
    scaffold.add_question(DEMO, "Q3", 3, root=root, title="softmax", name="softmax", signature="(z)")
    scaffold.add_question(DEMO, "Q4", 2, root=root, manual=True)
    config = load_config(DEMO, root)  # the placeholder probe is worth the question's points
    nb = nbformat.read(paths.source_notebook(DEMO, root), as_version=4)
    assert marks.problems(config, nb) == [] and marks.stated_total(nb) == (1, 8)
    assert [(q.id, q.points, q.manual) for q in config.questions][2:] == [("Q3", 3, False), ("Q4", 2, True)]
    assert [(n.name, n.question, n.signature) for n in config.names][-1] == ("softmax", "Q3", "(z)")
    assert [spec.name for spec in config.probes_of("Q3")] == ["q3_probe"]
    assert [spec.name for spec in config.visible_checks().probes_of("Q3")] == ["q3_check"]
    added = [cell.metadata.nbgrader for cell in nb.cells[-5:]]
    assert [(m["grade_id"], m["solution"], m["grade"], m.get("points")) for m in added] == [
        ("Q3_prompt", False, False, None), ("Q3_answer", True, False, None), ("Q3", False, True, 3),
        ("Q4_prompt", False, False, None), ("Q4", True, True, 2)]
    assert nb.cells[-4].source.startswith("def softmax(z):")
    # what the scaffold cannot write stops validate: the model solution and the visible tests
    with pytest.raises(scaffold.ScaffoldError, match="question 'Q3' exists already"):
        scaffold.add_question(DEMO, "Q3", 1, root=root)


@pytest.mark.parametrize("name, message", [("Demo", "not a valid assignment name"), (DEMO, "exists already")])
def test_new_refuses_bad_or_taken_names(tmp_path, name, message):
    scaffold.new_assignment(DEMO, tmp_path)
    with pytest.raises(scaffold.ScaffoldError, match=message):
        scaffold.new_assignment(name, tmp_path)
