"""nbgrader's generate_assignment, run in this process on one assignment folder.

`nbgrader generate_assignment` is nbconvert's `NotebookExporter` with the preprocessors of nbgrader's
`GenerateAssignment` converter (solutions to stubs, hidden tests and mark schemes removed, cells
locked, checksums), plus a converter that walks a course folder and turns any exception into a line
of its log. Running the exporter here does the same work and lets a failure reach the caller, named
by its cell. As with ``--no-db``, nothing is written to a gradebook. The settings are the course's
``nbgrader_config.py`` (not the instructor's own Jupyter config folders, so that a release depends
on the repository alone).
"""
import glob
import shutil
from pathlib import Path

from autograder.analysis import quick_nbformat  # noqa: F401, I001  (first: nbgrader imports nbformat)
from nbgrader.converters import GenerateAssignment
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import find_all_files
from traitlets.config import Config, PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"
# `--no-db`, and no nbconvert default preprocessors, which nbgrader's converter also turns off.
FIXED_SETTINGS = Config({"SaveCells": {"enabled": False}, "GenerateAssignment": {"no_database": True},
                         "Exporter": {"default_preprocessors": []}})


class GenerationError(RuntimeError):
    """nbgrader refused a notebook; the message names the cell when the problem is in one."""


def course_config(root: Path) -> Config:
    """The settings of the course at `root`: its nbgrader_config.py, then `FIXED_SETTINGS`."""
    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config() if (root / CONFIG_FILE).is_file() else Config()
    config.merge(FIXED_SETTINGS)
    return config


def generate_assignment(assignment: str, source: Path, destination: Path, config: Config) -> list[Path]:
    """Write into `destination` the student version of every notebook of the folder `source`, and a
    copy of its other files but those the config ignores; return the notebooks written.
    Raises GenerationError when nbgrader refuses a notebook."""
    course = CourseDirectory(config=config)
    exporter = _exporter(config)
    destination.mkdir(parents=True)
    for path in map(Path, find_all_files(str(source), course.ignore + ["*.ipynb"])):
        target = destination / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    written = []
    for name in sorted(glob.glob("*.ipynb", root_dir=source)):  # what nbgrader's converter converts
        stem = Path(name).stem
        resources = {"unique_key": stem, "output_files_dir": f"{stem}_files",
                     "nbgrader": {"student": ".", "assignment": assignment, "notebook": stem, "db_url": course.db_url}}
        try:
            output, _ = exporter.from_filename(str(source / name), resources=resources)
        except GenerationError:
            raise
        except Exception as error:  # noqa: BLE001 - nbgrader and nbformat raise anything on a bad notebook
            raise GenerationError(f"{name}: {_described(error)}") from error
        written.append(destination / name)
        written[-1].write_text(output, encoding="utf-8")
    return written


def _exporter(config: Config):
    """The exporter `GenerateAssignment` builds, with its preprocessors naming the cell they fail on."""
    converter = GenerateAssignment(config=config)
    exporter = converter.exporter_class(parent=converter, config=converter.config)
    for preprocessor in converter.preprocessors:
        exporter.register_preprocessor(_naming_cells(preprocessor(parent=exporter)))
    return exporter


def _naming_cells(preprocessor):
    """`preprocessor`, whose error in one cell becomes a GenerationError naming the cell (counted from
    1 among all cells, as Jupyter shows them) and its nbgrader grade id."""
    preprocess_cell = preprocessor.preprocess_cell

    def preprocess_named_cell(cell, resources, index):
        try:
            return preprocess_cell(cell, resources, index)
        except Exception as error:  # noqa: BLE001 - whatever a preprocessor raises, name its cell
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            first = next((line.strip() for line in cell.get("source", "").splitlines() if line.strip()), "")
            labels = [label for label in (grade_id, repr(first[:50]) if first else None) if label]
            named = f"cell {index + 1}" + (f" ({', '.join(labels)})" if labels else "")
            raise GenerationError(f"{named}: {_explained(error)}") from error

    preprocessor.preprocess_cell = preprocess_named_cell
    return preprocessor


# nbgrader's messages for markup in the wrong kind of cell, in the words of JupyterLab's toolbar.
_EXPLAINED = {
    "Solution region detected in a non-solution cell": (
        "a ### BEGIN SOLUTION region in a cell that is not an answer cell, so the release would show it; make "
        "the cell an Autograded answer or a Manually graded answer (View > Cell Toolbar > Create Assignment), "
        "or remove the region"),
    "Hidden test region detected in a non-grade cell": (
        "a ### BEGIN HIDDEN TESTS region in a cell that is not an Autograded tests cell, so the release would "
        "show it; make the cell an Autograded tests cell (View > Cell Toolbar > Create Assignment), or remove "
        "the region"),
}


def _explained(error: Exception) -> str:
    """nbgrader's error in words that say what to do, when it is one of `_EXPLAINED`."""
    return next((text for start, text in _EXPLAINED.items() if str(error).startswith(start)), _described(error))


def _described(error: Exception) -> str:
    """The error and the one it was raised from, which nbgrader's generic messages hide
    ("Notebook failed to validate" is raised while handling "Duplicate grade id: q1")."""
    described = f"{type(error).__name__}: {error}"
    cause = error.__cause__ or error.__context__
    return described if cause is None else f"{described} ({type(cause).__name__}: {cause})"
