"""The NumPy-only assignment: its sandbox without torch, its grading speed, and what the reference
network reaches on the kit's MNIST data.

    nice python benchmarks/bench_numpy_mlp.py [--runs 3] [--epochs 20] [--data mnist|fashion-mnist]
                                              [--skip-speed] [--skip-training]

1. Zygote start-up: a zygote with numpy_mlp's preloads (numpy, matplotlib.pyplot, utils; torch
   blocked) against one with the default preloads (torch included), started `--runs` times each,
   in the same run: the median of each and their ratio.
2. Grading the sample class (examples/submissions/numpy_mlp, 17 notebooks) `--runs` times with 2
   jobs in one zygote: each submission's wall time around `grade.grade_submission` (median over
   submissions and runs), and the whole batch (reference run included) divided by the submissions.
3. Training: the reference's MLP and get_training_stats, run as the notebook's Q6 runs them (784-64-32-10,
   sigmoid, batches of 100, lr 0.008, N(0, 1) weights, seed 11785) with plain SGD and with momentum 0.9 and
   one batch norm layer, for `--epochs` epochs, on the data `utils.load_mnist` finds: the full MNIST
   (50,000 training and 10,000 validation images) when it is in utils.data_dir(), else the fixture's
   2,000 images when COURSE_FAST=1 is set (1,667 for training, 333 for validation). Prints the last epoch's
   training and validation loss and error, against the handout's targets (loss about 0.3, error
   about 0.1). `--data fashion-mnist` trains on Fashion-MNIST instead (`utils.load_fashion_mnist`,
   which also reads Debian's /usr/share/datasets/fashion-mnist/): the same network on harder images,
   for a full-size run where MNIST itself cannot be downloaded. Run it with OPENBLAS_NUM_THREADS=1 on
   a shared machine: batches of 100 are too small for BLAS threads to pay.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import REPO_ROOT, command, machine, table_header, table_row, timed_calls, today

sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "nn_course_kit")]
from autograder import paths  # noqa: E402
from autograder.grading import grade  # noqa: E402
from autograder.grading.config import load_config  # noqa: E402
from autograder.sandbox import Zygote  # noqa: E402

ASSIGNMENT = "numpy_mlp"


def zygote_starts(runs: int) -> dict[str, float]:
    config = load_config(ASSIGNMENT)
    kinds = {"numpy_mlp (no torch)": dict(preload=config.preload, blocked=config.blocked_imports),
             "default (torch)": {}}
    times = {name: [] for name in kinds}
    for _ in range(runs):
        for name, options in kinds.items():
            started = time.perf_counter()
            with Zygote(config.limits, **options):
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def grading(runs: int) -> tuple[float, float, int]:
    config = load_config(ASSIGNMENT)
    samples = paths.REPO_ROOT / "examples" / "submissions" / ASSIGNMENT
    per_batch = []
    with timed_calls(grade, "grade_submission") as per_submission, \
            Zygote(config.limits, config.preload, blocked=config.blocked_imports) as zygote:
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as out:
                started = time.perf_counter()
                result = grade.grade_assignment(config, samples, Path(out), jobs=2, force=True, progress=False,
                                                zygote=zygote)
                per_batch.append((time.perf_counter() - started) / len(result.students))
    return statistics.median(per_submission), statistics.median(per_batch), len(result.students)


def training(epochs: int, dataset: str) -> tuple[str, dict]:
    import numpy as np

    from autograder.analysis.extract import extract
    from autograder.analysis.notebook import read_notebook
    from autograder.sandbox.loader import load_module

    import utils
    reference = load_module(extract(read_notebook(paths.source_notebook(ASSIGNMENT))).source, "numpy_mlp_reference")
    load = utils.load_mnist if dataset == "mnist" else utils.load_fashion_mnist
    images, labels = load("train", as_arrays=True)
    images = images.reshape(len(images), -1).astype(float)
    validation = len(images) // 6
    data = ((images[validation:], labels[validation:]), (images[:validation], labels[:validation]), None)
    described = (f"{dataset}{' (the fixture)' if len(images) < 60_000 else ''}: {len(images) - validation:,} training, "
                 f"{validation:,} validation images")
    results = {}
    for name, options in (("plain SGD, lr 0.008", dict(lr=0.008)),
                          ("momentum 0.9 + batch norm", dict(lr=0.008, momentum=0.9, num_bn_layers=1))):
        np.random.seed(11785)
        mlp = reference.MLP(784, 10, [64, 32], [reference.Sigmoid(), reference.Sigmoid(), reference.Identity()],
                            reference.random_normal_weight_init, reference.zeros_bias_init,
                            reference.SoftmaxCrossEntropy(), **options)
        started = time.perf_counter()
        stats = reference.get_training_stats(mlp, data, epochs, 100)
        results[name] = [float(value[-1]) for value in stats] + [time.perf_counter() - started]
    return described, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--data", choices=("mnist", "fashion-mnist"), default="mnist")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-training", action="store_true")
    options = parser.parse_args()
    print(f"{machine()}; {today()}; {command()}\n")
    if not options.skip_speed:
        speed(options.runs)
    if not options.skip_training:
        described, results = training(options.epochs, options.data)
        print(f"\nTraining, {options.epochs} epochs on {described}:\n")
        print(table_header(["setting", "training loss", "training error", "validation loss", "validation error",
                            "seconds"]))
        for name, (loss, error, val_loss, val_error, seconds) in results.items():
            print(table_row([name, f"{loss:.3f}", f"{error:.3f}", f"{val_loss:.3f}", f"{val_error:.3f}",
                             f"{seconds:.0f}"]))


def speed(runs: int) -> None:
    starts = zygote_starts(runs)
    print(table_header(["zygote", f"start-up, median of {runs}"]))
    for name, seconds in starts.items():
        print(table_row([name, f"{seconds:.2f} s"]))
    print(f"\nratio default / numpy_mlp: {starts['default (torch)'] / starts['numpy_mlp (no torch)']:.1f}\n")
    submission, batch, count = grading(runs)
    print(table_header(["grading the numpy_mlp samples", "seconds"]))
    print(table_row([f"per submission, median of {count} x {runs}", f"{submission:.3f}"]))
    print(table_row(["batch / submissions (reference run included), median", f"{batch:.3f}"]))


if __name__ == "__main__":
    main()
