"""The questions graded by hand: where a student's answer is, and the scores a grader gives it.

    answer = find_answer(nb, question)            # the cells of question.cells, what is missing
    scores = ManualScores.load(out_dir, "hopfield_batchnorm")
    scores.mark("jsmith", "Q1a", Mark(points=1.5, comment="sign of b_k", answer=answer.digest))

A question's cells are named by their nbgrader `grade_id` (`cells` in grading.toml); the last one
is the graded cell, which holds the points and, in the instructor's notebook, the rubric (the
paragraph that starts with `*Marking`). A student's answer is "no answer" when the graded cell was
deleted or when no cell of the question holds more than nbgrader's placeholder: such an answer is
shown as "no answer" and is never scored by itself, neither 0 nor full.

Scores live in `OUT_DIR/manual_scores.json`, next to the grading output, one `Mark` per student and
question, with the digest of the answer it was given for: a mark whose answer has changed since
(the student resubmitted) no longer counts, and the question is to be marked again. Every change
is written at once, atomically (a temporary file, fsync, rename), so a crash or a reload never
loses an entered score, and a damaged file is refused rather than overwritten.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.errors import AutograderError

SCORES_FILE = "manual_scores.json"
SCORES_FORMAT = 1
NO_ANSWER = "no answer"
# What nbgrader's generate_assignment leaves in an answer cell.
PLACEHOLDERS = ("YOUR ANSWER HERE",)
RUBRIC_START = re.compile(r"^\*Marking\b", re.MULTILINE)


class ScoresError(AutograderError):
    """The manual scores file cannot be read or a mark is not valid; the message says which and why."""


def grade_id(cell) -> str | None:
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    value = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
    return value if isinstance(value, str) else None


def cell_text(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _is_placeholder(cell) -> bool:
    """The cell holds nothing but what nbgrader left in it (comments aside, in a code cell)."""
    text = cell_text(cell)
    if cell.get("cell_type") == "code":
        lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
        return lines in ([], ["raise NotImplementedError()"])
    return text.strip() in ("", *PLACEHOLDERS)


def _is_answer_cell(cell) -> bool:
    """A cell the student writes in: nbgrader's solution cells (any cell of a notebook without nbgrader's metadata)."""
    nbgrader = cell.get("metadata", {}).get("nbgrader")
    return not isinstance(nbgrader, dict) or bool(nbgrader.get("solution"))


@dataclass
class Answer:
    """A student's answer to one manual question: the question's cells found by id, in the order of
    `question.cells` (None where the notebook lacks one)."""
    question: str
    cells: list[tuple[str, dict | None]]
    graded_cell: str  # the id of the cell that holds the points
    has_cell_ids: bool = True  # False: the notebook has no nbgrader cell ids at all (not made by a release)

    @property
    def missing(self) -> list[str]:
        return [cell_id for cell_id, cell in self.cells if cell is None]

    @property
    def deleted(self) -> bool:
        """The graded cell is not in a notebook that has nbgrader's cell ids."""
        return self.has_cell_ids and self.graded_cell in self.missing

    @property
    def answered(self) -> bool:
        return self.graded_cell not in self.missing and any(
            cell is not None and _is_answer_cell(cell) and not _is_placeholder(cell) for _, cell in self.cells)

    @property
    def digest(self) -> str:
        """SHA-256 of the cells' sources ("" for no answer): what a mark was given for."""
        if not self.answered:
            return ""
        text = "\0".join(f"{cell_id}\0{cell_text(cell) if cell is not None else ''}" for cell_id, cell in self.cells)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def why_no_answer(self) -> str:
        if self.deleted:
            return f"{NO_ANSWER}: the answer cell {self.graded_cell} was deleted"
        if not self.has_cell_ids:
            return f"{NO_ANSWER}: the notebook has no nbgrader cell ids, so its answer cell {self.graded_cell} cannot be found"
        return f"{NO_ANSWER}: the answer cells are as handed out" if not self.answered else ""


def find_answer(nb, question) -> Answer:
    """The cells of `question` (a config Question) in the notebook `nb`: the first cell of each id."""
    by_id: dict[str, dict] = {}
    for cell in nb.cells:
        by_id.setdefault(grade_id(cell), cell)
    return Answer(question.id, [(cell_id, by_id.get(cell_id)) for cell_id in question.cells], question.cells[-1],
                  has_cell_ids=any(cell_id is not None for cell_id in by_id))


def rubric(source_nb, question) -> str:
    """The rubric of `question` in the instructor's notebook: from `*Marking` to the end of its cell,
    in the question's cells; "" when there is none."""
    parts = []
    for cell_id, cell in find_answer(source_nb, question).cells:
        match = RUBRIC_START.search(cell_text(cell)) if cell is not None else None
        if match:
            text = cell_text(cell)[match.start():]
            parts.append(text.split("### END SOLUTION")[0].strip())
    return "\n\n".join(parts)


