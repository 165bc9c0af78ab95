"""The marks of an assignment, held to one source: grading.toml.

grading.toml's `[[questions]]` say what each question is worth, and the grader, `check` and every
report read them there. The instructor notebook repeats them twice: nbgrader needs each graded
cell's `points` in its metadata, and the title tells students the total ("**19 marks** in all").
`problems` finds every way those copies can disagree with grading.toml, each as one sentence naming
the notebook cell and the fix; `autograder release` refuses and `autograder validate` fails on any.

A question's graded cells are those, among the cells it lists by nbgrader grade id in `cells` (by
default its own id), that nbgrader gives points to: the autograded tests cells of an autograded
question, the manually graded answers of a manual one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from autograder.grading.config import POINTS_TOLERANCE, GradingConfig

# The total a title cell states, in bold: "**19 marks**" (the course's convention).
STATED_TOTAL = re.compile(r"\*\*(\d+(?:\.\d+)?) marks?\*\*")
FIX_TOOL = "`autograder add-question` writes both for a new question"


@dataclass(frozen=True)
class GradedCell:
    number: int  # 1-based among all cells, as JupyterLab shows them
    grade_id: str
    points: float
    manual: bool  # a manually graded answer (solution and grade), not an autograded tests cell
    first_line: str

    def __str__(self) -> str:
        quoted = f", {self.first_line[:50]!r}" if self.first_line else ""
        return f"cell {self.number} ({self.grade_id}{quoted})"


def graded_cells(nb) -> list[GradedCell]:
    """The cells nbgrader gives points to (grade or task cells), in notebook order."""
    found = []
    for number, cell in enumerate(nb.cells, start=1):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not (meta.get("grade") or meta.get("task")):
            continue
        lines = [line.strip() for line in cell.get("source", "").splitlines() if line.strip()]
        points = meta.get("points", 0)
        found.append(GradedCell(number, str(meta.get("grade_id", "")),
                                float(points) if isinstance(points, (int, float)) else 0.0,
                                bool(meta.get("solution") or meta.get("task")), lines[0] if lines else ""))
    return found


def stated_total(nb) -> tuple[int, float] | None:
    """(cell number, total) of the "**N marks**" in the notebook's first Markdown cell, if it says one."""
    for number, cell in enumerate(nb.cells, start=1):
        if cell.get("cell_type") == "markdown":
            match = STATED_TOTAL.search(cell.get("source", ""))
            return (number, float(match.group(1))) if match else None
    return None


def problems(config: GradingConfig, nb) -> list[str]:
    """Every disagreement between the notebook `nb` and grading.toml `config`, as sentences naming
    the cell (or the question) and the fix. Empty when they agree."""
    toml = config.file.name
    cells = graded_cells(nb)
    owner = {grade_id: question for question in config.questions for grade_id in question.cells}
    found = []
    for cell in cells:
        question = owner.get(cell.grade_id)
        if question is None:
            found.append(f"{cell} is a graded cell that no question of {toml} lists, so it would never be "
                         f"graded; add a [[questions]] table with id = {cell.grade_id!r}, or list "
                         f"{cell.grade_id!r} in the `cells` of its question ({FIX_TOOL})")
        elif cell.manual != question.manual:
            kind = "a manually graded answer" if cell.manual else "an autograded tests cell"
            found.append(f"{cell} is {kind}, but {toml} says question {question.id} is "
                         f"{'graded by hand' if question.manual else 'autograded'}; make the cell an "
                         f"{'Autograded tests' if question.manual else 'Manually graded answer'} cell "
                         f"or set manual = {str(cell.manual).lower()} in {toml}")
    for question in config.questions:
        mine = [cell for cell in cells if cell.grade_id in question.cells]
        total = sum(cell.points for cell in mine)
        if not mine:
            if cells:  # a notebook without any nbgrader points has nothing to disagree with
                found.append(f"question {question.id} ({question.points:g} points in {toml}) has no graded cell in "
                             f"the notebook with grade id {' or '.join(map(repr, question.cells))}; give its "
                             f"{'answer' if question.manual else 'tests'} cell that grade id, or list the cell's "
                             f"grade id in the question's `cells`")
        elif abs(total - question.points) > POINTS_TOLERANCE:
            where = str(mine[0]) if len(mine) == 1 else "cells " + ", ".join(str(cell.number) for cell in mine)
            found.append(f"{where}: the notebook gives question {question.id} {total:g} points, {toml} gives it "
                         f"{question.points:g}; {toml} holds the marks, so set the nbgrader points of "
                         f"{'the cell' if len(mine) == 1 else 'these cells'} to add up to {question.points:g} "
                         f"(JupyterLab: View > Cell Toolbar > Create Assignment)")
    stated = stated_total(nb)
    total = sum(question.points for question in config.questions)
    if stated is not None and abs(stated[1] - total) > POINTS_TOLERANCE:
        found.append(f"cell {stated[0]} (the title) says **{stated[1]:g} marks**, but the questions of {toml} "
                     f"add up to {total:g}; correct the title")
    return found


def missing_config(toml: str) -> str:
    """The sentence for an assignment without grading.toml."""
    return (f"{toml} does not exist, so nothing would grade this assignment and `check` would fail for "
            f"every student; write it (docs/authoring.md, grading.toml), or start from the one "
            f"`autograder new NAME` scaffolds")
