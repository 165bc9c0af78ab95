"""Hidden probes of the hopfield_batchnorm assignment: what the grader asks of `BatchNorm`,
`NormalNet` and `BNNet`.

Q2A, BatchNorm (3 points):
- every node of the output has mean 0 and variance 1 (a property, checked in the parent);
- the output matches the reference on several shapes, scales and dtypes, including a node with a
  tiny variance, where putting eps outside the square root shows;
- the `eps` given to the constructor is the one used;
- gradients reach the input;
- degenerate batches (one sample, constant nodes) give zeros, as equation (3) does, not NaN.

Q2C-nets, NormalNet and BNNet (5 points):
- both derive from `utils.NNBase` and set `self.loss_fcn`;
- the activations a forward pass runs are LeakyReLUs with the default slope, one per hidden layer;
- the order of the layers a forward pass runs: NormalNet has no batch norm, BNNet applies the
  student's own `BatchNorm` right after every hidden activation and nowhere else;
- the same Linear layers in both nets, and the right output shapes;
- one full-batch learning step through `NNBase.learn` lowers the loss.

The layer order is read from forward hooks on every module a pass calls, together with the torch
functions it calls outside any recognised module (so `nn.LeakyReLU()` and `F.leaky_relu` count
alike). Probes about both nets return one value per net, and one net whose code raises loses only
its own share (`_per_net`, `PerNet`).

The child loads this file before the submission, so the torch functions, classes and builtins
bound at the top are the real ones: a submission that patches `torch.from_numpy`, `isinstance` or
`nn.Module.register_forward_hook` at import changes neither the inputs it is given nor what the
probes observe. Inputs come from the probe's own numpy generator.

Probes return raw observations only; every verdict, including the properties, is made in the parent.
The values are still the submission's claims (code in the child can lie about them); a property
is easy to claim, which is why each BatchNorm property is paired with a comparison against the
reference's outputs on random batches, which only a correct implementation can produce.
Hints say what is asked, never the expected values. Points per question add up to the autograded
points in grading.toml. Only the standard library and numpy may run at import time outside probe
bodies: the parent reads this file without torch (see autograder.probes).
"""
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

import utils
from autograder.probes import Comparator, Verdict, allclose, check, equal, probe

# Bound before the submission loads (see the module docstring); torch's are placeholders in the parent.
_isinstance, _callable = isinstance, callable
_from_numpy = torch.from_numpy
_autograd_grad = torch.autograd.grad
_no_grad = torch.no_grad
_NNBase = utils.NNBase
_UClasses = utils.UClasses
_Linear, _LeakyReLU, _TorchBatchNorm = nn.Linear, nn.LeakyReLU, nn.modules.batchnorm._BatchNorm
# Global hooks: they also see modules a forward pass creates on the fly, such as BatchNorm()(x).
_register_pre_hook = nn.modules.module.register_module_forward_pre_hook
_register_hook = nn.modules.module.register_module_forward_hook

HIDDEN = (9, 7, 5)  # hidden sizes of the nets whose layer order is traced
INPUT_DIM, N_CLASSES = 3, 4
DEFAULT_SLOPE = 0.01  # nn.LeakyReLU's default negative slope
# Small enough for one step on raw UClasses inputs (in the hundreds) to go downhill: measured on the
# reference, 300 of 300 initialisations of each net lower the loss (1e-4 fails 2 BNNets in 300).
LEARNING_RATE = 1e-5
LEARNING_TRIALS = 3

# Tolerances of the properties checked in the parent.
MEAN_TOLERANCE = 1e-4
VARIANCE_TOLERANCE = 1e-3


def _tensor(array: np.ndarray, dtype=np.float32):
    return _from_numpy(np.ascontiguousarray(array, dtype=dtype))


