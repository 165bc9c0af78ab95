"""What isolation this machine gives a child, found by trying it once in a throwaway process."""
import json
import os
from dataclasses import asdict, dataclass

from autograder.sandbox import namespaces, rootfs
from autograder.sandbox.forked import run_forked

FULL = ("user, mount, PID, network, IPC and UTS namespaces; an allow-list root (the Python "
        "installation, the engine and the system libraries, read-only), a private /tmp and its own "
        "/proc; an environment built from nothing; no capabilities; limits on CPU time, memory, "
        "processes, file size and wall-clock time")
WEAK = ("NO ISOLATION: the child runs as the grader's own user and sees every file that user can "
        "read; an environment built from nothing; limits on CPU time, memory, file size and "
        "wall-clock time only (no process limit)")


@dataclass(frozen=True)
class Isolation:
    complete: bool  # namespaces and the allow-list root work here
    missing: str  # why they do not (empty when they do), or that the grader turned them off

    def describe(self) -> str:
        return FULL if self.complete else f"{WEAK} ({self.missing})"

    def to_json(self) -> dict:
        return asdict(self)


def probe(paths: list[str]) -> Isolation:
    """Enter the namespaces and build the allow-list root of `paths` in a throwaway child, as a
    real run would; say what failed."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        run_forked(lambda: _try(paths, write_end))
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        found = json.loads(answer.read() or b'{"error": "the probe died"}')
    os.waitpid(pid, 0)
    return Isolation(True, "") if found.get("ok") else Isolation(False, found["error"])


def _try(paths: list[str], answer: int) -> None:
    try:
        entries = namespaces.enter(lambda: rootfs.open_paths(paths))
        pid = os.fork()  # PID 1 of the new PID namespace, which /proc needs
        if pid == 0:
            run_forked(lambda: rootfs.build_root(entries, tmp_size_mb=1))
        _, status = os.waitpid(pid, 0)
        if status != 0:
            raise OSError("building the allow-list root failed (see the grader's stderr)")
        result = {"ok": True}
    except OSError as error:
        result = {"error": str(error)}
    os.write(answer, json.dumps(result).encode())
