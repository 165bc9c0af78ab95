"""Gradescope's autograder: the zip an instructor uploads (``autograder gradescope``), and what it
runs in Gradescope's container for each submission (``python -m autograder.verbs.gradescope``).

    build_bundle("hopfield_batchnorm", Path("autograder.zip"))

The zip holds, at its top, what Gradescope runs (`setup.sh` once when it is uploaded,
`run_autograder` per submission) and, under `kit/`, a course root with only what grading needs:

    kit/autograder/                        the engine
    kit/nn_course_kit/                     utils.py and its fixtures (the sandbox preloads it)
    kit/assignments/<a>/                   grading.toml, the hidden probes, the visible checks
    kit/<the reference notebook's path>    one code cell: the module extracted from the source
                                           notebook (no prompt, model answer, test or output)
    kit/requirements.txt                   the kit's pinned dependencies, as pyproject.toml pins them
    kit/pyproject.toml, kit/README.md      so that setup.sh can register the engine's version
    kit/gradescope.json                    the assignment, the visibility, the sandbox mode

Gradescope unpacks the zip into /autograder/source, puts the student's files in
/autograder/submission and reads /autograder/results/results.json. Every path below that root
moves with the environment variable AUTOGRADER_ROOT (or `--root`), which is how the tests run a
bundle in a temporary folder.

A submission is graded by `grade.grade_assignment` with the same probes, sandbox and statuses as
`autograder grade`, and results.json is `report.gradescope_results` of it: one test per autograded
question (visibility `after_published` unless the bundle was built with another), the manual
questions listed as pending with their points in the output. A submission without exactly one
notebook gets a results.json that says so and scores 0. What stops grading itself (no sandbox,
a reference that fails its probes) is printed for the instructor and exits 2 without results.json,
which Gradescope shows as a failed autograder rather than as a grade.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tomllib
import zipfile
from pathlib import Path

import nbformat

from autograder import paths
from autograder.analysis.extract import extract
from autograder.analysis.notebook import NotebookError, read_notebook
from autograder.errors import AutograderError
from autograder.grading import versions
from autograder.grading.config import GradingConfig, load_config
from autograder.grading.grade import grade_assignment
from autograder.verbs.report import GRADESCOPE_VISIBILITY, class_table, gradescope_results

KIT = "kit"  # the course root inside the zip
SETTINGS_FILE = "gradescope.json"
DEFAULT_ROOT = Path("/autograder")
ROOT_VARIABLE = "AUTOGRADER_ROOT"
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
TEMPLATES = Path(__file__).parent / "templates" / "gradescope"
EXECUTABLE = 0o755
# Fixed so that the same course gives the same zip, byte for byte.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class GradescopeError(AutograderError):
    """A Gradescope bundle cannot be built, or the bundle's environment cannot grade."""


# ---- the bundle -------------------------------------------------------------------------------

def build_bundle(assignment: str, output: Path, root: Path = paths.REPO_ROOT, *,
                 visibility: str = GRADESCOPE_VISIBILITY, allow_weak_sandbox: bool = False) -> Path:
    """Write Gradescope's autograder zip for `assignment` to `output`; return `output`.
    Raises ConfigError for a broken grading.toml and GradescopeError for what the zip cannot hold."""
    if visibility not in VISIBILITIES:
        raise GradescopeError(f"unknown visibility {visibility!r}; Gradescope's are {', '.join(VISIBILITIES)}")
    config = load_config(assignment, root)
    files = {"setup.sh": (TEMPLATES / "setup.sh").read_bytes(),
             "run_autograder": (TEMPLATES / "run_autograder").read_bytes()}
    kit = {**_tree(paths.REPO_ROOT / "autograder", "autograder"),
           "nn_course_kit/__init__.py": (paths.student_helpers(root).parent / "__init__.py").read_bytes(),
           "nn_course_kit/utils.py": paths.student_helpers(root).read_bytes(),
           **_tree(paths.student_helpers(root).parent / "data" / "fixtures", "nn_course_kit/data/fixtures"),
           **_grading_files(config, root),
           _inside(config.source_path, root, "source"): _reference_notebook(config),
           "requirements.txt": _requirements(root).encode(),
           "pyproject.toml": (root / "pyproject.toml").read_bytes(),
           "README.md": (root / "README.md").read_bytes(),
           SETTINGS_FILE: json.dumps({"assignment": config.assignment, "visibility": visibility,
                                      "allow_weak_sandbox": allow_weak_sandbox}, indent=1).encode()}
    files.update({f"{KIT}/{name}": data for name, data in kit.items()})
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            executable = name in ("setup.sh", "run_autograder")
            info.external_attr = (EXECUTABLE if executable else 0o644) << 16
            archive.writestr(info, files[name])
    output.write_bytes(buffer.getvalue())
    return output


