"""Visible checks of the mnist_cnn assignment, which a student runs with `autograder check`.

They repeat what the notebook's visible test cells ask, no more: parameter counts, output shapes,
raw scores rather than probabilities, dropout on in training and off in evaluation, where the batch
norms sit, and settings with the keys `utils.train` needs. The hidden probes (probes.py) go further; passing these is necessary, not
sufficient. Points per question add up to the question's autograded points, so the preview
`autograder check` shows is on the same scale as the grade.
"""
import torch
from torch import nn

from autograder.grading.probes import equal, probe

REQUIRED_SETTINGS = ("batch_size", "epochs", "lr")


def _images(count: int = 3):
    return torch.rand(count, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _settings_keys(settings) -> list[str]:
    """The required keys present in a settings dict (all three when it is right)."""
    return sorted(key for key in REQUIRED_SETTINGS if key in settings)


@probe("Q2", points=1, compare=equal(), hint="A 784-200-200-10 network has 199,210 parameters.")
def mlp_parameter_count(module, rng):
    return _count(module.MLP())


@probe("Q2", points=2, compare=equal(),
       hint="forward must turn images (N, 1, 28, 28) and flat vectors (N, 784) into scores (N, 10).")
def mlp_output_shapes(module, rng):
    mlp, images = module.MLP(), _images()
    return {"images": list(mlp(images).shape), "flat vectors": list(mlp(images.flatten(1)).shape)}


@probe("Q2", points=1, compare=equal(),
       hint="MLP returns probabilities (every row of its output is non-negative and sums to 1): forward must "
            "return the raw scores z, because the loss utils.train uses applies the softmax itself, and a "
            "second softmax flattens the scores and the gradient of Q1c.")
def mlp_returns_raw_scores(module, rng):
    with torch.no_grad():
        output = module.MLP()(_images(8))
    looks_like_probabilities = bool((output >= 0).all() and torch.allclose(output.sum(dim=1), torch.ones(8)))
    return {"the rows of the output are probabilities": looks_like_probabilities}


@probe("Q2", points=1, compare=equal(), hint="mlp_settings() must give epochs, lr and batch_size.")
def mlp_settings_keys(module, rng):
    return _settings_keys(module.mlp_settings())


@probe("Q3a", points=3, compare=equal(), hint="The specified CNN has 134,520 parameters.")
def cnn_parameter_count(module, rng):
    return _count(module.CNN())


@probe("Q3a", points=2, compare=equal(), hint="forward must turn images (N, 1, 28, 28) into scores (N, 10).")
def cnn_output_shape(module, rng):
    return list(module.CNN()(_images()).shape)


@probe("Q3c", points=1, compare=equal(), hint="Dropout adds no parameters: RegularisedCNN has 134,520 like CNN.")
def regularised_parameter_count(module, rng):
    return _count(module.RegularisedCNN())


@probe("Q3c", points=2, compare=equal(),
       hint="Dropout must be off in evaluation mode (two passes agree) and random in training mode.")
def dropout_modes(module, rng):
    model, images = module.RegularisedCNN(), _images(8)
    with torch.no_grad():
        model.eval()
        eval_agree = bool(torch.equal(model(images), model(images)))
        model.train()
        train_differ = not torch.equal(model(images), model(images))
    return {"two evaluation passes agree": eval_agree, "two training passes differ": train_differ}


@probe("Q3c", points=2, compare=equal(), hint="regularised_settings() needs epochs, lr, batch_size and a positive weight_decay.")
def regularised_settings_keys(module, rng):
    settings = module.regularised_settings()
    return {"keys": _settings_keys(settings), "positive weight decay": bool(settings.get("weight_decay", 0) > 0)}


@probe("Q3d", points=2, compare=equal(),
       hint="Each batch norm must come right after its ReLU: one that gets negative inputs sits before a ReLU, and "
            "one that sees 5x5 images sits after the max-pooling instead of before it.")
def batchnorm_placement(module, rng):
    """What the batch norm modules (nn.BatchNorm1d/2d, if the network uses them) are given: never a negative
    number after a ReLU, and images of 25x25 and 11x11 (before the pooling). Vacuous without such modules."""
    inputs = []
    model = module.BatchNormCNN()
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    hooks = [m.register_forward_hook(lambda m, given, output: inputs.append(given[0].detach())) for m in norms]
    with torch.no_grad():
        model(torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0)))
    for hook in hooks:
        hook.remove()
    sizes = [list(x.shape[2:]) for x in inputs if x.dim() == 4]
    return {"every batch norm input is non-negative": all(bool((x >= 0).all()) for x in inputs),
            "the 2-d batch norms come before the pooling": not sizes or sizes == [[25, 25], [11, 11]]}


@probe("Q3d", points=1, compare=equal(), hint="BatchNormCNN has 135,100 parameters.")
def batchnorm_parameter_count(module, rng):
    return _count(module.BatchNormCNN())


@probe("Q3d", points=1, compare=equal(), hint="forward must turn images (N, 1, 28, 28) into scores (N, 10).")
def batchnorm_output_shape(module, rng):
    return list(module.BatchNormCNN()(_images()).shape)


@probe("Q3d", points=1, compare=equal(), hint="batchnorm_settings() must give epochs, lr and batch_size.")
def batchnorm_settings_keys(module, rng):
    return _settings_keys(module.batchnorm_settings())
