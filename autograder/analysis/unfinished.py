"""Find the work a student has not finished, in the notebook as they saved it.

A notebook can grade (it follows the rules and its module loads) and still not be ready to hand
in. `unfinished_work` lists, in cell order, each with its cell quoted and a one-line fix:

- `unanswered`: an answer cell still holding nbgrader's stub: ``YOUR ANSWER HERE`` in a Markdown
  answer cell, or a code answer cell holding nothing but comments and ``raise NotImplementedError``;
- `stub`: a code answer cell that still raises ``NotImplementedError`` somewhere (naming the
  functions), the rest being written;
- `error-output`: a code cell whose saved output is an error (a traceback);
- `not-run`: code cells never run (no execution count), or a notebook never run at all;
- `locked-cell-edited`: a read-only cell of the handout (nbgrader's locked cells and graded test
  cells) whose text or nbgrader settings changed: nbgrader's own checksum (`nbgrader_checksum`,
  the digest nbgrader stores in the cell's metadata) no longer matches the handout's;
- `graded-cell-missing`: a graded or read-only cell of the handout that is not in the notebook any
  more (deleted, or its nbgrader metadata removed), found by its grade id;
- `duplicate-cell`: two cells with one grade id (a copied cell), which nbgrader refuses to grade.

"Answer cells" are nbgrader's solution cells; in a notebook without nbgrader metadata every cell
counts as one. The handout's cells come from the notebook's own metadata: ``autograder release``
records (`record_release_cells`) under ``metadata.course_kit`` the assignment, every graded or
read-only cell of the release notebook (grade id, type, checksum, first line, position) and the
parameters of the functions and methods its answer cells define (`handout_signatures`, which
`autograder check` compares with the student's). A student's copy keeps that record whatever they
do to the cells. A notebook without it (an older release) is compared with the checksums in its
cells' own metadata, which finds edits but not deletions.

This is a student's aid, not a defence: someone who edits the metadata can hide an edit from it;
grading never relies on it.
"""
from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass

from autograder.analysis.notebook import capitalised, cell_label, cell_label_in

ANSWER_STUB = "YOUR ANSWER HERE"  # nbgrader's text for a Markdown solution cell
_RAISE_STUB = re.compile(r"^\s*raise\s+NotImplementedError\b")
_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)")
_CLASS = re.compile(r"^(\s*)class\s+(\w+)")
KIT_KEY, RELEASE_CELLS, SIGNATURES = "course_kit", "release_cells", "signatures"
RESTART_AND_RUN = "run the notebook from the top (Kernel > Restart Kernel and Run All Cells), then save it"
NEVER_RUN = "The notebook was never run"
_LISTED = 5  # cells named in a message about many cells


@dataclass(frozen=True)
class Unfinished:
    """One piece of unfinished work. `cell`: 1-based among all cells, None when no single cell of
    the notebook is at fault; `grade_id`: the nbgrader id of the cell concerned, if it has one."""

    cell: int | None
    rule: str  # see the module docstring
    message: str
    fix: str
    grade_id: str | None = None
    question: str | None = None  # the question of grading.toml it belongs to (`autograder check` fills it in)


# ----------------------------------------------------------------------------- nbgrader's cell metadata


def nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def is_grade(cell) -> bool:
    return bool(nbgrader(cell).get("grade", False))


def is_solution(cell) -> bool:
    return bool(nbgrader(cell).get("solution", False))


def is_locked(cell) -> bool:
    """nbgrader's rule: a solution cell is never locked, a graded cell always, others when marked."""
    if is_solution(cell):
        return False
    return is_grade(cell) or bool(nbgrader(cell).get("locked", False))


def nbgrader_checksum(cell) -> str:
    """The checksum nbgrader (`nbgrader.utils.compute_checksum`) stores in a cell's metadata: the
    MD5 of its source, type, grade/solution/locked flags, grade id and, for a graded cell, points.
    Computed here because importing nbgrader takes seconds."""
    digest = hashlib.md5()
    for part in (cell.source, cell.cell_type, str(is_grade(cell)), str(is_solution(cell)), str(is_locked(cell)),
                 str(nbgrader(cell).get("grade_id", ""))):
        digest.update(part.encode("utf-8"))
    if is_grade(cell):
        digest.update(str(float(nbgrader(cell).get("points", 0))).encode("utf-8"))
    return digest.hexdigest()


