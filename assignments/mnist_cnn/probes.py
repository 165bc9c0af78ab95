"""Hidden probes of the mnist_cnn assignment: what the grader asks of each student's module.

Each probe builds a student's class with no arguments and returns plain values, which the parent
compares with the reference solution's (or checks against a property). The probes look at
structure and behaviour, never at the hyperparameter values a student is free to choose:

- parameter counts and output shapes;
- the order of the layers a forward pass actually runs, read from the torch functions it calls
  (so `nn.ReLU()`, `F.relu` and `x.relu()` all count), and where the ReLUs sit;
- the function the network computes: every parameter and buffer is overwritten with the same
  deterministic values, in the order the forward pass first reaches each module, so the student's
  network and the reference give the same scores only if they compute the same function
  (dropout placement does not matter in evaluation mode, where it is off);
- dropout: present, off in evaluation mode, random in training mode;
- batch norm: three of the right kinds and sizes, each directly after a ReLU;
- weight decay: one step of `utils.train` with the student's settings and the loss switched off
  must move every weight towards zero, which only the optimiser's weight decay can do;
- each settings function gives `utils.train` arguments it accepts and trains with.

Points per question add up to the autograded points in grading.toml (Q2, Q3a, Q3c, Q3d: 5 each).
Only the standard library and numpy may run at import time: the parent reads this file without
torch (see autograder.probes).
"""
import math

import torch
from torch import nn

import utils
from autograder.probes import allclose, check, equal, probe

BATCH = 4  # images per probe batch; more than 1 so that batch norm can train
FILL_SEED = 20241029  # seeds the deterministic weights and inputs; independent of the job's seed
INPUT_SEED = 559

# ---------------------------------------------------------------------------------------- inputs


def _images(count: int = BATCH):
    """Fixed random images in [0, 1], shape (count, 1, 28, 28), the same in every process."""
    generator = torch.Generator().manual_seed(INPUT_SEED)
    return torch.rand(count, 1, 28, 28, generator=generator)


def _labels(count: int = BATCH):
    return torch.arange(count) % 10


# ---------------------------------------------------------------------------------------- tracing

_RELU_NAMES = {"relu", "relu_"}
_SOFTMAX_NAMES = {"softmax", "log_softmax", "softmin"}
# Other activations are recorded by name, so a network that uses one in place of a ReLU shows it.
_OTHER_ACTIVATIONS = {"sigmoid", "sigmoid_", "tanh", "tanh_", "leaky_relu", "leaky_relu_", "elu", "elu_",
                      "selu", "celu", "gelu", "silu", "mish", "hardtanh", "relu6", "softplus", "prelu"}


def _argument(args, kwargs, position, name, default):
    if name in kwargs:
        return kwargs[name]
    return args[position] if len(args) > position else default


def _size(value) -> str:
    """'4x4' for a 2-D size given as an int or a pair."""
    pair = (value, value) if isinstance(value, int) else tuple(value)
    return f"{pair[0]}x{pair[1]}"


def _single(value) -> str:
    """'2' for a stride of 2 or (2, 2); '(1, 2)' for an uneven one."""
    pair = (value, value) if isinstance(value, int) else tuple(value)
    return str(pair[0]) if pair[0] == pair[1] else str(pair)


def _layer(name: str, args, kwargs) -> dict | None:
    """One recorded layer {"kind", "text", ...} for a torch function call, or None for plumbing
    (reshapes, arithmetic, bookkeeping) that does not change the architecture."""
    if name == "conv2d":
        weight = args[1]
        out_channels, in_channels = weight.shape[:2]
        text = (f"conv {in_channels}->{out_channels} {_size(tuple(weight.shape[2:]))} "
                f"stride {_single(_argument(args, kwargs, 3, 'stride', 1))}")
        padding = _argument(args, kwargs, 4, "padding", 0)
        if padding not in (0, (0, 0), "valid"):
            text += f" padding {padding if isinstance(padding, str) else _single(padding)}"
        return {"kind": "conv", "text": text}
    if name == "linear":
        out_features, in_features = args[1].shape
        return {"kind": "linear", "text": f"linear {in_features}->{out_features}"}
    if "max_pool2d" in name:
        return {"kind": "max-pool", "text": f"max-pool {_size(_argument(args, kwargs, 1, 'kernel_size', None))}"}
    if name == "batch_norm":
        inputs = args[0]
        dimension = "2d" if inputs.dim() == 4 else "1d"
        return {"kind": "batchnorm", "text": f"batchnorm{dimension}({inputs.shape[1]})"}
    if "dropout" in name:
        return {"kind": "dropout", "text": "dropout", "p": float(_argument(args, kwargs, 1, "p", 0.5))}
    if name in _RELU_NAMES:
        return {"kind": "relu", "text": "relu"}
    if name in _SOFTMAX_NAMES:
        return {"kind": "softmax", "text": name}
    if name in _OTHER_ACTIVATIONS:
        return {"kind": name.rstrip("_"), "text": name.rstrip("_")}
    return None


