"""Read and check an assignment's grading.toml: its questions, the names to extract, the limits and
the probes.

The file's shape (keys, types, defaults, meanings) is `autograder.grading.schema`; docs/authoring.md shows
it as a reference. This module adds what relates keys to each other and to files: question ids are
unique, every name and every probe is for a question of the file, probes are never for a manual
question, the files named exist, and the hidden probes of each autograded question are worth its
points. The visible checks pass the same probe checks except the last (`visible_checks`).

Everything that can be wrong is reported as a `ConfigError` naming the file, the key and the
problem in one sentence, before any submission is graded.
"""
from __future__ import annotations

import dataclasses
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

from autograder import errors, paths
from autograder.grading.probes import ProbeDefinitionError, ProbeSpec, load_probes
from autograder.sandbox.limits import Limits
from autograder.grading.schema import GradingFile, Question, RequiredName, SchemaError, parse

CONFIG_FILE = "grading.toml"
# Probe points are floats; sums within this of a question's points count as equal.
POINTS_TOLERANCE = 1e-6


class ConfigError(errors.AutograderError):
    """grading.toml is wrong; the message names the file and the key."""


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
    preload: tuple[str, ...]  # what the zygote imports once ([sandbox] preload, without what is blocked)
    blocked_imports: tuple[str, ...]  # what no run can import ([sandbox] blocked_imports)
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

    def visible_checks(self) -> GradingConfig:
        """This config with the visible checks file as its probes: what `autograder check` runs, and
        what the release's expected values are computed with. The hidden probes play no part.
        Raises ConfigError (key `checks`) when the file does not load or a check is not for an
        autograded question of this file; unlike the hidden probes, their points need not add up."""
        checks = _checked_probes(self, "checks", self.checks_path, points_add_up=False)
        return dataclasses.replace(self, probes_path=self.checks_path, probes=checks)

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
    try:
        table = parse(data)
    except SchemaError as error:
        raise _error(file, error.key, error.problem) from None
    return _build(file, text, table, root, with_probes=probes)


def _error(file: Path, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{file}: {key}: {problem}")


def _build(file: Path, text: str, table: GradingFile, root: Path, with_probes: bool) -> GradingConfig:
    """The GradingConfig of a schema-valid `table`, after the checks across keys and files."""
    _check_question_ids(file, table.questions)
    _check_name_questions(file, table.names, table.questions)
    folder = file.parent
    probes_path = folder / table.probes
    source = folder / table.source if table.source else paths.source_notebook(table.assignment, root)
    if with_probes:  # only the grader has the hidden probes and the reference solution
        _must_exist(file, "probes", probes_path)
        _must_exist(file, "source", source)
    checks_path = _must_exist(file, "checks", folder / table.checks) if table.checks else None
    config = GradingConfig(
        assignment=table.assignment,
        title=table.title or table.assignment,
        file=file,
        questions=tuple(table.questions),
        names=tuple(table.names),
        limits=table.limits.as_limits(),
        probes_path=probes_path,
        checks_path=checks_path,
        source_path=source,
        allowed_imports=tuple(table.allowed_imports),
        probes=(),
        preload=tuple(name for name in table.sandbox.preload
                      if name.partition(".")[0] not in table.sandbox.blocked_imports),
        blocked_imports=tuple(table.sandbox.blocked_imports),
        text=text,
    )
    if not with_probes:
        return config
    return dataclasses.replace(config, probes=_checked_probes(config, "probes", probes_path, points_add_up=True))


def _check_question_ids(file: Path, questions: list[Question]) -> None:
    seen = set()
    for number, question in enumerate(questions, start=1):
        if question.id in seen:
            raise _error(file, f"questions[{number}].id", f"duplicate question id {question.id!r}")
        seen.add(question.id)


def _check_name_questions(file: Path, names: list[RequiredName], questions: list[Question]) -> None:
    known = [q.id for q in questions]
    for number, name in enumerate(names, start=1):
        if name.question not in known:
            raise _error(file, f"names[{number}].question",
                         f"unknown question {name.question!r} (questions: {', '.join(known)})")


def _must_exist(file: Path, key: str, path: Path) -> Path:
    if not path.is_file():
        raise _error(file, key, f"{path} does not exist")
    return path


def _checked_probes(config: GradingConfig, key: str, path: Path, points_add_up: bool) -> tuple[ProbeSpec, ...]:
    """The probes of the file at `path` (named by `key` in grading.toml), which must each be for an
    autograded question of `config`; with `points_add_up`, each autograded question's probes must
    also be worth its points. The hidden probes and the visible checks both pass here."""
    def error(problem: str) -> ConfigError:
        return _error(config.file, key, problem)

    try:
        specs = load_probes(path)
    except ProbeDefinitionError as problem:
        raise error(str(problem)) from None
    except Exception as problem:  # noqa: BLE001 - an instructor's file may fail in any way
        raise error(f"{path} failed to load: {type(problem).__name__}: {problem}") from None
    by_id = {q.id: q for q in config.questions}
    for spec in specs:
        question = by_id.get(spec.question)
        if question is None:
            raise error(f"probe {spec.name} in {path.name} is for question {spec.question!r}, "
                        f"which is not in [[questions]]")
        if question.manual:
            raise error(f"probe {spec.name} in {path.name} is for question {spec.question!r}, "
                        f"which is graded by hand (manual = true)")
    for question in config.autograded_questions if points_add_up else ():
        total = sum(spec.points for spec in specs if spec.question == question.id)
        if abs(total - question.points) > POINTS_TOLERANCE:
            raise error(f"the probes of question {question.id} in {path.name} are worth {total:g} points, "
                        f"but [[questions]] gives it {question.points:g}")
    return tuple(specs)
