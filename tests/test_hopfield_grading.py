"""The hopfield_batchnorm grading side: probes, visible checks and every sample submission.

The sample folder (examples/submissions/hopfield_batchnorm, described in its EXPECTED.md) is graded
once by the real grader, sandbox included, together with a copy of the reference notebook; each
student's exact status and autograded score are checked against `EXPECTED` below, then the
properties issue 3 asks for: full marks for correct work and the reference, nothing for the
untouched release (in words that do not mention the grader), every hostile case contained, the
manual questions listed, and tampering unable to change a score.
"""
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from autograder.grading import grade

from autograder import paths

from corpus_grading import grade_corpus
from hidden_tests import disagreements, one_torch_thread
from autograder.grading.config import load_config
from autograder.analysis.extract import extract
from autograder.sandbox.loader import load_module
from autograder.analysis.notebook import read_notebook
from autograder.grading.probes import judge, load_probes, probe_functions

ASSIGNMENT = "hopfield_batchnorm"
SAMPLES = paths.REPO_ROOT / "examples" / "submissions" / ASSIGNMENT
REFERENCE_ID = "reference_solution"  # the source notebook, graded as one more student
MANUAL = ("Q1a", "Q1b", "Q2B", "Q2C-plot")
GRADER_WORDS = re.compile(r"autograder|probe|sandbox|traceback", re.IGNORECASE)

# student -> (status, autograded score out of 9); the same table as EXPECTED.md.
EXPECTED = {
    "amelia_correct_torch": ("ok", 9),
    "bruno_correct_manual": ("ok", 9),
    "dario_correct_functional": ("ok", 9),
    "chloe_untouched": ("exception in probe", 0),
    "dmitri_unbiased_variance": ("partial", 8),
    "esther_eps_outside_sqrt": ("partial", 8),
    "farid_wrong_axis": ("partial", 6),
    "gwen_bn_before_activation": ("partial", 7.25),
    "hiro_relu": ("partial", 8),
    "ines_missing_loss_fcn": ("partial", 8.5),
    "jonas_normalnet_with_batchnorm": ("partial", 7.25),
    "kasia_functional_batch_norm": ("ok", 9),
    "leon_torch_where_leaky": ("ok", 9),
    "mira_leaky_slope_0_2": ("ok", 9),
    "noor_learnable_scale_shift": ("ok", 9),
    "paolo_bn_on_inputs": ("partial", 7.25),
    "ruth_batchnorm_called_in_forward": ("ok", 9),
    "sven_energy_sign": ("partial", 8.5),
    "kofi_syntax_error": ("extraction error (cell 12)", 6),
    "lena_stray_training_code": ("ok", 9),
    "marco_scattered_imports": ("ok", 9),
    "nadia_magics": ("ok", 9),
    "zoe_huge_output": ("ok", 9),
    "adam_invalid_json": ("unreadable notebook", 0),
    "beatriz_nbformat3": ("ok", 9),
    "celine_cp1252": ("ok", 9),
    "oscar_infinite_loop_import": ("time limit", 0),
    "petra_infinite_loop_forward": ("time limit", 4.5),
    "quentin_memory_bomb": ("memory limit", 0),
    "rosa_fork_bomb": ("time limit", 0),
    "samir_sys_exit": ("exception at import", 0),
    "tara_os_exit_default_arg": ("crashed (exit code 0)", 0),
    "ugo_exit_decorator": ("exception at import", 0),
    "vera_monkeypatch": ("partial", 8),
    "wanda_reads_secrets": ("ok", 9),
    "xavier_network": ("ok", 9),
    "yusuf_writes_outside": ("ok", 9),
}
# Hostile samples and the sample holding the same honest code without the attack.
HONEST_TWIN = {
    "oscar_infinite_loop_import": "amelia_correct_torch",
    "quentin_memory_bomb": "amelia_correct_torch",
    "rosa_fork_bomb": "bruno_correct_manual",
    "samir_sys_exit": "amelia_correct_torch",
    "tara_os_exit_default_arg": "dario_correct_functional",
    "ugo_exit_decorator": "bruno_correct_manual",
    "vera_monkeypatch": "dmitri_unbiased_variance",
    "wanda_reads_secrets": "amelia_correct_torch",
    "xavier_network": "dario_correct_functional",
    "yusuf_writes_outside": "amelia_correct_torch",
    "zoe_huge_output": "bruno_correct_manual",
}
CONTAINED = ("vera_monkeypatch", "wanda_reads_secrets", "xavier_network", "yusuf_writes_outside", "zoe_huge_output")
ESCAPE_MARKER = "SANDBOX_ESCAPE_yusuf.txt"  # the file yusuf_writes_outside tries to write everywhere
ESCAPE_PLACES = (paths.REPO_ROOT, SAMPLES, paths.assignment_dir(ASSIGNMENT), Path.home(), Path("/var/tmp"),
                 Path("/tmp"), Path("/dev/shm"))


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """The probes and checks this module runs in-process use one torch thread, as in the sandbox."""
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course_zygote):
    """(ClassResult, output folder): the samples and the reference graded once, reports written."""
    for place in ESCAPE_PLACES:
        (place / ESCAPE_MARKER).unlink(missing_ok=True)
    submissions = tmp_path_factory.mktemp("submissions")
    for notebook in SAMPLES.glob("*.ipynb"):
        shutil.copy(notebook, submissions)
    shutil.copy(paths.source_notebook(ASSIGNMENT), submissions / f"{REFERENCE_ID}.ipynb")
    out = tmp_path_factory.mktemp("graded")
    return grade_corpus(ASSIGNMENT, submissions, out, course_zygote), out


