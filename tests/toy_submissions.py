"""Submissions of the toy assignment (tests/fixtures/toy_assignment), written from its reference.

The reference notebook's cells (1-based, as a student counts them): 1 title, 2 imports, 3 prompt,
4 `add`, 5 prompt, 6 `Counter`, 7 an experiment, 8-9 the question graded by hand.
"""
import shutil
from pathlib import Path

import nbformat

TOY = Path(__file__).parent / "fixtures" / "toy_assignment"
IMPORTS_CELL, ADD_CELL, COUNTER_CELL, EXPERIMENT_CELL = 2, 4, 6, 7
# The reference's value for the probe add_floats: it must never appear in feedback.
REFERENCE_VALUE = "1234.5625"

COUNTER = '''class Counter:
    def __init__(self, start=0):
        self.count = start

    def increment(self, by=1):
        self.count += by
        return self.count

    def reset(self):
        {reset}'''

# What each kind of student hands in: {cell number: new source}.
ANSWERS = {
    "correct": {},
    "wrong_add": {ADD_CELL: "def add(a, b):\n    return a - b"},
    "syntax_error": {COUNTER_CELL: COUNTER.format(reset="self.count = 0").replace("def reset(self):", "def reset(self)")},
    "missing_name": {ADD_CELL: "def Add(a, b):\n    return a + b"},
    "import_error": {COUNTER_CELL: "class Counter(NotDefinedAnywhere):\n    pass"},
    "endless_loop": {ADD_CELL: "def add(a, b):\n    while True:\n        pass"},
    "probe_exception": {COUNTER_CELL: COUNTER.format(reset="raise ValueError('reset is not written yet')")},
    "exits": {IMPORTS_CELL: "import math\nimport os", ADD_CELL: "def add(a, b):\n    os._exit(3)"},
    "memory_hog": {ADD_CELL: "def add(a, b):\n    hog = bytearray(4 * 2**30)\n    return a + b"},
    "script_in_code": {EXPERIMENT_CELL: "print('<script>alert(1)</script>')",
                       COUNTER_CELL: COUNTER.format(reset="raise ValueError('<img src=x onerror=alert(2)>')")},
}


def write_submission(path: Path, answer: str) -> Path:
    """Write the reference notebook with the cells of ANSWERS[answer] replaced, at `path`."""
    nb = nbformat.read(TOY / "toy.ipynb", as_version=4)
    for cell, source in ANSWERS[answer].items():
        nb.cells[cell - 1].source = source
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def copy_toy(folder: Path) -> Path:
    """A copy of the toy assignment's folder (grading.toml, probes.py, toy.ipynb) to edit."""
    return Path(shutil.copytree(TOY, folder / "toy_assignment"))
