"""Visible checks of the hopfield_batchnorm assignment, which a student runs with `autograder check`.

They repeat the assertions of the notebook's read-only test cells, with the same messages, and no
more: energy against equation (1) on one network and euler_step's shape, its step of length 0, its
linearity in dt and one small step that lowers the energy; BatchNorm's output type, shape, per-node
mean and variance on one batch; for both networks the base class, a loss function, the output
shape and the Linear layers; and where batch norm sits, found with a marker layer in place of the
student's BatchNorm, so that a mistake in Q2A does not show here (the probes of the networks use
the grader's BatchNorm for the same reason): in BNNet right before every Linear layer after the
first (after the activation), not on the input; in NormalNet nowhere, and no other normalisation
either. The hidden probes (probes.py) go further; passing these is necessary, not sufficient.
Points per question add up to the question's autograded points, so the preview is on the same
scale as the grade. As with every probe, each fact is judged against the same fact of the
reference solution (`check(fn)` calls `fn(student_value, reference_value)`).
"""
import numpy as np
import torch
from torch import nn

import utils
from autograder.grading.probes import check, probe

NET_ARGUMENTS = {"input_dim": 4, "n_classes": 5, "hidden": (8, 6)}  # as in the notebook's test cell


def _first_failure(assertions) -> tuple[float, str]:
    """(1, "") when every (holds, message) pair holds, else (0, the first failing message)."""
    failing = [message for holds, message in assertions if not holds]
    return (0.0, failing[0]) if failing else (1.0, "")


def _normalised(result, expected) -> tuple[float, str]:
    y, reference = np.asarray(result["output"], dtype=float), np.asarray(expected["output"], dtype=float)
    right_shape = y.shape == reference.shape
    return _first_failure([
        (result["is a tensor"] == expected["is a tensor"], "forward must return a torch tensor"),
        (right_shape, f"output shape {y.shape}, expected {reference.shape}"),
        (right_shape and np.allclose(y.mean(axis=0), reference.mean(axis=0), atol=1e-5),
         "each column of the output should have mean 0"),
        (right_shape and np.allclose(y.var(axis=0), reference.var(axis=0), atol=1e-3),
         "each column of the output should have variance 1"),
    ])


def _hopfield_facts(result, expected) -> tuple[float, str]:
    messages = {"one number": "energy must return one number",
                "equation (1)": "energy does not follow equation (1)",
                "shape": "euler_step must return an array of the shape of u",
                "u unchanged": "euler_step must not change u in place",
                "step of length 0": "a step of length 0 must not move u",
                "linear in dt": "an Euler step moves u by dt times a rate that does not depend on dt",
                "energy falls": "one small step with symmetric weights should not raise the energy (Q1(b))"}
    return _first_failure([(result.get(fact) == expected[fact], message) for fact, message in messages.items()])


@probe("Q1c", points=1, compare=check(_hopfield_facts), hint="See Q1(c) in the notebook.")
def hopfield_visible_checks(module, rng):
    check_rng = np.random.default_rng(1)
    half = check_rng.normal(size=(5, 5))
    weights = (half + half.T) / 2
    np.fill_diagonal(weights, 0.0)
    biases, activities = check_rng.normal(size=5), np.tanh(check_rng.normal(size=5))
    double_sum = sum(weights[i, j] * activities[i] * activities[j] for i in range(5) for j in range(5))
    energy = module.energy(weights, biases, activities)
    currents = check_rng.normal(size=5)
    before = currents.copy()
    stepped = module.euler_step(weights, biases, currents, 0.01)
    facts = {"one number": bool(np.ndim(energy) == 0),
             "equation (1)": bool(np.isclose(energy, -0.5 * double_sum + biases @ activities)),
             "shape": np.shape(stepped) == (5,),
             "u unchanged": bool(np.array_equal(currents, before))}
    if facts["shape"]:
        facts["step of length 0"] = bool(np.allclose(module.euler_step(weights, biases, currents, 0.0), currents))
        facts["linear in dt"] = bool(np.allclose(module.euler_step(weights, biases, currents, 0.02) - currents,
                                                 2 * (np.asarray(stepped) - currents)))
        facts["energy falls"] = bool(module.energy(weights, biases, np.tanh(stepped))
                                     < module.energy(weights, biases, np.tanh(currents)))
    return facts


@probe("Q2A", points=3, compare=check(_normalised), hint="See equation (3) in the notebook.")
def batchnorm_visible_checks(module, rng):
    batch = 5.0 + 3.0 * torch.randn(64, 4, generator=torch.Generator().manual_seed(0))
    output = module.BatchNorm()(batch)
    return {"output": output, "is a tensor": isinstance(output, torch.Tensor)}


MARK = -1000.0


