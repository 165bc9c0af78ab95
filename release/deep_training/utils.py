"""Helpers shared by the course notebooks.

Every assignment notebook does ``import utils``. The module gives you:

* ``FAST`` and ``seed_everything`` -- run settings and reproducibility;
* ``UClasses`` -- a small classification data set whose features live on very
  different scales (think age in years next to income in dollars);
* ``NNBase`` and ``plot_learning_curves`` -- a base class that trains a network
  with mini-batch SGD, and a plot of mean +- std learning curves over trials;
* ``load_mnist``, ``load_fashion_mnist``, ``train`` and ``evaluate`` -- image
  data read from IDX files (as torch tensors, or NumPy arrays with
  ``as_arrays=True``), and ready-made training / evaluation loops, so that
  you write models rather than loops;
* ``progress`` and ``show_table`` -- a progress bar and a table that read well
  live in a notebook, in its saved file and in its PDF.

Shapes follow the course handouts' convention: ``(D, N)`` means D samples of N
features (nodes), as in the batch-normalisation equation; a batch of images is
``(D, 1, 28, 28)``.
matplotlib is imported only inside the plotting functions, so importing this
module stays quick. PyTorch is imported when it is installed; without it (a
NumPy-only assignment, whose grading sandbox makes ``import torch`` fail) the
NumPy parts work -- ``FAST``, ``read_idx``, the loaders with ``as_arrays=True``
-- and the torch helpers raise ImportError when used.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import random
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
from tqdm import tqdm

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:  # a NumPy-only environment: the torch helpers below raise when used
    torch = F = nn = None


class _NeedsTorch:
    """The base of the torch helpers (``UClasses``, ``NNBase``) where PyTorch
    is missing: making one raises an ImportError that says so."""

    def __init__(self, *args, **kwargs):
        raise ImportError(f"{type(self).__name__} needs PyTorch, which cannot be imported here")


def _require_torch(what: str) -> None:
    if torch is None:
        raise ImportError(f"{what} needs PyTorch, which cannot be imported here")

# ---------------------------------------------------------------------------
# Run settings
# ---------------------------------------------------------------------------

#: True when the environment variable COURSE_FAST is "1". Notebooks then
#: shrink their data, epochs and trials so that they run in seconds (used by CI).
FAST: bool = os.environ.get("COURSE_FAST", "").strip().lower() in {"1", "true", "yes"}


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (when it
    is installed), so that a run can be repeated exactly."""
    random.seed(seed)
    np.random.seed(seed)
    if torch is not None:
        torch.manual_seed(seed)


# ---------------------------------------------------------------------------
# Progress bars and tables, live and on paper
# ---------------------------------------------------------------------------

def _kernel_shell():
    """The IPython shell when this runs in a Jupyter kernel, else None (a script, a terminal)."""
    ipython = sys.modules.get("IPython")  # never imported here: a script does not pay for it
    shell = ipython.get_ipython() if ipython is not None else None
    return shell if getattr(shell, "kernel", None) is not None else None


class _DisplayLine:
    """A file for tqdm in a notebook: every redraw replaces one display output, so the notebook
    shows, saves and exports the bar's latest state only, whether it runs in JupyterLab or headless."""

    encoding = "utf-8"

    def __init__(self):
        self._handle = None

    def write(self, text: str) -> None:
        line = text.rsplit("\r", 1)[-1].rstrip()
        if not line and self._handle is None:
            return
        from IPython.display import display

        bundle = {"text/plain": line}
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        elif line or text.startswith("\r"):  # a bar's final newline changes nothing; a cleared bar clears
            self._handle.update(bundle, raw=True)

    def flush(self) -> None:
        pass


def progress(iterable=None, **options):
    """A tqdm progress bar (the same arguments as ``tqdm.tqdm``). In a notebook it redraws a single
    output in place, so the saved notebook and its PDF hold one line per bar, in its final state;
    elsewhere it is tqdm's usual text bar."""
    if _kernel_shell() is not None and "file" not in options:
        options = {"file": _DisplayLine(), "mininterval": 0.5, **options}
    return tqdm(iterable, **options)


