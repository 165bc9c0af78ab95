"""Write what a graded class gets: the gradebook CSV, feedback per student, Gradescope and Autolab
results, and a table for the terminal.

    write_reports(result, out_dir)       # grades.csv, feedback/, gradescope/ (and autolab/ on request)
    print(class_table(result))

Feedback tells a student what passed, what failed and why, in the probes' own words (their hints
and the comparators' messages, which never hold the reference's values), how the notebook was read
(cells skipped, statements dropped) and which questions wait for a person.

Every text written into a report goes through `autograder.verbs.escape`, the one function of its format:
a student's messages, values, file names and ids can never add structure to Markdown, HTML, CSV or
JSON (see that module for how each format is made inert).
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from autograder.verbs.escape import csv_cell, html_template, json_line, markdown_code, markdown_text
from autograder.grading.grade import MARKED_BY_HAND, NEEDS_MANUAL_GRADING, ClassResult, StudentResult
from autograder.grading.manual import NO_ANSWER, write_atomically
from autograder.grading.status import Finding, Status

GRADESCOPE_VISIBILITY = "after_published"  # hidden probes: students see results once grades are out
GRADESCOPE_OUTPUT_FORMAT = "text"  # shown as written: Gradescope's other formats render HTML or Markdown
DROPPED_SHOWN = 15  # dropped statements listed in feedback; the rest are counted


def write_reports(result: ClassResult, out_dir: Path, autolab: bool | None = None,
                  only: set[str] | None = None) -> list[Path]:
    """Write every report of `result` under `out_dir`; return the files written. `autolab`
    (default: as the batch was asked) adds `autolab/<student>.txt`; `only` limits the files of each
    student to those students (grades.csv is always written whole)."""
    out_dir = Path(out_dir)
    autolab = result.autolab if autolab is None else autolab
    written = [write_csv(result, out_dir / "grades.csv")]
    for student in result.students:
        if only is not None and student.student not in only:
            continue
        feedback = feedback_sections(student)
        title = f"{result.config.title}: feedback for {student.student}"
        written.append(_write(out_dir / "feedback" / f"{student.student}.md", render_markdown(title, feedback)))
        written.append(_write(out_dir / "feedback" / f"{student.student}.html", render_html(title, feedback)))
        written.append(_write(out_dir / "gradescope" / student.student / "results.json",
                              json.dumps(gradescope_results(student), indent=2) + "\n"))
        if autolab:
            written.append(_write(out_dir / "autolab" / f"{student.student}.txt", autolab_line(student) + "\n"))
    return written


def _write(path: Path, text: str) -> Path:
    """Write a report whole or not at all: the marking page rewrites reports while others read them."""
    write_atomically(path, text)
    return path


def points(value: float | None) -> str:
    """A score as people write it: 2, 2.5, 1.667."""
    return "" if value is None else f"{round(value, 3):g}"


# ---- the class -------------------------------------------------------------------------------

CSV_COLUMNS = ("student", "total", "max", "autograded", "autograded_max", "manual", "manual_max")


def question_column(question) -> str:
    """A question's column in grades.csv: its id, with " (manual)" for a question graded by hand."""
    return f"{question.id} (manual)" if question.manual else question.id


