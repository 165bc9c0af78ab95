"""Grade a class's submissions of one assignment (the ``autograder grade`` verb).

    result = grade_assignment("hopfield_batchnorm", Path("submitted"), Path("grading-output"), jobs=2)

1. Find the submissions (`discovery.find_submissions`): a folder of notebooks, nbgrader's
   `submitted/<student>/<assignment>/*.ipynb`, an LMS zip of notebooks, or one notebook. Ids that
   collide are each graded, numbered apart, with the status "duplicate submission".
2. Extract the reference notebook and run every probe on it once, in the sandbox, with the batch's
   seed. A probe that raises on the reference, or that does not give the reference full marks when
   judged against itself, stops the batch: it would mark every student wrong.
3. Grade each submission (`grade_submission`), `jobs` at a time on threads sharing one zygote:
   read, extract, check the required names, run the probes of the questions whose names are there
   in a sandboxed child, judge every value in this (trusted) process against the reference's.
   Each result is saved as `results/<student>.json` with a fingerprint of everything it depends
   on; a rerun reuses results whose fingerprint still matches (unless `force`).

One bad submission never stops the batch: anything unexpected while grading it becomes that
student's "grader error: ..." status, with the traceback in `grade.log`.

A student's status is the most severe thing that happened, in the order of `Status` (most severe
first): what stopped all grading of the notebook comes before what stopped part of it, which comes
before lost points.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import hashlib
import json
import logging
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from autograder import paths

from autograder.grading import versions
from autograder.grading.config import GradingConfig, load_config
from autograder.grading.discovery import Submission, find_submissions
from autograder.grading.shards import Shard, write_record
from autograder.errors import ReferenceSolutionError
from autograder.analysis.extract import KEPT, Extraction, extract
from autograder.grading.names import required_name_problems
from autograder.grading.manual import Answer, ManualScores, find_answer, write_atomically
from autograder.analysis.notebook import NotebookError, read_notebook
from autograder.grading.probes import Verdict, judge
from autograder.analysis.rules import Problem, check_rules
from autograder.grading.probe_runs import ProbeRun, run_probes
from autograder.sandbox import SandboxError, Zygote
from autograder.sandbox.parent import MANY_RUNS_ONLY
from autograder.grading.status import Finding, Status

log = logging.getLogger(__name__)

RESULT_FORMAT = 3  # bump when a result file's meaning changes: old results are then regraded
MODULE_NAME = "submission"
NEEDS_MANUAL_GRADING = "needs manual grading"
MARKED_BY_HAND = "marked by hand"
# The sandbox's word for a run it stopped (`sandbox.STATUSES`), as a student's status.
STOPPED = {"time limit": Status.TIME_LIMIT, "memory limit": Status.MEMORY_LIMIT, "crashed": Status.CRASHED,
           "malformed": Status.MALFORMED_ANSWER}


# ---- results --------------------------------------------------------------------------------------

@dataclass
class ProbeResult:
    name: str
    question: str
    max_points: float
    points: float
    message: str  # for the student: what was wrong (never the expected values); empty for full marks


@dataclass
class QuestionResult:
    id: str
    title: str
    max_points: float
    manual: bool
    points: float | None  # None for a question graded by hand and not marked yet
    probes: list[ProbeResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for the student: why probes did not run; a marker's comment
    answer: str = ""  # graded by hand: manual.Answer.digest of the student's answer ("" for no answer)


@dataclass
class StudentResult:
    student: str
    notebook: str  # the file graded
    problems: list[Finding]  # every status above "partial" that applies, most severe first
    questions: list[QuestionResult]
    extraction: dict  # counts, the entries not kept, the notes from reading the file
    notes: list[str]  # for the student: sandbox verdict, load error, signatures, submission rules
    fingerprint: str  # empty: never reused (a grader error is retried)
    # For graders: sandbox (its status), detail, exit_code, signal, elapsed, cpu_seconds, stdout_tail,
    # stderr_tail, and load_error {"type", "message"} when the module did not load.
    details: dict = field(default_factory=dict)
    identity: dict = field(default_factory=dict)  # discovery.LmsIdentity as JSON; {} when the LMS is unknown

    @property
    def finding(self) -> Finding:
        """The student's status: the most severe problem, else "partial" or "ok" by the points."""
        if self.problems:
            return self.problems[0]
        return Finding(Status.PARTIAL if self.total < self.max_total else Status.OK)

    @property
    def status(self) -> Status:
        return self.finding.status

    @property
    def status_text(self) -> str:
        """The status as the reports write it: "crashed (exit code 0)"."""
        return self.finding.text

    @property
    def total(self) -> float:
        return round(sum(q.points for q in self.questions if not q.manual), 6)

    @property
    def max_total(self) -> float:
        return sum(q.max_points for q in self.questions if not q.manual)

    @property
    def manual_pending(self) -> list[QuestionResult]:
        """The questions graded by hand that are not marked yet."""
        return [q for q in self.questions if q.manual and q.points is None]

    @property
    def manual_total(self) -> float:
        """The points of the manual questions marked so far."""
        return round(sum(q.points for q in self.questions if q.manual and q.points is not None), 6)

    @property
    def manual_max(self) -> float:
        return sum(q.max_points for q in self.questions if q.manual)

    @property
    def grade(self) -> float:
        """Autograded and marked points together, out of `full_marks`."""
        return round(self.total + self.manual_total, 6)

    @property
    def full_marks(self) -> float:
        return self.max_total + self.manual_max

    def to_json(self) -> dict:
        """The saved result; "status" is the rendered status, for people and scripts reading the file."""
        return {"format": RESULT_FORMAT, **asdict(self), "status": self.status_text,
                "problems": [problem.to_json() for problem in self.problems]}

    @classmethod
    def from_json(cls, data: dict) -> "StudentResult":
        fields = {key: value for key, value in data.items() if key not in ("format", "status")}
        questions = [QuestionResult(**{**q, "probes": [ProbeResult(**p) for p in q["probes"]]})
                     for q in fields.pop("questions")]
        problems = [Finding.from_json(problem) for problem in fields.pop("problems")]
        return cls(**fields, problems=problems, questions=questions)


