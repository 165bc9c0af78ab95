"""Write a graded class into nbgrader's gradebook (``autograder grade --gradebook [URL]``).

    write_gradebook(result, "sqlite:///gradebook.db")

Through nbgrader's own API (`nbgrader.api.Gradebook`, any SQLAlchemy URL: SQLite by default,
PostgreSQL with `postgresql://user@host/db`), so that `nbgrader formgrader` and `nbgrader export`
read the kit's grades as their own:

- the assignment and its notebook (named after the assignment), with one grade cell per question
  of grading.toml: the question's graded cell (the last of its `cells`), worth its points, and a
  solution cell of the same name for a manual question (where formgrader keeps comments);
- each student (with the first and last name the LMS shows, when it shows one), and their
  submission with, per grade cell, the autograded score (`auto_score`,
  nothing left to grade by hand) or, for a manual question, the kit's mark (`manual_score`) when
  it has one; an unmarked one stays `needs_manual_grade`, and a score a grader already entered in
  formgrader is kept;
- with `course_dir`, each graded notebook copied to nbgrader's
  `autograded/<student>/<assignment>/<assignment>.ipynb`, where formgrader opens it.

Writing again updates the same rows: it never duplicates a student or a submission.
"""
from __future__ import annotations

import contextlib
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

from autograder.analysis.notebook import NotebookError, read_notebook
from autograder.errors import AutograderError
from autograder.grading.grade import ClassResult
from autograder.grading.manual import ManualScores, find_answer

COURSE_ID = "nn-course"  # c.CourseDirectory.course_id in nbgrader_config.py
DEFAULT_URL = "sqlite:///gradebook.db"  # nbgrader's own default, relative to the folder it runs in


class GradebookError(AutograderError):
    """The gradebook cannot be opened or written; the message says which and why."""


@dataclass(frozen=True)
class GradebookWritten:
    url: str
    students: int
    grades: int  # grade rows written
    pending: int  # manual grade cells still to mark


def write_gradebook(result: ClassResult, db_url: str = DEFAULT_URL, course_dir: Path | None = None,
                    course_id: str = COURSE_ID, only: set[str] | None = None,
                    cleared: str | None = None) -> GradebookWritten:
    """Write `result` (its marks included) into the gradebook at `db_url`; `only`: just these
    students' grades (the marking page, after a mark), `cleared`: the manual question whose mark
    was just cleared, whose score in the gradebook goes too. Raises GradebookError."""
    from nbgrader.api import Gradebook, InvalidEntry, MissingEntry  # here: only this verb pays for nbgrader
    from sqlalchemy.exc import SQLAlchemyError

    config = result.config
    notebook = config.source_path.stem
    cell_types = _cell_types(result)
    scores = ManualScores.load(result.out_dir, config.assignment)
    grades = pending = 0
    try:
        with _nbgrader_quietly(), Gradebook(db_url, course_id=course_id) as gradebook:
            gradebook.update_or_create_assignment(config.assignment)
            gradebook.update_or_create_notebook(notebook, config.assignment)
            for question in config.questions:
                cell = question.cells[-1]
                gradebook.update_or_create_grade_cell(cell, notebook, config.assignment, max_score=question.points,
                                                      cell_type=cell_types.get(cell, "code"))
                if question.manual:
                    gradebook.update_or_create_solution_cell(cell, notebook, config.assignment)
            for student in result.students:
                if only is not None and student.student not in only:
                    continue
                first, _, last = student.identity.get("name", "").partition(" ")
                gradebook.update_or_create_student(student.student, **({"first_name": first, "last_name": last}
                                                                         if first else {}))
                try:
                    gradebook.find_submission(config.assignment, student.student)
                except MissingEntry:
                    gradebook.add_submission(config.assignment, student.student)
                for question in student.questions:
                    spec = next(q for q in config.questions if q.id == question.id)
                    grade = _grade(gradebook, spec.cells[-1], notebook, config.assignment, student.student)
                    if not question.manual:
                        grade.auto_score, grade.needs_manual_grade = question.points, False
                        grades += 1
                        continue
                    comment = _comment(gradebook, spec.cells[-1], notebook, config.assignment, student.student)
                    if question.points is not None:
                        grade.manual_score, grade.needs_manual_grade = question.points, False
                        mark = scores.get(student.student, question.id)
                        comment.manual_comment = mark.comment if mark else None
                    elif grade.manual_score is None or question.id == cleared:
                        grade.manual_score, grade.needs_manual_grade = None, True
                    pending += bool(grade.needs_manual_grade)
                    grades += 1
                if course_dir is not None:
                    _place_notebook(Path(student.notebook), Path(course_dir), student.student, config.assignment)
            gradebook.db.commit()
    except (SQLAlchemyError, InvalidEntry) as error:
        raise GradebookError(f"the gradebook {db_url} cannot be written: {type(error).__name__}: "
                             f"{str(error).splitlines()[0]}") from None
    return GradebookWritten(db_url, len(result.students), grades, pending)