_progress = progress  # for the functions below, whose parameter ``progress`` hides the name


def markdown_table(columns, rows, align: str = "right") -> str:
    """A Markdown table: a header of ``columns``, then one line per row (each a sequence of values,
    shown with ``str``); ``align`` is "left" or "right" for every column."""
    rule = "---:" if align == "right" else ":---"
    lines = ["| " + " | ".join(map(str, columns)) + " |", "| " + " | ".join([rule] * len(columns)) + " |"]
    lines += ["| " + " | ".join(str(value).replace("|", "\\|") for value in row) + " |" for row in rows]
    return "\n".join(lines)


def table_display(columns, rows, align: str = "right") -> dict:
    """The display data of ``markdown_table``: rendered as a table by JupyterLab and in the PDF, the
    Markdown text wherever only plain text shows."""
    text = markdown_table(columns, rows, align)
    return {"text/markdown": text, "text/plain": text}


def show_table(columns, rows, align: str = "right") -> None:
    """Show a table (see ``markdown_table``): rendered in a notebook, printed as Markdown elsewhere."""
    if _kernel_shell() is None:
        print(markdown_table(columns, rows, align))
        return
    from IPython.display import display

    display(table_display(columns, rows, align), raw=True)


# ---------------------------------------------------------------------------
# UClasses: classes that are easy to separate, on awkward scales
# ---------------------------------------------------------------------------

# Raw feature j is  scale_j * z_j + offset_j  for a well-behaved latent z.
# The scales climb through two orders of magnitude (think "age in years" next
# to "income in hundreds of dollars") and every feature sits far from zero, as
# real measurements do. Inputs like these make a plain network's weights span
# very different sizes, which is what batch normalisation helps with. (Wider
# ranges make plain SGD diverge for most learning rates, which teaches less.)
_SMALLEST_LOG10_SCALE = 0.0
_LARGEST_LOG10_SCALE = 2.0
_OFFSET_IN_SCALES = (1.0, 4.0)  # each offset is this many of its feature's scales
_CENTRE_SPREAD = 2.0  # standard deviation of the class centres in the latent space