@dataclass
class ClassResult:
    config: GradingConfig
    students: list[StudentResult]  # sorted by student id
    out_dir: Path
    seed: int
    isolation: str  # what the sandbox could do on this machine
    resumed: list[str] = field(default_factory=list)  # students whose saved result was reused
    autolab: bool = False  # write Autolab's last-line JSON too

    @property
    def assignment(self) -> str:
        return self.config.assignment


# ---- the reference ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    module_source: str
    results: dict[str, dict]  # probe name -> the child's message ({"name", "value"})


def batch_seed(assignment: str) -> int:
    """The seed of every child of a batch, from the assignment's name: reruns see the same values."""
    return int.from_bytes(hashlib.sha256(f"autograder/{assignment}".encode()).digest()[:4], "little")


def run_reference(config: GradingConfig, zygote: Zygote, seed: int) -> Reference:
    """Extract the reference notebook, run every probe on it and check each gives it full marks.
    Raises ReferenceSolutionError saying what is wrong."""
    where = f"the reference solution {config.source_path}"
    try:
        nb = read_notebook(config.source_path, keep_outputs=False)
    except NotebookError as error:
        raise ReferenceSolutionError(f"{where} cannot be read: {error}") from None
    extraction = extract(nb)
    problems = [entry.reason for entry in extraction.syntax_errors]
    problems += [problem.message for problem in required_name_problems(extraction, nb, config.names)]
    if problems:
        raise ReferenceSolutionError(f"{where} does not extract cleanly: {problems[0]}")
    names = [spec.name for spec in config.probes]
    outcome = zygote.run(probe_job(extraction.source, config, names, seed), config.limits)
    if outcome.load_error:
        error = outcome.load_error
        raise ReferenceSolutionError(f"{where} does not load: {error['type']}: {error['message']}")
    if outcome.status != "ok":
        raise ReferenceSolutionError(f"{where} stopped in the sandbox ({outcome.status}): {outcome.detail}")
    for spec in config.probes:
        result = outcome.results.get(spec.name)
        try:
            verdict = judge(spec, result, result)
        except ReferenceSolutionError as failure:  # said again with the probe's name first
            raise ReferenceSolutionError(f"probe {spec.name} fails on the reference solution: {failure}") from None
        if verdict.score < 1:
            raise ReferenceSolutionError(f"probe {spec.name} fails on the reference solution: it scores "
                                         f"{verdict.score:.2f} of 1 ({verdict.message})")
    return Reference(extraction.source, outcome.results)


