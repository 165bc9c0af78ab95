"""The LMS's student ids from their download names, and each LMS's grade import file, compared with
the samples in examples/lms/ (regenerate them with `python tests/test_lms_export.py`)."""
import csv
import json
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import paths
from autograder.grading.config import load_config
from autograder.grading.discovery import find_submissions
from autograder.grading.grade import ClassResult, QuestionResult, StudentResult, apply_marks
from autograder.grading.manual import ManualScores, Mark
from autograder.verbs.import_scores import ScoresImportError, import_scores
from autograder.verbs.lms_export import DEFAULT_FILES, GradeExportError, export_grades

SAMPLES = paths.REPO_ROOT / "examples" / "lms"
ASSIGNMENT = "hopfield_batchnorm"

# What each LMS's "download all submissions" zip names a notebook, and who the LMS says it is:
# (member, kit id, (LMS, LMS id, name)). Each student names the file as she likes, even after a classmate.
DOWNLOADS = {
    "Moodle": [
        ("Alice Student_101_assignsubmission_file_/hopfield_batchnorm.ipynb", "Alice_Student_101",
         ("Moodle", "101", "Alice Student")),
        ("Bruno Díaz_102_assignsubmission_file_/Alice Student_101_assignsubmission_file_hw.ipynb", "Bruno_Díaz_102",
         ("Moodle", "102", "Bruno Díaz")),
        ("Chloé O'Neil_103_assignsubmission_file_hopfield (2).ipynb", "Chloé_O_Neil_103",
         ("Moodle", "103", "Chloé O'Neil")),
    ],
    "Canvas": [
        ("alicestudent_201_98765_hopfield_batchnorm.ipynb", "alicestudent_201", ("Canvas", "201", "alicestudent")),
        ("diazbruno_LATE_202_98766_hopfield_batchnorm-1.ipynb", "diazbruno_202", ("Canvas", "202", "diazbruno")),
        ("oneilchloe_203_98767_alicestudent_201_1_x.ipynb", "oneilchloe_203", ("Canvas", "203", "oneilchloe")),
    ],
    "D2L": [
        ("158-3301 - Alice Student - Mar 4, 2024 1152 AM/hopfield_batchnorm.ipynb", "Alice_Student_3301",
         ("D2L", "3301", "Alice Student")),
        ("159-3302 - Bruno Díaz- Mar 5, 2024 903 PM - hopfield_batchnorm.ipynb", "Bruno_Díaz_3302",
         ("D2L", "3302", "Bruno Díaz")),
        ("160-3303 - Chloé O'Neil - Mar 6, 2024 1201 AM - 158-3301 - Alice Student - x.ipynb", "Chloé_O_Neil_3303",
         ("D2L", "3303", "Chloé O'Neil")),
    ],
}
# Autograded points (Q1c, Q2A, Q2C-nets) and marks (Q1a, Q1b, Q2B, Q2C-plot) of the three students.
POINTS = [((1, 3, 5), (2, 1.5, 2, 4)), ((0.5, 2, 5), (1, 2, 0.5, 3)), ((0, 0, 0), (0, 0, 0, 0))]
ROSTER = SAMPLES / "roster.csv"


