"""Probes: small functions of a student's module that return plain values, and how those values are
judged.

An assignment's hidden `assignments/<a>/probes.py` reads like this:

    import torch
    from autograder.grading.probes import probe, allclose, equal, check, raised
    from autograder.grading.trusted import plain

    @probe("Q2A", points=1, compare=allclose(rtol=1e-4, atol=1e-5),
           hint="BatchNorm's output does not match the expected normalised batch.")
    def batchnorm_matches_reference(module, rng):     # rng: numpy Generator, seeded per probe
        x = torch.from_numpy(rng.normal(3, 5, size=(64, 4)))
        return {"y": plain(module.BatchNorm()(x))}

    def same_ranking(student, reference):             # a check gets both values
        return (list(np.argsort(student)) == list(np.argsort(reference)), "the order differs")

The same probe runs, in separate sandboxed children, on the reference solution and on a submission
(`autograder.sandbox.child`); only the values come back. `judge` then compares them in the trusted parent.

Only correctness earns points. The submission runs in the same process as the probe, so whatever
its code says about itself (its type, its attributes, a property of its output) can be forged. A
scored value is therefore plain data that the student's code computed from inputs the probe chose,
and every comparator judges it against what the reference solution computed from the same inputs:
`check(fn)` calls `fn(student_value, reference_value)`, and `probe` refuses a comparator whose
`uses_reference` is False. Structure (which layers run, in which order, the loss, dropout) is
likewise probed by behaviour: `autograder.grading.trusted` loads the same weights into both networks and
compares outputs, gradients and one training step done by trusted code.

`@probe` stores a `ProbeSpec` on the function itself; there is no registry a submission could reach.
The parent reads the specs with `load_probes`, which runs the probes file with every import other
than the standard library, numpy and `autograder` replaced by a placeholder: probe bodies, which may
use torch or `utils`, only ever run in a child, and the grading process never imports torch (nor
`autograder.grading.trusted`, which does).

Comparators give partial credit: dict values (by the reference's keys) and list items are scored
separately and averaged; an array, number or string is one item. Messages name where a value is
wrong and how (shapes, how many values differ), never the expected values.
"""
import builtins
import math
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from autograder.errors import AutograderError, ReferenceSolutionError

SPEC_ATTRIBUTE = "__autograder_probe__"
# Imports that are real when the parent reads a probes file; the rest become placeholders.
REAL_IN_PARENT = frozenset({"numpy", "autograder"}) | frozenset(sys.stdlib_module_names)
CHILD_ONLY = frozenset({"autograder.grading.trusted"})  # parts of autograder that import torch
MESSAGES_SHOWN = 3


class ProbeDefinitionError(AutograderError):
    """A probes file that is wrong: the instructor's mistake, never the student's."""


@dataclass(frozen=True)
class Verdict:
    score: float  # in [0, 1]
    message: str  # empty for full marks


class Comparator:
    """Judges a student's value against the reference's, in the parent. `uses_reference` must be
    True: `probe` refuses a comparator that would score a value without the reference's."""
    uses_reference = True

    def __call__(self, student: Any, reference: Any) -> Verdict:
        raise NotImplementedError


@dataclass(frozen=True)
class ProbeSpec:
    name: str
    question: str
    points: float
    compare: Comparator
    hint: str = ""


def probe(question: str, points: float, compare: Comparator, hint: str = ""):
    """Mark a function `fn(module, rng) -> value` as a probe worth `points` of `question`."""
    if not isinstance(question, str) or not question:
        raise ProbeDefinitionError("a probe's question must be a non-empty string such as 'Q2A'")
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not points > 0:
        raise ProbeDefinitionError(f"a probe's points must be a positive number, not {points!r}")
    if not isinstance(compare, Comparator):
        raise ProbeDefinitionError("compare must be allclose(...), equal(), check(fn) or every_item(...)")
    if not compare.uses_reference:
        raise ProbeDefinitionError(
            f"compare={compare!r} does not use the reference's value: a value judged on its own can be "
            "forged by the student's code, so compare it with what the reference computes")
    if not isinstance(hint, str):
        raise ProbeDefinitionError("a probe's hint must be a string")

    def mark(fn):
        setattr(fn, SPEC_ATTRIBUTE, ProbeSpec(fn.__name__, question, float(points), compare, hint))
        return fn
    return mark


def probe_functions(namespace: dict) -> dict[str, Callable]:
    """The probes defined in a module's namespace, by name, in definition order."""
    return {fn.__name__: fn for fn in namespace.values()
            if isinstance(fn, types.FunctionType) and SPEC_ATTRIBUTE in fn.__dict__}


def load_probes(path) -> list[ProbeSpec]:
    """The probes of the file at `path`, in definition order (see the module docstring for how its
    imports are handled). Raises ProbeDefinitionError for a file without probes."""
    path = Path(path)
    namespace = {"__name__": "autograder_probes", "__file__": str(path),
                 "__builtins__": {**builtins.__dict__, "__import__": _import_in_parent}}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    specs = [fn.__dict__[SPEC_ATTRIBUTE] for fn in probe_functions(namespace).values()]
    if not specs:
        raise ProbeDefinitionError(f"{path} defines no @probe functions")
    return specs


