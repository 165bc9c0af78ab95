"""Hidden probes of the mnist_cnn assignment: what the grader asks of each student's module.

Every probe returns values the student's code computed from inputs chosen here, and the parent
compares them with what the reference solution computed from the same inputs (autograder.grading.probes).
Structure is probed by behaviour, never by reading layers, types or attributes: each network gets
weights, biases and batch norm statistics that depend only on each tensor's shape
(`autograder.grading.trusted`), so the student's network and the reference give the same numbers only if
they compute the same function, however they name, nest or order their layers, and whether a
matrix is stored (outputs, inputs) as in nn.Linear or (inputs, outputs) for ``x @ W``
(`orientation_free`: a transposed matrix gets the transposed values, a square one is symmetric). Hyperparameters a
student is free to choose (dropout probability, learning rate, optimiser) are never compared.

- the scores in evaluation mode, for the usual batch and for another input form;
- the scores with non-negative weights and inputs, where every ReLU passes everything, so that
  the layers and their sizes alone decide them (a missing or extra ReLU does not show there);
- the gradient of the input and the parameters after one gradient step, both computed here;
- the parameter count, which earns its point only with the right scores as well;
- dropout: in training mode, some units that evaluation mode uses get no gradient, and a second
  pass drops other units; in evaluation mode the CNN's scores;
- batch norm: the scores in evaluation mode (running statistics) and in training mode (batch
  statistics, with torch's dropout modules switched off) and the running statistics after it;
- weight decay: one step of the optimiser `utils.train` would build from the settings, on a
  stand-in layer whose gradients are zero, must move the weights towards zero;
- each settings function gives `utils.train` arguments it accepts and trains with.

Points per question add up to the autograded points in grading.toml (Q2, Q3a, Q3c, Q3d: 5 each).
Only the standard library and numpy may run at import time: the parent reads this file without
torch (see autograder.grading.probes).
"""
import math
import operator

import numpy as np
import torch
from torch import nn

import utils
from autograder.grading.probes import allclose, check, equal, every_item, probe
from autograder.grading.trusted import (buffer_values, gradients_and_one_step, load_shape_seeded, modules,
                                parameter_count, parameter_gradients, parameters, plain, scores, set_training,
                                zero_gradients)

# Bound before the submission loads (the child runs this file first); placeholders in the parent.
_train, _make_optimiser = utils.train, utils._make_optimiser
_Linear, _Flatten, _Sequential = nn.Linear, nn.Flatten, nn.Sequential
_DROPOUT_MODULES = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
_rand, _arange, _Generator = torch.rand, torch.arange, torch.Generator
_type, _float, _index = type, float, operator.index

BATCH = 4  # images per probe batch; more than 1 so that batch norm can train
INPUT_SEED = 559
LEARNING_RATE = 0.1
# Each layer's weights sum to about 1 per output in the positive regime, so that a mistake in an early
# layer still shows in the scores (smaller sums shrink it layer after layer, below the tolerance).
POSITIVE_ROW_SUM = 2.0
SCORES = allclose(rtol=1e-4, atol=1e-5)


def _images(count: int = BATCH):
    """Fixed random images in [0, 1], shape (count, 1, 28, 28), the same in every process."""
    return _rand(count, 1, 28, 28, generator=_Generator().manual_seed(INPUT_SEED))


def _labels(count: int = BATCH):
    return _arange(count) % 10


def _known(Net, row_sum: float | None = None):
    """A new `Net()` with shape-seeded weights (see autograder.grading.trusted), in evaluation mode."""
    net = Net()
    load_shape_seeded(net, row_sum, orientation_free=True)
    set_training(net, False)
    return net


def _evaluation_scores(Net) -> np.ndarray:
    return scores(_known(Net), _images())


def _scores_with_positive_weights(Net) -> np.ndarray:
    """Scores (BATCH, 10) where every ReLU passes everything: only the layers and their sizes count."""
    return scores(_known(Net, row_sum=POSITIVE_ROW_SUM), _images())


def _one_step(Net) -> dict:
    """The gradient of the input and the parameters after one gradient step done here."""
    return gradients_and_one_step(_known(Net), _images(), _labels(), LEARNING_RATE, orientation_free=True)


def _count_and_scores(Net) -> dict:
    return {"parameters": parameter_count(Net()), "scores": _evaluation_scores(Net)}


# ---------------------------------------------------------------------------------- settings

_REQUIRED_SETTINGS = ("epochs", "lr", "batch_size")


