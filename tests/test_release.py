"""Release generation: stubs replace solutions, leaks are refused, a stale release is noticed (the
check bundle by the stamp of its inputs, never by its float bits), and the check bundle that lets a
student run `autograder check` holds the visible checks but never the hidden probes."""
import json
import shutil

import nbformat
import numpy as np
import pytest

from autograder.verbs import bundle, release

from autograder.grading import grade

from autograder import paths
from autograder.sandbox import wire
from autograder.grading.config import load_config
from autograder.grading.grade import batch_seed
from autograder.sandbox import Limits, Zygote
from tiny_course import (ASSIGNMENT, CHECKS, HIDDEN_LINE, MODEL_ANSWER, PROBE_SECRET, SOLUTION_LINE, make_course,
                         tiny_notebook)

# One more visible check for tiny, whose reference value is a float32 array.
MORE_CHECKS = CHECKS.replace("from autograder.grading.probes import allclose, equal, probe", """import numpy as np

from autograder.grading.probes import allclose, equal, probe""") + """

@probe("Q1", points=1, compare=allclose(), hint="square must work on float32 arrays.")
def squares_of_an_array(module, rng):
    return module.square(np.linspace(-1, 1, 9, dtype=np.float32) / 3)
"""


@pytest.fixture(scope="module")
def zygote():
    """One sandbox for the reference runs of the tiny course, whose checks need nothing preloaded."""
    with Zygote(Limits(wall_seconds=30, cpu_seconds=30, memory_mb=1024), preload=()) as running:
        yield running


@pytest.fixture
def course(tmp_path):
    return make_course(tmp_path)


@pytest.fixture(scope="module")
def released_once(tmp_path_factory, zygote):
    """A tiny course with MORE_CHECKS, released once for the module."""
    course = make_course(tmp_path_factory.mktemp("released"))
    (paths.assignment_dir(ASSIGNMENT, course) / "checks.py").write_text(MORE_CHECKS)
    release.release(ASSIGNMENT, course, zygote=zygote)
    return course


@pytest.fixture
def released(released_once, tmp_path):
    """A private copy of `released_once`, for a test that changes it."""
    return shutil.copytree(released_once, tmp_path / "course")


def _release_text(root):
    nb = nbformat.read(paths.release_notebook(ASSIGNMENT, root), as_version=4)
    return nb, "\n".join(cell.source for cell in nb.cells)


def test_release_replaces_solutions_and_hides_tests(course, zygote):
    folder = release.release(ASSIGNMENT, course, zygote=zygote)
    nb, text = _release_text(course)
    assert (folder / "utils.py").read_text() == paths.student_helpers(course).read_text()
    assert SOLUTION_LINE not in text and HIDDEN_LINE not in text and MODEL_ANSWER not in text
    assert "raise NotImplementedError()" in nb.cells[2].source
    assert nb.cells[5].source == "YOUR ANSWER HERE"
    assert nb.cells[3].source.strip() == "assert square(2) == 4"
    assert nb.cells[3].metadata["nbgrader"]["locked"] is True


def test_leak_check_catches_a_planted_solution_line(course, zygote):
    release.release(ASSIGNMENT, course, zygote=zygote)
    source = nbformat.read(paths.source_notebook(ASSIGNMENT, course), as_version=4)
    planted, _ = _release_text(course)
    planted.cells[4].source += f"\n    {SOLUTION_LINE}"
    planted.cells[1].source += f"\n{HIDDEN_LINE}"
    leaks = release.find_leaks(source, planted)
    assert [(leak.cell, leak.what) for leak in leaks] == [(2, "hidden test"), (5, "solution code")]
    assert "cell 5: solution code leaked" in str(leaks[1])


def test_leak_check_passes_a_clean_release(course, zygote):
    release.release(ASSIGNMENT, course, zygote=zygote)
    source = nbformat.read(paths.source_notebook(ASSIGNMENT, course), as_version=4)
    assert release.find_leaks(source, _release_text(course)[0]) == []


def test_release_refuses_hidden_tests_outside_a_test_cell(tmp_path):
    nb = tiny_notebook()
    # nbgrader only clears hidden tests in graded cells; in an ordinary cell they would ship.
    nb.cells[1].source += f"\n### BEGIN HIDDEN TESTS\n{HIDDEN_LINE}\n### END HIDDEN TESTS"
    course = make_course(tmp_path, nb)
    with pytest.raises(release.ReleaseError) as refusal:
        release.release(ASSIGNMENT, course)
    assert str(refusal.value) == ("nbgrader generate_assignment failed for 'tiny': cell 2 (imports, 'import math'): "
                                  "a ### BEGIN HIDDEN TESTS region in a cell that is not an Autograded tests cell, so "
                                  "the release would show it; make the cell an Autograded tests cell (View > Cell "
                                  "Toolbar > Create Assignment), or remove the region")
    assert not paths.release_dir(ASSIGNMENT, course).exists()


