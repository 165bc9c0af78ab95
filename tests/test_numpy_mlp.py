"""The numpy_mlp assignment: the reference against torch.autograd, the notebook's marks, the sandbox
that cannot import torch, and every sample submission.

The sample class (examples/submissions/numpy_mlp, described in its EXPECTED.md) is graded once by the
real grader, in a zygote built from the assignment's [sandbox] table (NumPy, matplotlib and utils
preloaded, torch blocked); each student's status and score are checked against the table, and each
mistake against the probes it must cost.
"""
import re
import subprocess
import sys
import types

import nbformat
import numpy as np
import pytest
import torch

from autograder import paths
from autograder.analysis.extract import extract
from autograder.analysis.notebook import read_notebook
from autograder.analysis.rules import check_rules
from autograder.grading import grade
from autograder.grading.config import load_config
from autograder.sandbox import SandboxError, Zygote
from autograder.sandbox.loader import load_module
from corpus_grading import corpus_config, grade_corpus

ASSIGNMENT = "numpy_mlp"
SAMPLES = paths.REPO_ROOT / "examples" / "submissions" / ASSIGNMENT
STAND_IN = "torch cannot be imported here: this assignment does not allow it"


@pytest.fixture(scope="module")
def reference():
    source = extract(read_notebook(paths.source_notebook(ASSIGNMENT))).source
    return load_module(source, "numpy_mlp_reference")


# ---- the reference solution, checked against torch.autograd on the same inputs -----------------------

def _known_mlp(reference, sizes, activations, num_bn_layers=0, momentum=0.0):
    rng = np.random.default_rng(sum(sizes))
    return reference.MLP(sizes[0], sizes[-1], list(sizes[1:-1]), [getattr(reference, a)() for a in activations],
                         lambda d0, d1: rng.normal(size=(d0, d1)) / np.sqrt(d0), lambda d: rng.normal(scale=0.3, size=d),
                         reference.SoftmaxCrossEntropy(), 0.1, momentum=momentum, num_bn_layers=num_bn_layers)


TORCH_ACTIVATIONS = {"Sigmoid": torch.sigmoid, "Tanh": torch.tanh, "ReLU": torch.relu, "Identity": lambda z: z}


def _torch_mlp_loss(mlp, activations, x, labels, weights, biases, gammas, betas):
    """The batch's mean loss of `mlp`'s architecture, in torch, on the given parameters (training mode)."""
    a = torch.from_numpy(x)
    for i, (W, b, name) in enumerate(zip(weights, biases, activations)):
        z = a @ W + b
        if i < mlp.num_bn_layers:
            mean, var = z.mean(dim=0), z.var(dim=0, unbiased=False)
            z = gammas[i] * (z - mean) / torch.sqrt(var + mlp.bn_layers[i].eps) + betas[i]
        a = TORCH_ACTIVATIONS[name](z)
    return torch.nn.functional.cross_entropy(a, torch.from_numpy(labels.argmax(axis=1)))


