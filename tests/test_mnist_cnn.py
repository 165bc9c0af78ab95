"""The mnist_cnn assignment: reference solution, notebook marks, probes, visible checks, samples.

The sample submissions are graded once by the real grader (sandbox included); the table in
examples/submissions/mnist_cnn/EXPECTED.md says what each must get, and this file holds the grader
to it. Probes are also run in this process on small hand-made networks, to pin down what they
observe of a model's behaviour.
"""
import functools
import tomllib

import nbformat
import numpy as np
import pytest
import torch
from torch import nn


from autograder import paths
from assignment_modules import load_file, notebook_marks
from corpus_grading import expected_grades, grade_corpus
from hidden_tests import disagreements, one_torch_thread
from autograder.grading.config import load_config
from autograder.analysis.extract import extract
from autograder.sandbox.loader import load_module
from autograder.analysis.notebook import read_notebook
from autograder.grading.probes import judge, probe_functions

ASSIGNMENT = "mnist_cnn"
FOLDER = paths.assignment_dir(ASSIGNMENT)
SAMPLES = paths.REPO_ROOT / "examples" / "submissions" / ASSIGNMENT


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """The probes and checks this module runs in-process use one torch thread, as in the sandbox."""
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def probes():
    return load_file(FOLDER / "probes.py", "mnist_cnn_probes")


@pytest.fixture(scope="module")
def reference():
    source = extract(read_notebook(paths.source_notebook(ASSIGNMENT))).source
    return load_module(source, "mnist_cnn_reference")


def _values(probe_file_module, module) -> dict:
    """{probe name: {"value": ...} or {"error": ...}} for every probe, run in this process."""
    results = {}
    for name, function in probe_functions(vars(probe_file_module)).items():
        torch.manual_seed(0)
        try:
            value = function(module, None)
        except Exception as error:
            results[name] = {"error": {"type": type(error).__name__, "message": str(error)}}
            continue
        results[name] = {"value": value.detach().numpy() if isinstance(value, torch.Tensor) else value}
    return results


def _self_scores(probe_file_module, module) -> dict:
    """{probe name: score in [0, 1]} of `module` judged against its own values."""
    values = _values(probe_file_module, module)
    return {name: judge(function.__autograder_probe__, values[name], values[name]).score
            for name, function in probe_functions(vars(probe_file_module)).items()}


# ---- the reference solution and the notebook ----------------------------------------------------

def test_reference_networks_have_the_specified_parameter_counts(reference):
    counts = {name: sum(p.numel() for p in getattr(reference, name)().parameters())
              for name in ("MLP", "CNN", "RegularisedCNN", "BatchNormCNN")}
    # 784*200+200 + 200*200+200 + 200*10+10; conv 1->20 and 20->20 (4x4), then 500->250->10
    assert counts == {"MLP": 199_210, "CNN": 134_520, "RegularisedCNN": 134_520, "BatchNormCNN": 135_100}


def test_reference_settings_are_the_ones_the_text_reports(reference):
    regularised, batchnorm = reference.regularised_settings(), reference.batchnorm_settings()
    assert regularised["weight_decay"] > 0
    assert batchnorm["lr"] > reference.mlp_settings()["lr"]  # Q3d asks for a higher learning rate


def test_notebook_marks_match_grading_toml():
    """Each question's answer cell (by hand) or test cell (autograded) carries its points."""
    config = tomllib.loads((FOLDER / "grading.toml").read_text())
    graded = notebook_marks(paths.source_notebook(ASSIGNMENT))
    assert graded == {q["id"]: q["points"] for q in config["questions"]}
    assert sum(graded.values()) == 40


