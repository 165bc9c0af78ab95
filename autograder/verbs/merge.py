"""Put the shards of a class back together (the ``autograder merge`` verb).

    result = merge([Path("out/shard-0"), Path("out/shard-1"), Path("out/shard-2")], Path("out/class"))

Each folder is the output of `autograder grade` (usually with `--shard K/N`): its saved
`results/<student>.json` are read back (`StudentResult.from_json`) and the class's reports are
written into the new folder as `grade` writes them (grades.csv, feedback/, gradescope/), with the
results copied into its results/.

Nothing is guessed. A student in two folders is an overlap, refused with both folders named. When
the folders hold shard records (`shards.RECORD_FILE`), they must be shards of one class (same
assignment, same N, same students found, no shard twice), and every student a record says its
shard was given, or a missing shard's students, must have a result: those missing are named. A
folder without a record (graded without --shard) contributes the results it holds.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from autograder import paths
from autograder.errors import AutograderError
from autograder.grading.config import load_config
from autograder.grading.grade import ClassResult, StudentResult, batch_seed
from autograder.grading.shards import read_record
from autograder.verbs.report import write_reports

NAMED = 20  # missing students named in the error; the rest are counted


class MergeError(AutograderError):
    """The folders cannot be merged into one class: the message says which students or folders."""


def merge(out_dirs: list[Path], out: Path, assignment: str | None = None, root: Path = paths.REPO_ROOT) -> ClassResult:
    """Read the results of `out_dirs`, check they make one class, write its reports into `out`.
    `assignment` is needed only when no folder has a shard record. Raises MergeError."""
    out_dirs = [Path(folder) for folder in out_dirs]
    if not out_dirs:
        raise MergeError("no grading output folder to merge")
    twice = sorted({str(folder) for folder in out_dirs if out_dirs.count(folder) > 1})
    if twice:
        raise MergeError(f"{twice[0]} is named twice")
    absent = [folder for folder in out_dirs if not folder.is_dir()]
    if absent:
        raise MergeError(f"{absent[0]} does not exist or is not a folder")
    records = {folder: read_record(folder) for folder in out_dirs}
    assignment = _one_assignment(records, assignment)
    expected = _expected_students(records)
    owner: dict[str, Path] = {}
    students: dict[str, StudentResult] = {}
    for folder in out_dirs:
        results = folder / "results"
        if not results.is_dir():
            raise MergeError(f"{folder} has no results/ folder: it is not the output of `autograder grade`")
        record = records[folder]
        names = record["students"] if record else sorted(path.stem for path in results.glob("*.json"))
        for name in names:
            if name in owner:
                raise MergeError(f"student {name} is in both {owner[name]} and {folder}: each student must be "
                                 "graded by one shard only")
            owner[name] = folder
            path = results / f"{name}.json"
            if path.is_file():
                students[name] = _read_result(path)
    missing = sorted(set(expected) - set(students))
    if missing:
        named = ", ".join(missing[:NAMED]) + (f" and {len(missing) - NAMED} more" if len(missing) > NAMED else "")
        raise MergeError(f"{len(missing)} of the class's {len(expected)} students have no result: {named} "
                         "(grade their shard again, or add its folder)")
    config = load_config(assignment, root)
    isolation = "; ".join(sorted({record["isolation"] for record in records.values() if record})) or \
        "as recorded in each student's result"
    result = ClassResult(config, [students[name] for name in sorted(students)], Path(out).resolve(),
                         batch_seed(config.assignment), isolation)
    (result.out_dir / "results").mkdir(parents=True, exist_ok=True)
    for name in students:
        shutil.copyfile(owner[name] / "results" / f"{name}.json", result.out_dir / "results" / f"{name}.json")
    write_reports(result, result.out_dir)
    return result


def _one_assignment(records: dict[Path, dict | None], asked: str | None) -> str:
    named = {record["assignment"] for record in records.values() if record} | ({asked} if asked else set())
    if len(named) > 1:
        raise MergeError(f"the folders are of different assignments: {', '.join(sorted(named))}")
    if not named:
        raise MergeError("no folder holds a shard record (shard.json) saying which assignment it graded: "
                         "name it with --assignment")
    return named.pop()


def _expected_students(records: dict[Path, dict | None]) -> list[str]:
    """Every student the records say the class has ([] without records); refuses shards of
    different classes or counts, and a shard given twice."""
    sharded = {folder: record for folder, record in records.items() if record}
    if not sharded:
        return []
    first_folder, first = next(iter(sharded.items()))
    seen: dict[int, Path] = {}
    for folder, record in sharded.items():
        if record["shard"].count != first["shard"].count:
            raise MergeError(f"{folder} is shard {record['shard']} but {first_folder} is shard {first['shard']}: "
                             "the shards of one class are all K/N with the same N")
        if record["class"] != first["class"]:
            raise MergeError(f"{folder} and {first_folder} found different classes: grade every shard from the "
                             "same submissions")
        if record["shard"].index in seen:
            raise MergeError(f"{seen[record['shard'].index]} and {folder} are both shard {record['shard']}")
        seen[record["shard"].index] = folder
    return list(first["class"])


def _read_result(path: Path) -> StudentResult:
    try:
        return StudentResult.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise MergeError(f"{path}: not a saved result this engine can read ({type(error).__name__}: {error})") from None
