"""Hidden probes of the hopfield_batchnorm assignment: what the grader asks of `energy`,
`euler_step`, `BatchNorm`, `NormalNet` and `BNNet`.

Every probe returns values the student's code computed from inputs chosen here, and the parent
compares them with what the reference solution computed from the same inputs (autograder.grading.probes).
One mistake should cost one probe: each probe is built so that the other common mistakes pass it.

Q1c, energy and euler_step (1 point): the energy (1) and one Euler step, compared with the
reference's on weights that are symmetric with a zero diagonal (where every correct form of the
answer to Q1(a), W v, W^T v or their average, gives the same step), several sizes and step lengths;
and, as the notebook asks and its visible check tests, euler_step leaves the currents it is given
unchanged (one item of five of its probe).

Q2A, BatchNorm (3 points):
- each node of the output is an increasing affine function of that node's input, with mean 0 and
  variance 1 over the batch (means and variances are reported only for such nodes);
- the output matches the reference on several shapes, scales and dtypes, including a node with a
  tiny variance, where putting eps outside the square root shows;
- the `eps` given to the constructor is the one used, on a batch so large that dividing the
  variance by D - 1 instead of D changes nothing within tolerance (that mistake costs the two
  probes above, not this one);
- the gradient of the input matches the reference's (statistics taken out of the graph do not),
  on a large batch for the same reason;
- batches with constant nodes give what equation (3) gives, zeros, not NaN (all of them at once).
  A batch of one sample is out of scope (the notebook says so): its statistics say nothing, and
  torch's own `batch_norm` refuses it in training, so an honest functional solution would lose.

Q2C-nets, NormalNet and BNNet (5 points), by behaviour: both nets get weights that depend only on
each tensor's shape (`autograder.grading.trusted`), so the reference's nets and a student's compute the same
numbers only if they run the same layers in the same order:
- the loss `self.loss_fcn` computes on fixed scores and targets (0.5);
- one epoch of the net's own `learn` (NNBase's), from known weights: its loss and the new weights (0.5);
- with non-negative weights and inputs, where any LeakyReLU passes everything whatever its slope:
  the outputs in training and evaluation mode and one gradient step done here, which show the
  Linear layers and where batch norm sits (after the activation, before the next Linear layer: the
  point of Q2C; batch norm on the input or before an activation leaks negative values through the
  activation and shows), and that NormalNet has none (2);
- the activation, by behaviour, on a net of one hidden node: positive inputs pass, negative ones are
  scaled by a slope between 0 and 1 (the handout lets students choose the slope, so 0.2,
  `F.leaky_relu` or `torch.where(h > 0, h, 0.01 * h)` all pass; ReLU does not), and nothing follows
  the output layer (1);
- the outputs for the default and for other constructor arguments (1).

While the nets are probed, the module's `BatchNorm` is the grader's own correct one, so a mistake in
Q2A costs only Q2A's points; a net that uses torch's batch norm instead shows in evaluation mode,
where torch's uses running statistics. One net whose code raises loses only its own share
(`_per_net`, `PerNet`).

Hints say what is asked, never the expected values. Points per question add up to the autograded
points in grading.toml. Only the standard library and numpy may run at import time outside probe
bodies: the parent reads this file without torch (see autograder.grading.probes).
"""
import contextlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from autograder.grading.probes import Comparator, Verdict, allclose, check, every_item, probe
from autograder.grading.trusted import (canonical, gradients_and_one_step, input_gradient, load_shape_seeded,
                                parameters, plain, scores, set_training)

# Bound before the submission loads (the child runs this file first); placeholders in the parent.
_from_numpy = torch.from_numpy
_Module = nn.Module
_mean, _var, _sqrt = torch.mean, torch.var, torch.sqrt
_no_grad, _copy, _size = torch.no_grad, torch.Tensor.copy_, torch.Tensor.size

HIDDEN = (9, 7, 5)  # distinct sizes, so that no two weight matrices share a shape
INPUT_DIM, N_CLASSES = 3, 4
BATCH = 16
LEARNING_RATE = 0.1
# Weight rows sum to at most this in the positive regime: batch norm outputs rarely exceed 4 in size, so
# a Linear layer after one still gives pre-activations above its smallest bias (0.5) minus 0.4.
POSITIVE_ROW_SUM = 0.1
AFFINE_TOLERANCE = 1e-3  # relative residual below which a node's output is an affine function of its input


def _tensor(array: np.ndarray, dtype=np.float32):
    return _from_numpy(np.ascontiguousarray(array, dtype=dtype))


