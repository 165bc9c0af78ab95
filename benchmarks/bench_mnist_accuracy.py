"""Test accuracy and training time of every mnist_cnn variant at full settings, on the data a machine
without internet has.

    nice .venv/bin/python benchmarks/bench_mnist_accuracy.py [--datasets mnist-split fashion-mnist]

The models and hyperparameters are the model solutions of source/mnist_cnn/mnist_cnn.ipynb (its
`MLP`, `CNN`, `RegularisedCNN`, `BatchNormCNN` and `*_settings()`), trained with the notebook's own
`train_and_test`, which measures the test set after every epoch. Two data sets:

- mnist-split: the full MNIST training set cannot be downloaded here, so the 10,000 real MNIST
  test images (in `$COURSE_DATA/mnist/`, default `nn_course_kit/data/mnist/`) are split into the
  first 8,000 for training and the last 2,000 for testing. With 7.5 times less training data than
  MNIST proper, the accuracies sit below the notebook's full-data expectations (MLP 98%, CNN 99%),
  but the ranking of the variants and the size of the gaps carry over.
- fashion-mnist: the full Fashion-MNIST (60,000 / 10,000) installed by Debian's
  dataset-fashion-mnist in /usr/share/datasets/fashion-mnist (or `$FASHION_MNIST_DIR`), the same
  models unchanged.

Prints one Markdown table per data set (final and best test accuracy, final training loss, time),
then the machine, the date and the command.
"""
import argparse
import os
import sys
from pathlib import Path

import torch

# bench_mnist_loader puts the repository on sys.path, so utils imports after it.
from bench_mnist_loader import mnist_test_set, provenance, reference_module
import utils  # noqa: E402

MNIST_TRAIN_IMAGES = 8_000  # of the 10,000 test images; the other 2,000 are the test set
VARIANTS = {  # name in the table -> (class, settings function) in the notebook
    "MLP": ("MLP", "mlp_settings"),
    "CNN": ("CNN", "mlp_settings"),  # Q3b: trained exactly like the MLP
    "RegularisedCNN": ("RegularisedCNN", "regularised_settings"),
    "BatchNormCNN": ("BatchNormCNN", "batchnorm_settings"),
}


def fashion_mnist() -> tuple[tuple, tuple]:
    """Full Fashion-MNIST as ((train images, labels), (test images, labels)); exits with a clear
    message when the files are missing."""
    folder = Path(os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
    names = {split: (folder / f"{prefix}-images-idx3-ubyte.gz", folder / f"{prefix}-labels-idx1-ubyte.gz")
             for split, prefix in (("train", "train"), ("test", "t10k"))}
    missing = [path.name for pair in names.values() for path in pair if not path.is_file()]
    if missing:
        sys.exit(f"error: {', '.join(missing)} not found in {folder}; install Debian's dataset-fashion-mnist "
                 "or set FASHION_MNIST_DIR to the folder holding the four .gz files")

    def load(images_path, labels_path):
        images = torch.from_numpy(utils.read_idx(images_path)).float().div_(255).unsqueeze(1)
        return images, torch.from_numpy(utils.read_idx(labels_path)).long()

    return load(*names["train"]), load(*names["test"])


def mnist_split() -> tuple[tuple, tuple]:
    images, labels = mnist_test_set()
    return ((images[:MNIST_TRAIN_IMAGES], labels[:MNIST_TRAIN_IMAGES]),
            (images[MNIST_TRAIN_IMAGES:], labels[MNIST_TRAIN_IMAGES:]))


DATASETS = {"mnist-split": ("MNIST test set split 8,000 train / 2,000 test", mnist_split),
            "fashion-mnist": ("Fashion-MNIST, full: 60,000 train / 10,000 test", fashion_mnist)}


def run_variant(reference, name: str, train_data, test_data) -> dict:
    """Train one variant from the notebook's seed with its settings; the history of train_and_test."""
    class_name, settings_name = VARIANTS[name]
    utils.seed_everything(reference.SEED)
    model = getattr(reference, class_name)()
    history = reference.train_and_test(model, getattr(reference, settings_name)(), train_data, test_data)
    print(f"{name}: test accuracy {100 * history['test_accuracy'][-1]:.2f}% after "
          f"{len(history['loss'])} epochs, {history['seconds']:.0f} s", file=sys.stderr)
    return history


def table(reference, title: str, histories: dict) -> str:
    rows = [f"**{title}**", "",
            "| variant | settings | final test accuracy | best test accuracy (epoch) | final training loss | time (s) |",
            "| --- | --- | ---: | ---: | ---: | ---: |"]
    for name, history in histories.items():
        settings = getattr(reference, VARIANTS[name][1])()
        described = ", ".join(f"{key}={reference.describe(value)}" for key, value in settings.items())
        accuracies = history["test_accuracy"]
        best = max(range(len(accuracies)), key=accuracies.__getitem__)
        rows.append(f"| {name} | {described} | {100 * accuracies[-1]:.2f}% | {100 * accuracies[best]:.2f}% ({best + 1}) "
                    f"| {history['loss'][-1]:.4f} | {history['seconds']:.0f} |")
    return "\n".join(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: steadier on a shared machine)")
    args = parser.parse_args(argv)
    if utils.FAST:
        sys.exit("error: COURSE_FAST is set; this benchmark measures the full settings, so unset it")
    torch.set_num_threads(args.threads)

    reference = reference_module()
    loaded = {key: DATASETS[key][1]() for key in args.datasets}  # fail on missing data before training
    tables = []
    for key, (train_data, test_data) in loaded.items():
        histories = {name: run_variant(reference, name, train_data, test_data) for name in args.variants}
        tables.append(table(reference, DATASETS[key][0], histories))
    print("\n\n".join(tables))
    print()
    print(provenance())


if __name__ == "__main__":
    main()
