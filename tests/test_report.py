"""Reports of a graded toy class: the CSV, feedback (no reference values, escaped HTML), Gradescope's
results.json, Autolab's last line and the terminal table; then hostile strings from a submission fed
through every format, whose output must hold them as text and nothing else.

Markdown is read back with mistune (nbconvert's Markdown parser) with the GitHub-flavoured extras
viewers add (tables, strikethrough, bare URLs, footnotes, math), HTML with html.parser, CSV with csv."""
import csv
import json
from html.parser import HTMLParser

import mistune
import pytest

from autograder.grading.config import load_config
from autograder.verbs.escape import one_line
from autograder.grading.grade import ClassResult, ProbeResult, QuestionResult, StudentResult, grade_assignment
from autograder.verbs.report import (autolab_line, class_table, feedback_sections, gradescope_results, render_html,
                               render_markdown, status_for_students, write_csv, write_reports)
from autograder.sandbox import Zygote
from autograder.grading.status import Finding, Status
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
    assert list(rows[0]) == ["student", "total", "max", "autograded", "autograded_max", "manual", "manual_max",
                             "Q1", "Q2", "Q3 (manual)", "status", "manual_pending", "no_answer", "lms", "lms_id",
                             "name"]
    by_student = {row["student"]: row for row in rows}
    assert list(by_student) == sorted(STUDENTS)
    q3 = graded[0].config.questions[2].points
    assert by_student["alice"] == {"student": "alice", "total": "5", "max": f"{5 + q3:g}", "autograded": "5",
                                   "autograded_max": "5", "manual": "0", "manual_max": f"{q3:g}", "Q1": "2", "Q2": "3",
                                   "Q3 (manual)": "", "status": "ok", "manual_pending": "Q3", "no_answer": "Q3", "lms": "",
                                   "lms_id": "", "name": ""}
    assert (by_student["bob"]["total"], by_student["bob"]["Q1"], by_student["bob"]["status"]) == ("3", "0", "partial")
    assert by_student["carol"]["status"] == f"extraction error (cell {COUNTER_CELL})"
    assert by_student["mallory"]["Q2"] == "2"  # counter_resets raised: one point of three lost


def test_feedback_explains_failures_without_reference_values(graded):
    result, out, _ = graded
    for student in STUDENTS:
        for page in (read(out, "feedback", f"{student}.md"), read(out, "feedback", f"{student}.html"),
                     read(out, "gradescope", student, "results.json")):
            assert REFERENCE_VALUE not in page
    bob = rendered_markdown(read(out, "feedback", "bob.md"))
    assert "Autograded score: 3 / 5 (status: partial)." in bob
    assert "add_floats: failed (0/1): your value is not within" in bob
    assert "add must work for floats as well as integers." in bob
    assert "counter_counts: passed (2/2)" in bob
    assert "Q3: Why add is commutative" in bob and "2 points: needs manual grading." in bob
    assert f"cell {EXPERIMENT_CELL}, line 2: top-level call dropped: print(add(2, 3), counter.increment())" in bob
    carol = rendered_markdown(read(out, "feedback", "carol.md"))
    assert f"\nCell {COUNTER_CELL} (\"class Counter:\") defines `Counter` but does not parse" in carol
    assert f"\ncell {COUNTER_CELL}, line 9: syntax error" in carol


def test_html_escapes_what_students_wrote(graded):
    _, out, _ = graded
    page = read(out, "feedback", "mallory.html")
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the dropped print, shown as text
    assert "&lt;img src=x onerror=alert(2)&gt;" in page  # the exception's message, shown as text
    assert page.startswith("<!DOCTYPE html>") and "<h2>Q2: Counter</h2>" in page
    markdown = read(out, "feedback", "mallory.md")  # a Markdown viewer must not render it as HTML either
    assert "ValueError: \\<img src=x onerror=alert(2)\\>" in markdown
    assert "`print('<script>alert(1)</script>')`" in markdown  # inside code, where it stays text


