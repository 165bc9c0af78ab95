"""Check a notebook before handing it in (the ``autograder check`` verb).

A student runs ``autograder check my.ipynb`` and learns, before any grader does, whether the notebook
will grade and whether it is ready to hand in. Every problem names its cell (1-based among all cells,
markdown included, and its first line quoted, since JupyterLab shows no cell numbers) and comes with a
one-line fix:

- the submission rules of `autograder.analysis.rules`: imports outside the first code cell, code in a
  definition cell that the grader would drop (listing those lines), cells that do not parse, imports
  outside the assignment's allow-list;
- the names grading.toml requires: missing, the wrong kind (class vs function), or parameters other
  than the grader's. Parameters are read from the code's syntax tree, never by running it.

Then the assignment's *visible* checks (the file grading.toml names as ``checks``, written with the
probe API of the hidden probes) run on the extracted module in the grading sandbox and are judged by
grading's own `grade.grade_notebook`, as the probes of a copy of the assignment's config, against the
reference solution's values stored by ``autograder release`` (see `autograder.verbs.bundle`); the result
is shown per question.

Where the grading config comes from:

- student: the release folder as handed out, with the check bundle `check/` beside the notebook
  (its grading.toml names the assignment, its expected.json holds the reference's values). Nothing
  else is needed: no `source/`, no `assignments/`, no hidden probes.
- TA or instructor, in the course tree: `assignments/<a>/grading.toml`, the assignment guessed from
  the notebook, the expected values from `release/<a>/check/`; when those are missing or made for
  another version of the checks, the reference runs live if `source/<a>/` is there.

The hidden probes file is never opened.

The run is graded exactly as `autograder grade` grades a submission (in a sandbox that the command line
launches before it reads the notebook, preloading what the one run needs), so the report gives its status
in grade's own words (`autograder.grading.status`): "time limit", "memory limit", "crashed (exit code 0)",
"malformed answer", "exception at import", ... or "partial" / "ok" when everything ran.

Then what is not finished, which would cost marks although the notebook grades
(`autograder.analysis.unfinished`, each item with its cell quoted and a fix): answer cells still
unanswered (``YOUR ANSWER HERE``, or only the stub ``raise NotImplementedError()``), leftover stubs,
error outputs saved in the notebook, cells never run, read-only cells edited (nbgrader's checksum
against the handout's) or graded and read-only cells missing, copied cells, functions or methods
whose parameters differ from the handout's, and the visible checks that fail. Each question of
grading.toml gets a verdict (ready, or what is left), and the last line says whether the notebook
will grade and whether it is ready to hand in.

Exit codes, for a script gating a hand-in (`autograder check nb.ipynb && submit`):

- 0: ready to hand in: it will grade (it follows the rules, defines every required name as the
  right kind with parameters the grader can call, its module loads, the sandbox did not stop its
  run) and nothing is left to do (every answer cell filled in, no stub, run without errors, the
  handout's cells intact, every visible check passing).
- 1: it will not grade fully: a rule or name problem, a module that does not load ("exception at
  import"), or a run the sandbox stopped ("time limit", "memory limit", "crashed", "malformed
  answer"), which would cost every test that had not finished.
- 2: it could not be checked: unreadable notebook, unknown assignment, no check bundle, broken
  grading.toml, or a sandbox that failed to start.
- 3: it will grade but is not ready: unfinished work is listed (the untouched handout exits 3).

When there are no visible checks or no expected values for them, the module is not run, so the
exit code then only covers the rules, the names and the unfinished work.
"""
from __future__ import annotations

import ast
import json
import os
import re
import sys
import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.verbs import bundle

from autograder.grading import grade

from autograder import paths
from autograder.grading.config import CONFIG_FILE, GradingConfig, load_config
from autograder.analysis.extract import Extraction, extract
from autograder.analysis.unfinished import NEVER_RUN, Unfinished, nbgrader, recorded_signatures, unfinished_work
from autograder.errors import AutograderError, ReferenceSolutionError
from autograder.grading.names import accepts, kept_cell, parameters, parse_signature, required_name_problems
from autograder.analysis.notebook import capitalised, cell_label_in, notebook_metadata_assignment, read_notebook
from autograder.analysis.rules import Problem, check_rules
from autograder.sandbox import Zygote
from autograder.grading.status import Finding, Status