def test_an_unterminated_solution_region_names_its_cell(tmp_path):
    nb = tiny_notebook()
    nb.cells[2].source = nb.cells[2].source.replace("### END SOLUTION", "")
    with pytest.raises(release.ReleaseError) as refusal:
        release.release(ASSIGNMENT, make_course(tmp_path, nb, grading=False))
    assert str(refusal.value) == ("nbgrader generate_assignment failed for 'tiny': cell 3 (square, 'def square(x):'): "
                                  "RuntimeError: no end solution statement found")


def test_a_notebook_nbgrader_cannot_validate_is_refused_with_the_reason(tmp_path):
    nb = tiny_notebook()
    nb.cells[3].metadata["nbgrader"]["grade_id"] = "square"  # the solution cell's id
    with pytest.raises(release.ReleaseError) as refusal:
        release.release(ASSIGNMENT, make_course(tmp_path, nb, grading=False))
    assert str(refusal.value) == ("nbgrader generate_assignment failed for 'tiny': tiny.ipynb: ValidationError: "
                                  "Notebook failed to validate; the nbgrader metadata may be corrupted. "
                                  "(ValidationError: Duplicate grade id: square)")


def test_release_leaves_the_course_tree_as_it_was(tmp_path, zygote):
    course = make_course(tmp_path)
    (paths.source_notebook(ASSIGNMENT, course).parent / "data.csv").write_text("x\n1\n")
    before = {path: path.read_bytes() for path in course.rglob("*") if path.is_file()}
    folder = release.release(ASSIGNMENT, course, zygote=zygote)
    after = {path: path.read_bytes() for path in course.rglob("*") if path.is_file() and folder not in path.parents}
    assert after == before  # no gradebook, nothing written beside the source
    # nbgrader ships the assignment's other files, as `nbgrader generate_assignment` does
    assert sorted(path.name for path in folder.iterdir()) == ["check", "data.csv", f"{ASSIGNMENT}.ipynb", "utils.py"]


def test_stale_release_is_noticed(released):
    assert release.stale_files(ASSIGNMENT, released) == []
    source = paths.source_notebook(ASSIGNMENT, released)
    nb = nbformat.read(source, as_version=4)
    nb.cells[0].source += "\nA new sentence in the introduction."
    nbformat.write(nb, source)
    paths.student_helpers(released).write_text("CHANGED = True\n")
    assert release.stale_files(ASSIGNMENT, released) == [
        "check/expected.json (source notebook, utils.py changed)", f"{ASSIGNMENT}.ipynb", "utils.py"]


