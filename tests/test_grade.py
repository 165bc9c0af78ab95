"""Grading a class of toy submissions: every status, discovery (folder, nbgrader, zip), resuming,
and a broken probe stopping the batch. One zygote (numpy only) serves the whole module."""
import json
import os
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from autograder.grading import grade, versions
from autograder.grading.config import load_config
from autograder.grading.discovery import DiscoveryError, find_submissions
from autograder.errors import ReferenceSolutionError
from autograder.grading.grade import RESULT_FORMAT, StudentResult, batch_seed, grade_assignment
from autograder.sandbox import Zygote
from autograder.grading.status import Finding, Status
from toy_submissions import ANSWERS, COUNTER_CELL, TOY, copy_toy, write_submission


class CountingZygote:
    """A zygote that counts the children it starts."""

    def __init__(self, zygote: Zygote):
        self.zygote, self.runs = zygote, 0

    @property
    def isolation(self):
        return self.zygote.isolation

    def import_modules(self, names):
        self.zygote.import_modules(names)

    def run(self, job, limits=None):
        self.runs += 1
        return self.zygote.run(job, limits)


@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    config = load_config(TOY)
    # Hide every temporary folder of this session (submissions and outputs) and the toy's folder.
    with Zygote(config.limits, preload=("numpy",)) as z:
        yield z


@pytest.fixture
def counting(zygote):
    return CountingZygote(zygote)


@pytest.fixture(scope="module")
def config():
    return load_config(TOY)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, zygote, config):
    """One submission of each kind in ANSWERS (`<answer>.ipynb`) plus an unreadable file, graded."""
    folder = tmp_path_factory.mktemp("class")
    submissions = folder / "submissions"
    for answer in ANSWERS:
        write_submission(submissions / f"toy_{answer}.ipynb", answer)
    (submissions / "toy_unreadable.ipynb").write_text('{"cells": [')
    out = folder / "out"
    result = grade_assignment(config, submissions, out, jobs=2, progress=False, zygote=zygote)
    return result, {student.student: student for student in result.students}


def scores(student: StudentResult) -> dict:
    return {q.id: q.points for q in student.questions}


# ---- statuses ----------------------------------------------------------------------------------

def test_correct_submission_gets_full_marks(graded_class):
    result, students = graded_class
    correct = students["correct"]
    assert correct.status_text == "ok" and correct.problems == []
    assert scores(correct) == {"Q1": 2, "Q2": 3, "Q3": None}
    assert correct.total == correct.max_total == 5
    assert all(p.message == "" for q in correct.questions for p in q.probes)
    assert correct.questions[2].notes == ["needs manual grading", "no answer: the notebook has no nbgrader cell ids, "
                                          "so its answer cell Q3 cannot be found"]


def test_wrong_function_loses_its_points_only(graded_class):
    wrong = graded_class[1]["wrong_add"]
    assert wrong.status_text == "partial" and wrong.problems == []
    assert scores(wrong) == {"Q1": 0, "Q2": 3, "Q3": None}
    messages = " ".join(p.message for p in wrong.questions[0].probes)
    assert "add(a, b) should return the sum of a and b." in messages  # the probe's hint


def test_syntax_error_names_the_cell_and_the_rest_is_graded(graded_class):
    broken = graded_class[1]["syntax_error"]
    assert broken.status_text == f"extraction error (cell {COUNTER_CELL})"
    assert broken.problems == [Finding(Status.EXTRACTION_ERROR, f"cell {COUNTER_CELL}"),
                               Finding(Status.MISSING_NAME, "Counter")]
    assert scores(broken) == {"Q1": 2, "Q2": 0, "Q3": None}
    assert f"Cell {COUNTER_CELL} (\"class Counter:\") defines `Counter` but does not parse" in broken.questions[1].notes[0]
    skipped = [e for e in broken.extraction["entries"] if e["action"] == "skipped"]
    assert [e["cell"] for e in skipped] == [COUNTER_CELL]


def test_missing_name_blocks_only_its_question(graded_class):
    missing = graded_class[1]["missing_name"]
    assert missing.status_text == "missing name add"
    assert scores(missing) == {"Q1": 0, "Q2": 3, "Q3": None}
    assert "rename `Add` to `add`" in missing.questions[0].notes[0]
    assert all(p.message.startswith("not run") for p in missing.questions[0].probes)


def test_module_that_does_not_load(graded_class):
    student = graded_class[1]["import_error"]
    assert student.status_text == "exception at import"
    assert student.total == 0
    assert any("NameError" in note and "NotDefinedAnywhere" in note for note in student.notes)
    assert student.details["load_error"]["type"] == "NameError"


