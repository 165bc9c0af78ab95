"""A one-question course built in a temporary folder, for release and validate tests.

The assignment asks for ``square(x)``: a solution region, a visible test, hidden tests and a
markdown model answer, each marked up as nbgrader expects.
"""
import shutil
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder import paths

ASSIGNMENT = "tiny"
SOLUTION_LINE = "return x * x  # the square, computed directly"
HIDDEN_LINE = "assert square(-3) == 9, 'negative numbers square to positive'"
MODEL_ANSWER = "Squaring is monotone on the non-negative reals because its derivative 2x is never negative there."


def _nbgrader(cell, grade_id, solution=False, grade=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def tiny_notebook():
    return new_notebook(cells=[
        _nbgrader(new_markdown_cell("# Tiny assignment\nImports go in the first code cell."), "intro", locked=True),
        _nbgrader(new_code_cell("import math"), "imports", locked=True),
        _nbgrader(new_code_cell("def square(x):\n    \"\"\"x: a number. Returns x squared.\"\"\"\n"
                                f"    ### BEGIN SOLUTION\n    {SOLUTION_LINE}\n    ### END SOLUTION"),
                  "square", solution=True),
        _nbgrader(new_code_cell("assert square(2) == 4\n### BEGIN HIDDEN TESTS\n"
                                f"{HIDDEN_LINE}\n### END HIDDEN TESTS"),
                  "test_square", grade=True, locked=True, points=1),
        _nbgrader(new_markdown_cell("Why is squaring monotone for $x \\ge 0$?"), "prompt", locked=True),
        _nbgrader(new_markdown_cell(MODEL_ANSWER), "why", solution=True, grade=True, points=1),
    ])


def make_course(root: Path, notebook=None) -> Path:
    """Write a course folder (nbgrader_config.py, utils.py, source/tiny/tiny.ipynb) under ``root``."""
    shutil.copy2(paths.REPO_ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    (root / "utils.py").write_text('"""Helpers for the tiny course."""\n')
    source = paths.source_notebook(ASSIGNMENT, root)
    source.parent.mkdir(parents=True)
    nbformat.write(notebook or tiny_notebook(), source)
    return root