def test_the_import_block_is_editable_and_the_pdf_has_a_name_field():
    """Rule 1 sends every import to the first code cell, so a student must be able to edit it; the
    release's name field starts as a placeholder, which the PDF export does not take for a name."""
    from autograder.verbs.export import NAME_FIELD_ID, name_field
    release = nbformat.read(paths.release_notebook(ASSIGNMENT), as_version=4)
    first_code = next(cell for cell in release.cells if cell.cell_type == "code")
    assert "import torch" in first_code.source
    assert not first_code.metadata.get("nbgrader", {}).get("locked", False)
    assert any(cell.metadata.get("nbgrader", {}).get("grade_id") == NAME_FIELD_ID for cell in release.cells)
    assert name_field(release) is None


# ---- probes ----------------------------------------------------------------------------------------

def test_probes_and_checks_give_the_reference_full_marks(probes, reference):
    checks = load_file(FOLDER / "checks.py", "mnist_cnn_checks")
    for module in (probes, checks):
        scores = _self_scores(module, reference)
        assert scores and all(score == 1 for score in scores.values()), scores


def test_probe_and_check_points_add_up_per_question():
    config = load_config(ASSIGNMENT)
    checks = load_file(FOLDER / "checks.py", "mnist_cnn_checks_points")
    check_specs = [f.__autograder_probe__ for f in probe_functions(vars(checks)).values()]
    for question in config.autograded_questions:
        assert sum(spec.points for spec in config.probes_of(question.id)) == question.points
        assert sum(spec.points for spec in check_specs if spec.question == question.id) == question.points


class _FunctionalCNN(nn.Module):
    """The Q3a CNN written with functions, pooling before the ReLU, layers defined in reverse."""

    def __init__(self):
        super().__init__()
        self.out = nn.Linear(250, 10)
        self.hidden = nn.Linear(500, 250)
        self.second = nn.Conv2d(20, 20, 4, stride=2)
        self.first = nn.Conv2d(1, 20, 4)

    def forward(self, x):
        x = torch.relu(self.first(x))
        x = nn.functional.max_pool2d(self.second(x), 2).relu()
        return self.out(nn.functional.relu(self.hidden(x.flatten(1))))


def _same(value, expected) -> bool:
    if isinstance(expected, dict):
        return value.keys() == expected.keys() and all(_same(value[key], expected[key]) for key in expected)
    return bool(np.allclose(value, expected, rtol=1e-5, atol=1e-6))


def test_known_weights_do_not_depend_on_how_layers_are_named_ordered_or_called(probes, reference):
    """A CNN in another style gets the same scores, gradients and step; one with a softmax does not."""
    for measure in (probes._evaluation_scores, probes._scores_with_positive_weights, probes._one_step):
        assert _same(measure(_FunctionalCNN), measure(reference.CNN)), measure.__name__

    class WithSoftmax(_FunctionalCNN):
        def forward(self, x):
            return super().forward(x).softmax(dim=1)
    assert not _same(probes._scores_with_positive_weights(WithSoftmax), probes._scores_with_positive_weights(reference.CNN))


def test_dropout_shows_in_the_gradients_and_noise_does_not(probes, reference):
    class Noisy(reference.CNN):
        def forward(self, x):
            scores = super().forward(x)
            return scores + torch.randn_like(scores) if self.training else scores

    def dropout(Net):
        return probes.dropout_zeroes_units_in_training(type("Student", (), {"RegularisedCNN": Net}), None)
    assert set(dropout(reference.RegularisedCNN).values()) == {True}
    assert set(dropout(Noisy).values()) == {False}
    assert set(dropout(reference.CNN).values()) == {False}