@pytest.mark.parametrize("sizes, activations, num_bn_layers", [
    ((5, 7, 6, 4), ("Sigmoid", "ReLU", "Identity"), 0),
    ((6, 8, 3), ("Tanh", "Identity"), 1),
    ((4, 9, 7, 5), ("Sigmoid", "Sigmoid", "Identity"), 2),
])
def test_the_reference_agrees_with_torch_autograd(reference, sizes, activations, num_bn_layers):
    """Forward, every gradient (W, b, gamma, beta) and one SGD-with-momentum step, against torch."""
    mlp = _known_mlp(reference, sizes, activations, num_bn_layers, momentum=0.9)
    rng = np.random.default_rng(0)
    x, labels = rng.normal(size=(10, sizes[0])), np.eye(sizes[-1])[rng.integers(sizes[-1], size=10)]
    weights = [torch.tensor(W, requires_grad=True) for W in mlp.W]
    biases = [torch.tensor(b, requires_grad=True) for b in mlp.b]
    gammas = [torch.tensor(layer.gamma.ravel(), requires_grad=True) for layer in mlp.bn_layers or []]
    betas = [torch.tensor(layer.beta.ravel(), requires_grad=True) for layer in mlp.bn_layers or []]
    loss = _torch_mlp_loss(mlp, activations, x, labels, weights, biases, gammas, betas)
    loss.backward()
    optimiser = torch.optim.SGD(weights + biases, lr=mlp.lr, momentum=mlp.momentum)

    mlp.forward(x)
    assert mlp.backward(labels) == pytest.approx(loss.item(), rel=1e-12)
    for mine, theirs in zip(mlp.dW + mlp.db, weights + biases):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-9, atol=1e-12)
    for i, layer in enumerate(mlp.bn_layers or []):
        np.testing.assert_allclose(layer.dgamma.ravel(), gammas[i].grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.dbeta.ravel(), betas[i].grad.numpy(), rtol=1e-9, atol=1e-12)
    # torch's momentum keeps v = mu v + g and steps by -lr v: the same trajectory as v = mu v - lr g, W += v
    for _ in range(2):
        mlp.step()
        optimiser.step()
    for mine, theirs in zip(mlp.W + mlp.b, weights + biases):
        np.testing.assert_allclose(mine, theirs.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_the_reference_batchnorm_agrees_with_torch_in_both_modes(reference):
    rng = np.random.default_rng(1)
    layer, torch_layer = reference.BatchNorm(4), torch.nn.BatchNorm1d(4, eps=1e-8, momentum=0.1).double()
    for _ in range(3):
        x = 2.0 + 3.0 * rng.normal(size=(16, 4))
        np.testing.assert_allclose(layer.forward(x), torch_layer(torch.from_numpy(x)).detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(layer.running_mean.ravel(), torch_layer.running_mean.numpy(), rtol=1e-12)
    torch_layer.eval()
    x = rng.normal(size=(5, 4))
    # torch's running variance is unbiased, the course's (the handout's) divides by the batch size: the
    # inference formula is compared on torch's running statistics
    layer.running_var = torch_layer.running_var.numpy()[None, :]
    np.testing.assert_allclose(layer.forward(x, eval=True), torch_layer(torch.from_numpy(x)).detach().numpy(), atol=1e-10)


def test_the_loss_is_finite_and_right_at_scores_of_1000(reference):
    scores = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]])
    labels = np.eye(3)[[0, 0]]
    loss = reference.SoftmaxCrossEntropy()
    expected = torch.nn.functional.cross_entropy(torch.from_numpy(scores), torch.tensor([0, 0]), reduction="none")
    np.testing.assert_allclose(loss.forward(scores, labels), expected.numpy())
    assert np.isfinite(loss.derivative()).all()


# ---- the notebook and grading.toml ---------------------------------------------------------------------

def test_notebook_marks_match_grading_toml_and_the_handouts_total():
    config = load_config(ASSIGNMENT, probes=False)
    nb = nbformat.read(paths.source_notebook(ASSIGNMENT), as_version=4)
    graded = {cell.metadata["nbgrader"]["grade_id"]: cell.metadata["nbgrader"]["points"] for cell in nb.cells
              if cell.metadata.get("nbgrader", {}).get("grade")}
    assert graded == {question.id: question.points for question in config.questions}
    assert sum(graded.values()) == 100
    assert config.blocked_imports == ("torch",) and "torch" not in " ".join(config.preload)


def test_the_rules_allow_numpy_and_the_standard_library_only():
    nb = nbformat.read(paths.release_notebook(ASSIGNMENT), as_version=4)
    nb.cells[3].source += "\nimport math\nimport collections.abc\nimport torch\nfrom scipy import special"
    flagged = [problem.message for problem in check_rules(nb, list(load_config(ASSIGNMENT, probes=False).allowed_imports))
               if problem.rule == "import-not-allowed"]
    assert [re.search(r"imports `(\w+)`", message).group(1) for message in flagged] == ["torch", "scipy"]
    assert "the standard library" in flagged[0]