def test_endless_loop_hits_the_time_limit(graded_class):
    student = graded_class[1]["endless_loop"]
    assert student.status_text == "time limit"
    assert student.details["sandbox"] == "time limit"
    # Every probe of add() loops and is stopped; the counter's probes, run again without them, count.
    assert all("stopped while running this test (time limit)" in p.message for p in student.questions[0].probes)
    assert student.questions[0].points == 0 and student.questions[1].points == student.questions[1].max_points > 0


def test_exception_in_a_probe_costs_that_probe(graded_class):
    student = graded_class[1]["probe_exception"]
    assert student.status_text == "exception in probe"
    resets = student.questions[1].probes[1]
    assert resets.name == "counter_resets" and resets.points == 0
    assert "your code raised ValueError: reset is not written yet" in resets.message
    assert scores(student) == {"Q1": 2, "Q2": 2, "Q3": None}


def test_crash_and_memory_limit(graded_class):
    students = graded_class[1]
    assert students["exits"].status_text == "crashed (exit code 3)"
    assert students["memory_hog"].status_text == "memory limit"
    assert students["memory_hog"].total == 3  # Counter still graded after add's MemoryError


def test_unreadable_notebook(graded_class):
    student = graded_class[1]["unreadable"]
    assert student.status_text == "unreadable notebook" and student.total == 0
    assert "not valid JSON" in student.notes[0]


def test_results_are_saved_with_the_rendered_status_and_read_back_the_same(graded_class):
    result, students = graded_class
    assert [s.student for s in result.students] == sorted(students)
    for student in result.students:
        saved = json.loads((result.out_dir / "results" / f"{student.student}.json").read_text())
        assert (saved["format"], saved["status"]) == (RESULT_FORMAT, student.status_text)
        assert StudentResult.from_json(saved) == student
    saved = json.loads((result.out_dir / "results" / "syntax_error.json").read_text())
    assert saved["problems"] == [{"status": "extraction error", "detail": f"cell {COUNTER_CELL}"},
                                 {"status": "missing name", "detail": "Counter"}]
    log = (result.out_dir / "grade.log").read_text()
    assert "correct: ok, 5/5" in log
    assert f"syntax_error: extraction error (cell {COUNTER_CELL}), 2/5" in log


def test_a_saved_result_of_an_older_format_or_an_unknown_status_is_graded_again(tmp_path, zygote, config):
    write_submission(tmp_path / "in" / "alice.ipynb", "exits")
    grade_assignment(config, tmp_path / "in", tmp_path / "out", progress=False, zygote=zygote)
    saved_file = tmp_path / "out" / "results" / "alice.json"
    saved = json.loads(saved_file.read_text())
    assert saved["problems"] == [{"status": "crashed", "detail": "exit code 3"}]
    older = {**saved, "format": RESULT_FORMAT - 1}
    unknown = {**saved, "problems": [{"status": "crashed (exit code 3)", "detail": ""}]}  # format 1's spelling
    for damaged in (older, unknown):
        saved_file.write_text(json.dumps(damaged))
        again = grade_assignment(config, tmp_path / "in", tmp_path / "out", progress=False, zygote=zygote)
        assert (again.resumed, again.students[0].status_text) == ([], "crashed (exit code 3)")
        assert json.loads(saved_file.read_text())["problems"] == saved["problems"]


def test_grader_error_is_one_students_status(tmp_path, zygote, config, monkeypatch):
    for name in ("alice", "bob"):
        write_submission(tmp_path / "in" / f"{name}.ipynb", "correct")
    real_extract = grade.extract

    def extract_failing_for_bob(nb):
        if "bob" in str(nb.metadata.get("who", "")):
            raise KeyError("a bug in the grader")
        return real_extract(nb)

    bob = nbformat.read(tmp_path / "in" / "bob.ipynb", as_version=4)
    bob.metadata["who"] = "bob"
    nbformat.write(bob, tmp_path / "in" / "bob.ipynb")
    monkeypatch.setattr(grade, "extract", extract_failing_for_bob)
    result = grade_assignment(config, tmp_path / "in", tmp_path / "out", progress=False, zygote=zygote)
    statuses = {s.student: s.status_text for s in result.students}
    assert statuses == {"alice": "ok", "bob": "grader error: KeyError: 'a bug in the grader'"}
    assert "Traceback" in (tmp_path / "out" / "grade.log").read_text()
    saved = json.loads((tmp_path / "out" / "results" / "bob.json").read_text())  # for `mark` and `export`
    assert (saved["status"], saved["fingerprint"]) == ("grader error: KeyError: 'a bug in the grader'", "")  # retried
    assert [s.student for s in grade.load_graded(config, tmp_path / "out").students] == ["alice", "bob"]


# ---- resuming and determinism --------------------------------------------------------------------

