"""Attack cells for tests/test_probe_attacks.py: code a submission could add to forge a grade.

Each attack is appended as one code cell to a base notebook. The extractor drops top-level
statements, so attacks that tamper with the environment do it from a class body, which runs when the
module loads. Forgeries replace the answers wholesale (they are built on the untouched release);
tampering leaves the answers alone (it is built on both the release and the reference solution).
"""

# ---- hopfield_batchnorm ---------------------------------------------------------------------------

HOPFIELD_LAYERS_THAT_COMPUTE_NOTHING = '''
class ZeroLinear(nn.Linear):
    def forward(self, x):
        return torch.zeros(x.shape[0], self.out_features)


class PassThroughLeakyReLU(nn.LeakyReLU):
    def forward(self, x):
        return x


class BatchNorm(nn.Module):
    def __init__(self, eps=1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        return torch.zeros_like(x)


class ZeroLoss(nn.CrossEntropyLoss):
    def forward(self, scores, targets):
        return (scores * 0).sum()


def stack(input_dim, n_classes, hidden, normalise):
    layers, width = [], input_dim
    for size in hidden:
        layers += [ZeroLinear(width, size), PassThroughLeakyReLU()] + ([BatchNorm()] if normalise else [])
        width = size
    return nn.Sequential(*layers, ZeroLinear(width, n_classes))


class NormalNet(utils.NNBase):
    def __init__(self, input_dim=2, n_classes=3, hidden=(10, 10)):
        super().__init__()
        self.layers = stack(input_dim, n_classes, hidden, False)
        self.loss_fcn = ZeroLoss()

    def forward(self, x):
        return self.layers(x)


class BNNet(utils.NNBase):
    def __init__(self, input_dim=2, n_classes=3, hidden=(10, 10)):
        super().__init__()
        self.layers = stack(input_dim, n_classes, hidden, True)
        self.loss_fcn = ZeroLoss()

    def forward(self, x):
        return self.layers(x)
'''

HOPFIELD_OVERRIDDEN_LEARN_AND_LOSS = '''
class NormalNet(utils.NNBase):
    def __init__(self, input_dim=2, n_classes=3, hidden=(10, 10)):
        super().__init__()
        self.n_classes = n_classes
        self.loss_fcn = lambda scores, targets: torch.zeros(())

    def forward(self, x):
        return torch.zeros(len(x), self.n_classes, requires_grad=True)

    def learn(self, dataset, epochs=10, lr=0.1, batch_size=10, progress=True):
        return [1.0 / (epoch + 1) for epoch in range(epochs)]


class BNNet(NormalNet):
    pass
'''

HOPFIELD_LYING_PARAMETERS_AND_ATTRIBUTES = '''
class NormalNet(utils.NNBase):
    def __init__(self, input_dim=2, n_classes=3, hidden=(10, 10)):
        super().__init__()
        self.hidden_layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip((input_dim, *hidden), hidden))
        self.n_classes = n_classes

    def parameters(self, recurse=True):
        return iter([nn.Parameter(torch.zeros(3))])

    def __getattribute__(self, name):
        if name == "loss_fcn":
            return nn.MSELoss()
        if name == "training":
            return False
        return super().__getattribute__(name)

    def forward(self, x):
        return torch.randn(len(x), self.n_classes, requires_grad=True)


class BNNet(NormalNet):
    pass
'''

HOPFIELD_TENSOR_FAKING_NUMPY = '''
class Forged(torch.Tensor):
    """Claims normalised values whenever it is converted."""

    def numpy(self, *args, **kwargs):
        values = np.random.default_rng(0).normal(size=tuple(self.shape))
        return (values - values.mean(axis=0)) / values.std(axis=0)

    def detach(self):
        return self

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("numpy", "detach"):
            return args[0]
        return super().__torch_function__(func, types, args, kwargs or {})


class BatchNorm(nn.Module):
    def __init__(self, eps=1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        return (x * 0).as_subclass(Forged)
'''

HOPFIELD_DETACHED_STATISTICS = '''
class BatchNorm(nn.Module):
    def __init__(self, eps=1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        mean = x.mean(dim=0).detach()
        variance = x.var(dim=0, unbiased=False).detach()
        return (x - mean) / torch.sqrt(variance + self.eps)
'''

HOPFIELD_RANDOM_SCORES_OF_THE_RIGHT_SHAPE = '''
class BatchNorm(nn.Module):
    def __init__(self, eps=1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        values = torch.randn(x.shape, dtype=x.dtype)
        return (values - values.mean(dim=0)) / values.std(dim=0, unbiased=False) + 0 * x


class NormalNet(utils.NNBase):
    def __init__(self, input_dim=2, n_classes=3, hidden=(10, 10)):
        super().__init__()
        self.first = nn.Linear(input_dim, n_classes)
        self.loss_fcn = nn.MSELoss()

    def forward(self, x):
        return self.first(x) * 0 + torch.randn(len(x), self.first.out_features)


class BNNet(NormalNet):
    pass
'''