def _notebook(student: str) -> Path:
    return paths.source_notebook(ASSIGNMENT) if student == REFERENCE_ID else SAMPLES / f"{student}.ipynb"


@pytest.fixture(scope="module")
def students(graded):
    return {student.student: student for student in graded[0].students}


def _probes(student) -> dict:
    return {probe.name: probe for question in student.questions for probe in question.probes}


def _feedback(out: Path, student: str) -> str:
    files = (out / "feedback" / f"{student}.md", out / "feedback" / f"{student}.html",
             out / "gradescope" / student / "results.json")
    return "\n".join(file.read_text(encoding="utf-8") for file in files)


# ---- the samples and their table ----------------------------------------------------------------

def test_the_table_covers_every_sample_and_agrees_with_expected_md():
    assert sorted(p.stem for p in SAMPLES.glob("*.ipynb")) == sorted(EXPECTED)
    assert len(EXPECTED) >= 20
    rows = re.findall(r"^\| `(\w+)\.ipynb` \| .+ \| (.+) \| ([\d.]+) \|$",
                      (SAMPLES / "EXPECTED.md").read_text(encoding="utf-8"), re.MULTILINE)
    assert {student: (status, float(score)) for student, status, score in rows} == \
           {student: (status, float(score)) for student, (status, score) in EXPECTED.items()}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_sample_gets_its_status_and_score(students, student):
    status, score = EXPECTED[student]
    result = students[student]
    assert (result.status_text, result.max_total) == (status, 9)
    assert result.total == pytest.approx(score, abs=5e-4)


def test_correct_work_and_the_reference_get_full_marks_on_every_probe(students):
    full = [name for name, (status, _) in EXPECTED.items() if status == "ok"] + [REFERENCE_ID]
    for name in full:
        assert students[name].status_text == "ok", name
        for probe in _probes(students[name]).values():
            assert (probe.points, probe.message) == (probe.max_points, ""), (name, probe.name)


def test_untouched_release_scores_nothing_and_its_feedback_does_not_mention_the_grader(graded, students):
    untouched = students["chloe_untouched"]
    assert [q.points for q in untouched.questions if not q.manual] == [0, 0, 0]
    assert all("NotImplementedError" in probe.message for probe in _probes(untouched).values())
    assert GRADER_WORDS.findall(_feedback(graded[1], "chloe_untouched")) == []


def test_manual_questions_are_listed_for_everyone(graded, students):
    for name, student in students.items():
        manual = [(q.id, q.points, q.notes) for q in student.questions if q.manual]
        untouched = ["no answer: the answer cells are as handed out"] if name == "chloe_untouched" else []
        assert manual == [(question, None, [grade.NEEDS_MANUAL_GRADING, *untouched]) for question in MANUAL], name
        feedback = (graded[1] / "feedback" / f"{name}.md").read_text(encoding="utf-8")
        assert feedback.count(grade.NEEDS_MANUAL_GRADING) == len(MANUAL), name


