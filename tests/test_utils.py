"""Tests of utils.py, the helper module every notebook imports."""

import gzip
import importlib.util
import re
import shutil

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import utils  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --- seeds and UClasses -----------------------------------------------------------------------

def test_seed_everything_makes_random_draws_repeat():
    utils.seed_everything(7)
    first = (np.random.rand(), torch.rand(1).item())
    utils.seed_everything(7)
    assert (np.random.rand(), torch.rand(1).item()) == first


def test_uclasses_shapes_and_dtypes():
    data = utils.UClasses(n_samples=120, n_classes=4, input_dim=5, noise=0.2, seed=0)
    assert len(data) == 120
    assert data.inputs().shape == (120, 5) and data.inputs().dtype == torch.float32
    assert data.targets().shape == (120, 4) and data.targets().dtype == torch.float32
    assert data.classes().shape == (120,) and data.classes().dtype == torch.int64
    x, t = data[3]
    assert x.shape == (5,) and t.shape == (4,)


def test_uclasses_targets_are_one_hot_rows_of_the_classes():
    data = utils.UClasses(n_samples=200, n_classes=3, seed=1)
    assert torch.equal(data.targets().sum(dim=1), torch.ones(200))
    assert torch.equal(data.targets().argmax(dim=1), data.classes())
    assert set(data.classes().tolist()) == {0, 1, 2}


def test_uclasses_features_differ_by_orders_of_magnitude():
    inputs = utils.UClasses(n_samples=2000, n_classes=3, input_dim=3, seed=2).inputs()
    spreads, means = inputs.std(dim=0), inputs.mean(dim=0).abs()
    assert spreads.max() / spreads.min() > 10
    assert means.max() / means.min() > 10
    # every feature sits away from zero, so centring matters as much as scaling
    assert torch.all(means > spreads)


def test_uclasses_is_determined_by_its_seed():
    first = utils.UClasses(n_samples=50, seed=11)
    again = utils.UClasses(n_samples=50, seed=11)
    other = utils.UClasses(n_samples=50, seed=12)
    assert torch.equal(first.inputs(), again.inputs())
    assert torch.equal(first.classes(), again.classes())
    assert not torch.equal(first.inputs(), other.inputs())


def test_uclasses_without_seed_follows_seed_everything():
    utils.seed_everything(3)
    first = utils.UClasses(n_samples=40).inputs()
    utils.seed_everything(3)
    assert torch.equal(utils.UClasses(n_samples=40).inputs(), first)


def test_uclasses_rejects_empty_sizes():
    with pytest.raises(ValueError, match="at least 1"):
        utils.UClasses(n_samples=0)


def test_uclasses_plot_is_labelled():
    data = utils.UClasses(n_samples=90, n_classes=3, seed=0)
    ax = data.plot()
    assert ax.get_title() and ax.get_xlabel() == "feature 0" and ax.get_ylabel() == "feature 1"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1", "class 2"]


# --- NNBase ---------------------------------------------------------------------------------

class TinyNet(utils.NNBase):
    def __init__(self, input_dim, n_classes):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(input_dim, 16), nn.LeakyReLU(), nn.Linear(16, n_classes))
        self.loss_fcn = nn.CrossEntropyLoss()

    def forward(self, x):
        # scale the inputs by hand so that plain SGD is stable on UClasses
        return self.layers(x / 100.0)


class ForgetfulNet(utils.NNBase):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(2, 3)

    def forward(self, x):
        return self.layer(x)


def test_learn_lowers_the_loss_and_returns_one_value_per_epoch():
    torch.manual_seed(0)
    data = utils.UClasses(n_samples=300, n_classes=3, seed=0)
    losses = TinyNet(2, 3).learn(data, epochs=15, lr=0.5, batch_size=20, progress=False)
    assert len(losses) == 15 and all(isinstance(v, float) for v in losses)
    assert losses[-1] < 0.6 * losses[0]


def test_learn_without_loss_function_says_what_to_do():
    data = utils.UClasses(n_samples=20, seed=0)
    with pytest.raises(NotImplementedError, match=r"ForgetfulNet.*self\.loss_fcn"):
        ForgetfulNet().learn(data, epochs=1, lr=0.1, batch_size=5, progress=False)


# --- plot_learning_curves -------------------------------------------------------------------------