def _one_ulp_up(value):
    """A wire-format value with every array's values moved up by one unit in the last place."""
    if isinstance(value, dict) and wire.ARRAY_KEY in value:
        array = wire.decode_value(value)
        return wire.encode_value(np.nextafter(array, np.array(np.inf, dtype=array.dtype)))
    if isinstance(value, dict):
        return {key: _one_ulp_up(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_one_ulp_up(item) for item in value]
    return value


def test_expected_values_a_cpu_computes_differently_are_not_stale(released):
    expected = paths.release_dir(ASSIGNMENT, released) / "check" / "expected.json"
    stored = json.loads(expected.read_text())
    perturbed = {**stored, "results": _one_ulp_up(stored["results"])}
    assert perturbed != stored  # the array's bytes did change
    expected.write_text(json.dumps(perturbed, sort_keys=True, indent=1) + "\n")
    assert release.stale_bundle_files(ASSIGNMENT, released) == []


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("change, stale", [
    (lambda course: _edit(paths.assignment_dir(ASSIGNMENT, course) / "checks.py", "square(3)", "square(4)"),
     ["check/checks.py", "check/expected.json (checks file changed)"]),
    (lambda course: _edit(paths.assignment_dir(ASSIGNMENT, course) / "grading.toml", "wall_seconds = 30",
                          "wall_seconds = 20"),
     ["check/expected.json (grading.toml changed)", "check/grading.toml"]),
    (lambda course: paths.student_helpers(course).write_text("CHANGED = True\n"), ["check/expected.json (utils.py changed)"]),
    (lambda course: _edit(paths.source_notebook(ASSIGNMENT, course), "x * x", "x ** 2"),
     ["check/expected.json (reference module, source notebook changed)"]),
], ids=["checks file", "grading.toml", "utils.py", "reference solution"])
def test_a_changed_input_makes_the_bundle_stale(released, change, stale):
    change(released)
    assert release.stale_bundle_files(ASSIGNMENT, released) == stale


def test_another_seed_makes_the_bundle_stale(released, monkeypatch):
    monkeypatch.setattr(grade, "batch_seed", lambda assignment: 7)
    assert release.stale_bundle_files(ASSIGNMENT, released) == ["check/expected.json (seed changed)"]


@pytest.mark.parametrize("damage", [lambda path: path.unlink(), lambda path: path.write_text("{")],
                         ids=["missing", "not JSON"])
def test_a_missing_or_damaged_expected_values_file_is_stale(released, damage):
    damage(paths.release_dir(ASSIGNMENT, released) / "check" / "expected.json")
    assert release.stale_bundle_files(ASSIGNMENT, released) == ["check/expected.json"]


def test_a_stamp_whose_inputs_cannot_be_read_is_a_clear_error(released):
    paths.student_helpers(released).write_bytes(b"\xff\xfe not UTF-8")
    with pytest.raises(release.ReleaseError, match=r"cannot write the check bundle of 'tiny': .*utils\.py cannot "
                                                   r"be read for the stamp"):
        release.stale_bundle_files(ASSIGNMENT, released)


# ---- the check bundle -------------------------------------------------------------------------

def test_release_writes_the_check_bundle(course, zygote):
    folder = release.release(ASSIGNMENT, course, zygote=zygote)
    grader = paths.assignment_dir(ASSIGNMENT, course)
    assert sorted(p.name for p in (folder / "check").iterdir()) == ["checks.py", "expected.json", "grading.toml"]
    for name in ("grading.toml", "checks.py"):
        assert (folder / "check" / name).read_bytes() == (grader / name).read_bytes()
    stored = json.loads((folder / "check" / "expected.json").read_text())
    assert [wire.parse_message(json.dumps(message).encode()) for message in stored["results"]] == [
        {"event": "probe", "name": "square_of_three", "value": 9},
        {"event": "probe", "name": "squares_of_fractions",
         "value": {"half": 0.25, "thirds": [0.0, 1 / 9, 4 / 9, 1.0]}}]
    assert stored["stamp"]["seed"] == batch_seed(ASSIGNMENT)
    checks = load_config(ASSIGNMENT, course).visible_checks()
    reference = bundle.read_expected(folder / "check" / "expected.json", checks, batch_seed(ASSIGNMENT))
    assert reference.results["square_of_three"]["value"] == 9


def test_every_checks_value_is_stored_with_its_dtype(released):
    expected = paths.release_dir(ASSIGNMENT, released) / "check" / "expected.json"
    stored = json.loads(expected.read_text())
    assert [message["name"] for message in stored["results"]] == [
        "square_of_three", "squares_of_fractions", "squares_of_an_array"]
    checks = load_config(ASSIGNMENT, released).visible_checks()
    reference = bundle.read_expected(expected, checks, batch_seed(ASSIGNMENT))
    assert sorted(reference.results) == ["square_of_three", "squares_of_an_array", "squares_of_fractions"]
    assert reference.results["squares_of_an_array"]["value"].dtype == np.float32


def test_the_hidden_probes_appear_nowhere_in_the_release(course, zygote):
    assert PROBE_SECRET in (paths.assignment_dir(ASSIGNMENT, course) / "probes.py").read_text()
    folder = release.release(ASSIGNMENT, course, zygote=zygote)
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert len(files) == 5 and "probes.py" not in {path.name for path in files}
    assert [path for path in files if PROBE_SECRET.encode() in path.read_bytes()] == []


def _hidden_probe_text(course):
    return (paths.assignment_dir(ASSIGNMENT, course) / "probes.py").read_text()


@pytest.mark.parametrize("leak, found", [
    (lambda course: ("probes.py", _hidden_probe_text(course)), "check/probes.py: the hidden probes file probes.py"),
    (lambda course: ("checks.py", _hidden_probe_text(course)), "check/checks.py: the text of the hidden probes.py"),
    (lambda course: ("checks.py", "def square_of_a_negative_number(module, rng):\n    return module.square(-7)\n"),
     "check/checks.py: hidden probe square_of_a_negative_number of probes.py"),
], ids=["the file", "its text", "one probe"])
def test_leak_check_finds_hidden_probes_in_a_release_folder(course, tmp_path, leak, found):
    name, text = leak(course)
    (tmp_path / "out" / "check").mkdir(parents=True)
    (tmp_path / "out" / "check" / name).write_text(text)
    assert release.find_probe_leaks(load_config(ASSIGNMENT, course), tmp_path / "out") == [found]


def test_release_refuses_visible_checks_that_hold_a_hidden_probe(course, zygote):
    checks = paths.assignment_dir(ASSIGNMENT, course) / "checks.py"
    hidden = _hidden_probe_text(course).split("\n\n\n", 1)[1]  # the probe, without the docstring and import
    checks.write_text(checks.read_text() + "\n\n" + hidden)
    with pytest.raises(release.ReleaseError) as refusal:
        release.release(ASSIGNMENT, course, zygote=zygote)
    assert str(refusal.value) == ("refusing to release 'tiny': the student folder would still contain\n"
                                  "  check/checks.py: hidden probe square_of_a_negative_number of probes.py")
    assert not paths.release_dir(ASSIGNMENT, course).exists()


def test_release_refuses_checks_the_reference_fails(course, zygote):
    checks = paths.assignment_dir(ASSIGNMENT, course) / "checks.py"
    checks.write_text(checks.read_text().replace("return module.square(3)", "return module.cube(3)"))
    with pytest.raises(release.ReleaseError, match="cannot write the check bundle of 'tiny': probe square_of_three "
                                                   "fails on the reference solution: the reference solution failed "
                                                   "probe square_of_three: AttributeError"):
        release.release(ASSIGNMENT, course, zygote=zygote)


def test_unknown_assignment_is_a_clear_error(course):
    with pytest.raises(paths.AssignmentError, match="unknown assignment 'nope'; known: tiny"):
        paths.resolve_assignments(["nope"], course)


@pytest.mark.parametrize("assignment", paths.list_assignments())
def test_committed_release_is_current(assignment):
    stale = release.stale_files(assignment)
    assert stale == [], f"release/{assignment}/ is stale ({', '.join(stale)}): run `autograder release {assignment}`"


@pytest.fixture(scope="module")
def portable_zygote():
    """A course zygote whose torch runs its portable kernels (ATEN_CPU_CAPABILITY=default), as on a
    CPU without this one's vector instructions: the variable reaches the zygote only at its start."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ATEN_CPU_CAPABILITY", "default")
        zygote = Zygote()
        zygote.start()
    with zygote:
        yield zygote


def _uses_torch(assignment: str) -> bool:
    return "torch" not in load_config(assignment, probes=False).blocked_imports


# Every assignment on this CPU's kernels, and those that use torch again on its portable ones.
REGENERATIONS = [(a, "this CPU") for a in paths.list_assignments()] + \
                [(a, "portable kernels") for a in paths.list_assignments() if _uses_torch(a)]


@pytest.mark.slow
@pytest.mark.parametrize("assignment, kernels", REGENERATIONS, ids=[f"{a}-{k}" for a, k in REGENERATIONS])
def test_committed_release_is_what_a_regeneration_makes(assignment, kernels, tmp_path, course_zygote, request):
    # The reference runs again: only the float bits of expected values may differ. An assignment that
    # blocks torch, which the course zygote preloads (numpy_mlp), gets a zygote of its own.
    zygote = request.getfixturevalue("portable_zygote") if kernels == "portable kernels" else course_zygote
    fresh = release.generate(assignment, tmp_path / assignment, zygote=zygote if _uses_torch(assignment) else None)
    assert release.comparable_contents(fresh) == release.comparable_contents(paths.release_dir(assignment))


CAPABILITY_PROBE = """from autograder.grading.probes import equal, probe


@probe("Q1", points=1, compare=equal())
def capability(module, rng):
    import torch
    return torch.backends.cpu.get_cpu_capability()
"""


def test_the_portable_zygote_runs_torch_on_its_portable_kernels(portable_zygote, course_zygote):
    import torch  # this process's, whose environment had no ATEN_CPU_CAPABILITY either (unless the suite's did)
    job = {"module_name": "submission", "module_source": "", "probe_source": CAPABILITY_PROBE,
           "probe_names": ["capability"], "seed": 0, "extra_sys_path": []}
    assert portable_zygote.run(job).results["capability"]["value"] == "DEFAULT"
    assert course_zygote.run(job).results["capability"]["value"] == torch.backends.cpu.get_cpu_capability()


@pytest.mark.parametrize("assignment", paths.list_assignments())
def test_source_notebook_is_committed_without_outputs(assignment):
    nb = nbformat.read(paths.source_notebook(assignment), as_version=4)
    carrying = [number for number, cell in enumerate(nb.cells, start=1)
                if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert carrying == [], f"source/{assignment} has outputs in cells {carrying}: strip them before committing"
