"""The final grades in the file each LMS imports (the ``autograder export`` verb).

    export_grades(load_graded("hopfield_batchnorm", out), "moodle", Path("moodle.csv"))

One row per student, the grade being the autograded and the manual points together, out of the
assignment's full marks. Students are matched to the LMS by the LMS's own user id, which grading
took from the names in its "download all" zip (`discovery.LmsIdentity`), or by a roster
(`--roster`, below). docs/marking.md describes every format with an example; the samples are
examples/lms/.

| format | file | the LMS matches rows by |
| --- | --- | --- |
| `moodle` | the assignment's offline grading worksheet (Grade → Upload grading worksheet) | `Identifier` "Participant N" |
| `canvas` | a gradebook CSV (Grades → Import) with one assignment column and the "Points Possible" row | `ID` (user id) |
| `d2l` | a grade import CSV (Grades → Import) for one numeric grade item | `OrgDefinedId`, else `Username` (from the roster) |
| `csv` | the kit's own: student, LMS, LMS id, name, grade, maximum and its parts | - |

A roster is a CSV with a column `lms_id` (or `student`, the kit's id) and any of `name`, `email`,
`sis_id`, `login`, `org_defined_id`, `username`; it fills in what the download names lack (D2L's
OrgDefinedId, e-mail addresses) and tells which students have no submission and which submissions
match no one. Export refuses, listing them, when some manual question is not marked (unless
`allow_unmarked`, and then unmarked questions count 0), when two rows would have the same LMS id,
and when a student has no id the LMS can match. Every text cell is guarded against formulas
(`escape.csv_cell`).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from autograder.errors import AutograderError
from autograder.grading.grade import ClassResult, StudentResult
from autograder.verbs.escape import csv_cell
from autograder.verbs.report import points

FORMATS = ("canvas", "moodle", "d2l", "csv")
DEFAULT_FILES = {"moodle": "moodle_grading_worksheet.csv", "canvas": "canvas_gradebook.csv",
                 "d2l": "d2l_grade_import.csv", "csv": "final_grades.csv"}
ROSTER_COLUMNS = ("lms_id", "student", "name", "email", "sis_id", "login", "org_defined_id", "username")
MOODLE_STATUS = "Submitted for grading"
UNMARKED_SHOWN = 20


class GradeExportError(AutograderError):
    """The grades cannot be exported as asked; the message lists what is missing."""


@dataclass
class Row:
    """What the LMS files say about one student."""
    student: str
    lms: str
    lms_id: str
    name: str
    grade: float
    full_marks: float
    autograded: float
    manual: float
    pending: list[str]
    roster: dict = field(default_factory=dict)

    def get(self, column: str) -> str:
        return self.roster.get(column) or {"lms_id": self.lms_id, "name": self.name}.get(column, "")


@dataclass(frozen=True)
class Exported:
    path: Path
    rows: int
    unmatched: tuple[str, ...]  # students the roster does not list
    absent: tuple[str, ...]  # roster rows without a submission (their lms_id or student)
    unmarked: tuple[str, ...]  # students with manual questions unmarked (exported with allow_unmarked)


def export_grades(result: ClassResult, fmt: str, output: Path, *, allow_unmarked: bool = False,
                  roster: Path | None = None) -> Exported:
    """Write `result`'s grades as `fmt` (one of FORMATS) to `output`. Raises GradeExportError."""
    if fmt not in FORMATS:
        raise GradeExportError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    rows = [_row(student) for student in result.students]
    unmarked = [row for row in rows if row.pending]
    if unmarked and not allow_unmarked:
        listed = "; ".join(f"{row.student}: {', '.join(row.pending)}" for row in unmarked[:UNMARKED_SHOWN])
        more = f"; and {len(unmarked) - UNMARKED_SHOWN} more" if len(unmarked) > UNMARKED_SHOWN else ""
        raise GradeExportError(f"{len(unmarked)} students have manual questions not marked yet ({listed}{more}); mark "
                          f"them with `autograder mark`, or export anyway with --allow-unmarked (they count 0)")
    unmatched, absent = _match_roster(rows, roster) if roster else ([], [])
    text = {"moodle": _moodle, "canvas": _canvas, "d2l": _d2l, "csv": _plain}[fmt](rows, result)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8", newline="")
    return Exported(output, len(rows), tuple(unmatched), tuple(absent), tuple(row.student for row in unmarked))


def _row(student: StudentResult) -> Row:
    identity = student.identity or {}
    return Row(student.student, identity.get("lms", ""), identity.get("lms_id", ""), identity.get("name", ""),
               student.grade, student.full_marks, student.total, student.manual_total,
               [q.id for q in student.manual_pending])