EXIT_READY, EXIT_PROBLEMS, EXIT_CANNOT_CHECK, EXIT_NOT_READY = 0, 1, 2, 3
NO_EXPECTED_VALUES = "no expected values; ask your instructor"


@dataclass(frozen=True)
class QuestionChecks:
    """The visible checks of one question, as a preview for the student (grade.QuestionResult keeps
    the points of a graded question): passed when every check scored full marks."""

    question: str
    passed: bool
    score: float  # points-weighted fraction of the visible checks passed, in [0, 1]
    checks: int  # how many visible checks the question has
    failed: int  # how many of them did not score full marks
    messages: list[str]  # what was wrong, each message once (never the expected values)


@dataclass(frozen=True)
class QuestionVerdict:
    """One question of grading.toml as the student hands it in: ready, or what is left to do."""

    question: str
    title: str
    manual: bool  # marked by hand
    ready: bool
    todo: list[str]  # what is left, shortest first: "unanswered: cell 6 (...)", "visible checks fail (0/1)"


@dataclass
class CheckReport:
    notebook: Path
    assignment: str
    assignment_from: str  # "argument" | "check bundle" | "metadata" | "file name"
    problems: list[Problem] = field(default_factory=list)  # what stops it grading fully
    questions: list[QuestionChecks] = field(default_factory=list)
    checks_note: str = ""  # why the visible checks did not run
    status: Finding | None = None  # grade's status for the run of the visible checks, if they ran
    notes: list[str] = field(default_factory=list)  # from reading the file (encoding guessed, repairs)
    unfinished: list[Unfinished] = field(default_factory=list)  # what makes it not ready to hand in
    verdicts: list[QuestionVerdict] = field(default_factory=list)  # one per question of grading.toml

    @property
    def will_grade(self) -> bool:
        return not self.problems

    @property
    def ready(self) -> bool:
        return self.will_grade and not self.unfinished

    @property
    def ok(self) -> bool:
        """Ready to hand in."""
        return self.ready

    @property
    def exit_code(self) -> int:
        if not self.will_grade:
            return EXIT_PROBLEMS
        return EXIT_READY if self.ready else EXIT_NOT_READY

    def to_json(self) -> dict:
        return {
            "notebook": str(self.notebook),
            "assignment": self.assignment,
            "assignment_from": self.assignment_from,
            "ok": self.ok,
            "will_grade": self.will_grade,
            "ready": self.ready,
            "exit_code": self.exit_code,
            "notes": list(self.notes),
            "problems": [asdict(problem) for problem in self.problems],
            "unfinished": [asdict(item) for item in self.unfinished],
            "verdicts": [asdict(verdict) for verdict in self.verdicts],
            "checks": {"note": self.checks_note, "status": self.status.text if self.status else "",
                       "questions": [asdict(q) for q in self.questions]},
        }


# ----------------------------------------------------------------------------- which assignment, which config


@dataclass(frozen=True)
class Setting:
    """What a notebook is checked against."""

    config: GradingConfig  # loaded without probes
    found_from: str  # how the assignment was found: see CheckReport.assignment_from
    expected: Path  # the reference's values of the visible checks (may not exist)


