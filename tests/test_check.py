"""`autograder check`: the rules, the required names, guessing the assignment, the output, and the
visible checks run in the sandbox — on a two-question course built in a temporary folder from
tests/fixtures/check/ (grading.toml, visible checks.py, hidden probes.py) and the notebooks below,
and on a student's copy of that course's release folder alone (with its check bundle).

Student notebooks are the clean one with one cell changed. Its cells, numbered as JupyterLab counts:
1 intro (markdown), 2 imports, 3 "Q1", 4 `square`, 5 "Q2", 6 `Scaler`, 7 "Try them", 8 a try-out call.
"""
import builtins
import io
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import nbformat.v4 as v4
import pytest

from autograder.verbs import bundle, check, release

from autograder.grading import grade

from autograder import paths
from autograder.verbs.check import Problem, QuestionChecks, check_notebook
from autograder.analysis.notebook import NotebookError
from autograder.sandbox import Limits, SandboxError, Zygote

FIXTURES = Path(__file__).parent / "fixtures" / "check"
ASSIGNMENT = "tiny_check"
SECRET = "HIDDEN-PROBE-SECRET-41"  # in the hidden probes.py only


class Markdown(str):
    """A markdown cell's text; plain strings are code cells."""


SQUARE = 'def square(x):\n    """x: a number or an array. Returns x squared, element by element."""\n    return x * x'
SCALER = ("class Scaler:\n    def __init__(self, factor):\n        self.factor = factor\n\n"
          "    def __call__(self, x):\n        return self.factor * np.asarray(x)")
CELLS = {
    1: Markdown("# Squares and scalers\nEvery import goes in the first code cell."),
    2: "%matplotlib inline\nimport numpy as np",
    3: Markdown("## Q1: `square(x)`"),
    4: SQUARE,
    5: Markdown("## Q2: `Scaler(factor)`"),
    6: SCALER,
    7: Markdown("Try them:"),
    8: "print(square(3), Scaler(2)(np.ones(2)))",
}


def notebook(changes: dict | None = None, metadata: dict | None = None):
    """The clean student notebook, run (every code cell has a run count), with `changes` ({cell
    number: new text, or None to remove})."""
    cells = {**CELLS, **(changes or {})}
    nb = v4.new_notebook(cells=[v4.new_markdown_cell(text) if isinstance(text, Markdown)
                                else v4.new_code_cell(text, execution_count=number)
                                for number, text in sorted(cells.items()) if text is not None])
    nb.metadata.update(metadata or {})
    return nb


def nbgrader_cell(cell, grade_id: str, *, solution=False, locked=False, points=None):
    """`cell` with nbgrader's metadata (graded when it has points)."""
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "solution": solution, "locked": locked,
                                 "grade": points is not None, "schema_version": 3, "task": False,
                                 **({"points": points} if points is not None else {})}
    return cell


def with_solution_region(code: str) -> str:
    """A definition whose body nbgrader replaces with its stub in the release."""
    head, _, body = code.partition(":\n")
    indent = " " * (len(body) - len(body.lstrip()))
    return f"{head}:\n{indent}### BEGIN SOLUTION\n{body}\n{indent}### END SOLUTION"


def handout_source():
    """tiny_check's source notebook as an instructor writes it: the clean notebook's cells with
    nbgrader metadata (read-only prompts and try-out cell, solution regions in the two definitions)
    and a Q3 answer cell marked by hand."""
    nb = notebook()
    cells = nb.cells
    for number, grade_id in ((1, "intro"), (3, "q1_prompt"), (5, "q2_prompt"), (7, "try_prompt"), (8, "try_them")):
        nbgrader_cell(cells[number - 1], grade_id, locked=True)
    cells[3].source = with_solution_region(SQUARE)
    nbgrader_cell(cells[3], "q1_square", solution=True)
    cells[5].source = SCALER.replace("        self.factor = factor", "        ### BEGIN SOLUTION\n"
                                     "        self.factor = factor\n        ### END SOLUTION").replace(
        "        return self.factor * np.asarray(x)", "        ### BEGIN SOLUTION\n"
        "        return self.factor * np.asarray(x)\n        ### END SOLUTION")
    nbgrader_cell(cells[5], "q2_scaler", solution=True)
    cells.append(nbgrader_cell(v4.new_markdown_cell("x * x is a product of two numbers of one sign."),
                               "q3_answer", solution=True, points=1))
    # The autograded questions' tests cells, which carry their points for nbgrader (the probes grade).
    for grade_id, test in (("q1_tests", "assert square(3) == 9"), ("q2_tests", "assert Scaler(2)(1) == 2")):
        cells.append(nbgrader_cell(v4.new_code_cell(test, execution_count=len(cells) + 1), grade_id,
                                   locked=True, points=2))
    return nb