# ---- hostile submissions --------------------------------------------------------------------------

def test_no_hostile_case_scores_above_its_honest_code(students):
    for hostile, twin in HONEST_TWIN.items():
        assert students[hostile].total <= students[twin].total, hostile
    for hostile in CONTAINED:
        assert students[hostile].total == students[HONEST_TWIN[hostile]].total, hostile


def test_tampering_with_torch_numpy_and_builtins_changes_no_probe(students):
    """vera_monkeypatch is dmitri_unbiased_variance plus lenient torch.allclose, np.isclose,
    isinstance, ...: every probe must score and read exactly as for dmitri."""
    def verdicts(student):
        return {name: (probe.points, probe.message) for name, probe in _probes(students[student]).items()}
    assert verdicts("vera_monkeypatch") == verdicts("dmitri_unbiased_variance")
    assert 0 < students["vera_monkeypatch"].total < 9


def test_secrets_stay_out_of_reach(graded, students):
    """wanda_reads_secrets prints whatever it can read of the probes, grading.toml, the reference and
    another submission, and raises it into its feedback if it found anything."""
    secrets = ("def batchnorm_matches_reference", "### BEGIN SOLUTION", "**Model answer.**", "memory_mb = 1024",
               "297.416")  # the last from amelia_correct_torch's outputs
    wanda = students["wanda_reads_secrets"]
    seen = _feedback(graded[1], "wanda_reads_secrets") + json.dumps(wanda.details) + json.dumps(wanda.notes)
    assert [secret for secret in secrets if secret in seen] == []
    assert "== " not in wanda.details["stdout_tail"]  # the header it prints before each file it read


def test_network_and_writes_outside_are_refused(students):
    assert "connected" not in students["xavier_network"].details["stdout_tail"]
    assert [str(place) for place in ESCAPE_PLACES if (place / ESCAPE_MARKER).exists()] == []
    # it could write only its private /tmp and /dev/shm, which vanished with it
    written = students["yusuf_writes_outside"].details["stdout_tail"]
    assert "/tmp/" in written and str(paths.REPO_ROOT) not in written


def test_runaway_code_is_killed(students):
    for name in ("oscar_infinite_loop_import", "petra_infinite_loop_forward", "rosa_fork_bomb"):
        assert students[name].details["signal"] == "SIGKILL", name
    assert any("memory" in note for note in students["quentin_memory_bomb"].notes)


def test_a_crash_at_import_is_reported_with_its_cause(students):
    assert any("SystemExit" in note for note in students["samir_sys_exit"].notes)
    assert students["tara_os_exit_default_arg"].details["exit_code"] == 0


# ---- probes and visible checks, in this process -----------------------------------------------------

@pytest.fixture(scope="module")
def reference():
    return load_module(extract(read_notebook(paths.source_notebook(ASSIGNMENT))).source, "hopfield_reference")


def _run(path: Path, module) -> dict:
    """{name: (spec, result)} of every probe in the file at `path`, run on `module` here."""
    namespace = {"__name__": f"probes_{path.stem}"}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    results = {}
    for name, function in probe_functions(namespace).items():
        try:
            result = {"name": name, "value": _plain(function(module, np.random.default_rng(0)))}
        except Exception as error:
            result = {"name": name, "error": {"type": type(error).__name__, "message": str(error)}}
        results[name] = (function.__autograder_probe__, result)
    return results


def _plain(value):
    """A probe's value as the child sends it: tensors as numpy arrays."""
    if hasattr(value, "detach"):
        return value.detach().numpy()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


@pytest.mark.parametrize("file", ["probes.py", "checks.py"])
def test_points_add_up_per_question(file):
    config = load_config(ASSIGNMENT)
    specs = load_probes(config.folder / file)
    for question in config.autograded_questions:
        assert sum(spec.points for spec in specs if spec.question == question.id) == question.points
    assert {spec.question for spec in specs} == {q.id for q in config.autograded_questions}


@pytest.mark.parametrize("file", ["probes.py", "checks.py"])
def test_the_reference_passes_every_probe_and_check_here_too(reference, file):
    for name, (spec, result) in _run(paths.assignment_dir(ASSIGNMENT) / file, reference).items():
        assert judge(spec, result, result).score == 1, name


