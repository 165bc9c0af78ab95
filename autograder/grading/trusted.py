"""Trusted torch helpers for probes: load known weights into a network, run it, and read what it
computed, without relying on anything the network's own code could override.

A probe establishes structure by behaviour: it gives the student's network and the reference's the
same weights, runs both on the same inputs, and returns outputs, gradients and the parameters after
one training step, which the parent compares. For that to hold, this module:

- gives every parameter and floating-point buffer values that depend on its SHAPE only
  (`shape_seeded`), so that two networks computing the same function get the same weights however
  they name, nest or order their layers;
- finds the tensors through the instances' real dictionaries (`_parameters`, `_buffers`,
  `_modules`), never through `parameters()`, `modules()`, `__getattr__` or `__getattribute__`,
  which a class can override to hide or invent tensors;
- computes losses, gradients and updates itself, with torch functions captured when this module is
  imported, under `DisableTorchFunction` (no `__torch_function__` of a Tensor subclass or of a
  function mode applies), and reads values out the same way (`plain`).

Probes files import this module at their top, and the child runs them before the submission loads,
so the captures below are the real functions. This module uses torch, so the grading parent never
imports it: `autograder.grading.probes.load_probes` gives probes files a placeholder for it.
"""
import builtins
import hashlib
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# Functions defined below look builtins up in this private copy: a submission that patches
# builtins (isinstance, sorted, ...) after this module loaded changes nothing here.
__builtins__ = dict(builtins.__dict__)

_Tensor = torch.Tensor
_instance_dict = nn.Module.__dict__["__dict__"].__get__  # an instance's real __dict__, whatever its class overrides
_dict_values = dict.values
_no_torch_function = torch._C.DisableTorchFunction
_no_grad, _enable_grad = torch.no_grad, torch.enable_grad
_detach, _clone, _to_numpy = torch.Tensor.detach, torch.Tensor.clone, torch.Tensor.numpy
_copy, _sub, _size = torch.Tensor.copy_, torch.Tensor.sub_, torch.Tensor.size
_is_floating_point, _requires_grad = torch.Tensor.is_floating_point, torch.Tensor.requires_grad_
_mul, _sum, _zeros_like = torch.mul, torch.sum, torch.zeros_like
_rand, _Generator, _float64 = torch.rand, torch.Generator, torch.float64
_autograd_grad = torch.autograd.grad
_from_numpy = torch.from_numpy
_cross_entropy = F.cross_entropy
_sha256 = hashlib.sha256
_module_call = nn.Module.__call__



# ------------------------------------------------------------------------------ reading tensors


def plain(tensor) -> np.ndarray:
    """A tensor's values as a new numpy array of the same shape, read with torch's own functions
    (a Tensor subclass cannot fake them). Raises TypeError for anything that is not a tensor."""
    with _no_torch_function():
        if not isinstance(tensor, _Tensor):
            raise TypeError(f"expected a torch tensor, got {type(tensor).__name__}")
        return _to_numpy(_clone(_detach(tensor)), force=True)


def modules(net) -> list:
    """`net` and every module it holds, each once, read from the instances' real dictionaries."""
    found, pending = [], [net]
    while pending:
        module = pending.pop(0)
        if any(module is seen for seen in found):
            continue
        found.append(module)
        pending += [child for child in _dict_values(_instance_dict(module)["_modules"]) if child is not None]
    return found


def _tensors(net, kind: str) -> list:
    """The tensors registered as `kind` ("_parameters" or "_buffers") anywhere in `net`, each once."""
    found = []
    for module in modules(net):
        for tensor in _dict_values(_instance_dict(module)[kind]):
            if isinstance(tensor, _Tensor) and not any(tensor is seen for seen in found):
                found.append(tensor)
    return found


def parameters(net) -> list:
    """The parameter tensors of `net`, each once, in the order of `modules`."""
    return _tensors(net, "_parameters")


def parameter_count(net) -> int:
    """How many numbers the parameters of `net` hold."""
    with _no_torch_function():
        return sum(math.prod(tuple(_size(p))) for p in parameters(net))


def set_training(net, training: bool) -> None:
    """Switch every module of `net` to training or evaluation mode (what `net.train()` does, without
    calling a `train` a class may override)."""
    for module in modules(net):
        _instance_dict(module)["training"] = training


# ------------------------------------------------------------------------------ known weights