def test_plot_learning_curves_draws_a_mean_and_band_per_method():
    rng = np.random.default_rng(0)
    curves = {"plain": rng.random((4, 6)), "batchnorm": rng.random((4, 6)) / 2}
    ax = utils.plot_learning_curves(curves, title="Plain vs batchnorm")
    assert len(ax.lines) == 2 and len(ax.collections) == 2
    assert np.allclose(ax.lines[0].get_ydata(), curves["plain"].mean(axis=0))
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3, 4, 5, 6]
    assert ax.get_title() == "Plain vs batchnorm"
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith("plain") and legend[1].startswith("batchnorm")


def test_plot_learning_curves_uses_the_given_axes():
    _, (left, right) = plt.subplots(1, 2)
    assert utils.plot_learning_curves({"a": [[1.0, 0.5]]}, ax=right) is right
    assert not left.lines


def test_plot_learning_curves_rejects_a_single_curve():
    with pytest.raises(ValueError, match=r"\(trials, epochs\)"):
        utils.plot_learning_curves({"a": [1.0, 0.5, 0.2]})


# --- IDX files ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_idx_round_trip(tmp_path, name):
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    utils.write_idx(tmp_path / name, images)
    loaded = utils.read_idx(tmp_path / name, expected_magic=0x803)
    assert loaded.dtype == np.uint8 and np.array_equal(loaded, images)