def probe_job(module_source: str, config: GradingConfig, probe_names: list[str], seed: int) -> dict:
    """The sandbox job that runs `probe_names` of `config`'s probes on `module_source`."""
    return {"module_name": MODULE_NAME, "module_source": module_source,
            "probe_source": config.probe_source, "probe_names": probe_names,
            "seed": seed, "extra_sys_path": []}


# ---- one submission -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Batch:
    """What every submission of a batch is graded with."""
    config: GradingConfig
    zygote: Zygote
    reference: Reference
    seed: int
    results_dir: Path
    force: bool

    @property
    def isolation(self) -> str:
        """What the sandbox does on this machine."""
        return self.zygote.isolation.describe() if self.zygote.isolation else "unknown"

    @property
    def sandbox_note(self) -> str:
        """For every student's report when the sandbox is weak, else ""."""
        if self.zygote.isolation is None or self.zygote.isolation.complete:
            return ""
        return f"This notebook was graded without the sandbox's protections: {self.isolation}."

    @functools.cached_property
    def fingerprint_base(self) -> bytes:
        """What every result depends on besides the notebook: a saved result made with anything else
        is graded again."""
        parts = [str(RESULT_FORMAT), self.config.digest(), self.reference.module_source, str(self.seed),
                 paths.student_helpers().read_text(encoding="utf-8"), versions.engine(),
                 versions.torch(), self.isolation]
        return hashlib.sha256("\0".join(parts).encode()).digest()


# CPython 3.11's AST builder keeps its recursion depth in shared state: two threads parsing at once
# can fail with "SystemError: AST constructor recursion depth mismatch". Parsing is quick and holds
# the GIL anyway; only the sandbox runs need to overlap.
AST_LOCK = threading.Lock()


def grade_submission(submission: Submission, batch: _Batch) -> tuple[StudentResult, bool]:
    """(result, reused): the saved result when its fingerprint matches (and not `force`), else a
    new grading. Exceptions other than the submission's own failures propagate."""
    try:
        data = submission.problem.encode() if submission.problem else submission.path.read_bytes()
    except OSError as error:
        submission = replace(submission, problem=f"cannot read {submission.path} ({error.strerror})")
        data = submission.problem.encode()
    found = "\0".join(submission.notes).encode()  # a duplicate has a note naming the others
    fingerprint = hashlib.sha256(batch.fingerprint_base + data + found).hexdigest()
    saved = _saved_result(batch.results_dir / f"{submission.student}.json", fingerprint)
    if saved is not None and not batch.force:
        return saved, True
    return _with_discovery(_grade_file(submission, batch, fingerprint), submission), False


def _grade_file(submission: Submission, batch: _Batch, fingerprint: str) -> StudentResult:
    """Read, extract and grade the notebook; "unreadable notebook" when finding or reading it failed."""
    config = batch.config
    if submission.problem:
        return _Grading(submission.student, str(submission.path), config, fingerprint).unreadable(submission.problem)
    read_notes: list[str] = []
    try:
        nb = read_notebook(submission.path, keep_outputs=False, notes=read_notes)
    except NotebookError as error:
        return _Grading(submission.student, str(submission.path), config, fingerprint).unreadable(str(error))
    with AST_LOCK:
        extraction = extract(nb)
    extraction.notes = read_notes
    return grade_notebook(nb, extraction, config, batch.zygote, batch.reference, batch.seed,
                          submission.student, str(submission.path), fingerprint)


