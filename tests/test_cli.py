"""The command line: a failure the user can act on reads as one line; a bug keeps its traceback."""
import subprocess
import sys

import pytest

from autograder.verbs import bundle, export, release

from autograder import cli, paths

from autograder.grading import config, discovery, probes
from autograder.errors import AutograderError, ReferenceSolutionError
from autograder.analysis.notebook import NotebookError
from autograder.sandbox import SandboxError, parent


@pytest.mark.parametrize("error", [NotebookError("Cannot read a.ipynb: it is not valid JSON."),
                                   ReferenceSolutionError("probe p fails on the reference solution")])
def test_an_autograder_error_is_one_line_and_exit_code_2(monkeypatch, capsys, error):
    def failing(args):
        raise error

    monkeypatch.setattr(cli, "_extract", failing)
    assert cli.main(["extract", "a.ipynb"]) == 2
    assert capsys.readouterr().err == f"autograder extract: {error}\n"


def test_an_unknown_assignment_is_one_line(capsys):
    assert cli.main(["release", "nope"]) == 2
    assert capsys.readouterr().err.startswith("autograder release: unknown assignment 'nope'; known: ")


def test_an_unexpected_exception_is_not_caught(monkeypatch):
    def buggy(args):
        raise KeyError("a bug in the engine")

    monkeypatch.setattr(cli, "_pdf", buggy)
    with pytest.raises(KeyError, match="a bug in the engine"):
        cli.main(["pdf", "a.ipynb"])


def test_an_unexpected_exception_prints_its_traceback(tmp_path):
    """Run as the command runs: a ValueError that is not an AutograderError ends with a traceback."""
    script = ("import sys\nfrom autograder import cli\n"
              "def buggy(args):\n    raise ValueError('a bug in the engine')\n"
              "cli._extract = buggy\nsys.exit(cli.main(['extract', 'a.ipynb']))\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(paths.REPO_ROOT)})
    assert run.returncode == 1
    assert "Traceback (most recent call last)" in run.stderr
    assert run.stderr.rstrip().endswith("ValueError: a bug in the engine")
    assert "autograder extract:" not in run.stderr


def test_every_error_the_engine_raises_on_purpose_is_an_autograder_error():
    for error in (bundle.BundleError, config.ConfigError, discovery.DiscoveryError, export.ExportError,
                  NotebookError, paths.AssignmentError, probes.ProbeDefinitionError, release.ReleaseError,
                  ReferenceSolutionError, SandboxError):
        assert issubclass(error, AutograderError), error


def test_a_machine_that_cannot_isolate_submissions_is_one_line(monkeypatch, capsys, tmp_path):
    def refusing(*args, **kwargs):
        raise SandboxError("this machine cannot isolate submissions (no user namespaces)")

    monkeypatch.setattr(parent, "Zygote", refusing)  # the command line launches the zygote itself
    assignment = paths.list_assignments()[0]
    assert cli.main(["grade", assignment, str(tmp_path / "in"), "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == ("autograder grade: this machine cannot isolate submissions "
                                       "(no user namespaces)\n")