def zip_of(path: Path, members: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for member in members:
            archive.writestr(member, json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


@pytest.mark.parametrize("lms", DOWNLOADS)
def test_lms_zips_give_the_lms_ids_and_names(lms, tmp_path):
    rows = DOWNLOADS[lms]
    found = find_submissions(zip_of(tmp_path / "download.zip", [member for member, _, _ in rows]), ASSIGNMENT,
                             tmp_path / "unpacked")
    got = {s.student: (s.identity.lms, s.identity.lms_id, s.identity.name) for s in found}
    assert got == {student: identity for _, student, identity in rows}
    assert all(s.notes == () for s in found)


def sample_class(lms: str, out_dir: Path, marked: int = 3) -> ClassResult:
    """The three students of DOWNLOADS[lms], graded and marked as POINTS says (the first `marked`)."""
    config = load_config(ASSIGNMENT, probes=False)
    scores = ManualScores(out_dir / "manual_scores.json", ASSIGNMENT)
    students = []
    for index, ((_, student, (name_lms, lms_id, name)), (auto, manual)) in enumerate(zip(DOWNLOADS[lms], POINTS)):
        auto_points, questions = iter(auto), []
        manual_points = iter(manual)
        for question in config.questions:
            if question.manual:
                questions.append(QuestionResult(question.id, question.title, question.points, True, None,
                                                answer=f"answer of {student}"))
                mark = next(manual_points)
                if index < marked:
                    scores.mark(student, question.id, Mark(mark, answer=f"answer of {student}"))
            else:
                questions.append(QuestionResult(question.id, question.title, question.points, False, next(auto_points)))
        students.append(StudentResult(student, f"{student}.ipynb", [], questions, {}, [], "",
                                      identity={"lms": name_lms, "lms_id": lms_id, "name": name}))
    apply_marks(students, scores)
    return ClassResult(config, students, out_dir, 0, "")


@pytest.mark.parametrize("fmt, lms, roster", [("moodle", "Moodle", None), ("canvas", "Canvas", None),
                                              ("d2l", "D2L", ROSTER), ("csv", "Moodle", None)])
def test_each_lms_file_matches_its_sample(fmt, lms, roster, tmp_path):
    exported = export_grades(sample_class(lms, tmp_path), fmt, tmp_path / DEFAULT_FILES[fmt], roster=roster)
    assert exported.path.read_bytes() == (SAMPLES / DEFAULT_FILES[fmt]).read_bytes()
    if roster:
        assert exported.unmatched == () and exported.absent == ("3399",)  # dana dropped the course


def test_an_unmarked_manual_question_blocks_export_with_the_list(tmp_path, capsys):
    result = sample_class("Moodle", tmp_path, marked=1)
    with pytest.raises(GradeExportError, match=r"2 students have manual questions not marked yet \(Bruno_Díaz_102: "
                                               r"Q1a, Q1b, Q2B, Q2C-plot; Chlo"):
        export_grades(result, "moodle", tmp_path / "m.csv")
    assert not (tmp_path / "m.csv").exists()
    exported = export_grades(result, "moodle", tmp_path / "m.csv", allow_unmarked=True)
    assert exported.unmarked == ("Bruno_Díaz_102", "Chloé_O_Neil_103")
    with pytest.raises(GradeExportError, match="D2L matches students by OrgDefinedId or Username"):
        export_grades(sample_class("D2L", tmp_path), "d2l", tmp_path / "d.csv")  # no roster
    with pytest.raises(GradeExportError, match="Canvas matches students by its user id"):
        export_grades(sample_class("Canvas", tmp_path, marked=3).__class__(
            result.config, [StudentResult("x", "x", [], [], {}, [], "")], tmp_path, 0, ""), "canvas", tmp_path / "c.csv")


def test_export_cells_cannot_be_formulas(tmp_path):
    result = sample_class("Moodle", tmp_path)
    result.students[0].identity["name"] = "=HYPERLINK(\"http://x\")"
    export_grades(result, "moodle", tmp_path / "m.csv")
    with open(tmp_path / "m.csv", newline="", encoding="utf-8") as file:
        assert list(csv.reader(file))[1][1] == "'=HYPERLINK(\"http://x\")"


@pytest.mark.parametrize("source, marked, unmatched", [
    ("gradescope", {"Alice_Student_101": (2, 1.5, 2, 4), "Bruno_Díaz_102": (1, 2, 0.5, 3)}, ("199",)),
    ("crowdmark", {"Alice_Student_101": (2, 1.5, 2, 4), "Chloé_O_Neil_103": (0, 0, 0, 0)}, ()),
])
def test_scores_from_gradescope_and_crowdmark_are_merged_by_id(source, marked, unmatched, tmp_path):
    result = sample_class("Moodle", tmp_path, marked=0)
    imported = import_scores(result, SAMPLES / f"{source}_scores.csv", source)
    assert (imported.marks, imported.questions, imported.unmatched) == (8, ("Q1a", "Q1b", "Q2B", "Q2C-plot"), unmatched)
    scores = ManualScores.load(tmp_path, ASSIGNMENT)
    apply_marks(result.students, scores)
    for student in result.students:
        got = tuple(q.points for q in student.questions if q.manual)
        assert got == marked.get(student.student, (None,) * 4), student.student
        assert all(q.notes[-1] == f"imported from {dict(gradescope='Gradescope', crowdmark='Crowdmark')[source]}"
                   for q in student.questions if q.manual and q.points is not None)


def test_a_bad_imported_score_stops_the_import_before_anything_is_saved(tmp_path):
    bad = tmp_path / "scores.csv"
    bad.write_text("SID,Q1a (2.0 pts),Q1b (2.0 pts)\n101,2,1\n102,3,1\n", encoding="utf-8")
    with pytest.raises(ScoresImportError, match=r"row 3, column 'Q1a \(2.0 pts\)': '3' is not a score from 0 to 2"):
        import_scores(sample_class("Moodle", tmp_path, marked=0), bad, "gradescope")
    assert not (tmp_path / "manual_scores.json").exists()
    bad.write_text("Name,Q1a\nx,1\n", encoding="utf-8")
    with pytest.raises(ScoresImportError, match="has no column SID or Email"):
        import_scores(sample_class("Moodle", tmp_path, marked=0), bad, "gradescope")


if __name__ == "__main__":  # regenerate the samples in examples/lms/
    import tempfile
    for fmt, lms, roster in [("moodle", "Moodle", None), ("canvas", "Canvas", None), ("d2l", "D2L", ROSTER),
                             ("csv", "Moodle", None)]:
        with tempfile.TemporaryDirectory() as folder:
            export_grades(sample_class(lms, Path(folder)), fmt, SAMPLES / DEFAULT_FILES[fmt], roster=roster)
    sys.exit(0)