def _with_discovery(result: StudentResult, submission: Submission) -> StudentResult:
    """`result` with what finding its file told: those notes first, and the duplicate status."""
    result.notes[:0] = submission.notes
    result.identity = submission.identity.to_json() if submission.identity else {}
    if submission.duplicate:
        result.problems = _most_severe_first([Finding(Status.DUPLICATE_SUBMISSION), *result.problems])
    return result


def _most_severe_first(problems: list[Finding]) -> list[Finding]:
    return sorted(problems, key=lambda problem: problem.status.rank)


def grade_notebook(nb, extraction: Extraction, config: GradingConfig, zygote: Zygote, reference: Reference,
                   seed: int, student: str = "", notebook: str = "", fingerprint: str = "") -> StudentResult:
    """Grade a notebook already read and extracted: required names, the probes of the questions
    whose names are there in one sandboxed child, verdicts against `reference`. Used by
    `grade_submission` and by `autograder check` (with the visible checks as `config.probes`)."""
    grading = _Grading(student, notebook, config, fingerprint)
    grading.record_extraction(extraction)
    grading.record_answers(nb)
    with AST_LOCK:
        # Syntax errors are reported with the extraction; the other rules explain what was dropped.
        grading.notes += [_with_fix(problem) for problem in check_rules(nb, list(config.allowed_imports))
                          if problem.rule != "syntax-error"]
        blocked = grading.check_names(extraction, nb)
    to_run = [spec.name for spec in config.probes if spec.question not in blocked]
    # With no probe left to run, the module is still loaded: whether it loads is part of the grade.
    run = run_probes(zygote, probe_job(extraction.source, config, to_run, seed), config.limits)
    return grading.judge_all(run, blocked, reference)


def _with_fix(problem: Problem) -> str:
    """A problem of the notebook (`rules.Problem`) as one sentence for the student."""
    return f"{problem.message} ({problem.fix})"


def _saved_result(path: Path, fingerprint: str) -> StudentResult | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != RESULT_FORMAT or data.get("fingerprint") != fingerprint:
            return None
        return StudentResult.from_json(data)
    except (OSError, ValueError, TypeError, KeyError):
        return None  # missing or damaged: grade again


