"""Hidden probes of the deep_training assignment: what the grader asks of each student's module.

Every probe returns values the student's code computed from inputs chosen here, and the parent
compares them with what the reference solution computed from the same inputs
(autograder.grading.probes).

- Problem 2 (NumPy): values of `sigmoid`, `sigmoid_gradient`, `forward_propagate`, `cost`,
  `cost_reg` and `predict` on fixed random parameters and inputs; each backprop version by its
  cost, its gradient, and a finite-difference check of that gradient against the function's own
  cost, all compared with the reference's. Probes of later functions use the student's earlier
  ones, as the notebook does, except where noted.
- Problem 3: the collapse test on crafted networks that are and are not constant (ReLU and Leaky
  ReLU, a dead layer, a layer dead only for some inputs, a network that is nearly constant); the
  batched simulation's collapse fraction for a fixed seed, which must lie within a band around the
  reference's (the student's random numbers are drawn in another order, so only the fraction, not
  the networks, can agree).
- Problem 4: each LeNet-5 variant by behaviour: scores from shape-seeded weights in evaluation and
  in training mode, running statistics after a training pass, the parameter count (with the
  scores), and the dropout rates, estimated from which gradients vanish in training mode over many
  passes.
- Problem 5: the cyclical learning rate's values at given iterations and the batch-size schedule.

Points per question add up to the autograded points in grading.toml (44 in all). Only the
standard library and numpy may run at import time: the parent reads this file without torch.
"""
import math
import operator

import numpy as np
import torch
import torch.nn.functional as F

from autograder.grading.probes import allclose, check, equal, every_item, probe
from autograder.grading.trusted import (buffer_values, load_shape_seeded, modules, parameter_count,
                                        parameter_gradients, scores, set_training)

# Bound before the submission loads (the child runs this file first); placeholders in the parent.
_rand, _Generator, _arange, _manual_seed = torch.rand, torch.Generator, torch.arange, torch.manual_seed
_relu, _leaky_relu, _no_grad = torch.relu, F.leaky_relu, torch.no_grad
_type, _float, _bool, _index = type, float, bool, operator.index
_array, _asarray, _isfinite = np.array, np.asarray, np.isfinite

INPUT_SIZE, HIDDEN_SIZE, NUM_LABELS = 400, 20, 10
PARAMETER_COUNT = 8650  # 20 * 401 + 20 * 21 + 10 * 21
EXAMPLES = 12
VALUES = allclose(rtol=1e-7, atol=1e-10)
SCORES = allclose(rtol=1e-4, atol=1e-5)
IMAGE_SEED = 98
# The simulation probes: small enough for a few seconds of CPU, large enough that the collapse
# fraction's spread between two correct simulations (binomial, 400 networks; 0.90 to 0.95 for ReLU and
# 0.30 to 0.35 for Leaky ReLU over six seeds) stays well inside the band.
SIMULATED_NETWORKS, SIMULATED_EPOCHS, SIMULATED_POINTS, SIMULATION_SEED = 400, 1, 320, 11
FRACTION_BAND = 0.12


# --------------------------------------------------------------------------------- problem 2

def _parameters(rng):
    return (rng.random(PARAMETER_COUNT) - 0.5) * 0.5


def _data(rng, count=EXAMPLES):
    inputs = rng.random((count, INPUT_SIZE))
    labels = rng.integers(NUM_LABELS, size=count)
    return inputs, np.eye(NUM_LABELS)[labels]


def _thetas(params):
    """The reference's unpacking, written here so that a probe does not depend on the notebook's."""
    first, second = HIDDEN_SIZE * (INPUT_SIZE + 1), HIDDEN_SIZE * (HIDDEN_SIZE + 1)
    return (params[:first].reshape(HIDDEN_SIZE, INPUT_SIZE + 1),
            params[first:first + second].reshape(HIDDEN_SIZE, HIDDEN_SIZE + 1),
            params[first + second:].reshape(NUM_LABELS, HIDDEN_SIZE + 1))


def _plain_array(value):
    return _asarray(value, dtype=float)


@probe("Q2a", points=1, compare=every_item(VALUES),
       hint="sigmoid(z) is 1 / (1 + e^(-2z)), element by element, for numbers and arrays.")
def sigmoid_values(module, rng):
    z = _array([-30.0, -3.0, -0.5, 0.0, 0.25, 1.0, 4.0, 30.0])
    return {"array": _plain_array(module.sigmoid(z)), "matrix": _plain_array(module.sigmoid(z.reshape(2, 4))),
            "number": _float(module.sigmoid(0.75))}