class UClasses(torch.utils.data.Dataset if torch is not None else _NeedsTorch):
    """Labelled points in ``n_classes`` clusters, with badly scaled features.

    The points are first drawn in a tidy latent space: each class has a centre
    drawn from a normal distribution (standard deviation 2), and a sample is
    its centre plus Gaussian noise of standard deviation ``noise``. Each
    feature is then stretched and shifted by its own affine map: the stretch
    factors climb from 1 (feature 0) to 100 (the last feature), and each
    feature is shifted by 1 to 4 of its stretch factors, away from zero. The
    classes are exactly as separable as in the latent space; only the units
    are awkward.

    Inputs:
    - n_samples: number of samples D.
    - n_classes: number of classes C (the class of each sample is uniform).
    - input_dim: number of features N (at least 1).
    - noise: standard deviation of the latent noise around each class centre;
      larger values make the classes overlap more.
    - seed: integer seed; the same seed gives the same data set. None draws
      from torch's global generator (so ``seed_everything`` still controls it).

    Each item ``dataset[i]`` is a pair ``(x, t)``: x of shape (N,), float32,
    and t of shape (C,), the one-hot target.
    """

    def __init__(self, n_samples: int = 300, n_classes: int = 3, input_dim: int = 2,
                 noise: float = 0.3, seed: int | None = None):
        _require_torch("UClasses")
        if n_samples < 1 or n_classes < 1 or input_dim < 1:
            raise ValueError("n_samples, n_classes and input_dim must all be at least 1")
        generator = torch.Generator()
        generator.manual_seed(seed if seed is not None
                              else int(torch.randint(0, 2**62, (1,)).item()))

        centres = _CENTRE_SPREAD * torch.randn(n_classes, input_dim, generator=generator)
        classes = torch.randint(0, n_classes, (n_samples,), generator=generator)
        latent = centres[classes] + noise * torch.randn(n_samples, input_dim, generator=generator)

        log10_scales = torch.linspace(_SMALLEST_LOG10_SCALE, _LARGEST_LOG10_SCALE, input_dim)
        #: stretch factor and shift of every feature, shapes (N,) and (N,)
        self.scales = 10.0 ** log10_scales
        low, high = _OFFSET_IN_SCALES
        self.offsets = self.scales * (low + (high - low) * torch.rand(input_dim, generator=generator))

        self._inputs = (latent * self.scales + self.offsets).float()
        self._classes = classes.long()
        self._targets = F.one_hot(self._classes, n_classes).float()
        self.n_classes = n_classes
        self.input_dim = input_dim

    def __len__(self) -> int:
        return len(self._classes)

    def __getitem__(self, index):
        return self._inputs[index], self._targets[index]

    def inputs(self) -> torch.Tensor:
        """All inputs, shape (D, N): D samples of N features, float32."""
        return self._inputs

    def targets(self) -> torch.Tensor:
        """One-hot targets, shape (D, C), float32.

        One-hot rows suit both ``nn.MSELoss()`` and ``nn.CrossEntropyLoss()``
        (which accepts class probabilities as targets)."""
        return self._targets

    def classes(self) -> torch.Tensor:
        """Class index of every sample, shape (D,), int64."""
        return self._classes

    def plot(self, features: tuple[int, int] = (0, 1), ax=None):
        """Scatter two features against each other, one colour per class.

        Inputs:
        - features: the indices of the features on the x and y axes.
        - ax: matplotlib Axes to draw on; None uses the current Axes.

        Returns the Axes.
        """
        import matplotlib.pyplot as plt

        ax = ax if ax is not None else plt.gca()
        fx, fy = features if self.input_dim > 1 else (0, 0)
        for k in range(self.n_classes):
            chosen = self._classes == k
            ax.scatter(self._inputs[chosen, fx], self._inputs[chosen, fy], s=8, label=f"class {k}")
        ax.set_xlabel(f"feature {fx}")
        ax.set_ylabel(f"feature {fy}")
        ax.set_title(f"UClasses: {len(self)} samples, {self.n_classes} classes")
        ax.legend()
        return ax


# ---------------------------------------------------------------------------
# NNBase: a network that can train itself
# ---------------------------------------------------------------------------

