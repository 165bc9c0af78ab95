"""probes: the decorator, reading probes in the parent without torch, comparators and verdicts."""
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from autograder.errors import ReferenceSolutionError
from autograder.paths import REPO_ROOT
from autograder.grading.probes import (Comparator, ProbeDefinitionError, ProbeSpec, Verdict, allclose,
                               check, equal, every_item, judge, load_probes, probe, raised)

PROBES_FILE = '''
import torch
import utils
from torch import nn
import numpy as np
from autograder.grading.probes import probe, allclose, equal, check
from autograder.grading.trusted import plain   # imports torch: a placeholder here too

LAYER = nn.Linear   # a placeholder here: only used inside probe bodies

def same_order(values, reference):
    return bool(np.array_equal(np.argsort(values), np.argsort(reference)))

@probe("Q2A", points=2, compare=allclose(rtol=1e-4, atol=1e-5), hint="Normalise over the batch.")
def batchnorm(module, rng):
    return module.BatchNorm()(torch.from_numpy(rng.normal(size=(8, 3)))).numpy()

def helper():
    return 1

@probe("Q2B", points=1, compare=check(same_order))
def sorted_output(module, rng):
    return module.sort(rng.normal(size=5))
'''


def write(tmp_path, text, name="probes.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def spec(compare, hint="") -> ProbeSpec:
    return ProbeSpec("p", "Q1", 1.0, compare, hint)


# ---- defining and reading probes ----------------------------------------------------------------

def test_the_decorator_stores_the_spec_on_the_function_only():
    @probe("Q1", points=3, compare=equal(), hint="look again")
    def answer(module, rng):
        return 42

    assert answer(None, None) == 42
    assert answer.__autograder_probe__ == ProbeSpec("answer", "Q1", 3.0, equal(), "look again")


@pytest.mark.parametrize("kwargs, problem", [
    ({"question": "", "points": 1, "compare": equal()}, "question"),
    ({"question": "Q1", "points": 0, "compare": equal()}, "positive number"),
    ({"question": "Q1", "points": True, "compare": equal()}, "positive number"),
    ({"question": "Q1", "points": 1, "compare": lambda s, r: 1}, "compare must be"),
    ({"question": "Q1", "points": 1, "compare": type("OnItsOwn", (Comparator,), {"uses_reference": False})()},
     "does not use the reference's value"),
    ({"question": "Q1", "points": 1, "compare": equal(), "hint": None}, "hint"),
])
def test_bad_probe_definitions_are_refused(kwargs, problem):
    with pytest.raises(ProbeDefinitionError, match=problem):
        probe(**kwargs)


def test_load_probes_reads_specs_in_order_with_heavy_imports_as_placeholders(tmp_path):
    specs = load_probes(write(tmp_path, PROBES_FILE))
    assert [(s.name, s.question, s.points, s.hint) for s in specs] == [
        ("batchnorm", "Q2A", 2.0, "Normalise over the batch."), ("sorted_output", "Q2B", 1.0, "")]
    assert specs[0].compare == allclose(rtol=1e-4, atol=1e-5)
    assert specs[1].compare(np.array([1.0, 2.0]), np.array([5.0, 7.0])) == Verdict(1.0, "")
    assert specs[1].compare(np.array([2.0, 1.0]), np.array([5.0, 7.0])).score == 0.0


def test_the_grading_process_never_imports_torch(tmp_path):
    path = write(tmp_path, PROBES_FILE)
    script = (f"import sys; sys.path.insert(0, {str(REPO_ROOT)!r})\n"
              "from autograder import sandbox\nfrom autograder.grading import probes\nfrom autograder.sandbox import wire\n"
              f"probes.load_probes({str(path)!r})\n"
              "print(sorted(m for m in ('torch', 'utils', 'matplotlib') if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[]", result.stderr


def test_a_probes_file_that_uses_torch_outside_probes_or_has_none_is_refused(tmp_path):
    with pytest.raises(ProbeDefinitionError, match="torch.zeros is used outside a probe function"):
        load_probes(write(tmp_path, "import torch\nX = torch.zeros(3)\n"))
    with pytest.raises(ProbeDefinitionError, match="defines no @probe functions"):
        load_probes(write(tmp_path, "import numpy as np\n", "empty.py"))


def test_raised_reports_the_exception_type_and_message():
    assert raised(int, "x") == {"raised": "ValueError", "message": "invalid literal for int() with base 10: 'x'"}
    assert raised(int, "3") == {"raised": None}
    assert raised(lambda *, k: 1 / k, k=0)["raised"] == "ZeroDivisionError"


# ---- allclose -----------------------------------------------------------------------------------

def test_allclose_accepts_values_within_tolerance_and_names_the_first_bad_index():
    reference = np.array([[1.0, 2.0], [3.0, 4.0]])
    compare = allclose(rtol=1e-3, atol=0)
    assert compare(reference * (1 + 5e-4), reference) == Verdict(1.0, "")
    student = reference.copy()
    student[1, 0] = 3.1
    verdict = compare(student, reference)
    assert verdict == Verdict(0.0, "your value has 1 of 4 values outside rtol=0.001, atol=0, the first at index (1, 0)")


def test_allclose_names_shapes_and_never_the_expected_values():
    reference = np.full((3, 4), 123.456)
    verdict = allclose()(np.zeros((4, 3)), reference)
    assert verdict == Verdict(0.0, "your value has shape (4, 3) where (3, 4) is expected")
    assert allclose()(5.0, np.float64(123.456)).message == "your value is not within rtol=1e-05, atol=1e-08 of the expected value"
    for student in (np.zeros((3, 4)), 7.0, np.zeros(12), "text", [1, 2]):
        assert "123" not in allclose()(student, reference).message


def test_allclose_treats_nan_as_equal_only_to_nan():
    reference = np.array([1.0, np.nan, 3.0])
    assert allclose()(np.array([1.0, np.nan, 3.0]), reference).score == 1.0
    verdict = allclose()(np.array([np.nan, np.nan, 3.0]), reference)
    assert verdict.score == 0.0 and "(yours include NaN)" in verdict.message
    assert allclose()(np.array([1.0, 2.0, 3.0]), reference).score == 0.0


def test_allclose_gives_partial_credit_item_by_item():
    reference = {"y": np.ones(3), "loss": 0.5, "layers": [np.zeros(2), np.ones(2)], "name": "relu"}
    student = {"y": np.ones(3), "loss": 0.7, "layers": [np.zeros(2), np.zeros(2)], "extra": 1}
    verdict = allclose()(student, reference)
    assert verdict.score == pytest.approx((1 + 0 + 0.5 + 0) / 4)
    assert verdict.message == ("loss is not within rtol=1e-05, atol=1e-08 of the expected value; "
                               "layers[1] has 2 of 2 values outside rtol=1e-05, atol=1e-08, the first at index (0,); "
                               "name is missing")


def test_allclose_accepts_lists_for_arrays_and_refuses_wrong_kinds():
    reference = np.array([1.0, 2.0])
    assert allclose()([1.0, 2.0], reference).score == 1.0
    assert allclose()("12", reference).message == "your value should be numeric, not a string"
    assert allclose()([[1.0], [2.0, 3.0]], reference).message == "your value is not a rectangular array of numbers"
    assert allclose()({"a": 1}, reference).message == "your value should be numeric, not a dict"
    assert allclose()([1, 2], {"a": 1}).message == "your value should be a dict, not a list"
    assert allclose()([1, 2, 3], [1, 2]).message == "your value has 3 items where 2 are expected"
    assert allclose()(3.0, [1, 2]).message == "your value should be a list, not a float"


def test_many_wrong_items_are_summarised():
    verdict = equal()(list(range(10)), [-1] * 10)
    assert verdict.score == 0.0
    assert verdict.message.count("differs") == 3 and verdict.message.endswith("and 7 more items are wrong")


# ---- equal and check ----------------------------------------------------------------------------

def test_equal_compares_exactly_with_nan_and_bool_rules():
    assert equal()(np.array([1, 2]), np.array([1.0, 2.0])).score == 1.0
    assert equal()(np.array([np.nan]), np.array([np.nan])).score == 1.0
    assert equal()(float("nan"), float("nan")).score == 1.0
    assert equal()(1, True) == Verdict(0.0, "your value should be a bool, not an int")
    assert equal()(np.array([1, 3]), np.array([1, 2])) == Verdict(0.0, "your value differs from the expected values")
    assert equal()({"raised": "KeyError"}, {"raised": "ValueError", "message": "m"}).message == (
        "raised differs from the expected value; message is missing")
    assert equal()(3, "three").message == "your value should be a string, not an int"
    assert equal()([1], np.array([1])).score == 1.0


def test_check_gets_the_reference_and_takes_a_bool_a_score_or_a_score_with_a_message():
    assert check(lambda v, r: v == r)(1, 1) == Verdict(1.0, "")
    assert check(lambda v, r: v == r)(-1, 1) == Verdict(0.0, "your value does not have the expected property")
    assert check(lambda v, r: 0.25)(None, None) == Verdict(0.25, "your value does not have the expected property")
    assert check(lambda v, r: (2.0, "great"))(None, None) == Verdict(1.0, "great")
    assert check(lambda v, r: math.nan)(None, None).score == 0.0
    assert check(lambda v, r: v["missing"])({}, {}) == Verdict(0.0, "your value failed the check (KeyError: 'missing')")
    with pytest.raises(ProbeDefinitionError, match="returned NoneType"):
        check(lambda v, r: None)(1, 1)


def test_a_probes_file_with_a_comparator_that_ignores_the_reference_is_refused(tmp_path):
    text = PROBES_FILE + """
from autograder.grading.probes import Comparator, Verdict

class Positive(Comparator):
    uses_reference = False

    def __call__(self, student, reference):
        return Verdict(float(student > 0), "")

@probe("Q3", points=1, compare=Positive())
def anything_positive(module, rng):
    return module.value()
"""
    with pytest.raises(ProbeDefinitionError, match="does not use the reference's value: a value judged on its own "
                                                   "can be forged"):
        load_probes(write(tmp_path, text))


def test_every_item_gives_full_marks_or_nothing():
    reference = {"parameters": 10, "scores": np.ones(3)}
    assert every_item(allclose())(dict(reference), reference) == Verdict(1.0, "")
    verdict = every_item(allclose())({"parameters": 10, "scores": np.zeros(3)}, reference)
    assert verdict.score == 0.0 and verdict.message.startswith("scores has 3 of 3 values outside")


def test_lists_of_arrays_of_different_shapes_are_compared_item_by_item():
    reference = [np.ones(2), np.ones((2, 3))]
    assert allclose()([np.ones(2), np.ones((2, 3))], reference).score == 1.0
    assert allclose()([np.ones(2), np.zeros((2, 3))], reference).score == 0.5


# ---- judge --------------------------------------------------------------------------------------

def test_judge_scores_a_value_and_adds_the_hint_when_not_full():
    reference = {"name": "p", "value": np.arange(3.0)}
    assert judge(spec(allclose(), "hint"), {"name": "p", "value": np.arange(3.0)}, reference) == Verdict(1.0, "")
    verdict = judge(spec(allclose(), "Check the mean."), {"name": "p", "value": np.zeros(2)}, reference)
    assert verdict == Verdict(0.0, "your value has shape (2,) where (3,) is expected. Check the mean.")


def test_judge_reports_a_probe_error_and_a_missing_result():
    error = {"name": "p", "error": {"type": "TypeError", "message": "unsupported operand"}}
    reference = {"name": "p", "value": 1}
    assert judge(spec(equal(), "Hint."), error, reference) == Verdict(0.0, "your code raised TypeError: unsupported operand. Hint.")
    assert judge(spec(equal()), None, reference) == Verdict(0.0, "not run: your code was stopped before this test ran")
    bare = {"name": "p", "error": {"type": "NotImplementedError", "message": ""}}
    assert judge(spec(equal(), "Write forward."), bare, reference).message == \
        "your code raised NotImplementedError. Write forward."
    assert judge(spec(equal()), None, reference, "time limit").message == "not run: time limit"


def test_judge_always_needs_a_reference_value():
    with pytest.raises(ReferenceSolutionError, match="reference solution failed probe p: KeyError: 'x'"):
        judge(spec(equal()), {"name": "p", "value": 1}, {"name": "p", "error": {"type": "KeyError", "message": "'x'"}})
    with pytest.raises(ReferenceSolutionError, match="it did not run"):
        judge(spec(check(lambda v, r: v == r)), {"name": "p", "value": 1}, None)
    assert judge(spec(check(lambda v, r: v == r)), {"name": "p", "value": 1}, {"name": "p", "value": 1}) == \
        Verdict(1.0, "")


def test_judge_survives_a_comparator_that_fails_on_an_odd_value():
    class Fragile(type(equal())):
        def __call__(self, student, reference):
            raise RuntimeError("boom")

    assert judge(spec(Fragile()), {"name": "p", "value": 1}, {"name": "p", "value": 1}) == Verdict(
        0.0, "your value could not be compared (RuntimeError)")
