"""Read and check an assignment's grading.toml: its questions, the names to extract, the limits and
the probes.

    assignment = "hopfield_batchnorm"
    title = "Batch norm and Hopfield networks"
    probes = "probes.py"          # hidden probes, relative to this folder
    checks = "checks.py"          # optional: visible checks a student may run with `autograder check`
    source = "toy.ipynb"          # optional: the reference notebook (default source/<a>/<a>.ipynb)
    allowed_imports = []          # empty: any import allowed
    [limits]                      # optional; each key defaults to autograder.sandbox.Limits
    wall_seconds = 60
    [[questions]]
    id = "Q1a"; title = "du_k/dt"; points = 2; manual = true
    [[names]]
    name = "BatchNorm"; kind = "class"; question = "Q2A"; signature = "(num_features, eps=1e-5)"

A `signature` is what the grader calls: a function's parameters, or a class's constructor
parameters without `self` (as `inspect.signature` shows them).

Everything that can be wrong in the file is found here, before any submission is graded, and
reported as a `ConfigError` naming the file and the key: unknown keys (a typo would otherwise be
silently ignored), wrong types, duplicate question ids, names or probes that point at unknown
questions, files that do not exist, and probe points that do not add up to a question's points.
"""
from __future__ import annotations

import ast
import dataclasses
import hashlib
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from autograder import errors, paths
from autograder.probes import ProbeDefinitionError, ProbeSpec, load_probes
from autograder.sandbox.limits import Limits

CONFIG_FILE = "grading.toml"
NAME_KINDS = ("class", "function")
# Probe points are floats; sums within this of a question's points count as equal.
POINTS_TOLERANCE = 1e-6

TOP_LEVEL_KEYS = {"assignment", "title", "probes", "checks", "source", "allowed_imports", "limits",
                  "questions", "names"}
QUESTION_KEYS = {"id": (str,), "title": (str,), "points": (int, float), "manual": (bool,)}
NAME_KEYS = {"name": (str,), "kind": (str,), "question": (str,), "signature": (str,)}
LIMIT_KEYS = {field.name for field in dataclasses.fields(Limits)}
# The other limits are whole numbers for the kernel's rlimits.
FRACTIONAL_LIMITS = {"wall_seconds", "cpu_seconds"}


class ConfigError(errors.AutograderError):
    """grading.toml is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class Question:
    id: str
    title: str
    points: float
    manual: bool = False  # graded by hand; no probes


@dataclass(frozen=True)
class RequiredName:
    """A name the submission's extracted module must define for `question`'s probes to run."""
    name: str
    kind: str  # "class" | "function"
    question: str
    signature: str | None = None


@dataclass(frozen=True)
class GradingConfig:
    assignment: str
    title: str
    file: Path  # the grading.toml itself
    questions: tuple[Question, ...]
    names: tuple[RequiredName, ...]
    limits: Limits
    probes_path: Path
    checks_path: Path | None
    source_path: Path  # the reference notebook, with the model solutions (may not exist without probes)
    allowed_imports: tuple[str, ...]
    probes: tuple[ProbeSpec, ...]  # empty when loaded with probes=False
    text: str = dataclasses.field(repr=False)  # grading.toml's text
    # The probes file's text, read when the config is made (also by dataclasses.replace with another
    # probes file), so that a batch never mixes two versions of it; empty without probes.
    probe_source: str = dataclasses.field(init=False, repr=False)

    def __post_init__(self):
        source = self.probes_path.read_text(encoding="utf-8") if self.probes else ""
        object.__setattr__(self, "probe_source", source)

    @property
    def folder(self) -> Path:
        return self.file.parent

    @property
    def autograded_questions(self) -> list[Question]:
        return [q for q in self.questions if not q.manual]

    @property
    def manual_questions(self) -> list[Question]:
        return [q for q in self.questions if q.manual]

    @property
    def max_autograded(self) -> float:
        return sum(q.points for q in self.autograded_questions)

    def probes_of(self, question_id: str) -> list[ProbeSpec]:
        return [spec for spec in self.probes if spec.question == question_id]

    def visible_checks(self) -> "GradingConfig":
        """This config with the visible checks file as its probes: what `autograder check` runs, and
        what the release's expected values are computed with. The hidden probes play no part.
        Raises whatever loading the checks file raises (ProbeDefinitionError, or the file's own error)."""
        return dataclasses.replace(self, probes_path=self.checks_path, probes=tuple(load_probes(self.checks_path)))

    def digest(self) -> str:
        """SHA-256 of everything grading depends on in the grader's files: this file and the probes."""
        return hashlib.sha256(f"{self.text}\0{self.probe_source}".encode()).hexdigest()


def config_file(assignment: str | Path, root: Path = paths.REPO_ROOT) -> Path:
    """The grading.toml meant by `assignment`: a Path (or a string with a slash or ending in .toml)
    to the file or its folder, else the name of an assignment: `assignments/<a>/grading.toml`."""
    text = str(assignment)
    if isinstance(assignment, Path) or "/" in text or text.endswith(".toml"):
        path = Path(assignment)
        return path / CONFIG_FILE if path.is_dir() else path
    return paths.assignment_dir(text, root) / CONFIG_FILE


def load_config(assignment: str | Path, root: Path = paths.REPO_ROOT, *, probes: bool = True) -> GradingConfig:
    """Read and check the grading.toml of `assignment` (see `config_file`).

    With `probes=False` neither the hidden probes file nor the reference notebook is opened or
    required (a student has neither), which is what a student-side check wants;
    `GradingConfig.probes` is then empty. The checks file, when named, must exist either way.
    Raises ConfigError naming the file and the key for anything wrong.
    """
    file = config_file(assignment, root).resolve()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{file}: cannot read it ({getattr(error, 'strerror', None) or error})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file}: not valid TOML ({error})") from None
    return _Reader(file, root).build(data, text, with_probes=probes)