def make_course(root: Path) -> Path:
    """tiny_check (grading.toml, checks, hidden probes, the nbgrader source notebook of
    `handout_source`) and a second assignment `tiny`, whose name is a prefix of tiny_check's, for
    the guessing tests."""
    shutil.copytree(FIXTURES, paths.assignment_dir(ASSIGNMENT, root))
    for name, source in ((ASSIGNMENT, handout_source()), ("tiny", notebook())):
        paths.source_notebook(name, root).parent.mkdir(parents=True)
        nbformat.write(source, paths.source_notebook(name, root))
    return root


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return make_course(tmp_path_factory.mktemp("course"))


def write(folder: Path, nb, name: str = "tiny_check_jsmith.ipynb") -> Path:
    path = folder / name
    nbformat.write(nb, path)
    return path


def problems_of(course: Path, tmp_path: Path, changes: dict) -> list[Problem]:
    report = check_notebook(write(tmp_path, notebook(changes)), root=course, run_checks=False)
    assert report.exit_code == (1 if report.problems else 0)
    return report.problems


# ---- the rules, one broken at a time ----------------------------------------------------------

@pytest.mark.parametrize("changes", [
    {},
    {9: "%%bash\npip install numpy"},  # a shell cell of its own is dropped whole, harmlessly
    {9: "!pip install numpy\nresults = [square(n) for n in range(3)]"},  # experiments may do anything
    {9: "LIMIT = 10"},  # a literal constant counts as a definition
], ids=["clean", "bash cell", "experiment cell", "constant"])
def test_a_notebook_that_follows_the_rules_has_no_problems(course, tmp_path, changes):
    report = check_notebook(write(tmp_path, notebook(changes)), root=course, run_checks=False)
    assert report.problems == []
    assert (report.ok, report.exit_code) == (True, 0)


def test_an_import_in_a_later_cell(course, tmp_path):
    assert problems_of(course, tmp_path, {6: "import math\n\n" + SCALER}) == [Problem(
        6, "imports-first-cell",
        "Cell 6 (\"import math\") imports `math` on line 1; every import belongs in the first code cell, "
        'cell 2 ("%matplotlib inline").',
        'move `import math` to the first code cell, cell 2 ("%matplotlib inline")')]


def test_a_stray_statement_in_a_definition_cell(course, tmp_path):
    assert problems_of(course, tmp_path, {4: SQUARE + "\n\nsquares = square(np.arange(4))"}) == [Problem(
        4, "definition-cell-purity",
        "Cell 4 (\"def square(x):\") defines `square` but also runs other code, which the grader drops: "
        "line 5 `squares = square(np.arange(4))` (assignment of non-literal value dropped).",
        "move those lines to a separate cell so that this cell holds only definitions")]


def test_a_shell_command_in_a_definition_cell(course, tmp_path):
    assert problems_of(course, tmp_path, {4: "!pip install numpy\n" + SQUARE}) == [Problem(
        4, "definition-cell-purity",
        "Cell 4 (\"!pip install numpy\") defines `square` but also runs other code, which the grader drops: "
        "line 1 `!pip install numpy` (shell command removed).",
        "move those lines to a separate cell so that this cell holds only definitions")]


def test_a_cell_that_does_not_parse(course, tmp_path):
    assert problems_of(course, tmp_path, {8: "print(square(3)"}) == [Problem(
        8, "syntax-error",
        "Cell 8 (\"print(square(3)\") does not parse "
        "(line 1: '(' was never closed), so the grader skips the whole cell.",
        "fix line 1 of cell 8, then run the cell to check it")]


def test_a_required_name_lost_in_a_cell_that_does_not_parse(course, tmp_path):
    assert problems_of(course, tmp_path, {4: SQUARE.replace("x * x", "x *")}) == [
        Problem(4, "syntax-error",
                "Cell 4 (\"def square(x):\") does not parse (line 3: invalid syntax), so the grader skips the whole cell.",
                "fix line 3 of cell 4, then run the cell to check it"),
        Problem(4, "missing-name",
                "Cell 4 (\"def square(x):\") defines `square` but does not parse, so the grader has no `square`; "
                "question Q1 needs a function named `square`.",
                "fix the syntax error in cell 4"),
    ]


def test_a_missing_required_name(course, tmp_path):
    assert problems_of(course, tmp_path, {5: None, 6: None, 8: "print(square(3))"}) == [Problem(
        None, "missing-name",
        "The notebook does not define `Scaler`; question Q2 needs a class named `Scaler`.",
        "define `class Scaler` in a definition cell, spelled exactly so")]


def test_a_required_name_spelled_differently(course, tmp_path):
    assert problems_of(course, tmp_path, {6: SCALER.replace("class Scaler", "class scaler")}) == [Problem(
        6, "missing-name",
        "Cell 6 (\"class scaler:\") defines `scaler`, but question Q2 needs a class named `Scaler` (names are case-sensitive).",
        "rename `scaler` to `Scaler`")]


