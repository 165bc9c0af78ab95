"""Visible checks of the deep_training assignment, which a student runs with `autograder check`.

They repeat what the notebook's visible test cells ask, no more: a few values of the scaled sigmoid
and its slope, the shapes forward propagation returns, costs that behave, gradients that agree with
finite differences of the student's own cost, the collapse test on a dead and a live network, a
small simulation, parameter counts, dropout off in evaluation mode, and the first values of the two
schedules. The hidden probes (probes.py) go further; passing these is necessary, not sufficient.
Points per question add up to the question's autograded points, so the preview `autograder check`
shows is on the same scale as the grade.
"""
import numpy as np
import torch

from autograder.grading.probes import allclose, equal, probe

SIZES = (400, 20, 10)


def _parameters(seed=0):
    return (np.random.default_rng(seed).random(8650) - 0.5) * 0.25


def _inputs(count=20):
    rng = np.random.default_rng(1)
    return rng.random((count, 400)), np.eye(10)[rng.integers(10, size=count)]


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


@probe("Q2a", points=1, compare=allclose(), hint="sigmoid(0) is 0.5 and sigmoid(1) is 1 / (1 + e^-2).")
def sigmoid_at_zero_and_one(module, rng):
    return [float(module.sigmoid(0.0)), float(module.sigmoid(1.0))]


@probe("Q2b", points=3, compare=equal(), hint="forward_propagate returns seven arrays; see the shapes in its docstring.")
def forward_shapes(module, rng):
    thetas = module.unpack(_parameters(), *SIZES)
    return [list(np.shape(a)) for a in module.forward_propagate(_inputs(5)[0], *thetas)]


@probe("Q2c", points=4, compare=equal(),
       hint="The regularised cost is larger than the plain one, and equal to it when learning_rate is 0.")
def costs_behave(module, rng):
    params, (X, y) = _parameters(), _inputs()
    plain = module.cost(params, *SIZES, X, y)
    return {"regularised is larger": bool(module.cost_reg(params, *SIZES, X, y, 1.0) > plain),
            "learning_rate 0 gives the plain cost": bool(np.isclose(module.cost_reg(params, *SIZES, X, y, 0.0), plain))}


@probe("Q2d", points=2, compare=allclose(), hint="The scaled sigmoid's slope at 0 is 0.5.")
def sigmoid_gradient_at_zero(module, rng):
    return float(module.sigmoid_gradient(0.0))


def _agrees_with_finite_differences(function, extra=()) -> bool:
    params, (X, y) = _parameters(1), _inputs()
    indices = np.random.default_rng(0).choice(8650, size=12, replace=False)
    _, gradient = function(params, *SIZES, X, y, *extra)
    numeric = []
    for index in indices:
        shift = np.zeros_like(params)
        shift[index] = 1e-5
        numeric.append((function(params + shift, *SIZES, X, y, *extra)[0]
                        - function(params - shift, *SIZES, X, y, *extra)[0]) / 2e-5)
    numeric = np.array(numeric)
    return bool(np.shape(gradient) == (8650,)
                and np.linalg.norm(np.asarray(gradient)[indices] - numeric) / np.linalg.norm(numeric) < 1e-6)


@probe("Q2e", points=8, compare=equal(),
       hint="The gradient each backprop version returns must agree with finite differences of the cost it returns.")
def backprop_agrees_with_finite_differences(module, rng):
    return {"backprop": _agrees_with_finite_differences(module.backprop),
            "backprop_reg": _agrees_with_finite_differences(module.backprop_reg, (1.0,))}


@probe("Q2g", points=2, compare=equal(), hint="predict returns one digit, 0 to 9, per row of X.")
def prediction_shape(module, rng):
    predictions = np.asarray(module.predict(_parameters(), *SIZES, _inputs(30)[0]))
    return {"shape": list(predictions.shape), "digits": bool(set(np.unique(predictions)) <= set(range(10)))}


@probe("Q3c-collapse", points=3, compare=equal(),
       hint="A network whose layer 4 outputs 0 for every input is collapsed; one that passes x > 0 is not.")
def collapse_of_a_dead_and_a_live_network(module, rng):
    params = module.init_networks(4, torch.Generator().manual_seed(0))
    with torch.no_grad():
        params[3][1][1] = -1.0
        params[3][0][1] = 0.0
        params[0][0][2] = 1.0
        for weight, bias in params[1:]:
            weight[2] = 1.0
    collapsed = module.is_collapsed(params, module.relu)
    return {"dtype": str(collapsed.dtype), "dead network": bool(collapsed[1]), "live network": bool(collapsed[2])}


@probe("Q3c-simulation", points=4, compare=equal(),
       hint="simulate returns is_collapsed of its trained networks; most narrow deep ReLU networks collapse.")
def small_relu_simulation(module, rng):
    collapsed = module.simulate(module.relu, 50, 0, epochs=1, n_points=128)
    return {"shape": list(collapsed.shape), "most collapse": bool(collapsed.float().mean() > 0.5)}


@probe("Q3d", points=2, compare=equal(), hint="simulate works with the Leaky ReLU too.")
def small_leaky_simulation(module, rng):
    return list(module.simulate(module.leaky_relu, 50, 0, epochs=1, n_points=128).shape)


@probe("Q4b", points=3, compare=equal(), hint="LeNet5 with four batch norms has 62,158 parameters and gives scores (N, 10).")
def lenet_bn_shape(module, rng):
    return {"parameters": _count(module.LeNetBN()), "scores": list(module.LeNetBN()(torch.rand(3, 1, 28, 28)).shape)}


@probe("Q4c", points=2, compare=equal(), hint="LeNetBN plus BatchNorm2d(1) has 62,160 parameters.")
def lenet_input_bn_count(module, rng):
    return _count(module.LeNetInputBN())


@probe("Q4d", points=2, compare=equal(),
       hint="Dropout adds no parameters, and in evaluation mode two passes must agree.")
def lenet_dropout_count_and_eval(module, rng):
    net = module.LeNetDropout()
    net.eval()
    images = torch.rand(2, 1, 28, 28)
    return {"parameters": _count(net), "evaluation is deterministic": bool(torch.equal(net(images), net(images)))}


@probe("Q4e", points=2, compare=equal(), hint="Dropout adds no parameters: LeNetBNDropout has 62,160.")
def lenet_bn_dropout_count(module, rng):
    return _count(module.LeNetBNDropout())


@probe("Q5b", points=4, compare=allclose(),
       hint="Without decay the cycle starts at lr_min, reaches lr_max after step_size iterations, and is back at lr_min after two.")
def cyclical_lr_first_cycle(module, rng):
    return [float(module.cyclical_lr(t, 0.001, 0.1, 10, 1.0)) for t in (0, 10, 20)]


@probe("Q5c", points=2, compare=equal(), hint="With one epoch per size the batch sizes are 32, 64, 128.")
def first_batch_sizes(module, rng):
    return [int(module.batch_size_at(epoch, 1)) for epoch in range(3)]
