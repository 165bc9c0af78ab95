"""Visible checks of the mnist_cnn assignment, which a student runs with `autograder check`.

They repeat what the notebook's visible test cells ask, no more: parameter counts, output shapes,
dropout on in training and off in evaluation, the three batch norms, and settings with the keys
`utils.train` needs. The hidden probes (probes.py) go further; passing these is necessary, not
sufficient. Points per question add up to the question's autograded points, so the preview
`autograder check` shows is on the same scale as the grade.
"""
import torch
from torch import nn

from autograder.probes import equal, probe

REQUIRED_SETTINGS = ("batch_size", "epochs", "lr")


def _images(count: int = 3):
    return torch.rand(count, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _settings_keys(settings) -> list[str]:
    """The required keys present in a settings dict (all three when it is right)."""
    return sorted(key for key in REQUIRED_SETTINGS if key in settings)


@probe("Q2", points=2, compare=equal(), hint="A 784-200-200-10 network has 199,210 parameters.")
def mlp_parameter_count(module, rng):
    return _count(module.MLP())


@probe("Q2", points=2, compare=equal(),
       hint="forward must turn images (N, 1, 28, 28) and flat vectors (N, 784) into scores (N, 10).")
def mlp_output_shapes(module, rng):
    mlp, images = module.MLP(), _images()
    return {"images": list(mlp(images).shape), "flat vectors": list(mlp(images.flatten(1)).shape)}


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
       hint="BatchNormCNN needs BatchNorm2d(20), BatchNorm2d(20) and BatchNorm1d(250), in that order.")
def batchnorm_modules(module, rng):
    return [f"{type(m).__name__}({m.num_features})" for m in module.BatchNormCNN().modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@probe("Q3d", points=1, compare=equal(), hint="BatchNormCNN has 135,100 parameters.")
def batchnorm_parameter_count(module, rng):
    return _count(module.BatchNormCNN())


@probe("Q3d", points=1, compare=equal(), hint="forward must turn images (N, 1, 28, 28) into scores (N, 10).")
def batchnorm_output_shape(module, rng):
    return list(module.BatchNormCNN()(_images()).shape)


@probe("Q3d", points=1, compare=equal(), hint="batchnorm_settings() must give epochs, lr and batch_size.")
def batchnorm_settings_keys(module, rng):
    return _settings_keys(module.batchnorm_settings())
