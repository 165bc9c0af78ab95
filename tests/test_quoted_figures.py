"""The figures the source notebooks' text quotes are those the notebooks print (issue 10).

Each test reads the figures out of a Markdown cell with a pattern that must match (a reworded
sentence fails here until its figures are read again), runs the cells that print them (the
source notebook's own code, in this process, on the reference's definitions) and compares. The
only training is hopfield's Q2C experiment at its full settings (tiny networks, a few seconds),
marked slow. The figures of full-MNIST training cannot be checked here (the data set is not on
the test machines), so the notebook quotes only the benchmark's, checked against
benchmarks/BENCHMARKS.md.
"""
import contextlib
import io
import re

import matplotlib
import nbformat
import pytest

from autograder import paths
from autograder.analysis.extract import extract
from autograder.analysis.notebook import read_notebook
from autograder.sandbox.loader import load_module
from hidden_tests import one_torch_thread

matplotlib.use("Agg")


def _cells(assignment: str) -> dict[str, str]:
    """{grade id: source} of the source notebook's cells (the mnist import block has none)."""
    nb = nbformat.read(paths.source_notebook(assignment), as_version=4)
    return {cell.metadata.get("nbgrader", {}).get("grade_id"): cell.source for cell in nb.cells}


def _quoted(pattern: str, text: str) -> tuple[str, ...]:
    """The groups of `pattern` in `text`; a space in the pattern matches any white space, a line
    break included, and NUMBER a decimal number (a full stop after it ends the sentence)."""
    match = re.search(pattern.replace(" ", r"\s+").replace("NUMBER", r"(\d+(?:\.\d+)?)"), text)
    assert match, f"the text no longer quotes its figures as {pattern!r}: read them again here"
    return match.groups()


def _printed(assignment: str, *grade_ids: str) -> tuple[str, dict]:
    """(what the cells print, their namespace): the cells run in order on the reference's
    definitions, figures closed."""
    import matplotlib.pyplot as plt

    reference = load_module(extract(read_notebook(paths.source_notebook(assignment))).source,
                            f"figures_{assignment}")
    namespace = dict(vars(reference))
    output = io.StringIO()
    with contextlib.redirect_stdout(output), one_torch_thread():  # restores what a cell sets (Q2C sets 1)
        for grade_id in grade_ids:
            exec(compile(_cells(assignment)[grade_id], grade_id, "exec"), namespace)
    plt.close("all")
    return output.getvalue(), namespace


# ---- hopfield_batchnorm ------------------------------------------------------------------------------

def test_the_demonstration_is_described_with_its_own_settings():
    cells = _cells("hopfield_batchnorm")
    starts, steps, length = _quoted(r"(\w+) random starting currents, (\d+) steps of length NUMBER",
                                    cells["hopfield_demo_intro"])
    settings = re.search(r"n_neurons, n_starts, step, n_steps = (\d+), (\d+), ([\d.]+), (\d+)", cells["hopfield_demo"])
    words = {"two": "2", "three": "3", "four": "4", "five": "5"}
    assert (words.get(starts, starts), steps, length) == (settings[2], settings[4], settings[3])


def test_the_q2b_model_answer_quotes_the_table_its_code_prints():
    text = _cells("hopfield_batchnorm")["q2b_answer"]
    quoted = _quoted(r"node 0 has a mean of NUMBER\s+and\s+a variance of NUMBER, node 1 a mean of NUMBER and a "
                     r"variance of NUMBER", text) + _quoted(r"\(NUMBER for node 0", text)
    printed, _ = _printed("hopfield_batchnorm", "q2b_demo")
    rows = {int(row[0]): row[1:] for row in re.findall(r"^\s*(\d+) \|\s+(\S+)\s+(\S+) \|\s+(\S+)\s+(\S+)$",
                                                       printed, re.MULTILINE)}
    assert quoted == (rows[0][0], rows[0][1], rows[1][0], rows[1][1], rows[0][3])
    # and "a mean of zero up to float32 rounding (below 10^-6)"
    assert all(abs(float(row[2])) < 1e-6 for row in rows.values())