def _marker_layer(calls: list):
    """What the name BatchNorm stands for while the networks are checked, as in the notebook's test
    cell: a layer that notes each call in `calls` and turns every value it is given into MARK, so
    what reaches each Linear layer shows where batch norm sits, whatever the student's BatchNorm
    computes (Q2A is checked on its own). Made here, not at the top: the grading process reads
    this file without torch."""
    class MarkerLayer(nn.Module):
        def __init__(self, eps=1e-5):
            super().__init__()

        def forward(self, x):
            calls.append(list(x.shape))
            return torch.full_like(x, MARK)
    return MarkerLayer


def _facts(module) -> dict:
    """What the notebook's test cell asserts about each net, as plain values, with the marker layer
    in place of the module's BatchNorm (the student's again afterwards)."""
    namespace = vars(module)
    missing = object()
    own = namespace.get("BatchNorm", missing)
    calls = []
    namespace["BatchNorm"] = _marker_layer(calls)
    try:
        return _facts_of_nets(module, calls)
    finally:
        if own is missing:
            del namespace["BatchNorm"]
        else:
            namespace["BatchNorm"] = own


def _facts_of_nets(module, calls: list) -> dict:
    facts = {}
    for name in ("NormalNet", "BNNet"):
        net = getattr(module, name)(**NET_ARGUMENTS)
        linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
        calls.clear()
        reaching = _reaching(net, linears)
        marker_called = bool(calls)
        facts[name] = {
            "NNBase": isinstance(net, utils.NNBase),
            "loss_fcn": getattr(net, "loss_fcn", None) is not None,
            "shape": list(net(torch.randn(32, 4, generator=torch.Generator().manual_seed(0))).shape),
            "linear shapes": [list(m.weight.shape) for m in linears],
            "marker called": marker_called,
            "marked": [bool((x == MARK).all()) for x in reaching],
            # mean 0, and variance at most 1 (eps makes it a little less, much less for a node that barely varies)
            "normalised": [bool(x.mean(dim=0).abs().max() < 1e-4 and x.var(dim=0, unbiased=False).max() < 1.001)
                           for x in reaching],
        }
    return facts


def _reaching(net, linears) -> list:
    """What reaches each Linear layer on one batch."""
    reaching = []
    hooks = [m.register_forward_pre_hook(lambda layer, args: reaching.append(args[0].detach())) for m in linears]
    try:
        net(5.0 + 3.0 * torch.randn(32, 4, generator=torch.Generator().manual_seed(1)))
    finally:
        for hook in hooks:
            hook.remove()
    return reaching


def _nets_check(assertion):
    """A check of the facts: `assertion(name, facts of that net, the reference's facts of it)` gives
    (holds, message) per net."""
    def judge(facts, expected) -> tuple[float, str]:
        return _first_failure([assertion(name, facts[name], expected[name]) for name in ("NormalNet", "BNNet")])
    judge.__name__ = assertion.__name__
    return check(judge)


def _derived(name, facts, expected):
    return facts["NNBase"] == expected["NNBase"], f"{name} must be derived from utils.NNBase"


def _loss(name, facts, expected):
    return facts["loss_fcn"] == expected["loss_fcn"], f"{name} must set self.loss_fcn in its constructor"


def _shape(name, facts, expected):
    wanted = tuple(expected["shape"])
    return facts["shape"] == expected["shape"], f"{name} returned shape {tuple(facts['shape'])}, expected {wanted}"


def _layers(name, facts, expected):
    return (facts["linear shapes"] == expected["linear shapes"],
            f"{name} has Linear layers of shapes {[tuple(s) for s in facts['linear shapes']]}")


def _batchnorm(name, facts, expected):
    marked, wanted = facts["marked"], expected["marked"]
    if not expected["marker called"]:
        if facts["marker called"]:
            return False, f"{name} must not use BatchNorm"
        return (not any(facts["normalised"]),
                f"{name} normalises the input of a Linear layer: it must not use batch norm")
    if not facts["marker called"]:
        return False, f"{name} must apply your BatchNorm (the class of Q2A) to its hidden layers"
    if marked[:1] != wanted[:1]:
        return False, f"{name} normalises its raw input: batch norm belongs to the hidden layers only"
    return marked == wanted, (
        f"in {name}, BatchNorm must be the last step of each hidden layer, after its activation and right "
        "before the next Linear layer")


@probe("Q2C-nets", points=1, compare=_nets_check(_derived))
def nets_derive_from_nnbase(module, rng):
    return _facts(module)


@probe("Q2C-nets", points=1, compare=_nets_check(_loss))
def nets_set_loss_fcn(module, rng):
    return _facts(module)


@probe("Q2C-nets", points=1, compare=_nets_check(_shape))
def nets_output_shape(module, rng):
    return _facts(module)


@probe("Q2C-nets", points=1, compare=_nets_check(_layers))
def nets_linear_layers(module, rng):
    return _facts(module)


@probe("Q2C-nets", points=1, compare=_nets_check(_batchnorm))
def batchnorm_after_the_activation_in_bnnet_only(module, rng):
    return _facts(module)