def _batch(rng, samples: int, nodes: int, loc=(-50, 50), scale=(0.5, 20), dtype=np.float32):
    """A (samples, nodes) batch whose nodes have their own random means and spreads."""
    means = rng.uniform(*loc, size=nodes)
    spreads = rng.uniform(*scale, size=nodes)
    return _tensor(means + spreads * rng.normal(size=(samples, nodes)), dtype)


# ------------------------------------------------------------------------- Q1c: energy, euler_step


def _hopfield_network(rng, neurons: int):
    """Float64 weights, symmetric with a zero diagonal, and biases."""
    half = rng.normal(size=(neurons, neurons))
    weights = (half + half.T) / 2
    np.fill_diagonal(weights, 0.0)
    return weights, rng.normal(scale=0.5, size=neurons)


def _number_or_array(value) -> np.ndarray:
    """A student's result as a float64 array (a float, a numpy array or a tensor)."""
    if hasattr(value, "detach"):
        value = plain(value)
    return np.asarray(value, dtype=float)


@probe("Q1c", points=0.5, compare=allclose(rtol=1e-6, atol=1e-9),
       hint="energy(W, b, v) should return the energy of equation (1) for the activities v, as one number.")
def energy_matches_reference(module, rng):
    values = {}
    for neurons in (3, 8, 20):
        weights, biases = _hopfield_network(rng, neurons)
        activities = np.tanh(rng.normal(scale=2.0, size=neurons))
        values[f"{neurons} neurons"] = _number_or_array(module.energy(weights, biases, activities))
    weights, biases = _hopfield_network(rng, 6)
    values["saturated activities"] = _number_or_array(
        module.energy(weights, biases, np.array([1.0, -1.0, 1.0, 1.0, -1.0, 0.0])))
    return values


@probe("Q1c", points=0.5, compare=allclose(rtol=1e-6, atol=1e-9),
       hint="euler_step(W, b, u, dt) should return u plus dt times your answer to Q1(a) evaluated at v = tanh(u), "
            "an array of the shape of u, and leave u itself unchanged.")
def euler_step_matches_reference(module, rng):
    values = {}
    for neurons, step in ((3, 0.01), (8, 0.1), (20, 0.5)):
        weights, biases = _hopfield_network(rng, neurons)
        currents = rng.normal(scale=2.0, size=neurons)
        values[f"{neurons} neurons, dt={step}"] = _number_or_array(
            module.euler_step(weights, biases, currents.copy(), step))
    weights, biases = _hopfield_network(rng, 5)
    currents = np.array([6.0, -6.0, 0.0, 0.3, -40.0])
    values["saturated neurons"] = _number_or_array(module.euler_step(weights, biases, currents, 0.05))
    values["the currents given, after the step (the notebook says: not changed in place)"] = currents
    return values


# ------------------------------------------------------------------------------ Q2A: BatchNorm