class _Grading:
    """Collects one submission's problems, notes and verdicts, and builds its StudentResult."""

    def __init__(self, student: str, notebook: str, config: GradingConfig, fingerprint: str):
        self.student, self.notebook, self.config, self.fingerprint = student, notebook, config, fingerprint
        self.problems: list[Finding] = []
        self.notes: list[str] = []
        self.extraction: dict = {}
        self.details: dict = {}
        self.answers: dict[str, Answer] = {}  # manual question id -> the student's answer

    def unreadable(self, reason: str) -> StudentResult:
        self.problems.append(Finding(Status.UNREADABLE_NOTEBOOK))
        self.notes.append(reason)
        verdicts = {spec.name: Verdict(0.0, "not run: the notebook could not be read") for spec in self.config.probes}
        return self.result(verdicts, {})

    def record_extraction(self, extraction: Extraction) -> None:
        self.extraction = {
            "counts": extraction.counts(),
            "entries": [asdict(entry) for entry in extraction.entries if entry.action != KEPT],
            "notes": list(extraction.notes),
        }
        cells = sorted({entry.cell for entry in extraction.syntax_errors})
        if cells:
            label = "cell" if len(cells) == 1 else "cells"
            self.problems.append(Finding(Status.EXTRACTION_ERROR, f"{label} {', '.join(map(str, cells))}"))

    def record_answers(self, nb) -> None:
        """Find each manual question's answer; a deleted graded cell is a problem of the notebook."""
        self.answers = {question.id: find_answer(nb, question) for question in self.config.manual_questions}
        deleted = [answer for answer in self.answers.values() if answer.deleted]
        if deleted:
            self.problems.append(Finding(Status.MISSING_ANSWER_CELL, ", ".join(a.graded_cell for a in deleted)))
            for answer in deleted:
                self.notes.append(f"The answer cell of {answer.question} ({answer.graded_cell}) is not in your notebook: "
                                  "it was deleted, or its nbgrader metadata was, so it cannot be marked.")

    def check_names(self, extraction: Extraction, nb) -> dict[str, str]:
        """Record missing names and signature differences; return {question: why its probes cannot run}."""
        blocked: dict[str, str] = {}
        missing: list[str] = []
        for name in self.config.names:
            for problem in required_name_problems(extraction, nb, [name]):
                if problem.rule == "wrong-signature":
                    self.notes.append(_with_fix(problem))
                    continue
                missing.append(name.name)
                blocked.setdefault(name.question, _with_fix(problem))
        if missing:
            self.problems.append(Finding(Status.MISSING_NAME, ", ".join(missing)))
        return blocked

    def judge_all(self, run: ProbeRun | None, blocked: dict[str, str], reference: Reference) -> StudentResult:
        results = run.results if run else {}
        missing_reason = self._read_outcome(run) if run else ""
        verdicts, errors = {}, {}
        for spec in self.config.probes:
            if spec.question in blocked:
                verdicts[spec.name] = Verdict(0.0, "not run: a name this question needs is missing")
                continue
            result = results.get(spec.name)
            why = run.stopped.get(spec.name, missing_reason) if run else missing_reason
            verdicts[spec.name] = judge(spec, result, reference.results.get(spec.name), why)
            if result is not None and "error" in result:
                errors[spec.name] = result["error"]
        if errors:
            self.problems.append(Finding(Status.EXCEPTION_IN_PROBE))
        return self.result(verdicts, blocked)

    def _read_outcome(self, run: ProbeRun) -> str:
        """Record the child's fate; return why probes it did not answer were not run."""
        outcome = run.outcome
        self.details = {"sandbox": outcome.status, "detail": outcome.detail, "exit_code": outcome.exit_code,
                        "signal": outcome.signal, "elapsed": round(outcome.elapsed, 3),
                        "cpu_seconds": round(outcome.cpu_seconds, 3),
                        "stdout_tail": outcome.stdout_tail[-2000:], "stderr_tail": outcome.stderr_tail[-2000:]}
        if outcome.status == "ok" and run.load_error:
            error = self.details["load_error"] = run.load_error
            self.problems.append(Finding(Status.EXCEPTION_AT_IMPORT))
            self.notes.append(f"Your module failed to load: {error['type']}: {error['message']}")
            return f"your module failed to load ({error['type']})"
        if outcome.status == "ok":
            return "your code did not answer this test"
        # A limit or a crash says more than the load error it may have caused.
        stopped = Finding(STOPPED[outcome.status], _crash_detail(outcome) if outcome.status == "crashed" else "")
        self.problems.append(stopped)
        self.notes.append(f"The grader stopped your code ({stopped.text}): {outcome.detail}.")
        return f"your code was stopped before this test ran ({stopped.text})"

    def result(self, verdicts: dict[str, Verdict], blocked: dict[str, str]) -> StudentResult:
        questions = []
        for question in self.config.questions:
            if question.manual:
                answer = self.answers.get(question.id)
                why = [answer.why_no_answer] if answer is not None and answer.why_no_answer else []
                questions.append(QuestionResult(question.id, question.title, question.points, True, None,
                                                notes=[NEEDS_MANUAL_GRADING, *why],
                                                answer=answer.digest if answer is not None else ""))
                continue
            probes = [ProbeResult(spec.name, spec.question, spec.points, round(verdicts[spec.name].score * spec.points, 6),
                                  verdicts[spec.name].message) for spec in self.config.probes_of(question.id)]
            notes = [blocked[question.id]] if question.id in blocked else []
            questions.append(QuestionResult(question.id, question.title, question.points, False,
                                            round(sum(p.points for p in probes), 6), probes, notes))
        return StudentResult(self.student, self.notebook, _most_severe_first(self.problems), questions,
                             self.extraction, self.notes, self.fingerprint, self.details)


def _crash_detail(outcome) -> str:
    return f"signal {outcome.signal}" if outcome.signal else f"exit code {outcome.exit_code}"