@pytest.mark.parametrize("settings, moved", [
    ({"epochs": 1, "lr": 0.1, "batch_size": 8, "weight_decay": 1e-3}, 1.0),
    ({"epochs": 1, "lr": 1e-3, "batch_size": 8, "optimizer": "adam", "weight_decay": 1e-5}, 1.0),
    ({"epochs": 1, "lr": 0.1, "batch_size": 8}, 0.0),
    ({"epochs": 1, "lr": 0.1, "batch_size": 8, "weight_decay": 0.0}, 0.0),
    ({"epochs": 1, "lr": 0.1, "weight_decay": 1e-3}, 0.0),  # unusable settings decay nothing
    # the decay may live in the optimiser instead; given both ways, utils.train refuses the settings
    ({"epochs": 1, "lr": 0.1, "batch_size": 8,
      "optimizer": functools.partial(torch.optim.SGD, momentum=0.9, weight_decay=1e-3)}, 1.0),
    ({"epochs": 1, "lr": 0.1, "batch_size": 8, "weight_decay": 1e-3,
      "optimizer": functools.partial(torch.optim.SGD, weight_decay=1e-3)}, 0.0),
])
def test_the_weight_decay_probe_accepts_any_optimiser_that_decays(probes, settings, moved):
    assert probes._moved_towards_zero(settings) == pytest.approx(moved, abs=0.01)


@pytest.mark.parametrize("settings, problem", [
    ({"epochs": 2, "lr": 0.1}, '"batch_size" is missing'),
    ({"epochs": 0, "lr": 0.1, "batch_size": 8}, '"epochs" must be a whole number'),
    ({"epochs": 1.5, "lr": 0.1, "batch_size": 8}, '"epochs" must be a whole number'),
    ({"epochs": 1, "lr": -1, "batch_size": 8}, '"lr" must be a positive number'),
    ({"epochs": 1, "lr": "fast", "batch_size": 8}, '"lr" must be a positive number'),
    ({"epochs": 1, "lr": 0.1, "batch_size": 8, "optimizer": "rmsprop"}, "utils.train rejects these settings"),
    ({"epochs": 1, "lr": 0.1, "batch_size": 8, "momentum": 0.9}, "utils.train rejects these settings"),
    ({"epochs": 1, "lr": 0.0001, "batch_size": 8, "optimizer": lambda params, lr, weight_decay=0.0:
      torch.optim.SGD(params, lr=0.0)}, "does not change the weights"),
    ([("epochs", 1)], "must return a dict"),
    ({"epochs": 1, "lr": 0.1, "batch_size": 8, "weight_decay": 0.0,
      "optimizer": functools.partial(torch.optim.SGD, weight_decay=1e-3)}, "weight_decay is given twice"),
])
def test_unusable_settings_are_named(probes, settings, problem):
    assert problem in probes._settings_problems(settings)


def test_usable_settings_have_no_problem(probes, reference):
    assert probes._settings_problems(reference.mlp_settings()) == "none"


# ---- the sample submissions, graded by the real grader -------------------------------------------

@pytest.fixture(scope="module")
def graded(tmp_path_factory, course_zygote):
    result = grade_corpus(ASSIGNMENT, SAMPLES, tmp_path_factory.mktemp("graded"), course_zygote)
    return {student.student: student for student in result.students}


def test_the_notebook_test_cells_agree_with_the_probes_on_every_sample(graded):
    """Every test cell with hidden tests, run on each sample here, passes exactly when the probes
    give its question full marks (tests/hidden_tests.py)."""
    found, run = disagreements(ASSIGNMENT, graded.values(), lambda student: SAMPLES / f"{student}.ipynb")
    assert found == []
    assert set(run) == set(graded)  # no mnist_cnn sample is hostile or runaway


def test_every_sample_notebook_is_in_the_expected_table():
    assert set(expected_grades(ASSIGNMENT)) == {path.stem for path in SAMPLES.glob("*.ipynb")}
    assert len(expected_grades(ASSIGNMENT)) >= 10


def test_every_sample_gets_its_expected_status_and_score(graded):
    assert {student: (result.status_text, result.total) for student, result in graded.items()} == expected_grades(ASSIGNMENT)


def _probe_scores(student_result) -> dict[str, float]:
    return {p.name: p.points / p.max_points for q in student_result.questions for p in q.probes}


# A network that computes another function fails every probe of its behaviour; its settings still count.
MLP_PROBES = {"mlp_computes_the_specified_function", "mlp_layer_sizes", "mlp_gradients_and_one_step",
              "mlp_parameter_count"}