@probe("Q2d", points=2, compare=every_item(VALUES),
       hint="The derivative of 1 / (1 + e^(-2z)) is 2 s (1 - s) with s the scaled sigmoid: twice the "
            "logistic function's s (1 - s).")
def sigmoid_gradient_values(module, rng):
    z = _array([-6.0, -1.0, -0.3, 0.0, 0.3, 1.0, 6.0])
    return {"array": _plain_array(module.sigmoid_gradient(z)), "number": _float(module.sigmoid_gradient(0.5))}


@probe("Q2b", points=3, compare=every_item(VALUES),
       hint="forward_propagate returns (a1, z2, a2, z3, a3, z4, h): a1 is X with a column of ones in front, "
            "z2 = a1 @ theta1.T, a2 = [1, sigmoid(z2)], and so on; h = sigmoid(z4).")
def forward_values(module, rng):
    params = _parameters(rng)
    inputs, _ = _data(rng)
    outputs = module.forward_propagate(inputs, *_thetas(params))
    names = ("a1", "z2", "a2", "z3", "a3", "z4", "h")
    if len(outputs) != len(names):
        return {"number of arrays returned": len(outputs)}
    return {"number of arrays returned": 7, **{name: _plain_array(value) for name, value in zip(names, outputs)}}


@probe("Q2c", points=2, compare=VALUES,
       hint="cost is the cross-entropy summed over the 10 output units and averaged over the m examples: "
            "sum(-y log h - (1 - y) log(1 - h)) / m.")
def cost_value(module, rng):
    params = _parameters(rng)
    inputs, targets = _data(rng)
    return _float(module.cost(params, INPUT_SIZE, HIDDEN_SIZE, NUM_LABELS, inputs, targets))


@probe("Q2c", points=2, compare=every_item(VALUES),
       hint="cost_reg adds learning_rate / (2 m) times the sum of the squared weights of all three matrices, "
            "without their first (bias) columns.")
def cost_reg_value(module, rng):
    params = _parameters(rng)
    inputs, targets = _data(rng)
    return {f"learning_rate {rate}": _float(module.cost_reg(params, INPUT_SIZE, HIDDEN_SIZE, NUM_LABELS, inputs,
                                                            targets, rate))
            for rate in (0.0, 1.0, 3.0)}


def _finite_differences(function, params, indices, step=1e-5):
    estimates = []
    for index in indices:
        shift = np.zeros_like(params)
        shift[index] = step
        estimates.append((_float(function(params + shift)[0]) - _float(function(params - shift)[0])) / (2 * step))
    return _array(estimates)


def _backprop_values(function, rng, extra=()):
    """The cost and gradient `function` returns, and central differences of its own cost at 20
    coordinates spread over the three matrices (bias columns included)."""
    params = _parameters(rng)
    inputs, targets = _data(rng)
    arguments = (INPUT_SIZE, HIDDEN_SIZE, NUM_LABELS, inputs, targets, *extra)
    cost, gradient = function(params, *arguments)
    gradient = _plain_array(gradient)
    indices = np.concatenate([rng.choice(HIDDEN_SIZE * (INPUT_SIZE + 1), 8, replace=False),
                              HIDDEN_SIZE * (INPUT_SIZE + 1) + rng.choice(HIDDEN_SIZE * (HIDDEN_SIZE + 1), 6, replace=False),
                              PARAMETER_COUNT - 1 - rng.choice(NUM_LABELS * (HIDDEN_SIZE + 1), 6, replace=False)])
    numeric = _finite_differences(lambda p: function(p, *arguments), params, indices)
    picked = gradient[indices] if gradient.shape == (PARAMETER_COUNT,) else gradient
    return {"cost": _float(cost), "gradient": gradient, "gradient at the checked coordinates": picked,
            "finite differences of the returned cost": numeric}


_GRADIENT = allclose(rtol=1e-5, atol=1e-8)


def _gradient_check(student, reference):
    """Full marks when the gradient agrees with the reference's and with finite differences of the
    student's own cost (which must be the reference's cost too)."""
    verdicts = {key: _GRADIENT(student.get(key), reference[key]) for key in reference} \
        if isinstance(student, dict) else None
    if verdicts is None:
        return 0.0, "backprop must return (cost, gradient)"
    wrong = [f"{key}: {verdict.message}" for key, verdict in verdicts.items() if verdict.score < 1]
    return (1.0, "") if not wrong else (0.0, "; ".join(wrong))


@probe("Q2e", points=1, compare=allclose(rtol=1e-7, atol=1e-10),
       hint="backprop's first value is the cost of `cost`, without regularisation.")
