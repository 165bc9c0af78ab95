"""The student check bundle: what ``autograder check`` needs from a release folder, with no course.

A student gets ``release/<a>/`` and never sees ``source/`` (the solutions) or the hidden probes, so
``autograder release`` writes beside the student notebook:

    check/grading.toml    a copy of assignments/<a>/grading.toml (questions, names, limits, rules)
    check/checks.py       the visible checks, at the path grading.toml's `checks` names
    check/expected.json   the reference solution's results of the visible checks

expected.json holds the child's messages for the reference run (`grade.run_reference` with the
visible checks as probes and the assignment's batch seed), in the wire format of
`autograder.sandbox.wire` (arrays base64-encoded, never pickle), and the stamp of what they were made from:

    {"format": 2,
     "results": [{"event": "probe", "name": "...", "value": ...}, ...],  # in the checks' order
     "stamp": {"checks file": "<sha256>",          # the visible checks file
               "engine": "nn-course-kit 0.1.0, bundle format 2",
               "grading.toml": "<sha256>",
               "reference module": "<sha256>",     # the module extracted from the reference notebook
               "seed": 123456789,                  # grade.batch_seed of the assignment
               "source notebook": "<sha256>",      # source/<a>/<a>.ipynb
               "torch": "2.13.0+cpu",              # the installed version
               "utils.py": "<sha256>"}}            # the course's utils.py

Each sha256 is the hex digest of the file's text as UTF-8 with universal newlines, so a checkout
with CRLF line endings stamps as one with LF. Every check's comparator reads the reference's value
(`autograder.grading.probes.probe` refuses one that does not), so every check has a result.

The stamp, not the values, says whether expected.json is current (`release.stale_files`): a
reference run on another CPU may differ in the last bits of a float (torch picks other SIMD
paths), which changes no verdict, whereas any change of an input changes the stamp. A student's
copy is checked against the inputs it can recompute: the checks file, grading.toml and the seed.
These values are not secret: the notebook's visible tests show the same things.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from autograder.grading import grade, versions

from autograder import paths
from autograder.grading.config import CONFIG_FILE, GradingConfig
from autograder.errors import AutograderError
from autograder.analysis.extract import extract
from autograder.analysis.notebook import NotebookError, read_notebook
from autograder.sandbox import Zygote, wire

BUNDLE_FOLDER = "check"
EXPECTED_FILE = "expected.json"
FORMAT = 2  # bump when expected.json's layout or meaning changes


class BundleError(AutograderError):
    """A check bundle cannot be written, or its expected values cannot be used (the message says why)."""


def write_bundle(config: GradingConfig, release_folder: Path, root: Path = paths.REPO_ROOT,
                 zygote: Zygote | None = None) -> Path:
    """Write `release_folder/check/` for the assignment of `config` (loaded with its probes, as the
    grader loads it) in the course at `root`, and return it. The reference runs in `zygote`, or in
    a new one that hides the grader's folder and the reference's.

    Raises BundleError when the checks file lies outside the grader's folder (the copied
    grading.toml could not name it) or an input of the stamp cannot be read,
    grade.ReferenceSolutionError when the reference fails a check.
    """
    folder = copy_config(config, release_folder)
    if config.checks_path is None:
        return folder
    checks = config.visible_checks()
    made_from = stamp(checks, root)
    with grade.running_zygote(zygote, config, allow_weak=True) as running:
        reference = grade.run_reference(checks, running, made_from["seed"])
    (folder / EXPECTED_FILE).write_text(expected_text(checks, reference, made_from), encoding="utf-8")
    return folder


def copy_config(config: GradingConfig, release_folder: Path) -> Path:
    """Copy grading.toml and the checks file of `config` into `release_folder/check/` (made here)
    and return that folder: the bundle without its expected values."""
    folder = release_folder / BUNDLE_FOLDER
    folder.mkdir(parents=True)
    shutil.copyfile(config.file, folder / CONFIG_FILE)
    if config.checks_path is None:
        return folder
    try:
        checks_file = folder / config.checks_path.resolve().relative_to(config.folder)
    except ValueError:
        raise BundleError(f"{config.file}: checks: {config.checks_path} is outside {config.folder}, so the "
                          "grading.toml copied for students could not name it") from None
    checks_file.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(config.checks_path, checks_file)
    return folder


def stamp(checks: GradingConfig, root: Path = paths.REPO_ROOT) -> dict:
    """The stamp of the expected values of `checks` (a config whose probes are the visible checks)
    in the course at `root`: what they are made from (see the module docstring). Computed without
    running anything. Raises BundleError when one of those files cannot be read."""
    try:
        reference = read_notebook(checks.source_path, keep_outputs=False)
    except NotebookError as error:
        raise BundleError(f"the reference solution cannot be read: {error}") from None
    return {**_checkable_inputs(checks, grade.batch_seed(checks.assignment)),
            "engine": f"{versions.engine()}, bundle format {FORMAT}",
            "reference module": _sha256(extract(reference).source),
            "source notebook": _file_sha256(paths.source_notebook(checks.assignment, root)),
            "torch": versions.torch(),
            "utils.py": _file_sha256(paths.student_helpers(root))}


def _checkable_inputs(checks: GradingConfig, seed: int) -> dict:
    """The part of the stamp that a student's copy of the bundle can recompute."""
    return {"checks file": _sha256(checks.probe_source), "grading.toml": _sha256(checks.text), "seed": seed}