def find_setting(notebook_path: Path, nb, assignment: str | None, root: Path = paths.REPO_ROOT) -> Setting:
    """The grading config of the notebook at `notebook_path`: the check bundle beside it (a student's
    release folder), else the course's `assignments/<a>/grading.toml`, `a` being `assignment` or
    guessed with `guess_assignment`. Raises paths.AssignmentError when the assignment is unknown or
    is not the bundle's, ConfigError when its grading.toml is wrong."""
    bundled = Path(notebook_path).parent / bundle.BUNDLE_FOLDER / CONFIG_FILE
    if bundled.is_file():
        config = load_config(bundled, root, probes=False)
        if assignment not in (None, config.assignment):
            raise paths.AssignmentError(f"the check bundle beside {Path(notebook_path).name} ({bundled.parent}) is for "
                             f"assignment {config.assignment!r}, not {assignment!r}")
        found_from = "argument" if assignment else "check bundle"
        return Setting(config, found_from, bundled.parent / bundle.EXPECTED_FILE)
    if not paths.list_assignments(root):  # a student's machine: the release folder is all there is
        raise paths.AssignmentError(
            f"there is no check/ folder beside {Path(notebook_path).name} (looked for {bundled.parent.resolve()}); "
            "check/ comes with the assignment's release folder and must sit beside the notebook: keep the "
            "notebook in that folder, or copy check/ next to it")
    if assignment is None:
        assignment, found_from = guess_assignment(notebook_path, nb, root)
    else:
        paths.resolve_assignments([assignment], root)
        found_from = "argument"
    expected = paths.release_dir(assignment, root) / bundle.BUNDLE_FOLDER / bundle.EXPECTED_FILE
    return Setting(load_config(assignment, root, probes=False), found_from, expected)


def guess_assignment(notebook_path: Path, nb, root: Path = paths.REPO_ROOT) -> tuple[str, str]:
    """(assignment, how it was found): from the kit's notebook metadata, else from the file name.

    The file name matches an assignment when the name appears in it as a whole word, in any case,
    with `-` and spaces read as `_` (`hopfield_batchnorm_jsmith.ipynb`, `jsmith-Hopfield-BatchNorm
    (1).ipynb`); the longest match wins. Raises paths.AssignmentError naming the known assignments
    otherwise.
    """
    known = paths.list_assignments(root)
    stored = notebook_metadata_assignment(nb)
    if stored in known:
        return stored, "metadata"
    stem = re.sub(r"[\s-]+", "_", Path(notebook_path).stem.lower())
    matches = [name for name in known
               if re.search(rf"(?<![a-z0-9]){re.escape(name.lower())}(?![a-z0-9])", stem)]
    if matches:
        return max(matches, key=len), "file name"
    stored_note = f" (its metadata names {stored!r}, which this course does not have)" if stored else ""
    raise paths.AssignmentError(f"cannot tell which assignment {Path(notebook_path).name} is{stored_note}; "
                     f"pass --assignment, one of: {', '.join(known) or 'none'}")


# ----------------------------------------------------------------------------- checking


def check_notebook(path, assignment: str | None = None, root: Path = paths.REPO_ROOT, *,
                   run_checks: bool = True, zygote: Zygote | None = None) -> CheckReport:
    """Check the notebook at `path` against the rules and the required names of its assignment (see
    `find_setting`), then run its visible checks unless `run_checks` is False. `zygote`: a running
    sandbox zygote to use (tests share one); by default one is started.

    Raises NotebookError when the notebook cannot be read, paths.AssignmentError or ConfigError when
    the assignment is unknown or its grading.toml is wrong, SandboxError when the sandbox fails.
    """
    path = Path(path)
    notes: list[str] = []
    nb = read_notebook(path, notes=notes)
    setting = find_setting(path, nb, assignment, root)
    config = setting.config
    unfinished = unfinished_work(nb)  # the only use of the outputs
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    extraction = extract(nb)
    problems = check_rules(nb, list(config.allowed_imports))
    problems += required_name_problems(extraction, nb, config.names)
    unfinished += changed_signatures(nb, extraction, config)
    report = CheckReport(path, config.assignment, setting.found_from, problems, notes=notes)
    if not run_checks:
        report.checks_note = "not run"
    elif config.checks_path is None:
        report.checks_note = "this assignment has no visible checks"
    else:
        run = run_visible_checks(nb, extraction, config, setting.expected, zygote)
        report.questions, report.checks_note, report.status = run.questions, run.note, run.status
        report.problems += [run.problem] if run.problem else []
    # Cell order, as the student reads the notebook; problems of no single cell last.
    report.problems.sort(key=lambda problem: (problem.cell is None, problem.cell or 0))
    unfinished += [Unfinished(None, "failing-check", f"{q.checks - q.failed} of the {q.checks} visible checks of "
                              f"{q.question} pass.", "see what fails under Visible checks above", question=q.question)
                   for q in report.questions if not q.passed]
    owners = question_owners(nb, extraction, config)
    report.unfinished = sorted((_owned(item, config, owners) for item in unfinished),
                               key=lambda item: (item.cell is None, item.cell or 0))
    report.verdicts = question_verdicts(config, report, owners)
    return report


