"""Hidden probes of the numpy_mlp assignment: what the grader asks of the student's NumPy library.

Every probe returns values the student's code computed from inputs drawn here (shapes, seeds and
scales a student cannot know), and the parent compares them with what the reference solution
computed from the same inputs (autograder.grading.probes). Tolerances are rtol 1e-4 / atol 1e-8
(`CLOSE`) unless a probe says otherwise: everything runs in double precision, where two correct
implementations agree to about 1e-12, so the tolerance only forgives the order of operations.

One mistake should cost the probes of its method, not the others':
- the activations and the loss are probed alone, with exact zeros (ReLU'(0) = 1) and scores of
  +-1000 (a softmax without the LogSumExp shift gives inf or NaN there, and loses those items only);
- BatchNorm is probed alone (Q3a, Q3b: forward, running statistics, backward, inference) and inside
  the MLP (Q3c), where the student's BatchNorm and MLP work together;
- the MLP is built with the grader's own activations and loss (`GRADERS`, below), so a mistake in Q1
  or Q2 costs nothing in Q5; its weights come from init functions whose values depend only on each
  matrix's shape, so the order in which a constructor calls them does not matter;
- `step` is probed on gradients the probe writes into `dW` and `db`, so a wrong backward costs
  nothing there, and momentum is probed the same way over several steps (W, b and the buffers
  `W_momentum`, `b_momentum` after each);
- every gradient probe also returns central differences of the student's own forward pass (or loss)
  at sampled entries, compared with the reference's: a forward and a backward that are wrong in the
  same way cannot pass;
- `get_training_stats` trains the grader's recording network, whose outputs depend only on the
  sample and the mode: the probe reports how it was driven (batches, shuffling that keeps each
  sample with its label, the order of the calls, evaluation mode for validation) and the statistics
  it returned.

Only numpy and the standard library are imported: the sandbox of this assignment cannot import
torch, and the parent reads this file without running any probe.
"""
import numpy as np

from autograder.grading.probes import allclose, equal, probe

CLOSE = allclose(rtol=1e-4, atol=1e-8)
STEP = 1e-6  # central differences in double precision: error about STEP**2 and 1e-16 / STEP
FD_CLOSE = allclose(rtol=1e-4, atol=1e-7)  # central differences carry about 1e-10 of rounding


def _array(value) -> np.ndarray:
    return np.array(value, dtype=float)


def _flat(value) -> np.ndarray:
    """A bias or its gradient as a 1-d array, whether it is kept as (n,) or (1, n)."""
    return np.array(value, dtype=float).reshape(-1)


# ------------------------------------------------------------------------- the grader's own parts
# Correct activations and loss, used to build MLPs so that the student's Q1 and Q2 do not count in Q5.


class _GradersActivation:
    def __init__(self):
        self.state = None

    def __call__(self, z):
        return self.forward(z)


class _GradersIdentity(_GradersActivation):
    def forward(self, z):
        self.state = z
        return z

    def derivative(self):
        return np.ones_like(self.state, dtype=float)


class _GradersSigmoid(_GradersActivation):
    def forward(self, z):
        self.state = 0.5 * (1.0 + np.tanh(0.5 * z))
        return self.state

    def derivative(self):
        return self.state * (1.0 - self.state)


class _GradersTanh(_GradersActivation):
    def forward(self, z):
        self.state = np.tanh(z)
        return self.state

    def derivative(self):
        return 1.0 - self.state ** 2


class _GradersReLU(_GradersActivation):
    def forward(self, z):
        self.kept = z >= 0
        self.state = np.where(self.kept, z, 0.0)
        return self.state

    def derivative(self):
        return self.kept.astype(float)


class _GradersLoss:
    def __call__(self, x, y):
        return self.forward(x, y)

    def forward(self, x, y):
        shifted = x - x.max(axis=1, keepdims=True)
        log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.softmax, self.labels = np.exp(log_softmax), y
        self.loss = -(y * log_softmax).sum(axis=1)
        return self.loss

    def derivative(self):
        return self.softmax - self.labels


GRADERS = {"identity": _GradersIdentity, "sigmoid": _GradersSigmoid, "tanh": _GradersTanh, "relu": _GradersReLU}