def shape_seeded(shape: tuple, row_sum: float | None = None, orientation_free: bool = False):
    """Float64 values of `shape` that depend on the shape only.

    Weights (2 dimensions or more) are uniform in +-1/sqrt(fan-in), which keeps activations of order
    one; vectors (biases, batch norm scales, shifts and running statistics) are uniform in [0.5, 1.5),
    positive so that a running variance is valid. With `row_sum`, weights are non-negative and each
    row sums to at most `row_sum`: on non-negative inputs every pre-activation is then positive, so
    ReLU-like activations pass everything and only the layers and their sizes decide the output.

    With `orientation_free`, a matrix (2 dimensions) gets the transpose of the values of the
    transposed shape, and a square one is symmetric: a layer that stores its weights as (inputs,
    outputs) and multiplies on the right (``x @ W``) then computes what ``nn.Linear``'s (outputs,
    inputs) computes. Its fan-in is its longer side.
    """
    if orientation_free and len(shape) == 2:
        rows, columns = shape
        if rows > columns:
            return shape_seeded((columns, rows), row_sum, True).T.contiguous()
        if rows == columns:
            square = shape_seeded(shape, row_sum)
            return (square + square.T) / 2
    seed = int.from_bytes(_sha256(repr(tuple(shape)).encode()).digest()[:8], "little")
    uniform = _rand(shape, generator=_Generator().manual_seed(seed), dtype=_float64)
    if len(shape) < 2:
        return 0.5 + uniform
    fan_in = math.prod(shape[1:])
    return (2 * uniform - 1) / math.sqrt(fan_in) if row_sum is None else uniform * (row_sum / fan_in)


def load_shape_seeded(net, row_sum: float | None = None, orientation_free: bool = False) -> None:
    """Overwrite every floating-point parameter and buffer of `net` with `shape_seeded` values."""
    with _no_grad(), _no_torch_function():
        for tensor in _tensors(net, "_parameters") + _tensors(net, "_buffers"):
            if _is_floating_point(tensor):
                _copy(tensor, shape_seeded(tuple(_size(tensor)), row_sum, orientation_free))


def buffer_values(net) -> np.ndarray:
    """The floating-point buffers of `net` (batch norm running statistics), `canonical`."""
    with _no_torch_function():
        return canonical([plain(b) for b in _tensors(net, "_buffers") if _is_floating_point(b)])


def canonical(arrays: list, orientation_free: bool = False) -> np.ndarray:
    """The values of `arrays` in one flat array, in an order that does not depend on how a network
    registered its tensors: by shape, then by sum (tensors of one shape start equal, and their
    gradients differ). One array, so that it is judged as a whole: its parts mean nothing alone.

    With `orientation_free` (networks loaded with it, see `shape_seeded`), a matrix and its transpose
    give the same values: a non-square matrix is read with its shorter side first, a square one as
    its symmetric part and the size of its antisymmetric part."""
    if orientation_free:
        arrays = [_oriented(array) for array in arrays]
    ordered = sorted(arrays, key=lambda array: (array.shape, float(array.sum())))
    return np.concatenate([array.ravel() for array in ordered]) if ordered else np.zeros(0)


def _oriented(array: np.ndarray) -> np.ndarray:
    if array.ndim != 2:
        return array
    rows, columns = array.shape
    if rows > columns:
        return np.ascontiguousarray(array.T)
    if rows == columns:
        return np.concatenate([(array + array.T) / 2, np.abs(array - array.T) / 2])
    return array


# ------------------------------------------------------------------------------ running a network


def scores(net, inputs) -> np.ndarray:
    """The output of `net` on `inputs`, without gradients, in the mode `net` is in."""
    with _no_grad():
        return plain(_module_call(net, inputs))


def parameter_gradients(net, inputs, targets) -> tuple[np.ndarray, list]:
    """(gradient of the input, [gradient of each parameter in `parameters` order, None for one the
    output does not depend on]) of the mean cross-entropy of `net(inputs)` against `targets`
    (class indices (B,) or class probabilities (B, C)), computed here, not with the net's own loss."""
    inputs = _requires_grad(_clone(_detach(inputs)), True)
    tensors = parameters(net)
    with _enable_grad():
        outputs = _module_call(net, inputs)
        with _no_torch_function():
            loss = _cross_entropy(outputs, targets)
            gradients = _autograd_grad(loss, [inputs, *tensors], allow_unused=True)
    return plain(gradients[0]), [None if g is None else plain(g) for g in gradients[1:]]


def input_gradient(outputs, inputs, upstream) -> np.ndarray:
    """The gradient of sum(outputs * upstream) with respect to `inputs` (which requires grad)."""
    with _no_torch_function():
        (gradient,) = _autograd_grad(_sum(_mul(outputs, upstream)), inputs)
    return plain(gradient)


def gradients_and_one_step(net, inputs, targets, lr: float, orientation_free: bool = False) -> dict:
    """What one plain gradient-descent step on the cross-entropy, done here, gives: the gradient of
    the input and the parameters after the step (those the output depends on, `canonical`)."""
    tensors = parameters(net)
    input_gradient_, gradients = parameter_gradients(net, inputs, targets)
    after = []
    with _no_grad(), _no_torch_function():
        for tensor, gradient in zip(tensors, gradients):
            if gradient is not None:
                _sub(tensor, _from_numpy(gradient), alpha=lr)
                after.append(plain(tensor))
    return {"gradient of the input": input_gradient_,
            "parameters after one step": canonical(after, orientation_free)}


def zero_gradients(tensors: list) -> None:
    """Give each tensor a zero `.grad`: an optimiser step then moves it only by weight decay."""
    with _no_torch_function():
        for tensor in tensors:
            tensor.grad = _zeros_like(tensor)