def test_gradescope_results_follow_the_spec(graded):
    result, out, _ = graded
    for student in result.students:
        data = json.loads(read(out, "gradescope", student.student, "results.json"))
        assert data == gradescope_results(student)
        assert set(data) == {"score", "output", "output_format", "visibility", "tests"}
        assert data["output_format"] == "text"  # Gradescope's default would render HTML in messages
        assert data["score"] == student.total
        assert [t["name"] for t in data["tests"]] == ["Q1: add(a, b)", "Q2: Counter"]
        for test in data["tests"]:
            assert set(test) == {"name", "score", "max_score", "output", "output_format", "visibility"}
            assert test["output_format"] == "text"
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
    assert table[4].split() == ["carol", "2/5", "extraction", "error", "(cell", f"{COUNTER_CELL})"]
    text = "\n".join(table)
    assert "4 submissions: 1 ok, 1 partial, 1 exception in probe, 1 extraction error." in text
    assert "Still to grade by hand: Q3 (2 points, 4 of 4 unmarked)." in text
    assert f"Sandbox: {result.isolation}." in text


def test_students_read_statuses_in_plain_words():
    assert status_for_students(Finding(Status.EXCEPTION_IN_PROBE)) == "your code raised an error in some tests"
    assert status_for_students(Finding(Status.TIME_LIMIT)) == "time limit"
    assert status_for_students(Finding(Status.CRASHED, "signal SIGSEGV")) == "crashed (signal SIGSEGV)"
    # The grader's own exception is for the instructor, not the student.
    assert status_for_students(Finding(Status.GRADER_ERROR, "KeyError: 'secret'")) == (
        "the grading system failed on this notebook; your instructor will look at it")


# ---- what a submission can put in a report, in every format -----------------------------------

HOSTILE = {
    "heading": "oops\n# Autograded score: 8 / 8",
    "image": "![x](http://evil/p.png)",
    "link": "[click me](http://evil/)",
    "autolink": "<http://evil/>",
    "script": "<script>alert(1)</script>",
    "details": "</details><details open><summary>x",
    "backtick runs": "``` ` `` x ````",
    "fence": "a\n```\n# b\n```",
    "emphasis": "*bold* _it_ ~~gone~~ **x**",
    "table": "| a | b |\n|---|---|\n| 1 | 2 |",
    "formula": '=HYPERLINK("http://evil/","x")',
    "plus": "+1+2",
    "minus": "-1 - item",
    "at": "@SUM(A1)",
    "carriage return": "\rok\r# h",
    "tab": "\tx",
    "line separators": "a\u2028# b\u2029## c\x85d\x0b#e\x0c#f",
    "nul": "a\0b",
    "lists and quotes": "1. first\n- second\n> quote\n---",
    "entities": "&lt;b&gt; &#35; h &amp;",
    "math": "$\\huge{x}$ $$y$$",
    "indented": "    indented code",
    "backslash": "\\# \\[x\\](y) \\",
    "very long": "x" * 100_000 + "\n# end",
}


def hostile_student(text: str) -> StudentResult:
    """A result in which every string a submission can reach is `text` (the status's detail too)."""
    probe = ProbeResult("add_ints", "Q1", 1.0, 0.0, f"your code raised ValueError: {text}")
    questions = [QuestionResult("Q1", "add(a, b)", 2.0, False, 0.0, [probe], [text]),
                 QuestionResult("Q3", "Why", 2.0, True, None, notes=["needs manual grading"])]
    extraction = {"counts": {"kept": 1, "dropped": 1, "skipped": 0}, "notes": [text],
                  "entries": [{"cell": 7, "line": 1, "action": "dropped", "reason": text, "text": text}]}
    return StudentResult(text, f"{text}.ipynb", [Finding(Status.MISSING_NAME, text)], questions, extraction, [text], "",
                         {"stdout_tail": text, "stderr_tail": text})


def flat_text(node) -> str:
    """What a parsed Markdown node reads as: the text of its leaves, in order."""
    if "children" in node:
        return "".join(flat_text(child) for child in node["children"])
    return node.get("raw", "")


def parse_markdown(markdown: str, bare_urls: bool = False) -> list[dict]:
    """Markdown's syntax tree as mistune reads it; `bare_urls` turns URLs in text into links, as
    GitHub does (mistune's version also swallows a backslash-escaped character after the URL)."""
    plugins = ["table", "strikethrough", "footnotes", "math", *(["url"] if bare_urls else [])]
    return mistune.create_markdown(renderer=None, plugins=plugins)(markdown)