class _Reader:
    """Turns the parsed TOML into a GradingConfig, raising ConfigError at the first problem."""

    def __init__(self, file: Path, root: Path):
        self.file, self.root = file, root

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.file}: {key}: {problem}")

    def build(self, data: dict, text: str, with_probes: bool) -> GradingConfig:
        self.unknown_keys(data, TOP_LEVEL_KEYS, "top level")
        assignment = self.string(data, "assignment")
        questions = self.questions(data.get("questions"))
        names = self.names(data.get("names", []), questions)
        probes_path = self.existing_file(data, "probes") if with_probes else self.folder_path(data, "probes")
        specs = tuple(self.load_probes(probes_path, questions)) if with_probes else ()
        source = self.folder_path(data, "source") if "source" in data else paths.source_notebook(assignment, self.root)
        if with_probes:  # only the grader needs the reference solution
            self.must_exist("source", source)
        return GradingConfig(
            assignment=assignment,
            title=self.string(data, "title") if "title" in data else assignment,
            file=self.file,
            questions=questions,
            names=names,
            limits=self.limits(data.get("limits", {})),
            probes_path=probes_path,
            checks_path=self.existing_file(data, "checks") if "checks" in data else None,
            source_path=source,
            allowed_imports=self.allowed_imports(data.get("allowed_imports", [])),
            probes=specs,
            text=text,
        )

    # ---- pieces -------------------------------------------------------------------------------

    def unknown_keys(self, table: dict, known, where: str) -> None:
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise self.error(where, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")

    def string(self, table: dict, key: str, where: str = "") -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(where + key, "must be a non-empty string")
        return value

    def typed(self, table: dict, keys: dict, where: str) -> None:
        self.unknown_keys(table, keys, where)
        for key, value in table.items():
            kinds = keys[key]
            if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
                expected = " or ".join({str: "a string", int: "an integer", float: "a number",
                                        bool: "true or false"}[kind] for kind in kinds)
                raise self.error(f"{where}.{key}", f"must be {expected}, not {value!r}")

    def array_entry(self, entry, keys: dict, where: str, required: tuple[str, ...]) -> None:
        """Check one table of a [[questions]] or [[names]] array: its kinds and its required keys."""
        if not isinstance(entry, dict):
            raise self.error(where, "must be a table")
        self.typed(entry, keys, where)
        for key in required:
            if key not in entry:
                raise self.error(f"{where}.{key}", "is required")

    def questions(self, entries) -> tuple[Question, ...]:
        if not isinstance(entries, list) or not entries:
            raise self.error("questions", "needs at least one [[questions]] table")
        questions = []
        for number, entry in enumerate(entries, start=1):
            where = f"questions[{number}]"
            self.array_entry(entry, QUESTION_KEYS, where, required=("id", "points"))
            if not math.isfinite(entry["points"]) or entry["points"] <= 0:
                raise self.error(f"{where}.points", f"must be positive, not {entry['points']!r}")
            if entry["id"] in {q.id for q in questions}:
                raise self.error(f"{where}.id", f"duplicate question id {entry['id']!r}")
            questions.append(Question(entry["id"], entry.get("title", entry["id"]), float(entry["points"]),
                                      entry.get("manual", False)))
        return tuple(questions)

    def names(self, entries, questions: tuple[Question, ...]) -> tuple[RequiredName, ...]:
        if not isinstance(entries, list):
            raise self.error("names", "must be an array of [[names]] tables")
        known = {q.id for q in questions}
        names = []
        for number, entry in enumerate(entries, start=1):
            where = f"names[{number}]"
            self.array_entry(entry, NAME_KEYS, where, required=("name", "kind", "question"))
            if not entry["name"].isidentifier():
                raise self.error(f"{where}.name", f"{entry['name']!r} is not a Python name")
            if entry["kind"] not in NAME_KINDS:
                raise self.error(f"{where}.kind", f"must be one of {', '.join(NAME_KINDS)}, not {entry['kind']!r}")
            if entry["question"] not in known:
                raise self.error(f"{where}.question", f"unknown question {entry['question']!r} "
                                                      f"(questions: {', '.join(sorted(known))})")
            if "signature" in entry:
                self.check_signature(entry["signature"], f"{where}.signature")
            names.append(RequiredName(entry["name"], entry["kind"], entry["question"], entry.get("signature")))
        return tuple(names)

    def check_signature(self, signature: str, where: str) -> None:
        text = signature.strip()
        text = text if text.startswith("(") else f"({text})"
        try:
            ast.parse(f"def _{text}: pass")
        except SyntaxError:
            raise self.error(where, f"{signature!r} is not a Python parameter list such as \"(x, eps=1e-5)\"") from None

    def limits(self, table) -> Limits:
        if not isinstance(table, dict):
            raise self.error("limits", "must be a [limits] table")
        self.unknown_keys(table, LIMIT_KEYS, "limits")
        for key, value in table.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise self.error(f"limits.{key}", f"must be a positive number, not {value!r}")
        return Limits(**{key: value if key in FRACTIONAL_LIMITS else math.ceil(value)
                         for key, value in table.items()})

    def allowed_imports(self, value) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise self.error("allowed_imports", "must be a list of module names (empty: any import allowed)")
        return tuple(value)

    def folder_path(self, data: dict, key: str) -> Path:
        return self.file.parent / self.string(data, key)

    def existing_file(self, data: dict, key: str) -> Path:
        return self.must_exist(key, self.folder_path(data, key))

    def must_exist(self, key: str, path: Path) -> Path:
        if not path.is_file():
            raise self.error(key, f"{path} does not exist")
        return path

    def load_probes(self, path: Path, questions: tuple[Question, ...]) -> list[ProbeSpec]:
        try:
            specs = load_probes(path)
        except ProbeDefinitionError as error:
            raise self.error("probes", str(error)) from None
        except Exception as error:  # noqa: BLE001 - an instructor's file may fail in any way
            raise self.error("probes", f"{path} failed to load: {type(error).__name__}: {error}") from None
        by_id = {q.id: q for q in questions}
        for spec in specs:
            question = by_id.get(spec.question)
            if question is None:
                raise self.error("probes", f"probe {spec.name} in {path.name} is for question {spec.question!r}, "
                                           f"which is not in [[questions]]")
            if question.manual:
                raise self.error("probes", f"probe {spec.name} in {path.name} is for question {spec.question!r}, "
                                           f"which is graded by hand (manual = true)")
        for question in questions:
            total = sum(spec.points for spec in specs if spec.question == question.id)
            if not question.manual and abs(total - question.points) > POINTS_TOLERANCE:
                raise self.error("probes", f"the probes of question {question.id} in {path.name} are worth "
                                           f"{total:g} points, but [[questions]] gives it {question.points:g}")
        return specs
