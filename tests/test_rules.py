"""Submission rules: each rule with its exact cell numbers, messages and fixes."""
import nbformat.v4 as v4
import pytest

from autograder.analysis.rules import Problem, check_rules


class Markdown(str):
    """A markdown cell's text in `notebook(...)`; plain strings are code cells."""


def notebook(*cells: str):
    return v4.new_notebook(cells=[
        v4.new_markdown_cell(c) if isinstance(c, Markdown) else v4.new_code_cell(c) for c in cells])


CLEAN = notebook(
    Markdown("# Assignment\nAll imports go in the first code cell."),
    "%matplotlib inline\nfrom __future__ import annotations\nimport numpy as np\nimport numpy.linalg\nfrom math import pi",
    Markdown("## Q1"),
    "EPS = 1e-5\nUNUSED = 3\n\ndef normalise(x):\n    import numpy\n    return (x - x.mean()) / (x.std() + EPS)",
    "def helper():\n    %time y = 1\n    return pi\n\nclass Model:\n    '''Why?\n    %d\n    '''",
    "x = np.arange(4.0)\nprint(normalise(x))\nfor i in range(3):\n    helper()",
)


def test_a_message_quotes_the_first_line_of_its_cell_since_jupyterlab_shows_no_numbers():
    long_line = "x = " + "1 + " * 20 + "1"
    nb = notebook(Markdown("intro"), "\n\nimport numpy as np   \n", "import math\n" + long_line)
    [problem] = check_rules(nb)
    assert problem.message.startswith('Cell 3 ("import math") imports `math` on line 1; every import belongs in '
                                      'the first code cell, cell 2 ("import numpy as np").')
    [problem] = check_rules(notebook("import numpy", long_line + "\nimport math"))
    assert problem.message.startswith('Cell 2 ("x = 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1...") imports')


@pytest.mark.parametrize("allowed", [None, [], ["numpy", "math"]])
def test_a_clean_notebook_has_no_violations(allowed):
    assert check_rules(CLEAN, allowed) == []


def test_imports_outside_the_first_code_cell():
    nb = notebook(
        Markdown("intro"), "", "import numpy as np", Markdown("Q1"),
        "import torch, os.path\nfrom torch import nn\n\ndef f():\n    import math\n    return math.pi",
        "try:\n    import scipy\nexcept ImportError:\n    scipy = None",
    )
    assert check_rules(nb) == [
        Problem(5, "imports-first-cell",
                  'Cell 5 ("import torch, os.path") imports `torch`, `os` on line 1; every import belongs in the '
                  'first code cell, cell 3 ("import numpy as np").',
                  'move `import torch, os.path` to the first code cell, cell 3 ("import numpy as np")'),
        Problem(5, "imports-first-cell",
                  'Cell 5 ("import torch, os.path") imports `torch` on line 2; every import belongs in the '
                  'first code cell, cell 3 ("import numpy as np").',
                  'move `from torch import nn` to the first code cell, cell 3 ("import numpy as np")'),
        Problem(6, "imports-first-cell",
                  'Cell 6 ("try:") imports `scipy` on line 2; every import belongs in the '
                  'first code cell, cell 3 ("import numpy as np").',
                  'move `import scipy` to the first code cell, cell 3 ("import numpy as np")'),
    ]


def test_a_definition_cell_that_runs_other_code():
    nb = notebook(
        "import numpy as np",
        Markdown("Q2"),
        "SIZE = 3\nnet = build()\n\n@np.vectorize\ndef act(x):\n    return max(x, 0)\nprint(act(-1))\n%time act(2)\n"
        "class Net:\n    pass\nfor _ in range(2):\n    pass",
    )
    assert check_rules(nb) == [Problem(
        3, "definition-cell-purity",
        'Cell 3 ("SIZE = 3") defines `act`, `Net` but also runs other code, which the grader drops: '
        "line 2 `net = build()` (assignment of non-literal value dropped); "
        "line 7 `print(act(-1))` (top-level call dropped); "
        "line 8 `%time act(2)` (IPython magic removed); "
        "line 11 `for _ in range(2):` (loop dropped).",
        "move those lines to a separate cell so that this cell holds only definitions",
    )]


def test_a_cell_that_does_not_parse():
    nb = notebook("import math", Markdown("text"), "def f(x):\n    return x +\n")
    assert check_rules(nb) == [Problem(
        3, "syntax-error",
        'Cell 3 ("def f(x):") does not parse (line 2: invalid syntax), so the grader skips the whole cell.',
        "fix line 2 of cell 3, then run the cell to check it",
    )]


def test_imports_not_in_the_allow_list():
    nb = notebook(
        "from __future__ import annotations\nimport numpy as np\nimport torch\nfrom numpy import linalg",
        "def f():\n    import scipy.sparse\n    from numpy.random import default_rng\n    return scipy",
    )
    assert check_rules(nb, allowed_imports=["numpy"]) == [
        Problem(1, "import-not-allowed",
                  'Cell 1 ("from __future__ import annotations") imports `torch` on line 3, which this '
                  "assignment does not allow (allowed: numpy).",
                  "remove `import torch` and use only numpy"),
        Problem(2, "import-not-allowed",
                  'Cell 2 ("def f():") imports `scipy` on line 2, which this assignment does not allow '
                  "(allowed: numpy).",
                  "remove `import scipy.sparse` and use only numpy"),
    ]
    assert check_rules(nb) == [] and check_rules(nb, allowed_imports=[]) == []


def test_rules_are_reported_in_cell_order():
    nb = notebook("import numpy", "import torch\ndef f(): pass\nf()", "def g(:")
    assert [(v.cell, v.rule) for v in check_rules(nb, ["numpy"])] == [
        (2, "imports-first-cell"), (2, "definition-cell-purity"), (2, "import-not-allowed"), (3, "syntax-error")]
