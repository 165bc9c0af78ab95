"""The hopfield_memory lab: notebook marks, probes, visible checks and every sample submission.

The sample class (examples/submissions/hopfield_memory, described in its EXPECTED.md) is graded once
by the real grader, sandbox included; every row of the table is checked, then which probes each
mistake costs. The probes are also run in this process on the reference and on variants of it, to
pin down what they accept: any order of asynchronous updates, and nothing that breaks a property
every order guarantees.
"""
import re
import tomllib
import types

import nbformat
import numpy as np
import pytest

from autograder import paths
from assignment_modules import load_file, notebook_marks, notebook_module
from autograder.grading.config import load_config
from autograder.grading.probes import judge, probe_functions
from corpus_grading import expected_grades, grade_corpus

ASSIGNMENT = "hopfield_memory"
FOLDER = paths.assignment_dir(ASSIGNMENT)
SAMPLES = paths.REPO_ROOT / "examples" / "submissions" / ASSIGNMENT
HONEST = ("ada_correct_loops", "ben_correct_vectorised", "chen_correct_global_random")


@pytest.fixture(scope="module")
def probes():
    return load_file(FOLDER / "probes.py", "hopfield_memory_probes")


@pytest.fixture(scope="module")
def checks():
    return load_file(FOLDER / "checks.py", "hopfield_memory_checks")


@pytest.fixture(scope="module")
def reference():
    return notebook_module(paths.source_notebook(ASSIGNMENT), "hopfield_memory_reference")


def _sample(student):
    return notebook_module(SAMPLES / f"{student}.ipynb", f"hopfield_memory_{student}")


def _result(function, module, seed):
    try:
        return {"value": function(module, np.random.default_rng(seed))}
    except Exception as error:
        return {"error": {"type": type(error).__name__, "message": str(error)}}


def _scores(probe_file, module, reference, seed=7) -> dict[str, float]:
    """{probe name: score} of `module` against `reference`, every probe run in this process."""
    return {name: judge(function.__autograder_probe__, _result(function, module, seed),
                        _result(function, reference, seed)).score
            for name, function in probe_functions(vars(probe_file)).items()}


# ---- the notebook and the configuration ---------------------------------------------------------

def test_notebook_marks_match_grading_toml():
    config = tomllib.loads((FOLDER / "grading.toml").read_text())
    graded = notebook_marks(paths.source_notebook(ASSIGNMENT))
    assert graded == {q["id"]: q["points"] for q in config["questions"]}
    assert sum(graded.values()) == 20
    assert sum(q["points"] for q in config["questions"] if not q.get("manual")) == 12


def test_the_lab_needs_no_torch_and_quiets_its_progress_bars():
    """NumPy only (so `validate`'s fast run stays cheap), and every progress bar is off in fast mode and
    gone when it ends, so that no bar is left in an exported notebook."""
    nb = nbformat.read(paths.source_notebook(ASSIGNMENT), as_version=4)
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    imported = set(re.findall(r"^(?:import|from) (\w+)", text, flags=re.MULTILINE))
    assert imported == {"os", "matplotlib", "numpy", "tqdm"}
    bars = re.findall(r"tqdm\((.*)\):", text)
    assert bars and all("leave=False" in bar and "disable=FAST" in bar for bar in bars)


def test_probe_and_check_points_add_up_per_question(checks):
    config = load_config(ASSIGNMENT)
    check_specs = [f.__autograder_probe__ for f in probe_functions(vars(checks)).values()]
    for question in config.autograded_questions:
        assert sum(spec.points for spec in config.probes_of(question.id)) == question.points
        assert sum(spec.points for spec in check_specs if spec.question == question.id) == question.points


# ---- the probes, in this process -------------------------------------------------------------------

def test_probes_and_checks_give_the_reference_full_marks(probes, checks, reference):
    for probe_file in (probes, checks):
        scores = _scores(probe_file, reference, reference)
        assert scores and set(scores.values()) == {1.0}, scores


def _with_recall_orders(reference, draw_order):
    """The reference with a recall whose sweep orders come from `draw_order(n)` instead of its rng."""
    module = types.SimpleNamespace(**vars(reference))

    def recall(W, b, x0, rng=None, synchronous=False, max_steps=100):
        x, states = np.array(x0, dtype=float), [np.array(x0, dtype=float)]
        for _ in range(max_steps):
            new = module.sync_step(W, b, x) if synchronous else module.async_sweep(W, b, x, draw_order(len(x)))
            if np.array_equal(new, x):
                break
            states.append(new)
            x = new
        return np.array(states)
    module.recall = recall
    return module


def test_any_order_of_asynchronous_updates_gets_full_marks(probes, reference):
    """Orders from another generator, reversed, or always the same: every correct sweep order passes."""
    other = np.random.default_rng(12345)
    for draw_order in (other.permutation, lambda n: np.arange(n)[::-1], np.arange):
        scores = _scores(probes, _with_recall_orders(reference, draw_order), reference)
        assert set(scores.values()) == {1.0}, scores


def test_a_recall_that_is_not_asynchronous_loses_the_recall_probes(probes, reference):
    """Synchronous steps where sweeps are asked cycle on the two neurons that copy each other."""
    module = _with_recall_orders(reference, np.arange)
    module.async_sweep = lambda W, b, x, order: reference.sync_step(W, b, x)
    scores = _scores(probes, module, reference)
    assert scores["recall_asynchronous_stops_at_a_fixed_point"] < 1
    assert scores["recall_asynchronous_energy_never_rises"] < 1


