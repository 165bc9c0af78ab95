"""One training epoch of the mnist_cnn CNN: the kit's in-memory loader against a tutorial-style one.

    nice .venv/bin/python benchmarks/bench_mnist_loader.py [--images 10000] [--repeats 3]

Both sides train the same network (the reference `CNN` of source/mnist_cnn, fresh and identically
seeded each repeat) with the same batch size, SGD and learning rate, for one epoch on the same
images, in one process:

- kit: `utils.train`, which keeps the images as one float tensor and draws each mini-batch by
  indexing it with a slice of a random permutation;
- tutorial: what the PyTorch beginner tutorial builds, a `Dataset` whose `__getitem__` turns one
  stored 28x28 uint8 image into a PIL image and then a float tensor (as torchvision's MNIST with
  `ToTensor()` does), a shuffling `DataLoader` that collates the items into batches, and the
  tutorial's training loop.

The data are the real MNIST test images (`t10k-*-ubyte.gz`) in `utils.data_dir()/mnist/`, the folder
the notebooks read (`$COURSE_DATA/mnist/`, default `nn_course_kit/data/mnist/`), read with `utils.read_idx`. The median of the repeats is reported as a
Markdown table with the machine, the date and the command.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402  (after the path set-up above)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

import common  # noqa: E402
import utils  # noqa: E402
from autograder.analysis.extract import extract  # noqa: E402
from autograder.sandbox.loader import load_module  # noqa: E402
from autograder.analysis.notebook import read_notebook  # noqa: E402

BATCH_SIZE = 64
LEARNING_RATE = 0.05
SEED = 0
LOADERS = {"kit": "kit: `utils.train`, in-memory tensors, batches by index",
           "tutorial": "tutorial: per-item `Dataset` (PIL, ToTensor) + `DataLoader`"}


# ------------------------------------------------------------------ shared with bench_mnist_accuracy


def mnist_test_set() -> tuple[torch.Tensor, torch.Tensor]:
    """The 10,000 real MNIST test images (N, 1, 28, 28) float32 in [0, 1] and labels (N,) int64.

    Exits with a clear message when ``utils.data_dir()/mnist`` does not hold them.
    """
    folder = utils.data_dir() / "mnist"
    files = [folder / "t10k-images-idx3-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz"]
    missing = [path.name for path in files if not path.is_file()]
    if missing:
        sys.exit(f"error: {', '.join(missing)} not found in {folder}; put the MNIST test set there "
                 "or set COURSE_DATA to a folder whose mnist/ holds it (t10k-*-ubyte.gz)")
    images = torch.from_numpy(utils.read_idx(files[0])).float().div_(255).unsqueeze(1)
    return images, torch.from_numpy(utils.read_idx(files[1])).long()


def reference_module():
    """The model solutions of the mnist_cnn notebook (its classes and settings functions)."""
    notebook = REPO / "source" / "mnist_cnn" / "mnist_cnn.ipynb"
    return load_module(extract(read_notebook(notebook)).source, "mnist_cnn_reference")


def machine() -> str:
    """CPU model, usable cores, and the torch build and thread count the timings used."""
    return f"{common.machine()}, torch {torch.__version__} ({torch.get_num_threads()} threads)"


def provenance() -> str:
    """Where and when the table was made, and the command that made it."""
    return f"machine: {machine()}  \ndate: {common.today()}  \ncommand: {common.command()}"


# ------------------------------------------------------------------ the tutorial-style pipeline


class TutorialMNIST(torch.utils.data.Dataset):
    """MNIST as torchvision serves it: uint8 images kept in memory, converted one at a time.

    Item i is (image (1, 28, 28) float32 in [0, 1], label int).
    """

    def __init__(self, images_uint8: np.ndarray, labels: np.ndarray):
        self.images, self.labels = images_uint8, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index):
        image = Image.fromarray(self.images[index], mode="L")  # torchvision hands transforms a PIL image
        tensor = torch.from_numpy(np.array(image, copy=True)).view(1, 28, 28)  # ToTensor: to C x H x W
        return tensor.float().div(255), int(self.labels[index])


def tutorial_epoch(model, dataloader, optimizer) -> None:
    """The tutorial's train_loop: forward, loss, backward, step, for every batch of the loader."""
    model.train()
    for images, labels in dataloader:
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


