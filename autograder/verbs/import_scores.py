"""Manual scores marked elsewhere (the ``autograder import-scores`` verb): a Gradescope or Crowdmark
per-question score export, merged into the class's manual marks.

    imported = import_scores(load_graded("hopfield_batchnorm", out), Path("scores.csv"), "gradescope")

The columns accepted (docs/marking.md; samples in examples/lms/):

- **who**: Gradescope's `SID`, else its `Email`; Crowdmark's `Student ID`, else its `Email`.
  A row matches the student whose kit id or LMS id (`lms_id`) is that value; rows that match no
  one are reported, never dropped silently.
- **scores**: one column per manual question, named by its id or its title, with Gradescope's
  decoration allowed around it (`3: Q1a (2.0 pts)`) and Crowdmark's (`Q1a (2)`). Other columns
  (totals, dates, statuses) are ignored. An empty cell leaves the mark as it is.

A score must be a number from 0 to the question's points; the first that is not stops the import
before anything is saved, naming its row and column. Imported marks are given for the answer each
student has now, with the comment "imported from <source>".
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import AutograderError
from autograder.grading.grade import ClassResult
from autograder.grading.manual import ManualScores, Mark

SOURCES = {"gradescope": ("SID", "Email"), "crowdmark": ("Student ID", "Email")}
SOURCE_NAMES = {"gradescope": "Gradescope", "crowdmark": "Crowdmark"}
# "3: Q1a (2.0 pts)", "1.2: Q1a", "Q1a (2)", "Q1a (2 points)"
_DECORATION = re.compile(r"^\s*(?:\d+(?:\.\d+)*:\s*)?(?P<name>.+?)\s*(?:\(\s*[\d.]+\s*(?:pts?|points?)?\s*\))?\s*$")


class ScoresImportError(AutograderError):
    """The score export cannot be read or merged; the message says which row and column."""


@dataclass(frozen=True)
class Imported:
    marks: int
    questions: tuple[str, ...]  # the manual questions found in the file
    unmatched: tuple[str, ...]  # the file's ids that match no student


def import_scores(result: ClassResult, path: Path, source: str) -> Imported:
    """Merge `path` (a `source` export) into `result.out_dir`'s manual scores. Raises ScoresImportError."""
    if source not in SOURCES:
        raise ScoresImportError(f"unknown source {source!r}: choose one of {', '.join(SOURCES)}")
    rows, header = _read(path)
    id_column = next((name for name in SOURCES[source] if name in header), None)
    if id_column is None:
        raise ScoresImportError(f"{path} has no column {' or '.join(SOURCES[source])}, which {SOURCE_NAMES[source]} "
                           f"exports name students by; its columns are {', '.join(header)}")
    columns = _question_columns(header, result)
    if not columns:
        manual = ", ".join(q.id for q in result.config.manual_questions)
        raise ScoresImportError(f"{path} has no column named after a manual question ({manual}); its columns are "
                           f"{', '.join(header)}")
    students = {}
    for student in result.students:
        students.setdefault(student.student, student)
        if student.identity.get("lms_id"):
            students.setdefault(student.identity["lms_id"], student)
    changes, unmatched = [], []
    for number, row in enumerate(rows, start=2):
        who = (row.get(id_column) or "").strip()
        student = students.get(who)
        if student is None:
            unmatched.append(who or f"(row {number}: no {id_column})")
            continue
        for column, question in columns.items():
            text = (row.get(column) or "").strip()
            if not text:
                continue
            points = _points(text, question.points, path, number, column)
            answer = next(q.answer for q in student.questions if q.id == question.id)
            changes.append((student.student, question.id,
                            Mark(points, f"imported from {SOURCE_NAMES[source]}", [], answer)))
    ManualScores.load(result.out_dir, result.config.assignment).mark_all(changes)
    return Imported(len(changes), tuple(q.id for q in columns.values()), tuple(unmatched))


def _read(path: Path) -> tuple[list[dict], list[str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            header = [name.strip() for name in reader.fieldnames or []]
            reader.fieldnames = header
            return list(reader), header
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ScoresImportError(f"{path} cannot be read as CSV ({error})") from None


def _question_columns(header: list[str], result: ClassResult) -> dict:
    """{column: manual question} for the columns named after a manual question's id or title."""
    names = {}
    for question in result.config.manual_questions:
        names[question.id.casefold()] = question
        names.setdefault(question.title.casefold(), question)
    found = {}
    for column in header:
        match = _DECORATION.match(column)
        question = names.get(match["name"].casefold()) if match else None
        if question is not None:
            found[column] = question
    return found


def _points(text: str, maximum: float, path: Path, row: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= maximum:
        raise ScoresImportError(f"{path}, row {row}, column {column!r}: {text!r} is not a score from 0 to {maximum:g}; "
                           "nothing was imported")
    return value