# ----------------------------------------------------------------------------- unfinished work, per question


def changed_signatures(nb, extraction: Extraction, config: GradingConfig) -> list[Unfinished]:
    """Functions and methods whose parameters differ from the handout's (recorded in the notebook's
    metadata by `autograder release`) so that a call written for the handout's fails; those whose
    signature grading.toml gives are left to `required_name_problems`."""
    handout = recorded_signatures(nb)
    if not handout:
        return []
    checked = {name.name for name in config.names if name.signature is not None}
    checked |= {f"{name}.__init__" for name in checked}
    tree = ast.parse(extraction.source)
    defined = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defined[node.name] = (node, node.name)
        elif isinstance(node, ast.ClassDef):
            defined.update({f"{node.name}.{item.name}": (item, node.name) for item in node.body
                            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))})
    found = []
    for name, text in handout.items():
        if name in checked or name not in defined:
            continue
        node, owner = defined[name]
        actual = parameters(node)
        if accepts(actual, parse_signature(text)):
            continue
        cell = kept_cell(extraction, owner)
        written = ", ".join(parameter.name for parameter in actual)
        found.append(Unfinished(cell, "changed-signature",
                                f"{capitalised(cell_label_in(nb, cell))} defines `{name}({written})`, but the handout "
                                f"gives `{name}{text}`, which the notebook's tests and the grader call.",
                                f"keep the parameters `{text}` (a further parameter needs a default)"))
    return found


def question_owners(nb, extraction: Extraction, config: GradingConfig) -> dict[int, str]:
    """{cell number: question id} for the cells that belong to a question: the cells defining the
    names grading.toml requires for it, and the nbgrader cells whose grade id names it. A grade id
    names a question when it begins with the question's id, read without case or punctuation
    (`q1a_answer` is Q1a's); when it begins with a shorter part of several ids (`q2c_answer` for
    Q2C-nets and Q2C-plot), with the one that is marked by hand, if only one is."""
    owners = {}
    for number, cell in enumerate(nb.cells, start=1):
        grade_id = nbgrader(cell).get("grade_id")
        if isinstance(grade_id, str):
            question = question_of_grade_id(grade_id, config)
            if question:
                owners[number] = question
    for name in config.names:
        cells = [entry.cell for entry in extraction.entries
                 if entry.action == "kept" and name.name in (entry.name or "").split(", ")]
        owners.update({cell: name.question for cell in cells})
    return owners