@pytest.mark.parametrize("value, message", [
    ("a trajectory", "is missing"),
    ({}, "is missing"),
    ({"two neurons that copy each other": {"trajectory": "not an array of numbers (ValueError)"}},
     "recall returned not an array of numbers"),
    ({"two neurons that copy each other": {"trajectory": np.array([1.0, -1.0])}}, "it must return the trajectory"),
    ({"two neurons that copy each other": {"trajectory": np.array([[1.0, 1.0]])}}, "does not start at x0"),
    ({"two neurons that copy each other": {"trajectory": np.array([[1.0, -1.0], [0.0, 0.0]])}},
     "values other than +1 and -1"),
    ({"two neurons that copy each other": {"trajectory": np.array([[1.0, -1.0], [-1.0, 1.0]])}},
     "not a fixed point"),
    ({"two neurons that copy each other": {"trajectory": np.array([[1.0, -1.0], [1.0, 1.0], [1.0, 1.0]])}},
     "a state repeats"),
])
def test_malformed_trajectories_score_nothing_and_say_why(probes, reference, value, message):
    spec = probes.recall_asynchronous_stops_at_a_fixed_point.__autograder_probe__
    expected = probes.recall_asynchronous_stops_at_a_fixed_point(reference, np.random.default_rng(0))
    case = "two neurons that copy each other"
    verdict = judge(spec, {"value": value}, {"value": {case: expected[case]}})
    assert verdict.score == 0 and message in verdict.message, verdict.message


def test_a_rising_energy_is_named(probes, reference):
    spec = probes.recall_asynchronous_energy_never_rises.__autograder_probe__
    case = {"W": np.array([[0.0, 1.0], [1.0, 0.0]]), "b": np.zeros(2), "x0": np.array([1.0, 1.0]),
            "max_steps": 1, "trajectory": np.array([[1.0, 1.0]])}
    rising = {"rise": {**case, "trajectory": np.array([[1.0, 1.0], [1.0, -1.0]])}}
    verdict = judge(spec, {"value": rising}, {"value": {"rise": case}})
    assert verdict.score == 0 and "the energy rises" in verdict.message


def test_visible_checks_catch_what_the_visible_tests_catch(checks, reference):
    """Honest samples pass every check, the untouched release none, and `np.sign` fails the tie rule."""
    for student in HONEST:
        assert set(_scores(checks, _sample(student), reference).values()) == {1.0}, student
    assert set(_scores(checks, _sample("jon_untouched"), reference).values()) == {0.0}
    kim = _scores(checks, _sample("kim_np_sign"), reference)
    assert kim.pop("update_visible_checks") == 0 and set(kim.values()) == {1.0}


# ---- the sample class, graded by the real grader -------------------------------------------------

@pytest.fixture(scope="module")
def graded(tmp_path_factory, course_zygote):
    out = tmp_path_factory.mktemp("graded")
    result = grade_corpus(ASSIGNMENT, SAMPLES, out, course_zygote)
    return {student.student: student for student in result.students}, out


def test_every_sample_notebook_is_in_the_expected_table():
    assert set(expected_grades(ASSIGNMENT)) == {path.stem for path in SAMPLES.glob("*.ipynb")}
    assert len(expected_grades(ASSIGNMENT)) >= 8


def test_every_sample_gets_its_expected_status_and_score(graded):
    students, _ = graded
    assert {s: (r.status_text, round(r.total, 3)) for s, r in students.items()} == expected_grades(ASSIGNMENT)


def _failed_probes(student_result) -> set[str]:
    return {p.name for q in student_result.questions for p in q.probes if p.points < p.max_points}


@pytest.mark.parametrize("student, failed", [
    ("dora_diagonal_not_zeroed", {"weights_on_the_diagonal"}),
    ("emil_divides_by_n", {"weights_off_the_diagonal"}),
    ("fay_synchronous_sweep", {"async_sweep_in_the_given_order", "recall_asynchronous_stops_at_a_fixed_point",
                               "recall_asynchronous_energy_never_rises"}),
    ("gus_energy_sign", {"energy_with_biases"}),
    ("hana_no_fixed_point_stop", {"recall_synchronous_trajectory", "recall_asynchronous_stops_at_a_fixed_point"}),
    ("ivan_final_state_only", {"recall_synchronous_trajectory", "recall_asynchronous_stops_at_a_fixed_point",
                               "recall_asynchronous_energy_never_rises",
                               "recall_asynchronous_retrieves_a_stored_pattern"}),
    ("kim_np_sign", {"async_sweep_in_the_given_order", "sync_step_matches_reference", "recall_synchronous_trajectory",
                     "recall_asynchronous_stops_at_a_fixed_point", "recall_asynchronous_energy_never_rises"}),
])
def test_each_mistake_costs_the_probes_meant_for_it(graded, student, failed):
    students, _ = graded
    assert _failed_probes(students[student]) == failed


def test_the_hostile_sample_scores_what_its_honest_code_earns(graded):
    students, out = graded
    leo, fay = students["leo_hostile_lenient_numpy"], students["fay_synchronous_sweep"]
    assert (leo.status_text, leo.total) == (fay.status_text, fay.total)
    assert _failed_probes(leo) == _failed_probes(fay)
    feedback = (out / "feedback" / "leo_hostile_lenient_numpy.md").read_text(encoding="utf-8")
    assert "found:" not in feedback  # it found no file and no secret to raise into its feedback


def test_reports_list_the_manual_questions_and_say_why_recall_failed(graded):
    _, out = graded
    feedback = (out / "feedback" / "ivan_final_state_only.md").read_text(encoding="utf-8")
    assert feedback.count("needs manual grading") == 2
    assert "it must return the trajectory, an array of shape (T, N)" in feedback