def test_a_required_name_set_by_code_the_grader_drops(course, tmp_path):
    changes = {4: "def make_square():\n    return lambda x: x * x", 8: "square = make_square()"}
    assert problems_of(course, tmp_path, changes) == [Problem(
        8, "missing-name",
        "Cell 8 (\"square = make_square()\") sets `square` on line 1 with code the grader drops (assignment of non-literal value dropped); "
        "question Q1 needs a function named `square`.",
        "define `square` directly with `def square(...)`")]


def test_a_class_where_a_function_is_required(course, tmp_path):
    as_class = "class square:\n    def __init__(self, x):\n        self.value = x * x"
    assert problems_of(course, tmp_path, {4: as_class}) == [Problem(
        4, "wrong-kind",
        "Cell 4 (\"class square:\") defines `square` as a class, but question Q1 needs a function named `square`.",
        "write `square` as a function: `def square(...)`")]


def test_a_function_with_other_parameters(course, tmp_path):
    assert problems_of(course, tmp_path, {4: SQUARE.replace("(x)", "(value)").replace("x * x", "value ** 2")}) == [
        Problem(4, "wrong-signature", "Cell 4 (\"def square(value):\") defines `square(value)`, but the grader calls `square(x)`.",
                "make it `def square(x)` (further parameters need defaults)")]


def test_a_constructor_with_other_parameters(course, tmp_path):
    assert problems_of(course, tmp_path, {6: SCALER.replace("(self, factor)", "(self, factor, offset)")}) == [
        Problem(6, "wrong-signature",
                "Cell 6 (\"class Scaler:\") defines `Scaler` with the constructor parameters (factor, offset), "
                "but the grader creates it as `Scaler(factor)`.",
                "give `Scaler` the constructor `def __init__(self, factor)` (further parameters need defaults)")]


@pytest.mark.parametrize("scaler", [
    SCALER.replace("(self, factor)", "(self, factor, offset=0.0, *, dtype=None, **options)"),
    "class Base:\n    def __init__(self, factor):\n        self.factor = factor\n\n"
    "class Scaler(Base):\n    def __call__(self, x):\n        return self.factor * np.asarray(x)",
], ids=["extra optional parameters", "inherited constructor"])
def test_constructors_the_grader_can_call(course, tmp_path, scaler):
    assert problems_of(course, tmp_path, {6: scaler}) == []


def test_an_import_outside_the_allow_list(course, tmp_path):
    assert problems_of(course, tmp_path, {2: "import numpy as np\nimport torch"}) == [Problem(
        2, "import-not-allowed",
        "Cell 2 (\"import numpy as np\") imports `torch` on line 2, which this assignment does not allow "
        "(allowed: math, numpy).",
        "remove `import torch` and use only math, numpy")]


def test_problems_are_listed_in_cell_order_with_unplaced_ones_last(course, tmp_path):
    changes = {4: "", 6: "import math\n\n" + SCALER, 8: "print(square(3)"}
    assert [(p.cell, p.rule) for p in problems_of(course, tmp_path, changes)] == [
        (6, "imports-first-cell"), (8, "syntax-error"), (None, "missing-name")]


# ---- which assignment -------------------------------------------------------------------------

@pytest.mark.parametrize("file_name", [
    "tiny_check_jsmith.ipynb", "jsmith-Tiny-Check (1).ipynb", "tiny_check.ipynb", "TINY CHECK final.ipynb"])
def test_the_assignment_is_guessed_from_the_file_name(course, tmp_path, file_name):
    # "tiny" matches too, as a word of each name; the longest matching assignment wins.
    report = check_notebook(write(tmp_path, notebook(), file_name), root=course, run_checks=False)
    assert (report.assignment, report.assignment_from) == (ASSIGNMENT, "file name")


def test_the_notebook_metadata_wins_over_the_file_name(course, tmp_path):
    nb = notebook(metadata={"course_kit": {"assignment": ASSIGNMENT}})
    report = check_notebook(write(tmp_path, nb, "tiny_homework.ipynb"), root=course, run_checks=False)
    assert (report.assignment, report.assignment_from) == (ASSIGNMENT, "metadata")


def test_an_assignment_given_by_name(course, tmp_path):
    report = check_notebook(write(tmp_path, notebook(), "homework.ipynb"), ASSIGNMENT, course, run_checks=False)
    assert (report.assignment, report.assignment_from) == (ASSIGNMENT, "argument")


def test_an_assignment_that_cannot_be_told_is_a_clear_error(course, tmp_path, capsys):
    path = write(tmp_path, notebook(metadata={"course_kit": {"assignment": "other_course"}}), "homework.ipynb")
    assert check.main(path, root=course) == 2
    assert capsys.readouterr().err == (
        "cannot check: cannot tell which assignment homework.ipynb is (its metadata names 'other_course', "
        "which this course does not have); pass --assignment, one of: tiny, tiny_check\n")
    assert check.main(path, "nonexistent", root=course) == 2
    assert "unknown assignment 'nonexistent'" in capsys.readouterr().err


