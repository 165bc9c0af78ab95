"""What a fresh child per probe would cost: one correct submission's probes run together in one
sandboxed child (what grading does first) against each probe in a child of its own (what it does
only after a child failed; see autograder/grading/probe_runs.py).

    python benchmarks/bench_child_per_probe.py [--runs 5] [--assignment hopfield_batchnorm]

Prints a Markdown table (machine, date, command, probes, median of both, ratio).
"""
import argparse
import statistics
import sys
import time

from common import REPO_ROOT, command, machine, table_header, table_row, today

sys.path.insert(0, str(REPO_ROOT))
from autograder.grading import grade  # noqa: E402
from autograder.grading.config import load_config  # noqa: E402
from autograder.analysis.extract import extract  # noqa: E402
from autograder.analysis.notebook import read_notebook  # noqa: E402
from autograder.sandbox import Zygote  # noqa: E402

CORRECT = {"hopfield_batchnorm": "amelia_correct_torch", "mnist_cnn": "alice_correct"}
COLUMNS = ("machine", "date", "command", "probes", "one child for all (median)", "a child per probe (median)",
           "ratio")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--assignment", default="hopfield_batchnorm", choices=sorted(CORRECT))
    args = parser.parse_args(argv)
    config = load_config(args.assignment)
    sample = REPO_ROOT / "examples" / "submissions" / args.assignment / f"{CORRECT[args.assignment]}.ipynb"
    source = extract(read_notebook(sample, keep_outputs=False)).source
    names = [spec.name for spec in config.probes]
    seed = grade.batch_seed(args.assignment)
    together, alone = [], []
    with Zygote(config.limits) as zygote:
        for _ in range(args.runs):
            start = time.perf_counter()
            zygote.run(grade.probe_job(source, config, names, seed))
            together.append(time.perf_counter() - start)
            start = time.perf_counter()
            for name in names:
                zygote.run(grade.probe_job(source, config, [name], seed))
            alone.append(time.perf_counter() - start)
    one, each = statistics.median(together), statistics.median(alone)
    print(table_header(COLUMNS))
    print(table_row((machine(), today(), command(), len(names), f"{one:.2f} s", f"{each:.2f} s", f"{each / one:.1f}x")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