def test_read_idx_rejects_the_wrong_magic_number(tmp_path):
    utils.write_idx(tmp_path / "labels.gz", np.arange(10, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"labels\.gz has magic number 0x00000801, expected 0x00000803"):
        utils.read_idx(tmp_path / "labels.gz", expected_magic=0x803)


def test_read_idx_rejects_a_file_that_is_not_idx(tmp_path):
    path = tmp_path / "notes.txt.gz"
    with gzip.open(path, "wb") as stream:
        stream.write(b"hello, world")
    with pytest.raises(ValueError, match="is not an IDX file"):
        utils.read_idx(path)


def test_read_idx_rejects_a_truncated_file(tmp_path):
    utils.write_idx(tmp_path / "images", np.zeros((3, 4, 4), dtype=np.uint8))
    (tmp_path / "images").write_bytes((tmp_path / "images").read_bytes()[:-5])
    with pytest.raises(ValueError, match=r"declares shape \(3, 4, 4\)"):
        utils.read_idx(tmp_path / "images")


# --- finding and loading data sets ------------------------------------------------------------

def test_data_dir_follows_course_data(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    assert utils.data_dir() == tmp_path
    monkeypatch.delenv("COURSE_DATA")
    assert utils.data_dir() == utils.fixture_dir().parent


def test_missing_data_offline_names_the_folder_and_the_files(monkeypatch, tmp_path):
    def offline(url, destination):
        raise OSError("network is unreachable")

    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    monkeypatch.setattr(utils, "FAST", False)
    monkeypatch.setattr(utils, "_fetch", offline)
    with pytest.raises(FileNotFoundError) as caught:
        utils.load_mnist("test")
    message = str(caught.value)
    assert str(tmp_path / "mnist") in message
    assert "t10k-images-idx3-ubyte.gz" in message and "t10k-labels-idx1-ubyte.gz" in message
    assert "network is unreachable" in message and "COURSE_DATA" in message


def test_download_fills_the_data_folder(monkeypatch, tmp_path):
    """A successful download leaves the official files in data_dir()/mnist and loads them."""
    def fake_fetch(url, destination):
        source = utils.fixture_dir() / "mnist" / url.rsplit("/", 1)[1]
        destination.write_bytes(source.read_bytes())

    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    monkeypatch.setattr(utils, "FAST", False)
    monkeypatch.setattr(utils, "_fetch", fake_fetch)
    images, labels = utils.load_mnist("test")
    assert images.shape == (500, 1, 28, 28) and labels.shape == (500,)
    assert (tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz").is_file()


def test_load_rejects_an_unknown_split():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        utils.load_mnist("validation")


@pytest.mark.parametrize("loader, key, sizes", [
    (utils.load_mnist, "mnist", {"train": 2000, "test": 500}),
    (utils.load_fashion_mnist, "fashion-mnist", {"train": 1000, "test": 250}),
])
def test_fixture_loads_in_fast_mode(monkeypatch, tmp_path, loader, key, sizes):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    monkeypatch.setattr(utils, "FAST", True)
    # hide Debian's copy of Fashion-MNIST so that the fixture is what loads
    monkeypatch.setitem(utils._DATASETS[key], "system_dirs", [])
    for split, size in sizes.items():
        images, labels = loader(split)
        assert images.shape == (size, 1, 28, 28) and images.dtype == torch.float32
        assert labels.shape == (size,) and labels.dtype == torch.int64
        assert images.min() == 0.0 and images.max() == 1.0
        assert set(labels.tolist()) == set(range(10))


def test_a_release_folders_copy_finds_the_samples_of_the_installed_kit(monkeypatch, tmp_path):
    """A student's release folder holds utils.py but no data/: fast mode loads the samples that the
    installed nn_course_kit package ships, offline; with none anywhere, the error says where it looked."""
    release = tmp_path / "release"
    release.mkdir()
    shutil.copy(utils.__file__, release / "utils.py")
    spec = importlib.util.spec_from_file_location("release_utils", release / "utils.py")
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)

    def offline(url, destination):
        raise OSError("network is unreachable")

    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(copy, "FAST", True)
    monkeypatch.setattr(copy, "_fetch", offline)
    assert copy.fixture_dirs()[0] == release / "data" / "fixtures"
    images, labels = copy.load_mnist("test")
    assert images.shape == (500, 1, 28, 28) and labels.shape == (500,)
    monkeypatch.setattr(copy, "fixture_dirs", lambda: [release / "data" / "fixtures"])
    with pytest.raises(FileNotFoundError, match="Fast mode .COURSE_FAST=1. found no sample either, in "
                                                f"{re.escape(str(release / 'data' / 'fixtures' / 'mnist'))}"):
        copy.load_mnist("test")


# --- train and evaluate ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(utils, "FAST", True)
        patch.setenv("COURSE_DATA", "/nonexistent")
        return utils.load_mnist("train"), utils.load_mnist("test")


def test_train_and_evaluate_improve_accuracy_on_the_fixture(digits):
    train_set, test_set = digits
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    _, accuracy_before = utils.evaluate(model, test_set)
    history = utils.train(model, train_set, epochs=5, lr=0.1, batch_size=50, progress=False)
    loss_after, accuracy_after = utils.evaluate(model, test_set, batch_size=128)
    assert set(history) == {"loss", "accuracy"} and len(history["loss"]) == 5
    assert history["loss"][-1] < history["loss"][0]
    assert accuracy_before < 0.3 and accuracy_after > 0.75
    assert loss_after < history["loss"][0]
    assert not model.training  # evaluate leaves the model in evaluation mode


def test_train_accepts_adam_and_an_optimiser_factory(digits):
    train_set, _ = digits
    small = (train_set[0][:200], train_set[1][:200])
    built = []

    def factory(parameters, lr, weight_decay):
        built.append((lr, weight_decay))
        return torch.optim.SGD(parameters, lr=lr, momentum=0.9, weight_decay=weight_decay)

    for optimizer in ("adam", factory):
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
        utils.train(model, small, epochs=1, lr=0.01, batch_size=50, optimizer=optimizer,
                    weight_decay=1e-4, progress=False)
        assert model.training
    assert built == [(0.01, 1e-4)]


def _weight_decay_of(optimizer, **kwargs) -> float:
    parameters = [torch.nn.Parameter(torch.ones(3))]
    return utils._make_optimiser(optimizer, parameters, 0.1, **kwargs).param_groups[0]["weight_decay"]


def test_a_weight_decay_inside_the_optimiser_is_kept_when_train_gets_none(digits):
    """partial(SGD, weight_decay=...) keeps its decay: train passes weight_decay on only when given."""
    from functools import partial
    assert _weight_decay_of(partial(torch.optim.SGD, weight_decay=1e-3)) == 1e-3
    assert _weight_decay_of(partial(torch.optim.SGD, momentum=0.9), weight_decay=1e-3) == 1e-3
    assert _weight_decay_of("adam", weight_decay=2e-4) == 2e-4
    assert _weight_decay_of("sgd") == 0.0
    # and through train: one step with zero gradients only decays, so the weights shrink
    model = nn.Linear(784, 10, bias=False)
    before = model.weight.detach().clone()
    utils.train(model, (torch.zeros(4, 784), torch.zeros(4, dtype=torch.int64)), epochs=1, lr=0.5,
                batch_size=4, optimizer=partial(torch.optim.SGD, weight_decay=0.1), progress=False)
    assert torch.allclose(model.weight.detach(), before * (1 - 0.5 * 0.1))


@pytest.mark.parametrize("given", [0.0, 1e-4])
def test_a_weight_decay_given_both_ways_is_refused(digits, given):
    from functools import partial
    with pytest.raises(ValueError, match="weight_decay is given twice"):
        utils.train(nn.Linear(784, 10), digits[0], epochs=1, lr=0.1, batch_size=10, weight_decay=given,
                    optimizer=partial(torch.optim.SGD, weight_decay=1e-3), progress=False)


def test_train_rejects_an_unknown_optimiser(digits):
    with pytest.raises(ValueError, match="optimizer must be one of"):
        utils.train(nn.Linear(784, 10), digits[0], epochs=1, lr=0.1, batch_size=10, optimizer="rmsprop")


def test_train_sets_training_mode_even_after_evaluate(digits):
    """Dropout must be active while training, even if the model was just evaluated."""
    train_set, test_set = digits
    modes = []

    class Spy(nn.Module):
        def forward(self, x):
            modes.append(self.training)
            return x

    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10), Spy())
    utils.evaluate(model, test_set)
    modes.clear()
    utils.train(model, (train_set[0][:100], train_set[1][:100]), epochs=1, lr=0.1, batch_size=50,
                progress=False)
    assert modes == [True, True]


