"""More attack cells for the corpus (corpus.py): fakes built to fool structural probes, tampering
with what probes once used to observe structure, and real mistakes hidden behind an attack.

Each attack is appended as one code cell to a base notebook. The extractor drops top-level
statements, so attacks that tamper with the environment do it from a class body, which runs when the
module loads. Forgeries replace the answers wholesale (they are built on the untouched release);
tampering leaves the answers alone (it is built on both the release and the reference solution).
"""

# ---- hopfield_batchnorm ---------------------------------------------------------------------------


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