def _batch(rng, samples: int, nodes: int, loc=(-50, 50), scale=(0.5, 20), dtype=np.float32):
    """A (samples, nodes) batch whose nodes have their own random means and spreads."""
    means = rng.uniform(*loc, size=nodes)
    spreads = rng.uniform(*scale, size=nodes)
    return _tensor(means + spreads * rng.normal(size=(samples, nodes)), dtype)


# ------------------------------------------------------------------------------ Q2A: BatchNorm


def _normalised_per_node(result) -> tuple[float, str]:
    y = np.asarray(result["output"], dtype=float)
    if y.shape != tuple(result["input shape"]):
        return 0.0, f"the output has shape {y.shape}, not the shape of the input {tuple(result['input shape'])}"
    if not np.isfinite(y).all():
        return 0.0, "the output holds NaN or infinite values"
    means, variances = y.mean(axis=0), y.var(axis=0)
    problems = []
    if np.abs(means).max() > MEAN_TOLERANCE:
        worst = means[np.abs(means).argmax()]
        problems.append(f"the mean of each node over the batch should be 0, but one of yours is {worst:.3g}")
    if np.abs(variances - 1).max() > VARIANCE_TOLERANCE:
        worst = variances[np.abs(variances - 1).argmax()]
        problems.append("the variance of each node over the batch (dividing by D) should be 1, "
                        f"but one of yours is {worst:.4g}")
    return 1.0 - 0.5 * len(problems), "; ".join(problems)


@probe("Q2A", points=0.5, compare=check(_normalised_per_node),
       hint="After BatchNorm, every node (column) should have mean 0 and variance 1 over the batch.")
def batchnorm_normalises_each_node(module, rng):
    x = _batch(rng, 40, 5)
    return {"output": module.BatchNorm()(x), "input shape": list(x.shape)}


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
    return {name: module.BatchNorm()(x) for name, x in cases.items()}


@probe("Q2A", points=0.5, compare=allclose(rtol=1e-4, atol=1e-5),
       hint="BatchNorm(eps=...) must use the eps it is given, inside the square root of equation (3).")
def batchnorm_uses_its_eps(module, rng):
    x = _batch(rng, 20, 3, loc=(-1, 1), scale=(0.5, 1.5), dtype=np.float64)
    return {f"eps={eps}": module.BatchNorm(eps=eps)(x) for eps in (0.5, 3.0)}


def _gradient_reaches_input(gradient) -> tuple[float, str]:
    if gradient is None:
        return 0.0, "no gradient reached the input: the output is not connected to it in torch's graph"
    gradient = np.asarray(gradient, dtype=float)
    if not np.isfinite(gradient).all():
        return 0.0, "the gradient of the input holds NaN or infinite values"
    if not np.abs(gradient).max() > 1e-8:
        return 0.0, "the gradient of the input is zero everywhere"
    return 1.0, ""


@probe("Q2A", points=0.5, compare=check(_gradient_reaches_input),
       hint="Compute BatchNorm with torch operations on the input tensor (no numpy, .detach() or .data), "
            "so that gradients flow through it.")
def batchnorm_passes_gradients(module, rng):
    x = _batch(rng, 12, 3, dtype=np.float64).requires_grad_(True)
    weights = _tensor(rng.normal(size=(12, 3)), np.float64)
    y = module.BatchNorm()(x)
    if not getattr(y, "requires_grad", False):
        return None
    (gradient,) = _autograd_grad((y * weights).sum(), x, allow_unused=True)
    return gradient


@probe("Q2A", points=0.5, compare=allclose(rtol=1e-4, atol=1e-4),
       hint="A node whose values are all equal has zero variance, and so does every node of a batch of one "
            "sample: equation (3) still gives a finite output there (eps keeps the division safe), never NaN.")
def batchnorm_handles_degenerate_batches(module, rng):
    constant_nodes = rng.normal(size=(6, 4))
    constant_nodes[:, 1] = 3.0
    constant_nodes[:, 3] = -2.5
    return {"a batch of one sample": module.BatchNorm()(_batch(rng, 1, 4)),
            "a batch with constant nodes": module.BatchNorm()(_tensor(constant_nodes)),
            "a batch where every node is constant": module.BatchNorm()(_tensor(np.full((5, 2), 7.0)))}


