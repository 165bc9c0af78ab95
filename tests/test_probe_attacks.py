"""Attacks on the probes, graded by the real grader: a forged grade must earn nothing.

Each case is a base notebook with one attack cell appended (tests/probe_attacks.py holds the cells):
the untouched release (`stub`), whose every answer raises, or the reference solution (`correct`).
Forgeries built on the release must score 0; tampering built on correct code must score exactly
what the correct code scores, and a real mistake hidden behind an attack (detached batch norm
statistics, noise for dropout, a weight decay that only compares as positive) must lose exactly the
points of the probes meant for it.
"""
import nbformat
import pytest

from autograder import grade, paths
from corpus_grading import grade_corpus
import probe_attacks as attacks

BASES = {"stub": lambda a: paths.release_dir(a) / f"{a}.ipynb", "correct": paths.source_notebook}

# (assignment, case, base, attack cell) -> (status, autograded score)
CASES = {
    ("hopfield_batchnorm", "layers_that_compute_nothing", "stub", attacks.HOPFIELD_LAYERS_THAT_COMPUTE_NOTHING):
        ("exception in probe", 0),
    ("hopfield_batchnorm", "overridden_learn_and_loss", "stub", attacks.HOPFIELD_OVERRIDDEN_LEARN_AND_LOSS):
        ("exception in probe", 0),
    ("hopfield_batchnorm", "lying_parameters_and_attributes", "stub",
     attacks.HOPFIELD_LYING_PARAMETERS_AND_ATTRIBUTES): ("exception in probe", 0),
    ("hopfield_batchnorm", "tensor_faking_numpy", "stub", attacks.HOPFIELD_TENSOR_FAKING_NUMPY): ("partial", 0),
    ("hopfield_batchnorm", "random_scores", "stub", attacks.HOPFIELD_RANDOM_SCORES_OF_THE_RIGHT_SHAPE):
        ("partial", 0),
    ("hopfield_batchnorm", "tampering_on_stub", "stub", attacks.TAMPER_WITH_TRACING):
        ("exception in probe", 0),
    ("hopfield_batchnorm", "tampering_on_correct", "correct", attacks.TAMPER_WITH_TRACING):
        ("ok", 8),
    ("hopfield_batchnorm", "detached_statistics", "correct", attacks.HOPFIELD_DETACHED_STATISTICS):
        ("partial", 7.5),
    ("mnist_cnn", "layers_that_compute_nothing", "stub", attacks.MNIST_LAYERS_THAT_COMPUTE_NOTHING):
        ("exception in probe", 0),
    ("mnist_cnn", "lying_parameters", "stub", attacks.MNIST_LYING_PARAMETERS): ("exception in probe", 0),
    ("mnist_cnn", "random_scores", "stub", attacks.MNIST_RANDOM_SCORES_OF_THE_RIGHT_SHAPE):
        ("exception in probe", 0),
    ("mnist_cnn", "tensor_faking_numpy", "stub", attacks.MNIST_TENSOR_FAKING_NUMPY): ("exception in probe", 0),
    ("mnist_cnn", "tampering_on_stub", "stub", attacks.TAMPER_WITH_TRACING):
        ("exception in probe", 0),
    ("mnist_cnn", "tampering_on_correct", "correct", attacks.TAMPER_WITH_TRACING): ("ok", 20),
    ("mnist_cnn", "noise_instead_of_dropout", "correct", attacks.MNIST_NOISE_INSTEAD_OF_DROPOUT):
        ("partial", 18.5),
    ("mnist_cnn", "lenient_weight_decay", "correct", attacks.MNIST_LENIENT_WEIGHT_DECAY): ("partial", 19),
}
# Probes that a mistake behind an attack must fail, and only those.
FAILING = {
    ("hopfield_batchnorm", "detached_statistics"): {"batchnorm_passes_gradients"},
    ("mnist_cnn", "noise_instead_of_dropout"): {"dropout_zeroes_units_in_training"},
    ("mnist_cnn", "lenient_weight_decay"): {"weight_decay_pulls_weights_to_zero"},
}


def _attacked(assignment: str, base: str, cell: str):
    notebook = nbformat.read(BASES[base](assignment), as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(cell))
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course_zygote):
    """{(assignment, case): StudentResult}, each assignment's cases graded in one batch."""
    results = {}
    for assignment in sorted({key[0] for key in CASES}):
        folder = tmp_path_factory.mktemp(f"attacks_{assignment}")
        for (owner, case, base, cell) in CASES:
            if owner == assignment:
                nbformat.write(_attacked(assignment, base, cell), folder / f"{case}.ipynb")
        result = grade_corpus(assignment, folder, tmp_path_factory.mktemp("out"), course_zygote)
        results.update({(assignment, student.student): student for student in result.students})
    return results


def test_there_are_enough_attacks_on_both_assignments():
    assert len(CASES) >= 14
    assert {key[0] for key in CASES} == {"hopfield_batchnorm", "mnist_cnn"}
    assert {key[2] for key in CASES} == set(BASES)


@pytest.mark.parametrize("key", sorted(CASES, key=lambda key: key[:2]), ids=lambda key: f"{key[0]}-{key[1]}")
def test_each_attack_gets_exactly_its_status_and_score(graded, key):
    assignment, case, base, _ = key
    status, score = CASES[key]
    result = graded[(assignment, case)]
    assert (result.status_text, result.total) == (status, pytest.approx(score, abs=5e-4))
    if base == "stub":
        assert result.total == 0


@pytest.mark.parametrize("assignment, case", sorted(FAILING))
def test_a_mistake_behind_an_attack_loses_only_its_own_probes(graded, assignment, case):
    probes = [probe for question in graded[(assignment, case)].questions for probe in question.probes]
    assert {probe.name for probe in probes if probe.points < probe.max_points} == FAILING[(assignment, case)]
    assert all(probe.points == 0 for probe in probes if probe.name in FAILING[(assignment, case)])