class NNBase(nn.Module if torch is not None else _NeedsTorch):
    """Base class for small networks trained on ``UClasses``-like data sets.

    A subclass builds its layers, defines ``forward`` and sets
    ``self.loss_fcn`` in its constructor, for example::

        class TinyNet(utils.NNBase):
            def __init__(self):
                super().__init__()
                self.layer = nn.Linear(2, 3)
                self.loss_fcn = nn.CrossEntropyLoss()

            def forward(self, x):
                return self.layer(x)

    ``loss_fcn(outputs, targets)`` receives the network's outputs, shape (B, C),
    and the data set's targets for the same mini-batch.
    """

    def __init__(self):
        super().__init__()
        self.loss_fcn = None

    def learn(self, dataset, epochs: int = 10, lr: float = 0.1, batch_size: int = 10,
              progress: bool = True) -> list[float]:
        """Train with plain stochastic gradient descent (``torch.optim.SGD``,
        no momentum) over shuffled mini-batches.

        Inputs:
        - dataset: anything with ``inputs()`` of shape (D, N) and ``targets()``
          with D rows, such as ``UClasses``.
        - epochs: number of passes through the data.
        - lr: learning rate.
        - batch_size: samples per mini-batch (the last one may be smaller).
        - progress: show a progress bar over epochs.

        Returns the mean training loss of every epoch, a list of ``epochs`` floats.
        """
        if self.loss_fcn is None:
            raise NotImplementedError(
                f"{type(self).__name__} has no loss function: set self.loss_fcn in its "
                "constructor, for example self.loss_fcn = nn.CrossEntropyLoss()")
        inputs, targets = dataset.inputs(), dataset.targets()
        optimiser = torch.optim.SGD(self.parameters(), lr=lr)
        self.train()
        losses = []
        for _ in _progress(range(epochs), desc=type(self).__name__, disable=not progress):
            total = 0.0
            for batch in torch.randperm(len(inputs)).split(batch_size):
                loss = self.loss_fcn(self(inputs[batch]), targets[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total += loss.item() * len(batch)
            losses.append(total / len(inputs))
        return losses


def plot_learning_curves(curves: dict, title: str = "Learning curves", ax=None,
                         xlabel: str = "epoch", ylabel: str = "loss"):
    """Plot the mean learning curve of each method with a band of one standard
    deviation either side.

    Inputs:
    - curves: maps a method's name to its losses, array-like of shape (T, E):
      T trials of E epochs each.
    - title, xlabel, ylabel: the plot's labels.
    - ax: matplotlib Axes to draw on; None uses the current Axes.

    Returns the Axes.
    """
    import matplotlib.pyplot as plt

    ax = ax if ax is not None else plt.gca()
    for name, losses in curves.items():
        losses = np.asarray(losses, dtype=float)
        if losses.ndim != 2:
            raise ValueError(f"curves[{name!r}] must have shape (trials, epochs), got {losses.shape}")
        epochs = np.arange(1, losses.shape[1] + 1)
        mean, std = losses.mean(axis=0), losses.std(axis=0)
        (line,) = ax.plot(epochs, mean, label=f"{name} (mean of {losses.shape[0]})")
        ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.25)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


# ---------------------------------------------------------------------------
# Image data sets in IDX files (MNIST, Fashion-MNIST)
# ---------------------------------------------------------------------------

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension

_SPLIT_PREFIX = {"train": "train", "test": "t10k"}

_DATASETS = {
    "mnist": {
        "title": "MNIST",
        "mirrors": ["https://ossci-datasets.s3.amazonaws.com/mnist/"],
        "system_dirs": [],
    },
    "fashion-mnist": {
        "title": "Fashion-MNIST",
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        # Debian's dataset-fashion-mnist package installs the four .gz files here.
        "system_dirs": [Path("/usr/share/datasets/fashion-mnist")],
    },
}


def data_dir() -> Path:
    """The folder that holds the data sets: ``$COURSE_DATA`` if set, otherwise
    ``data/`` next to this file. MNIST lives in ``<data_dir>/mnist/`` and
    Fashion-MNIST in ``<data_dir>/fashion-mnist/``."""
    configured = os.environ.get("COURSE_DATA")
    return Path(configured) if configured else Path(__file__).resolve().parent / "data"


def fixture_dir() -> Path:
    """The small in-repository samples used when ``FAST`` is set and the real
    data are missing (``data/fixtures/`` next to this file)."""
    return Path(__file__).resolve().parent / "data" / "fixtures"


def fixture_dirs() -> list[Path]:
    """Where ``FAST`` looks for the small samples: ``fixture_dir()``, then the
    ``data/fixtures/`` of the installed course kit (the ``nn_course_kit`` package
    ships them), which is where a copy of this file in a release folder finds
    them."""
    places = [fixture_dir()]
    spec = importlib.util.find_spec("nn_course_kit")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        installed = Path(folder).resolve() / "data" / "fixtures"
        if installed not in places:
            places.append(installed)
    return places


def _open_maybe_gzip(path: Path):
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def read_idx(path, expected_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into a NumPy array.

    Inputs:
    - path: the file.
    - expected_magic: if given, the 4-byte magic number the file must start
      with (0x803 for MNIST images, 0x801 for labels).

    Returns an array whose shape is the one the file declares, e.g.
    (D, 28, 28) uint8 for images and (D,) uint8 for labels.
    Raises ValueError naming the file when it is not a valid IDX file.
    """
    path = Path(path)
    with _open_maybe_gzip(path) as stream:
        header = stream.read(4)
        magic = int.from_bytes(header, "big") if len(header) == 4 else None
        dtype = _IDX_DTYPES.get(header[2]) if magic is not None else None
        if magic is None or header[:2] != b"\0\0" or dtype is None:
            raise ValueError(f"{path} is not an IDX file (it starts with bytes {header.hex() or 'nothing'})")
        if expected_magic is not None and magic != expected_magic:
            raise ValueError(f"{path} has magic number 0x{magic:08x}, "
                             f"expected 0x{expected_magic:08x}: is it the right file?")
        ndim = header[3]
        shape = tuple(int.from_bytes(stream.read(4), "big") for _ in range(ndim))
        payload = stream.read()
    dtype = np.dtype(dtype)
    count = int(np.prod(shape))
    if len(payload) != count * dtype.itemsize:
        raise ValueError(f"{path} declares shape {shape} but holds {len(payload)} bytes of data")
    return np.frombuffer(payload, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array: np.ndarray) -> None:
    """Write a uint8 array of any shape as an IDX file; gzip-compress it when
    the name ends in ``.gz``. The inverse of ``read_idx``."""
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"write_idx writes uint8 arrays only, got {array.dtype}")
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    if str(path).endswith(".gz"):
        # mtime=0 keeps the compressed bytes identical from one run to the next
        with gzip.GzipFile(path, "wb", mtime=0) as stream:
            stream.write(header + array.tobytes())
    else:
        Path(path).write_bytes(header + array.tobytes())


def _idx_names(split: str) -> tuple[str, str]:
    if split not in _SPLIT_PREFIX:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    prefix = _SPLIT_PREFIX[split]
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def _fetch(url: str, destination: Path) -> None:
    """Download ``url`` to ``destination`` (written atomically). Uses
    torchvision's downloader when torchvision is installed."""
    try:
        from torchvision.datasets.utils import download_url
    except ImportError:
        download_url = None
    with tempfile.TemporaryDirectory(dir=destination.parent) as scratch:
        partial = Path(scratch) / destination.name
        if download_url is not None:
            download_url(url, root=scratch, filename=destination.name)
        else:
            with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out)
        partial.replace(destination)


def _download(key: str, folder: Path, names: tuple[str, ...]) -> None:
    """Fetch the missing ``names`` (as .gz) into ``folder`` from the first
    mirror that answers; raises OSError when none does."""
    folder.mkdir(parents=True, exist_ok=True)
    errors = []
    for name in names:
        if _find(folder, name) is not None:
            continue
        for mirror in _DATASETS[key]["mirrors"]:
            try:
                _fetch(mirror + name + ".gz", folder / f"{name}.gz")
                break
            except Exception as error:  # any failure means: try the next mirror
                errors.append(f"{mirror}: {error}")
        else:
            raise OSError("; ".join(errors))


def _locate(key: str, split: str) -> tuple[Path, Path]:
    """Paths of the (images, labels) files of one split, downloading them if
    needed; see ``load_mnist`` for the order in which places are tried."""
    names = _idx_names(split)
    home = data_dir() / key
    places = [home, *_DATASETS[key]["system_dirs"]]
    if FAST:
        places += [folder / key for folder in fixture_dirs()]
    for folder in places:
        found = [_find(folder, name) for name in names]
        if all(found):
            return found[0], found[1]
    try:
        _download(key, home, names)
    except OSError as error:
        wanted = " and ".join(f"{name}.gz" for name in names)
        fast = (f" Fast mode (COURSE_FAST=1) found no sample either, in "
                f"{' or '.join(str(folder / key) for folder in fixture_dirs())}: install the course kit "
                f"(it ships the samples)." if FAST else "")
        raise FileNotFoundError(
            f"{_DATASETS[key]['title']} ({split}) is not in {home} and could not be downloaded "
            f"({error}). Put {wanted} (gzip-compressed or not) in {home}, or set COURSE_DATA to "
            f"a folder whose {key}/ subfolder holds them.{fast}") from None
    images, labels = (_find(home, name) for name in names)
    return images, labels


def _load(key: str, split: str, as_arrays: bool):
    images_path, labels_path = _locate(key, split)
    images = read_idx(images_path, _IMAGES_MAGIC)
    labels = read_idx(labels_path, _LABELS_MAGIC)
    if len(images) != len(labels):
        raise ValueError(f"{images_path} holds {len(images)} images but {labels_path} "
                         f"holds {len(labels)} labels")
    images = (images.astype(np.float32) / np.float32(255.0))[:, None]
    labels = labels.astype(np.int64)
    if as_arrays:
        return images, labels
    _require_torch("load_mnist and load_fashion_mnist without as_arrays=True")
    return torch.from_numpy(images), torch.from_numpy(labels)


def load_mnist(split: str = "train", as_arrays: bool = False):
    """Load the MNIST digits.

    Inputs:
    - split: "train" (60,000 images) or "test" (10,000 images).
    - as_arrays: return NumPy arrays instead of torch tensors (for NumPy-only
      work; torch need not be installed then).

    Returns (images, labels): images of shape (D, 1, 28, 28), float32 in
    [0, 1]; labels of shape (D,), int64 in 0..9 (torch tensors, or NumPy
    arrays with ``as_arrays=True``; flatten with ``images.reshape(D, 784)``).

    Looks in ``data_dir()/mnist/`` first; when the files are missing it uses the
    small sample in ``data/fixtures/mnist/`` (see ``fixture_dirs``) if ``FAST`` is set, and otherwise
    downloads them into ``data_dir()/mnist/``. Offline and missing is a
    FileNotFoundError that names the folder and the files it needs.
    """
    return _load("mnist", split, as_arrays)


def load_fashion_mnist(split: str = "train", as_arrays: bool = False):
    """Load Fashion-MNIST (ten kinds of clothing); same shapes and rules as
    ``load_mnist``. Besides ``data_dir()/fashion-mnist/`` it also looks in
    ``/usr/share/datasets/fashion-mnist/`` (Debian's dataset-fashion-mnist)."""
    return _load("fashion-mnist", split, as_arrays)


# ---------------------------------------------------------------------------
# Training and evaluation loops for image classifiers
# ---------------------------------------------------------------------------

_OPTIMISERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam} if torch is not None else {}