def _trace(model, images) -> list[dict]:
    """The layers one forward pass of ``model`` on ``images`` runs, in order (training mode)."""
    from torch.overrides import TorchFunctionMode  # torch exists only in the child

    class LayerRecorder(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.layers = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            layer = _layer(getattr(func, "__name__", ""), args, kwargs)
            if layer is not None:
                self.layers.append(layer)
            return func(*args, **kwargs)

    model.train()
    with LayerRecorder() as recorder:
        model(images)
    return recorder.layers


def _architecture(layers: list[dict]) -> dict:
    """{"layers": the weighted and pooling layers in order, "relus": where the activations sit}.

    A max-pool directly before a ReLU is read as after it: the two commute, so either order is
    the architecture asked for. Dropout and batch norm are left out of both (probed separately).
    """
    kinds = [layer["kind"] for layer in layers if layer["kind"] not in ("dropout", "batchnorm")]
    for i in range(len(kinds) - 1):
        if kinds[i] == "max-pool" and kinds[i + 1] == "relu":
            kinds[i], kinds[i + 1] = "relu", "max-pool"
    shaped = [layer["text"] for layer in layers if layer["kind"] in ("conv", "linear", "max-pool")]
    return {"layers": " | ".join(shaped), "relus": " ".join(kinds)}


# ------------------------------------------------------------------------ deterministic weights


def _modules_in_call_order(model, images) -> list:
    """The modules holding parameters or buffers, in the order a forward pass first reaches them;
    modules the pass never reaches come last, in definition order."""
    reached = []

    def note(module, _inputs):
        if not any(module is seen for seen in reached):
            reached.append(module)

    hooks = [module.register_forward_pre_hook(note) for module in model.modules()]
    try:
        model.eval()
        with torch.no_grad():
            model(images)
    finally:
        for hook in hooks:
            hook.remove()
    ordered = reached + [m for m in model.modules() if not any(m is seen for seen in reached)]
    return [m for m in ordered if list(m.parameters(recurse=False)) or list(m.buffers(recurse=False))]


def _deterministic(name: str, shape, generator):
    """Values for a parameter or buffer called ``name`` (its last dotted part) of ``shape``."""
    uniform = torch.rand(shape, generator=generator)
    if name == "running_var" or (name == "weight" and len(shape) == 1):  # batch norm's variance and scale
        return 0.5 + uniform
    if len(shape) >= 2:  # weights: the usual 1/sqrt(fan-in) range keeps activations of order one
        fan_in = math.prod(shape[1:])
        return (2 * uniform - 1) / math.sqrt(fan_in)
    return uniform - 0.5  # biases, batch norm shifts and running means


def _fill_deterministically(model, images) -> None:
    """Overwrite every floating-point parameter and buffer of ``model`` with values that depend
    only on the order the forward pass reaches the modules and on the tensors' names and shapes."""
    generator = torch.Generator().manual_seed(FILL_SEED)
    with torch.no_grad():
        for module in _modules_in_call_order(model, images):
            tensors = sorted([*module.named_parameters(recurse=False), *module.named_buffers(recurse=False)],
                             key=lambda item: item[0])
            for name, tensor in tensors:
                if tensor.is_floating_point():
                    tensor.copy_(_deterministic(name, tuple(tensor.shape), generator))


def _scores_with_fixed_weights(model):
    """The model's evaluation-mode scores for the fixed images, after deterministic filling."""
    images = _images()
    _fill_deterministically(model, images)
    model.eval()
    with torch.no_grad():
        return model(images)


# ---------------------------------------------------------------------------------- settings

_REQUIRED_SETTINGS = ("epochs", "lr", "batch_size")


def _settings_problems(settings) -> list[str]:
    """What is wrong with a settings dict for ``utils.train``; empty when it trains a small model."""
    if not isinstance(settings, dict):
        return [f"the settings function must return a dict, not {type(settings).__name__}"]
    problems = [f'"{key}" is missing' for key in _REQUIRED_SETTINGS if key not in settings]
    for key in ("epochs", "batch_size"):
        value = settings.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(f'"{key}" must be a whole number of at least 1')
    lr = settings.get("lr", 1.0)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
        problems.append('"lr" must be a positive number')
    if problems:
        return problems
    stand_in = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    try:
        history = utils.train(stand_in, (_images(8), _labels(8)), **{**settings, "epochs": 1, "progress": False})
    except Exception as error:
        return [f"utils.train rejects these settings ({type(error).__name__}: {str(error)[:200]})"]
    if not all(math.isfinite(loss) for loss in history["loss"]):
        return ["one epoch with these settings gives a loss that is not finite"]
    return []


def _settings_usable(problems) -> tuple[float, str]:
    return (1.0, "") if not problems else (0.0, "; ".join(problems))


# ------------------------------------------------------------------------------------ Q2: MLP


@probe("Q2", points=1, compare=equal(),
       hint="A 784-200-200-10 network with biases has 199,210 parameters.")
def mlp_parameter_count(module, rng):
    return sum(p.numel() for p in module.MLP().parameters())


@probe("Q2", points=1, compare=equal(),
       hint="forward must turn images (N, 1, 28, 28) and flat vectors (N, 784) into scores (N, 10).")
def mlp_output_shapes(module, rng):
    mlp = module.MLP()
    images = _images()
    return {"images": list(mlp(images).shape), "flat vectors": list(mlp(images.reshape(BATCH, -1)).shape)}


@probe("Q2", points=1, compare=equal(),
       hint="The layers must run as linear 784->200, ReLU, linear 200->200, ReLU, linear 200->10, "
            "with no activation or softmax after the last layer.")
def mlp_layers_and_relus(module, rng):
    return _architecture(_trace(module.MLP(), _images()))


@probe("Q2", points=1, compare=allclose(rtol=1e-4, atol=1e-5),
       hint="With the same weights your MLP computes different scores from the specified network: "
            "check the flattening, the ReLUs, and that forward returns the last layer's output as it is.")
def mlp_computes_the_specified_function(module, rng):
    return _scores_with_fixed_weights(module.MLP())


@probe("Q2", points=1, compare=check(_settings_usable),
       hint="mlp_settings() must return keyword arguments utils.train accepts: epochs, lr, batch_size, "
            "and optionally optimizer and weight_decay.")
def mlp_settings_are_usable(module, rng):
    return _settings_problems(module.mlp_settings())


# ------------------------------------------------------------------------------------ Q3a: CNN


@probe("Q3a", points=1, compare=equal(),
       hint="The specified CNN has 134,520 parameters; check the strides and the size of the flattened vector.")
def cnn_parameter_count(module, rng):
    return sum(p.numel() for p in module.CNN().parameters())


@probe("Q3a", points=1, compare=equal(),
       hint="forward must turn images (N, 1, 28, 28) into scores (N, 10), for any N.")
def cnn_output_shapes(module, rng):
    cnn = module.CNN()
    return {"batch of 4": list(cnn(_images()).shape), "batch of 1": list(cnn(_images(1)).shape)}


@probe("Q3a", points=2, compare=equal(),
       hint="The layers must run as: convolution 1->20 (4x4, stride 1), ReLU, convolution 20->20 "
            "(4x4, stride 2), ReLU, 2x2 max-pool, flatten, linear to 250, ReLU, linear to 10.")
def cnn_layers_and_relus(module, rng):
    return _architecture(_trace(module.CNN(), _images()))


@probe("Q3a", points=1, compare=allclose(rtol=1e-4, atol=1e-5),
       hint="With the same weights your CNN computes different scores from the specified network: "
            "check the layer order, the flattening and that forward returns the last layer's output as it is.")
def cnn_computes_the_specified_function(module, rng):
    return _scores_with_fixed_weights(module.CNN())


# ----------------------------------------------------------------- Q3c: dropout and weight decay


def _has_dropout(probabilities) -> tuple[float, str]:
    if not probabilities:
        return 0.0, "no dropout ran in a training-mode forward pass"
    if not all(0 < p < 1 for p in probabilities):
        return 0.0, "every dropout probability must lie strictly between 0 and 1"
    return 1.0, ""


@probe("Q3c", points=1, compare=check(_has_dropout),
       hint="RegularisedCNN needs at least one dropout layer (nn.Dropout) with a probability between 0 and 1.")
def regularised_has_dropout(module, rng):
    layers = _trace(module.RegularisedCNN(), _images())
    return [layer["p"] for layer in layers if layer["kind"] == "dropout"]


@probe("Q3c", points=1, compare=equal(),
       hint="Dropout must be random in training mode and switched off in evaluation mode: use nn.Dropout "
            "modules, or F.dropout(x, p, training=self.training).")
def dropout_is_off_in_eval_mode(module, rng):
    model, images = module.RegularisedCNN(), _images()
    with torch.no_grad():
        model.eval()
        eval_agree = bool(torch.equal(model(images), model(images)))
        model.train()
        train_differ = not torch.equal(model(images), model(images))
    return {"two evaluation passes agree": eval_agree, "two training passes differ": train_differ}


@probe("Q3c", points=1, compare=allclose(rtol=1e-4, atol=1e-5),
       hint="In evaluation mode RegularisedCNN must compute exactly what the CNN of Q3a computes: "
            "keep every layer of Q3a and only add dropout.")
def regularised_matches_the_cnn_in_eval_mode(module, rng):
    return _scores_with_fixed_weights(module.RegularisedCNN())


def _decays(result) -> tuple[float, str]:
    if not result["weight_decay"] > 0:
        return 0.0, "regularised_settings() has no positive weight_decay"
    if result["towards zero"] < 0.99:
        return 0.0, (f"with the loss switched off, one step moved only {100 * result['towards zero']:.0f}% "
                     "of the weights towards zero")
    return 1.0, ""


def _no_loss(scores, labels):
    """A loss that is always zero but still depends on the scores, so backward runs."""
    return (scores * 0).sum()


@probe("Q3c", points=1, compare=check(_decays),
       hint="Weight decay belongs to the optimiser: put a positive \"weight_decay\" in regularised_settings(), "
            "which utils.train passes on.")
def weight_decay_pulls_weights_to_zero(module, rng):
    """One utils.train step whose loss is always zero: only weight decay can move the weights, and
    whatever the optimiser, it moves each of them towards zero."""
    settings = module.regularised_settings()
    model = nn.Sequential(nn.Conv2d(1, 4, 4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 25 * 25, 10))
    before = [p.detach().clone() for p in model.parameters() if p.dim() >= 2]
    utils.train(model, (_images(), _labels()),
                **{**settings, "epochs": 1, "batch_size": BATCH, "loss_fn": _no_loss, "progress": False})
    after = [p.detach() for p in model.parameters() if p.dim() >= 2]
    moved = torch.cat([((a - b) * b < 0).flatten() for a, b in zip(after, before)])
    return {"weight_decay": float(settings.get("weight_decay", 0.0)), "towards zero": moved.float().mean().item()}


@probe("Q3c", points=1, compare=check(_settings_usable),
       hint="regularised_settings() must return keyword arguments utils.train accepts.")
def regularised_settings_are_usable(module, rng):
    return _settings_problems(module.regularised_settings())


# ------------------------------------------------------------------------- Q3d: batch normalisation


@probe("Q3d", points=1, compare=equal(),
       hint="BatchNormCNN needs three batch norms, in this order: BatchNorm2d(20), BatchNorm2d(20), BatchNorm1d(250).")
def batchnorm_kinds_and_sizes(module, rng):
    layers = _trace(module.BatchNormCNN(), _images())
    return " ".join(layer["text"] for layer in layers if layer["kind"] == "batchnorm")


@probe("Q3d", points=1, compare=equal(),
       hint="Each of the three ReLUs must be followed directly by its batch norm (dropout may sit between), "
            "and a batch norm may appear nowhere else.")
def batchnorm_after_every_relu(module, rng):
    kinds = [layer["kind"] for layer in _trace(module.BatchNormCNN(), _images()) if layer["kind"] != "dropout"]
    followed = [kinds[i + 1] if i + 1 < len(kinds) else None for i, kind in enumerate(kinds) if kind == "relu"]
    preceded = [kinds[i - 1] if i > 0 else None for i, kind in enumerate(kinds) if kind == "batchnorm"]
    return {"every ReLU is followed by a batch norm": bool(followed) and all(k == "batchnorm" for k in followed),
            "every batch norm follows a ReLU": bool(preceded) and all(k == "relu" for k in preceded)}


@probe("Q3d", points=1, compare=equal(),
       hint="The CNN of Q3a plus BatchNorm2d(20), BatchNorm2d(20) and BatchNorm1d(250) has 135,100 parameters.")
def batchnorm_parameter_count(module, rng):
    return sum(p.numel() for p in module.BatchNormCNN().parameters())


@probe("Q3d", points=1, compare=allclose(rtol=1e-4, atol=1e-5),
       hint="With the same weights and running statistics, BatchNormCNN computes different scores from "
            "the specified network: keep the layers of Q3a and put each batch norm right after its ReLU.")
def batchnorm_computes_the_specified_function(module, rng):
    return _scores_with_fixed_weights(module.BatchNormCNN())


@probe("Q3d", points=1, compare=check(_settings_usable),
       hint="batchnorm_settings() must return keyword arguments utils.train accepts.")
def batchnorm_settings_are_usable(module, rng):
    return _settings_problems(module.batchnorm_settings())