def test_utils_works_without_torch_for_numpy_assignments():
    """What the numpy_mlp sandbox sees: utils imports, loads MNIST as arrays, and its torch helpers say why they fail."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "import utils\n"
            "images, labels = utils.load_mnist('train', as_arrays=True)\n"
            "print(images.shape, images.dtype, labels.dtype, type(images).__module__)\n"
            "try:\n    utils.UClasses()\nexcept ImportError as error:\n    print(error)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={"COURSE_FAST": "1", "PYTHONPATH": str(paths.student_helpers().parent)})
    assert result.stdout.splitlines() == ["(2000, 1, 28, 28) float32 int64 numpy",
                                          "UClasses needs PyTorch, which cannot be imported here"], result.stderr


# ---- the sandbox without torch ---------------------------------------------------------------------------

def test_a_running_zygote_that_can_import_torch_is_refused_for_numpy_mlp():
    config = load_config(ASSIGNMENT, probes=False)
    running = types.SimpleNamespace(blocked=(), isolation="started")
    with pytest.raises(SandboxError, match=r"numpy_mlp blocks torch, which this sandbox zygote can import"):
        with grade.running_zygote(running, config):
            pass


def test_a_launched_zygote_that_can_import_torch_is_replaced_for_numpy_mlp():
    """The CLI launches a zygote before it reads the assignment; numpy_mlp gets one without torch."""
    config = load_config(ASSIGNMENT, probes=False)
    closed = []
    launched = types.SimpleNamespace(blocked=(), isolation=None, close=lambda: closed.append(True))
    with grade.running_zygote(launched, config) as running:
        assert running is not launched and running.blocked == ("torch",) and "torch" not in running.preload
    assert closed == [True]


def test_a_zygote_cannot_preload_what_it_blocks():
    with pytest.raises(ValueError, match="names a blocked package"):
        Zygote(preload=("numpy", "torch._dynamo"), blocked=("torch",))


# ---- the sample submissions, graded once ---------------------------------------------------------------

def _expected_table() -> dict[str, tuple[str, float]]:
    rows = re.findall(r"^\| `(\w+)\.ipynb` \| .+? \| ([^|]+?) \| ([\d.]+) \|$",
                      (SAMPLES / "EXPECTED.md").read_text(), flags=re.MULTILINE)
    return {student: (status, float(score)) for student, status, score in rows}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    config = corpus_config(ASSIGNMENT)
    with Zygote(config.limits, config.preload, blocked=config.blocked_imports) as zygote:
        out = tmp_path_factory.mktemp("graded")
        result = grade_corpus(ASSIGNMENT, SAMPLES, out, zygote)
    return {student.student: student for student in result.students}


def test_every_sample_notebook_is_in_the_expected_table():
    assert set(_expected_table()) == {path.stem for path in SAMPLES.glob("*.ipynb")}
    assert len(_expected_table()) >= 15


def test_every_sample_gets_its_expected_status_and_score(graded):
    got = {student: (result.status_text, round(result.total, 3)) for student, result in graded.items()}
    assert got == _expected_table()


def _lost(student_result) -> set[str]:
    return {p.name for q in student_result.questions for p in q.probes if p.points < p.max_points}


RUNNING_STATISTICS = {"batchnorm_running_statistics", "mlp_with_batchnorm_trains", "mlp_with_batchnorm_evaluates"}


@pytest.mark.parametrize("student, lost", [
    ("carla_naive_softmax", {"loss_forward", "loss_derivative"}),
    ("dev_relu_derivative_at_zero", {"relu_derivative"}),
    ("quin_tanh_derivative_twice", {"tanh_derivative"}),
    ("elif_unbiased_running_variance", RUNNING_STATISTICS),
    ("fatima_alpha_swapped", RUNNING_STATISTICS),
    ("gus_running_statistics_not_updated", RUNNING_STATISTICS),
    ("pia_unbiased_batch_variance", RUNNING_STATISTICS | {"batchnorm_training_forward", "batchnorm_backward"}),
    ("nora_inference_uses_batch_statistics", {"batchnorm_inference", "mlp_with_batchnorm_evaluates"}),
    ("hana_momentum_sign", {"momentum_steps", "momentum_training"}),
    ("ivo_gradients_not_averaged", {"linear_backward", "mlp_backward", "mlp_trains_for_three_steps",
                                    "momentum_training", "mlp_with_batchnorm_trains"}),
    ("jun_shuffle_breaks_pairs", {"training_stats_drive_the_network", "training_stats_values"}),
    ("kim_gradients_accumulate", {"mlp_zero_grads", "mlp_trains_for_three_steps", "momentum_training"}),
])
def test_each_mistake_costs_the_probes_meant_for_it(graded, student, lost):
    assert _lost(graded[student]) == lost


def test_the_central_differences_of_a_consistent_forward_still_agree(graded):
    """ivo's gradients are a batch's sum, not its mean: the gradient items fail, the central differences
    of his (correct) forward pass."""
    message = next(p.message for q in graded["ivo_gradients_not_averaged"].questions for p in q.probes
                   if p.name == "mlp_backward")
    assert "dW[0]" in message and "central differences" not in message


def test_torch_cannot_be_imported_by_any_route(graded):
    lars, omar = graded["lars_imports_torch"], graded["omar_hostile"]
    assert any(STAND_IN in note for note in lars.notes) or STAND_IN in lars.status_text + str(lars.to_json())
    tanh = {p.name: p.message for q in omar.questions for p in q.probes if q.id == "Q1b"}
    assert all(STAND_IN in message for message in tanh.values())


def test_the_hostile_sample_keeps_only_its_honest_points(graded):
    omar = graded["omar_hostile"]
    earned = {q.id: q.points for q in omar.questions if not q.manual and q.points > 0}
    assert earned == {"Q1a": 4, "Q1c": 4, "Q2": 4}


def test_only_installed_top_level_packages_can_be_blocked():
    from autograder.sandbox import rootfs

    for _ in range(2):  # the second time it is blocked already
        assert rootfs.blocked_packages(["no_such_package_here"]) == {}  # nothing to cover, but refused here
        assert sys.modules["no_such_package_here"] is None
    with pytest.raises(ValueError, match="only top-level packages can be blocked, not 'torch.nn'"):
        rootfs.blocked_packages(["torch.nn"])
    with pytest.raises(ValueError, match="csv is a single-file module"):
        rootfs.blocked_packages(["csv"])