def test_hints_quote_no_numbers():
    """Hints say what is asked (equation (3), eps, LeakyReLU's default slope), never a value."""
    for spec in load_probes(paths.assignment_dir(ASSIGNMENT) / "probes.py"):
        assert re.findall(r"\d+\.\d+|\d{2,}|\d+e-?\d+", spec.hint) == [], spec.name


# ---- issue 10: fair probes, one mistake one penalty, visible checks that teach, a clean release -------

HONEST_BUT_DIFFERENT = ("dario_correct_functional", "kasia_functional_batch_norm", "leon_torch_where_leaky",
                        "mira_leaky_slope_0_2", "noor_learnable_scale_shift", "ruth_batchnorm_called_in_forward")
CHECKS = paths.assignment_dir(ASSIGNMENT) / "checks.py"
ORDER_CHECK = "batchnorm_after_the_activation_in_bnnet_only"


def _lost(student) -> set:
    return {name for name, probe in _probes(student).items() if probe.points < probe.max_points}


def _sample_module(student: str):
    return load_module(extract(read_notebook(SAMPLES / f"{student}.ipynb")).source, f"sample_{student}")


def test_honest_solutions_written_differently_get_full_marks(students):
    """functional batch_norm, torch.where, a slope of 0.2, a learnable scale and shift, W.T @ v, a
    BatchNorm made in forward."""
    for name in HONEST_BUT_DIFFERENT:
        assert (students[name].status_text, students[name].total, _lost(students[name])) == ("ok", 9, set()), name


def test_one_mistake_costs_only_the_probes_about_it(students):
    assert _lost(students["dmitri_unbiased_variance"]) == {"batchnorm_normalises_each_node",
                                                           "batchnorm_matches_reference"}
    assert _lost(students["hiro_relu"]) == {"nets_activation_leaks"}
    assert _lost(students["sven_energy_sign"]) == {"energy_matches_reference"}
    for misplaced in ("gwen_bn_before_activation", "paolo_bn_on_inputs"):
        assert _lost(students[misplaced]) == {"nets_linear_layers_and_batchnorm_places", "nets_learn_with_nnbase",
                                              "nets_follow_their_arguments"}, misplaced
        # BNNet's half of the largest probe, the one about where batch norm goes
        assert _probes(students[misplaced])["nets_linear_layers_and_batchnorm_places"].points == 1, misplaced


def test_the_visible_check_says_where_batch_norm_goes_without_giving_the_code(reference):
    expected = _run(CHECKS, reference)[ORDER_CHECK][1]
    for student, words in (("gwen_bn_before_activation", "after its activation"),
                           ("paolo_bn_on_inputs", "raw input"),
                           ("jonas_normalnet_with_batchnorm", "NormalNet must not use BatchNorm"),
                           ("farid_wrong_axis", None), ("kofi_syntax_error", None)):
        spec, result = _run(CHECKS, _sample_module(student))[ORDER_CHECK]
        verdict = judge(spec, result, expected)
        if words is None:  # a mistake in BatchNorm, or none at all, is Q2A's: the nets' check passes
            assert verdict.score == 1, (student, verdict.message)
            continue
        assert verdict.score == 0 and words in verdict.message, (student, verdict.message)
        assert "nn." not in verdict.message and "BatchNorm()" not in verdict.message
    references = _run(CHECKS, reference)
    for student in HONEST_BUT_DIFFERENT:
        for name, (spec, result) in _run(CHECKS, _sample_module(student)).items():
            assert judge(spec, result, references[name][1]).score == 1, (student, name)