# ---- unreadable notebooks, output and JSON -----------------------------------------------------

def test_an_unreadable_notebook_is_one_clear_message_and_exit_2(course, tmp_path, capsys):
    path = tmp_path / "tiny_check_jsmith.ipynb"
    path.write_text('{"cells": [', encoding="utf-8")
    with pytest.raises(NotebookError):
        check_notebook(path, root=course)
    assert check.main(path, root=course) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"cannot check: Cannot read {path}: it is not valid JSON (Expecting value at line 1, "
                   "column 12); the file may be damaged or only partly saved.\n")
    assert check.main(path, as_json=True, root=course) == 2
    assert json.loads(capsys.readouterr().out) == {
        "notebook": str(path), "ok": False, "exit_code": 2,
        "error": f"Cannot read {path}: it is not valid JSON (Expecting value at line 1, column 12); "
                 "the file may be damaged or only partly saved."}


def test_the_text_report_lists_each_problem_with_its_fix(course, tmp_path):
    report = check_notebook(write(tmp_path, notebook({2: "import numpy as np\nimport torch", 4: None})),
                            root=course, run_checks=False)
    assert check.format_report(report) == "\n".join([
        "Checking tiny_check_jsmith.ipynb as assignment tiny_check (from its file name).",
        "",
        "2 problems to fix:",
        '  1. Cell 2 ("import numpy as np") imports `torch` on line 2, which this assignment does not allow '
        "(allowed: math, numpy).",
        "     fix: remove `import torch` and use only math, numpy",
        "  2. The notebook does not define `square`; question Q1 needs a function named `square`.",
        "     fix: define `def square(...)` in a definition cell, spelled exactly so",
        "",
        "Visible checks (a preview: the hidden tests decide the grade):",
        "  not run",
        "",
        "Questions:",
        "  Q1  NOT READY  will not grade fully (see the problems above)",
        "  Q2  NOT READY  will not grade fully (see the problems above)",
        "  Q3  ready      (marked by hand)",
        "",
        "WILL NOT GRADE FULLY, NOT READY: fix the 2 problems above before handing in.",
    ])
    assert "\033[" not in check.format_report(report) and "\033[1;31m" in check.format_report(report, colour=True)
    assert report.to_json()["problems"][1] == {
        "cell": None, "rule": "missing-name",
        "message": "The notebook does not define `square`; question Q1 needs a function named `square`.",
        "fix": "define `def square(...)` in a definition cell, spelled exactly so"}


