"""Write nbgrader markup so that an instructor never does (the ``new`` and ``add-question`` verbs).

``new_assignment`` writes a minimal assignment that releases, validates and grades as it is: a
source notebook with one autograded question (`relu`) and one graded by hand, its grading.toml,
one hidden probe and one visible check. ``add_question`` appends a question to an assignment: its
prompt, answer and tests cells with their nbgrader metadata at the end of the notebook, its
``[[questions]]`` (and ``[[names]]``) table in grading.toml, a probe and a visible check to fill
in, and the new total in the title. What it cannot know (the prompt, the model solution, the
tests) it leaves as placeholders that `validate` and `release` stop at until they are written.
"""
from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path

from autograder import errors, paths
from autograder.analysis.quick_nbformat import nbformat
from autograder.grading import marks
from autograder.grading.config import config_file
from autograder.grading.schema import SchemaError, parse

ASSIGNMENT_NAME = re.compile(r"[a-z][a-z0-9_]*")
QUESTION_ID = re.compile(r"[A-Za-z][\w-]*")


class ScaffoldError(errors.AutograderError):
    """The assignment or question cannot be written as asked; the message says why."""


def nbgrader_metadata(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
                      points: float | None = None) -> dict:
    """The `nbgrader` cell metadata JupyterLab's Create Assignment toolbar writes."""
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def _cell(kind: str, text: str, grade_id: str, **nbgrader):
    new = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
    return new(text, metadata={"nbgrader": nbgrader_metadata(grade_id, **nbgrader)})


# ---- a new assignment -----------------------------------------------------------------------------

RULES = """## Submission rules

The grader tests the functions and classes you define, not the output of your cells:

1. Every import goes in the first code cell.
2. A cell that defines a function or a class holds only definitions.
3. Experiments (calls, loops, plots) go in their own cells, after the definitions they use.

`autograder check` on your notebook tells you where a rule is broken."""

GRADING_TOML = """# Grading of {a}: {total:g} marks, {auto:g} graded by the probes in probes.py, {manual:g} by hand.
assignment = "{a}"
title = "{title}"
probes = "probes.py"
checks = "checks.py"
allowed_imports = ["numpy"]

[limits]
wall_seconds = 20
cpu_seconds = 10
memory_mb = 1024

[[questions]]
id = "Q1"
title = "relu(x), element by element"
points = 2

[[questions]]
id = "Q2"
title = "Why a network needs a non-linearity"
points = 1
manual = true

[[names]]
name = "relu"
kind = "function"
question = "Q1"
signature = "(x)"
"""

PROBES = '''"""Hidden probes of {a}: they grade, and are never released."""
from autograder.grading.probes import allclose, probe


@probe("Q1", points=2, compare=allclose(), hint="relu(x) is max(x, 0) element by element, for an array of any shape.")
def relu_of_random_arrays(module, rng):
    x = rng.normal(size=(3, 4))
    return {{"a 3 x 4 array": module.relu(x), "one row": module.relu(x[0])}}
'''

CHECKS = '''"""Visible checks of {a}: `autograder check` runs them for students."""
import numpy as np

from autograder.grading.probes import allclose, probe


@probe("Q1", points=2, compare=allclose(), hint="relu should set the negative entries to 0 and keep the others.")
def relu_of_three_numbers(module, rng):
    return module.relu(np.array([-1.0, 0.0, 2.0]))
'''


def _new_notebook(title: str):
    return nbformat.v4.new_notebook(cells=[
        _cell("markdown", f"# {title}\n\nThis assignment is worth **3 marks** in all.", "title", locked=True),
        _cell("markdown", RULES, "submission_rules", locked=True),
        _cell("markdown", "**Name:** *(your name)*\n\n**Student ID:** *(your ID)*", "student_name"),
        _cell("code", "# Every import of the notebook goes in this cell.\nimport numpy as np", "imports"),
        _cell("markdown", "## Q1: `relu(x)` [2 marks]\n\nWrite `relu(x)`, which returns $\\max(x, 0)$ element by "
                          "element for a NumPy array `x` of any shape, as an array of the same shape.",
              "Q1_prompt", locked=True),
        _cell("code", 'def relu(x):\n    """x: a NumPy array of any shape. Returns max(x, 0) element by element, '
                      'with the shape of x."""\n    ### BEGIN SOLUTION\n    return np.maximum(x, 0)\n'
                      "    ### END SOLUTION", "Q1_answer", solution=True),
        _cell("code", "# Visible tests of Q1 (read-only); hidden tests run when the notebook is graded.\n"
                      "assert np.array_equal(relu(np.array([-1.0, 0.0, 2.0])), [0.0, 0.0, 2.0]), "
                      '"relu should set the negative entries to 0 and keep the others"\n'
                      "### BEGIN HIDDEN TESTS\n"
                      'assert relu(np.ones((2, 3))).shape == (2, 3), "relu must keep the shape of x"\n'
                      "### END HIDDEN TESTS", "Q1", grade=True, locked=True, points=2),
        _cell("markdown", "## Q2: Why a non-linearity? [1 mark]\n\nIn two or three sentences: what does a network "
                          "of several linear layers compute when there is no `relu` between them?",
              "Q2_prompt", locked=True),
        _cell("markdown", "The composition of linear maps is a linear map, so without a non-linearity the layers "
                          "collapse into a single one and the extra depth adds nothing the network could represent.",
              "Q2", solution=True, grade=True, points=1),
    ])