# ------------------------------------------------------------------ timing


def fresh_model(reference, name: str):
    """A new instance of the notebook's class ``name``, seeded so every repeat starts the same."""
    torch.manual_seed(SEED)
    return getattr(reference, name)()


def time_kit(reference, name, data) -> float:
    model = fresh_model(reference, name)
    start = time.perf_counter()
    utils.train(model, data, epochs=1, lr=LEARNING_RATE, batch_size=BATCH_SIZE, progress=False)
    return time.perf_counter() - start


def time_tutorial(reference, name, images_uint8, labels) -> float:
    model = fresh_model(reference, name)
    loader = torch.utils.data.DataLoader(TutorialMNIST(images_uint8, labels), batch_size=BATCH_SIZE, shuffle=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    start = time.perf_counter()
    tutorial_epoch(model, loader, optimizer)
    return time.perf_counter() - start


def time_model(reference, name: str, images, labels, repeats: int) -> dict[str, list[float]]:
    """Seconds per epoch of ``name`` with each loader, ``repeats`` epochs each, interleaved so that
    a slow spell of a shared machine hits both loaders alike."""
    images_uint8 = (images.squeeze(1) * 255).round().to(torch.uint8).numpy()
    seconds = {"kit": [], "tutorial": []}
    for repeat in range(repeats):
        seconds["kit"].append(time_kit(reference, name, (images, labels)))
        seconds["tutorial"].append(time_tutorial(reference, name, images_uint8, labels.numpy()))
        print(f"{name} repeat {repeat + 1}: kit {seconds['kit'][-1]:.2f} s, "
              f"tutorial {seconds['tutorial'][-1]:.2f} s", file=sys.stderr)
    return seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000, help="training images per epoch (at most 10,000)")
    parser.add_argument("--repeats", type=int, default=3, help="epochs timed per loader; the median is reported")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: steadier timings on a shared machine)")
    parser.add_argument("--models", nargs="+", default=["CNN", "MLP"], choices=["CNN", "MLP"],
                        help="notebook classes to time (default: CNN, then MLP for contrast)")
    args = parser.parse_args(argv)
    if not 1 <= args.images <= 10_000 or args.repeats < 1:
        parser.error("--images must be in 1..10000 and --repeats at least 1")
    torch.set_num_threads(args.threads)

    images, labels = mnist_test_set()
    images, labels = images[: args.images], labels[: args.images]
    reference = reference_module()
    timings = {name: time_model(reference, name, images, labels, args.repeats) for name in args.models}

    print(f"One training epoch on {args.images:,} MNIST images, batch size {BATCH_SIZE}, SGD lr "
          f"{LEARNING_RATE}; median of {args.repeats} epochs per loader.\n")
    print("| model | loader | median epoch (s) | all epochs (s) | images per second | kit speed-up |")
    print("| --- | --- | ---: | --- | ---: | ---: |")
    for name, seconds in timings.items():
        size = f"{name} ({sum(p.numel() for p in fresh_model(reference, name).parameters()):,} parameters)"
        speed_up = statistics.median(seconds["tutorial"]) / statistics.median(seconds["kit"])
        for loader, label in LOADERS.items():
            median = statistics.median(seconds[loader])
            print(f"| {size} | {label} | {median:.2f} | {', '.join(f'{s:.2f}' for s in seconds[loader])} "
                  f"| {args.images / median:,.0f} | {f'{speed_up:.2f}x' if loader == 'kit' else ''} |")
    print()
    print(provenance())


if __name__ == "__main__":
    main()
