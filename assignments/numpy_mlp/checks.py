"""Visible checks of the numpy_mlp assignment, which a student runs with `autograder check`.

They repeat what the notebook's visible test cells ask, one check per method, on the same small
inputs: values compared with the reference's (stored in the release's check/expected.json). The
hidden probes (probes.py) try other shapes, scales and seeds; passing these is necessary, not
sufficient. Points per question add up to the question's autograded points, so the preview
`autograder check` shows is on the same scale as the grade.
"""
import numpy as np

from autograder.grading.probes import allclose, probe

CLOSE = allclose(rtol=1e-6, atol=1e-9)
Z = np.array([[-1000.0, -2.0, 0.0], [0.5, 3.0, 1000.0]])
ZEROS_AND_SIGNS = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]])


def _ones(d0, d1):
    return np.ones((d0, d1))


def _activation(module, name, z):
    activation = getattr(module, name)()
    output = np.array(activation.forward(z.copy()), dtype=float)
    return {"output": output, "state": np.array(activation.state, dtype=float),
            "derivative": np.array(activation.derivative(), dtype=float)}


@probe("Q1a", points=4, compare=CLOSE, hint="Sigmoid: 1 / (1 + exp(-z)) without overflow, kept in self.state; "
                                            "derivative s (1 - s).")
def sigmoid_small_and_large(module, rng):
    return _activation(module, "Sigmoid", Z)


@probe("Q1b", points=4, compare=CLOSE, hint="Tanh: tanh(z), kept in self.state; derivative 1 - tanh(z)^2.")
def tanh_values(module, rng):
    return _activation(module, "Tanh", ZEROS_AND_SIGNS)


@probe("Q1c", points=4, compare=CLOSE, hint="ReLU: max(z, 0), kept in self.state; derivative 1 for z >= 0, else 0.")
def relu_values(module, rng):
    return _activation(module, "ReLU", ZEROS_AND_SIGNS)


@probe("Q2", points=4, compare=CLOSE, hint="SoftmaxCrossEntropy: one loss per sample, finite for scores of +-1000 "
                                           "(LogSumExp); derivative softmax(x) - y.")
def loss_values(module, rng):
    values = {}
    for name, scores in (("equal scores", np.zeros((2, 10))),
                         ("scores of +-1000", np.array([[1000.0, -1000.0] + [0.0] * 8, [-1000.0, 1000.0] + [0.0] * 8]))):
        loss = module.SoftmaxCrossEntropy()
        values[name] = {"loss": np.array(loss.forward(scores, np.eye(10)[[0, 0]]), dtype=float),
                        "derivative": np.array(loss.derivative(), dtype=float)}
    return values


@probe("Q3a", points=8, compare=CLOSE, hint="BatchNorm in training: batch statistics (variance dividing by m), "
                                             "running statistics with alpha, backward by the equations of Q3.")
def batchnorm_training(module, rng):
    x = 3.0 + 2.0 * np.random.default_rng(0).normal(size=(64, 4))
    layer = module.BatchNorm(4)
    output = np.array(layer.forward(x), dtype=float)
    upstream = np.linspace(-1, 1, 256).reshape(64, 4)
    return {"output": output, "running_mean": np.ravel(layer.running_mean), "running_var": np.ravel(layer.running_var),
            "dx": np.array(layer.backward(upstream), dtype=float), "dbeta": np.ravel(layer.dbeta),
            "dgamma": np.ravel(layer.dgamma)}


@probe("Q3b", points=4, compare=CLOSE, hint="BatchNorm in inference: the running statistics, unchanged.")
def batchnorm_inference(module, rng):
    layer = module.BatchNorm(2)
    layer.running_mean, layer.running_var = np.array([[1.0, -2.0]]), np.array([[4.0, 0.25]])
    return {"output": np.array(layer.forward(np.array([[3.0, -2.0]]), eval=True), dtype=float),
            "running_mean": np.ravel(layer.running_mean)}


def _small_mlp(module, hiddens, activations, momentum=0.0):
    return module.MLP(3, 2, hiddens, [getattr(module, name)() for name in activations], _ones,
                      lambda d: np.zeros(d), module.SoftmaxCrossEntropy(), 0.1, momentum=momentum)


def _one_step(mlp):
    x, labels = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]]), np.eye(2)[[0, 1]]
    output = np.array(mlp.forward(x), dtype=float)
    mlp.backward(labels)
    values = {"output": output, "dW[0]": np.array(mlp.dW[0], dtype=float)}
    mlp.step()
    return {**values, "W[0] after a step": np.array(mlp.W[0], dtype=float)}


@probe("Q5a", points=9, compare=CLOSE, hint="A linear MLP: forward x @ W + b, dW of the mean loss, step W - lr dW.")
def linear_mlp(module, rng):
    return _one_step(_small_mlp(module, [], ["Identity"]))


@probe("Q5b", points=40, compare=CLOSE, hint="An MLP with hidden layers: forward, dW of the mean loss, step.")
def hidden_mlp(module, rng):
    return _one_step(_small_mlp(module, [4], ["Sigmoid", "Identity"]))


@probe("Q5c", points=10, compare=CLOSE, hint="Momentum: W_momentum = mu W_momentum - lr dW, W = W + W_momentum.")
def momentum_two_steps(module, rng):
    mlp = _small_mlp(module, [], ["Identity"], momentum=0.9)
    for _ in range(2):
        mlp.dW, mlp.db = [np.full((3, 2), 0.5)], [np.zeros(2)]
        mlp.step()
    return {"W[0]": np.array(mlp.W[0], dtype=float), "W_momentum[0]": np.array(mlp.W_momentum[0], dtype=float)}


@probe("Q6a", points=6, compare=CLOSE, hint="get_training_stats returns four arrays of shape (nepochs,).")
def training_stats_shapes(module, rng):
    x = np.random.default_rng(3).normal(size=(40, 3))
    labels = np.arange(40) % 2
    data = ((x[:30], labels[:30]), (x[30:], labels[30:]), (x[30:], labels[30:]))
    stats = module.get_training_stats(_small_mlp(module, [], ["Identity"]), data, 4, 10)
    return [list(np.shape(value)) for value in stats]


@probe("Q3c", points=3, compare=CLOSE, hint="An MLP with a batch norm layer: forward in training and evaluation mode.")
def mlp_with_batchnorm(module, rng):
    mlp = module.MLP(3, 2, [4], [module.Sigmoid(), module.Identity()], _ones, lambda d: np.zeros(d),
                     module.SoftmaxCrossEntropy(), 0.1, num_bn_layers=1)
    x = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5], [0.0, 2.0, 1.0]])
    training = np.array(mlp.forward(x), dtype=float)
    mlp.eval()
    return {"output in training mode": training, "output in evaluation mode": np.array(mlp.forward(x), dtype=float)}