def _shape_seeded_inits(salt: int):
    """(weight_init_fn, bias_init_fn) whose values depend only on the requested shape and `salt`."""
    def weights(d0, d1):
        return np.random.default_rng([salt, 1, d0, d1]).normal(size=(d0, d1)) / np.sqrt(d0)

    def biases(d):
        return np.random.default_rng([salt, 2, d]).normal(scale=0.3, size=d)
    return weights, biases


def _mlp(module, rng, sizes, activations, lr=0.1, momentum=0.0, num_bn_layers=0):
    """The student's MLP with the grader's activations, loss and shape-seeded init functions."""
    weights, biases = _shape_seeded_inits(int(rng.integers(2**31)))
    return module.MLP(sizes[0], sizes[-1], list(sizes[1:-1]), [GRADERS[name]() for name in activations],
                      weights, biases, _GradersLoss(), lr, momentum=momentum, num_bn_layers=num_bn_layers)


def _labels(rng, batch: int, classes: int) -> np.ndarray:
    return np.eye(classes)[rng.integers(classes, size=batch)]


# Architectures of the probes: sizes, activations (the last one of the output layer).
LINEAR = [((6, 4), ("identity",)), ((11, 3), ("identity",))]
HIDDEN = [((5, 7, 4), ("sigmoid", "identity")),
          ((6, 9, 8, 3), ("tanh", "relu", "identity")),
          ((4, 10, 7, 6, 5), ("relu", "sigmoid", "tanh", "identity"))]


# ------------------------------------------------------------------------------- Q1: activations


def _activation_inputs(rng) -> np.ndarray:
    """A (batch, units) array of ordinary, large and exactly zero inputs."""
    z = rng.normal(scale=3.0, size=(int(rng.integers(4, 9)), 6))
    z[0, :3] = 0.0
    z[1, :4] = [800.0, -800.0, 40.0, -40.0]
    return z


def _forward_probe(module, rng, name):
    z = _activation_inputs(rng)
    activation = getattr(module, name)()
    output = activation.forward(z.copy())
    return {"output": _array(output), "state": _array(activation.state)}


def _derivative_probe(module, rng, name):
    activation = getattr(module, name)()
    values = {}
    for case in ("first batch", "second batch"):
        activation.forward(_activation_inputs(rng))
        values[f"derivative after the {case}"] = _array(activation.derivative())
    return values


@probe("Q1a", points=2, compare=CLOSE, hint="Sigmoid.forward returns 1 / (1 + exp(-z)) for every entry, stored in "
                                            "self.state; it must not overflow for large negative z.")
def sigmoid_forward(module, rng):
    return _forward_probe(module, rng, "Sigmoid")


@probe("Q1a", points=2, compare=CLOSE, hint="Sigmoid.derivative returns s (1 - s) for the s of the last forward.")
def sigmoid_derivative(module, rng):
    return _derivative_probe(module, rng, "Sigmoid")


@probe("Q1b", points=2, compare=CLOSE, hint="Tanh.forward returns tanh(z), stored in self.state.")
def tanh_forward(module, rng):
    return _forward_probe(module, rng, "Tanh")


@probe("Q1b", points=2, compare=CLOSE, hint="Tanh.derivative returns 1 - tanh(z)^2 for the z of the last forward.")
def tanh_derivative(module, rng):
    return _derivative_probe(module, rng, "Tanh")


@probe("Q1c", points=2, compare=CLOSE, hint="ReLU.forward returns max(z, 0), stored in self.state.")
def relu_forward(module, rng):
    return _forward_probe(module, rng, "ReLU")


@probe("Q1c", points=2, compare=CLOSE, hint="ReLU.derivative is 1 where z >= 0 (at z = 0 exactly too) and 0 where z < 0.")
def relu_derivative(module, rng):
    return _derivative_probe(module, rng, "ReLU")


# ------------------------------------------------------------------------------- Q2: the loss


