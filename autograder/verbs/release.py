"""Generate the student version of an assignment and refuse one that gives answers away.

``release`` runs nbgrader's generate_assignment (in this process, `autograder.verbs.nbgrader_generate`)
on a private copy of ``source/<a>/``, copies
``utils.py`` beside the notebook, records the graded and read-only cells in the notebook's metadata
(`autograder.analysis.unfinished.record_release_cells`, for ``autograder check``), writes the check bundle ``check/`` that ``autograder check`` needs
(see `autograder.verbs.bundle`) when the assignment has a grading.toml, and checks the result for leaks —
solution text, hidden tests, hidden probes — before it replaces ``release/<a>/``.
``stale_files`` lists what in the committed release its inputs would no longer make: it generates the
notebook again, but judges the bundle's expected values by the stamp of their inputs, not by their bytes.
"""
import ast
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from autograder.verbs import bundle, nbgrader_generate

from autograder import errors, paths
from autograder.grading import marks
from autograder.grading.config import ConfigError, GradingConfig, config_file, load_config
from autograder.grading.grade import ReferenceSolutionError
from autograder.analysis import unfinished
from autograder.analysis.quick_nbformat import nbformat
from autograder.sandbox import Zygote

# Markers that must never reach students, whatever cell they sit in.
_SECRET_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                   "BEGIN MARK SCHEME", "END MARK SCHEME")
_REGION = re.compile(r"^[ \t]*(?:#+|%+)?[ \t]*(BEGIN|END) (SOLUTION|HIDDEN TESTS|MARK SCHEME)\b.*$")
# Lines this short or this generic ("else:", "return x") appear in skeletons too; they prove nothing.
_MIN_SECRET_LINE = 12
_TRIVIAL = re.compile(r"(?:import|from)\s.*|return(?:\s+[\w.]+)?|(?:pass|break|continue|raise|else:|try:|finally:)"
                      r"|super\(\)\.__init__\(\)|[\W_]*")


class ReleaseError(errors.AutograderError):
    """A release could not be generated, or would leak solutions or hidden tests."""


@dataclass(frozen=True)
class Leak:
    cell: int  # 1-based position among all cells of the release notebook
    what: str  # "solution code", "model answer", "hidden test" or "marker"
    line: str

    def __str__(self) -> str:
        return f"cell {self.cell}: {self.what} leaked: {self.line.strip()[:80]!r}"


