"""A graded notebook's status: what kind of thing happened (`Status`), what exactly (the detail),
and how the two read in grades.csv, feedback, results files and `autograder check`.

    render(Status.CRASHED, "exit code 0")                     # "crashed (exit code 0)"
    Finding(Status.MISSING_NAME, "add, Counter").text         # "missing name add, Counter"
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(enum.Enum):
    """Statuses, most severe first: what stopped all grading of the notebook comes before what stopped
    part of it, which comes before lost points. A student's status is the first that applies."""

    GRADER_ERROR = "grader error"  # the grader itself failed on this submission (see grade.log)
    DUPLICATE_SUBMISSION = "duplicate submission"  # another file gave the same id: each graded, the instructor picks
    UNREADABLE_NOTEBOOK = "unreadable notebook"  # nothing could be graded
    EXCEPTION_AT_IMPORT = "exception at import"  # the extracted module did not load: no probe ran
    CRASHED = "crashed"  # the child died: detail "exit code N" or "signal NAME"
    MEMORY_LIMIT = "memory limit"
    TIME_LIMIT = "time limit"
    MALFORMED_ANSWER = "malformed answer"  # the child sent something the wire format refuses
    EXTRACTION_ERROR = "extraction error"  # a cell did not parse and was skipped: detail "cell N" / "cells N, M"
    MISSING_NAME = "missing name"  # a required class or function is absent: its question's probes did not run
    EXCEPTION_IN_PROBE = "exception in probe"  # some probe raised
    MISSING_ANSWER_CELL = "missing answer cell"  # a manual question's graded cell was deleted: detail its ids
    PARTIAL = "partial"  # everything ran, some points lost
    OK = "ok"  # full marks on the autograded questions

    @property
    def rank(self) -> int:
        """0 for the most severe status."""
        return _RANKS[self]


_RANKS = {status: rank for rank, status in enumerate(Status)}

# How a detail follows its status; the others put it in brackets: "crashed (exit code 0)".
_DETAIL_AFTER = {Status.GRADER_ERROR: ": ", Status.MISSING_NAME: " "}


def render(status: Status, detail: str = "") -> str:
    """The status as every report writes it: "grader error: KeyError: 'x'", "missing name add",
    "extraction error (cell 12)", "time limit"."""
    if not detail:
        return status.value
    if status in _DETAIL_AFTER:
        return f"{status.value}{_DETAIL_AFTER[status]}{detail}"
    return f"{status.value} ({detail})"


@dataclass(frozen=True)
class Finding:
    """A status that applies to a notebook, with its detail ("" when the status says everything)."""

    status: Status
    detail: str = ""

    @property
    def text(self) -> str:
        return render(self.status, self.detail)

    def to_json(self) -> dict:
        return {"status": self.status.value, "detail": self.detail}

    @classmethod
    def from_json(cls, data: dict) -> "Finding":
        """Raises ValueError for a status this version does not know."""
        return cls(Status(data["status"]), data["detail"])
