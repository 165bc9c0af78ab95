"""The Gradescope autograder bundle, run as Gradescope runs it: the zip unpacked into a folder with
Gradescope's layout (AUTOGRADER_ROOT standing for /autograder), setup.sh with its network steps
skipped (`--offline`: this test's Python already has the pinned packages), then run_autograder on
one submission per root, the roots graded in parallel processes: a correct notebook, the untouched
release (stubs) and a hostile notebook that hunts for the bundle's hidden files. A submission
without exactly one notebook is refused before grading starts, so those cases run in this process.
"""
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from autograder import paths
from autograder.verbs import gradescope


ASSIGNMENT = "hopfield_batchnorm"
SETTINGS = {"assignment": ASSIGNMENT, "visibility": "after_published", "allow_weak_sandbox": False}
SAMPLES = paths.REPO_ROOT / "examples" / "submissions" / ASSIGNMENT
MANUAL_LINES = ("Q1a (2 points) needs manual grading", "Q1b (2 points) needs manual grading",
                "Q2B (2 points) needs manual grading", "Q2C-plot (4 points) needs manual grading")
# wanda reads the course files beside utils' folder; in the bundle they are one folder further up.
HOSTILE_FROM = "os.path.dirname(os.path.abspath(utils.__file__))"
HOSTILE_TO = "os.path.dirname(os.path.dirname(os.path.abspath(utils.__file__)))"


def _notebooks(tmp) -> dict[str, list]:
    """root name -> the files of its submission folder (name, bytes)."""
    hostile = (SAMPLES / "wanda_reads_secrets.ipynb").read_text(encoding="utf-8")
    assert json.dumps(HOSTILE_FROM)[1:-1] in hostile
    return {"correct": [("amelia.ipynb", (SAMPLES / "amelia_correct_torch.ipynb").read_bytes())],
            "stubs": [("chloe.ipynb", (SAMPLES / "chloe_untouched.ipynb").read_bytes())],
            "hostile": [("wanda.ipynb", hostile.replace(json.dumps(HOSTILE_FROM)[1:-1],
                                                        json.dumps(HOSTILE_TO)[1:-1]).encode())],
}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """The zip, one unpacked and set-up Gradescope root per submission, and each root's results."""
    tmp = tmp_path_factory.mktemp("gradescope")
    zip_path = gradescope.build_bundle(ASSIGNMENT, tmp / "autograder.zip")
    base = tmp / "base"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(base / "source")
    for script in ("setup.sh", "run_autograder"):  # zipfile does not restore modes
        (base / "source" / script).chmod(0o755)
    environment = {**os.environ, "AUTOGRADER_ROOT": str(base), "AUTOGRADER_PYTHON": sys.executable}
    setup = subprocess.run([base / "source" / "setup.sh", "--offline"], env=environment, capture_output=True,
                           text=True, timeout=120)
    assert setup.returncode == 0, setup.stderr
    runs = {}
    for name, files in _notebooks(tmp).items():
        root = tmp / name
        shutil.copytree(base / "source", root / "source")
        shutil.copy(root / "source" / "run_autograder", root / "run_autograder")  # where Gradescope puts it
        (root / "submission").mkdir()
        for file, data in files:
            (root / "submission" / file).write_bytes(data)
        runs[name] = (root, subprocess.Popen([root / "run_autograder"], env={**environment, "AUTOGRADER_ROOT": str(root)},
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = {}
    for name, (root, process) in runs.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"{name}: {err}"
        results[name] = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    return zip_path, base, setup.stdout, results


@pytest.mark.slow  # the fixture starts graders in processes of their own
def test_correct_work_gets_the_full_autograded_score(bundle):
    _, _, _, results = bundle
    correct = results["correct"]
    assert correct["score"] == 9 == sum(test["max_score"] for test in correct["tests"])
    assert [test["name"].split(":")[0] for test in correct["tests"]] == ["Q1c", "Q2A", "Q2C-nets"]
    assert all(test["visibility"] == "after_published" for test in correct["tests"])
    assert correct["stdout_visibility"] == "hidden"
    assert correct["output"].startswith("Status: ok")
    assert all(line in correct["output"] for line in MANUAL_LINES)


@pytest.mark.slow  # the fixture starts graders in processes of their own
def test_stubs_score_nothing_and_say_why(bundle):
    stubs = bundle[3]["stubs"]
    assert stubs["score"] == 0 and all(test["score"] == 0 for test in stubs["tests"])
    assert "your code raised an error in some tests" in stubs["output"]
    assert all(line in stubs["output"] for line in MANUAL_LINES)


@pytest.mark.slow  # the fixture starts graders in processes of their own
def test_a_hostile_notebook_finds_none_of_the_bundles_files(bundle):
    _, base, _, results = bundle
    hostile = results["hostile"]
    assert hostile["score"] == 9  # its honest code's score: it found nothing to raise
    probes = (base / "source" / "kit" / "assignments" / ASSIGNMENT / "probes.py").read_text(encoding="utf-8")
    text = json.dumps(hostile)
    assert "def " not in text and not any(line in text for line in probes.splitlines() if len(line) > 30)


@pytest.mark.parametrize("files, said", [(("a.ipynb", "b.ipynb"), "holds 2 notebooks (a.ipynb, b.ipynb)"),
                                         (("notes.txt",), "No notebook (.ipynb) was found")])
def test_a_submission_without_exactly_one_notebook_is_told_so(tmp_path, monkeypatch, files, said):
    monkeypatch.setattr(gradescope, "settings", lambda: SETTINGS)
    (tmp_path / "submission").mkdir()
    for name in files:
        (tmp_path / "submission" / name).write_text("{}", encoding="utf-8")
    results = gradescope.run(tmp_path)  # stops before grading: no sandbox started
    assert results["score"] == 0 and results["tests"] == [] and said in results["output"]
    assert json.loads((tmp_path / "results" / "results.json").read_text(encoding="utf-8")) == results


@pytest.mark.slow  # the fixture starts graders in processes of their own
def test_the_bundle_holds_the_pinned_engine_and_no_source_notebook(bundle):
    zip_path, base, setup_output, _ = bundle
    kit = base / "source" / "kit"
    assert "torch==2.13.0\n" in (kit / "requirements.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    assert "ready to grade hopfield_batchnorm" in setup_output
    setup = (base / "source" / "setup.sh").read_text(encoding="utf-8")
    assert "--index-url \"$TORCH_INDEX\"" in setup and "download.pytorch.org/whl/cpu" in setup
    reference = json.loads((kit / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text(encoding="utf-8"))
    assert [cell["cell_type"] for cell in reference["cells"]] == ["code"]
    assert "BEGIN" not in reference["cells"][0]["source"]  # no nbgrader markup, no model answers
    names = zipfile.ZipFile(zip_path).namelist()
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert zip_path.read_bytes() == gradescope.build_bundle(ASSIGNMENT, zip_path.with_name("again.zip")).read_bytes()


def test_bad_requests_fail_with_a_reason(tmp_path):
    with pytest.raises(gradescope.GradescopeError, match="unknown visibility 'sometimes'"):
        gradescope.build_bundle(ASSIGNMENT, tmp_path / "a.zip", visibility="sometimes")
    # Outside a bundle there are no settings: the runner says so and exits 2 without results.
    assert gradescope.main(["--root", str(tmp_path)]) == 2
    assert not (tmp_path / "results").exists()