def _is_solution(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def _regions(cell) -> Iterator[tuple[str, str | None]]:
    """(line, what it is) for every line of a source cell outside the region markers: "model answer",
    "solution code" or "hidden test" inside a region (a whole manually graded Markdown answer is a
    model answer), None outside."""
    lines = cell.source.splitlines()
    has_regions = any(_REGION.match(line) for line in lines)
    whole_cell_answer = _is_solution(cell) and cell.cell_type == "markdown" and not has_regions
    region = "model answer" if whole_cell_answer else None
    for line in lines:
        marker = _REGION.match(line)
        if marker:
            begin, kind = marker.groups()
            region = None if begin == "END" else {
                "SOLUTION": "model answer" if cell.cell_type == "markdown" else "solution code",
                "HIDDEN TESTS": "hidden test", "MARK SCHEME": "model answer"}[kind]
            continue
        yield line, region


def _secret_lines(source_nb) -> dict[str, str]:
    """Lines of the source notebook that only solutions, model answers and hidden tests contain.

    Returns {stripped line: what it is}. Lines that also appear in public text are left out.
    """
    secret, public = {}, set()
    for cell in source_nb.cells:
        for line, region in _regions(cell):
            text = line.strip()
            if len(text) < _MIN_SECRET_LINE:
                continue
            if region:
                secret.setdefault(text, region)
            else:
                public.add(text)
    return {line: what for line, what in secret.items() if line not in public}


def _trivial(line: str) -> bool:
    """A line that gives nothing away when a prompt shows it: short, an import, a bare `return`,
    a keyword or punctuation alone."""
    return len(line) < _MIN_SECRET_LINE or bool(_TRIVIAL.fullmatch(line))


@dataclass(frozen=True)
class Exposure:
    cell: int  # 1-based position among all cells of the source notebook
    label: str  # the cell's grade id, else its first line
    line: str

    def __str__(self) -> str:
        return (f"cell {self.cell} ({self.label}) shows the solution line {self.line[:80]!r}: remove it from the "
                f"prompt, or, if students should see it, move it out of the solution region")


def exposed_solution_lines(source_nb, previous_release=None) -> list[Exposure]:
    """Solution-code lines of `source_nb` that a public cell (a prompt, in Markdown or code: any cell
    that is not a solution cell) shows too, so that the release would give them away. Trivial lines
    (`_trivial`) and lines of the notebook `previous_release` (students have seen those) are allowed."""
    solution = {line.strip() for cell in source_nb.cells if cell.cell_type == "code"
                for line, region in _regions(cell) if region == "solution code"}
    seen = set() if previous_release is None else {
        line.strip() for cell in previous_release.cells for line in cell.source.splitlines()}
    exposed = []
    for number, cell in enumerate(source_nb.cells, start=1):
        if _is_solution(cell):
            continue
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
        for line in cell.source.splitlines():
            text = line.strip()
            if text in solution and text not in seen and not _trivial(text):
                exposed.append(Exposure(number, grade_id or repr(first[:50]), text))
    return exposed


def find_leaks(source_nb, release_nb) -> list[Leak]:
    """Every release cell line that is a secret marker or a line of a solution or hidden test."""
    secret = _secret_lines(source_nb)
    leaks = []
    for number, cell in enumerate(release_nb.cells, start=1):
        for line in cell.source.splitlines():
            if any(marker in line for marker in _SECRET_MARKERS):
                leaks.append(Leak(number, "marker", line))
            elif line.strip() in secret:
                leaks.append(Leak(number, secret[line.strip()], line))
    return leaks


def _probe_definitions(probe_source: str) -> dict[str, str]:
    """{probe name: the text of its `def`} for the top-level functions of a probes file that carry
    a decorator (`@probe(...)`)."""
    tree = ast.parse(probe_source)
    return {node.name: ast.get_source_segment(probe_source, node) for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.decorator_list}


def _readable_text(path: Path) -> str:
    """What a reader of the file sees: a notebook's cell sources, any other file's text."""
    if path.suffix == ".ipynb":
        return "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)
    return path.read_text(encoding="utf-8", errors="replace")


def find_probe_leaks(config: GradingConfig, folder: Path) -> list[str]:
    """Files under `folder` that are or hold the hidden probes of `config` (loaded with its probes):
    a file named like the probes file, its whole text, or the definition of one of its probes."""
    probes_name = config.probes_path.name
    definitions = _probe_definitions(config.probe_source)
    leaks = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        where = path.relative_to(folder)
        if path.name == probes_name:
            leaks.append(f"{where}: the hidden probes file {probes_name}")
            continue
        text = _readable_text(path)
        if config.probe_source.strip() in text:
            leaks.append(f"{where}: the text of the hidden {probes_name}")
        else:
            leaks += [f"{where}: hidden probe {name} of {probes_name}"
                      for name, definition in definitions.items() if definition in text]
    return leaks


def _write_check_bundle(assignment: str, folder: Path, root: Path, zygote: Zygote | None) -> None:
    """Write `folder/check/`, and refuse a release without grading.toml, whose notebook disagrees with
    it on the marks (`autograder.grading.marks`), or that holds its hidden probes (the bundle included)."""
    config = _grading_config(assignment, root)
    if config is None:
        toml = config_file(assignment, root)
        raise ReleaseError(f"refusing to release {assignment!r}: " + marks.missing_config(_shown(toml, root)))
    disagreements = marks.problems(config, nbformat.read(paths.source_notebook(assignment, root), as_version=4))
    if disagreements:
        raise ReleaseError(f"refusing to release {assignment!r}: its notebook and {_shown(config.file, root)} "
                           "disagree on the marks\n  " + "\n  ".join(disagreements))
    with _bundle_errors(assignment):
        bundle.write_bundle(config, folder, root, zygote)
    leaks = find_probe_leaks(config, folder)
    if leaks:
        raise _refusal(assignment, "folder", leaks)


def _shown(path: Path, root: Path) -> str:
    """`path` relative to the course root when it is inside it."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _grading_config(assignment: str, root: Path) -> GradingConfig | None:
    """The grader's config of `assignment`, with its probes; None when it has no grading.toml."""
    if not config_file(assignment, root).is_file():
        return None
    with _bundle_errors(assignment):
        return load_config(assignment, root)


@contextmanager
def _bundle_errors(assignment: str):
    """Turn what stops a check bundle from being made into a ReleaseError naming the assignment."""
    try:
        yield
    except (ConfigError, bundle.BundleError, ReferenceSolutionError) as error:
        raise ReleaseError(f"cannot write the check bundle of {assignment!r}: {error}") from None


def _refusal(assignment: str, where: str, leaks) -> ReleaseError:
    return ReleaseError(f"refusing to release {assignment!r}: the student {where} would still contain\n  "
                        + "\n  ".join(map(str, leaks)))


def generate(assignment: str, destination: Path, root: Path = paths.REPO_ROOT, *,
             zygote: Zygote | None = None) -> Path:
    """Write the student version of ``assignment`` into ``destination`` (replaced if present): the
    notebook and utils.py of `_student_folder`, and the check bundle (running the reference on the
    visible checks in `zygote`, or in a new sandbox). Raises ReleaseError on any leak, naming the
    cell or the file.
    """
    with _student_folder(assignment, root) as generated:
        _write_check_bundle(assignment, generated, root, zygote)
        if destination.exists():
            shutil.rmtree(destination)
        shutil.copytree(generated, destination)
    return destination


@contextmanager
def _student_folder(assignment: str, root: Path) -> Iterator[Path]:
    """A temporary folder with the student notebook and a copy of ``utils.py``.

    Runs nbgrader on a private copy of the source folder, so that nothing it starts (a kernel for
    its autotests) works in the course tree, and raises ReleaseError when it fails or a notebook it
    wrote leaks a solution or hidden test.
    """
    source_nb_path = paths.source_notebook(assignment, root)
    if not source_nb_path.is_file():
        raise ReleaseError(f"no source notebook for {assignment!r} at {source_nb_path}")
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        source = shutil.copytree(source_nb_path.parent, Path(tmp) / "source")
        generated = Path(tmp) / "release"
        try:
            notebooks = nbgrader_generate.generate_assignment(
                assignment, source, generated, nbgrader_generate.course_config(root))
        except nbgrader_generate.GenerationError as error:
            raise ReleaseError(f"nbgrader generate_assignment failed for {assignment!r}: {error}") from error
        previous = paths.release_dir(assignment, root)
        for notebook in notebooks:
            source_nb = nbformat.read(source / notebook.name, as_version=4)
            released = nbformat.read(notebook, as_version=4)
            leaks = find_leaks(source_nb, released)
            if leaks:
                raise _refusal(assignment, "notebook", leaks)
            before = previous / notebook.name
            exposed = exposed_solution_lines(source_nb, nbformat.read(before, as_version=4) if before.is_file() else None)
            if exposed:
                raise ReleaseError(f"refusing to release {assignment!r}: a public cell of {notebook.name} shows "
                                   "solution code, which the release would keep\n  " + "\n  ".join(map(str, exposed)))
            # What `autograder check` compares a student's copy with (graded and read-only cells).
            unfinished.record_release_cells(released, assignment)
            nbformat.write(released, notebook)
        shutil.copy2(paths.student_helpers(root), generated / "utils.py")
        yield generated


def release(assignment: str, root: Path = paths.REPO_ROOT, *, zygote: Zygote | None = None) -> Path:
    """Generate ``release/<a>/`` from ``source/<a>/`` (the ``autograder release`` verb)."""
    return generate(assignment, paths.release_dir(assignment, root), root, zygote=zygote)


def stale_files(assignment: str, root: Path = paths.REPO_ROOT) -> list[str]:
    """Files of the committed ``release/<a>/`` that differ from what their inputs make now (empty:
    current): the notebook, generated again with nbgrader, and utils.py by content, then
    `stale_bundle_files`."""
    with _student_folder(assignment, root) as fresh:
        wanted = comparable_contents(fresh)
    present = {name: content for name, content in comparable_contents(paths.release_dir(assignment, root)).items()
               if not name.startswith(f"{bundle.BUNDLE_FOLDER}/")}
    return sorted(_differences(wanted, present) + stale_bundle_files(assignment, root))


def stale_bundle_files(assignment: str, root: Path = paths.REPO_ROOT) -> list[str]:
    """Files of the committed ``release/<a>/check/`` that differ from what their inputs make now:
    the copies of grading.toml and the checks file by content, expected.json by its stamp alone
    (naming the entries that changed). Neither nbgrader nor the reference runs, and float bits that
    another CPU computes differently do not count."""
    config = _grading_config(assignment, root)
    wanted = {} if config is None else _wanted_bundle(config, root)
    present = comparable_contents(paths.release_dir(assignment, root) / bundle.BUNDLE_FOLDER)
    return [f"{bundle.BUNDLE_FOLDER}/{name}" for name in _differences(wanted, present)]


def _wanted_bundle(config: GradingConfig, root: Path) -> dict[str, object]:
    """What `comparable_contents` of a current check bundle for `config` gives, without running
    the reference: the copies, and expected.json's stamp when there are visible checks."""
    with tempfile.TemporaryDirectory(prefix="release-check-") as tmp, _bundle_errors(config.assignment):
        wanted = comparable_contents(bundle.copy_config(config, Path(tmp)))
        if config.checks_path is not None:
            wanted[bundle.EXPECTED_FILE] = bundle.stamp(config.visible_checks(), root)
    return wanted


def comparable_contents(folder: Path) -> dict[str, object]:
    """Relative path of each file under `folder` (none when it is missing) → what staleness
    compares: an expected-values file's stamp, a notebook's parsed JSON, any other file's bytes."""
    contents = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name == bundle.EXPECTED_FILE:
            content = bundle.read_stamp(path) or data  # a damaged file compares as its bytes: stale
        else:
            content = json.loads(data) if path.suffix == ".ipynb" else data
        contents[path.relative_to(folder).as_posix()] = content
    return contents


def _differences(wanted: dict[str, object], present: dict[str, object]) -> list[str]:
    """The names whose contents differ, sorted; an expected-values file with the stamp entries that
    changed when both sides have a stamp."""
    differences = []
    for name in sorted(wanted.keys() | present.keys()):
        old, new = present.get(name), wanted.get(name)
        if old == new:
            continue
        stamps = Path(name).name == bundle.EXPECTED_FILE and isinstance(old, dict) and isinstance(new, dict)
        differences.append(f"{name} ({', '.join(bundle.changed_inputs(old, new))} changed)" if stamps else name)
    return differences