# ------------------------------------------------------------------------- Q2C: NormalNet, BNNet

RAISED = "__raised__"  # marks a net whose code raised, in the per-net values below


def _per_net(module, measure) -> dict:
    """{net name: measure(Net)} for NormalNet and BNNet; a net whose code raises gets
    {RAISED: "Type: message"} instead, so that one broken net does not cost the other its points."""
    values = {}
    for name, Net in (("NormalNet", module.NormalNet), ("BNNet", module.BNNet)):
        try:
            values[name] = measure(Net)
        except Exception as error:
            message = str(error)[:300]
            values[name] = {RAISED: f"{type(error).__name__}: {message}" if message else type(error).__name__}
    return values


@dataclass(frozen=True)
class PerNet(Comparator):
    """Judges the value of each net with `inner` (against the reference's value for the same net)
    and averages; a net whose code raised scores 0 with its error as the message."""
    inner: Comparator

    @property
    def uses_reference(self) -> bool:
        return self.inner.uses_reference

    def __call__(self, student, reference=None) -> Verdict:
        if not isinstance(student, dict) or not student:
            return Verdict(0.0, "no value for either network")
        scores, messages = [], []
        for name, value in student.items():
            if isinstance(value, dict) and RAISED in value:
                verdict = Verdict(0.0, f"your code raised {value[RAISED]}")
            else:
                verdict = self.inner(value, reference[name] if self.uses_reference else None)
            scores.append(verdict.score)
            if verdict.score < 1:
                messages.append(f"{name}: {verdict.message.replace('your value', 'its value')}")
        return Verdict(sum(scores) / len(scores), "; ".join(messages))


def per_net(inner: Comparator) -> PerNet:
    return PerNet(inner)


def _is_nnbase(derived: bool) -> tuple[float, str]:
    return (1.0, "") if derived is True else (0.0, "it is not derived from utils.NNBase")


@probe("Q2C-nets", points=0.5, compare=per_net(check(_is_nnbase)),
       hint="Both networks must be derived from utils.NNBase, as in class NormalNet(utils.NNBase).")
def nets_derive_from_nnbase(module, rng):
    return _per_net(module, lambda Net: _isinstance(Net(), _NNBase))


def _has_loss(has_loss: bool) -> tuple[float, str]:
    return (1.0, "") if has_loss is True else (0.0, "its constructor does not set self.loss_fcn to a loss function")


@probe("Q2C-nets", points=0.5, compare=per_net(check(_has_loss)),
       hint="Each constructor must set self.loss_fcn to a loss, such as nn.CrossEntropyLoss().")
def nets_set_a_loss(module, rng):
    return _per_net(module, lambda Net: _callable(getattr(Net(), "loss_fcn", None)))


_ACTIVATION_MODULES = {name.lower(): getattr(nn, name) for name in (
    "ReLU", "ReLU6", "Sigmoid", "Tanh", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Softplus", "PReLU",
    "Hardtanh", "Softmax", "LogSoftmax")}
_ACTIVATION_FUNCTIONS = {"relu", "relu6", "sigmoid", "tanh", "elu", "selu", "celu", "gelu", "silu", "mish",
                         "softplus", "prelu", "hardtanh", "softmax", "log_softmax"}