def _affine_nodes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Which nodes (columns) of y, shape (D, N), are an increasing affine function of the same
    column of x, shape (D, N): shape (N,) of bools."""
    affine = []
    for column_x, column_y in zip(x.T, y.T):
        design = np.stack([column_x, np.ones_like(column_x)], axis=1)
        fit = np.linalg.lstsq(design, column_y, rcond=None)[0]
        slope, residual = fit[0], np.linalg.norm(column_y - design @ fit)
        spread = np.linalg.norm(column_y - column_y.mean())
        affine.append(bool(slope > 0 and residual <= AFFINE_TOLERANCE * spread))
    return np.array(affine)


@probe("Q2A", points=0.5, compare=allclose(rtol=0, atol=1e-3),
       hint="After BatchNorm, every node (column) should be its input shifted and scaled, with mean 0 and "
            "variance 1 over the batch.")
def batchnorm_normalises_each_node(module, rng):
    """The mean and variance (dividing by D) of each output node, NaN for a node whose output is
    not an increasing affine function of its input (so a made-up normalised array earns nothing)."""
    x = _batch(rng, 40, 5, dtype=np.float64)
    y = plain(module.BatchNorm()(x)).astype(float)
    affine = _affine_nodes(plain(x), y)
    return {"mean of each node": np.where(affine, y.mean(axis=0), np.nan),
            "variance of each node": np.where(affine, y.var(axis=0), np.nan)}


@probe("Q2A", points=1, compare=allclose(rtol=1e-4, atol=1e-4),
       hint="BatchNorm's output does not follow equation (3) on some batches: check that the mean and "
            "variance are taken per node over the samples, that the variance divides by D, and where eps goes.")
def batchnorm_matches_reference(module, rng):
    cases = {
        "a batch of 64 samples of 4 nodes": _batch(rng, 64, 4),
        "a float64 batch of 7 samples with nodes on scales from 0.01 to 1000": _tensor(
            np.array([5.0, -2.0, 1e4]) + np.array([1e-2, 1.0, 1e3]) * rng.normal(size=(7, 3)), np.float64),
        "a batch of 2 samples": _batch(rng, 2, 5),
        "a node with a tiny variance": _tensor(1e-3 * rng.normal(size=(300, 1)), np.float64),
    }
    return {name: plain(module.BatchNorm()(x)) for name, x in cases.items()}


LARGE_BATCH = 20_000  # dividing a variance by D - 1 instead of D changes it by 5e-5 relative, within tolerance


@probe("Q2A", points=0.5, compare=allclose(rtol=1e-4, atol=1e-5),
       hint="BatchNorm(eps=...) must use the eps it is given, inside the square root of equation (3).")
def batchnorm_uses_its_eps(module, rng):
    x = _batch(rng, LARGE_BATCH, 3, loc=(-1, 1), scale=(0.5, 1.5), dtype=np.float64)
    return {f"eps={eps}": plain(module.BatchNorm(eps=eps)(x)) for eps in (0.5, 3.0)}


@probe("Q2A", points=0.5, compare=allclose(rtol=1e-4, atol=1e-6),
       hint="Compute BatchNorm with torch operations on the input tensor, keeping the mean and variance in "
            "torch's graph (no numpy, .detach(), .data or .item()), so that gradients flow through all of it.")
def batchnorm_passes_gradients(module, rng):
    """An upstream gradient with a non-zero mean that correlates with the input, so that a mean or
    a variance taken out of the graph changes the input's gradient well beyond tolerance."""
    values = rng.normal(size=(LARGE_BATCH, 3))
    x = _tensor(20.0 + 5.0 * values, np.float64).requires_grad_(True)
    upstream = _tensor(0.5 + 0.5 * values + rng.normal(size=(LARGE_BATCH, 3)), np.float64)
    return input_gradient(module.BatchNorm()(x), x, upstream)


@probe("Q2A", points=0.5, compare=every_item(allclose(rtol=1e-4, atol=1e-4)),
       hint="A node whose values are all equal has zero variance: equation (3) still gives a finite output "
            "there (eps keeps the division safe), never NaN.")
def batchnorm_handles_degenerate_batches(module, rng):
    """All or nothing: zeros, right for the all-constant batch, are no answer. The batch with some
    constant nodes is large, so that a variance divided by D - 1 costs nothing here. (No batch of
    one sample: out of scope, see the module's docstring.)"""
    constant_nodes = rng.normal(size=(LARGE_BATCH, 4))
    constant_nodes[:, 1] = 3.0
    constant_nodes[:, 3] = -2.5
    return {"a batch with constant nodes": plain(module.BatchNorm()(_tensor(constant_nodes))),
            "a batch where every node is constant": plain(module.BatchNorm()(_tensor(np.full((5, 2), 7.0))))}


# ------------------------------------------------------------------------- Q2C: NormalNet, BNNet

RAISED = "__raised__"  # marks a net whose code raised, in the per-net values below


def _graders_batchnorm():
    """A correct BatchNorm class, made in the child from functions bound before the submission loaded."""
    class GradersBatchNorm(_Module):
        def __init__(self, eps=1e-5):
            super().__init__()
            self.eps = eps

        def forward(self, x):
            return (x - _mean(x, dim=0)) / _sqrt(_var(x, dim=0, unbiased=False) + self.eps)
    return GradersBatchNorm


@contextlib.contextmanager
def _graders_batchnorm_in(module):
    """The module's `BatchNorm` is the grader's while the block runs, and the student's again after."""
    namespace = vars(module)
    missing = object()
    own = namespace.get("BatchNorm", missing)
    namespace["BatchNorm"] = _graders_batchnorm()
    try:
        yield
    finally:
        if own is missing:
            del namespace["BatchNorm"]
        else:
            namespace["BatchNorm"] = own


def _per_net(module, measure) -> dict:
    """{net name: measure(Net)} for NormalNet and BNNet, built and run with the grader's BatchNorm;
    a net whose code raises gets {RAISED: "Type: message"} instead, so that one broken net does not
    cost the other its points."""
    values = {}
    with _graders_batchnorm_in(module):
        for name in ("NormalNet", "BNNet"):
            try:
                values[name] = measure(getattr(module, name))
            except Exception as error:
                message = str(error)[:300]
                values[name] = {RAISED: f"{type(error).__name__}: {message}" if message else type(error).__name__}
    return values