def test_resume_skips_graded_submissions_and_force_regrades(tmp_path, counting, config):
    submissions, out = tmp_path / "in", tmp_path / "out"
    write_submission(submissions / "alice.ipynb", "correct")
    write_submission(submissions / "bob.ipynb", "wrong_add")
    first = grade_assignment(config, submissions, out, progress=False, zygote=counting)
    assert counting.runs == 3 and first.resumed == []  # the reference, then two students
    saved = {p.name: p.stat().st_mtime_ns for p in (out / "results").iterdir()}

    again = grade_assignment(config, submissions, out, progress=False, zygote=counting)
    assert counting.runs == 4  # the reference only
    assert again.resumed == ["alice", "bob"] and again.students == first.students
    assert {p.name: p.stat().st_mtime_ns for p in (out / "results").iterdir()} == saved

    write_submission(submissions / "bob.ipynb", "correct")  # bob hands in again
    changed = grade_assignment(config, submissions, out, progress=False, zygote=counting)
    assert counting.runs == 6 and changed.resumed == ["alice"]
    assert {s.student: s.status_text for s in changed.students} == {"alice": "ok", "bob": "ok"}

    forced = grade_assignment(config, submissions, out, force=True, progress=False, zygote=counting)
    assert counting.runs == 9 and forced.resumed == []
    # same seed, same values, same results (only the timings differ)
    assert [replace(s, details={}) for s in forced.students] == [replace(s, details={}) for s in changed.students]


@pytest.mark.parametrize("dependency", ["engine", "torch"])
def test_saved_results_are_regraded_when_a_version_they_depend_on_changes(tmp_path, counting, config, monkeypatch,
                                                                         dependency):
    submissions, out = tmp_path / "in", tmp_path / "out"
    write_submission(submissions / "alice.ipynb", "correct")
    grade_assignment(config, submissions, out, progress=False, zygote=counting)
    monkeypatch.setattr(versions, dependency, lambda: "another version")
    again = grade_assignment(config, submissions, out, progress=False, zygote=counting)
    assert again.resumed == [] and counting.runs == 4  # reference, alice, reference, alice again


def test_seed_comes_from_the_assignment_name():
    assert batch_seed("toy") == batch_seed("toy") != batch_seed("toy2")
    assert 0 <= batch_seed("toy") < 2**32


# ---- the reference ---------------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, words", [
    ("expected == 0", "expected == 1", "probe counter_resets fails on the reference solution: it scores 0.00 of 1"),
    ("return module.add(*FLOATS)", "return module.subtract(*FLOATS)",
     "probe add_floats fails on the reference solution: the reference solution failed probe add_floats: "
     "AttributeError"),
])
def test_broken_probe_stops_the_batch(tmp_path, counting, old, new, words):
    folder = copy_toy(tmp_path)
    probes = folder / "probes.py"
    probes.write_text(probes.read_text().replace(old, new))
    write_submission(tmp_path / "in" / "alice.ipynb", "correct")
    with pytest.raises(ReferenceSolutionError, match=re.escape(words)):
        grade_assignment(load_config(folder), tmp_path / "in", tmp_path / "out", progress=False, zygote=counting)
    assert counting.runs == 1  # no student was graded
    assert list((tmp_path / "out" / "results").iterdir()) == []


def test_reference_without_a_required_name_stops_the_batch(tmp_path, counting):
    folder = copy_toy(tmp_path)
    write_submission(folder / "toy.ipynb", "missing_name")
    write_submission(tmp_path / "in" / "alice.ipynb", "correct")
    with pytest.raises(ReferenceSolutionError, match="does not extract cleanly: .*`add`"):
        grade_assignment(load_config(folder), tmp_path / "in", tmp_path / "out", progress=False, zygote=counting)
    assert counting.runs == 0


def test_a_given_zygote_gets_the_assignments_preloads_before_grading(zygote, config):
    with grade.running_zygote(zygote, replace(config, preload=("numpy", "xml.dom.minidom"))) as running:
        assert running is zygote and running.preload == ("numpy", "xml.dom.minidom")


# ---- finding submissions (tests/test_discovery.py has the rest) ------------------------------------