def write_csv(result: ClassResult, path: Path) -> Path:
    """One row per student: the grade so far (`total`, autograded and marked points) out of the
    assignment's full marks (`max`), its autograded and manual parts and their maxima, each
    question's points (a manual question's column is "<id> (manual)", empty until it is marked), the status, the manual
    questions still to mark (`manual_pending`, `;`-separated: the row is final when it is empty) and
    those without an answer (`no_answer`), and who the LMS says the student is (`lms`, `lms_id`,
    `name`: empty without an LMS naming). Points stay numbers; the cells a submission can reach
    (student id, status) cannot be read as formulas (`csv_cell`)."""
    file = io.StringIO(newline="")  # the whole table, then the file at once
    writer = csv.writer(file)
    writer.writerow([*CSV_COLUMNS, *(question_column(q) for q in result.config.questions), "status",
                     "manual_pending", "no_answer", "lms", "lms_id", "name"])
    for student in result.students:
        scores = {q.id: points(q.points) for q in student.questions}
        no_answer = [q.id for q in student.questions if q.manual and any(n.startswith(NO_ANSWER) for n in q.notes)]
        writer.writerow([csv_cell(student.student), points(student.grade), points(student.full_marks),
                         points(student.total), points(student.max_total), points(student.manual_total),
                         points(student.manual_max),
                         *(scores.get(q.id, "") for q in result.config.questions), csv_cell(student.status_text),
                         ";".join(q.id for q in student.manual_pending), ";".join(no_answer),
                         *(csv_cell(student.identity.get(key, "")) for key in ("lms", "lms_id", "name"))])
    return _write(path, file.getvalue())


def class_table(result: ClassResult) -> str:
    """A plain-text table for the terminal: student, score, status; then a summary."""
    rows = [("student", "score", "status")]
    rows += [(s.student, f"{points(s.total)}/{points(s.max_total)}", s.status_text) for s in result.students]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]}" for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    kinds = [s.status for s in result.students]
    summary = ", ".join(f"{kinds.count(kind)} {kind.value}" for kind in reversed(Status) if kind in kinds)
    lines += ["", f"{len(result.students)} submissions: {summary}."]
    if result.resumed:
        lines.append(f"{len(result.resumed)} unchanged since the last run: their saved results were reused "
                     "(--force grades them again).")
    pending = [q for q in result.config.manual_questions
               if any(q.id in {p.id for p in s.manual_pending} for s in result.students)]
    if pending:
        counts = {q.id: sum(q.id in {p.id for p in s.manual_pending} for s in result.students) for q in pending}
        listed = ", ".join(f"{q.id} ({points(q.points)} points, {counts[q.id]} of {len(result.students)} unmarked)" for q in pending)
        lines.append(f"Still to grade by hand: {listed}.")
    lines.append(f"Sandbox: {result.isolation}.")
    return "\n".join(lines)


# Status codes stay in grades.csv and results/*.json; students read these in plain words (a grader
# error's detail is for the instructor).
_STATUS_FOR_STUDENTS = {
    Status.GRADER_ERROR: "the grading system failed on this notebook; your instructor will look at it",
    Status.EXCEPTION_IN_PROBE: "your code raised an error in some tests",
    Status.MALFORMED_ANSWER: "your code interfered with how test results are reported",
}


def status_for_students(finding: Finding) -> str:
    return _STATUS_FOR_STUDENTS.get(finding.status, finding.text)


# ---- Gradescope and Autolab ------------------------------------------------------------------

def gradescope_results(student: StudentResult, visibility: str = GRADESCOPE_VISIBILITY) -> dict:
    """Gradescope's autograder results.json: one test per autograded question, each and the whole
    shown to students as `visibility` says (Gradescope's "hidden", "after_due_date",
    "after_published" or "visible")."""
    tests = [{"name": f"{q.id}: {q.title}", "score": q.points, "max_score": q.max_points,
              "output": "\n".join(_question_lines(q)), "output_format": GRADESCOPE_OUTPUT_FORMAT,
              "visibility": visibility}
             for q in student.questions if not q.manual]
    output = [f"Status: {status_for_students(student.finding)}", *student.notes]
    output += [f"{q.id} ({points(q.max_points)} points) {NEEDS_MANUAL_GRADING}" for q in student.manual_pending]
    output += [f"{q.id}: {points(q.points)} / {points(q.max_points)} points, {'; '.join(q.notes)}"
               for q in student.questions if q.manual and q.points is not None]
    return {"score": student.total, "output": "\n".join(output), "output_format": GRADESCOPE_OUTPUT_FORMAT,
            "visibility": visibility, "tests": tests}


def autolab_line(student: StudentResult) -> str:
    """The JSON line Autolab reads from the end of the grader's output: autograded points per question,
    on one line of ASCII whatever the submission did (`json_line`)."""
    return json_line({"scores": {q.id: q.points for q in student.questions if not q.manual}})