def _grader_error(submission: Submission, config: GradingConfig, error: Exception) -> StudentResult:
    grading = _Grading(submission.student, str(submission.path), config, fingerprint="")
    grading.problems.append(Finding(Status.GRADER_ERROR, f"{type(error).__name__}: {error}"))
    grading.notes.append("The grader failed on this notebook; your instructor has been told and will grade it again.")
    verdicts = {spec.name: Verdict(0.0, "not run: the grader failed") for spec in config.probes}
    return _with_discovery(grading.result(verdicts, {}), replace(submission, notes=(), duplicate=False))


# ---- the batch --------------------------------------------------------------------------------------

def grade_assignment(assignment: str | GradingConfig, submissions: Path, out_dir: Path, jobs: int = 2,
                     force: bool = False, autolab: bool = False, progress: bool = True, *,
                     zygote: Zygote | None = None, root: Path = paths.REPO_ROOT,
                     allow_weak_sandbox: bool = False, shard: Shard | None = None) -> ClassResult:
    """Grade every submission in `submissions` (see `find_submissions`) into `out_dir/results/`;
    with `shard`, only the students it holds, and `out_dir/shard.json` says which (`shards`).

    `zygote`: a running (or launched) Zygote to use (tests share one); without one, a Zygote is started
    for the batch, which refuses to run where this machine cannot isolate a child unless
    `allow_weak_sandbox` (every report then says which protections were missing).
    Raises ConfigError, discovery.DiscoveryError, ReferenceSolutionError or SandboxError before
    grading anyone.
    """
    config = assignment if isinstance(assignment, GradingConfig) else load_config(assignment, root)
    submissions, out_dir = Path(submissions).resolve(), Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    results_dir = out_dir / "results"
    results_dir.mkdir(exist_ok=True)
    seed = batch_seed(config.assignment)
    with _batch_log(out_dir / "grade.log"):
        # Found before the sandbox is waited for: a zygote launched early imports torch meanwhile.
        found = everyone = find_submissions(submissions, config.assignment, out_dir / "unpacked")
        if shard is not None:
            found = shard.select(everyone)
        with running_zygote(zygote, config, allow_weak_sandbox) as running:
            batch = _Batch(config, running, run_reference(config, running, seed), seed, results_dir, force)
            log.info("grading %d submissions of %s (seed %d); sandbox: %s", len(found), config.assignment, seed,
                     batch.isolation)
            graded = _grade_all(found, batch, jobs, progress)
        if shard is not None:
            write_record(out_dir, shard, config.assignment, [s.student for s in everyone], [s.student for s in found],
                         batch.isolation)
    students = sorted((result for result, _ in graded), key=lambda r: r.student)
    apply_marks(students, ManualScores.load(out_dir, config.assignment))
    resumed = sorted(result.student for result, reused in graded if reused)
    return ClassResult(config, students, out_dir, seed, batch.isolation, resumed, autolab)


def apply_marks(students: list[StudentResult], scores: ManualScores) -> None:
    """Give the manual questions of `students` the marks of `scores` that were given for the answer
    each student has now (a mark of an answer since changed is left out: it is to be marked again)."""
    for student in students:
        for question in student.questions:
            mark = scores.get(student.student, question.id) if question.manual else None
            if mark is None or mark.answer != question.answer:
                continue
            question.points = round(min(max(mark.points, 0.0), question.max_points), 6)
            kept = [note for note in question.notes if note != NEEDS_MANUAL_GRADING]
            question.notes = [MARKED_BY_HAND, *kept, *([mark.comment] if mark.comment.strip() else [])]


