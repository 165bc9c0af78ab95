"""Reports of a graded toy class: the CSV, feedback (no reference values, escaped HTML), Gradescope's
results.json, Autolab's last line and the terminal table."""
import csv
import json

import pytest

from autograder.config import load_config
from autograder.grade import grade_assignment
from autograder.report import autolab_line, class_table, gradescope_results, status_for_students, write_reports
from autograder.sandbox import Zygote
from toy_submissions import COUNTER_CELL, EXPERIMENT_CELL, REFERENCE_VALUE, TOY, write_submission

STUDENTS = {"alice": "correct", "bob": "wrong_add", "carol": "syntax_error", "mallory": "script_in_code"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    for student, answer in STUDENTS.items():
        write_submission(folder / "in" / f"toy_{student}.ipynb", answer)
    config = load_config(TOY)
    with Zygote(config.limits, preload=("numpy",)) as zygote:
        result = grade_assignment(config, folder / "in", folder / "out", progress=False, zygote=zygote)
    written = write_reports(result, folder / "out")
    return result, folder / "out", written


def read(out, *parts):
    return out.joinpath(*parts).read_text(encoding="utf-8")


def test_csv_has_one_row_per_student(graded):
    _, out, _ = graded
    with open(out / "grades.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["student", "total", "max", "Q1", "Q2", "Q3", "status", "manual_pending"]
    by_student = {row["student"]: row for row in rows}
    assert list(by_student) == sorted(STUDENTS)
    assert by_student["alice"] == {"student": "alice", "total": "5", "max": "5", "Q1": "2", "Q2": "3", "Q3": "",
                                   "status": "ok", "manual_pending": "Q3"}
    assert (by_student["bob"]["total"], by_student["bob"]["Q1"], by_student["bob"]["status"]) == ("3", "0", "partial")
    assert by_student["carol"]["status"] == f"extraction error (cell {COUNTER_CELL})"
    assert by_student["mallory"]["Q2"] == "2"  # counter_resets raised: one point of three lost


def test_feedback_explains_failures_without_reference_values(graded):
    result, out, _ = graded
    for student in STUDENTS:
        for page in (read(out, "feedback", f"{student}.md"), read(out, "feedback", f"{student}.html"),
                     read(out, "gradescope", student, "results.json")):
            assert REFERENCE_VALUE not in page
    bob = read(out, "feedback", "bob.md")
    assert "Autograded score: 3 / 5 (status: partial)." in bob
    assert "add_floats: failed (0/1)" in bob and "add must work for floats as well as integers." in bob
    assert "counter_counts: passed (2/2)" in bob
    assert "## Q3: Why add is commutative" in bob and "2 points: needs manual grading." in bob
    assert f"cell {EXPERIMENT_CELL}, line 2: top-level call dropped: `print(add(2, 3), counter.increment())`" in bob
    carol = read(out, "feedback", "carol.md")
    assert f"Cell {COUNTER_CELL} defines `Counter` but does not parse" in carol
    assert f"cell {COUNTER_CELL}, line 9: syntax error" in carol


def test_html_escapes_what_students_wrote(graded):
    _, out, _ = graded
    page = read(out, "feedback", "mallory.html")
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the dropped print, shown as text
    assert "&lt;img src=x onerror=alert(2)&gt;" in page  # the exception's message, shown as text
    assert page.startswith("<!DOCTYPE html>") and "<h2>Q2: Counter</h2>" in page
    markdown = read(out, "feedback", "mallory.md")  # a Markdown viewer must not render it as HTML either
    assert "ValueError: \\<img src=x onerror=alert(2)>" in markdown
    assert "`print('<script>alert(1)</script>')`" in markdown  # inside code, where it stays text


def test_gradescope_results_follow_the_spec(graded):
    result, out, _ = graded
    for student in result.students:
        data = json.loads(read(out, "gradescope", student.student, "results.json"))
        assert data == gradescope_results(student)
        assert set(data) == {"score", "output", "visibility", "tests"}
        assert data["score"] == student.total
        assert [t["name"] for t in data["tests"]] == ["Q1: add(a, b)", "Q2: Counter"]
        for test in data["tests"]:
            assert set(test) == {"name", "score", "max_score", "output", "visibility"}
            assert isinstance(test["score"], float) and 0 <= test["score"] <= test["max_score"]
            assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
        assert sum(t["score"] for t in data["tests"]) == pytest.approx(data["score"])
        assert "Q3 (2 points) needs manual grading" in data["output"]


def test_autolab_last_line_only_on_request(graded, tmp_path):
    result, out, written = graded
    assert not (out / "autolab").exists()
    assert all(path.exists() for path in written)
    write_reports(result, tmp_path, autolab=True)
    last = read(tmp_path, "autolab", "bob.txt").splitlines()[-1]
    assert json.loads(last) == {"scores": {"Q1": 0.0, "Q2": 3.0}}
    assert autolab_line(result.students[0]) == '{"scores": {"Q1": 2.0, "Q2": 3.0}}'


def test_class_table(graded):
    result, _, _ = graded
    table = class_table(result).splitlines()
    assert table[0].split() == ["student", "score", "status"]
    assert table[2].split() == ["alice", "5/5", "ok"]
    assert table[3].split() == ["bob", "3/5", "partial"]
    assert table[4].split() == ["carol", "2/5", "extraction", "error", f"(cell", f"{COUNTER_CELL})"]
    text = "\n".join(table)
    assert "4 submissions: 1 ok, 1 partial, 1 exception in probe, 1 extraction error." in text
    assert "Still to grade by hand: Q3 (2 points)." in text
    assert f"Sandbox: {result.isolation}." in text


def test_students_read_statuses_in_plain_words():
    assert status_for_students("exception in probe") == "your code raised an error in some tests"
    assert status_for_students("time limit") == "time limit"
    assert "grading system failed" in status_for_students("grader error: KeyError")