def _make_optimiser(optimizer, parameters, lr: float, weight_decay: float | None = None):
    """The optimiser `train` uses: `optimizer` is a name of `_OPTIMISERS` or a callable such as
    ``functools.partial(torch.optim.SGD, momentum=0.9)``.

    `weight_decay` reaches the optimiser only when it is given (not None), so a callable that
    already fixes its own weight decay, e.g. ``partial(SGD, weight_decay=1e-4)``, keeps it. A
    weight decay given both ways is refused rather than one silently overriding the other.
    """
    keywords = getattr(optimizer, "keywords", None)
    if weight_decay is not None and isinstance(keywords, dict) and "weight_decay" in keywords:
        raise ValueError(f"weight_decay is given twice: weight_decay={weight_decay!r} and inside the optimizer "
                         f"(weight_decay={keywords['weight_decay']!r}); give it in one place only")
    if isinstance(optimizer, str):
        if optimizer.lower() not in _OPTIMISERS:
            raise ValueError(f"optimizer must be one of {sorted(_OPTIMISERS)} or a callable, "
                             f"got {optimizer!r}")
        optimizer = _OPTIMISERS[optimizer.lower()]
    if weight_decay is None:
        return optimizer(parameters, lr=lr)
    return optimizer(parameters, lr=lr, weight_decay=weight_decay)