CNN_PROBES = {"cnn_computes_the_specified_function", "cnn_layer_sizes", "cnn_gradients_and_one_step",
              "cnn_parameter_count"}
BATCHNORM_PROBES = {"batchnorm_computes_the_specified_function", "batchnorm_in_training_mode",
                    "batchnorm_parameter_count"}


@pytest.mark.parametrize("student, failed", [
    ("carol_mlp_100_hidden", MLP_PROBES),
    ("judy_softmax_output", MLP_PROBES),
    ("dave_cnn_stride_1", CNN_PROBES),
    ("erin_no_dropout", {"dropout_zeroes_units_in_training"}),
    ("heidi_dropout_always_on", {"regularised_matches_the_cnn_in_eval_mode"}),
    ("ivan_no_weight_decay", {"weight_decay_pulls_weights_to_zero"}),
    ("frank_batchnorm_before_relu", BATCHNORM_PROBES),
    ("grace_two_batchnorms", BATCHNORM_PROBES),
    ("oscar_batchnorm_after_pool", {"batchnorm_in_training_mode"}),
])
def test_each_wrong_part_is_caught_by_the_probes_meant_for_it(graded, student, failed):
    scores = _probe_scores(graded[student])
    assert {name for name, score in scores.items() if score == 0} == failed
    half = {name for name, score in scores.items() if 0 < score < 1}
    assert all(scores[name] == 1 for name in scores if name not in failed | half)


def test_dropout_and_batchnorm_messages_say_what_is_wrong(graded):
    def message(student, probe):
        return next(p.message for q in graded[student].questions for p in q.probes if p.name == probe)

    assert "switch it off outside training" in message("heidi_dropout_always_on",
                                                       "regularised_matches_the_cnn_in_eval_mode")
    assert message("erin_no_dropout", "dropout_zeroes_units_in_training").startswith(
        "training mode zeroes units evaluation mode uses differs from the expected value; "
        "two training passes zero different units differs")
    assert "running statistics has shape" in message("grace_two_batchnorms", "batchnorm_in_training_mode")
    assert "before the max-pooling" in message("oscar_batchnorm_after_pool", "batchnorm_in_training_mode")
    assert "put a positive \"weight_decay\"" in message("ivan_no_weight_decay", "weight_decay_pulls_weights_to_zero")


def test_visible_checks_catch_what_the_visible_tests_catch(reference):
    """Run in this process: a student without dropout fails the dropout check (half of it), one with a
    softmax output or a misplaced batch norm fails the check made for it, an untouched release scores
    nothing, and honest students in any style pass every check."""
    checks = load_file(FOLDER / "checks.py", "mnist_cnn_checks_samples")
    expected = _values(checks, reference)

    def scores(student):
        module = load_module(extract(read_notebook(SAMPLES / f"{student}.ipynb")).source, f"sample_{student}")
        values = _values(checks, module)
        return {name: judge(function.__autograder_probe__, values[name], expected[name]).score
                for name, function in probe_functions(vars(checks)).items()}

    erin = scores("erin_no_dropout")
    assert erin.pop("dropout_modes") == 0.5 and all(score == 1 for score in erin.values())
    assert set(scores("bob_untouched").values()) == {0}
    # the two key ideas that only the hidden probes used to catch each have a cheap visible check
    judy, frank, oscar = scores("judy_softmax_output"), scores("frank_batchnorm_before_relu"), scores("oscar_batchnorm_after_pool")
    assert judy.pop("mlp_returns_raw_scores") == 0 and all(score == 1 for score in judy.values())
    assert frank.pop("batchnorm_placement") == 0.5 and all(score == 1 for score in frank.values())
    assert oscar.pop("batchnorm_placement") == 0.5 and all(score == 1 for score in oscar.values())
    for honest in ("alice_correct", "kate_alternative_style", "mia_own_parameters", "nina_sequential_forward"):
        assert set(scores(honest).values()) == {1}, honest
