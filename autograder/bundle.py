"""The student check bundle: what ``autograder check`` needs from a release folder, with no course.

A student gets ``release/<a>/`` and never sees ``source/`` (the solutions) or the hidden probes, so
``autograder release`` writes beside the student notebook:

    check/grading.toml    a copy of assignments/<a>/grading.toml (questions, names, limits, rules)
    check/checks.py       the visible checks, at the path grading.toml's `checks` names
    check/expected.json   the reference solution's results of the visible checks

expected.json holds the child's messages for the reference run (`grade.run_reference` with the
visible checks as probes and the assignment's batch seed), in the wire format of
`autograder.sandbox.wire` (arrays base64-encoded, never pickle), with what they were made from:

    {"assignment": "hopfield_batchnorm", "checks_sha256": "<of checks.py>", "format": 1,
     "results": [{"event": "probe", "name": "...", "value": ...}, ...],  # in the checks' order
     "seed": 123456789}

Keys are sorted and the layout fixed, so a regeneration gives the same bytes and
`release.stale_files` notices any change. These values are not secret: the notebook's visible
tests show the same things.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from autograder import grade
from autograder.sandbox import wire
from autograder.config import CONFIG_FILE, GradingConfig
from autograder.sandbox import Zygote

BUNDLE_FOLDER = "check"
EXPECTED_FILE = "expected.json"
FORMAT = 1  # bump when expected.json's meaning changes


class BundleError(ValueError):
    """A check bundle cannot be written, or its expected values cannot be used (the message says why)."""


def write_bundle(config: GradingConfig, release_folder: Path, zygote: Zygote | None = None) -> Path:
    """Write `release_folder/check/` for the assignment of `config` (loaded with its probes, as the
    grader loads it) and return it. The reference runs in `zygote`, or in a new one that hides the
    grader's folder and the reference's.

    Raises BundleError when the checks file lies outside the grader's folder (the copied
    grading.toml could not name it), grade.ReferenceSolutionError when the reference fails a check.
    """
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
    checks = config.visible_checks()
    seed = grade.batch_seed(config.assignment)
    with grade.running_zygote(zygote, config, allow_weak=True) as running:
        reference = grade.run_reference(checks, running, seed)
    (folder / EXPECTED_FILE).write_text(expected_text(checks, reference, seed), encoding="utf-8")
    return folder


def expected_text(checks: GradingConfig, reference: grade.Reference, seed: int) -> str:
    """expected.json for the reference's results of `checks` (a config whose probes are the visible
    checks) run with `seed`."""
    results = [{**reference.results[spec.name], "value": wire.encode_value(reference.results[spec.name]["value"])}
               for spec in checks.probes]
    data = {"format": FORMAT, "assignment": checks.assignment, "seed": seed,
            "checks_sha256": _sha256(checks.probe_source), "results": results}
    return json.dumps(data, sort_keys=True, indent=1) + "\n"


def read_expected(path: Path, checks: GradingConfig, seed: int) -> grade.Reference | None:
    """The reference results stored at `path` for `checks` (a config whose probes are the visible
    checks) run with `seed`, as `grade.run_reference` returns them (the reference's module itself
    is not shipped, so its source is empty); None when there is no such file.

    Raises BundleError when the file is damaged, or was made for another assignment, seed or
    version of the checks file.
    """
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise BundleError(f"{path} cannot be read ({error})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("results"), list):
        raise BundleError(f"{path} is not an expected-values file of this version of the kit")
    made_for = (data.get("assignment"), data.get("seed"), data.get("checks_sha256"))
    if made_for != (checks.assignment, seed, _sha256(checks.probe_source)):
        raise BundleError(f"{path} was made for another version of {checks.probes_path.name}")
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


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