def _scores(rng, extreme: bool):
    batch, classes = int(rng.integers(3, 8)), int(rng.integers(4, 11))
    x = rng.normal(scale=2.0, size=(batch, classes))
    if extreme:
        x[:, 0], x[:, 1] = 1000.0, -1000.0
        x[::2, 0], x[::2, 1] = -1000.0, 1000.0
    return x, _labels(rng, batch, classes)


@probe("Q2", points=2, compare=CLOSE,
       hint="forward returns the loss of each sample, shape (batch,), and must stay finite for scores of +-1000: "
            "use the LogSumExp trick.")
def loss_forward(module, rng):
    values = {}
    for case, extreme in (("ordinary scores", False), ("scores of +-1000", True)):
        x, y = _scores(rng, extreme)
        values[case] = _array(module.SoftmaxCrossEntropy().forward(x, y))
    return values


@probe("Q2", points=2, compare=CLOSE,
       hint="derivative returns softmax(x) - y, shape (batch, classes), finite for scores of +-1000.")
def loss_derivative(module, rng):
    values = {}
    for case, extreme in (("ordinary scores", False), ("scores of +-1000", True)):
        x, y = _scores(rng, extreme)
        loss = module.SoftmaxCrossEntropy()
        loss.forward(x, y)
        values[case] = _array(loss.derivative())
    return values


# ------------------------------------------------------------------------------- Q3: BatchNorm


def _batch(rng, batch: int, units: int) -> np.ndarray:
    """A batch whose units have their own means and spreads."""
    return rng.uniform(-5, 5, size=units) + rng.uniform(0.2, 4, size=units) * rng.normal(size=(batch, units))


def _batchnorm(module, rng, units: int, affine: bool = True):
    """The student's BatchNorm, with the grader's gamma and beta when `affine`."""
    layer = module.BatchNorm(units)
    if affine:
        layer.gamma = rng.uniform(0.5, 2.0, size=(1, units)) * rng.choice([-1.0, 1.0], size=(1, units))
        layer.beta = rng.normal(size=(1, units))
    return layer


def _sampled(rng, shape, count=6):
    """`count` distinct indices of an array of `shape` (all of them when it has fewer entries)."""
    size = int(np.prod(shape))
    chosen = rng.choice(size, size=min(count, size), replace=False)
    return [np.unravel_index(int(i), shape) for i in np.sort(chosen)]


def _central_differences(function, array: np.ndarray, indices) -> np.ndarray:
    """d function() / d array[index] for each index, by central differences (array changed in place and restored)."""
    values = []
    for index in indices:
        kept = array[index]
        array[index] = kept + STEP
        above = function()
        array[index] = kept - STEP
        below = function()
        array[index] = kept
        values.append((above - below) / (2 * STEP))
    return np.array(values, dtype=float)


@probe("Q3a", points=3, compare=CLOSE,
       hint="In training, BatchNorm normalises every unit (column) with the batch's mean and variance (dividing by "
            "the batch size, eps inside the square root), then applies gamma and beta.")
def batchnorm_training_forward(module, rng):
    values = {}
    for batch, units in ((32, 4), (5, 7), (200, 2)):
        layer = _batchnorm(module, rng, units, affine=units != 4)
        values[f"a batch of {batch} x {units}"] = _array(layer.forward(_batch(rng, batch, units)))
    return values


@probe("Q3a", points=2, compare=CLOSE,
       hint="Each training forward updates running_mean and running_var as alpha * running + (1 - alpha) * the "
            "batch's statistic (the variance dividing by the batch size).")
def batchnorm_running_statistics(module, rng):
    values = {}
    for alpha in (0.9, 0.6):
        layer = module.BatchNorm(3, alpha=alpha)
        for batch in range(3):
            layer.forward(_batch(rng, 16, 3))
        values[f"alpha={alpha}"] = {"running_mean": _flat(layer.running_mean), "running_var": _flat(layer.running_var)}
    return values


@probe("Q3a", points=3, compare=FD_CLOSE,
       hint="backward(delta) returns dL/dx by the equations of Q3 and sets dgamma and dbeta, summed over the batch; "
            "its dL/dx must also agree with central differences of your own forward.")
