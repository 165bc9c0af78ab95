"""Check a notebook before handing it in (the ``autograder check`` verb).

A student runs ``autograder check my.ipynb`` and learns, before any grader does, whether the notebook
will grade. Every problem names its cell (1-based among all cells, markdown included, as JupyterLab
counts) and comes with a one-line fix:

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

The run is graded exactly as `autograder grade` grades a submission, so the report gives its status
in grade's own words (`autograder.grading.status`): "time limit", "memory limit", "crashed (exit code 0)",
"malformed answer", "exception at import", ... or "partial" / "ok" when everything ran.

Exit codes answer "will this notebook grade?", which is what a script gating a hand-in needs:

- 0: it will grade: it follows the rules, defines every required name as the right kind with
  parameters the grader can call, its extracted module loads, and the sandbox did not stop its run.
- 1: it will not grade fully: a rule or name problem, a module that does not load ("exception at
  import"), or a run the sandbox stopped ("time limit", "memory limit", "crashed", "malformed
  answer"), which would cost every test that had not finished.
- 2: it could not be checked: unreadable notebook, unknown assignment, broken grading.toml, or a
  sandbox that failed to start.

Visible checks that merely fail (a wrong value, an exception in a check) do not change the exit
code: they preview part of the grade and are shown as FAIL, with what was wrong. When there are no
visible checks or no expected values for them, the module is not run, so the exit code then only
covers the rules and the names.
"""
from __future__ import annotations

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
from autograder.errors import AutograderError, ReferenceSolutionError
from autograder.grading.names import required_name_problems
from autograder.analysis.notebook import notebook_metadata_assignment, read_notebook
from autograder.analysis.rules import Problem, check_rules
from autograder.sandbox import Zygote
from autograder.sandbox.parent import ONE_RUN_PRELOAD
from autograder.grading.status import Finding, Status

EXIT_OK, EXIT_PROBLEMS, EXIT_CANNOT_CHECK = 0, 1, 2
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


@dataclass
class CheckReport:
    notebook: Path
    assignment: str
    assignment_from: str  # "argument" | "check bundle" | "metadata" | "file name"
    problems: list[Problem] = field(default_factory=list)
    questions: list[QuestionChecks] = field(default_factory=list)
    checks_note: str = ""  # why the visible checks did not run
    status: Finding | None = None  # grade's status for the run of the visible checks, if they ran
    notes: list[str] = field(default_factory=list)  # from reading the file (encoding guessed, repairs)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_PROBLEMS

    def to_json(self) -> dict:
        return {
            "notebook": str(self.notebook),
            "assignment": self.assignment,
            "assignment_from": self.assignment_from,
            "ok": self.ok,
            "exit_code": self.exit_code,
            "notes": list(self.notes),
            "problems": [asdict(problem) for problem in self.problems],
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
    nb = read_notebook(path, keep_outputs=False, notes=notes)
    setting = find_setting(path, nb, assignment, root)
    config = setting.config
    extraction = extract(nb)
    problems = check_rules(nb, list(config.allowed_imports))
    problems += required_name_problems(extraction, nb, config.names)
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
    return report


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
        with grade.running_zygote(zygote, config, allow_weak=True, preload=ONE_RUN_PRELOAD) as running:
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
    lines.append("")
    if report.ok:
        failing = sum(not result.passed for result in report.questions)
        tail = f"; the visible checks of {_count(failing, 'question')} fail" if failing else ""
        lines.append(style.green("OK") + f": the notebook follows the rules and extracts cleanly{tail}.")
    else:
        problems = _count(len(report.problems), "problem")
        lines.append(style.red("NOT READY") + f": fix the {problems} above before handing in.")
    return "\n".join(lines)


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
