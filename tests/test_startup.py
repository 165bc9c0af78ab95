"""The command starts without importing anything heavy before argparse has accepted its arguments,
and the engine imports nbformat without jsonschema's slow format checker (benchmarks/bench_cli.py
measures the times; no timing is asserted here)."""
import importlib.util
import os
import subprocess
import sys

import pytest

from autograder import paths

# Each takes from a tenth of a second to seconds to import.
HEAVY = ("nbformat", "jsonschema", "nbconvert", "nbclient", "nbgrader", "numpy", "torch", "pydantic", "jinja2",
         "IPython")
SLOW_FORMAT_CHECKER = "rfc3987_syntax"  # jsonschema's `iri` checker, 1.5 s of `import nbformat`


def modules_after(code: str, names) -> list[str]:
    """Which of `names` a fresh interpreter holds after running `code` with this checkout first on
    its import path, sorted."""
    probe = f"{code}\nimport sys\nprint('\\nloaded:', *sorted(n for n in {tuple(names)!r} if n in sys.modules))"
    path = os.pathsep.join(filter(None, [str(paths.REPO_ROOT), os.environ.get("PYTHONPATH")]))
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": path})
    return run.stdout.rpartition("\nloaded:")[2].split()  # after what the code printed


def calling_the_command(arguments: list[str]) -> str:
    """Code that imports the command line and runs it with `arguments`, argparse's exit caught."""
    return f"from autograder import cli\ntry:\n    cli.main({arguments!r})\nexcept SystemExit:\n    pass"


@pytest.mark.parametrize("arguments", [["--help"], ["extract"], ["extract", "a.ipynb", "--no-such-option"],
                                       ["check"], ["check", "a.ipynb", "--assignment"], ["grade"], ["release", "-x"],
                                       ["pdf"], ["no-such-verb"]])
def test_the_command_imports_nothing_heavy_before_its_arguments_are_accepted(arguments):
    assert modules_after(calling_the_command(arguments), HEAVY) == []


def test_a_verb_that_runs_imports_what_it_needs(tmp_path):
    # The probe sees heavy imports when there are some: reading a notebook needs nbformat and IPython.
    code = calling_the_command(["extract", str(tmp_path / "missing.ipynb")])
    assert modules_after(code, HEAVY) == ["IPython", "jsonschema", "nbformat"]


@pytest.mark.skipif(importlib.util.find_spec(SLOW_FORMAT_CHECKER) is None, reason=f"{SLOW_FORMAT_CHECKER} is not installed")
def test_the_engine_imports_nbformat_without_the_slow_format_checker():
    assert modules_after("import nbformat", ["nbformat", SLOW_FORMAT_CHECKER]) == ["nbformat", SLOW_FORMAT_CHECKER]
    assert modules_after("import autograder.analysis.notebook", ["nbformat", SLOW_FORMAT_CHECKER]) == ["nbformat"]
    # hidden only while jsonschema loads: anyone may import it afterwards
    assert modules_after(f"import autograder.analysis.notebook\nimport {SLOW_FORMAT_CHECKER}",
                         [SLOW_FORMAT_CHECKER]) == [SLOW_FORMAT_CHECKER]
