"""The deep_training source notebook at full settings: its run time and the figures it prints.

    COURSE_DATA=/path/with/mnist nice python benchmarks/bench_deep_training.py [--threads 1] [--keep OUT.ipynb]

Runs source/deep_training/deep_training.ipynb once, top to bottom, with COURSE_FAST unset, in a
fresh kernel, and prints the machine, date and command, the wall time of the whole notebook and of
its experiments, and what the experiments print: the two networks of problem 2, the collapse
fractions of problem 3 with their wall time, the LeNet-5 variants of problem 4, the range test,
cyclical schedule and batch-size sweep of problem 5. MNIST must hold the official test set
(`$COURSE_DATA/mnist/t10k-*.gz`); Fashion-MNIST comes from Debian's dataset-fashion-mnist.
"""
import argparse
import datetime
import os
from pathlib import Path

import nbclient
import nbformat

from common import REPO_ROOT, command, machine, today

NOTEBOOK = REPO_ROOT / "source" / "deep_training" / "deep_training.ipynb"
# The cells whose time and output are figures, by their nbgrader id.
EXPERIMENTS = ("p2_baseline", "q2f_run", "q2g_run", "q3_gradients_run", "q3_glorot_run", "q3c_run",
               "q4b_run", "q4c_run", "q4d_run", "q4e_run", "q5a_run", "q5b_run", "q5c_run")


def _seconds(cell) -> float | None:
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = datetime.datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def _text(cell) -> str:
    return "".join(output.get("text", "") for output in cell.get("outputs", []) if output.get("name") == "stdout")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the kernel (OMP_NUM_THREADS)")
    parser.add_argument("--keep", type=Path, help="write the executed notebook here")
    args = parser.parse_args()
    os.environ.pop("COURSE_FAST", None)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), str(REPO_ROOT / "nn_course_kit"),
                                                            os.environ.get("PYTHONPATH")]))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=3600, kernel_name="python3", record_timing=True,
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    started = datetime.datetime.now()
    client.execute()
    total = (datetime.datetime.now() - started).total_seconds()
    if args.keep:
        nbformat.write(nb, args.keep)
    print(f"{machine()}, {today()}, {command()}, torch threads {args.threads}")
    print(f"whole notebook: {total:.0f} s")
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in EXPERIMENTS:
            print(f"\n[{grade_id}] {_seconds(cell) or 0:.0f} s")
            print(_text(cell).strip())


if __name__ == "__main__":
    main()
