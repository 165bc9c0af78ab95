"""Grade by question (the ``autograder mark`` verb): every student's answer to one manual question
on one page, answers that are identical grouped so that they are marked once.

    marking = Marking.open("hopfield_batchnorm", Path("out/hopfield_batchnorm"))
    marking.question_page("Q1a")                   # the page's HTML
    marking.save("Q1a", group="3f2a...", points=1.5, comment="", rubric=[0])

`autograder mark ASSIGNMENT OUT_DIR` serves these pages on 127.0.0.1 (`mark_server`), for the class
`autograder grade` graded into OUT_DIR. Each page shows, for each group of identical answers, the
students who gave it, their cells as they saw them (Markdown with math, code highlighted, the
outputs' text and images; see `escape.markdown_html` for what a student's markup may do), the
question's rubric from the instructor's notebook, and a score, rubric items and a comment to enter.
A missing or deleted answer, or one still as handed out, is "no answer" and is never scored
unless the grader scores it. Every score is saved at once in OUT_DIR/manual_scores.json
(`grading.manual`), and grades.csv and the feedback are written again with it.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from autograder.analysis.notebook import NotebookError, read_notebook
from autograder.grading.config import GradingConfig, load_config
from autograder.grading.grade import ClassResult, StudentResult, load_graded
from autograder.grading.status import Status
from autograder.grading.manual import (NO_ANSWER, Answer, ManualScores, ScoresError, cell_text, find_answer, rubric,
                                       rubric_items, valid_mark)
from autograder.verbs import report
from autograder.verbs.escape import code_css, code_html, html_template, image_data_url, markdown_html

MAX_OUTPUT_CHARS = 4000  # of one text output shown on the page; the rest is counted
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TEXT_TYPES = ("text/plain",)  # text/html and scripts in outputs are never shown: their plain text is


@dataclass
class Group:
    """Students whose answers to a question are identical (their cells' sources and outputs)."""
    key: str  # digest of the answer as shown; "no-answer" for every kind of no answer
    students: list[str]
    answers: dict[str, str]  # student -> manual.Answer.digest, what each mark is given for
    parts: list[dict]  # the answer as the page shows it (see `_cell_parts`)
    no_answer: str = ""  # why it is no answer, else ""


@dataclass
class QuestionPage:
    question: object  # config Question
    rubric: str
    rubric_items: list[tuple[float, object]]  # (points, what earns them as HTML)
    groups: list[Group] = field(default_factory=list)


class Marking:
    """The marking state of one graded class: its questions' groups and the saved scores."""

    def __init__(self, config: GradingConfig, out_dir: Path, result: ClassResult, scores: ManualScores,
                 gradebook: str | None = None):
        self.config, self.out_dir, self.result, self.scores = config, Path(out_dir), result, scores
        self.gradebook = gradebook  # nbgrader's gradebook URL, written after every mark, or None
        self.pages = self._build_pages()

    @classmethod
    def open(cls, assignment: str | GradingConfig, out_dir: Path, root: Path | None = None,
             gradebook: str | None = None) -> "Marking":
        """Raises ConfigError, or ScoresError when OUT_DIR holds no graded class or a damaged scores
        file. With `gradebook` (nbgrader's gradebook URL), the marks entered in formgrader for
        questions not marked here are taken first, and every mark is written there too."""
        kwargs = {"root": root} if root is not None else {}
        config = assignment if isinstance(assignment, GradingConfig) else load_config(assignment, probes=False, **kwargs)
        if not config.manual_questions:
            raise ScoresError(f"{config.assignment} has no question graded by hand: there is nothing to mark")
        result = load_graded(config, out_dir)
        if gradebook:
            from autograder.verbs.gradebook import marks_from_gradebook
            if marks_from_gradebook(result, gradebook):
                result = load_graded(config, out_dir)
        return cls(config, Path(out_dir), result, ManualScores.load(out_dir, config.assignment), gradebook)

    # ---- building the pages ----------------------------------------------------------------

    def _build_pages(self) -> dict[str, QuestionPage]:
        try:
            source = read_notebook(self.config.source_path, keep_outputs=False)
        except (NotebookError, OSError):
            source = None
        pages = {}
        for question in self.config.manual_questions:
            text = rubric(source, question) if source is not None else ""
            items = [(points, markdown_html(item)) for points, item in rubric_items(text, question.points)]
            pages[question.id] = QuestionPage(question, text, items)
        for student in self.result.students:
            nb, why = self._notebook(student)
            for question in self.config.manual_questions:
                answer = find_answer(nb, question) if nb is not None else None
                self._add(pages[question.id], student.student, answer, why)
        return pages

    @staticmethod
    def _notebook(student: StudentResult):
        """The notebook as graded, or None and why not. What grading refused to read (a symbolic
        link, a file too large) is not read here either: a link could show another file's answers."""
        path = Path(student.notebook)
        if student.status is Status.UNREADABLE_NOTEBOOK or path.is_symlink():
            return None, f"{NO_ANSWER}: the notebook could not be graded ({student.status_text})"
        try:
            return read_notebook(path, keep_outputs=True), ""
        except (NotebookError, OSError) as error:
            return None, f"{NO_ANSWER}: the notebook could not be read ({error})"

    @staticmethod
    def _add(page: QuestionPage, student: str, answer: Answer | None, why: str) -> None:
        if answer is None or not answer.answered:
            key, parts, why = "no-answer", [], why or answer.why_no_answer
        else:
            parts = [part for cell_id, cell in answer.cells for part in _cell_parts(cell_id, cell)]
            key = hashlib.sha256(json.dumps(_shown(answer), sort_keys=True).encode()).hexdigest()[:16]
        digest = answer.digest if answer is not None else ""
        for group in page.groups:
            if group.key == key:
                group.students.append(student)
                group.answers[student] = digest
                if why and why not in group.no_answer.split("; "):
                    group.no_answer += f"; {why}"
                return
        page.groups.append(Group(key, [student], {student: digest}, parts, why))

    # ---- what the pages show -------------------------------------------------------------------

    def group(self, question: str, key: str) -> Group:
        page = self.pages.get(question)
        found = [group for group in page.groups if group.key == key] if page else []
        if not found:
            raise ScoresError(f"there is no answer group {key!r} of question {question!r}")
        return found[0]

    def mark_of(self, question: str, group: Group):
        """The group's mark (its first student's, when it still applies to every student in it), or None."""
        marks = [self.scores.get(student, question) for student in group.students]
        first = marks[0]
        if first is None or any(m is None or (m.points, m.comment, m.rubric) != (first.points, first.comment, first.rubric)
                                for m in marks):
            return None
        if any(mark.answer != group.answers[student] for student, mark in zip(group.students, marks)):
            return None  # the answer changed since it was marked
        return first

    def student_marks(self, question: str, group: Group) -> dict[str, float]:
        """{student: points} of the group's students whose mark applies to their answer as it is."""
        marks = {student: self.scores.get(student, question) for student in group.students}
        return {student: mark.points for student, mark in marks.items()
                if mark is not None and mark.answer == group.answers[student]}

    def progress(self, question: str) -> tuple[int, int]:
        """(students marked, students) for one question, as grades.csv counts them."""
        page = self.pages[question]
        marked = sum(len(self.student_marks(question, group)) for group in page.groups)
        return marked, sum(len(g.students) for g in page.groups)

    def index_page(self, token: str) -> str:
        rows = [(page.question, *self.progress(qid)) for qid, page in self.pages.items()]
        return html_template("mark/index.html.j2").render(title=self.config.title, rows=rows, token=token,
                                                          students=len(self.result.students))

    def question_page(self, question: str, token: str, mathjax: bool) -> str:
        page = self.pages.get(question)
        if page is None:
            raise ScoresError(f"{self.config.assignment} has no manual question {question!r}")
        ids = list(self.pages)
        position = ids.index(question)
        marked, total = self.progress(question)
        cards = [(group, self.mark_of(question, group), self.student_marks(question, group)) for group in page.groups]
        return html_template("mark/question.html.j2").render(
            title=self.config.title, page=page, cards=cards, marked=marked, total=total, token=token,
            mathjax=mathjax, rubric_html=markdown_html(page.rubric) if page.rubric else "",
            steps=_score_steps(page.question.points),
            previous=ids[position - 1] if position else None,
            next=ids[position + 1] if position + 1 < len(ids) else None)

    @staticmethod
    def stylesheet() -> str:
        return code_css()

    # ---- saving ------------------------------------------------------------------------------

    def save(self, question: str, group_key: str, points, comment: str = "", rubric_ticked=(),
             clear: bool = False) -> dict:
        """Give every student of one group the same mark (or clear it), save it and write the
        reports again; return the question's progress. Raises ScoresError for a bad request."""
        page = self.pages.get(question)
        if page is None:
            raise ScoresError(f"{self.config.assignment} has no manual question {question!r}")
        group = self.group(question, group_key)
        mark = None if clear else valid_mark(points, page.question.points, comment, rubric_ticked)
        self.scores.mark_all([(student, question, mark and replace(mark, answer=group.answers[student]))
                              for student in group.students])
        self.write_reports(set(group.students), cleared=question if clear else None)
        marked, total = self.progress(question)
        return {"marked": marked, "total": total}

    def write_reports(self, students: set[str] | None = None, cleared: str | None = None) -> None:
        """grades.csv and the reports of `students` (default: everyone's), with the marks as they are
        now, and their grades in nbgrader's gradebook when one is in use (`cleared`: the question
        whose mark was just cleared)."""
        self.result = load_graded(self.config, self.out_dir)
        report.write_reports(self.result, self.out_dir, only=students)
        if self.gradebook:
            from autograder.verbs.gradebook import write_gradebook
            write_gradebook(self.result, self.gradebook, only=students, cleared=cleared)


def _score_steps(points: float) -> list[float]:
    """The scores offered as buttons: 0 to `points` by halves."""
    return [step / 2 for step in range(int(points * 2) + 1)]


def _shown(answer: Answer) -> list:
    """What the page shows of an answer, as plain data: the cells' sources and outputs."""
    return [[cell_id, cell_text(cell), [_output_key(o) for o in cell.get("outputs", [])]] if cell is not None else [cell_id]
            for cell_id, cell in answer.cells]


def _output_key(output) -> object:
    return {key: output.get(key) for key in ("output_type", "name", "text", "data", "ename", "evalue")}


def _cell_parts(cell_id: str, cell) -> list[dict]:
    """One cell as the page shows it: {"kind": "markdown" | "code" | "missing", ...}."""
    if cell is None:
        return [{"kind": "missing", "id": cell_id}]
    source = cell_text(cell)
    if cell.get("cell_type") == "markdown":
        return [{"kind": "markdown", "id": cell_id, "html": markdown_html(source, cell.get("attachments"))}]
    if cell.get("cell_type") != "code":
        return [{"kind": "raw", "id": cell_id, "text": source}]
    return [{"kind": "code", "id": cell_id, "html": code_html(source),
             "outputs": [shown for output in cell.get("outputs", []) for shown in _output_parts(output)]}]


def _output_parts(output) -> list[dict]:
    """A code cell's output: its images (as data URLs), else its plain text; never its HTML or scripts."""
    kind = output.get("output_type")
    if kind == "stream":
        return [_text(output.get("text", ""))]
    if kind == "error":
        traceback = "\n".join(output.get("traceback") or [f"{output.get('ename')}: {output.get('evalue')}"])
        return [_text(_ANSI.sub("", traceback), error=True)]
    data = output.get("data") or {}
    for mime in ("image/png", "image/jpeg", "image/gif", "image/svg+xml"):
        if mime in data:
            url = image_data_url(mime, data[mime])
            if url:
                return [{"kind": "image", "src": url}]
    if "text/plain" in data:
        return [_text(data["text/plain"])]
    return []


def _text(text, error: bool = False) -> dict:
    text = "".join(text) if isinstance(text, list) else str(text)
    cut = len(text) - MAX_OUTPUT_CHARS
    shown = text[:MAX_OUTPUT_CHARS] + (f"\n... ({cut} more characters)" if cut > 0 else "")
    return {"kind": "error" if error else "text", "text": shown}