def backprop_cost(module, rng):
    return _backprop_values(module.backprop, rng)["cost"]


@probe("Q2e", points=3, compare=check(_gradient_check),
       hint="backprop's gradient must be the derivative of its cost: for the scaled sigmoid the output error is "
            "2 (h - y), not h - y, and every hidden delta uses sigmoid_gradient; drop the bias column of each "
            "theta when you propagate a delta back.")
def backprop_gradient(module, rng):
    values = _backprop_values(module.backprop, rng)
    return {key: values[key] for key in ("gradient", "gradient at the checked coordinates",
                                         "finite differences of the returned cost")}


@probe("Q2e", points=1, compare=allclose(rtol=1e-7, atol=1e-10),
       hint="backprop_reg's first value is the cost of `cost_reg`.")
def backprop_reg_cost(module, rng):
    return _backprop_values(module.backprop_reg, rng, (1.5,))["cost"]


@probe("Q2e", points=3, compare=check(_gradient_check),
       hint="backprop_reg adds learning_rate / m times each weight to its gradient, except in the bias columns.")
def backprop_reg_gradient(module, rng):
    values = _backprop_values(module.backprop_reg, rng, (1.5,))
    return {key: values[key] for key in ("gradient", "gradient at the checked coordinates",
                                         "finite differences of the returned cost")}


@probe("Q2g", points=2, compare=every_item(equal()),
       hint="predict returns, for every row of X, the index (0 to 9) of the largest output unit.")
def predictions(module, rng):
    params = _parameters(rng)
    inputs, _ = _data(rng, count=40)
    return [int(digit) for digit in _asarray(module.predict(params, INPUT_SIZE, HIDDEN_SIZE, NUM_LABELS, inputs))]


# --------------------------------------------------------------------------------- problem 3

def _crafted_networks(module, leaky: bool):
    """Five width-2 depth-10 networks from the notebook's init_networks, then edited by hand:
    0 as drawn; 1 dead: layer 4 outputs 0 for every input; 2 alive: every weight 1 and the first
    layer's second unit turned to -1, so it computes a multiple of |x|; 3 every weight 1, dead only
    for x < 0 (never constant); 4 like 3 with output weights of 1e-12, so its outputs span about
    3e-9: constant for the default tolerance, not for a far smaller one."""
    params = module.init_networks(5, _Generator().manual_seed(7))
    with _no_grad():
        params[3][0][1] = 0.0
        params[3][1][1] = -1.0
        for weight, bias in params:
            weight[2] = 1.0
            bias[2] = 0.0
        params[0][0][2, 1, 0] = -1.0
        for weight, bias in params:
            weight[3] = 1.0
            bias[3] = 0.0
        for weight, bias in params:
            weight[4] = 1.0
            bias[4] = 0.0
        params[-1][0][4] = 1e-12
    return params, (module.leaky_relu if leaky else module.relu)


def _collapse_verdicts(module, leaky: bool) -> list:
    params, activation = _crafted_networks(module, leaky)
    collapsed = module.is_collapsed(params, activation)
    return [_bool(value) for value in collapsed.tolist()]


@probe("Q3c-collapse", points=1.5, compare=every_item(equal()),
       hint="is_collapsed must say, for every network at once, whether its outputs on grid_points() span at "
            "most the tolerance (a dead layer makes the network constant; a unit dead for some inputs does not).")
def collapse_test_relu(module, rng):
    return _collapse_verdicts(module, leaky=False)


@probe("Q3c-collapse", points=1, compare=every_item(equal()),
       hint="is_collapsed must evaluate the networks with the activation it is given (here Leaky ReLU, which "
            "never makes a layer exactly constant).")
def collapse_test_leaky(module, rng):
    return _collapse_verdicts(module, leaky=True)


@probe("Q3c-collapse", points=0.5, compare=every_item(equal()),
       hint="is_collapsed compares the spread of the outputs with its `tolerance` argument.")
def collapse_test_tolerance(module, rng):
    params, activation = _crafted_networks(module, leaky=False)
    return [_bool(value) for value in module.is_collapsed(params, activation, tolerance=1e-12).tolist()]


def _within_band(student, reference):
    if not isinstance(student, float) or not math.isfinite(student):
        return 0.0, "the collapse fraction is not a number"
    difference = abs(student - reference)
    if difference <= FRACTION_BAND:
        return 1.0, ""
    return 0.0, (f"{100 * student:.1f}% of the networks collapsed, {100 * difference:.1f} points away from the "
                 f"model solution's {100 * reference:.1f}% (the band is ±{100 * FRACTION_BAND:.0f} points)")