def _import_in_parent(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and (name.partition(".")[0] not in REAL_IN_PARENT or name in CHILD_ONLY):
        return _Placeholder(name if fromlist else name.partition(".")[0])
    return builtins.__import__(name, globals, locals, fromlist, level)


class _Placeholder(types.ModuleType):
    """Stands in for a module (torch, utils, ...) while the parent reads a probes file."""

    def __getattr__(self, attribute):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return _Placeholder(f"{self.__name__}.{attribute}")

    def __call__(self, *args, **kwargs):
        raise ProbeDefinitionError(f"{self.__name__} is used outside a probe function; the grading "
                                   "process does not import it, so use it only inside probe bodies")


def raised(fn: Callable, *args, **kwargs) -> dict:
    """Call `fn(*args, **kwargs)` and say what it raised: {"raised": "TypeName", "message": str}, or
    {"raised": None} when it returned normally. For probes that test error behaviour."""
    try:
        fn(*args, **kwargs)
    except Exception as error:
        return {"raised": type(error).__name__, "message": str(error)[:500]}
    return {"raised": None}


def judge(spec: ProbeSpec, student_result: dict | None, reference_result: dict | None,
          missing_reason: str = "your code was stopped before this test ran") -> Verdict:
    """The verdict on one probe. Results are the child's decoded probe messages
    ({"name", "value"} or {"name", "error"}); None when the child never sent one.
    Raises ReferenceSolutionError when there is no reference value to compare with."""
    if reference_result is None or "error" in reference_result:
        cause = (f"{reference_result['error']['type']}: {reference_result['error']['message']}"
                 if reference_result else "it did not run")
        raise ReferenceSolutionError(f"the reference solution failed probe {spec.name}: {cause}")
    if student_result is None:
        return Verdict(0.0, f"not run: {missing_reason}")
    if "error" in student_result:
        error = student_result["error"]
        detail = f": {error['message']}" if error["message"] else ""
        return _with_hint(Verdict(0.0, f"your code raised {error['type']}{detail}"), spec.hint)
    try:
        verdict = spec.compare(student_result["value"], reference_result["value"])
    except ProbeDefinitionError:
        raise
    except Exception as error:  # an odd student value must never stop the grading of a class
        verdict = Verdict(0.0, f"your value could not be compared ({type(error).__name__})")
    score = verdict.score if math.isfinite(verdict.score) else 0.0
    return _with_hint(Verdict(min(1.0, max(0.0, score)), verdict.message), spec.hint)


def _with_hint(verdict: Verdict, hint: str) -> Verdict:
    if verdict.score >= 1 or not hint:
        return verdict
    return Verdict(verdict.score, f"{verdict.message}. {hint}" if verdict.message else hint)


# ---- comparators ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Allclose(Comparator):
    """Numbers and arrays equal within `atol + rtol * |reference|` (NaN matches NaN); other leaves
    (strings, None, bools) exactly."""
    rtol: float = 1e-5
    atol: float = 1e-8

    def __call__(self, student, reference) -> Verdict:
        return _score_items(student, reference, self.leaf)

    def leaf(self, student, reference) -> str | None:
        if not _is_numeric(reference):
            return _equal_leaf(student, reference)
        reference = np.asarray(reference)
        student, problem = _as_numeric_array(student, reference.shape)
        if problem:
            return problem
        close = np.isclose(student, reference, rtol=self.rtol, atol=self.atol, equal_nan=True)
        if close.all():
            return None
        tolerance = f"rtol={self.rtol:g}, atol={self.atol:g}"
        nan = " (yours include NaN)" if student.dtype.kind in "fc" and np.isnan(student[~close]).any() else ""
        if reference.ndim == 0:
            return f"is not within {tolerance} of the expected value{nan}"
        first = tuple(int(i) for i in np.argwhere(~close)[0])
        return (f"has {int((~close).sum())} of {close.size} values outside {tolerance}{nan}, "
                f"the first at index {first}")


@dataclass(frozen=True)
class Equal(Comparator):
    """Exact equality: arrays element by element (shape must match, dtype need not; NaN matches NaN),
    other leaves with ==, a bool only equal to a bool."""

    def __call__(self, student, reference) -> Verdict:
        return _score_items(student, reference, _equal_leaf)


@dataclass(frozen=True)
class Check(Comparator):
    """`fn(student_value, reference_value)` returns a bool, a score in [0, 1], or (score, message).
    An exception from `fn` scores 0."""
    fn: Callable

    def __call__(self, student, reference) -> Verdict:
        try:
            result = self.fn(student, reference)
        except ProbeDefinitionError:
            raise
        except Exception as error:
            return Verdict(0.0, f"your value failed the check ({type(error).__name__}: {str(error)[:200]})")
        message = ""
        if isinstance(result, tuple):
            result, message = result
        if not isinstance(result, (bool, int, float, np.bool_, np.number)):
            raise ProbeDefinitionError(f"check function {self.fn.__name__} returned {type(result).__name__}; "
                                       "it must return a bool, a score or (score, message)")
        score = float(result)
        score = min(1.0, max(0.0, score)) if math.isfinite(score) else 0.0
        if score < 1 and not message:
            message = "your value does not have the expected property"
        return Verdict(score, str(message))


def allclose(rtol: float = 1e-5, atol: float = 1e-8) -> Allclose:
    return Allclose(rtol, atol)


def equal() -> Equal:
    return Equal()


def check(fn: Callable) -> Check:
    return Check(fn)


@dataclass(frozen=True)
class EveryItem(Comparator):
    """Full marks when `inner` gives full marks, else 0: for values whose parts prove nothing alone
    (a parameter count, say, means something only when the network also computes the right scores)."""
    inner: Comparator

    def __call__(self, student, reference) -> Verdict:
        verdict = self.inner(student, reference)
        return verdict if verdict.score >= 1 else Verdict(0.0, verdict.message)


def every_item(inner: Comparator) -> EveryItem:
    return EveryItem(inner)


def _score_items(student, reference, leaf: Callable, where: str | None = None) -> Verdict:
    """Average the scores of the items of `reference` (recursively); leaves are compared with
    `leaf(student, reference) -> problem or None`."""
    if isinstance(reference, dict):
        if not isinstance(student, dict):
            return _wrong(where, f"should be a dict, not {_kind(student)}")
        parts = [_score_items(student[key], value, leaf, _join(where, key)) if key in student
                 else _wrong(_join(where, key), "is missing") for key, value in reference.items()]
    elif isinstance(reference, (list, tuple)):
        if not isinstance(student, (list, tuple, np.ndarray)) or getattr(student, "ndim", 1) == 0:
            return _wrong(where, f"should be a list, not {_kind(student)}")
        if len(student) != len(reference):
            return _wrong(where, f"has {len(student)} items where {len(reference)} are expected")
        parts = [_score_items(s, r, leaf, _join(where, i)) for i, (s, r) in enumerate(zip(student, reference))]
    else:
        problem = leaf(student, reference)
        return Verdict(1.0, "") if problem is None else _wrong(where, problem)
    if not parts:
        return Verdict(1.0, "")
    messages = [part.message for part in parts if part.score < 1]
    if len(messages) > MESSAGES_SHOWN:
        messages = messages[:MESSAGES_SHOWN] + [f"and {len(messages) - MESSAGES_SHOWN} more items are wrong"]
    return Verdict(sum(part.score for part in parts) / len(parts), "; ".join(messages))


def _equal_leaf(student, reference) -> str | None:
    if isinstance(reference, np.ndarray) or isinstance(student, np.ndarray):
        if not _is_numeric(reference):
            return f"should be {_kind(reference)}, not an array"
        reference = np.asarray(reference)
        student, problem = _as_numeric_array(student, reference.shape)
        if problem:
            return problem
        both_float = student.dtype.kind in "fc" and reference.dtype.kind in "fc"
        return None if np.array_equal(student, reference, equal_nan=both_float) else "differs from the expected values"
    if isinstance(reference, bool) != isinstance(student, bool):
        return f"should be {_kind(reference)}, not {_kind(student)}"
    if isinstance(reference, float) and isinstance(student, float) and math.isnan(reference) and math.isnan(student):
        return None
    if isinstance(reference, str) and not isinstance(student, str):
        return f"should be a string, not {_kind(student)}"
    return None if student == reference else "differs from the expected value"


def _as_numeric_array(student, shape: tuple) -> tuple[np.ndarray | None, str | None]:
    """`student` as a numeric array of `shape`, or a problem saying why it is not one."""
    if not _is_numeric(student) and not isinstance(student, (list, tuple)):
        return None, f"should be numeric, not {_kind(student)}"
    try:
        array = np.asarray(student)
    except ValueError:
        return None, "is not a rectangular array of numbers"
    if array.dtype.kind not in "biufc":
        return None, f"should be numeric, not {_kind(student)}"
    if array.shape != shape:
        return None, f"has shape {_shape(array.shape)} where {_shape(shape)} is expected"
    return array, None


def _is_numeric(value) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biufc"
    return isinstance(value, (bool, int, float, np.generic))


def _shape(shape: tuple) -> str:
    return "() (a single number)" if shape == () else str(tuple(shape))


def _kind(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {_shape(value.shape)}"
    names = {type(None): "None", bool: "a bool", int: "an int", float: "a float", str: "a string",
             list: "a list", tuple: "a list", dict: "a dict"}
    return names.get(type(value), f"a {type(value).__name__}")


def _join(where: str | None, key) -> str:
    if where is None:
        return key if isinstance(key, str) else f"item {key}"
    return f"{where}[{key!r}]"


def _wrong(where: str | None, problem: str) -> Verdict:
    return Verdict(0.0, f"{where or 'your value'} {problem}")
