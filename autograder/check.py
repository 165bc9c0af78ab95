"""Check a notebook before handing it in (the ``autograder check`` verb).

A student runs ``autograder check my.ipynb`` and learns, before any grader does, whether the notebook
will grade. Every problem names its cell (1-based among all cells, markdown included, as JupyterLab
counts) and comes with a one-line fix:

- the submission rules of `autograder.rules`: imports outside the first code cell, code in a
  definition cell that the grader would drop (listing those lines), cells that do not parse, imports
  outside the assignment's allow-list;
- the names grading.toml requires: missing, the wrong kind (class vs function), or parameters other
  than the grader's. Parameters are read from the code's syntax tree, never by running it.

Then the assignment's *visible* checks (the file grading.toml names as ``checks``, written with the
probe API of the hidden probes) run on the extracted module in the grading sandbox and are judged
against the reference solution by grading's own `grade.grade_notebook`, as the probes of a copy of
the assignment's config; the result is shown per question. The hidden probes file is never opened:
only grading.toml, the checks file and the reference notebook are read.

Exit codes: 0 when the notebook follows the rules, defines every required name as the right kind
with parameters the grader can call, and its extracted module loads; 1 when it does not; 2 when it
could not be checked (unreadable notebook, unknown assignment, broken grading.toml). Failing visible
checks, even one stopped by a time or memory limit, do not change the exit code: they preview part
of the grade, whereas the exit code answers "will this notebook grade at all", which is what a
script gating a hand-in needs. They are shown as FAIL, with what was wrong.
"""
from __future__ import annotations

import ast
import contextlib
import dataclasses
import difflib
import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from autograder import paths
from autograder.config import GradingConfig, RequiredName, load_config
from autograder.extract import Extraction, code_cells, extract
from autograder.notebook import NotebookError, notebook_metadata_assignment, read_notebook
from autograder.probes import load_probes
from autograder.rules import check_rules
from autograder.sandbox import SandboxError, Zygote

EXIT_OK, EXIT_PROBLEMS, EXIT_CANNOT_CHECK = 0, 1, 2


@dataclass(frozen=True)
class Problem:
    """One thing to fix. `cell` is None when no single cell is at fault (a name never defined)."""

    cell: int | None
    rule: str  # a rule of autograder.rules, or missing-name | wrong-kind | wrong-signature | does-not-load
    message: str
    fix: str


@dataclass(frozen=True)
class QuestionResult:
    """The visible checks of one question: passed when every check scored full marks."""

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
    assignment_from: str  # "argument" | "metadata" | "file name"
    problems: list[Problem] = field(default_factory=list)
    questions: list[QuestionResult] = field(default_factory=list)
    checks_note: str = ""  # why the visible checks did not run, or the sandbox's verdict when they stopped
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
            "checks": {"note": self.checks_note, "questions": [asdict(q) for q in self.questions]},
        }


# ----------------------------------------------------------------------------- which assignment