def release_cells(nb) -> list[dict]:
    """The graded and read-only cells of a release notebook, as `record_release_cells` stores them."""
    recorded = []
    for number, cell in enumerate(nb.cells, start=1):
        grade_id = nbgrader(cell).get("grade_id")
        if grade_id and (is_grade(cell) or is_locked(cell)):
            recorded.append({"grade_id": grade_id, "cell": number, "cell_type": cell.cell_type,
                             "graded": is_grade(cell), "locked": is_locked(cell),
                             "checksum": nbgrader_checksum(cell), "label": cell_label(number, cell.source)})
    return recorded


def handout_signatures(nb) -> dict[str, str]:
    """{name: parameters} of the functions, classes' methods (`Class.method`) defined in the answer
    cells of a release notebook, as written there: `{"BatchNorm.forward": "(self, x)"}`. What the
    handout gives, the notebook's own cells and the grader call that way."""
    signatures = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or not is_solution(cell):
            continue
        try:
            tree = ast.parse(cell.source)
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                signatures[node.name] = f"({ast.unparse(node.args)})"
            elif isinstance(node, ast.ClassDef):
                signatures.update({f"{node.name}.{item.name}": f"({ast.unparse(item.args)})" for item in node.body
                                   if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))})
    return signatures


def record_release_cells(nb, assignment: str) -> None:
    """Store in `nb`'s metadata (``course_kit``) its assignment, `release_cells(nb)` and
    `handout_signatures(nb)`."""
    kit = nb.metadata.setdefault(KIT_KEY, {})
    kit.update({"assignment": assignment, RELEASE_CELLS: release_cells(nb), SIGNATURES: handout_signatures(nb)})


def recorded_signatures(nb) -> dict[str, str]:
    """The handout's signatures recorded in `nb`'s metadata (empty when there are none)."""
    kit = nb.get("metadata", {}).get(KIT_KEY)
    found = kit.get(SIGNATURES) if isinstance(kit, dict) else None
    if not isinstance(found, dict):
        return {}
    return {name: text for name, text in found.items() if isinstance(name, str) and isinstance(text, str)}


def recorded_cells(nb) -> list[dict] | None:
    """The handout's cells recorded in `nb`'s metadata, None when there is no usable record."""
    kit = nb.get("metadata", {}).get(KIT_KEY)
    cells = kit.get(RELEASE_CELLS) if isinstance(kit, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) and isinstance(c.get("grade_id"), str)
                                              and isinstance(c.get("checksum"), str) for c in cells):
        return None
    return cells


# ----------------------------------------------------------------------------- finding unfinished work


def unfinished_work(nb) -> list[Unfinished]:
    """Everything unfinished in `nb` (read with its outputs), in cell order, notebook-wide last."""
    any_nbgrader = any(nbgrader(cell) for cell in nb.cells)
    found: list[Unfinished] = []
    for number, cell in enumerate(nb.cells, start=1):
        answer = is_solution(cell) or not (any_nbgrader or is_locked(cell))
        grade_id = nbgrader(cell).get("grade_id")
        if answer:
            found += _answer_cell(number, cell, grade_id)
        if cell.cell_type == "code":
            found += _error_outputs(number, cell, grade_id)
    found += _handout_cells(nb)
    found += _never_run(nb)
    return sorted(found, key=lambda item: (item.cell is None, item.cell or 0))


def _answer_cell(number: int, cell, grade_id: str | None) -> list[Unfinished]:
    label = capitalised(cell_label(number, cell.source))
    if cell.cell_type != "code":
        if ANSWER_STUB in cell.source:
            return [Unfinished(number, "unanswered", f"{label} is not answered: it still says {ANSWER_STUB}.",
                               f"replace {ANSWER_STUB} with your answer", grade_id)]
        return []
    lines = cell.source.splitlines()
    stubs = [index for index, line in enumerate(lines) if _RAISE_STUB.match(line)]
    if not stubs:
        return []
    written = [line for line in lines if line.strip() and not line.strip().startswith("#") and not _RAISE_STUB.match(line)]
    if not written:
        return [Unfinished(number, "unanswered", f"{label} is not answered: it holds only the stub "
                           "`raise NotImplementedError()`.", "write your code in place of the stub", grade_id)]
    places = []
    for index in stubs:
        function = _enclosing_function(lines, index)
        places.append(f"`{function}` (line {index + 1})" if function else f"line {index + 1}")
    return [Unfinished(number, "stub", f"{label} still raises NotImplementedError in {_and(places)}: "
                       "that part is not written yet.",
                       "replace each `raise NotImplementedError()` with your code", grade_id)]