# Replaces what the old probes used to observe structure (torch function modes, global module
# hooks) with versions that see nothing, before the probes could use them.
TAMPER_WITH_TRACING = '''
class Tamper:
    import torch.overrides
    import torch.nn.modules.module as module_module

    class BlindMode:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *args):
            return False

    torch.overrides.TorchFunctionMode = BlindMode
    module_module.register_module_forward_hook = lambda hook: None
    module_module.register_module_forward_pre_hook = lambda hook: None
'''

# ---- mnist_cnn --------------------------------------------------------------------------------------

MNIST_LAYERS_THAT_COMPUTE_NOTHING = '''
class ZeroLinear(nn.Linear):
    def forward(self, x):
        return torch.zeros(x.shape[0], self.out_features)


class ZeroConv(nn.Conv2d):
    def forward(self, x):
        size = (x.shape[-1] - self.kernel_size[0]) // self.stride[0] + 1
        return torch.zeros(x.shape[0], self.out_channels, size, size)


class PassThroughBatchNorm2d(nn.BatchNorm2d):
    def forward(self, x):
        return x


class PassThroughBatchNorm1d(nn.BatchNorm1d):
    def forward(self, x):
        return x


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), ZeroLinear(784, 200), nn.ReLU(), ZeroLinear(200, 200), nn.ReLU(),
                                    ZeroLinear(200, 10))

    def forward(self, x):
        return self.layers(x)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(ZeroConv(1, 20, 4), nn.ReLU(), ZeroConv(20, 20, 4, stride=2), nn.ReLU(),
                                    nn.MaxPool2d(2), nn.Flatten(), ZeroLinear(500, 250), nn.ReLU(),
                                    ZeroLinear(250, 10))

    def forward(self, x):
        return self.layers(x)


class RegularisedCNN(CNN):
    def __init__(self):
        super().__init__()
        self.dropout = nn.Dropout(0.5)

    def forward(self, x):
        return self.dropout(self.layers(x))


class BatchNormCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(ZeroConv(1, 20, 4), nn.ReLU(), PassThroughBatchNorm2d(20),
                                    ZeroConv(20, 20, 4, stride=2), nn.ReLU(), PassThroughBatchNorm2d(20),
                                    nn.MaxPool2d(2), nn.Flatten(), ZeroLinear(500, 250), nn.ReLU(),
                                    PassThroughBatchNorm1d(250), ZeroLinear(250, 10))

    def forward(self, x):
        return self.layers(x)
'''

MNIST_LYING_PARAMETERS = '''
class Counted(nn.Module):
    """Registers one tensor of the asked size and reports it as its parameters; computes nothing."""
    size = 0

    def __init__(self):
        super().__init__()
        self.blob = nn.Parameter(torch.zeros(self.size))

    def parameters(self, recurse=True):
        return iter([self.blob])

    def __getattribute__(self, name):
        if name == "training":
            return False
        return super().__getattribute__(name)

    def forward(self, x):
        return torch.zeros(len(x), 10, requires_grad=True)


class MLP(Counted):
    size = 199_210


class CNN(Counted):
    size = 134_520


class RegularisedCNN(Counted):
    size = 134_520


class BatchNormCNN(Counted):
    size = 135_100
'''

MNIST_RANDOM_SCORES_OF_THE_RIGHT_SHAPE = '''
class Noise(nn.Module):
    def forward(self, x):
        return torch.randn(len(x), 10)


class MLP(Noise):
    pass


class CNN(Noise):
    pass


class RegularisedCNN(Noise):
    pass


class BatchNormCNN(Noise):
    pass
'''

MNIST_TENSOR_FAKING_NUMPY = '''
class Forged(torch.Tensor):
    def numpy(self, *args, **kwargs):
        return np.zeros(tuple(self.shape), dtype=np.float32)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("numpy", "detach", "clone"):
            return args[0]
        return super().__torch_function__(func, types, args, kwargs or {})


class Faker(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(784, 10)

    def forward(self, x):
        return self.head(x.flatten(1)).as_subclass(Forged)


class MLP(Faker):
    pass


class CNN(Faker):
    pass


class RegularisedCNN(Faker):
    pass


class BatchNormCNN(Faker):
    pass
'''

# The CNN of Q3a with noise in training mode in place of dropout: only the dropout probe may fail.
MNIST_NOISE_INSTEAD_OF_DROPOUT = '''
class RegularisedCNN(CNN):
    def forward(self, x):
        scores = super().forward(x)
        return scores + 0.1 * torch.randn_like(scores) if self.training else scores
'''

# A weight decay that compares as positive but is zero: only the weight-decay probe and the settings
# probe may fail.
MNIST_LENIENT_WEIGHT_DECAY = '''
class Lenient(float):
    def __gt__(self, other):
        return True


def regularised_settings():
    return {"epochs": 2, "lr": 0.05, "batch_size": 64, "weight_decay": Lenient(0.0)}
'''