def _plain_settings(settings) -> tuple[dict, list[str]]:
    """(the settings with their numbers as plain int and float, what is wrong with them): the plain
    numbers are what the probes use, so a number-like object cannot behave one way when checked and
    another when used."""
    if _type(settings) is not dict:
        return {}, [f"the settings function must return a dict, not {_type(settings).__name__}"]
    plain_settings = dict(settings)
    problems = [f'"{key}" is missing' for key in _REQUIRED_SETTINGS if key not in settings]
    for key in ("epochs", "batch_size"):
        try:
            plain_settings[key] = _index(settings.get(key, 1))
        except TypeError:
            plain_settings[key] = 0
        if plain_settings[key] < 1:
            problems.append(f'"{key}" must be a whole number of at least 1')
    for key, default, least in (("lr", 1.0, "positive"), ("weight_decay", 0.0, "non-negative")):
        if key == "weight_decay" and key not in settings:
            continue  # utils.train then leaves the optimiser's own weight decay alone
        try:
            plain_settings[key] = _float(settings.get(key, default))
        except (TypeError, ValueError):
            plain_settings[key] = math.nan
        if not (0 < plain_settings[key] < math.inf if key == "lr" else 0 <= plain_settings[key] < math.inf):
            problems.append(f'"{key}" must be a {least} number')
    return plain_settings, problems


def _settings_problems(settings) -> str:
    """What is wrong with a settings dict for `utils.train`, or "none" when one epoch with it
    trains a stand-in model: accepted, with a finite loss and weights that move."""
    settings, problems = _plain_settings(settings)
    if problems:
        return "; ".join(problems)
    stand_in = _Sequential(_Flatten(), _Linear(28 * 28, 10))
    before = [plain(p) for p in parameters(stand_in)]
    try:
        history = _train(stand_in, (_images(8), _labels(8)), **{**settings, "epochs": 1, "progress": False})
        losses = [_float(loss) for loss in history["loss"]]
    except Exception as error:
        return f"utils.train rejects these settings ({type(error).__name__}: {str(error)[:200]})"
    if not all(math.isfinite(loss) for loss in losses):
        return "one epoch with these settings gives a loss that is not finite"
    if all(np.array_equal(plain(p), b) for p, b in zip(parameters(stand_in), before)):
        return "one epoch with these settings does not change the weights"
    return "none"


def _same_problems(student: str, reference: str) -> tuple[float, str]:
    return (1.0, "") if student == reference else (0.0, student)


SETTINGS = check(_same_problems)

# ------------------------------------------------------------------------------------ Q2: MLP


@probe("Q2", points=1, compare=SCORES,
       hint="With the same weights your MLP computes different scores from the specified network: check the "
            "flattening, the ReLUs, and that forward returns the last layer's output as it is, for images "
            "(N, 1, 28, 28) and flat vectors (N, 784).")
def mlp_computes_the_specified_function(module, rng):
    mlp, images = _known(module.MLP), _images()
    return {"images": scores(mlp, images), "flat vectors": scores(mlp, images.reshape(BATCH, -1))}


@probe("Q2", points=1, compare=SCORES,
       hint="The layers must be linear 784->200, linear 200->200 and linear 200->10, in that order, with "
            "nothing after the last one.")
def mlp_layer_sizes(module, rng):
    return _scores_with_positive_weights(module.MLP)


@probe("Q2", points=1, compare=allclose(rtol=1e-4, atol=1e-6),
       hint="Gradients through your MLP differ from the specified network's: every layer must take part in "
            "torch's graph (no .detach(), .data or numpy inside forward).")
def mlp_gradients_and_one_step(module, rng):
    return _one_step(module.MLP)


@probe("Q2", points=1, compare=every_item(SCORES),
       hint="A 784-200-200-10 network with biases has 199,210 parameters, and computes the specified scores.")
def mlp_parameter_count(module, rng):
    return _count_and_scores(module.MLP)


@probe("Q2", points=1, compare=SETTINGS,
       hint="mlp_settings() must return keyword arguments utils.train accepts: epochs, lr, batch_size, "
            "and optionally optimizer and weight_decay.")
def mlp_settings_are_usable(module, rng):
    return _settings_problems(module.mlp_settings())


# ------------------------------------------------------------------------------------ Q3a: CNN


@probe("Q3a", points=2, compare=SCORES,
       hint="With the same weights your CNN computes different scores from the specified network: check the "
            "layer order, the ReLUs, the flattening and that forward returns the last layer's output as it is.")
def cnn_computes_the_specified_function(module, rng):
    cnn = _known(module.CNN)
    return {"batch of 4": scores(cnn, _images()), "batch of 1": scores(cnn, _images(1))}


@probe("Q3a", points=1, compare=SCORES,
       hint="The layers must be: convolution 1->20 (4x4, stride 1), convolution 20->20 (4x4, stride 2), "
            "2x2 max-pool, flatten, linear to 250, linear to 10.")
def cnn_layer_sizes(module, rng):
    return _scores_with_positive_weights(module.CNN)


@probe("Q3a", points=1, compare=allclose(rtol=1e-4, atol=1e-6),
       hint="Gradients through your CNN differ from the specified network's: every layer must take part in "
            "torch's graph.")
def cnn_gradients_and_one_step(module, rng):
    return _one_step(module.CNN)


@probe("Q3a", points=1, compare=every_item(SCORES),
       hint="The specified CNN has 134,520 parameters; check the strides and the size of the flattened vector.")
def cnn_parameter_count(module, rng):
    return _count_and_scores(module.CNN)