def marks_from_gradebook(result: ClassResult, db_url: str, course_id: str = COURSE_ID) -> int:
    """Copy into the kit's marks the manual scores someone entered in formgrader for questions the
    kit has no mark for; return how many. The marking page calls this when it opens."""
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SQLAlchemyError

    from autograder.grading.manual import Mark
    config = result.config
    notebook = config.source_path.stem
    changes = []
    try:
        with _nbgrader_quietly(), Gradebook(db_url, course_id=course_id) as gradebook:
            for student in result.students:
                for question in (q for q in student.questions if q.manual and q.points is None):
                    cell = next(q for q in config.questions if q.id == question.id).cells[-1]
                    try:
                        grade = gradebook.find_grade(cell, notebook, config.assignment, student.student)
                        comment = gradebook.find_comment(cell, notebook, config.assignment, student.student)
                    except MissingEntry:
                        continue
                    if grade.manual_score is not None and 0 <= grade.manual_score <= question.max_points:
                        changes.append((student.student, question.id,
                                        Mark(float(grade.manual_score), comment.manual_comment or "", [], question.answer)))
    except SQLAlchemyError as error:
        raise GradebookError(f"the gradebook {db_url} cannot be read: {type(error).__name__}: "
                             f"{str(error).splitlines()[0]}") from None
    if changes:
        ManualScores.load(result.out_dir, config.assignment).mark_all(changes)
    return len(changes)


def schema_version() -> str:
    """The version of nbgrader's gradebook schema (its alembic head), as `alembic heads` says it."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import _temp_alembic_ini
    with _temp_alembic_ini("sqlite://") as ini:
        return ScriptDirectory.from_config(Config(ini)).get_current_head()


@contextlib.contextmanager
def _nbgrader_quietly():
    """nbgrader's Gradebook, stamping a new database, asks the `alembic` command for the schema's
    version: a new Python process (seconds on a busy machine), which fails when this Python's
    folder is not on PATH (`.venv/bin/autograder` run directly). The same answer comes from
    alembic's API in this process. nbgrader's `add_submission` also makes SQLAlchemy warn about
    objects it builds before adding them, which is harmless."""
    import nbgrader.api
    from sqlalchemy.exc import SAWarning

    original = nbgrader.api.get_alembic_version
    nbgrader.api.get_alembic_version = schema_version
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)
            yield
    finally:
        nbgrader.api.get_alembic_version = original


def _grade(gradebook, cell: str, notebook: str, assignment: str, student: str):
    """The student's grade of one grade cell."""
    from nbgrader.api import Grade
    return _submitted(gradebook, Grade, gradebook.find_grade, gradebook.find_grade_cell, cell, notebook, assignment,
                      student)


def _comment(gradebook, cell: str, notebook: str, assignment: str, student: str):
    """The student's comment of one solution cell."""
    from nbgrader.api import Comment
    return _submitted(gradebook, Comment, gradebook.find_comment, gradebook.find_solution_cell, cell, notebook,
                      assignment, student)


def _submitted(gradebook, model, find, find_cell, cell: str, notebook: str, assignment: str, student: str):
    """The row `find` gives, made (a `model` of the cell `find_cell` gives) when the cell is newer
    than the student's submission."""
    from nbgrader.api import MissingEntry
    try:
        return find(cell, notebook, assignment, student)
    except MissingEntry:
        row = model(cell_id=find_cell(cell, notebook, assignment).id,
                    notebook=gradebook.find_submission_notebook(notebook, assignment, student))
        gradebook.db.add(row)
        return row


def _cell_types(result: ClassResult) -> dict[str, str]:
    """nbgrader's cell type ("code" or "markdown") of each question's graded cell, from the source."""
    try:
        source = read_notebook(result.config.source_path, keep_outputs=False)
    except (NotebookError, OSError):
        return {}
    types = {}
    for question in result.config.questions:
        cell = dict(find_answer(source, question).cells).get(question.cells[-1])
        if cell is not None and cell.get("cell_type") in ("code", "markdown"):
            types[question.cells[-1]] = cell["cell_type"]
    return types


def _place_notebook(notebook: Path, course_dir: Path, student: str, assignment: str) -> None:
    """Copy a graded notebook to nbgrader's autograded/ layout (nothing for one that cannot be read)."""
    if notebook.is_file() and not notebook.is_symlink():
        target = course_dir / "autograded" / student / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(notebook, target)