def changed_inputs(old: dict, new: dict) -> list[str]:
    """The names of the stamp entries that differ between two stamps, sorted."""
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))


def expected_text(checks: GradingConfig, reference: grade.Reference, made_from: dict) -> str:
    """expected.json for the reference's results of `checks` (a config whose probes are the visible
    checks), stamped with `made_from`. Keys are sorted and the layout fixed, so that the same values
    give the same bytes."""
    results = [{**reference.results[spec.name], "value": wire.encode_value(reference.results[spec.name]["value"])}
               for spec in checks.probes]
    data = {"format": FORMAT, "results": results, "stamp": made_from}
    return json.dumps(data, sort_keys=True, indent=1) + "\n"


def read_stamp(path: Path) -> dict | None:
    """The stamp of the expected-values file at `path`; None when it cannot be read or is of
    another format."""
    try:
        return _read(path)["stamp"]
    except BundleError:
        return None


def read_expected(path: Path, checks: GradingConfig, seed: int) -> grade.Reference | None:
    """The reference results stored at `path` for `checks` (a config whose probes are the visible
    checks) run with `seed`, as `grade.run_reference` returns them
    (the reference's module itself is not shipped, so its source is empty); None when there is no
    such file.

    Raises BundleError when the file is damaged, or was made for another seed or version of the
    checks file or grading.toml.
    """
    if not path.is_file():
        return None
    data = _read(path)
    inputs = _checkable_inputs(checks, seed)
    changed = changed_inputs({name: data["stamp"].get(name) for name in inputs}, inputs)
    if changed:
        names = {"checks file": checks.probes_path.name, "seed": "the seed"}
        raise BundleError(f"{path} was made for another version of "
                          f"{' and '.join(names.get(name, name) for name in changed)}")
    results = {}
    for message in data["results"]:
        try:  # validated exactly as a child's message is
            parsed = wire.parse_message(json.dumps(message).encode())
        except wire.MalformedMessage as error:
            raise BundleError(f"{path} holds a malformed result ({error})") from None
        if parsed["event"] != "probe":
            raise BundleError(f"{path} holds a {parsed['event']!r} message where check results belong")
        results[parsed["name"]] = parsed
    missing = [spec.name for spec in checks.probes if spec.name not in results]
    if missing:
        raise BundleError(f"{path} has no expected value for the check {missing[0]}")
    return grade.Reference(module_source="", results=results)


def _read(path: Path) -> dict:
    """The parsed expected-values file at `path`, its format and layout checked. Raises BundleError."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise BundleError(f"{path} cannot be read ({error})") from None
    if (not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("results"), list)
            or not isinstance(data.get("stamp"), dict)):
        raise BundleError(f"{path} is not an expected-values file of this version of the kit")
    return data


def _file_sha256(path: Path) -> str:
    try:
        return _sha256(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise BundleError(f"{path} cannot be read for the stamp ({error})") from None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