def batchnorm_backward(module, rng):
    values = {}
    for batch, units in ((12, 3), (40, 5)):
        layer = _batchnorm(module, rng, units)
        x, upstream = _batch(rng, batch, units), rng.normal(size=(batch, units))
        layer.forward(x)
        dx = _array(layer.backward(upstream))
        indices = _sampled(rng, x.shape)
        probe_x = x.copy()
        differences = _central_differences(lambda: float(np.sum(_array(layer.forward(probe_x)) * upstream)),
                                           probe_x, indices)
        values[f"{batch} x {units}"] = {
            "dx": dx, "dgamma": _flat(layer.dgamma), "dbeta": _flat(layer.dbeta),
            "central differences of your forward": differences}
    return values


def _bn_mlp(module, rng, num_bn_layers):
    return _mlp(module, rng, (6, 8, 7, 4), ("sigmoid", "sigmoid", "identity"), lr=0.2, num_bn_layers=num_bn_layers)


def _bn_parameters(mlp) -> dict:
    return {f"bn_layers[{i}].{name}": _flat(getattr(layer, name))
            for i, layer in enumerate(mlp.bn_layers) for name in ("gamma", "beta", "running_mean", "running_var")}


@probe("Q3c", points=2, compare=CLOSE,
       hint="The MLP batch-normalises z of its first num_bn_layers layers before their activation, backpropagates "
            "through BatchNorm.backward and updates gamma and beta with a plain gradient step.")
def mlp_with_batchnorm_trains(module, rng):
    values = {}
    for layers in (1, 2):
        mlp = _bn_mlp(module, rng, layers)
        x, labels = _batch(rng, 10, 6), _labels(rng, 10, 4)
        mlp.train()
        output = _array(mlp.forward(x))
        mlp.backward(labels)
        gradients = {f"dW[{i}]": _array(dW) for i, dW in enumerate(mlp.dW)}
        gradients.update({f"bn_layers[{i}].dgamma": _flat(layer.dgamma) for i, layer in enumerate(mlp.bn_layers)})
        mlp.step()
        values[f"{layers} batch norm layer(s)"] = {
            "output": output, **gradients, **{f"W[{i}] after the step": _array(W) for i, W in enumerate(mlp.W)},
            **_bn_parameters(mlp)}
    return values


@probe("Q3b", points=4, compare=CLOSE,
       hint="With eval=True, BatchNorm normalises with running_mean and running_var (eps inside the square root), "
            "applies gamma and beta, and changes no statistic.")
def batchnorm_inference(module, rng):
    values = {}
    for batch, units in ((9, 4), (1, 3)):
        layer = _batchnorm(module, rng, units)
        layer.running_mean = rng.normal(size=(1, units))
        layer.running_var = rng.uniform(0.1, 3.0, size=(1, units))
        output = _array(layer.forward(_batch(rng, batch, units), eval=True))
        values[f"a batch of {batch} x {units}"] = {
            "output": output, "running_mean afterwards": _flat(layer.running_mean),
            "running_var afterwards": _flat(layer.running_var)}
    return values


@probe("Q3c", points=1, compare=CLOSE,
       hint="In evaluation mode (after eval()), the MLP's batch norms use their running statistics.")
def mlp_with_batchnorm_evaluates(module, rng):
    """Running statistics from three training forwards (no backward or step, whose mistakes are
    probed elsewhere), then the outputs in evaluation mode."""
    mlp = _bn_mlp(module, rng, 2)
    mlp.train()
    for _ in range(3):
        mlp.forward(_batch(rng, 12, 6))
    mlp.eval()
    samples = _batch(rng, 5, 6)
    return {"output in evaluation mode": _array(mlp.forward(samples)),
            "output of one sample in evaluation mode": _array(mlp.forward(samples[:1])),
            "running statistics": _bn_parameters(mlp)}


# --------------------------------------------------------------------------------- Q5: the MLP


def _forward_values(module, rng, architectures) -> dict:
    values = {}
    for sizes, activations in architectures:
        mlp = _mlp(module, rng, sizes, activations)
        x = rng.normal(size=(int(rng.integers(3, 9)), sizes[0]))
        values[f"MLP{sizes}"] = _array(mlp.forward(x))
    return values