def _tree(folder: Path, prefix: str) -> dict[str, bytes]:
    """The files below `folder`, as zip names under `prefix`; no bytecode caches."""
    return {f"{prefix}/{path.relative_to(folder).as_posix()}": path.read_bytes()
            for path in sorted(folder.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"}


def _inside(path: Path, root: Path, key: str) -> str:
    """`path` relative to the course root, which the bundle's kit/ reproduces."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise GradescopeError(f"{path} ({key} of the assignment) is outside the course {root}: "
                              "the bundle can hold only the course's own files") from None


def _grading_files(config: GradingConfig, root: Path) -> dict[str, bytes]:
    files = [config.file, config.probes_path, *([config.checks_path] if config.checks_path else [])]
    return {_inside(file, root, "a grading file"): file.read_bytes() for file in files}


def _reference_notebook(config: GradingConfig) -> bytes:
    """A notebook of one code cell: the module extracted from the source notebook, which is all
    that grading reads of it (`grade.run_reference` extracts it again)."""
    try:
        source = extract(read_notebook(config.source_path, keep_outputs=False)).source
    except NotebookError as error:
        raise GradescopeError(f"the reference solution {config.source_path} cannot be read: {error}") from None
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source, id="reference")])
    return nbformat.writes(notebook).encode()


def _requirements(root: Path) -> str:
    """pyproject.toml's dependencies, one a line, pins as written (torch's exact pin included)."""
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as error:
        raise GradescopeError(f"cannot read the kit's dependencies from {root / 'pyproject.toml'}: {error}") from None
    return "".join(f"{requirement}\n" for requirement in project["dependencies"])


# ---- in Gradescope's container ---------------------------------------------------------------------

def settings() -> dict:
    """The bundle's gradescope.json, beside the engine in kit/."""
    path = paths.REPO_ROOT / SETTINGS_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise GradescopeError(f"{path}: not a Gradescope bundle's settings ({error})") from None


def self_check() -> str:
    """What setup.sh checks once: the settings, the grading files, the pinned torch and the engine's
    version can be read. Returns a line saying what was found."""
    config = load_config(settings()["assignment"])
    pins = (paths.REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").split()
    pinned = next(pin.split("==", 1)[1] for pin in pins if pin.startswith("torch=="))
    installed = versions.torch()
    if installed.split("+")[0] != pinned:
        raise GradescopeError(f"torch {installed} is installed, but the kit pins torch=={pinned}")
    return f"{versions.engine()}, torch {installed}: ready to grade {config.assignment}"


def run(root: Path) -> dict:
    """Grade the notebook in `root`/submission and write `root`/results/results.json; return it."""
    setting = settings()
    config = load_config(setting["assignment"])
    notebooks = sorted((root / "submission").glob("*.ipynb"))
    if len(notebooks) == 1:
        result = grade_assignment(config, notebooks[0], root / "grading-output", jobs=1, progress=False,
                                  allow_weak_sandbox=setting["allow_weak_sandbox"])
        print(class_table(result))
        results = gradescope_results(result.students[0], setting["visibility"])
    else:
        found = ", ".join(notebook.name for notebook in notebooks)
        problem = (f"Your submission holds {len(notebooks)} notebooks ({found}): upload only your completed "
                   f"{config.assignment}.ipynb." if notebooks else
                   f"No notebook (.ipynb) was found in your submission: upload your completed {config.assignment}.ipynb.")
        results = {"score": 0, "output": problem, "tests": []}
    results["stdout_visibility"] = "hidden"  # the grader's log is for the instructor
    path = root / "results" / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.verbs.gradescope",
                                     description="grade a Gradescope submission (what run_autograder runs)")
    parser.add_argument("--root", type=Path, default=Path(os.environ.get(ROOT_VARIABLE, DEFAULT_ROOT)),
                        help=f"Gradescope's folder (default: ${ROOT_VARIABLE}, else {DEFAULT_ROOT})")
    parser.add_argument("--self-check", action="store_true", help="check the environment only (setup.sh)")
    args = parser.parse_args(argv)
    try:
        if args.self_check:
            print(self_check())
        else:
            results = run(args.root)
            print(f"score {results['score']}: results in {args.root / 'results' / 'results.json'}")
    except AutograderError as error:
        print(f"autograder gradescope: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