def new_assignment(assignment: str, root: Path = paths.REPO_ROOT, title: str | None = None) -> list[Path]:
    """Write a minimal working assignment: ``source/<a>/<a>.ipynb`` and ``assignments/<a>/``
    (grading.toml, probes.py, checks.py). Returns the files written. Raises ScaffoldError for a
    name that is not a lower-case Python name or an assignment that exists already."""
    if not ASSIGNMENT_NAME.fullmatch(assignment):
        raise ScaffoldError(f"{assignment!r} is not a valid assignment name: use lower-case letters, digits and _, "
                            "starting with a letter (it names folders and the notebook)")
    notebook, folder = paths.source_notebook(assignment, root), paths.assignment_dir(assignment, root)
    for existing in (notebook.parent, folder):
        if existing.exists():
            raise ScaffoldError(f"{existing} exists already; `autograder new` only starts new assignments "
                                "(add a question to this one with `autograder add-question`)")
    title = title or assignment.replace("_", " ").capitalize()
    notebook.parent.mkdir(parents=True)
    nbformat.write(_new_notebook(title), notebook)
    folder.mkdir(parents=True)
    files = {"grading.toml": GRADING_TOML.format(a=assignment, title=title.replace('"', "'"), total=3, auto=2, manual=1),
             "probes.py": PROBES.format(a=assignment), "checks.py": CHECKS.format(a=assignment)}
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [notebook, *(folder / name for name in files)]


# ---- a new question -------------------------------------------------------------------------------

