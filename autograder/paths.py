"""Where things live in a course repository (the layout in README.md).

Every function takes the course root so that tests can build a course in a temporary folder; the
default is the repository this package sits in.
"""
from pathlib import Path

from autograder.errors import AutograderError

REPO_ROOT = Path(__file__).resolve().parents[1]


class AssignmentError(AutograderError):
    """No such assignment, or which one a notebook is cannot be told; the message names the known ones."""


def student_helpers(root: Path = REPO_ROOT) -> Path:
    """The helper module every notebook imports as ``utils``: ``nn_course_kit/utils.py``. A release
    folder holds a copy of it; the sandbox and the notebooks run by `validate` import it from here."""
    return root / "nn_course_kit" / "utils.py"


def source_notebook(assignment: str, root: Path = REPO_ROOT) -> Path:
    """The instructor notebook: ``source/<a>/<a>.ipynb``."""
    return root / "source" / assignment / f"{assignment}.ipynb"


def release_dir(assignment: str, root: Path = REPO_ROOT) -> Path:
    """The generated student folder: ``release/<a>/``."""
    return root / "release" / assignment


def release_notebook(assignment: str, root: Path = REPO_ROOT) -> Path:
    return release_dir(assignment, root) / f"{assignment}.ipynb"


def assignment_dir(assignment: str, root: Path = REPO_ROOT) -> Path:
    """The grader's folder: ``assignments/<a>/`` (grading.toml, probes)."""
    return root / "assignments" / assignment


def list_assignments(root: Path = REPO_ROOT) -> list[str]:
    """Names of the assignments that have a source notebook, sorted."""
    source = root / "source"
    if not source.is_dir():
        return []
    return sorted(p.name for p in source.iterdir() if source_notebook(p.name, root).is_file())


def resolve_assignments(names: list[str] | None, root: Path = REPO_ROOT) -> list[str]:
    """The assignments a command was asked for (all of them when none are named).

    Raises AssignmentError naming an unknown assignment and the known ones.
    """
    known = list_assignments(root)
    if not names:
        return known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise AssignmentError(f"unknown assignment {unknown[0]!r}; known: {', '.join(known) or 'none'}")
    return list(names)
