"""Sharded batches: one class graded as N independent parts (``autograder grade --shard K/N``), on
as many machines as a cluster gives, then put together by ``autograder merge``.

    shard = Shard.parse("1/3")
    shard.holds("jsmith")            # True for about a third of the ids, the same third everywhere

A student belongs to shard `int(sha256(id)[:8]) mod N` (K counts from 0, as Slurm array task ids
and Kubernetes completion indexes do): stable across processes, machines and Python versions,
unlike the built-in `hash()`, which each process salts. Every shard finds the whole class (so that
duplicate ids are numbered apart the same way) and grades only its part.

A shard's output folder holds its own results/ and `shard.json`, the record `merge` reads:

    {"format": 1, "assignment": "hopfield_batchnorm", "shard": [1, 3],
     "class": ["adam", "amelia", ...],     # every student id the shard found, sorted
     "students": ["amelia", ...],          # the ids it was given, sorted
     "isolation": "user, mount, PID, ..."}  # what the sandbox did on its machine
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import AutograderError

RECORD_FILE = "shard.json"
RECORD_FORMAT = 1


class ShardError(AutograderError):
    """A shard is asked for in a form that does not parse, or a shard record cannot be read."""


@dataclass(frozen=True)
class Shard:
    index: int  # K, from 0
    count: int  # N

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`"K/N"` with 0 <= K < N; raises ShardError saying what is wrong."""
        index, slash, count = str(text).strip().partition("/")
        if not slash or not index.isdigit() or not count.isdigit():
            raise ShardError(f"shard {text!r} is not K/N (two whole numbers, K from 0: 0/3, 1/3, 2/3)")
        shard = cls(int(index), int(count))
        if shard.count < 1 or shard.index >= shard.count:
            raise ShardError(f"shard {text!r} does not exist: K runs from 0 to N-1 and N is at least 1")
        return shard

    def holds(self, student: str) -> bool:
        digest = hashlib.sha256(student.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index

    def select(self, submissions: list) -> list:
        """The submissions (anything with a `student`) that belong to this shard, in their order."""
        return [submission for submission in submissions if self.holds(submission.student)]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def write_record(out_dir: Path, shard: Shard, assignment: str, everyone: list[str], given: list[str],
                 isolation: str) -> Path:
    path = Path(out_dir) / RECORD_FILE
    record = {"format": RECORD_FORMAT, "assignment": assignment, "shard": [shard.index, shard.count],
              "class": sorted(everyone), "students": sorted(given), "isolation": isolation}
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return path


def read_record(out_dir: Path) -> dict | None:
    """The shard record of a grading output folder; None for a folder graded without --shard.
    Raises ShardError for a record that cannot be read."""
    path = Path(out_dir) / RECORD_FILE
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("format") != RECORD_FORMAT:
            raise ValueError(f"format {record.get('format')!r}, not {RECORD_FORMAT}")
        index, count = record["shard"]
        return {**record, "shard": Shard(int(index), int(count))}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise ShardError(f"{path}: not a shard record this engine can read ({error})") from None
