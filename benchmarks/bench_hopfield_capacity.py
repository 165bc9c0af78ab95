"""The capacity of the hopfield_memory lab's network: where recall from a stored pattern falls to 50%.

    nice .venv/bin/python benchmarks/bench_hopfield_capacity.py [--recalls 200] [--sizes 100 200 300 400]

For each network size N and each ratio alpha = M / N on a grid from 0.08 to 0.30 (step 0.01), M
random +-1 patterns are stored with the reference `hebbian_weights` of source/hopfield_memory (new
patterns every M recalls), and the reference `recall` runs asynchronously from a stored pattern, with
b = 0. A recall succeeds when its final state differs from the pattern in at most 5% of the bits,
the criterion of the notebook's Q6. The 50% point is the alpha where a logistic curve
1 / (1 + exp((alpha - a50) / width)), fitted by least squares to the success rates (a grid search,
no SciPy), crosses one half: steadier than the first grid point below one half, since recalls from
one set of patterns are correlated. It is printed beside the asymptotic 0.138 of Amit, Gutfreund
and Sompolinsky (1985), with the machine, the date and the command. Every random draw comes from
one seeded generator, so a rerun on the same machine gives the same table.
"""
import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402  (after the path set-up above)

import common  # noqa: E402
from autograder.analysis.extract import extract  # noqa: E402
from autograder.analysis.notebook import read_notebook  # noqa: E402
from autograder.sandbox.loader import load_module  # noqa: E402

ALPHAS = np.round(np.arange(0.08, 0.3001, 0.01), 2)
ERRORS_ALLOWED = 0.05  # fraction of wrong bits a successful recall may end with
AGS_CAPACITY = 0.138
SEED = 0


def reference_module():
    """The model solutions of the hopfield_memory notebook."""
    notebook = REPO / "source" / "hopfield_memory" / "hopfield_memory.ipynb"
    return load_module(extract(read_notebook(notebook)).source, "hopfield_memory_reference")


def success_rate(lab, rng, n: int, alpha: float, recalls: int) -> float:
    """The fraction of `recalls` recalls from stored patterns that end within ERRORS_ALLOWED of them."""
    m = max(1, int(round(alpha * n)))
    hits = done = 0
    while done < recalls:
        patterns = np.where(rng.random((m, n)) < 0.5, 1.0, -1.0)
        weights = lab.hebbian_weights(patterns)
        for pattern in patterns[:recalls - done]:
            final = lab.recall(weights, np.zeros(n), pattern, rng)[-1]
            hits += (final != pattern).mean() <= ERRORS_ALLOWED
            done += 1
    return hits / recalls


def half_point(rates: np.ndarray) -> float:
    """a50 of the least-squares logistic 1 / (1 + exp((alpha - a50) / width)) through the rates."""
    centres, widths = np.arange(0.05, 0.40, 0.0005), np.arange(0.002, 0.08, 0.001)
    curves = 1 / (1 + np.exp((ALPHAS[None, None, :] - centres[:, None, None]) / widths[None, :, None]))
    errors = ((curves - rates) ** 2).sum(axis=2)
    best = np.unravel_index(np.argmin(errors), errors.shape)
    return float(centres[best[0]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recalls", type=int, default=200, help="recalls per (N, alpha) point")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 300, 400])
    args = parser.parse_args()
    lab, rng = reference_module(), np.random.default_rng(SEED)
    print(f"machine: {common.machine()}  \ndate: {common.today()}  \ncommand: {common.command()}\n")
    print(common.table_header(["N", "recalls per point", "50% point, M/N", "AGS asymptote", "ratio",
                               "seconds"]))
    for n in args.sizes:
        start = time.perf_counter()
        rates = np.array([success_rate(lab, rng, n, alpha, args.recalls) for alpha in ALPHAS])
        half = half_point(rates)
        print(common.table_row([n, args.recalls, f"{half:.3f}", AGS_CAPACITY, f"{half / AGS_CAPACITY:.2f}",
                                f"{time.perf_counter() - start:.1f}"]))
        print("  rates: " + " ".join(f"{a:.2f}:{r:.2f}" for a, r in zip(ALPHAS, rates)), file=sys.stderr)


if __name__ == "__main__":
    main()