def _enclosing_function(lines: list[str], index: int) -> str | None:
    """The function whose body holds line `index` (the nearest `def` above it, indented less),
    as `Class.method` inside a class."""
    function = _enclosing(lines, index, _DEF)
    if function is None:
        return None
    owner = _enclosing(lines, function[0], _CLASS)
    return f"{owner[1]}.{function[1]}" if owner else function[1]


def _enclosing(lines: list[str], index: int, pattern: re.Pattern) -> tuple[int, str] | None:
    """(line index, name) of the nearest line above `index` matching `pattern` and indented less."""
    indent = len(lines[index]) - len(lines[index].lstrip())
    for above in range(index - 1, -1, -1):
        match = pattern.match(lines[above])
        if match and len(match.group(1)) < indent:
            return above, match.group(2)
    return None


def _error_outputs(number: int, cell, grade_id: str | None) -> list[Unfinished]:
    errors = [output for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    if not errors:
        return []
    error = errors[-1]
    what = f"{error.get('ename', 'Error')}: {error.get('evalue', '')}".rstrip(": ")
    if len(what) > 120:
        what = what[:117] + "..."
    return [Unfinished(number, "error-output", f"{capitalised(cell_label(number, cell.source))} shows an error in "
                       f"its saved output ({what}).", f"fix the cause, then {RESTART_AND_RUN}", grade_id)]


def _never_run(nb) -> list[Unfinished]:
    code = [(number, cell) for number, cell in enumerate(nb.cells, start=1)
            if cell.cell_type == "code" and cell.source.strip()]
    never = [(number, cell) for number, cell in code if cell.get("execution_count") is None]
    if not never:
        return []
    if len(never) == len(code):
        message = f"{NEVER_RUN}: none of its {len(code)} code cells has an output or a run count."
    else:
        listed = [cell_label(number, cell.source) for number, cell in never[:_LISTED]]
        more = f" and {len(never) - _LISTED} more" if len(never) > _LISTED else ""
        were = "was" if len(never) == 1 else "were"
        message = f"{len(never)} of the {len(code)} code cells {were} never run: {', '.join(listed)}{more}."
    return [Unfinished(None, "not-run", message, RESTART_AND_RUN)]


def _handout_cells(nb) -> list[Unfinished]:
    """Read-only cells edited, graded or read-only cells missing, grade ids used twice."""
    found = []
    cells_by_id: dict[str, list[int]] = {}
    for number, cell in enumerate(nb.cells, start=1):
        grade_id = nbgrader(cell).get("grade_id")
        if isinstance(grade_id, str) and nbgrader(cell):
            cells_by_id.setdefault(grade_id, []).append(number)
    for grade_id, numbers in cells_by_id.items():
        if len(numbers) > 1:
            listed = _and([cell_label_in(nb, number) for number in numbers])
            found.append(Unfinished(numbers[1], "duplicate-cell",
                                    f"{capitalised(listed)} are copies of one handout cell ({grade_id}); "
                                    "nbgrader refuses a notebook with two cells of one id.",
                                    "delete the copy (a new cell of your own is made with the + button)", grade_id))
    recorded = recorded_cells(nb)
    expected = ({item["grade_id"]: item for item in recorded} if recorded is not None else
                {nbgrader(cell)["grade_id"]: {"checksum": nbgrader(cell).get("checksum"), "locked": True}
                 for cell in nb.cells if is_locked(cell) and nbgrader(cell).get("grade_id")
                 and nbgrader(cell).get("checksum")})
    for grade_id, item in expected.items():
        numbers = cells_by_id.get(grade_id)
        if not numbers:
            kind = "graded" if item.get("graded") else "read-only"
            was = f', handout {item["label"]}' if item.get("label") else ""
            found.append(Unfinished(None, "graded-cell-missing",
                                    f"The {kind} cell {grade_id}{was} is missing: it was deleted, or its "
                                    "nbgrader metadata was removed.",
                                    "copy that cell back, in its place, from a fresh copy of the handout notebook",
                                    grade_id))
            continue
        cell = nb.cells[numbers[0] - 1]
        if item.get("locked") and nbgrader_checksum(cell) != item["checksum"]:
            found.append(Unfinished(numbers[0], "locked-cell-edited",
                                    f"{capitalised(cell_label_in(nb, numbers[0]))} is the read-only cell {grade_id} "
                                    "of the handout, but it has been changed.",
                                    "restore it from a fresh copy of the handout notebook (the grader uses the "
                                    "handout's version)", grade_id))
    return found


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