# A rubric item: "**1** for ..." (up to the next "; **N**") or "1 mark for ..." / ", 1 for ...".
_RUBRIC_ITEM = re.compile(r"(?:\*\*(\d+(?:\.\d+)?)\*\*|(?<![\w.])(\d+(?:\.\d+)?)(?: marks?)?)\s+for\s+(.+?)"
                          r"(?=[;,]\s+(?:and\s+)?(?:\*\*\d|\d+(?:\.\d+)?(?: marks?)?\s+for\s)|$)", re.DOTALL)


def rubric_items(text: str, points: float) -> list[tuple[float, str]]:
    """The items of a rubric as (points, what earns them), in order, when they add up to `points`
    (an item's own breakdown in brackets stays in its text); else []."""
    body = re.sub(r"^\*Marking[^*]*\*:?\s*", "", text.strip())
    masked = _mask_brackets(body)
    items = []
    # What follows the list (exceptions, caps) is read, not clicked: items stop at the first sentence without one.
    for sentence in re.finditer(r".+?(?:\.\s+(?=[A-Z])|$)", masked, re.DOTALL):
        end = sentence.start() + len(sentence[0].rstrip())
        found = [(float(m[1] or m[2]), " ".join(body[m.start(3):m.end(3)].split()).rstrip(".;,"))
                 for m in _RUBRIC_ITEM.finditer(masked, sentence.start(), end)]
        if not found:
            if items:
                break
            continue
        items += found
    return items if items and abs(sum(p for p, _ in items) - points) < 1e-9 else []


def _mask_brackets(text: str) -> str:
    """`text` with what is inside brackets replaced by spaces (same length), so items split at depth 0."""
    out, depth = [], 0
    for char in text:
        depth += char == "("
        out.append(" " if depth and char not in "()" else char)
        depth -= char == ")" and depth > 0
    return "".join(out)


# ---- the scores --------------------------------------------------------------------------------

@dataclass
class Mark:
    """A grader's score for one student's answer to one question."""
    points: float
    comment: str = ""
    rubric: list[int] = field(default_factory=list)  # the rubric items ticked, by position
    answer: str = ""  # Answer.digest of what was marked


class ManualScores:
    """The manual scores of one graded class (see the module's docstring). Thread-safe."""

    def __init__(self, path: Path, assignment: str, marks: dict[str, dict[str, Mark]] | None = None):
        self.path, self.assignment = Path(path), assignment
        self.marks: dict[str, dict[str, Mark]] = marks or {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, out_dir: Path, assignment: str) -> "ManualScores":
        """The scores saved in `out_dir`, or none yet. Raises ScoresError for a damaged file or one
        of another assignment."""
        path = Path(out_dir) / SCORES_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path, assignment)
        except (OSError, ValueError) as error:
            raise ScoresError(f"{path} cannot be read ({error}); it is left as it is: repair or move it") from None
        try:
            if data["format"] != SCORES_FORMAT:
                raise ScoresError(f"{path} has format {data['format']!r}; this version reads {SCORES_FORMAT}")
            if data["assignment"] != assignment:
                raise ScoresError(f"{path} holds the scores of {data['assignment']!r}, not of {assignment!r}")
            marks = {student: {question: Mark(**mark) for question, mark in questions.items()}
                     for student, questions in data["marks"].items()}
        except (KeyError, TypeError, AttributeError) as error:
            raise ScoresError(f"{path} is not a manual scores file ({type(error).__name__}: {error})") from None
        return cls(path, assignment, marks)

    def get(self, student: str, question: str) -> Mark | None:
        return self.marks.get(student, {}).get(question)

    def mark(self, student: str, question: str, mark: Mark | None) -> None:
        """Set (or, with None, clear) one mark and save the file."""
        self.mark_all([(student, question, mark)])

    def mark_all(self, changes: list[tuple[str, str, Mark | None]]) -> None:
        """Set or clear several marks (student, question, mark or None), then save the file once."""
        with self._lock:
            for student, question, mark in changes:
                if mark is None:
                    self.marks.get(student, {}).pop(question, None)
                else:
                    self.marks.setdefault(student, {})[question] = mark
            self._save()

    def _save(self) -> None:
        data = {"format": SCORES_FORMAT, "assignment": self.assignment,
                "marks": {student: {question: asdict(mark) for question, mark in sorted(questions.items())}
                          for student, questions in sorted(self.marks.items()) if questions}}
        write_atomically(self.path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(temporary, "w", encoding="utf-8", newline="") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def valid_mark(points, max_points: float, comment="", rubric_ticked=()) -> Mark:
    """A Mark from what a grader entered; raises ScoresError when the points are not a number
    between 0 and `max_points`."""
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not 0 <= points <= max_points:
        raise ScoresError(f"a score must be a number from 0 to {max_points:g}, not {points!r}")
    if not isinstance(comment, str) or not all(isinstance(i, int) and not isinstance(i, bool) for i in rubric_ticked):
        raise ScoresError("a comment must be text and rubric items their positions")
    return Mark(float(points), comment, sorted(set(rubric_ticked)))