def add_question(assignment: str, question_id: str, points: float, *, root: Path = paths.REPO_ROOT,
                 title: str | None = None, manual: bool = False, name: str | None = None,
                 kind: str = "function", signature: str | None = None) -> list[Path]:
    """Append question `question_id` worth `points` to `assignment`, marked up for nbgrader and
    registered in grading.toml (and, autograded, with a probe and a visible check to fill in);
    `name` is the function or class the grader needs from the answer (autograded only). Returns the
    files changed. Nothing is written when any part would be wrong."""
    notebook_path, toml = paths.source_notebook(assignment, root), config_file(assignment, root)
    for needed in (notebook_path, toml):
        if not needed.is_file():
            raise ScaffoldError(f"{needed} does not exist; start an assignment with `autograder new {assignment}`")
    if not QUESTION_ID.fullmatch(question_id):
        raise ScaffoldError(f"{question_id!r} is not a question id: letters, digits, _ and -, starting with a letter")
    if not points > 0:
        raise ScaffoldError(f"a question is worth a positive number of points, not {points:g}")
    if manual and name:
        raise ScaffoldError("a question graded by hand needs no name from the submission; drop --name or --manual")
    if name and not name.isidentifier():
        raise ScaffoldError(f"{name!r} is not a Python name")
    name = None if manual else (name or f"answer_{question_id.lower().replace('-', '_')}")
    title = title or question_id
    toml_text = toml.read_text(encoding="utf-8")
    table = _parsed(toml, toml_text)
    if question_id in {q.id for q in table.questions} or \
            question_id in {grade_id for q in table.questions for grade_id in q.cells}:
        raise ScaffoldError(f"{toml}: question {question_id!r} exists already")
    new_toml = toml_text.rstrip("\n") + "\n\n" + _question_toml(question_id, title, points, manual, name, kind, signature)
    _parsed(toml, new_toml)  # refuses, before anything is written, what load_config would refuse

    nb = nbformat.read(notebook_path, as_version=4)
    cells = _question_cells(question_id, title, points, manual, name, kind, signature)
    taken = {cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") for cell in nb.cells}
    clashes = sorted(taken & {cell.metadata.nbgrader.grade_id for cell in cells})
    if clashes:
        raise ScaffoldError(f"{notebook_path}: a cell has the grade id {clashes[0]!r} already; choose another question id")
    nb.cells += cells
    _restate_total(nb, sum(q.points for q in table.questions) + points)
    changed = [notebook_path, toml]
    toml.write_text(new_toml, encoding="utf-8")
    nbformat.write(nb, notebook_path)
    if not manual:
        for key, what in (("probes", "probe"), ("checks", "visible check")):
            file = toml.parent / getattr(table, key) if getattr(table, key) else None
            if file is not None and file.is_file():
                _append_probe(file, question_id, points, name, what)
                changed.append(file)
    return changed


def _parsed(toml: Path, text: str):
    try:
        return parse(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, SchemaError) as error:
        raise ScaffoldError(f"{toml}: {error}") from None


def _question_toml(question_id, title, points, manual, name, kind, signature) -> str:
    lines = ["[[questions]]", f"id = {json.dumps(question_id)}", f"title = {json.dumps(title)}", f"points = {points:g}"]
    if manual:
        lines.append("manual = true")
    if name:
        lines += ["", "[[names]]", f"name = {json.dumps(name)}", f'kind = "{kind}"', f"question = {json.dumps(question_id)}"]
        if signature:
            lines.append(f"signature = {json.dumps(signature)}")
    return "\n".join(lines) + "\n"


def _question_cells(question_id, title, points, manual, name, kind, signature) -> list:
    marks_text = f"{points:g} mark{'' if points == 1 else 's'}"
    heading = question_id if title == question_id else f"{question_id}: {title}"
    cells = [_cell("markdown", f"## {heading} [{marks_text}]\n\n*(The prompt of {question_id}: what to "
                               f"write{'' if manual else f', naming `{name}` and its parameters'}.)*",
                   f"{question_id}_prompt", locked=True)]
    if manual:
        cells.append(_cell("markdown", f"*(The model answer of {question_id}; students see YOUR ANSWER HERE.)*",
                           question_id, solution=True, grade=True, points=points))
        return cells
    parameters = signature or ("()" if kind == "class" else "(x)")
    header = (f"class {name}:\n    def __init__(self{', ' + parameters.strip('()') if parameters.strip('()') else ''}):"
              if kind == "class" else f"def {name}{parameters}:")
    indent = "        " if kind == "class" else "    "
    cells.append(_cell("code", f'{header}\n{indent}"""(What it takes, with shapes, and what it returns.)"""\n'
                               f"{indent}### BEGIN SOLUTION\n"
                               f'{indent}raise NotImplementedError("write the model solution of {question_id}")\n'
                               f"{indent}### END SOLUTION", f"{question_id}_answer", solution=True))
    cells.append(_cell("code", f"# Visible tests of {question_id} (read-only); hidden tests run when the notebook is "
                               f'graded.\nassert False, "write the visible tests of {question_id}"\n'
                               "### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS",
                       question_id, grade=True, locked=True, points=points))
    return cells


def _restate_total(nb, total: float) -> None:
    """Write `total` into the title's "**N marks**", when the title states one."""
    stated = marks.stated_total(nb)
    if stated is not None:
        cell = nb.cells[stated[0] - 1]
        cell.source = marks.STATED_TOTAL.sub(f"**{total:g} marks**", cell.source, count=1)


def _append_probe(file: Path, question_id: str, points: float, name: str, what: str) -> None:
    """A placeholder probe (or visible check) of `question_id` at the end of `file`, importing what
    it uses when the file does not."""
    text = file.read_text(encoding="utf-8")
    bound = {alias.asname or alias.name for node in ast.parse(text).body if isinstance(node, ast.ImportFrom)
             for alias in node.names}
    missing = [needed for needed in ("allclose", "probe") if needed not in bound]
    imports = f"from autograder.grading.probes import {', '.join(missing)}\n\n\n" if missing else ""
    function = f"{question_id.lower().replace('-', '_')}_{'probe' if what == 'probe' else 'check'}"
    text = (text.rstrip("\n") + "\n\n\n" + imports +
            f'@probe("{question_id}", points={points:g}, compare=allclose(),\n'
            f'       hint="(What {name} must do, never the expected values.)")\n'
            f"def {function}(module, rng):\n"
            f'    raise NotImplementedError("write this {what}: call module.{name} on inputs from rng '
            f'and return plain values")\n')
    file.write_text(text, encoding="utf-8")