@dataclass(frozen=True)
class PerNet(Comparator):
    """Judges the value of each net with `inner` against the reference's value for the same net,
    and averages; a net whose code raised scores 0 with its error as the message."""
    inner: Comparator

    def __call__(self, student, reference) -> Verdict:
        if not isinstance(student, dict) or not student:
            return Verdict(0.0, "no value for either network")
        scores_, messages = [], []
        for name, expected in reference.items():
            value = student.get(name)
            if isinstance(value, dict) and RAISED in value:
                verdict = Verdict(0.0, f"your code raised {value[RAISED]}")
            else:
                verdict = self.inner(value, expected)
            scores_.append(verdict.score)
            if verdict.score < 1:
                messages.append(f"{name}: {verdict.message.replace('your value', 'its value')}")
        return Verdict(sum(scores_) / len(scores_), "; ".join(messages))


def per_net(inner: Comparator) -> PerNet:
    return PerNet(inner)


def _inputs(rng, samples: int, features: int, positive: bool):
    """A float32 batch (samples, features): uniform in [0, 1) when `positive`, else normal."""
    values = rng.uniform(size=(samples, features)) if positive else rng.normal(size=(samples, features))
    return _tensor(values)


def _targets(rng, samples: int, classes: int = N_CLASSES):
    """One-hot float targets (samples, classes), as UClasses gives them."""
    return _tensor(np.eye(classes)[rng.integers(classes, size=samples)])


def _known_net(Net, positive: bool, *arguments):
    """A new `Net(*arguments)` with shape-seeded weights: non-negative ones when `positive`."""
    net = Net(*arguments)
    load_shape_seeded(net, POSITIVE_ROW_SUM if positive else None)
    return net


def _outputs_in_both_modes(net, inputs) -> dict:
    set_training(net, True)
    training = scores(net, inputs)
    set_training(net, False)
    return {"output in training mode": training, "output in evaluation mode": scores(net, inputs)}


@probe("Q2C-nets", points=0.5, compare=per_net(allclose(rtol=1e-4, atol=1e-5)),
       hint="Each constructor must set self.loss_fcn to the loss the notebook asks for (nn.CrossEntropyLoss()).")
def nets_set_a_loss(module, rng):
    outputs, targets = _tensor(3 * rng.normal(size=(BATCH, 3))), _targets(rng, BATCH, 3)
    return _per_net(module, lambda Net: plain(Net().loss_fcn(outputs, targets)))


@dataclass
class _Data:
    """The part of a UClasses data set that NNBase.learn reads."""
    features: object
    labels: object

    def inputs(self):
        return self.features

    def targets(self):
        return self.labels


@probe("Q2C-nets", points=0.5, compare=per_net(allclose(rtol=1e-4, atol=1e-6)),
       hint="Both networks must be derived from utils.NNBase and learn with its learn method, unchanged.")
def nets_learn_with_nnbase(module, rng):
    """One full-batch epoch of the net's own `learn`, from known non-negative weights (the batch's
    order, which learn shuffles, changes nothing in a full batch)."""
    data = _Data(_inputs(rng, BATCH, INPUT_DIM, positive=True), _targets(rng, BATCH))

    def learn(Net) -> dict:
        net = _known_net(Net, True, INPUT_DIM, N_CLASSES, HIDDEN)
        losses = net.learn(data, epochs=1, lr=LEARNING_RATE, batch_size=BATCH, progress=False)
        return {"loss of the epoch": np.array([float(loss) for loss in losses]),
                "weights after the epoch": canonical([plain(p) for p in parameters(net)])}
    return _per_net(module, learn)


@probe("Q2C-nets", points=2, compare=per_net(allclose(rtol=1e-4, atol=1e-6)),
       hint="Both networks have the Linear layers input_dim -> hidden[0] -> ... -> hidden[-1] -> n_classes in "
            "that order; BNNet applies your BatchNorm to each hidden layer's activations, right before the next "
            "Linear layer (not to the input, not before the activation); NormalNet uses it nowhere.")
def nets_linear_layers_and_batchnorm_places(module, rng):
    """With non-negative weights and inputs (every LeakyReLU passes everything), only the Linear
    layers and where batch norm sits between them decide the outputs and one gradient step."""
    inputs, targets = _inputs(rng, BATCH, INPUT_DIM, positive=True), _targets(rng, BATCH)

    def measure(Net) -> dict:
        net = _known_net(Net, True, INPUT_DIM, N_CLASSES, HIDDEN)
        outputs = _outputs_in_both_modes(net, inputs)
        set_training(net, True)
        step = gradients_and_one_step(net, inputs, targets, LEARNING_RATE)
        return {**outputs, "parameters after one step": step["parameters after one step"]}
    return _per_net(module, measure)