def test_nbgrader_layout(tmp_path, counting, config):
    course = tmp_path / "course"
    write_submission(course / "submitted" / "alice" / "toy" / "toy.ipynb", "correct")
    write_submission(course / "submitted" / "bob" / "toy" / "whatever.ipynb", "wrong_add")
    write_submission(course / "submitted" / "carol" / "toy" / "one.ipynb", "correct")
    write_submission(course / "submitted" / "carol" / "toy" / "two.ipynb", "correct")
    write_submission(course / "submitted" / "dave" / "other_assignment" / "other.ipynb", "correct")
    found = find_submissions(course, "toy", tmp_path / "unpacked")
    assert [(s.student, s.path.name) for s in found] == [("alice", "toy.ipynb"), ("bob", "whatever.ipynb"),
                                                         ("carol", "toy.ipynb")]
    assert "holds 2 notebooks and none is named toy.ipynb" in found[2].problem
    result = grade_assignment(config, course / "submitted", tmp_path / "out", progress=False, zygote=counting)
    assert {s.student: s.status_text for s in result.students} == {
        "alice": "ok", "bob": "partial", "carol": "unreadable notebook"}


def zip_of(path: Path, members: dict[str, Path]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, notebook in members.items():
            archive.write(notebook, name)
    return path


@pytest.mark.parametrize("janes_file, bobs_file, jane, bob", [
    ("Jane Doe_111_assignsubmission_file_/Bob Roe_222_assignsubmission_file_toy.ipynb",
     "Bob Roe_222_assignsubmission_file_/toy.ipynb", "Jane_Doe_111", "Bob_Roe_222"),
    ("doejane_111_901_roebob_222_902_toy.ipynb", "roebob_LATE_222_903_toy.ipynb", "doejane_111", "roebob_222"),
])
def test_lms_zip_is_graded_under_the_lms_ids_whatever_the_files_are_named(tmp_path, counting, config,
                                                                         janes_file, bobs_file, jane, bob):
    # Jane names her (wrong) notebook after Bob, who hands in a correct one.
    archive = zip_of(tmp_path / "class.zip", {
        janes_file: write_submission(tmp_path / "jane.ipynb", "wrong_add"),
        bobs_file: write_submission(tmp_path / "bob.ipynb", "correct"),
        "toy_carol.ipynb": write_submission(tmp_path / "carol.ipynb", "correct"),
    })
    result = grade_assignment(config, archive, tmp_path / "out", progress=False, zygote=counting)
    students = {s.student: s for s in result.students}
    assert {student: s.status_text for student, s in students.items()} == {jane: "partial", bob: "ok", "carol": "ok"}
    assert students["carol"].notes[0] == ("toy_carol.ipynb in the archive is not named as Moodle, Canvas, "
                                          "Blackboard, D2L name submissions; its student id comes from its file name.")
    assert sorted(p.name for p in (tmp_path / "out" / "unpacked").iterdir()) == sorted(
        f"{student}.ipynb" for student in students)


def test_duplicate_ids_are_each_graded_and_marked(tmp_path, counting, config):
    write_submission(tmp_path / "in" / "toy_alice.ipynb", "correct")
    write_submission(tmp_path / "in" / "alice-toy.ipynb", "wrong_add")
    result = grade_assignment(config, tmp_path / "in", tmp_path / "out", progress=False, zygote=counting)
    first, second = result.students
    assert (first.student, first.status_text, first.problems, first.total) == (
        "alice+1", "duplicate submission", [Finding(Status.DUPLICATE_SUBMISSION)], 3)
    assert (second.student, second.status_text, second.problems, second.total) == (
        "alice+2", "duplicate submission", [Finding(Status.DUPLICATE_SUBMISSION)], 5)
    assert first.notebook.endswith("alice-toy.ipynb") and "toy_alice.ipynb" in first.notes[0]
    assert sorted(p.name for p in (tmp_path / "out" / "results").iterdir()) == ["alice+1.json", "alice+2.json"]
    again = grade_assignment(config, tmp_path / "in", tmp_path / "out", progress=False, zygote=counting)
    assert again.resumed == ["alice+1", "alice+2"] and again.students == result.students


def test_a_link_to_the_reference_scores_nothing(tmp_path, counting, config):
    write_submission(tmp_path / "in" / "toy_alice.ipynb", "correct")
    os.symlink(TOY / "toy.ipynb", tmp_path / "in" / "toy_mallory.ipynb")
    (tmp_path / "in" / "readme.txt").write_text("not a notebook")
    result = grade_assignment(config, tmp_path / "in", tmp_path / "out", progress=False, zygote=counting)
    log = (tmp_path / "out" / "grade.log").read_text()
    assert "passed over 1 entry (not a notebook nor a folder holding toy/)" in log
    mallory = {s.student: s for s in result.students}["mallory"]
    assert (mallory.status_text, mallory.total) == ("unreadable notebook", 0)
    assert "toy_mallory.ipynb is a symbolic link, not graded" in mallory.notes[0]
    assert counting.runs == 2  # the reference and alice: the link was never read


def test_no_notebooks_is_an_error(tmp_path, counting, config):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DiscoveryError, match="no notebooks found"):
        grade_assignment(config, tmp_path / "empty", tmp_path / "out", progress=False, zygote=counting)