def _collapse_fraction(module, activation) -> float:
    collapsed = module.simulate(activation, SIMULATED_NETWORKS, SIMULATION_SEED, epochs=SIMULATED_EPOCHS,
                                n_points=SIMULATED_POINTS)
    values = [_bool(value) for value in collapsed.tolist()]
    if len(values) != SIMULATED_NETWORKS:
        return math.nan
    return sum(values) / len(values)


@probe("Q3c-simulation", points=4, compare=check(_within_band),
       hint="simulate must train every network on its own data (Adam, lr 1e-3, mean squared error on |x|, "
            "mini-batches of 64) and return is_collapsed of the trained networks; the fraction of collapsed "
            "ReLU networks must match the model solution's to within 12 points.")
def relu_collapse_fraction(module, rng):
    return _collapse_fraction(module, module.relu)


@probe("Q3d", points=2, compare=check(_within_band),
       hint="With Leaky ReLU, simulate's fraction of collapsed networks must match the model solution's to "
            "within 12 points: the same training, only the activation changes.")
def leaky_collapse_fraction(module, rng):
    return _collapse_fraction(module, module.leaky_relu)


# --------------------------------------------------------------------------------- problem 4

BATCH = 4
DROPOUT_PASSES = 24
RATE_BAND = 0.05
_DROPOUT_TYPES = (torch.nn.Dropout, torch.nn.Dropout1d, torch.nn.Dropout2d, torch.nn.Dropout3d,
                  torch.nn.AlphaDropout, torch.nn.FeatureAlphaDropout)


def _images(count: int = BATCH):
    return _rand(count, 1, 28, 28, generator=_Generator().manual_seed(IMAGE_SEED))


def _known(Net):
    net = Net()
    load_shape_seeded(net, orientation_free=True)
    set_training(net, False)
    return net


def _without_dropout(net):
    for module in modules(net):
        if _type(module) in _DROPOUT_TYPES:
            set_training(module, False)
    return net


def _evaluation_scores(Net):
    return {"batch of 4": scores(_known(Net), _images()), "batch of 1": scores(_known(Net), _images(1))}


def _training_pass(Net):
    """Scores in training mode (batch statistics; torch's dropout modules off) and the running
    statistics after that pass."""
    net = _known(Net)
    set_training(net, True)
    _without_dropout(net)
    return {"scores": scores(net, _images()), "running statistics": buffer_values(net)}


def _count_and_scores(Net):
    return {"parameters": parameter_count(Net()), "scores": scores(_known(Net), _images())}


def _dropout_rates(Net) -> dict:
    """Estimated dropout rates from which gradients vanish in training mode, averaged over passes:
    the input pixels whose gradient is 0 although it is not in evaluation mode, and the units of the
    120- and 84-wide layers whose outgoing weights get no gradient (their inputs to the next layer
    were dropped), on a batch of 2 images (batch norm needs more than one)."""
    net = _known(Net)
    images, labels = _images(2), _arange(2)
    input_gradient, _ = parameter_gradients(net, images, labels)
    used = input_gradient != 0
    set_training(net, True)
    dropped = {"input pixels": [], "units of the 120-wide layer": [], "units of the 84-wide layer": []}
    _manual_seed(IMAGE_SEED)
    for _ in range(DROPOUT_PASSES):
        input_gradient, gradients = parameter_gradients(net, images, labels)
        dropped["input pixels"].append(float(((input_gradient == 0) & used).sum() / max(used.sum(), 1)))
        for width, following, key in ((120, 84, "units of the 120-wide layer"), (84, 10, "units of the 84-wide layer")):
            # the weights out of the `width` units into the next layer, stored either way round
            outgoing = [g if g.shape[1] == width else g.T for g in gradients
                        if g is not None and g.ndim == 2 and sorted(g.shape) == sorted((width, following))]
            dropped[key].append(float((np.abs(outgoing[0]).sum(axis=0) == 0).mean()) if outgoing else math.nan)
    return {key: float(np.mean(values)) for key, values in dropped.items()}


def _rates_agree(student, reference):
    if not isinstance(student, dict):
        return 0.0, "no dropout rates could be measured"
    wrong = []
    for key, expected in reference.items():
        value = student.get(key)
        if not isinstance(value, float) or not math.isfinite(value) or abs(value - expected) > RATE_BAND:
            shown = f"{100 * value:.0f}%" if isinstance(value, float) and math.isfinite(value) else "nothing"
            wrong.append(f"{key}: {shown} dropped per training pass, expected about {100 * expected:.0f}%")
    return (1.0, "") if not wrong else (0.0, "; ".join(wrong))