# ----------------------------------------------------------------- Q3c: dropout and weight decay


@probe("Q3c", points=1.5, compare=SCORES,
       hint="In evaluation mode RegularisedCNN must compute exactly what the CNN of Q3a computes: keep every "
            "layer of Q3a, add only dropout, and switch it off outside training (nn.Dropout modules, or "
            "F.dropout(x, p, training=self.training)).")
def regularised_matches_the_cnn_in_eval_mode(module, rng):
    return _evaluation_scores(module.RegularisedCNN)


def _gradient_is_zero(net, training: bool) -> np.ndarray:
    """Which parameter entries of `net` get no gradient from one image, in one mode: flat bools."""
    set_training(net, training)
    _, gradients = parameter_gradients(net, _images(1), _labels(1))
    return np.concatenate([(g == 0).ravel() for g in gradients if g is not None])


@probe("Q3c", points=1.5, compare=equal(),
       hint="RegularisedCNN needs dropout that is random in training mode: each training pass must zero some "
            "of the units evaluation mode uses, different ones each time.")
def dropout_zeroes_units_in_training(module, rng):
    """Dropout shows in the weight gradients of one image: a dropped unit passes no gradient to the
    weights next to it. Adding noise, or scaling, zeroes nothing."""
    net = _known(module.RegularisedCNN)
    unused = _gradient_is_zero(net, training=False)
    first, second = _gradient_is_zero(net, training=True), _gradient_is_zero(net, training=True)
    return {"training mode zeroes units evaluation mode uses": bool((first & ~unused).any()),
            "two training passes zero different units": bool((first != second).any())}


def _moved_towards_zero(settings) -> float:
    """The fraction of a stand-in layer's weights that one step of the optimiser `utils.train`
    builds from `settings` moves towards zero, when every gradient is zero (0 when the settings
    are not usable numbers)."""
    settings, problems = _plain_settings(settings)
    if problems:
        return 0.0
    layer = _Linear(28 * 28, 10)
    load_shape_seeded(layer)
    before = [plain(p) for p in parameters(layer)]
    try:
        optimiser = _make_optimiser(settings.get("optimizer", "sgd"), parameters(layer), settings["lr"],
                                    settings.get("weight_decay"))
    except Exception:
        return 0.0
    zero_gradients(parameters(layer))
    optimiser.step()
    moved = [((plain(p) - b) * b < 0).ravel() for p, b in zip(parameters(layer), before)]
    return float(np.concatenate(moved).mean())


@probe("Q3c", points=1, compare=allclose(rtol=0, atol=0.01),
       hint="Weight decay belongs to the optimiser: put a positive \"weight_decay\" in regularised_settings(), "
            "which utils.train passes on.")
def weight_decay_pulls_weights_to_zero(module, rng):
    return _moved_towards_zero(module.regularised_settings())


@probe("Q3c", points=1, compare=SETTINGS,
       hint="regularised_settings() must return keyword arguments utils.train accepts.")
def regularised_settings_are_usable(module, rng):
    return _settings_problems(module.regularised_settings())


# ------------------------------------------------------------------------- Q3d: batch normalisation


@probe("Q3d", points=1.5, compare=SCORES,
       hint="With the same weights and running statistics, BatchNormCNN computes different scores in evaluation "
            "mode from the specified network: keep the layers of Q3a and put BatchNorm2d(20), BatchNorm2d(20) "
            "and BatchNorm1d(250) each right after its ReLU.")
def batchnorm_computes_the_specified_function(module, rng):
    return _evaluation_scores(module.BatchNormCNN)


@probe("Q3d", points=1.5, compare=SCORES,
       hint="In training mode BatchNormCNN normalises with the statistics of the batch and updates its running "
            "statistics: use nn.BatchNorm2d and nn.BatchNorm1d with their defaults, each right after its ReLU, so "
            "the second one before the max-pooling (after it, the batch statistics are other numbers).")
def batchnorm_in_training_mode(module, rng):
    """Training-mode scores and the running statistics after the pass; torch's dropout modules,
    which a student may add, are switched off so that only batch norm is random-free here."""
    net = _known(module.BatchNormCNN)
    set_training(net, True)
    for dropout in (m for m in modules(net) if _type(m) in _DROPOUT_MODULES):
        set_training(dropout, False)
    return {"scores": scores(net, _images()), "running statistics": buffer_values(net)}


@probe("Q3d", points=1, compare=every_item(SCORES),
       hint="The CNN of Q3a plus BatchNorm2d(20), BatchNorm2d(20) and BatchNorm1d(250) has 135,100 parameters, "
            "and computes the specified scores.")
def batchnorm_parameter_count(module, rng):
    return _count_and_scores(module.BatchNormCNN)


@probe("Q3d", points=1, compare=SETTINGS,
       hint="batchnorm_settings() must return keyword arguments utils.train accepts.")
def batchnorm_settings_are_usable(module, rng):
    return _settings_problems(module.batchnorm_settings())
