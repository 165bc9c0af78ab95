"""Load an assignment's grading files and notebooks as modules in the test process (no sandbox):
for tests that run probes or visible checks on the reference and on hand-made variants."""
import importlib.util
import sys
from pathlib import Path

import nbformat

from autograder.analysis.extract import extract
from autograder.analysis.notebook import read_notebook
from autograder.sandbox.loader import load_module


def load_file(path: Path, name: str):
    """The Python file at `path` (a probes.py or checks.py), imported as module `name`."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def notebook_module(path: Path, name: str):
    """The module the grader would extract from the notebook at `path`, loaded as `name`."""
    return load_module(extract(read_notebook(path)).source, name)


def notebook_marks(notebook: Path) -> dict[str, float]:
    """{grade id: points} of every graded cell of a source notebook: each question's answer cell (by
    hand) or test cell (autograded)."""
    nb = nbformat.read(notebook, as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: cell.metadata["nbgrader"]["points"]
            for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade")}