def _module_layer(submission, m) -> str | None:
    """What a module call is, for the trace: "linear 3->9", "leaky_relu 0.01", "relu", "batchnorm"
    (the submission's own BatchNorm), "torch batchnorm" (nn.BatchNorm1d ...); None for containers
    and anything else, whose insides are traced instead."""
    if _isinstance(m, _Linear):
        return f"linear {m.in_features}->{m.out_features}"
    if _isinstance(m, _LeakyReLU):
        return f"leaky_relu {m.negative_slope:g}"
    own_batchnorm = getattr(submission, "BatchNorm", None)
    if _isinstance(own_batchnorm, type) and _isinstance(m, own_batchnorm):
        return "batchnorm"
    if _isinstance(m, _TorchBatchNorm):
        return "torch batchnorm"
    return next((name for name, kind in _ACTIVATION_MODULES.items() if type(m) is kind), None)


def _function_layer(func, args, kwargs) -> str | None:
    """The same, for a torch function called outside any recognised module."""
    name = getattr(func, "__name__", "").rstrip("_")
    if name == "linear":
        out_features, in_features = args[1].shape
        return f"linear {in_features}->{out_features}"
    if name == "leaky_relu":
        slope = kwargs.get("negative_slope", args[1] if len(args) > 1 else DEFAULT_SLOPE)
        return f"leaky_relu {float(slope):g}"
    if name == "batch_norm":
        return "torch batchnorm"
    return name if name in _ACTIVATION_FUNCTIONS else None