@probe("Q4b", points=1, compare=every_item(SCORES),
       hint="With the same weights and running statistics LeNetBN computes other scores in evaluation mode: "
            "LeNet5's layers, with BatchNorm2d(6), BatchNorm2d(16), BatchNorm1d(120) and BatchNorm1d(84) each "
            "right after its convolution or linear layer, before the ReLU.")
def lenet_bn_evaluation(module, rng):
    return _evaluation_scores(module.LeNetBN)


@probe("Q4b", points=1, compare=every_item(SCORES),
       hint="In training mode LeNetBN must normalise with each batch's statistics and update the running ones: "
            "batch norm before each hidden ReLU, with default settings.")
def lenet_bn_training(module, rng):
    return _training_pass(module.LeNetBN)


@probe("Q4b", points=1, compare=every_item(SCORES),
       hint="LeNet5 with the four batch norms has 62,158 parameters, and computes the specified scores.")
def lenet_bn_parameter_count(module, rng):
    return _count_and_scores(module.LeNetBN)


@probe("Q4c", points=1, compare=every_item(SCORES),
       hint="LeNetInputBN is LeNetBN with BatchNorm2d(1) applied to the image before the first convolution.")
def lenet_input_bn_evaluation(module, rng):
    return {**_evaluation_scores(module.LeNetInputBN), "parameters": float(parameter_count(module.LeNetInputBN()))}


@probe("Q4c", points=1, compare=every_item(SCORES),
       hint="In training mode the input's batch norm normalises the image with the batch's statistics too.")
def lenet_input_bn_training(module, rng):
    return _training_pass(module.LeNetInputBN)


@probe("Q4d", points=1, compare=every_item(SCORES),
       hint="In evaluation mode LeNetDropout must compute exactly what LeNet5 computes (61,706 parameters): "
            "dropout only, switched off outside training.")
def lenet_dropout_evaluation(module, rng):
    return {**_evaluation_scores(module.LeNetDropout), "parameters": float(parameter_count(module.LeNetDropout()))}


@probe("Q4d", points=1, compare=check(_rates_agree),
       hint="LeNetDropout drops 20% of the input pixels and 50% of the units after each of the two hidden fully "
            "connected layers' ReLUs, in training mode only.")
def lenet_dropout_rates(module, rng):
    return _dropout_rates(module.LeNetDropout)


@probe("Q4e", points=1, compare=every_item(SCORES),
       hint="In evaluation mode LeNetBNDropout must compute what LeNetInputBN computes (62,160 parameters).")
def lenet_bn_dropout_evaluation(module, rng):
    return {**_evaluation_scores(module.LeNetBNDropout), "parameters": float(parameter_count(module.LeNetBNDropout()))}


@probe("Q4e", points=1, compare=check(_rates_agree),
       hint="LeNetBNDropout drops 20% after the input's batch norm and 50% after each hidden fully connected "
            "layer's ReLU, in training mode only.")
def lenet_bn_dropout_rates(module, rng):
    return _dropout_rates(module.LeNetBNDropout)


# --------------------------------------------------------------------------------- problem 5

SCHEDULE_POINTS = (0, 1, 5, 9, 10, 11, 15, 20, 25, 30, 37, 40, 63, 80, 99)


@probe("Q5b", points=2, compare=every_item(allclose(rtol=1e-9, atol=1e-12)),
       hint="Without decay (gamma = 1) the rate climbs linearly from lr_min at iteration 0 to lr_max at "
            "iteration step_size, falls back to lr_min at 2 step_size, and repeats.")
def cyclical_lr_triangle(module, rng):
    return [_float(module.cyclical_lr(t, 0.001, 0.1, 10, 1.0)) for t in SCHEDULE_POINTS]


@probe("Q5b", points=2, compare=every_item(allclose(rtol=1e-9, atol=1e-12)),
       hint="With decay the triangle's height (lr_max - lr_min) is multiplied by gamma ** iteration; lr_min "
            "itself does not decay.")
def cyclical_lr_decay(module, rng):
    return [_float(module.cyclical_lr(t, 1e-4, 0.05, 8, 0.98)) for t in SCHEDULE_POINTS]


@probe("Q5c", points=2, compare=every_item(equal()),
       hint="batch_size_at starts at 32, doubles every epochs_per_size epochs and stops at 4096.")
def batch_sizes(module, rng):
    return {f"{per} epochs per size": [_index(module.batch_size_at(epoch, per)) for epoch in range(20)]
            for per in (1, 2, 3)}
