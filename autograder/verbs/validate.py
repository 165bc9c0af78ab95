"""Check that an assignment works before students see it (the ``autograder validate`` verb).

The source notebook must run top to bottom with every test passing. The release must fail only
where a student has work to do: every error is a NotImplementedError from an answer stub, and every
autograded test cell fails on the stubs (a test that passes on an empty answer tests nothing),
which is what ``nbgrader validate --invert`` asks of a release.

Before running anything, the source notebook's graded cells and their points are held to
grading.toml (`autograder.grading.marks`), which must exist.

Only error outputs count: warnings that numpy, torch or tqdm print on stderr are not failures.
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

from nbclient import NotebookClient

from autograder import paths
from autograder.analysis.outputs import collapse_progress
from autograder.grading import marks
from autograder.grading.config import ConfigError, config_file, load_config
from autograder.analysis.quick_nbformat import nbformat

CELL_TIMEOUT_SECONDS = 600


@dataclass
class CellError:
    cell: int  # 1-based position among all cells
    name: str  # exception class name
    message: str

    def __str__(self) -> str:
        return f"cell {self.cell}: {self.name}: {self.message}"[:300]


@dataclass
class ValidationResult:
    notebook: Path
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def execute(notebook_path: Path, fast: bool = True, root: Path = paths.REPO_ROOT):
    """Run a notebook top to bottom in a fresh kernel, in its own folder, without stopping at errors.

    Returns (executed notebook, [CellError]), the notebook's progress bars collapsed to their final
    state (`collapse_progress`). ``fast`` sets COURSE_FAST=1 for the kernel.
    """
    nb = nbformat.read(notebook_path, as_version=4)
    env = {**os.environ, "COURSE_FAST": "1" if fast else "0", "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(root), str(paths.student_helpers(root).parent),
                                                  os.environ.get("PYTHONPATH")]))}
    if fast:
        # A release folder holds only utils.py, not the course's small real-data fixture.
        env.setdefault("COURSE_DATA", str(paths.student_helpers(root).parent / "data" / "fixtures"))
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_SECONDS, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(notebook_path.parent)}})
    client.execute(env=env)
    collapse_progress(nb)  # nbclient keeps every redraw of a text progress bar; a reader wants the last
    errors = [CellError(number, output.get("ename", "Error"), output.get("evalue", ""))
              for number, cell in enumerate(nb.cells, start=1) if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    return nb, errors


def validate_source(notebook_path: Path, fast: bool = True, root: Path = paths.REPO_ROOT) -> ValidationResult:
    """Every cell of the instructor notebook runs and every test passes."""
    _, errors = execute(notebook_path, fast, root)
    return ValidationResult(notebook_path, [f"source {error}" for error in errors])


def validate_release(notebook_path: Path, fast: bool = True, root: Path = paths.REPO_ROOT) -> ValidationResult:
    """The student notebook fails only on its answer stubs, and every autograded test fails on them."""
    nb, errors = execute(notebook_path, fast, root)
    problems = [f"release {error} (only NotImplementedError from an answer stub may fail here)"
                for error in errors if error.name != "NotImplementedError"]
    failed_cells = {error.cell for error in errors}
    problems += [f"release cell {number}: this test passes without any answer, so it tests nothing"
                 for number, cell in enumerate(nb.cells, start=1)
                 if _is_test_cell(cell) and number not in failed_cells]
    return ValidationResult(notebook_path, problems)


def marks_problems(assignment: str, root: Path = paths.REPO_ROOT) -> list[str]:
    """The source notebook against grading.toml (`autograder.grading.marks`): a missing or broken
    grading.toml, graded cells it does not know, points that disagree."""
    toml = config_file(assignment, root)
    shown = toml.relative_to(root) if toml.is_relative_to(root) else toml
    if not toml.is_file():
        return [f"source: {marks.missing_config(str(shown))}"]
    try:
        config = load_config(assignment, root, probes=False)
    except ConfigError as error:
        return [f"source: {error}"]
    nb = nbformat.read(paths.source_notebook(assignment, root), as_version=4)
    return [f"source {problem}" if problem.startswith("cell") else f"source: {problem}"
            for problem in marks.problems(config, nb)]


def validate(assignment: str, fast: bool = True, root: Path = paths.REPO_ROOT) -> list[ValidationResult]:
    """Validate the source notebook (its marks against grading.toml first) and the committed release
    of one assignment."""
    source = validate_source(paths.source_notebook(assignment, root), fast, root)
    source.problems[:0] = marks_problems(assignment, root)
    return [source, validate_release(paths.release_notebook(assignment, root), fast, root)]