def test_colour_only_on_a_terminal_without_no_color(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert check.use_colour(Terminal()) and not check.use_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not check.use_colour(Terminal())


# ---- visible checks, in the grading sandbox ---------------------------------------------------

@pytest.fixture(scope="module")
def zygote(course):
    """One sandbox for the tests below; numpy is all the tiny course needs, so it starts quickly."""
    with Zygote(Limits(wall_seconds=30, cpu_seconds=30, memory_mb=1024), preload=("numpy",)) as running:
        yield running


def test_visible_checks_pass_per_question(course, tmp_path, zygote):
    report = check_notebook(write(tmp_path, notebook()), root=course, zygote=zygote)
    assert report.questions == [QuestionChecks("Q1", True, 1.0, 2, 0, []), QuestionChecks("Q2", True, 1.0, 1, 0, [])]
    assert (report.checks_note, report.exit_code) == ("", 0)


def test_failing_visible_checks_grade_but_are_not_ready(course, tmp_path, zygote):
    # `^` is exclusive or, not a power: wrong for integers, an error for float arrays.
    report = check_notebook(write(tmp_path, notebook({4: SQUARE.replace("x * x", "x ^ 2")})),
                            root=course, zygote=zygote)
    assert (report.problems, report.status.text, report.exit_code) == ([], "exception in probe", 3)
    assert [(item.rule, item.question) for item in report.unfinished] == [("failing-check", "Q1")]
    q1, q2 = report.questions
    assert (q1.question, q1.passed, q1.score, q1.checks, q1.failed) == ("Q1", False, 0.0, 2, 2)
    assert q1.messages[0] == "your value differs from the expected value. square of a whole number is not right."
    assert q1.messages[1].startswith("your code raised TypeError: ")
    assert q1.messages[1].endswith(". square must work element by element on arrays.")
    assert q2 == QuestionChecks("Q2", True, 1.0, 1, 0, [])
    text = check.format_report(report)
    assert "\n  Q1  FAIL  0/2 checks\n      - your value differs from the expected value." in text
    assert "\n  Q2  pass  1/1 checks\n" in text
    assert "\n  Q1  NOT READY  visible checks fail (0/2 pass)\n  Q2  ready      (graded automatically)\n" in text
    assert text.endswith("\nWILL GRADE, NOT READY to hand in: 1 question failing its visible checks.")


def test_a_visible_check_for_an_unknown_question_is_reported_not_dropped(tmp_path):
    course = make_course(tmp_path / "course")
    checks = paths.assignment_dir(ASSIGNMENT, course) / "checks.py"
    checks.write_text(checks.read_text().replace('@probe("Q2"', '@probe("Q_TYPO"'))
    report = check_notebook(write(tmp_path, notebook()), root=course)  # stops before any sandbox starts
    assert report.questions == []
    assert report.checks_note == (
        "the visible checks could not run (tell your instructor): ConfigError: "
        f"{paths.assignment_dir(ASSIGNMENT, course) / 'grading.toml'}: checks: probe scaler_scales_an_array in "
        "checks.py is for question 'Q_TYPO', which is not in [[questions]]")


def test_a_module_that_fails_to_load_is_a_problem(course, tmp_path, zygote):
    broken = SCALER.replace("class Scaler:\n", "class Scaler:\n    unit = np.ones(undefined_size)\n\n")
    report = check_notebook(write(tmp_path, notebook({6: broken})), root=course, zygote=zygote)
    assert report.problems == [Problem(
        None, "does-not-load",
        "The extracted module fails when it is imported (NameError: name 'undefined_size' is not defined), "
        "so every autograded question would score 0.",
        "make every definition work without the cells the grader drops (see `autograder extract`)")]
    assert (report.status.text, report.exit_code) == ("exception at import", 1)
    assert [(q.question, q.passed, q.messages) for q in report.questions] == [
        ("Q1", False, ["not run: your module failed to load (NameError)"]),
        ("Q2", False, ["not run: your module failed to load (NameError)"])]


def watch_opens(monkeypatch) -> list[Path]:
    """Record every file this process opens from now on (until `monkeypatch.undo()`), resolved."""
    opened = []

    def spy(opener):
        def spying(file, *args, **kwargs):
            if isinstance(file, (str, bytes, os.PathLike)):
                opened.append(Path(os.fsdecode(file)).resolve())
            return opener(file, *args, **kwargs)
        return spying

    for module, name in ((builtins, "open"), (io, "open"), (os, "open")):
        monkeypatch.setattr(module, name, spy(getattr(module, name)))
    return opened


def test_main_runs_the_visible_checks_without_ever_opening_the_hidden_probes(course, tmp_path, monkeypatch, capsys):
    """The whole command, with its own sandbox: the JSON it prints, and every file it opens."""
    opened = watch_opens(monkeypatch)
    path = write(tmp_path, notebook())
    assert check.main(path, as_json=True, root=course) == 0
    output = capsys.readouterr()
    monkeypatch.undo()

    folder = paths.assignment_dir(ASSIGNMENT, course).resolve()
    assert folder / "checks.py" in opened and folder / "grading.toml" in opened  # the spy sees opens
    assert folder / "probes.py" not in opened
    assert SECRET not in output.out + output.err
    assert json.loads(output.out) == {
        "notebook": str(path), "assignment": ASSIGNMENT, "assignment_from": "file name", "ok": True,
        "will_grade": True, "ready": True, "exit_code": 0, "notes": [], "problems": [], "unfinished": [],
        "verdicts": [{"question": "Q1", "title": "square", "manual": False, "ready": True, "todo": []},
                     {"question": "Q2", "title": "Scaler", "manual": False, "ready": True, "todo": []},
                     {"question": "Q3", "title": "Why squares are never negative", "manual": True, "ready": True,
                      "todo": []}],
        "checks": {"note": "", "status": "ok", "questions": [
            {"question": "Q1", "passed": True, "score": 1.0, "checks": 2, "failed": 0, "messages": []},
            {"question": "Q2", "passed": True, "score": 1.0, "checks": 1, "failed": 0, "messages": []}]},
    }


# ---- a student's copy of the release folder, and nothing else ----------------------------------

@pytest.fixture(scope="module")
def handed_out(tmp_path_factory, zygote) -> Path:
    """The release folder of tiny_check as a student gets it, copied away from a course that is then
    deleted: no source/, no assignments/, no hidden probes anywhere."""
    course = make_course(tmp_path_factory.mktemp("instructor"))
    paths.student_helpers(course).parent.mkdir()
    paths.student_helpers(course).write_text('"""Helpers for the tiny course."""\n')
    released = release.release(ASSIGNMENT, course, zygote=zygote)
    student = tmp_path_factory.mktemp("student") / ASSIGNMENT
    shutil.copytree(released, student)
    shutil.rmtree(course)
    return student


def student_copy(handed_out: Path, tmp_path: Path) -> Path:
    """A private copy of the handed-out folder, for a test that changes it."""
    return Path(shutil.copytree(handed_out, tmp_path / ASSIGNMENT))


def test_the_release_folder_alone_is_enough_to_check(handed_out, tmp_path, monkeypatch, capsys):
    folder = student_copy(handed_out, tmp_path)
    assert sorted(p.name for p in (folder / "check").iterdir()) == ["checks.py", "expected.json", "grading.toml"]
    path = write(folder, notebook())
    opened = watch_opens(monkeypatch)
    assert check.main(path, as_json=True, root=tmp_path) == 0
    output = capsys.readouterr()
    monkeypatch.undo()

    assert folder / "check" / "expected.json" in opened and folder / "check" / "checks.py" in opened
    assert not [file for file in opened if file.name == "probes.py" or "source" in file.parts]
    assert SECRET not in output.out + output.err
    report = json.loads(output.out)
    assert (report["assignment"], report["assignment_from"], report["exit_code"]) == (ASSIGNMENT, "check bundle", 0)
    assert report["checks"] == {"note": "", "status": "ok", "questions": [
        {"question": "Q1", "passed": True, "score": 1.0, "checks": 2, "failed": 0, "messages": []},
        {"question": "Q2", "passed": True, "score": 1.0, "checks": 1, "failed": 0, "messages": []}]}


def test_the_stored_expected_values_judge_a_wrong_answer(handed_out, tmp_path, zygote):
    folder = student_copy(handed_out, tmp_path)
    report = check_notebook(write(folder, notebook({4: SQUARE.replace("x * x", "x ^ 2")}), "homework.ipynb"),
                            root=tmp_path, zygote=zygote)
    assert (report.assignment, report.assignment_from, report.exit_code) == (ASSIGNMENT, "check bundle", 3)
    q1, q2 = report.questions
    assert (q1.question, q1.passed, q1.checks, q1.failed) == ("Q1", False, 2, 2)
    assert q1.messages[0] == "your value differs from the expected value. square of a whole number is not right."
    assert q2 == QuestionChecks("Q2", True, 1.0, 1, 0, [])


def test_without_expected_values_the_checks_say_to_ask_the_instructor(handed_out, tmp_path, zygote):
    folder = student_copy(handed_out, tmp_path)
    (folder / "check" / "expected.json").unlink()
    report = check_notebook(write(folder, notebook()), root=tmp_path, zygote=zygote)
    assert (report.questions, report.checks_note, report.exit_code) == ([], check.NO_EXPECTED_VALUES, 0)


def test_expected_values_made_for_other_checks_are_not_used(handed_out, tmp_path, zygote):
    folder = student_copy(handed_out, tmp_path)
    checks_file = folder / "check" / "checks.py"
    checks_file.write_text(checks_file.read_text().replace("is not right", "is wrong"))
    report = check_notebook(write(folder, notebook()), root=tmp_path, zygote=zygote)
    assert report.questions == []
    assert report.checks_note == (f"{check.NO_EXPECTED_VALUES} ({folder / 'check' / bundle.EXPECTED_FILE} "
                                  "was made for another version of checks.py)")


def test_an_assignment_other_than_the_bundles_is_a_clear_error(handed_out, tmp_path, capsys):
    path = write(student_copy(handed_out, tmp_path), notebook())
    assert check.main(path, "tiny", root=tmp_path) == 2
    assert capsys.readouterr().err == (f"cannot check: the check bundle beside {path.name} ({path.parent / 'check'}) "
                                       "is for assignment 'tiny_check', not 'tiny'\n")


# ---- a run the sandbox stops: the exit code and the words of `autograder grade` -----------------

def tight_copy(handed_out: Path, tmp_path: Path) -> Path:
    """A student's copy of the release folder whose grading.toml gives the sandbox small limits."""
    folder = student_copy(handed_out, tmp_path)
    config = folder / "check" / "grading.toml"
    limits = "[limits]\nwall_seconds = 3\ncpu_seconds = 2\nmemory_mb = 256\n\n"
    config.write_text(re.sub(r"\[limits\][^\[]*", limits, config.read_text()))
    # As an instructor's release with these limits would be: the stamp names this grading.toml.
    expected = folder / "check" / "expected.json"
    data = json.loads(expected.read_text())
    data["stamp"]["grading.toml"] = bundle._sha256(config.read_text())
    expected.write_text(json.dumps(data))
    return folder


def scaler_running_at_import(statement: str):
    """The clean notebook with `statement` in Scaler's class body, which runs when the module loads."""
    return notebook({6: SCALER.replace("class Scaler:\n", f"class Scaler:\n    {statement}\n\n")})


# A statement that stops grading, grade's status for it, and the problem check reports.
STOPS_GRADING = {
    "endless loop": ("while True:\n        pass", "time limit", "run-stopped"),
    "unbounded memory": ("hoard = [bytearray(2**20) for _ in iter(int, 1)]", "memory limit", "run-stopped"),
    "os._exit": ('__import__("os")._exit(0)', "crashed (exit code 0)", "run-stopped"),
    "SystemExit": ("raise SystemExit(0)", "exception at import", "does-not-load"),
}


@pytest.mark.parametrize("statement, status, rule", STOPS_GRADING.values(), ids=STOPS_GRADING.keys())
def test_a_notebook_whose_run_would_stop_exits_1_with_grades_status(handed_out, tmp_path, zygote, monkeypatch,
                                                                    capsys, statement, status, rule):
    path = write(tight_copy(handed_out, tmp_path), scaler_running_at_import(statement))
    reports = []  # what main printed, as data: the run is not repeated to get it

    def checked(*args, **kwargs):
        reports.append(check_notebook(*args, **kwargs))
        return reports[-1]

    monkeypatch.setattr(check, "check_notebook", checked)
    assert check.main(path, root=tmp_path, zygote=zygote) == 1
    out = capsys.readouterr().out
    assert f"\n  status as graded: {status}\n" in out
    assert out.endswith("\nWILL NOT GRADE FULLY, NOT READY: fix the 1 problem above, then the 2 things left to do "
                        "before handing in.\n")
    [report] = reports
    [problem] = report.problems
    assert problem.rule == rule and problem.message in out
    assert (report.status.text, report.to_json()["checks"]["status"]) == (status, status)
    assert not any(question.passed for question in report.questions)


def test_the_small_limits_let_a_harmless_notebook_grade(handed_out, tmp_path, zygote):
    report = check_notebook(write(tight_copy(handed_out, tmp_path), scaler_running_at_import("pass")),
                            root=tmp_path, zygote=zygote)
    assert (report.problems, report.status.text, report.exit_code) == ([], "ok", 0)


def test_a_sandbox_that_fails_means_the_notebook_could_not_be_checked(course, tmp_path, monkeypatch, capsys):
    def failing(*args, **kwargs):
        raise SandboxError("the sandbox zygote did not start: it exited")

    monkeypatch.setattr(grade, "Zygote", failing)  # the zygote check starts for itself
    assert check.main(write(tmp_path, notebook()), root=course) == 2
    assert capsys.readouterr().err == "cannot check: the sandbox zygote did not start: it exited\n"


# ---- unfinished work: a verdict per question and "will grade" told from "ready" -----------------

def handout(handed_out: Path) -> nbformat.NotebookNode:
    """The released tiny_check notebook, untouched: stubs in cells 4 and 6, Q3's answer cell 9
    saying YOUR ANSWER HERE, read-only cells 1, 3, 5, 7 and 8, never run."""
    return nbformat.read(handed_out / f"{ASSIGNMENT}.ipynb", as_version=4)


def finished(handed_out: Path) -> nbformat.NotebookNode:
    """The handout as a student hands it in: both definitions written, Q3 answered, run."""
    nb = handout(handed_out)
    nb.cells[3].source, nb.cells[5].source = SQUARE, SCALER
    nb.cells[8].source = "A square is a product of two numbers of one sign."
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type == "code":
            cell.execution_count = number
    return nb


def test_the_untouched_handout_will_grade_but_is_not_ready(handed_out, tmp_path, zygote):
    folder = student_copy(handed_out, tmp_path)
    report = check_notebook(folder / f"{ASSIGNMENT}.ipynb", root=tmp_path, zygote=zygote)
    out = check.format_report(report) + "\n"
    assert (report.will_grade, report.ready, report.ok, report.exit_code) == (True, False, False, check.EXIT_NOT_READY)
    assert [(item.cell, item.rule, item.question) for item in report.unfinished] == [
        (4, "stub", "Q1"), (6, "stub", "Q2"), (9, "unanswered", "Q3"), (None, "not-run", None),
        (None, "failing-check", "Q1"), (None, "failing-check", "Q2")]
    assert ('Cell 6 ("class Scaler:") still raises NotImplementedError in `Scaler.__init__` (line 4) and '
            "`Scaler.__call__` (line 8): that part is not written yet.") in out
    assert "\n  Q1  NOT READY  leftover stub: cell 4; visible checks fail (0/2 pass)\n" in out
    assert "\n  Q3  NOT READY  unanswered: cell 9\n" in out
    assert out.endswith("\nWILL GRADE, NOT READY to hand in: 2 cells with leftover stubs, 1 answer cell unanswered, "
                        "the notebook never run and 2 questions failing their visible checks.\n")
    assert "OK" not in out and "READY:" not in out.replace("NOT READY", "")


def test_a_finished_notebook_is_ready(handed_out, tmp_path, zygote):
    folder = student_copy(handed_out, tmp_path)
    report = check_notebook(write(folder, finished(handed_out)), root=tmp_path, zygote=zygote)
    assert (report.problems, report.unfinished, report.exit_code) == ([], [], check.EXIT_READY)
    assert [(verdict.question, verdict.ready) for verdict in report.verdicts] == [("Q1", True), ("Q2", True), ("Q3", True)]
    assert check.format_report(report).endswith(
        "\nREADY: it will grade, every answer cell is filled in, the notebook was run without errors "
        "and the visible checks pass.")


def _error_output(nb):
    nb.cells[7].outputs = [v4.new_output("error", ename="NameError", evalue="name 'sqare' is not defined",
                                         traceback=["Traceback ..."])]


def _duplicate(nb):
    copy = nbformat.from_dict(nb.cells[7])
    copy.id = "copied-cell"
    nb.cells.insert(8, copy)


# One piece of unfinished work at a time: (change to the finished notebook, cell, rule, question,
# the start of its message).
UNFINISHED = {
    "answer left as is": (lambda nb: setattr(nb.cells[8], "source", "YOUR ANSWER HERE"), 9, "unanswered", "Q3",
                          'Cell 9 ("YOUR ANSWER HERE") is not answered: it still says YOUR ANSWER HERE.'),
    "one stub left": (lambda nb: setattr(nb.cells[5], "source", SCALER.replace(
        "return self.factor * np.asarray(x)", "raise NotImplementedError()")), 6, "stub", "Q2",
                      'Cell 6 ("class Scaler:") still raises NotImplementedError in `Scaler.__call__` (line 6)'),
    "error in an output": (_error_output, 8, "error-output", None,
                           "Cell 8 (\"print(square(3), Scaler(2)(np.ones(2)))\") shows an error in its saved "
                           "output (NameError: name 'sqare' is not defined)."),
    "a cell never run": (lambda nb: setattr(nb.cells[5], "execution_count", None), None, "not-run", None,
                         '1 of the 6 code cells was never run: cell 6 ("class Scaler:").'),
    "read-only cell replaced": (lambda nb: setattr(nb.cells[7], "source", "print('all done')"), 8,
                                "locked-cell-edited", None,
                                "Cell 8 (\"print('all done')\") is the read-only cell try_them of the handout, "
                                "but it has been changed."),
    "answer cell deleted": (lambda nb: nb.cells.pop(8), None, "graded-cell-missing", "Q3",
                            'The graded cell q3_answer, handout cell 9 ("YOUR ANSWER HERE") is missing'),
    "cell copied": (_duplicate, 9, "duplicate-cell", None, "Cell 8 (\"print(square(3), Scaler(2)(np.ones(2)))\") "
                    "and cell 9"),
    "method signature changed": (lambda nb: setattr(nb.cells[5], "source", SCALER.replace(
        "__call__(self, x)", "__call__(self, values)").replace("asarray(x)", "asarray(values)")), 6,
                                 "changed-signature", "Q2",
                                 'Cell 6 ("class Scaler:") defines `Scaler.__call__(self, values)`, but the '
                                 "handout gives `Scaler.__call__(self, x)`"),
}


@pytest.mark.parametrize("change, cell, rule, question, message", UNFINISHED.values(), ids=UNFINISHED.keys())
def test_each_piece_of_unfinished_work_is_named_and_not_ready(handed_out, tmp_path, change, cell, rule, question,
                                                               message):
    folder = student_copy(handed_out, tmp_path)
    nb = finished(handed_out)
    change(nb)
    report = check_notebook(write(folder, nb), root=tmp_path, run_checks=False)
    assert [(item.cell, item.rule, item.question) for item in report.unfinished] == [(cell, rule, question)]
    assert report.unfinished[0].message.startswith(message)
    assert (report.problems, report.will_grade, report.ready, report.exit_code) == ([], True, False, 3)
    text = check.format_report(report)
    assert text.splitlines()[-1].startswith("WILL GRADE, NOT READY to hand in: ")
    if question:
        assert f"\n  {question}  NOT READY  {check.UNFINISHED_WORDS[rule]}" in text


def test_without_check_beside_it_a_students_notebook_says_where_check_belongs(handed_out, tmp_path, capsys):
    alone = tmp_path / "Downloads"
    alone.mkdir()
    shutil.copy(handed_out / f"{ASSIGNMENT}.ipynb", alone)
    assert check.main(alone / f"{ASSIGNMENT}.ipynb", root=tmp_path / "site-packages") == 2
    assert capsys.readouterr().err == (
        f"cannot check: there is no check/ folder beside {ASSIGNMENT}.ipynb (looked for {alone / 'check'}); "
        "check/ comes with the assignment's release folder and must sit beside the notebook: keep the "
        "notebook in that folder, or copy check/ next to it\n")


def test_the_exit_codes_are_documented_in_the_help():
    from autograder import cli
    codes = [line.split()[0] for line in cli.CHECK_EXIT_CODES.splitlines()[1:] if line[:3].strip().isdigit()]
    assert codes == ["0", "1", "2", "3"] == [str(code) for code in sorted(
        (check.EXIT_READY, check.EXIT_PROBLEMS, check.EXIT_CANNOT_CHECK, check.EXIT_NOT_READY))]