def guess_assignment(notebook_path: Path, nb, root: Path = paths.REPO_ROOT) -> tuple[str, str]:
    """(assignment, how it was found): from the kit's notebook metadata, else from the file name.

    The file name matches an assignment when the name appears in it as a whole word, in any case,
    with `-` and spaces read as `_` (`hopfield_batchnorm_jsmith.ipynb`, `jsmith-Hopfield-BatchNorm
    (1).ipynb`); the longest match wins. Raises ValueError naming the known assignments otherwise.
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
    raise ValueError(f"cannot tell which assignment {Path(notebook_path).name} is{stored_note}; "
                     f"pass --assignment, one of: {', '.join(known) or 'none'}")


# ----------------------------------------------------------------------------- required names


def required_name_problems(extraction: Extraction, nb, required: Iterable[RequiredName]) -> list[Problem]:
    """Problems with the names grading.toml requires (`required`: its `[[names]]` entries) in the
    module extracted from `nb`."""
    tree = ast.parse(extraction.source)
    problems = []
    for name in required:
        kind = extraction.defined_names.get(name.name)
        if kind is None:
            problems.append(_missing_name(name, extraction, nb))
        elif kind != name.kind:
            problems.append(_wrong_kind(name, kind, _kept_cell(extraction, name.name)))
        elif name.signature is not None:
            problem = _signature_problem(name, tree, _kept_cell(extraction, name.name))
            if problem:
                problems.append(problem)
    return problems


def _kept_cell(extraction: Extraction, name: str) -> int:
    return next(entry.cell for entry in reversed(extraction.entries)
                if entry.action == "kept" and name in (entry.name or "").split(", "))


def _needs(name: RequiredName) -> str:
    article = "an" if name.kind[0] in "aeiou" else "a"
    return f"question {name.question} needs {article} {name.kind} named `{name.name}`"


def _definition_hint(name: RequiredName) -> str:
    return f"`class {name.name}`" if name.kind == "class" else f"`def {name.name}(...)`"


def _missing_name(name: RequiredName, extraction: Extraction, nb) -> Problem:
    """Say why a required name is missing: its cell does not parse, it is bound by code the grader
    drops, it is spelled differently, or it is simply not there."""
    unparsed = [code.cell for code in code_cells(nb) if code.tree is None
                and re.search(rf"^(?:async\s+def|def|class)\s+{re.escape(name.name)}\b", code.source, re.M)]
    if unparsed:
        cell = unparsed[-1]
        return Problem(cell, "missing-name",
                       f"Cell {cell} defines `{name.name}` but does not parse, so the grader has no "
                       f"`{name.name}`; {_needs(name)}.",
                       f"fix the syntax error in cell {cell}")
    dropped = [entry for entry in extraction.entries
               if entry.action == "dropped" and name.name in (entry.name or "").split(", ")]
    if dropped:
        entry = dropped[-1]
        return Problem(entry.cell, "missing-name",
                       f"Cell {entry.cell} sets `{name.name}` on line {entry.line} with code the grader "
                       f"drops ({entry.reason}); {_needs(name)}.",
                       f"define `{name.name}` directly with {_definition_hint(name)}")
    other_case = [n for n in extraction.defined_names if n.lower() == name.name.lower()]
    similar = other_case or difflib.get_close_matches(name.name, list(extraction.defined_names), n=1, cutoff=0.8)
    if similar:
        cell = _kept_cell(extraction, similar[0])
        why = " (names are case-sensitive)" if other_case else ""
        return Problem(cell, "missing-name", f"Cell {cell} defines `{similar[0]}`, but {_needs(name)}{why}.",
                       f"rename `{similar[0]}` to `{name.name}`")
    return Problem(None, "missing-name",
                   f"The notebook does not define `{name.name}`; {_needs(name)}.",
                   f"define {_definition_hint(name)} in a definition cell, spelled exactly so")


def _wrong_kind(name: RequiredName, kind: str, cell: int) -> Problem:
    found = {"class": f"defines `{name.name}` as a class", "function": f"defines `{name.name}` as a function",
             "import": f"imports `{name.name}`", "constant": f"sets `{name.name}` to a constant"}[kind]
    return Problem(cell, "wrong-kind",
                   f"Cell {cell} {found}, but {_needs(name)}.",
                   f"write `{name.name}` as a {name.kind}: {_definition_hint(name)}")


# ----------------------------------------------------------------------------- signatures


@dataclass(frozen=True)
class Parameter:
    name: str  # as inspect.signature shows it: "x", "*args", "**kwargs", or "*" before keyword-only ones
    optional: bool  # has a default, or collects extra arguments


def parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Parameter]:
    """A function's parameters, in order, read from its syntax tree."""
    args = node.args
    positional = args.posonlyargs + args.args
    first_default = len(positional) - len(args.defaults)
    found = [Parameter(a.arg, i >= first_default) for i, a in enumerate(positional)]
    if args.vararg:
        found.append(Parameter(f"*{args.vararg.arg}", True))
    elif args.kwonlyargs:
        found.append(Parameter("*", True))
    found += [Parameter(a.arg, d is not None) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg:
        found.append(Parameter(f"**{args.kwarg.arg}", True))
    return found


def parse_signature(signature: str) -> list[Parameter]:
    """The parameters of a signature written as in grading.toml: `"(x, eps=1e-5)"` or `"x, eps"`."""
    text = signature.strip()
    return parameters(ast.parse(f"def _{text if text.startswith('(') else f'({text})'}: pass").body[0])


def definition_parameters(name: str, tree: ast.Module) -> list[Parameter] | None:
    """What `inspect.signature` would show for the module's top-level definition of `name`: a
    function's parameters, or a class's `__init__` parameters without `self` (looked up through
    base classes defined in the module). None when that cannot be told without running the code
    (a constructor inherited from a library, or made by a decorator)."""
    definitions = {node.name: node for node in tree.body
                   if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    node, seen = definitions.get(name), set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return parameters(node)
    while isinstance(node, ast.ClassDef) and not node.decorator_list and node.name not in seen:
        seen.add(node.name)
        init = [s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"]
        if init:
            return parameters(init[-1])[1:]
        bases = [definitions.get(b.id) for b in node.bases if isinstance(b, ast.Name)]
        node = bases[0] if len(bases) == 1 else None
    return None


def accepts(found: list[Parameter], expected: list[Parameter]) -> bool:
    """Whether a definition with parameters `found` takes the grader's call: the expected
    parameters come first, by the same names, and anything after them is optional."""
    names = [p.name for p in found[:len(expected)]]
    return names == [p.name for p in expected] and all(p.optional for p in found[len(expected):])


def _signature_problem(name: RequiredName, tree: ast.Module, cell: int) -> Problem | None:
    expected = parse_signature(name.signature)
    found = definition_parameters(name.name, tree)
    if found is None or accepts(found, expected):
        return None
    wanted, actual = (", ".join(p.name for p in params) for params in (expected, found))
    if name.kind == "class":
        init = f"def __init__(self, {wanted})" if wanted else "def __init__(self)"
        return Problem(cell, "wrong-signature",
                       f"Cell {cell} defines `{name.name}` with the constructor parameters ({actual}), "
                       f"but the grader creates it as `{name.name}({wanted})`.",
                       f"give `{name.name}` the constructor `{init}` (further parameters need defaults)")
    return Problem(cell, "wrong-signature",
                   f"Cell {cell} defines `{name.name}({actual})`, but the grader calls `{name.name}({wanted})`.",
                   f"make it `def {name.name}({wanted})` (further parameters need defaults)")


# ----------------------------------------------------------------------------- checking


def check_notebook(path, assignment: str | None = None, root: Path = paths.REPO_ROOT, *,
                   run_checks: bool = True, zygote: Zygote | None = None) -> CheckReport:
    """Check the notebook at `path` against the rules and the required names of `assignment`
    (guessed with `guess_assignment` when None), then run its visible checks unless `run_checks` is
    False. `zygote`: a running sandbox zygote to use (tests share one); by default one is started.

    Raises NotebookError when the notebook cannot be read, ValueError (ConfigError included) when the
    assignment is unknown or its grading.toml is wrong.
    """
    path = Path(path)
    notes: list[str] = []
    nb = read_notebook(path, keep_outputs=False, notes=notes)
    if assignment is None:
        assignment, found_from = guess_assignment(path, nb, root)
    else:
        paths.resolve_assignments([assignment], root)
        found_from = "argument"
    config = load_config(assignment, root, probes=False)
    extraction = extract(nb)
    problems = [Problem(v.cell, v.rule, v.message, v.fix) for v in check_rules(nb, list(config.allowed_imports))]
    problems += required_name_problems(extraction, nb, config.names)
    report = CheckReport(path, assignment, found_from, problems, notes=notes)
    if not run_checks:
        report.checks_note = "not run"
    elif config.checks_path is None:
        report.checks_note = "this assignment has no visible checks"
    else:
        report.questions, report.checks_note, load_problem = run_visible_checks(nb, extraction, config, zygote)
        report.problems += [load_problem] if load_problem else []
    # Cell order, as the student reads the notebook; problems of no single cell last.
    report.problems.sort(key=lambda problem: (problem.cell is None, problem.cell or 0))
    return report


def run_visible_checks(nb, extraction: Extraction, config: GradingConfig, zygote: Zygote | None = None
                       ) -> tuple[list[QuestionResult], str, Problem | None]:
    """Run the checks file of `config` on the extracted module in the grading sandbox and judge them
    against the reference solution, with grading's own `grade_notebook`.

    Returns (one result per question that has visible checks, a note when they could not all run,
    a problem when the extracted module does not load). The checks are graded as the probes of a
    copy of `config`, so nothing here reads or needs the hidden probes file.
    """
    from autograder import grade  # here, not at the top: grade imports required_name_problems from this module

    try:
        checks = dataclasses.replace(config, probes_path=config.checks_path,
                                     probes=tuple(load_probes(config.checks_path)))
    except Exception as error:  # noqa: BLE001 - an instructor's checks file may fail in any way
        return [], f"the visible checks could not run (tell your instructor): {type(error).__name__}: {error}", None
    seed = grade.batch_seed(config.assignment)
    try:
        with _sandbox(zygote, config) as running:
            reference = grade.run_reference(checks, running, seed)
            result = grade.grade_notebook(nb, extraction, checks, running, reference, seed)
    except grade.ReferenceSolutionError as error:
        return [], f"the visible checks could not run (tell your instructor): {error}", None
    except SandboxError as error:
        return [], f"the visible checks could not run: {error}", None
    problem = None
    if "load_error" in result.details:
        error = result.details["load_error"]
        problem = Problem(None, "does-not-load",
                          f"The extracted module fails when it is imported ({error['type']}: "
                          f"{error['message'][:200]}), so every autograded question would score 0.",
                          "make every definition work without the cells the grader drops (see `autograder extract`)")
    stopped = result.details.get("sandbox", "ok") != "ok"
    note = f"the sandbox stopped your code: it {result.details['detail']}" if stopped else ""
    return [_question_result(q) for q in result.questions if q.probes], note, problem


def _question_result(question) -> QuestionResult:
    """A graded question (grade.QuestionResult, its probes being the visible checks) for the report."""
    failed = [probe for probe in question.probes if probe.points < probe.max_points]
    score = sum(p.points for p in question.probes) / sum(p.max_points for p in question.probes)
    messages = list(dict.fromkeys(probe.message or "not full marks" for probe in failed))
    return QuestionResult(question.id, not failed, round(score, 3), len(question.probes), len(failed), messages)


@contextlib.contextmanager
def _sandbox(zygote: Zygote | None, config: GradingConfig):
    """The given zygote, or a new one whose children cannot see the grader's folder or the reference."""
    if zygote is not None:
        yield zygote
        return
    with Zygote(config.limits, hide=(config.folder, config.source_path.parent)) as started:
        yield started


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
         root: Path = paths.REPO_ROOT) -> int:
    """The ``autograder check`` verb: print the report (or one JSON object) and return the exit code."""
    try:
        report = check_notebook(Path(notebook), assignment, root)
    except (NotebookError, ValueError) as error:
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