def _backward_values(module, rng, architectures) -> dict:
    """dW and db after one backward, and central differences of the mean loss of the student's forward."""
    values = {}
    for sizes, activations in architectures:
        mlp = _mlp(module, rng, sizes, activations)
        batch = int(rng.integers(4, 9))
        x, labels = rng.normal(size=(batch, sizes[0])), _labels(rng, batch, sizes[-1])
        mlp.forward(x)
        mlp.backward(labels)
        entry = {}
        for i in range(len(sizes) - 1):
            entry[f"dW[{i}]"], entry[f"db[{i}]"] = _array(mlp.dW[i]), _flat(mlp.db[i])
        for i in range(len(sizes) - 1):
            mean_loss = lambda: float(_GradersLoss()(_array(mlp.forward(x)), labels).mean())
            weights = mlp.W[i]
            entry[f"central differences in W[{i}]"] = _central_differences(mean_loss, weights,
                                                                            _sampled(rng, weights.shape, 4))
        values[f"MLP{sizes}"] = entry
    return values


def _step_values(module, rng, architectures, momentum=0.0, steps=1) -> dict:
    """W, b (and the momentum buffers) after `steps` steps on gradients written by the probe."""
    values = {}
    for sizes, activations in architectures:
        mlp = _mlp(module, rng, sizes, activations, lr=float(rng.uniform(0.05, 0.5)), momentum=momentum)
        entry = {}
        for step in range(steps):
            mlp.dW = [rng.normal(size=(a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
            mlp.db = [rng.normal(size=b) for b in sizes[1:]]
            mlp.step()
            for i in range(len(sizes) - 1):
                entry[f"after step {step + 1}: W[{i}]"] = _array(mlp.W[i])
                entry[f"after step {step + 1}: b[{i}]"] = _flat(mlp.b[i])
                if momentum:
                    entry[f"after step {step + 1}: W_momentum[{i}]"] = _array(mlp.W_momentum[i])
                    entry[f"after step {step + 1}: b_momentum[{i}]"] = _flat(mlp.b_momentum[i])
        values[f"MLP{sizes}"] = entry
    return values


@probe("Q5a", points=3, compare=CLOSE, hint="Without hidden layers, forward returns activations[0](x @ W[0] + b[0]).")
def linear_forward(module, rng):
    return _forward_values(module, rng, LINEAR)


@probe("Q5a", points=3, compare=FD_CLOSE,
       hint="backward sets dW[0] and db[0] to the gradients of the batch's mean loss (averaged over the samples).")
def linear_backward(module, rng):
    return _backward_values(module, rng, LINEAR)


@probe("Q5a", points=3, compare=CLOSE, hint="step moves every W and b by -lr times its gradient dW, db.")
def linear_step(module, rng):
    return _step_values(module, rng, LINEAR)


@probe("Q5b", points=10, compare=CLOSE,
       hint="forward applies every layer in turn: z = x @ W[i] + b[i], then activations[i], for any number of "
            "hidden layers and sizes.")
def mlp_forward(module, rng):
    return _forward_values(module, rng, HIDDEN)


@probe("Q5b", points=12, compare=FD_CLOSE,
       hint="backward sets every dW[i] and db[i] to the gradient of the batch's mean loss, going back through each "
            "activation's derivative and each weight matrix.")
def mlp_backward(module, rng):
    return _backward_values(module, rng, HIDDEN)


@probe("Q5b", points=8, compare=CLOSE, hint="step moves every W[i] and b[i] by -lr times dW[i], db[i].")
def mlp_step(module, rng):
    return _step_values(module, rng, HIDDEN[1:])


@probe("Q5b", points=4, compare=CLOSE, hint="zero_grads sets every dW[i] and db[i] to zero.")
def mlp_zero_grads(module, rng):
    sizes, activations = HIDDEN[2]
    mlp = _mlp(module, rng, sizes, activations)
    mlp.forward(rng.normal(size=(5, sizes[0])))
    mlp.backward(_labels(rng, 5, sizes[-1]))
    mlp.zero_grads()
    return {**{f"dW[{i}]": _array(dW) for i, dW in enumerate(mlp.dW)}, **{f"db[{i}]": _flat(db) for i, db in enumerate(mlp.db)}}


@probe("Q5b", points=6, compare=CLOSE,
       hint="Three rounds of zero_grads, forward, backward and step should give the gradient of each batch alone "
            "(dW must not add up across steps) and the weights after each step.")
def mlp_trains_for_three_steps(module, rng):
    sizes, activations = HIDDEN[1]
    mlp = _mlp(module, rng, sizes, activations, lr=0.3)
    values = {}
    for step in range(3):
        x, labels = rng.normal(size=(7, sizes[0])), _labels(rng, 7, sizes[-1])
        mlp.zero_grads()
        mlp.forward(x)
        mlp.backward(labels)
        values[f"step {step + 1}: dW[0]"] = _array(mlp.dW[0])
        mlp.step()
        values[f"step {step + 1}: output after the step"] = _array(mlp.forward(x))
    return values


@probe("Q5c", points=6, compare=CLOSE,
       hint="With momentum mu: W_momentum = mu * W_momentum - lr * dW, then W = W + W_momentum (and the same for b).")
def momentum_steps(module, rng):
    return {f"momentum {mu}": _step_values(module, rng, [LINEAR[0], HIDDEN[0]], momentum=mu, steps=3)
            for mu in (0.9, 0.5)}


@probe("Q5c", points=4, compare=CLOSE,
       hint="With momentum, training for several rounds of zero_grads, forward, backward and step must give the "
            "weights of momentum gradient descent.")
def momentum_training(module, rng):
    sizes, activations = HIDDEN[0]
    mlp = _mlp(module, rng, sizes, activations, lr=0.2, momentum=0.8)
    x, labels = rng.normal(size=(8, sizes[0])), _labels(rng, 8, sizes[-1])
    values = {}
    for step in range(4):
        mlp.zero_grads()
        mlp.forward(x)
        mlp.backward(labels)
        mlp.step()
        values[f"W[1] after step {step + 1}"] = _array(mlp.W[1])
    return values


# ---------------------------------------------------------------------- Q6a: get_training_stats

FEATURES, CLASSES = 5, 10
TRAIN_SIZE, VALIDATION_SIZE, BATCH_SIZE, EPOCHS = 48, 13, 8, 3


class _RecordingMLP:
    """Stands in for an MLP: its scores depend only on the sample (its features) and the mode, and it
    records every call, so that the probe can say how get_training_stats drove it."""

    def __init__(self, projection, shift):
        self.projection, self.shift = projection, shift
        self.criterion = _GradersLoss()
        self.output_size, self.input_size = CLASSES, FEATURES
        self.train_mode = True
        self.events = []  # ("forward", mode, rows) | ("backward", labels) | ("step",) | ("zero_grads",)
        self.output = None

    def train(self):
        self.train_mode = True

    def eval(self):
        self.train_mode = False

    def forward(self, x):
        x = np.array(x, dtype=float)
        self.events.append(("forward", self.train_mode, x.copy()))
        self.output = x @ self.projection + (0.0 if self.train_mode else self.shift)
        return self.output

    __call__ = forward

    def backward(self, labels):
        labels = np.array(labels, dtype=float)
        self.events.append(("backward", labels))
        return float(self.criterion(self.output, labels).mean())

    def step(self):
        self.events.append(("step",))

    def zero_grads(self):
        self.events.append(("zero_grads",))


def _sample_ids(rows: np.ndarray, features: np.ndarray) -> list:
    """The index in `features` of each row, found by its first column (a unique whole number plus a
    half, so that a float32 copy finds it too), or -1."""
    lookup = {int(np.floor(value)): i for i, value in enumerate(features[:, 0])}
    return [lookup.get(int(np.floor(row[0])), -1) for row in rows]


def _driven(events, train_x, train_labels, val_x) -> dict:
    """What the recorded calls say about how the network was trained, epoch by epoch."""
    epochs, current = [], None
    for event in events:
        if event[0] == "forward" and event[1] and (current is None or current["validated"]):
            current = {"training": [], "labels kept": True, "validation": [], "validated": False, "calls": ""}
            epochs.append(current)
        if current is None:
            continue
        if event[0] == "forward":
            ids = _sample_ids(event[2], train_x if event[1] else val_x)
            if event[1]:
                current["training"].append(ids)
            else:
                current["validation"] += ids
                current["validated"] = True
        elif event[0] == "backward" and current["training"]:
            ids = current["training"][-1]
            classes = np.argmax(event[1], axis=1) if event[1].ndim == 2 else np.full(len(ids), -1)
            kept = len(classes) == len(ids) and all(i >= 0 and c == train_labels[i] for i, c in zip(ids, classes))
            current["labels kept"] &= bool(kept)
        if not current["validated"]:
            current["calls"] += {"forward": "F", "backward": "B", "step": "S", "zero_grads": "Z"}[event[0]]
    orders = [[i for ids in epoch["training"] for i in ids] for epoch in epochs]
    return {
        "epochs recorded": len(epochs),
        "training batches of each epoch": [len(epoch["training"]) for epoch in epochs],
        "every training sample once per epoch": all(sorted(order) == list(range(TRAIN_SIZE)) for order in orders),
        "every sample trained with its own label": all(epoch["labels kept"] for epoch in epochs),
        "the order changes from epoch to epoch": len({tuple(order) for order in orders}) == len(orders) > 1,
        "each batch: forward, backward, step, with zero_grads between steps": all(
            _calls_in_order(epoch["calls"]) for epoch in epochs),
        "the whole validation set in evaluation mode after each epoch": all(
            sorted(epoch["validation"]) == list(range(VALIDATION_SIZE)) for epoch in epochs),
    }


def _calls_in_order(calls: str) -> bool:
    """F B S for every batch, in that order, and a Z between one batch's S and the next one's B."""
    batches = calls.replace("Z", "").split("S")
    if batches[-1] != "" or any(batch != "FB" for batch in batches[:-1]):
        return False
    steps = [i for i, c in enumerate(calls) if c == "S"]
    backwards = [i for i, c in enumerate(calls) if c == "B"]
    return all("Z" in calls[s:b] for s, b in zip(steps, backwards[1:]))


def _recorded_training(module, rng):
    """Run the student's get_training_stats on the recording network; (network, data, returned stats)."""
    x = rng.normal(size=(TRAIN_SIZE + VALIDATION_SIZE, FEATURES))
    x[:, 0] = rng.permutation(TRAIN_SIZE + VALIDATION_SIZE) + 0.5  # a unique id per sample
    labels = rng.integers(CLASSES, size=TRAIN_SIZE + VALIDATION_SIZE)
    projection = rng.normal(scale=0.3, size=(FEATURES, CLASSES))
    projection[0] = 0.0  # the id does not change the scores
    network = _RecordingMLP(projection, rng.normal(size=CLASSES))
    train = (x[:TRAIN_SIZE].copy(), labels[:TRAIN_SIZE].copy())
    val = (x[TRAIN_SIZE:].copy(), labels[TRAIN_SIZE:].copy())
    stats = module.get_training_stats(network, (train, val, val), EPOCHS, BATCH_SIZE)
    return network, x, labels, stats


@probe("Q6a", points=3, compare=equal(),
       hint="Each epoch: shuffle an index array with np.random.shuffle and gather samples and labels with it; in "
            "training mode, for each batch zero_grads, forward, backward (one-hot labels) and step; then the whole "
            "validation set in evaluation mode.")
def training_stats_drive_the_network(module, rng):
    network, x, labels, _ = _recorded_training(module, rng)
    return _driven(network.events, x[:TRAIN_SIZE], labels[:TRAIN_SIZE], x[TRAIN_SIZE:])


@probe("Q6a", points=3, compare=CLOSE,
       hint="Return four arrays of shape (nepochs,): the training loss and error averaged over the epoch's samples "
            "as the batches went by, and the validation loss and error in evaluation mode.")
def training_stats_values(module, rng):
    _, _, _, stats = _recorded_training(module, rng)
    names = ("training losses", "training errors", "validation losses", "validation errors")
    return {name: _array(value) for name, value in zip(names, stats)}
