"""A one-question course built in a temporary folder, for release and validate tests.

The assignment asks for ``square(x)``: a solution region, a visible test, hidden tests and a
markdown model answer, each marked up as nbgrader expects. Its grader's folder, ``assignments/tiny/``,
holds grading.toml, visible checks and hidden probes (both numpy-free), so that a release carries a
check bundle.
"""
import shutil
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder import paths
from autograder.verbs.scaffold import nbgrader_metadata

ASSIGNMENT = "tiny"
SOLUTION_LINE = "return x * x  # the square, computed directly"
HIDDEN_LINE = "assert square(-3) == 9, 'negative numbers square to positive'"
PROBE_SECRET = "TINY-HIDDEN-PROBE-SECRET-5309"  # in the hidden probes.py only
GRADING_TOML = """assignment = "tiny"
title = "Tiny assignment"
probes = "probes.py"
checks = "checks.py"
allowed_imports = ["math"]

[limits]
wall_seconds = 30
cpu_seconds = 30
memory_mb = 1024

[sandbox]
preload = ["numpy"]

[[questions]]
id = "Q1"
title = "square"
points = 2
cells = ["test_square"]

[[questions]]
id = "Q2"
title = "Why squaring is monotone"
points = 1
manual = true
cells = ["why"]

[[names]]
name = "square"
kind = "function"
question = "Q1"
signature = "(x)"
"""
CHECKS = '''"""Visible checks of tiny."""
from autograder.grading.probes import allclose, equal, probe


@probe("Q1", points=1, compare=equal(), hint="square(3) should be 9.")
def square_of_three(module, rng):
    return module.square(3)


@probe("Q1", points=1, compare=allclose(), hint="square must work for fractions too.")
def squares_of_fractions(module, rng):
    return {"half": module.square(0.5), "thirds": [module.square(k / 3) for k in range(4)]}
'''
PROBES = f'''"""Hidden probes of tiny: never released."""
from autograder.grading.probes import equal, probe


@probe("Q1", points=2, compare=equal(), hint="{PROBE_SECRET}")
def square_of_a_negative_number(module, rng):
    return module.square(-7)
'''
MODEL_ANSWER = "Squaring is monotone on the non-negative reals because its derivative 2x is never negative there."


def nbgrader_cell(cell, grade_id, solution=False, grade=False, locked=False, points=None):
    cell.metadata["nbgrader"] = nbgrader_metadata(grade_id, solution=solution, grade=grade, locked=locked,
                                                  points=points)
    return cell


def tiny_notebook():
    return new_notebook(cells=[
        nbgrader_cell(new_markdown_cell("# Tiny assignment\nImports go in the first code cell."), "intro", locked=True),
        nbgrader_cell(new_code_cell("import math"), "imports", locked=True),
        nbgrader_cell(new_code_cell("def square(x):\n    \"\"\"x: a number. Returns x squared.\"\"\"\n"
                                f"    ### BEGIN SOLUTION\n    {SOLUTION_LINE}\n    ### END SOLUTION"),
                  "square", solution=True),
        nbgrader_cell(new_code_cell("assert square(2) == 4\n### BEGIN HIDDEN TESTS\n"
                                f"{HIDDEN_LINE}\n### END HIDDEN TESTS"),
                  "test_square", grade=True, locked=True, points=2),
        nbgrader_cell(new_markdown_cell("Why is squaring monotone for $x \\ge 0$?"), "prompt", locked=True),
        nbgrader_cell(new_markdown_cell(MODEL_ANSWER), "why", solution=True, grade=True, points=1),
    ])


def make_course(root: Path, notebook=None, grading: bool = True) -> Path:
    """Write a course folder (nbgrader_config.py, utils.py, source/tiny/tiny.ipynb and, with
    `grading`, assignments/tiny/) under ``root``."""
    shutil.copy2(paths.REPO_ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    paths.student_helpers(root).parent.mkdir()
    paths.student_helpers(root).write_text('"""Helpers for the tiny course."""\n')
    source = paths.source_notebook(ASSIGNMENT, root)
    source.parent.mkdir(parents=True)
    nbformat.write(notebook or tiny_notebook(), source)
    if grading:
        folder = paths.assignment_dir(ASSIGNMENT, root)
        folder.mkdir(parents=True)
        for name, text in (("grading.toml", GRADING_TOML), ("checks.py", CHECKS), ("probes.py", PROBES)):
            (folder / name).write_text(text)
    return root