def _trace(submission, net, x) -> list[str]:
    """The layers one forward pass of `net` on `x` runs, in order (see `_module_layer`)."""
    from torch.overrides import TorchFunctionMode  # torch exists only in the child

    layers, depth = [], [0]

    class FunctionRecorder(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if depth[0] == 0:
                layer = _function_layer(func, args, kwargs)
                if layer is not None:
                    layers.append(layer)
            return func(*args, **kwargs)

    def enter(m, _inputs):
        layer = _module_layer(submission, m)
        if layer is not None:
            if depth[0] == 0:
                layers.append(layer)
            depth[0] += 1

    def leave(m, _inputs, _output):
        if _module_layer(submission, m) is not None:
            depth[0] -= 1

    handles = [_register_pre_hook(enter), _register_hook(leave)]
    try:
        with _no_grad(), FunctionRecorder():
            net(x)
    finally:
        for handle in handles:
            handle.remove()
    return layers


def _tracer(module, rng):
    """A function of a net class: the layers a forward pass of a net with HIDDEN layers runs."""
    x = _tensor(rng.normal(size=(16, INPUT_DIM)))
    return lambda Net: _trace(module, Net(input_dim=INPUT_DIM, n_classes=N_CLASSES, hidden=HIDDEN), x)


def _role(layer: str) -> str:
    """A traced layer's role in the order: linear, activation or batchnorm."""
    if layer.startswith("linear"):
        return "linear"
    return layer if "batchnorm" in layer else "activation"


def _one_leaky_relu_per_hidden_layer(layers) -> tuple[float, str]:
    activations = [layer for layer in layers if _role(layer) == "activation"]
    if activations == [f"leaky_relu {DEFAULT_SLOPE:g}"] * len(HIDDEN):
        return 1.0, ""
    shown = ", ".join(activations) or "none"
    return 0.0, f"with {len(HIDDEN)} hidden layers, a forward pass ran these activations: {shown}"


@probe("Q2C-nets", points=0.75, compare=per_net(check(_one_leaky_relu_per_hidden_layer)),
       hint="Both networks use nn.LeakyReLU() with its default slope after every hidden layer, "
            "and no activation after the output layer.")
def nets_use_leaky_relu(module, rng):
    return _per_net(module, _tracer(module, rng))


def _layer_order(with_batchnorm: bool):
    """A check that a traced NormalNet (False) or BNNet (True) runs its layers in the asked order."""
    block = ["linear", "activation"] + (["batchnorm"] if with_batchnorm else [])
    wanted = block * len(HIDDEN) + ["linear"]
    net = "BNNet" if with_batchnorm else "NormalNet"

    def in_order(layers) -> tuple[float, str]:
        roles = [_role(layer) for layer in layers]
        if roles == wanted:
            return 1.0, ""
        return 0.0, f"a forward pass of your {net} with {len(HIDDEN)} hidden layers ran: {', '.join(roles)}"
    in_order.__name__ = f"{net}_layer_order"
    return in_order


@probe("Q2C-nets", points=0.5, compare=check(_layer_order(with_batchnorm=False)),
       hint="NormalNet alternates Linear layers and activations, with no batch normalisation anywhere.")
def normalnet_has_no_batchnorm(module, rng):
    return _tracer(module, rng)(module.NormalNet)


@probe("Q2C-nets", points=1, compare=check(_layer_order(with_batchnorm=True)),
       hint="In BNNet, the output of every hidden layer's LeakyReLU goes through your BatchNorm before the "
            "next Linear layer, and BatchNorm is used nowhere else.")
def bnnet_normalises_after_each_activation(module, rng):
    return _tracer(module, rng)(module.BNNet)


@probe("Q2C-nets", points=0.5, compare=per_net(equal()),
       hint="Both networks have the Linear layers input_dim -> hidden[0] -> ... -> hidden[-1] -> n_classes, "
            "in that order.")
def nets_have_the_same_linear_layers(module, rng):
    trace = _tracer(module, rng)
    return _per_net(module, lambda Net: [layer for layer in trace(Net) if layer.startswith("linear")])


@probe("Q2C-nets", points=0.5, compare=per_net(equal()),
       hint="forward maps inputs of shape (B, input_dim) to class scores of shape (B, n_classes), "
            "for the default and for other constructor arguments.")
def nets_forward_shapes(module, rng):
    default_inputs, other_inputs = _tensor(rng.normal(size=(25, 2))), _tensor(rng.normal(size=(32, 4)))

    def shapes(Net) -> dict:
        with _no_grad():
            return {"Net()": list(Net()(default_inputs).shape),
                    "Net(4, 5, (8, 6))": list(Net(4, 5, (8, 6))(other_inputs).shape)}
    return _per_net(module, shapes)


def _loss_goes_down(trials) -> tuple[float, str]:
    if not all(_isinstance(t["learn returned"], list) and len(t["learn returned"]) == 1
               and all(math.isfinite(v) for v in t["learn returned"]) for t in trials):
        return 0.0, "learn did not return one finite loss for one epoch"
    if not all(math.isfinite(t["before"]) and math.isfinite(t["after"]) for t in trials):
        return 0.0, "its loss is not finite"
    if sum(t["after"] < t["before"] for t in trials) < len(trials) / 2:
        return 0.0, "one small learning step did not lower its loss"
    return 1.0, ""


def _learning_trials(Net) -> list[dict]:
    """One full-batch step of `learn` from each of LEARNING_TRIALS fresh networks: the loss on the
    whole batch before and after, and what `learn` returned."""
    data = _UClasses(n_samples=60, seed=3)
    inputs, targets = data.inputs(), data.targets()
    trials = []
    for _ in range(LEARNING_TRIALS):
        net = Net()
        if not _callable(getattr(net, "loss_fcn", None)):
            raise TypeError(f"self.loss_fcn is {getattr(net, 'loss_fcn', None)!r}, not a loss function")

        def loss() -> float:
            with _no_grad():
                return float(net.loss_fcn(net(inputs), targets))
        before = loss()
        epochs = net.learn(data, epochs=1, lr=LEARNING_RATE, batch_size=len(inputs), progress=False)
        trials.append({"before": before, "after": loss(), "learn returned": [float(v) for v in epochs]})
    return trials


@probe("Q2C-nets", points=0.75, compare=per_net(check(_loss_goes_down)),
       hint="Each network must learn with utils.NNBase.learn: its forward and its loss_fcn must let one "
            "small gradient step on a whole UClasses batch lower the loss.")
def nets_learn(module, rng):
    """Learning trials of each net; the parent asks that most of them go downhill (a rare
    initialisation may not, on a tiny batch)."""
    return _per_net(module, _learning_trials)