def test_the_release_gives_no_answer_away_and_lets_students_edit_the_imports():
    from autograder.analysis.rules import check_rules
    release = read_notebook(paths.REPO_ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    text = "\n".join(cell.source for cell in release.cells)
    for secret in ("Marking", "Model answer", "W v - b", "Wv - b", "answer to Q1(a))"):
        assert secret not in text, secret
    first_code = next(cell for cell in release.cells if cell.cell_type == "code")
    assert first_code.metadata["nbgrader"]["grade_id"] == "imports"
    assert first_code.metadata["nbgrader"]["locked"] is False
    first_code.source += "\nimport math"
    assert [v.rule for v in check_rules(release) if v.rule == "imports-first-cell"] == []
    from autograder.verbs.export import name_field
    name_cell = next(cell for cell in release.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "student_name")
    assert name_field(release) is None  # the placeholders are no name
    name_cell.source = name_cell.source.replace("*(your name)*", "Ada Lovelace").replace("*(your ID)*", "20871234")
    assert name_field(release) == "Ada Lovelace (20871234)"  # what the PDF's first page shows


def test_the_rubrics_are_in_the_source_only_and_a_copied_rubric_is_refused():
    import nbformat
    from autograder.verbs.release import find_leaks
    source = nbformat.read(paths.source_notebook(ASSIGNMENT), as_version=4)
    rubrics = {cell.metadata["nbgrader"]["grade_id"]: line for cell in source.cells
               if cell.cell_type == "markdown" and cell.metadata["nbgrader"].get("solution")
               for line in cell.source.splitlines() if line.startswith("*Marking")}
    assert sorted(rubrics) == ["q1a_answer", "q1b_answer", "q2b_answer", "q2c_answer"]  # every manual question
    released = nbformat.read(paths.REPO_ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert find_leaks(source, released) == []
    released.cells[0].source += "\n\n" + rubrics["q2c_answer"]
    assert [leak.what for leak in find_leaks(source, released)] == ["model answer"]


# ---- one authority: the notebook's hidden tests agree with the probes -------------------------------

def test_the_notebook_test_cells_agree_with_the_probes_on_every_sample(graded):
    """Every test cell with hidden tests (Q1c, Q2A, Q2C-nets), run on each sample that ended cleanly
    and is not hostile, passes exactly when the probes give its question full marks: farid's wrong
    BatchNorm and kofi's missing one cost Q2A only, in the test cells too."""
    found, run = disagreements(ASSIGNMENT, graded[0].students, _notebook, never_here=HONEST_TWIN)
    assert found == []
    assert {"farid_wrong_axis", "kofi_syntax_error", "gwen_bn_before_activation", "adam_invalid_json",
            "chloe_untouched", REFERENCE_ID} <= set(run)
    assert not set(run) & set(HONEST_TWIN)


def test_a_test_cell_that_disagrees_with_the_probes_is_reported(students):
    """The comparison can fail: a cell that always fails disagrees on full marks, one that always
    passes on partial marks."""
    pair = [students["amelia_correct_torch"], students["dmitri_unbiased_variance"]]
    assert disagreements(ASSIGNMENT, pair, _notebook, cells={"Q2A": "assert False"})[0] == [
        "amelia_correct_torch Q2A: probes give full marks, the test cell fails"]
    assert disagreements(ASSIGNMENT, pair, _notebook, cells={"Q2A": "pass"})[0] == [
        "dmitri_unbiased_variance Q2A: probes give partial marks, the test cell passes"]


def test_notebook_probes_use_the_notebook_globals_themselves():
    """The grader's BatchNorm reaches a notebook's nets through its globals, and is taken away after:
    farid's wrong BatchNorm costs nothing in Q2C-nets, here as in the sandbox."""
    from autograder.grading import notebook_probes
    farid = vars(_sample_module("farid_wrong_axis"))
    own = farid["BatchNorm"]
    assert {name: v.score for name, v in notebook_probes.probe_verdicts(ASSIGNMENT, "Q2C-nets", farid).items()} == \
        {name: 1.0 for name in ("nets_set_a_loss", "nets_learn_with_nnbase", "nets_linear_layers_and_batchnorm_places",
                                "nets_activation_leaks", "nets_follow_their_arguments")}
    assert farid["BatchNorm"] is own
    with pytest.raises(ValueError, match="no probe of question 'Q9'"):
        notebook_probes.probe_verdicts(ASSIGNMENT, "Q9", farid)


def test_an_euler_step_that_changes_u_in_place_loses_only_that_item():
    from autograder.grading import notebook_probes
    namespace = {"np": np}
    exec("def energy(W, b, v):\n    return float(-0.5 * v @ W @ v + b @ v)\n\n"
         "def euler_step(W, b, u, dt):\n    u += dt * (W @ np.tanh(u) - b)\n    return u\n", namespace)
    verdicts = notebook_probes.probe_verdicts(ASSIGNMENT, "Q1c", namespace)
    assert verdicts["energy_matches_reference"].score == 1
    assert verdicts["euler_step_matches_reference"].score == pytest.approx(0.8)
    assert "not changed in place" in verdicts["euler_step_matches_reference"].message