def test_train_measures_test_data_after_every_epoch(digits):
    """With test_data, each epoch ends with an evaluation; training batches still run in training
    mode, and the last entry is what evaluate reports for the trained model."""
    train_set, test_set = digits
    small_train, small_test = (train_set[0][:100], train_set[1][:100]), (test_set[0][:60], test_set[1][:60])
    modes = []

    class Spy(nn.Module):
        def forward(self, x):
            modes.append(self.training)
            return x

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10), Spy())
    history = utils.train(model, small_train, epochs=3, lr=0.1, batch_size=50, progress=False,
                          test_data=small_test)
    assert set(history) == {"loss", "accuracy", "test_loss", "test_accuracy"}
    assert len(history["test_loss"]) == len(history["test_accuracy"]) == 3
    # per epoch: two training batches, then one evaluation pass over the 60 test images
    assert modes == [True, True, False] * 3
    assert (history["test_loss"][-1], history["test_accuracy"][-1]) == pytest.approx(utils.evaluate(model, small_test))


# ---- progress bars and tables ----------------------------------------------------------------------

class FakeDisplay:
    """IPython's `display` as a kernel runs it: the bundles shown, and the updates of each handle."""

    def __init__(self):
        self.shown = []

    def __call__(self, bundle, raw=False, display_id=None):
        self.shown.append([bundle])
        shown = self.shown[-1]

        class Handle:
            def update(self, new, raw=False):
                shown.append(new)
        return Handle() if display_id else None


@pytest.fixture
def in_a_kernel(monkeypatch):
    import IPython.display
    fake = FakeDisplay()
    monkeypatch.setattr(IPython.display, "display", fake)
    monkeypatch.setattr(utils, "_kernel_shell", lambda: object())
    return fake


def test_a_bar_in_a_notebook_redraws_one_output_to_its_final_state(in_a_kernel):
    for _ in utils.progress(range(50), desc="loop", mininterval=0):
        pass
    (bar,) = in_a_kernel.shown  # one output, updated in place
    assert bar[-1]["text/plain"].startswith("loop: 100%") and "50/50" in bar[-1]["text/plain"]
    assert all("\r" not in update["text/plain"] for update in bar)


def test_a_bar_outside_a_notebook_is_tqdms_text_bar(capsys):
    for _ in utils.progress(range(3), desc="loop"):
        pass
    assert "\rloop: 100%" in capsys.readouterr().err


def test_a_table_is_displayed_as_markdown_in_a_notebook_and_printed_elsewhere(in_a_kernel, monkeypatch, capsys):
    utils.show_table(["epoch", "loss"], [(1, "0.5"), (2, "a|b")])
    table = "| epoch | loss |\n| ---: | ---: |\n| 1 | 0.5 |\n| 2 | a\\|b |"
    assert in_a_kernel.shown == [[{"text/markdown": table, "text/plain": table}]]
    monkeypatch.setattr(utils, "_kernel_shell", lambda: None)
    utils.show_table(["epoch", "loss"], [(1, "0.5"), (2, "a|b")])
    assert capsys.readouterr().out == table + "\n"


def test_train_sets_the_learning_rate_of_every_batch_from_a_schedule(digits):
    """lr_schedule gets the mini-batch number counted across epochs and sets the rate of that batch;
    a schedule that returns 0 from the third batch on leaves the weights where two batches put them."""
    train_set, _ = digits
    small = (train_set[0][:40], train_set[1][:40])
    seen = []

    def schedule(iteration):
        seen.append(iteration)
        return 0.1 if iteration < 2 else 0.0

    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    utils.train(model, small, epochs=2, lr=5.0, batch_size=20, lr_schedule=schedule, progress=False)
    assert seen == [0, 1, 2, 3]
    after_two = [p.detach().clone() for p in model.parameters()]
    utils.train(model, small, epochs=1, lr=5.0, batch_size=20, lr_schedule=lambda i: 0.0, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), after_two))
