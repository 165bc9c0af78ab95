"""autograder.grading.trusted: known weights, and reading what a network computed, whatever it claims."""
import numpy as np
import pytest
import torch
from torch import nn

from autograder.grading import trusted


class Ordered(nn.Module):
    def __init__(self):
        super().__init__()
        self.first, self.second = nn.Linear(3, 4), nn.Linear(4, 2)

    def forward(self, x):
        return self.second(torch.relu(self.first(x)))


class Reordered(nn.Module):
    """Ordered, with other names, registered in reverse and nested."""

    def __init__(self):
        super().__init__()
        self.head = nn.Sequential(nn.Linear(4, 2))
        self.body = nn.ModuleList([nn.Linear(3, 4)])

    def forward(self, x):
        return self.head(self.body[0](x).relu())


class Liar(Ordered):
    """Ordered, hiding its parameters and submodules and claiming to be in evaluation mode."""

    def parameters(self, recurse=True):
        return iter([nn.Parameter(torch.zeros(1))])

    def modules(self):
        return iter([self])

    def train(self, mode=True):
        return self

    def __getattribute__(self, name):
        if name in ("training", "_parameters", "_modules"):
            return {} if name != "training" else False
        return super().__getattribute__(name)


def test_shape_seeded_values_depend_on_the_shape_only():
    assert torch.equal(trusted.shape_seeded((4, 3)), trusted.shape_seeded((4, 3)))
    assert not torch.equal(trusted.shape_seeded((3, 4)).T, trusted.shape_seeded((4, 3)))
    vector = trusted.shape_seeded((5,))
    assert ((vector >= 0.5) & (vector < 1.5)).all()
    positive = trusted.shape_seeded((6, 10), row_sum=0.1)
    assert (positive >= 0).all() and (positive.sum(dim=1) <= 0.1).all()


class RightMultiplied(nn.Module):
    """Ordered's function with its weights stored (inputs, outputs) and applied as x @ W."""

    def __init__(self):
        super().__init__()
        self.w1, self.b1 = nn.Parameter(torch.zeros(3, 4)), nn.Parameter(torch.zeros(4))
        self.w2, self.b2 = nn.Parameter(torch.zeros(4, 2)), nn.Parameter(torch.zeros(2))

    def forward(self, x):
        return torch.relu(x @ self.w1 + self.b1) @ self.w2 + self.b2


def test_orientation_free_weights_make_the_storage_layout_irrelevant():
    square = trusted.shape_seeded((5, 5), orientation_free=True)
    assert torch.equal(square, square.T)
    assert torch.equal(trusted.shape_seeded((3, 4), orientation_free=True).T,
                       trusted.shape_seeded((4, 3), orientation_free=True))
    x, targets = torch.randn(5, 3), torch.tensor([0, 1, 1, 0, 1])
    nets = (Ordered(), RightMultiplied())
    for net in nets:
        trusted.load_shape_seeded(net, orientation_free=True)
    assert np.allclose(*(trusted.scores(net, x) for net in nets))
    steps = [trusted.gradients_and_one_step(net, x, targets, 0.1, orientation_free=True) for net in nets]
    assert all(np.allclose(steps[0][key], steps[1][key]) for key in steps[0])
    # without it the layouts differ, as before
    for net in nets:
        trusted.load_shape_seeded(net)
    assert not np.allclose(*(trusted.scores(net, x) for net in nets))


def test_known_weights_make_layer_names_and_order_irrelevant():
    x = torch.randn(5, 3)
    ordered, reordered = Ordered(), Reordered()
    for net in (ordered, reordered):
        trusted.load_shape_seeded(net)
    assert np.array_equal(trusted.scores(ordered, x), trusted.scores(reordered, x))
    step = [trusted.gradients_and_one_step(net, x, torch.tensor([0, 1, 1, 0, 1]), 0.1) for net in (ordered, reordered)]
    assert all(np.allclose(step[0][key], step[1][key]) for key in step[0])


def test_tensors_are_found_whatever_the_class_claims():
    liar, honest = Liar(), Ordered()
    assert [tuple(p.shape) for p in trusted.parameters(liar)] == [(4, 3), (4,), (2, 4), (2,)]
    assert trusted.parameter_count(liar) == trusted.parameter_count(honest) == 26
    trusted.load_shape_seeded(liar)
    trusted.load_shape_seeded(honest)
    x = torch.randn(2, 3)
    assert np.array_equal(trusted.scores(liar, x), trusted.scores(honest, x))
    trusted.set_training(liar, False)
    assert [object.__getattribute__(m, "__dict__")["training"] for m in trusted.modules(liar)] == [False] * 3


def test_one_step_is_plain_gradient_descent_on_the_cross_entropy():
    layer = nn.Linear(3, 2)
    trusted.load_shape_seeded(layer)
    x, targets = torch.randn(4, 3), torch.tensor([0, 1, 1, 0])
    expected = nn.Linear(3, 2)
    trusted.load_shape_seeded(expected)
    nn.functional.cross_entropy(expected(x), targets).backward()
    after = trusted.gradients_and_one_step(layer, x, targets, 0.5)["parameters after one step"]
    by_hand = [(p - 0.5 * p.grad).detach().numpy() for p in expected.parameters()]
    assert np.allclose(after, trusted.canonical(by_hand))


class Forged(torch.Tensor):
    """Claims to hold zeros whenever it is read."""

    def numpy(self, *args, **kwargs):
        return np.zeros(tuple(self.shape))

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("numpy", "detach", "clone"):
            return torch.zeros(args[0].shape)
        return super().__torch_function__(func, types, args, kwargs or {})


def test_plain_reads_the_real_values_and_refuses_what_is_not_a_tensor():
    forged = torch.tensor([1.0, 2.0]).as_subclass(Forged)
    assert np.array_equal(forged.numpy(), [0.0, 0.0])
    assert np.array_equal(trusted.plain(forged), [1.0, 2.0])

    class Pretender:
        __class__ = torch.Tensor
    with pytest.raises(TypeError):
        trusted.plain(Pretender())
    with pytest.raises(TypeError, match="expected a torch tensor, got list"):
        trusted.plain([1.0])