def train(model: nn.Module, data, epochs: int, lr: float, batch_size: int,
          optimizer="sgd", weight_decay: float | None = None, loss_fn=None,
          progress: bool = True, test_data=None, lr_schedule=None) -> dict[str, list[float]]:
    """Train a classifier on in-memory tensors.

    Inputs:
    - model: maps inputs of shape (B, ...) to class scores (logits) of shape (B, C).
    - data: a pair (inputs, labels): inputs of shape (D, ...), labels of shape
      (D,) int64, e.g. what ``load_mnist`` returns.
    - epochs: number of passes through the data.
    - lr: learning rate.
    - batch_size: samples per mini-batch; the data are reshuffled every epoch.
    - optimizer: "sgd", "adam", or a callable called as ``optimizer(model.parameters(), lr=lr)``
      (with ``weight_decay=weight_decay`` added when that is given), e.g.
      ``functools.partial(torch.optim.SGD, momentum=0.9)``.
    - weight_decay: L2 penalty passed to the optimiser; None leaves the optimiser's own. Giving it
      both here and inside ``optimizer`` is an error.
    - loss_fn: ``loss_fn(scores, labels)`` returning a scalar; None (the default) is
      ``F.cross_entropy``.
    - progress: show a progress bar over the mini-batches.
    - test_data: optional pair (inputs, labels) like ``data``, measured with
      ``evaluate`` after every epoch.
    - lr_schedule: optional function of the mini-batch number (0, 1, 2, ... counted
      across epochs) that returns the learning rate of that mini-batch, e.g. a
      cyclical schedule; None keeps ``lr`` throughout.

    Returns a history ``{"loss": [...], "accuracy": [...]}`` with one entry per
    epoch: the mean training loss and the fraction of training samples
    classified correctly while training. With ``test_data`` it also holds
    ``"test_loss"`` and ``"test_accuracy"``, one entry per epoch.
    """
    _require_torch("train")
    loss_fn = F.cross_entropy if loss_fn is None else loss_fn
    inputs, labels = data
    optimiser = _make_optimiser(optimizer, model.parameters(), lr, weight_decay)
    batches_per_epoch = -(-len(inputs) // batch_size)
    history = {"loss": [], "accuracy": []}
    if test_data is not None:
        history.update(test_loss=[], test_accuracy=[])
    iteration = 0
    with _progress(total=epochs * batches_per_epoch, desc="training", disable=not progress) as bar:
        for epoch in range(epochs):
            model.train()
            total_loss, correct = 0.0, 0
            for batch in torch.randperm(len(inputs)).split(batch_size):
                if lr_schedule is not None:
                    for group in optimiser.param_groups:
                        group["lr"] = float(lr_schedule(iteration))
                iteration += 1
                scores = model(inputs[batch])
                loss = loss_fn(scores, labels[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total_loss += loss.item() * len(batch)
                correct += (scores.argmax(dim=1) == labels[batch]).sum().item()
                bar.update()
            history["loss"].append(total_loss / len(inputs))
            history["accuracy"].append(correct / len(inputs))
            if test_data is not None:  # evaluate switches to eval mode; the next epoch switches back
                test_loss, test_accuracy = evaluate(model, test_data, loss_fn=loss_fn)
                history["test_loss"].append(test_loss)
                history["test_accuracy"].append(test_accuracy)
            bar.set_postfix(epoch=epoch + 1, loss=f"{history['loss'][-1]:.4f}",
                            accuracy=f"{history['accuracy'][-1]:.3f}")
    return history


def evaluate(model: nn.Module, data, batch_size: int = 1000, loss_fn=None,
             progress: bool = False) -> tuple[float, float]:
    """Measure a classifier's mean loss and accuracy, in evaluation mode
    (dropout off, batch norm using its running statistics).

    Inputs:
    - model: maps inputs of shape (B, ...) to class scores of shape (B, C).
    - data: a pair (inputs, labels) of shapes (D, ...) and (D,).
    - batch_size: samples per forward pass (only memory depends on it).
    - loss_fn: as in ``train``.
    - progress: show a progress bar over the batches.

    Returns (mean loss, accuracy), two floats.
    """
    _require_torch("evaluate")
    with torch.no_grad():
        return _evaluate(model, data, batch_size, F.cross_entropy if loss_fn is None else loss_fn, progress)


def _evaluate(model, data, batch_size, loss_fn, progress) -> tuple[float, float]:
    inputs, labels = data
    model.eval()
    total_loss, correct = 0.0, 0
    for batch in _progress(torch.arange(len(inputs)).split(batch_size), desc="evaluating",
                      disable=not progress, leave=False):
        scores = model(inputs[batch])
        total_loss += loss_fn(scores, labels[batch]).item() * len(batch)
        correct += (scores.argmax(dim=1) == labels[batch]).sum().item()
    return total_loss / len(inputs), correct / len(inputs)
