"""Visible checks of the hopfield_batchnorm assignment, which a student runs with `autograder check`.

They repeat the assertions of the notebook's read-only test cells, with the same messages, and no
more: BatchNorm's output type, shape, per-node mean and variance on one batch; for both networks
the base class, a loss function, the output shape, the Linear layers and a LeakyReLU; batch norm in
BNNet and not in NormalNet. The hidden probes (probes.py) go further; passing these is necessary,
not sufficient. Points per question add up to the question's autograded points, so the preview is
on the same scale as the grade. As with every probe, each fact is judged against the same fact of
the reference solution (`check(fn)` calls `fn(student_value, reference_value)`).
"""
import numpy as np
import torch
from torch import nn

import utils
from autograder.probes import check, probe

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


@probe("Q2A", points=3, compare=check(_normalised), hint="See equation (3) in the notebook.")
def batchnorm_visible_checks(module, rng):
    batch = 5.0 + 3.0 * torch.randn(64, 4, generator=torch.Generator().manual_seed(0))
    output = module.BatchNorm()(batch)
    return {"output": output, "is a tensor": isinstance(output, torch.Tensor)}


def _facts(module) -> dict:
    """What the notebook's test cell asserts about each net, as plain values."""
    facts = {}
    for name in ("NormalNet", "BNNet"):
        net = getattr(module, name)(**NET_ARGUMENTS)
        facts[name] = {
            "NNBase": isinstance(net, utils.NNBase),
            "loss_fcn": getattr(net, "loss_fcn", None) is not None,
            "shape": list(net(torch.randn(32, 4, generator=torch.Generator().manual_seed(0))).shape),
            "linear shapes": [list(m.weight.shape) for m in net.modules() if isinstance(m, nn.Linear)],
            "LeakyReLU": any(isinstance(m, nn.LeakyReLU) for m in net.modules()),
            "BatchNorm": any(isinstance(m, module.BatchNorm) for m in getattr(module, name)().modules()),
        }
    return facts


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
    if facts["linear shapes"] != expected["linear shapes"]:
        return False, f"{name} has Linear layers of shapes {[tuple(s) for s in facts['linear shapes']]}"
    return facts["LeakyReLU"] == expected["LeakyReLU"], f"{name} should use nn.LeakyReLU()"


def _batchnorm(name, facts, expected):
    wanted = "must use your BatchNorm" if expected["BatchNorm"] else "must not use BatchNorm"
    return facts["BatchNorm"] == expected["BatchNorm"], f"{name} {wanted}"


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
def nets_linear_layers_and_leaky_relu(module, rng):
    return _facts(module)


@probe("Q2C-nets", points=1, compare=_nets_check(_batchnorm))
def batchnorm_only_in_bnnet(module, rng):
    return _facts(module)