def load_graded(assignment: str | GradingConfig, out_dir: Path, root: Path = paths.REPO_ROOT) -> ClassResult:
    """The class graded earlier into `out_dir` (its `results/*.json`), with the manual marks saved
    there: what `mark` and `export` work from without grading again. Raises ConfigError, or
    ScoresError when `out_dir` holds no results of this assignment's current format."""
    from autograder.grading.manual import ScoresError
    config = assignment if isinstance(assignment, GradingConfig) else load_config(assignment, root, probes=False)
    out_dir = Path(out_dir).resolve()
    students = []
    for path in sorted((out_dir / "results").glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") == RESULT_FORMAT:
                students.append(StudentResult.from_json(data))
        except (OSError, ValueError, TypeError, KeyError):
            continue
    if not students:
        raise ScoresError(f"{out_dir} holds no results of `autograder grade` for {config.assignment}: run "
                          f"`autograder grade {config.assignment} SUBMISSIONS -o {out_dir}` first")
    apply_marks(students, ManualScores.load(out_dir, config.assignment))
    return ClassResult(config, students, out_dir, batch_seed(config.assignment), "not graded in this run")


def _grade_all(found: list[Submission], batch: _Batch, jobs: int, progress: bool) -> list[tuple[StudentResult, bool]]:
    graded = []
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        with tqdm(total=len(found), desc=f"grading {batch.config.assignment}", unit="notebook",
                  disable=not progress) as bar:
            futures = [pool.submit(_grade_and_save, submission, batch) for submission in found]
            for future in concurrent.futures.as_completed(futures):
                graded.append(future.result())
                bar.update()
    finally:
        # On Ctrl-C, drop the submissions not started; the saved results let a rerun resume.
        pool.shutdown(wait=True, cancel_futures=True)
    return graded


def _grade_and_save(submission: Submission, batch: _Batch) -> tuple[StudentResult, bool]:
    """Grade one submission and save its result; never raises."""
    try:
        result, reused = grade_submission(submission, batch)
        if not reused:
            if batch.sandbox_note:
                result.notes.append(batch.sandbox_note)
            write_atomically(batch.results_dir / f"{result.student}.json", json.dumps(result.to_json(), indent=1))
    except Exception as error:  # noqa: BLE001 - one bad submission must never stop the batch
        log.exception("grader error on %s (%s)", submission.student, submission.path)
        failed = _grader_error(submission, batch.config, error)
        with contextlib.suppress(OSError):  # kept for `mark` and `export` (fingerprint "": never reused)
            write_atomically(batch.results_dir / f"{failed.student}.json", json.dumps(failed.to_json(), indent=1))
        return failed, False
    log.info("%s: %s, %g/%g%s", result.student, result.status_text, result.total, result.max_total,
             " (saved result reused)" if reused else "")
    return result, reused


@contextlib.contextmanager
def _batch_log(path: Path):
    """Send the autograder's log records (this module's and discovery's) to `path` for a batch."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    package_log = logging.getLogger("autograder")
    previous = package_log.level
    package_log.addHandler(handler)
    package_log.setLevel(logging.INFO)
    try:
        yield
    finally:
        package_log.removeHandler(handler)
        package_log.setLevel(previous)
        handler.close()


@contextlib.contextmanager
def running_zygote(zygote: Zygote | None, config: GradingConfig, allow_weak: bool = False, one_run: bool = False):
    """`zygote` when given (one only launched is waited for by its first run), with `config`'s
    preloads imported in it too, else a new one with `config`'s limits, preloads and blocked imports
    (see `Zygote` for `allow_weak`); `one_run` leaves out the preloads that pay only over many runs
    (MANY_RUNS_ONLY). A given zygote that can import a package `config` blocks is closed and
    replaced when it was only launched (the CLI launches one before it has read the assignment), and
    refused with SandboxError when it is running."""
    missing = sorted(set(config.blocked_imports) - set(zygote.blocked)) if zygote is not None and config.blocked_imports else []
    if missing and zygote.isolation is None:
        zygote.close()
        zygote, missing = None, []
    if missing:
        raise SandboxError(f"{config.assignment} blocks {', '.join(missing)}, which this sandbox zygote can "
                           f"import: start it with blocked={tuple(config.blocked_imports)!r}")
    preload = tuple(name for name in config.preload if not (one_run and name in MANY_RUNS_ONLY))
    if zygote is not None:
        zygote.import_modules(preload)
        yield zygote
        return
    with Zygote(config.limits, preload, blocked=config.blocked_imports, allow_weak=allow_weak) as started:
        yield started