# ---- feedback --------------------------------------------------------------------------------

@dataclass
class Section:
    """A part of a student's feedback: a heading, an optional line under it, and items, each a
    sentence and the student's code it is about (shown verbatim, or "")."""
    heading: str
    summary: str = ""
    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, text: str, code: str = "") -> None:
        self.items.append((text, code))


def _question_lines(question) -> list[str]:
    lines = list(question.notes)
    for probe in question.probes:
        mark = "passed" if probe.points >= probe.max_points else "failed"
        line = f"{probe.name}: {mark} ({points(probe.points)}/{points(probe.max_points)})"
        lines.append(f"{line}: {probe.message}" if probe.message else line)
    return lines


def feedback_sections(student: StudentResult) -> list[Section]:
    """What a student's feedback says, in order, independent of the output format."""
    marked = "" if student.manual_pending else f" Grade: {points(student.grade)} / {points(student.full_marks)}."
    overview = Section("Summary", f"Autograded score: {points(student.total)} / {points(student.max_total)} "
                                  f"(status: {status_for_students(student.finding)}).{marked}",
                       [(note, "") for note in student.notes])
    sections = [overview]
    for question in student.questions:
        if question.manual and question.points is None:
            sections.append(Section(f"{question.id}: {question.title}",
                                    f"{points(question.max_points)} points: {NEEDS_MANUAL_GRADING}.",
                                    [(note, "") for note in question.notes if note != NEEDS_MANUAL_GRADING]))
        elif question.manual:
            sections.append(Section(f"{question.id}: {question.title}",
                                    f"{points(question.points)} / {points(question.max_points)} points, {MARKED_BY_HAND}.",
                                    [(note, "") for note in question.notes if note != MARKED_BY_HAND]))
        else:
            sections.append(Section(f"{question.id}: {question.title}",
                                    f"{points(question.points)} / {points(question.max_points)} points.",
                                    [(line, "") for line in _question_lines(question)]))
    sections.append(_extraction_section(student))
    return sections


def _extraction_section(student: StudentResult) -> Section:
    extraction = student.extraction
    if not extraction:
        return Section("How your notebook was read", "The notebook could not be read, so nothing was graded.")
    counts = extraction["counts"]
    section = Section("How your notebook was read",
                      f"Kept: {counts['kept']} imports and definitions. Dropped: {counts['dropped']} other "
                      f"statements (the grader runs only definitions). Skipped: {counts['skipped']} cells that do "
                      "not parse. Cells are counted from 1, markdown cells included.")
    for note in extraction["notes"]:
        section.add(note)
    entries = extraction["entries"]
    skipped = [e for e in entries if e["action"] == "skipped"]
    dropped = [e for e in entries if e["action"] == "dropped"]
    for entry in skipped + dropped[:DROPPED_SHOWN]:
        section.add(f"cell {entry['cell']}, line {entry['line']}: {entry['reason']}", entry["text"])
    if len(dropped) > DROPPED_SHOWN:
        section.add(f"and {len(dropped) - DROPPED_SHOWN} more statements dropped")
    return section


def render_markdown(title: str, sections: list[Section]) -> str:
    """Markdown in which every text renders as itself, on one line (`markdown_text`), and code as
    inline code (`markdown_code`): nothing a student wrote can open a heading, list, link, image or
    HTML."""
    lines = [f"# {markdown_text(title)}", ""]
    for section in sections:
        lines += [f"## {markdown_text(section.heading)}", ""]
        if section.summary:
            lines += [markdown_text(section.summary), ""]
        for item, code in section.items:
            lines.append(f"- {markdown_text(item)}" + (f": {markdown_code(code)}" if code else ""))
        if section.items:
            lines.append("")
    return "\n".join(lines)


def render_html(title: str, sections: list[Section]) -> str:
    """A self-contained page, from a Jinja template that escapes every text."""
    return html_template("feedback/page.html.j2").render(title=title, sections=sections)
