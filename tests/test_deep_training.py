"""The deep_training assignment: marks, reference solution, probes, visible checks and sample submissions.

The sample submissions are graded once by the real grader (sandbox included); the table in
examples/submissions/deep_training/EXPECTED.md says what each must get, and this file holds the
grader to it. A few probes also run in this process on the reference, to pin down what they observe.
"""
import importlib.util
import sys
import tomllib

import nbformat
import numpy as np
import pytest
import torch

from autograder import paths
from autograder.analysis.extract import extract
from autograder.analysis.notebook import read_notebook
from autograder.grading.config import load_config
from autograder.grading.probes import judge, probe_functions
from autograder.sandbox.loader import load_module
from corpus_grading import expected_grades, grade_corpus

ASSIGNMENT = "deep_training"
FOLDER = paths.assignment_dir(ASSIGNMENT)
SAMPLES = paths.REPO_ROOT / "examples" / "submissions" / ASSIGNMENT


def _load_file(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def probes():
    return _load_file(FOLDER / "probes.py", "deep_training_probes")


@pytest.fixture(scope="module")
def reference():
    return load_module(extract(read_notebook(paths.source_notebook(ASSIGNMENT))).source, "deep_training_reference")


# ---- marks and the reference ---------------------------------------------------------------------

def test_notebook_marks_match_grading_toml_and_the_handout():
    """Each question's answer cell (by hand) or test cell (autograded) carries its points; the five
    problems carry the handout's 10 + 25 + 25 + 20 + 20."""
    config = tomllib.loads((FOLDER / "grading.toml").read_text())
    nb = nbformat.read(paths.source_notebook(ASSIGNMENT), as_version=4)
    graded = {cell.metadata["nbgrader"]["grade_id"]: cell.metadata["nbgrader"]["points"]
              for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade")}
    assert graded == {q["id"]: q["points"] for q in config["questions"]}
    per_problem = {}
    for question, points in graded.items():
        per_problem[question[1]] = per_problem.get(question[1], 0) + points
    assert per_problem == {"1": 10, "2": 25, "3": 25, "4": 20, "5": 20}


def test_probe_and_check_points_add_up_per_question():
    config = load_config(ASSIGNMENT)
    checks = _load_file(FOLDER / "checks.py", "deep_training_checks_points")
    check_specs = [f.__autograder_probe__ for f in probe_functions(vars(checks)).values()]
    for question in config.autograded_questions:
        assert sum(spec.points for spec in config.probes_of(question.id)) == question.points, question.id
        assert sum(spec.points for spec in check_specs if spec.question == question.id) == question.points, question.id


def test_reference_networks_have_the_stated_parameter_counts(reference):
    counts = {name: sum(p.numel() for p in getattr(reference, name)().parameters())
              for name in ("LeNet5", "LeNetBN", "LeNetInputBN", "LeNetDropout", "LeNetBNDropout")}
    assert counts == {"LeNet5": 61_706, "LeNetBN": 62_158, "LeNetInputBN": 62_160, "LeNetDropout": 61_706,
                      "LeNetBNDropout": 62_160}


def test_reference_backprop_agrees_with_finite_differences_of_its_cost(reference):
    rng = np.random.default_rng(0)
    params = (rng.random(8650) - 0.5) * 0.5
    X, y = rng.random((6, 400)), np.eye(10)[rng.integers(10, size=6)]
    for function, extra in ((reference.backprop, ()), (reference.backprop_reg, (2.0,))):
        _, gradient = function(params, 400, 20, 10, X, y, *extra)
        for index in (0, 5000, 8100, 8649):
            shift = np.zeros(8650)
            shift[index] = 1e-6
            numeric = (function(params + shift, 400, 20, 10, X, y, *extra)[0]
                       - function(params - shift, 400, 20, 10, X, y, *extra)[0]) / 2e-6
            assert numeric == pytest.approx(gradient[index], rel=1e-5, abs=1e-9)


def test_the_crafted_networks_are_what_the_collapse_probe_says(probes, reference):
    """Dead network 1 is constant, the |x| and relu(x) networks 2 and 3 are not, network 4 is
    constant only for the default tolerance; Leaky ReLU keeps network 1 from being exactly constant."""
    assert probes._collapse_verdicts(reference, leaky=False)[1:] == [True, False, False, True]
    params, relu = probes._crafted_networks(reference, leaky=False)
    assert reference.is_collapsed(params, relu, tolerance=1e-12).tolist()[1:] == [True, False, False, False]


def test_dropout_rates_are_measured_by_behaviour(probes, reference):
    """Rates near the specified ones for the dropout network; none for the plain LeNet-5, whose
    zero gradients come from ReLUs and pooling alone, and the same in both modes."""
    dropout, plain = probes._dropout_rates(reference.LeNetDropout), probes._dropout_rates(reference.LeNet5)
    assert dropout["input pixels"] == pytest.approx(0.2, abs=0.03)
    assert plain["input pixels"] == 0
    assert dropout["units of the 120-wide layer"] > plain["units of the 120-wide layer"] + 0.15


def test_the_cyclical_schedule_of_the_reference(reference):
    rates = [reference.cyclical_lr(t, 0.001, 0.1, 10, 1.0) for t in (0, 5, 10, 15, 20, 30)]
    assert rates == pytest.approx([0.001, 0.0505, 0.1, 0.0505, 0.001, 0.1])
    assert reference.cyclical_lr(10, 0.0, 1.0, 10, 0.5) == pytest.approx(0.5 ** 10)


def test_probes_and_checks_give_the_reference_full_marks_without_the_simulations(probes, reference):
    """Every probe and check but the slow simulations, judged against the reference's own values
    (the graded samples below cover the simulations)."""
    checks = _load_file(FOLDER / "checks.py", "deep_training_checks")
    for module in (probes, checks):
        for name, function in probe_functions(vars(module)).items():
            if "simulation" in name or "collapse_fraction" in name:
                continue
            torch.manual_seed(0)
            value = {"value": function(reference, np.random.default_rng(0))}
            assert judge(function.__autograder_probe__, value, value).score == 1, name


# ---- the sample submissions, graded by the real grader -------------------------------------------

@pytest.fixture(scope="module")
def graded(tmp_path_factory, course_zygote):
    result = grade_corpus(ASSIGNMENT, SAMPLES, tmp_path_factory.mktemp("graded"), course_zygote)
    return {student.student: student for student in result.students}


def test_every_sample_notebook_is_in_the_expected_table():
    assert set(expected_grades(ASSIGNMENT)) == {path.stem for path in SAMPLES.glob("*.ipynb")}
    assert len(expected_grades(ASSIGNMENT)) >= 15


def test_every_sample_gets_its_expected_status_and_score(graded):
    assert {student: (result.status_text, result.total) for student, result in graded.items()} \
        == expected_grades(ASSIGNMENT)


def _lost(student_result) -> set[str]:
    return {p.name for q in student_result.questions for p in q.probes if p.points < p.max_points}


Q2_ALL = {"sigmoid_values", "forward_values", "cost_value", "cost_reg_value", "sigmoid_gradient_values",
          "backprop_cost", "backprop_gradient", "backprop_reg_cost", "backprop_reg_gradient", "predictions"}


@pytest.mark.parametrize("student, lost", [
    ("alice_correct", set()),
    ("bruno_alternative_style", set()),
    ("sofia_one_example_at_a_time", set()),
    ("dario_plain_sigmoid", Q2_ALL),
    ("elena_output_delta_h_minus_y", {"backprop_gradient", "backprop_reg_gradient"}),
    ("felix_regularises_bias", {"cost_reg_value", "backprop_reg_cost", "backprop_reg_gradient"}),
    ("gina_compares_the_ends", {"collapse_test_relu", "collapse_test_leaky", "collapse_test_tolerance"}),
    ("hugo_ignores_tolerance", {"collapse_test_tolerance"}),
    ("ines_collapse_test_with_relu", {"leaky_collapse_fraction"}),
    ("jonas_batchnorm_after_relu", {"lenet_bn_evaluation", "lenet_bn_training", "lenet_bn_parameter_count",
                                    "lenet_input_bn_evaluation", "lenet_input_bn_training"}),
    ("kim_dropout_after_convolutions", {"lenet_dropout_rates"}),
    ("lena_dropout_rates_swapped", {"lenet_dropout_rates"}),
    ("marco_dropout_always_on", {"lenet_dropout_evaluation"}),
    ("nadia_clr_without_decay", {"cyclical_lr_decay"}),
    ("omar_clr_cycle_off_by_one", {"cyclical_lr_triangle", "cyclical_lr_decay"}),
    ("paula_batch_size_without_cap", {"batch_sizes"}),
    ("quentin_syntax_error", {"backprop_cost", "backprop_gradient", "backprop_reg_cost", "backprop_reg_gradient"}),
    ("rosa_lenient_comparisons", {"backprop_gradient", "backprop_reg_gradient"}),
])
def test_each_mistake_loses_exactly_the_probes_meant_for_it(graded, student, lost):
    assert _lost(graded[student]) == lost


def test_messages_say_what_is_wrong(graded):
    def message(student, probe):
        return next(p.message for q in graded[student].questions for p in q.probes if p.name == probe)

    assert "2 (h - y)" in message("elena_output_delta_h_minus_y", "backprop_gradient")
    assert "points away from the model solution" in message("ines_collapse_test_with_relu", "leaky_collapse_fraction")
    assert "units of the 120-wide layer" in message("lena_dropout_rates_swapped", "lenet_dropout_rates")


def test_visible_checks_pass_honest_work_and_tell_elena_about_her_gradient(reference):
    """Run in this process: the honest samples pass every visible check, the untouched release
    none, and the output error copied from the two-layer code already fails the finite-difference
    check a student can run."""
    checks = _load_file(FOLDER / "checks.py", "deep_training_checks_samples")
    functions = probe_functions(vars(checks))

    def run(module):
        values = {}
        for name, function in functions.items():
            torch.manual_seed(0)
            try:
                values[name] = {"value": function(module, np.random.default_rng(0))}
            except Exception as error:
                values[name] = {"error": {"type": type(error).__name__, "message": str(error)}}
        return values

    expected = run(reference)

    def scores(student):
        module = load_module(extract(read_notebook(SAMPLES / f"{student}.ipynb")).source, f"deep_sample_{student}")
        values = run(module)
        return {name: judge(function.__autograder_probe__, values[name], expected[name]).score
                for name, function in functions.items()}

    for honest in ("alice_correct", "bruno_alternative_style", "sofia_one_example_at_a_time"):
        assert set(scores(honest).values()) == {1}, honest
    assert set(scores("carmen_untouched").values()) == {0}
    elena = scores("elena_output_delta_h_minus_y")
    # both versions fail: backprop_reg builds on her backprop
    assert elena.pop("backprop_agrees_with_finite_differences") == 0 and set(elena.values()) == {1}
