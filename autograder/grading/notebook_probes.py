"""The grader's probes of one question, run in the calling process on a notebook's definitions.

This is what the hidden test cells of a source notebook call, so that a notebook's hidden tests and
the grader are one authority: a hidden test passes exactly when every probe of its question gives
full marks. The reference values come from the source notebook's extracted module, computed here
with the same inputs.

It runs the notebook's code in this process, with no sandbox: it is for the instructor's own
kernel (``autograder validate``, nbgrader's autograde) and for tests. The grader never uses it.
"""
from __future__ import annotations

import functools
import importlib.util
import sys
import types

import numpy as np

from autograder.grading.config import load_config
from autograder.analysis.extract import extract
from autograder.sandbox.loader import load_module
from autograder.analysis.notebook import read_notebook
from autograder.grading.probes import Verdict, judge, probe_functions

SEED = 559  # numpy and torch seeds of every probe run here, the same for the notebook and the reference


@functools.lru_cache(maxsize=None)
def _probes_module(assignment: str) -> types.ModuleType:
    path = load_config(assignment, probes=False).probes_path
    name = f"autograder_notebook_probes_{assignment}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@functools.lru_cache(maxsize=None)
def _reference(assignment: str) -> types.ModuleType:
    source = extract(read_notebook(load_config(assignment, probes=False).source_path)).source
    return load_module(source, f"autograder_notebook_reference_{assignment}")


def _result(function, module) -> dict:
    """The probe's value as the child would report it: {"value": ...} or {"error": {...}}."""
    # torch only when something has loaded it (a probes file or a notebook that uses it): a NumPy-only
    # notebook's hidden tests then never pay for importing it, and none of its values can be a tensor.
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(SEED)
    try:
        value = function(module, np.random.default_rng(SEED))
    except Exception as error:
        return {"error": {"type": type(error).__name__, "message": str(error)[:500]}}
    if torch is not None and isinstance(value, torch.Tensor):
        value = value.detach().numpy()
    return {"value": value}


class _Namespace:
    """A notebook's globals seen as a module: attributes and ``vars()`` are the dict itself, so a
    probe that puts a name into ``vars(module)`` (the grader's own ``BatchNorm`` while it probes the
    networks) changes what the notebook's own functions and classes see, as in the sandbox."""

    def __init__(self, namespace: dict):
        self.__dict__ = namespace


@functools.lru_cache(maxsize=None)
def _reference_result(assignment: str, name: str) -> dict:
    """The reference's value of one probe, computed once per process."""
    function = probe_functions(vars(_probes_module(assignment)))[name]
    return _result(function, _reference(assignment))


def probe_verdicts(assignment: str, question: str, namespace) -> dict[str, Verdict]:
    """{probe name: verdict} for every probe of `question`, on `namespace` (a dict such as a
    notebook's ``globals()``, used as it is, not copied; or a module), judged against the reference."""
    student = _Namespace(namespace) if isinstance(namespace, dict) else namespace
    functions = {name: function for name, function in probe_functions(vars(_probes_module(assignment))).items()
                 if function.__autograder_probe__.question == question}
    if not functions:
        raise ValueError(f"{assignment} has no probe of question {question!r}")
    return {name: judge(function.__autograder_probe__, _result(function, student),
                        _reference_result(assignment, name))
            for name, function in functions.items()}


def assert_probes_pass(assignment: str, question: str, namespace) -> None:
    """Raise AssertionError, with the grader's messages, unless every probe of `question` gives
    `namespace` full marks."""
    failed = {name: verdict.message for name, verdict in probe_verdicts(assignment, question, namespace).items()
              if verdict.score < 1}
    assert not failed, f"{question} would lose points: " + "; ".join(f"{n}: {m}" for n, m in failed.items())