def markdown_nodes(tokens: list[dict]):
    for token in tokens:
        yield token
        yield from markdown_nodes(token.get("children", []))


def markdown_blocks(nodes: list[dict]) -> list[tuple[str, str]]:
    """(kind, text) of each heading, paragraph and list item among `nodes`."""
    return [(node["type"], flat_text(node)) for node in nodes if node["type"] in ("heading", "paragraph", "list_item")]


def rendered_markdown(markdown: str) -> str:
    """The text a viewer shows: each heading, paragraph and list item on a line."""
    return "\n".join(text for _, text in markdown_blocks(list(markdown_nodes(parse_markdown(markdown)))))


def intended_markdown(sections, title) -> list[tuple[str, str]]:
    """(kind, text) of each block `render_markdown` means to write, texts on one line as promised."""
    blocks = [("heading", one_line(title).strip())]
    for section in sections:
        blocks.append(("heading", one_line(section.heading).strip()))
        if section.summary:
            blocks.append(("paragraph", one_line(section.summary).strip()))
        blocks += [("list_item", one_line(text).strip() + (f": {one_line(code)}" if code else ""))
                   for text, code in section.items]
    return blocks


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_markdown_shows_hostile_text_as_text(text):
    sections = feedback_sections(hostile_student(text))
    title = f"Toy: feedback for {text}"
    markdown = render_markdown(title, sections)
    nodes = list(markdown_nodes(parse_markdown(markdown)))
    assert markdown_blocks(nodes) == intended_markdown(sections, title)  # every block ours, every text intact
    assert {node["type"] for node in nodes} <= {"heading", "blank_line", "paragraph", "list", "list_item",
                                                "block_text", "text", "codespan"}
    assert [node["raw"] for node in nodes if node["type"] == "codespan"] == [one_line(text)]  # the dropped line
    # A viewer that links bare URLs makes links of them, never images or links with other text.
    with_urls = list(markdown_nodes(parse_markdown(markdown, bare_urls=True)))
    assert {node["type"] for node in with_urls} - {node["type"] for node in nodes} <= {"link"}
    assert all(flat_text(node).startswith("http://") for node in with_urls if node["type"] == "link")


class Elements(HTMLParser):
    """The start tags of a page and its text."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.tags, self.text = [], []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_endtag(self, tag):
        self.tags.append((f"/{tag}", []))

    def handle_data(self, data):
        self.text.append(data)


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_html_shows_hostile_text_as_text(text):
    page = render_html(f"Toy: feedback for {text}", feedback_sections(hostile_student(text)))
    plain = render_html("Toy: feedback for x", feedback_sections(hostile_student("x")))
    hostile, benign = Elements(page), Elements(plain)
    assert hostile.tags == benign.tags  # the same elements, whatever the text
    shown = "".join(hostile.text)
    assert f"Toy: feedback for {text}" in shown and f"your code raised ValueError: {text}" in shown


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_csv_cells_hold_hostile_text_and_never_a_formula(text, tmp_path):
    config = load_config(TOY)
    student = hostile_student(text)
    result = ClassResult(config, [student], tmp_path, 0, "test")
    with open(write_csv(result, tmp_path / "grades.csv"), newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1]))
    guard = "'" if text[0] in "=+-@\t\r" else ""
    assert (row["student"], row["status"]) == (guard + text, f"missing name {text}")
    assert (row["total"], row["max"], row["autograded_max"], row["Q1"], row["manual_pending"]) == ("0", "4", "2", "0", "Q3")


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_json_reports_hold_hostile_text_as_strings(text, tmp_path):
    student = hostile_student(text)
    student.student = "mallory"  # a file name: grade makes every student id one (grade.safe_id)
    student.questions[0].id = text  # Autolab's line holds question ids
    write_reports(ClassResult(load_config(TOY), [student], tmp_path, 0, "test", autolab=True), tmp_path)
    results = json.loads(read(tmp_path, "gradescope", "mallory", "results.json"))
    assert results == gradescope_results(student)
    assert text in results["output"] and text in results["tests"][0]["output"]
    autolab = read(tmp_path, "autolab", "mallory.txt")
    assert autolab.splitlines() == [autolab_line(student)] and autolab.endswith("\n")  # one line by any rule
    assert autolab.isascii() and json.loads(autolab) == {"scores": {text: 0.0}}