# ---- the roster --------------------------------------------------------------------------------

def read_roster(path: Path) -> list[dict]:
    """The roster's rows with the known columns (lower case, trimmed). Raises GradeExportError."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            header = [(name or "").strip().lower() for name in reader.fieldnames or []]
            if not {"lms_id", "student"} & set(header):
                raise GradeExportError(f"the roster {path} needs a column lms_id or student; its columns are "
                                  f"{', '.join(header) or 'none'}")
            return [{key: (value or "").strip() for key, value in zip(header, row.values()) if key in ROSTER_COLUMNS}
                    for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise GradeExportError(f"the roster {path} cannot be read ({error})") from None


def _match_roster(rows: list[Row], path: Path) -> tuple[list[str], list[str]]:
    """Give each row its roster entry (by LMS id, else by the kit's id); return the students the
    roster does not list and the roster's entries without a submission."""
    entries = read_roster(path)
    by_lms = {entry["lms_id"]: entry for entry in entries if entry.get("lms_id")}
    by_student = {entry["student"]: entry for entry in entries if entry.get("student")}
    used, unmatched = set(), []
    for row in rows:
        entry = by_lms.get(row.lms_id) if row.lms_id else None
        entry = entry or by_student.get(row.student)
        if entry is None:
            unmatched.append(row.student)
            continue
        used.add(id(entry))
        row.roster = entry
        row.lms_id = entry.get("lms_id") or row.lms_id
        row.name = entry.get("name") or row.name
    absent = [entry.get("lms_id") or entry.get("student", "") for entry in entries if id(entry) not in used]
    return unmatched, absent


# ---- the formats -------------------------------------------------------------------------------

def _require(rows: list[Row], column: str, fmt: str, why: str) -> None:
    lacking = [row.student for row in rows if not row.get(column)]
    if lacking:
        raise GradeExportError(f"{fmt} matches students by {why}, and {len(lacking)} have none: "
                          f"{', '.join(lacking[:UNMARKED_SHOWN])}; grade the LMS's own download, or give a "
                          f"--roster with a column {column}")
    seen: dict[str, str] = {}
    for row in rows:
        other = seen.setdefault(row.get(column), row.student)
        if other != row.student:
            raise GradeExportError(f"{row.student} and {other} have the same {column} {row.get(column)!r} "
                              "(two submissions of one student): keep one and grade again")


def _csv(records: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for record in records:
        writer.writerow([csv_cell(cell) if isinstance(cell, str) else cell for cell in record])
    return buffer.getvalue()


def _moodle(rows: list[Row], result: ClassResult) -> str:
    _require(rows, "lms_id", "Moodle", "its participant number (Identifier)")
    header = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
              "Last modified (submission)", "Last modified (grade)", "Feedback comments"]
    return _csv([header] + [[f"Participant {row.lms_id}", row.name, row.get("email"), MOODLE_STATUS,
                             f"{row.grade:.2f}", f"{row.full_marks:.2f}", "Yes", "", "", ""] for row in rows])


def _canvas(rows: list[Row], result: ClassResult) -> str:
    _require(rows, "lms_id", "Canvas", "its user id (ID)")
    column = result.config.title
    full = max((row.full_marks for row in rows), default=0)
    return _csv([["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column],
                 ["    Points Possible", "", "", "", "", points(full)]]
                + [[row.name, row.lms_id, row.get("sis_id"), row.get("login"), "", points(row.grade)] for row in rows])


def _d2l(rows: list[Row], result: ClassResult) -> str:
    key = "org_defined_id" if all(row.get("org_defined_id") for row in rows) else "username"
    _require(rows, key, "D2L", "OrgDefinedId or Username, which its download names do not hold,")
    title = "OrgDefinedId" if key == "org_defined_id" else "Username"
    prefix = "#" if key == "username" else ""  # D2L writes and reads usernames with a leading '#'
    return _csv([[title, f"{result.config.title} Points Grade", "End-of-Line Indicator"]]
                + [[f"{prefix}{row.get(key)}", points(row.grade), "#"] for row in rows])


def _plain(rows: list[Row], result: ClassResult) -> str:
    header = ["student", "lms", "lms_id", "name", "grade", "max", "autograded", "manual", "manual_pending"]
    return _csv([header] + [[row.student, row.lms, row.lms_id, row.name, points(row.grade), points(row.full_marks),
                             points(row.autograded), points(row.manual), ";".join(row.pending)] for row in rows])