@pytest.mark.slow
def test_the_q2c_model_answer_quotes_the_final_losses_the_experiment_prints(monkeypatch):
    """The experiment at its full settings (10 trials of 40 epochs; seeded, one thread): its
    printed means and standard deviations are the quoted ones. Another CPU may round a last digit
    differently after 40 epochs, so a quoted figure may differ from the printed one by 0.01."""
    import utils

    text = _cells("hopfield_batchnorm")["q2c_answer"]
    quoted = _quoted(r"final loss of\s+NUMBER ± NUMBER for `BNNet` against NUMBER ± NUMBER for `NormalNet`, "
                     r"over (\d+) trials", text)
    monkeypatch.setattr(utils, "FAST", False)
    printed, _ = _printed("hopfield_batchnorm", "q2c_experiment")
    lines = {name: figures.split(" +- ") for name, figures in
             re.findall(r"(\w+): final loss ([\d.]+ \+- [\d.]+) over \d+ trials", printed)}
    trials = set(re.findall(r"over (\d+) trials", printed))
    printed_figures = [*lines["BNNet"], *lines["NormalNet"]]
    assert trials == {quoted[4]}
    for said, shown in zip(quoted[:4], printed_figures):
        assert abs(float(said) - float(shown)) <= 0.01 + 1e-9, (quoted, printed)


# ---- mnist_cnn -----------------------------------------------------------------------------------------

def _count(text: str) -> int:
    return int(text.replace(",", "").replace("_", ""))


def test_the_parameter_counts_in_the_text_are_those_the_notebook_prints():
    cells = _cells("mnist_cnn")
    printed, namespace = _printed("mnist_cnn", "q3a_show")
    shown = {name: _count(count) for name, count in re.findall(r"(\w+): ([\d,]+) parameters", printed)}
    count = namespace["count_parameters"]
    shown.update({name: count(namespace[name]()) for name in ("RegularisedCNN", "BatchNormCNN")})
    assert _count(_quoted(r"784-200-200-10 network has ([\d,]+)", cells["Q2"])[0]) == shown["MLP"]
    assert [_count(c) for c in _quoted(r"has ([\d,]+) parameters, fewer than the MLP's ([\d,]+)",
                                       cells["q3_prompt"])] == [shown["CNN"], shown["MLP"]]
    assert _count(_quoted(r"the network still has ([\d,]+)", cells["q3c_prompt"])[0]) == shown["RegularisedCNN"]
    added, total = _quoted(r"\(20 \+ 20 \+ 250\) = (\d+) parameters, so the network has ([\d,]+)",
                           cells["q3d_prompt"])
    assert (_count(added), _count(total)) == (shown["BatchNormCNN"] - shown["CNN"], shown["BatchNormCNN"])
    share = _quoted(r"holds NUMBER% of the weights", cells["Q3c-report"])[0]
    first_linear = next(m for m in namespace["CNN"]().modules() if isinstance(m, namespace["nn"].Linear))
    assert int(share) == round(100 * count(first_linear) / shown["CNN"])


def test_the_accuracies_quoted_from_the_benchmark_are_its_figures():
    intro = _cells("mnist_cnn")["intro"]
    low, high, best, mlp, images = _quoted(r"final test accuracies of NUMBER–NUMBER% for the three CNNs "
                                           r"\(NUMBER% after the best epoch\) and\s+NUMBER% for the MLP when "
                                           r"training on only ([\d,]+) images", intro)
    table = (paths.REPO_ROOT / "benchmarks" / "BENCHMARKS.md").read_text(encoding="utf-8")
    section = table[table.index(f"MNIST test set split, {images} train"):]
    row = r"^\| (\w+) \| [^|]+ \| ([\d.]+)% \| ([\d.]+)% \(\d+\) \|"
    rows = {name: (final, best_epoch) for name, final, best_epoch in
            re.findall(row, section.split("\n\n")[1], re.MULTILINE)}
    cnns = [rows[name] for name in ("CNN", "RegularisedCNN", "BatchNormCNN")]
    assert (low, high, best, mlp) == (min(f for f, _ in cnns), max(f for f, _ in cnns), max(b for _, b in cnns),
                                      rows["MLP"][0])