def _plain(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def question_of_grade_id(grade_id: str, config: GradingConfig) -> str | None:
    """The question a grade id names (see `question_owners`), or None."""
    plain = _plain(grade_id)
    exact = [q for q in config.questions if plain.startswith(_plain(q.id)) and _plain(q.id)]
    if exact:
        return max(exact, key=lambda q: len(_plain(q.id))).id
    prefix = _plain(grade_id.split("_")[0])
    sharing = [q for q in config.questions if prefix and _plain(q.id).startswith(prefix)]
    manual = [q for q in sharing if q.manual]
    chosen = sharing if len(sharing) == 1 else manual
    return chosen[0].id if len(chosen) == 1 else None


def _owned(item: Unfinished, config: GradingConfig, owners: dict[int, str]) -> Unfinished:
    """`item` with the question it belongs to, when it has none yet and one owns its cell (or, for
    a cell that is gone, its grade id names one)."""
    if item.question:
        return item
    if item.cell is not None and item.cell in owners:
        return dataclasses.replace(item, question=owners[item.cell])
    if item.cell is None and item.grade_id:
        return dataclasses.replace(item, question=question_of_grade_id(item.grade_id, config))
    return item


# How a verdict line and the summary name each kind of unfinished work.
UNFINISHED_WORDS = {"unanswered": "unanswered", "stub": "leftover stub", "failing-check": "visible checks fail",
                    "error-output": "error in the saved output", "not-run": "cells never run",
                    "locked-cell-edited": "read-only cell edited", "graded-cell-missing": "handout cell missing",
                    "duplicate-cell": "duplicated cell", "changed-signature": "changed signature"}


def _problem_question(problem: Problem, config: GradingConfig, owners: dict[int, str]) -> str | None:
    """The question a problem stops grading, None when it may touch every autograded question."""
    if problem.rule in ("missing-name", "wrong-kind", "wrong-signature"):
        named = [name.question for name in config.names if f"`{name.name}" in problem.message]
        if named:
            return named[0]
    return owners.get(problem.cell) if problem.rule != "does-not-load" else None


def question_verdicts(config: GradingConfig, report: CheckReport, owners: dict[int, str]) -> list[QuestionVerdict]:
    """One verdict per question of grading.toml, from the unfinished work that belongs to it and,
    for an autograded question, its visible checks and the problems that stop grading it."""
    verdicts = []
    checks = {q.question: q for q in report.questions}
    stopped = {_problem_question(problem, config, owners) for problem in report.problems}
    for question in config.questions:
        stops = not question.manual and (None in stopped or question.id in stopped)
        todo = ["will not grade fully (see the problems above)"] if stops else []
        mine = [item for item in report.unfinished if item.question == question.id]
        for rule in dict.fromkeys(item.rule for item in mine):
            if rule == "failing-check":
                result = checks[question.id]
                todo.append(f"visible checks fail ({result.checks - result.failed}/{result.checks} pass)")
                continue
            cells = [str(item.cell) for item in mine if item.rule == rule and item.cell is not None]
            where = f": cell{'s' if len(cells) > 1 else ''} {', '.join(cells)}" if cells else ""
            todo.append(UNFINISHED_WORDS[rule] + where)
        verdicts.append(QuestionVerdict(question.id, question.title, question.manual, not todo, todo))
    return verdicts


@dataclass(frozen=True)
class VisibleChecks:
    """What running the visible checks found."""

    questions: list[QuestionChecks]  # one per question that has visible checks
    note: str = ""  # why they could not run
    status: Finding | None = None  # grade's status for the notebook graded with them, if they ran
    problem: Problem | None = None  # the module does not load, or the sandbox stopped the run


# How to avoid each way the sandbox stops a run.
STOPPED_FIXES = {
    Status.TIME_LIMIT: "make sure nothing runs for long when the module is imported (a loop in a class body, "
                  "a call in a default value) and that your functions finish quickly",
    Status.MEMORY_LIMIT: "build no large data when the module is imported, and check what your functions allocate",
    Status.CRASHED: "remove what ends or kills the process (os._exit, os.kill, os.abort) from the code the "
               "grader keeps",
    Status.MALFORMED_ANSWER: "do not write to file descriptors your code did not open",
}


def run_visible_checks(nb, extraction: Extraction, config: GradingConfig, expected: Path,
                       zygote: Zygote | None = None) -> VisibleChecks:
    """Run the checks file of `config` on the extracted module in the grading sandbox and judge them,
    with grading's own `grade_notebook`, against the reference's values stored at `expected` (see
    `autograder.verbs.bundle`); when there are none for these checks, against the reference solution run
    now, if its notebook is there. The checks are graded as the probes of a copy of `config`, so
    nothing here reads or needs the hidden probes file. Raises SandboxError when the sandbox fails.
    """
    try:
        checks = config.visible_checks()
    except Exception as error:  # noqa: BLE001 - an instructor's checks file may fail in any way
        return VisibleChecks([], f"the visible checks could not run (tell your instructor): "
                                 f"{type(error).__name__}: {error}")
    seed = grade.batch_seed(config.assignment)
    try:
        stored, unusable = bundle.read_expected(expected, checks, seed), ""
    except bundle.BundleError as error:
        stored, unusable = None, f" ({error})"
    note = ""
    if stored is None and not config.source_path.is_file():
        # Nothing to compare with: the module is still loaded under the grader's limits, so that a
        # notebook that would time out, run out of memory or die when graded is told so.
        checks, stored = dataclasses.replace(checks, probes=()), grade.Reference("", {})
        note = NO_EXPECTED_VALUES + unusable
    try:
        with grade.running_zygote(zygote, config, allow_weak=True, one_run=True) as running:
            reference = stored or grade.run_reference(checks, running, seed)
            result = grade.grade_notebook(nb, extraction, checks, running, reference, seed)
    except ReferenceSolutionError as error:
        return VisibleChecks([], f"the visible checks could not run (tell your instructor): {error}")
    questions = [_question_checks(q) for q in result.questions if q.probes]
    return VisibleChecks(questions, note, status=_status(result, questions), problem=_run_problem(result))


def _status(result: grade.StudentResult, questions: list[QuestionChecks]) -> Finding:
    """grade's status for the run. Grade tells "ok" from "partial" by the questions' points, which the
    visible checks need not add up to, so those two are told by whether every check passed."""
    if result.problems:
        return result.finding
    return Finding(Status.OK if all(question.passed for question in questions) else Status.PARTIAL)


def _run_problem(result: grade.StudentResult) -> Problem | None:
    """The problem that would make grading stop short: a module that does not load, or a run the
    sandbox stopped (its status, grade's word for it, is then the result's: a stop ranks above
    everything the notebook's text can cause)."""
    if "load_error" in result.details:
        error = result.details["load_error"]
        return Problem(None, "does-not-load",
                       f"The extracted module fails when it is imported ({error['type']}: "
                       f"{error['message'][:200]}), so every autograded question would score 0.",
                       "make every definition work without the cells the grader drops (see `autograder extract`)")
    if result.details.get("sandbox", "ok") == "ok":
        return None
    fix = STOPPED_FIXES.get(result.status, "make the code the grader keeps (see `autograder extract`) run "
                                           "quickly, with little memory")
    return Problem(None, "run-stopped",
                   f"When graded, your code is stopped ({result.status_text}): {result.details['detail']}. "
                   "Every test it had not finished would score 0.", fix)


def _question_checks(question) -> QuestionChecks:
    """A graded question (grade.QuestionResult, its probes being the visible checks) for the report."""
    failed = [probe for probe in question.probes if probe.points < probe.max_points]
    score = sum(p.points for p in question.probes) / sum(p.max_points for p in question.probes)
    messages = list(dict.fromkeys(probe.message or "not full marks" for probe in failed))
    return QuestionChecks(question.id, not failed, round(score, 3), len(question.probes), len(failed), messages)


# ----------------------------------------------------------------------------- output


def use_colour(stream) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


class _Paint:
    """ANSI colours, or plain text when `on` is False."""

    def __init__(self, on: bool):
        self.on = on

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.on else text

    def red(self, text: str) -> str:
        return self(text, "1;31")

    def green(self, text: str) -> str:
        return self(text, "1;32")

    def dim(self, text: str) -> str:
        return self(text, "2")


def format_report(report: CheckReport, colour: bool = False) -> str:
    """The report as a student reads it: problems with their fixes, the visible checks per
    question, and a last line saying whether the notebook will grade."""
    style = _Paint(colour)
    lines = [f"Checking {report.notebook.name} as assignment {report.assignment} "
             f"({'as given' if report.assignment_from == 'argument' else 'from its ' + report.assignment_from})."]
    lines += [style.dim(f"note: {note}") for note in report.notes]
    if report.problems:
        lines += ["", style.red(f"{_count(len(report.problems), 'problem')} to fix:")]
        for number, problem in enumerate(report.problems, start=1):
            lines += [f"  {number}. {problem.message}", f"     fix: {problem.fix}"]
    lines += ["", "Visible checks (a preview: the hidden tests decide the grade):"]
    if report.checks_note:
        lines.append(f"  {report.checks_note}")
    if report.status:
        lines.append(f"  status as graded: {report.status.text}")
    width = max((len(result.question) for result in report.questions), default=0)
    for result in report.questions:
        verdict = style.green("pass") if result.passed else style.red("FAIL")
        lines.append(f"  {result.question:<{width}}  {verdict}  {result.checks - result.failed}/{result.checks} checks")
        lines += [f"  {'':<{width}}  - {message}" for message in result.messages]
    if report.unfinished:
        lines += ["", style.red(f"{_count(len(report.unfinished), 'thing')} left to do before handing in:")]
        for number, item in enumerate(report.unfinished, start=1):
            lines += [f"  {number}. {item.message}", f"     fix: {item.fix}"]
    if report.verdicts:
        lines += ["", "Questions:"]
        width = max(len(verdict.question) for verdict in report.verdicts)
        for verdict in report.verdicts:
            if verdict.ready:
                how = "marked by hand" if verdict.manual else "graded automatically"
                lines.append(f"  {verdict.question:<{width}}  {style.green('ready')}      ({how})")
            else:
                lines.append(f"  {verdict.question:<{width}}  {style.red('NOT READY')}  {'; '.join(verdict.todo)}")
    lines += ["", overall_line(report, style)]
    return "\n".join(lines)


def overall_line(report: CheckReport, style=None) -> str:
    """The last line: will the notebook grade, and is it ready to hand in."""
    style = style or _Paint(False)
    if not report.will_grade:
        problems = _count(len(report.problems), "problem")
        later = f", then the {_count(len(report.unfinished), 'thing')} left to do" if report.unfinished else ""
        return style.red("WILL NOT GRADE FULLY, NOT READY") + f": fix the {problems} above{later} before handing in."
    if report.unfinished:
        return (style.red("WILL GRADE, NOT READY") + " to hand in: " + unfinished_summary(report.unfinished) + ".")
    return (style.green("READY") + ": it will grade, every answer cell is filled in, the notebook was run "
            "without errors" + ("" if report.checks_note else " and the visible checks pass") + ".")


def unfinished_summary(unfinished: list[Unfinished]) -> str:
    """`7 answer cells unanswered, 3 cells with leftover stubs and the notebook never run`."""
    nouns = {"unanswered": ("answer cell unanswered", "answer cells unanswered"),
             "stub": ("cell with a leftover stub", "cells with leftover stubs"),
             "failing-check": ("question failing its visible checks", "questions failing their visible checks"),
             "error-output": ("cell showing an error", "cells showing errors"),
             "locked-cell-edited": ("read-only cell edited", "read-only cells edited"),
             "graded-cell-missing": ("handout cell missing", "handout cells missing"),
             "duplicate-cell": ("copied handout cell", "copied handout cells"),
             "changed-signature": ("changed signature", "changed signatures")}
    parts = []
    for rule in dict.fromkeys(item.rule for item in unfinished):
        items = [item for item in unfinished if item.rule == rule]
        if rule == "not-run":
            never_run = items[0].message.startswith(NEVER_RUN)
            parts.append("the notebook never run" if never_run else "cells never run")
        else:
            singular, plural = nouns[rule]
            parts.append(f"{len(items)} {singular if len(items) == 1 else plural}")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def main(notebook: Path, assignment: str | None = None, as_json: bool = False,
         root: Path = paths.REPO_ROOT, zygote: Zygote | None = None) -> int:
    """The ``autograder check`` verb: print the report (or one JSON object) and return the exit code.
    `zygote`: a sandbox zygote to run the visible checks in (the command line launches one early);
    by default one is started when they run."""
    try:
        report = check_notebook(Path(notebook), assignment, root, zygote=zygote)
    except AutograderError as error:
        if as_json:
            print(json.dumps({"notebook": str(notebook), "ok": False, "exit_code": EXIT_CANNOT_CHECK,
                              "error": str(error)}))
        else:
            print(_Paint(use_colour(sys.stderr)).red("cannot check: ") + str(error), file=sys.stderr)
        return EXIT_CANNOT_CHECK
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(format_report(report, use_colour(sys.stdout)))
    return report.exit_code