ACTIVATION_INPUTS = np.linspace(-2.0, 2.0, 9)  # a batch of scalars around the kink at 0
OUTPUT_OFFSET = -5.0  # the second output's bias: an activation after the output layer would bend it
SLOPE_RATIO_MARGIN = 1e-4  # a negative slope must be this far inside (0, 1): rounding is not a leak


def _one_node_outputs(Net) -> dict:
    """Net(1, 2, (1,)) with weight 1 and bias 0 into its hidden node, and weights 1 and biases 0 and
    OUTPUT_OFFSET into its two outputs: each output is the hidden node's activation of the input
    (after batch norm in BNNet, an increasing affine map over the batch), the second shifted."""
    net = Net(1, 2, (1,))
    with _no_grad():
        for tensor in parameters(net):
            shape = tuple(_size(tensor))
            value = {(1, 1): [[1.0]], (1,): [0.0], (2, 1): [[1.0], [1.0]], (2,): [0.0, OUTPUT_OFFSET]}.get(shape)
            if value is None:
                raise ValueError(f"a parameter of shape {shape} in {Net.__name__}(1, 2, (1,)): only Linear layers "
                                 "are expected")
            _copy(tensor, _tensor(np.array(value)))
    set_training(net, True)
    return {"outputs": scores(net, _tensor(ACTIVATION_INPUTS[:, None]))}


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(slope, largest residual) of the least-squares line through the points."""
    design = np.stack([x, np.ones_like(x)], axis=1)
    fit = np.linalg.lstsq(design, y, rcond=None)[0]
    return float(fit[0]), float(np.abs(y - design @ fit).max())


def _activation_verdict(student, reference) -> tuple[float, str]:
    """A LeakyReLU, judged by what it does, as the reference's is: linear on each side of 0, negative
    inputs scaled by a slope between 0 and 1 of the positive one, and the outputs not bent after the
    last layer. (How much the positive side is scaled is left to the other probes: batch norm in
    NormalNet rescales it, and that mistake costs there.)"""
    y, expected = np.asarray(student["outputs"], dtype=float), np.asarray(reference["outputs"], dtype=float)
    if y.shape != expected.shape or not np.isfinite(y).all():
        return 0.0, f"its outputs have shape {y.shape} or are not finite"
    x, negative, positive = ACTIVATION_INPUTS, ACTIVATION_INPUTS < 0, ACTIVATION_INPUTS > 0
    if not np.allclose(y[:, 1] - y[:, 0], expected[:, 1] - expected[:, 0], atol=1e-4):
        return 0.0, "something is applied after the output layer: it must return the class scores as they are"
    slopes, residuals = zip(*(_line(x[side], y[side, 0]) for side in (negative, positive)))
    scale = max(np.abs(y[:, 0]).max(), 1.0)
    ratio = slopes[0] / slopes[1] if slopes[1] > 0 else 0.0
    if not (SLOPE_RATIO_MARGIN < ratio < 1 - SLOPE_RATIO_MARGIN and max(residuals) <= 1e-4 * scale):
        return 0.0, ("the hidden layers' activation should pass positive inputs and scale negative ones by a slope "
                     "between 0 and 1 (a LeakyReLU)")
    return 1.0, ""


@probe("Q2C-nets", points=1, compare=per_net(check(_activation_verdict)),
       hint="Every hidden Linear layer is followed by a LeakyReLU (any slope between 0 and 1), and nothing follows "
            "the output layer.")
def nets_activation_leaks(module, rng):
    return _per_net(module, _one_node_outputs)


@probe("Q2C-nets", points=1, compare=per_net(allclose(rtol=1e-4, atol=1e-6)),
       hint="forward maps inputs of shape (B, input_dim) to class scores of shape (B, n_classes), with the "
            "layer sizes the constructor is given, for the default and for other arguments.")
def nets_follow_their_arguments(module, rng):
    cases = {"Net()": ((), _inputs(rng, BATCH, 2, positive=True)),
             "Net(4, 5, (8, 6))": ((4, 5, (8, 6)), _inputs(rng, BATCH, 4, positive=True))}

    def measure(Net) -> dict:
        return {name: scores(_known_net(Net, True, *arguments), inputs) for name, (arguments, inputs) in cases.items()}
    return _per_net(module, measure)
