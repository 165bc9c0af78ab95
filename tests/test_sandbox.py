"""sandbox: every limit, every escape attempt, and the bookkeeping (no stray processes or fds).

One zygote serves the whole module. The tests expect what this project's machines give (user
namespaces); on a machine that gives less they fail, which is the point: the sandbox is weaker there.
They pass as root and as an ordinary user (tests/test_unprivileged.py runs this module as one).
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from autograder.paths import REPO_ROOT
from autograder.grading.probes import judge, load_probes
from autograder.sandbox import Limits, SandboxError, Zygote, wire
from autograder.sandbox.namespaces import SANDBOX_ID_BASE
from autograder.sandbox.outcome import classify
from autograder.sandbox.parent import TAIL_BYTES
from autograder.sandbox.worker import RESULT_FD

PROBES = '''
from autograder.grading.probes import probe, equal, allclose

@probe("Q1", points=1, compare=equal())
def value(module, rng):
    return module.value()

@probe("Q1", points=1, compare=equal())
def second(module, rng):
    return module.second()

@probe("Q2", points=1, compare=allclose())
def draws(module, rng):
    return {"module": module.value(), "rng": rng.normal(size=3)}
'''
LIMITS = Limits(wall_seconds=30, cpu_seconds=10, memory_mb=1024, processes=16, file_size_mb=16)
SECRET = "the answer is 42"


ROOT = os.geteuid() == 0
# What the uid map of a child shows: "0 <host uid> 1"; read by the child from /proc/self/uid_map.
HOST_UID = "int(open('/proc/self/uid_map').read().split()[1])"


# What a child's private /tmp shows: the first folder of each path it needs under the host's /tmp
# (this checkout or its virtualenv, when they live there), read-only.
KEPT_UNDER_TMP = sorted({path.parts[2] for path in (REPO_ROOT, Path(sys.prefix).resolve())
                         if path.parts[1:2] == ("tmp",)})


@pytest.fixture(scope="module")
def secret_dir():
    """A folder of the host outside /tmp (every child gets a private /tmp anyway) that any user may
    write to, so that this module also runs as an ordinary user."""
    with tempfile.TemporaryDirectory(dir="/var/tmp", prefix="autograder-hidden-") as folder:
        (Path(folder) / "secret.txt").write_text(SECRET)
        yield Path(folder)


class LimitedZygote:
    """A zygote whose runs get `limits` unless a test gives others."""

    def __init__(self, zygote: Zygote, limits: Limits):
        self.zygote, self.limits = zygote, limits

    def run(self, job, limits=None):
        return self.zygote.run(job, limits or self.limits)

    def __getattr__(self, name):
        return getattr(self.zygote, name)


@pytest.fixture(scope="module")
def zygote(secret_dir, course_zygote):
    """The course's zygote (the default preloads), with LIMITS."""
    return LimitedZygote(course_zygote, LIMITS)


def job(module_source: str, probe_names=("value",), seed=0) -> dict:
    return {"module_name": "submission", "module_source": textwrap.dedent(module_source),
            "probe_source": PROBES, "probe_names": list(probe_names), "seed": seed, "extra_sys_path": []}


def value_of(outcome, probe="value"):
    result = outcome.results[probe]
    assert "value" in result, result
    return result["value"]


def processes_of(uid: int) -> list[int]:
    """Processes of the host user `uid` (as root, each run has its own), zombies included."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                found.append(int(entry.name))
        except FileNotFoundError:
            pass
    return found


def children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return children


def eventually(condition, seconds=5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


# ---- normal runs --------------------------------------------------------------------------------

def test_the_probe_source_text_is_gone_before_the_submission_loads(zygote):
    outcome = zygote.run(job("""
        import sys
        class Snoop:
            found = []
            frame = sys._getframe()
            while frame is not None:
                for local in list(frame.f_locals.values()):
                    texts = local.values() if isinstance(local, dict) else [local]
                    found += [t for t in texts if isinstance(t, str) and "def " + "draws" in t]
                frame = frame.f_back
        def value():
            return len(Snoop.found)
    """))
    assert value_of(outcome) == 0



def test_a_trivial_job_sends_its_values(zygote):
    outcome = zygote.run(job("""
        import numpy as np
        def value():
            print("hello from the child")
            return {"n": 3, "array": np.arange(6, dtype=np.int32).reshape(2, 3), "nan": float("nan")}
    """))
    assert (outcome.status, outcome.exit_code, outcome.signal) == ("ok", 0, None), outcome
    assert [m["event"] for m in outcome.messages] == ["loaded", "probe", "done"]
    value = value_of(outcome)
    assert value["n"] == 3 and np.isnan(value["nan"])
    np.testing.assert_array_equal(value["array"], np.arange(6).reshape(2, 3))
    assert value["array"].dtype == np.int32
    assert outcome.stdout_tail == "hello from the child\n"
    assert outcome.detail == "ran 1 probe"


@pytest.mark.user_dependent
def test_the_child_is_pid_1_unprivileged_with_only_its_own_fds_and_a_minimal_environment(zygote):
    outcome = zygote.run(job("""
        import os, resource
        def value():
            status = dict(line.split(":", 1) for line in open("/proc/self/status"))
            return {"pid": os.getpid(), "ids": [os.getuid(), os.getgid()], "host_uid": """ + HOST_UID + """,
                    "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
                    "capabilities": status["CapEff"].strip(), "no_new_privs": status["NoNewPrivs"].strip(),
                    "environment": sorted(os.environ), "cwd": os.getcwd(), "processes": len(os.listdir("/proc")),
                    "cpu": resource.getrlimit(resource.RLIMIT_CPU), "nproc": resource.getrlimit(resource.RLIMIT_NPROC),
                    "fsize": resource.getrlimit(resource.RLIMIT_FSIZE)}
    """))
    value = value_of(outcome)
    assert value["pid"] == 1 and value["ids"] == [0, 0]
    # As root, uid 0 inside is a host uid of its own; as a user, that user (the only map allowed).
    assert value["host_uid"] >= SANDBOX_ID_BASE if ROOT else value["host_uid"] == os.geteuid()
    assert value["fds"] == [0, 1, 2, RESULT_FD, RESULT_FD + 1]  # the last is listdir's own
    assert value["capabilities"] == "0000000000000000" and value["no_new_privs"] == "1"
    assert set(value["environment"]) == {"PATH", "LANG", "USER", "HOME", "TMPDIR", "MPLBACKEND", "MPLCONFIGDIR",
                                         "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"}
    assert value["cwd"] == "/tmp"
    assert value["cpu"] == [10, 10] and value["nproc"] == [16, 16] and value["fsize"] == [16 * 2**20] * 2


def test_the_child_holds_none_of_the_notebook_tooling(zygote):
    """The zygote imports only what a child runs: no notebook reader or IPython in its memory."""
    outcome = zygote.run(job("""
        import sys
        def value():
            return sorted(name for name in ("nbformat", "jsonschema", "IPython", "nbconvert", "autograder.analysis.extract")
                          if name in sys.modules)
    """))
    assert value_of(outcome) == []


def test_the_same_job_gives_the_same_values_and_probes_get_their_own_seeds(zygote):
    source = """
        import random
        import numpy as np
        import torch
        def value():
            return {"random": random.random(), "numpy": np.random.rand(3), "torch": torch.rand(3)}
    """
    first, again = (zygote.run(job(source, ["value", "draws"])) for _ in range(2))
    for name in ("value", "draws"):
        a, b = value_of(first, name), value_of(again, name)
        assert wire.encode_value(a) == wire.encode_value(b)
    assert value_of(first)["random"] != value_of(first, "draws")["module"]["random"]
    other_seed = zygote.run(job(source, ["value"], seed=1))
    assert value_of(other_seed)["random"] != value_of(first)["random"]


def test_a_probe_error_is_reported_and_later_probes_still_run(zygote):
    outcome = zygote.run(job("""
        def value():
            return [1] + "a"
        def second():
            return "fine"
    """, ["value", "no_such_probe", "second"]))
    assert outcome.status == "ok"
    assert outcome.results["value"]["error"]["type"] == "TypeError"
    assert outcome.results["no_such_probe"]["error"] == {"type": "LookupError",
                                                         "message": "no probe named 'no_such_probe'"}
    assert value_of(outcome, "second") == "fine"


def test_values_that_cannot_travel_become_probe_errors(zygote):
    outcome = zygote.run(job("""
        import numpy as np
        def value():
            return np.zeros(5_000_000)  # 40 MB: over the wire's limit for one message
        def second():
            return {"a set": {1, 2}}
    """, ["value", "second"]))
    assert outcome.status == "ok"
    assert outcome.results["value"]["error"]["type"] == "ValueError"
    assert "MB as JSON, more than the 32.0 MB left to send it" in outcome.results["value"]["error"]["message"]
    assert outcome.results["second"]["error"] == {
        "type": "TypeError", "message": "value['a set'] is a set, which cannot be sent back to the grader"}


@pytest.mark.user_dependent
def test_concurrent_runs_get_their_own_results_and_as_root_their_own_users(zygote):
    outcomes = {}

    def run(n):
        outcomes[n] = zygote.run(job(f"import os, time\ndef value():\n    time.sleep(0.5)\n    return [{n}, {HOST_UID}]\n"))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    values = [value_of(outcomes[n]) for n in range(4)]
    assert [v[0] for v in values] == [0, 1, 2, 3]
    if ROOT:
        assert len({v[1] for v in values}) == 4 and all(v[1] >= SANDBOX_ID_BASE for v in values)


# ---- limits -------------------------------------------------------------------------------------

def test_a_cpu_loop_hits_the_time_limit_and_earlier_probes_still_count(zygote):
    outcome = zygote.run(job("""
        def value():
            return "done before the loop"
        def second():
            while True:
                pass
    """, ["value", "second"]), replace(LIMITS, cpu_seconds=1))
    assert outcome.status == "time limit", outcome
    assert outcome.detail == "used its 1 s of CPU time"
    assert outcome.signal == "SIGKILL" and outcome.cpu_seconds >= 0.9
    assert value_of(outcome) == "done before the loop" and "second" not in outcome.results


def test_sleeping_hits_the_wall_clock_limit(zygote):
    outcome = zygote.run(job("import time\ndef value():\n    time.sleep(60)\n"),
                         replace(LIMITS, wall_seconds=2.5))
    assert outcome.status == "time limit"
    assert outcome.detail == "still running after 2.5 s of wall-clock time"
    assert outcome.elapsed < 10 and outcome.signal == "SIGKILL"
    assert [m["event"] for m in outcome.messages] == ["loaded"]


def test_allocating_10_gb_hits_the_memory_limit(zygote):
    outcome = zygote.run(job("""
        import numpy as np
        import torch
        def value():
            return np.ones(10 * 2**30 // 8).sum()
        def second():
            return torch.ones(10 * 2**30 // 4).sum()
    """, ["value", "second"]))
    assert outcome.status == "memory limit", outcome
    assert outcome.detail == "ran out of its 1024 MB of memory in probe value"
    assert outcome.results["value"]["error"]["type"] == "MemoryError"
    assert outcome.results["second"]["error"]["type"] == "MemoryError"  # torch's RuntimeError
    assert outcome.messages[-1]["event"] == "done"


def test_a_kernel_kill_near_the_memory_limit_counts_as_memory():
    stream = wire.MessageStream(["value"])
    stream.feed(b'{"event":"loaded"}\n')
    report = {"exit_code": None, "signal": signal.SIGKILL, "cpu_seconds": 0.5, "max_rss_kb": 1300 * 1024,
              "zygote_rss_kb": 300 * 1024, "isolated": False, "cpu_limit_reached": False}
    assert classify(stream, report, LIMITS, False, None, "") == (
        "memory limit", "was killed by SIGKILL after running out of its 1024 MB of memory")
    report["max_rss_kb"] = 600 * 1024
    assert classify(stream, report, LIMITS, False, None, "") == ("crashed", "was killed by SIGKILL")
    # Isolated, nothing but the kernel's CPU limit can SIGKILL the worker, whatever getrusage says.
    report["isolated"] = True
    assert classify(stream, report, LIMITS, False, None, "") == (
        "time limit", f"used its {LIMITS.cpu_seconds:g} s of CPU time")
    report["signal"] = signal.SIGABRT
    assert classify(stream, report, LIMITS, False, None, "std::bad_alloc")[0] == "memory limit"


@pytest.mark.user_dependent
def test_a_fork_bomb_is_contained_and_leaves_no_process(zygote):
    outcome = zygote.run(job("""
        import os
        print("uid", open("/proc/self/uid_map").read().split()[1], flush=True)
        def value():
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
    """), replace(LIMITS, cpu_seconds=2))
    # Each process is far below the limit: the processes' CPU time counts together.
    assert (outcome.status, outcome.detail) == ("time limit", "used its 2 s of CPU time"), outcome
    assert outcome.cpu_seconds >= 2
    if ROOT:  # the monitor, which runs as the same host uid, exits just after its report
        assert eventually(lambda: processes_of(int(outcome.stdout_tail.split()[1])) == [])
    assert eventually(lambda: children_of(zygote.pid) == [])


@pytest.mark.user_dependent
def test_a_100_mb_file_hits_the_file_size_limit_and_is_not_left_behind(zygote):
    outcome = zygote.run(job("""
        import os
        def value():
            with open("big.bin", "wb") as f:
                for _ in range(100):
                    f.write(b"x" * 2**20)
        def second():
            return [os.getcwd(), os.path.getsize("big.bin")]
    """, ["value", "second"]))
    error = outcome.results["value"]["error"]
    assert error["type"] == "OSError" and "File too large" in error["message"]
    workdir, size = value_of(outcome, "second")
    assert size <= 16 * 2**20
    assert not Path(workdir, "big.bin").exists()


def test_huge_output_keeps_only_a_tail(zygote):
    outcome = zygote.run(job("""
        import sys
        def value():
            for i in range(200_000):
                print("line", i)
                print("err", i, file=sys.stderr)
            print("the end")
            return 1
    """))
    assert outcome.status == "ok" and value_of(outcome) == 1
    assert len(outcome.stdout_tail) == TAIL_BYTES and outcome.stdout_tail.endswith("line 199999\nthe end\n")
    assert len(outcome.stderr_tail) == TAIL_BYTES and outcome.stderr_tail.endswith("err 199999\n")


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="cpu_seconds"):
        Limits(cpu_seconds=0)


def test_a_malformed_job_is_refused(zygote):
    with pytest.raises(ValueError, match="exactly the keys"):
        zygote.run({"module_source": ""})
    with pytest.raises(ValueError, match="identifier"):
        zygote.run({**job("x = 1"), "module_name": "not a name"})


# ---- escapes ------------------------------------------------------------------------------------

@pytest.mark.user_dependent
def test_the_child_sees_an_allow_list_root_and_nothing_of_the_repository(zygote, secret_dir, tmp_path):
    outcome = zygote.run(job(f"""
        import os
        def attempt(path):
            try:
                with open(path) as f:
                    return f.read()
            except OSError as error:
                return type(error).__name__
        def value():
            return {{"secret": attempt({str(secret_dir / "secret.txt")!r}),
                    "repository": sorted(os.listdir({str(REPO_ROOT)!r})),
                    "root": sorted(os.listdir("/")), "etc": sorted(os.listdir("/etc")),
                    "home": os.path.exists("/home"), "run": os.path.exists("/run"),
                    "host_tmp": os.path.exists({str(tmp_path)!r}), "tmp": sorted(os.listdir("/tmp"))}}
    """))
    value = value_of(outcome)
    assert value["secret"] == "FileNotFoundError" and SECRET not in str(value)
    # The repository shows the engine and the student helpers only: no .git, source/, assignments/.
    assert set(value["repository"]) <= {"autograder", "nn_course_kit", ".venv"}, value["repository"]
    assert "autograder" in value["repository"]
    assert set(value["root"]) <= {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "root",
                                  "sbin", "tmp", "usr", *Path(REPO_ROOT).parts[1:2], *Path(sys.prefix).parts[1:2]}
    # Debian's Python keeps its sitecustomize in /etc/python3.X, which that Python needs.
    assert {"group", "passwd"} <= set(value["etc"]) <= {"group", "ld.so.cache", "localtime", "passwd",
                                                         f"python{sys.version_info[0]}.{sys.version_info[1]}"}
    assert (value["home"], value["run"], value["host_tmp"]) == (False, False, False)
    assert value["tmp"] == KEPT_UNDER_TMP


@pytest.mark.user_dependent
def test_a_path_the_child_needs_under_tmp_stays_visible_and_read_only(zygote):
    """A course checked out under /tmp: its paths are bound into the private /tmp, not hidden by it."""
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        Path(folder, "course_helper.py").write_text("ANSWER = 42\n")
        os.chmod(folder, 0o755)
        outcome = zygote.run({**job(f"""
            import os
            import course_helper
            def value():
                try:
                    open({folder!r} + "/written.txt", "w").close()
                    kept = "written"
                except OSError as error:
                    kept = type(error).__name__
                with open("/tmp/mine.txt", "w") as file:
                    file.write("private")
                return [course_helper.ANSWER, kept, sorted(os.listdir("/tmp"))]
        """), "extra_sys_path": [folder]})
        assert value_of(outcome) == [42, "OSError", sorted([*KEPT_UNDER_TMP, Path(folder).parts[2], "mine.txt"])]
        assert not Path(folder, "written.txt").exists()


@pytest.mark.user_dependent
def test_the_grader_environment_never_reaches_a_child(tmp_path, monkeypatch):
    """A canary in the grader's environment appears nowhere in the child's memory or output: the
    zygote is started with an environment built from nothing."""
    canary = "grader-secret-7f3a9c"
    monkeypatch.setenv("GRADER_CANARY", canary)
    with Zygote(LIMITS, preload=("numpy",)) as fresh:
        outcome = fresh.run(job("""
            import ctypes, os, re
            def memory():
                # Every readable private mapping with no file behind it: heap, stack, anonymous.
                found = bytearray()
                for line in open("/proc/self/maps"):
                    fields = line.split()
                    start, end = (int(x, 16) for x in fields[0].split("-"))
                    name = fields[5] if len(fields) > 5 else ""
                    if fields[1][0] == "r" and name in ("", "[heap]", "[stack]") and end - start < 2**31:
                        found += ctypes.string_at(start, end - start)
                return bytes(found)
            def value():
                stat = open("/proc/self/stat").read().rsplit(")", 1)[1].split()
                env_start, env_end = int(stat[-4]), int(stat[-3])
                block = ctypes.string_at(env_start, env_end - env_start)
                # Built the same way at run time, so each is in memory as often, unless the canary
                # is there for another reason (the source text holds them only reversed).
                needles = {name: text[::-1].encode() for name, text in
                           {"canary": "c9a3f7-terces-redarg", "control": "c9a3f7-terces-lortnoc"}.items()}
                data = memory()
                try:
                    environ = open("/proc/self/environ", "rb").read().decode(errors="replace")
                except OSError as error:  # the worker is not dumpable after its change of uid
                    environ = type(error).__name__
                return {"environ": environ,
                        "block": block.decode(errors="replace"),
                        "counts": {name: data.count(needle) for name, needle in needles.items()},
                        "memory_bytes": len(data)}
        """))
    value = value_of(outcome)
    assert value["memory_bytes"] > 10 * 2**20  # the scan read the child's memory
    assert canary not in value["environ"] and canary not in value["block"] and "GRADER_CANARY" not in value["block"]
    assert value["counts"]["control"] >= 1 and value["counts"]["canary"] == value["counts"]["control"]
    assert canary not in outcome.stdout_tail + outcome.stderr_tail


@pytest.mark.user_dependent
def test_the_network_and_host_unix_sockets_are_unreachable(zygote, secret_dir):
    unix_path = str(secret_dir / "service.sock")
    with socket.create_server(("127.0.0.1", 0)) as listener, \
            socket.socket(socket.AF_UNIX) as unix_listener:
        unix_listener.bind(unix_path)
        unix_listener.listen()
        os.chmod(unix_path, 0o777)
        port = listener.getsockname()[1]
        outcome = zygote.run(job(f"""
            import socket
            def attempt(family, address):
                try:
                    with socket.socket(family) as s:
                        s.settimeout(2)
                        s.connect(address)
                except OSError as error:
                    return type(error).__name__
                return "connected"
            def value():
                return [attempt(socket.AF_INET, ("127.0.0.1", {port})), attempt(socket.AF_UNIX, {unix_path!r})]
        """))
        for server in (listener, unix_listener):
            server.settimeout(0.5)
            with pytest.raises(TimeoutError):
                server.accept()
    assert value_of(outcome) == ["OSError", "FileNotFoundError"]


@pytest.mark.user_dependent
def test_nothing_can_be_written_outside_the_private_tmp(zygote, tmp_path):
    targets = [REPO_ROOT / "leak.txt", Path("/var/tmp/leak.txt"), tmp_path / "leak.txt", Path("/etc/leak.txt")]
    outcome = zygote.run(job(f"""
        import os
        def value():
            results = {{}}
            for path in {[str(t) for t in targets]!r} + ["in_tmp.txt"]:
                try:
                    with open(path, "w") as f:
                        f.write("x")
                    results[path] = "written"
                except OSError as error:
                    results[path] = type(error).__name__
            return results
    """))
    results = value_of(outcome)
    assert results.pop("in_tmp.txt") == "written"
    assert all(result != "written" for result in results.values()), results
    assert not any(target.exists() for target in targets)


@pytest.mark.user_dependent
def test_killing_the_parent_or_the_zygote_has_no_effect(zygote):
    outcome = zygote.run(job(f"""
        import os, signal
        attempts = {{}}
        for name, pid in [("parent", os.getppid()), ("zygote", {zygote.pid}), ("grader", {os.getpid()})]:
            try:
                os.kill(pid, signal.SIGKILL)
                attempts[name] = "sent"
            except OSError as error:
                attempts[name] = type(error).__name__
        def value():
            return attempts
    """))
    assert outcome.status == "ok", outcome
    assert value_of(outcome)["grader"] in ("ProcessLookupError", "PermissionError")
    assert value_of(outcome)["zygote"] in ("ProcessLookupError", "PermissionError")
    os.kill(zygote.pid, 0)  # still alive
    assert zygote.run(job("def value():\n    return 'still works'\n")).status == "ok"


def test_sys_exit_at_import_is_a_load_error(zygote):
    outcome = zygote.run(job("import sys\nsys.exit(3)\n"))
    assert outcome.status == "ok"
    assert outcome.load_error == {"type": "SystemExit", "message": "3"}
    assert outcome.detail == "did not load: SystemExit: 3"
    assert [m["event"] for m in outcome.messages] == ["load_error", "done"]


def test_os_exit_at_import_is_a_crash(zygote):
    outcome = zygote.run(job("import os\nos._exit(0)\n"))
    assert (outcome.status, outcome.exit_code) == ("crashed", 0)
    assert outcome.detail == "exited with code 0 before it had finished"
    assert outcome.messages == []


def test_a_segfault_is_a_crash_with_the_signal(zygote):
    outcome = zygote.run(job("import ctypes\ndef value():\n    return ctypes.string_at(0)\n"))
    assert (outcome.status, outcome.signal) == ("crashed", "SIGSEGV")
    assert outcome.detail == "was killed by SIGSEGV"


def test_monkeypatching_libraries_cannot_change_encoded_values(zygote, tmp_path):
    outcome = zygote.run(job("""
        import base64, binascii, builtins, json
        import numpy as np
        import torch
        real_isinstance = builtins.isinstance
        json.dumps = lambda *a, **k: '{"event": "done"}'
        json.JSONEncoder.encode = lambda self, o: '"forged"'
        binascii.b2a_base64 = lambda *a, **k: b"AAAA"
        base64.b64encode = lambda *a, **k: b"AAAA"
        builtins.print = lambda *a, **k: None
        builtins.isinstance = lambda obj, kinds: False if kinds is dict else real_isinstance(obj, kinds)
        torch.allclose = lambda *a, **k: True
        def value():
            result = {"array": np.arange(4.0) + 1, "tensor": torch.arange(3.0)}
            # Patched last: numpy's own seeding, before each probe, needs these.
            np.array = np.ascontiguousarray = lambda *a, **k: np.zeros(1)
            return result
    """))
    assert outcome.status == "ok", outcome
    value = value_of(outcome)
    np.testing.assert_array_equal(value["array"], [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(value["tensor"], [0.0, 1.0, 2.0])
    # The verdict is made in the parent: the patched torch.allclose changes nothing.
    probes_file = tmp_path / "probes.py"
    probes_file.write_text(PROBES.replace("compare=equal()", "compare=allclose()"))
    spec = next(s for s in load_probes(probes_file) if s.name == "value")
    reference = {"name": "value", "value": {"array": np.arange(4.0), "tensor": np.arange(3.0)}}
    assert judge(spec, outcome.results["value"], reference).score == 0.5


def test_garbage_on_the_result_pipe_is_malformed(zygote):
    outcome = zygote.run(job(f"import os\nos.write({RESULT_FD}, b'garbage\\n')\ndef value():\n    return 1\n"))
    assert outcome.status == "malformed"
    assert outcome.detail.startswith("sent a malformed message: not a JSON message")


def test_forged_messages_out_of_order_are_malformed(zygote):
    outcome = zygote.run(job(f"import os\nos.write({RESULT_FD}, b'{{\"event\": \"done\"}}\\n')\n"))
    assert outcome.status == "malformed"
    assert "a 'done' message came where load_error or loaded was expected" in outcome.detail


# ---- bookkeeping --------------------------------------------------------------------------------

@pytest.mark.user_dependent
def test_runs_leave_no_fds_processes_or_zombies(zygote):
    before = set(os.listdir("/proc/self/fd"))
    uids = [value_of(zygote.run(job(f"def value():\n    return {HOST_UID}\n"))) for _ in range(3)]
    assert set(os.listdir("/proc/self/fd")) == before
    assert eventually(lambda: children_of(zygote.pid) == [])
    if ROOT:
        assert eventually(lambda: [processes_of(uid) for uid in uids] == [[], [], []])


@pytest.mark.user_dependent
def test_isolation_is_described(zygote):
    assert zygote.isolation.complete, zygote.isolation.missing
    assert zygote.isolation.describe().startswith("user, mount, PID, network, IPC and UTS namespaces")


def test_a_missing_preload_module_stops_the_zygote_with_its_name():
    with pytest.raises(SandboxError, match="no_such_module_xyz"):
        Zygote(preload=("no_such_module_xyz",)).start()


@pytest.mark.user_dependent
def test_a_running_zygote_imports_more_for_the_next_children_and_never_a_blocked_package():
    loaded = job("""
        import sys
        def value():
            return ["xml.dom.minidom" in sys.modules, "utils" in sys.modules,
                    any(name.partition(".")[0] == "torch" for name in sys.modules)]
    """)
    with Zygote(LIMITS, preload=("numpy",), blocked=("torch",)) as light:
        assert value_of(light.run(loaded)) == [False, False, False]
        light.import_modules(["numpy", "xml.dom.minidom", "utils"])  # utils imports torch if it can
        assert value_of(light.run(loaded)) == [True, True, False]
        assert light.preload == ("numpy", "xml.dom.minidom", "utils")
        with pytest.raises(SandboxError, match="blocks torch.nn, which the assignment preloads"):
            light.import_modules(["torch.nn"])
        with pytest.raises(SandboxError, match="could not import no_such_module_xyz: ModuleNotFoundError"):
            light.import_modules(["no_such_module_xyz"])
        refused = light.run(job("def value():\n    import torch\n"))
        assert refused.results["value"]["error"]["type"] in ("ImportError", "ModuleNotFoundError")


def test_a_launched_zygote_starts_on_its_first_run_and_is_killed_if_never_used():
    launched = Zygote(preload=("numpy",))
    launched.launch()
    try:
        assert launched.isolation is None  # nothing waited for it yet
        assert launched.run(job("def value():\n    return 1\n")).status == "ok"
        assert launched.isolation is not None
    finally:
        launched.close()
    unused = Zygote(preload=("numpy", "torch"))
    unused.launch()
    process = unused._process
    unused.close()  # at once: killed while it imports torch, not waited for
    assert process.returncode == -signal.SIGKILL


def test_a_dead_zygote_is_a_sandbox_error_and_a_dead_parent_takes_the_zygote_along():
    with Zygote(preload=("numpy",)) as light:
        os.kill(light.pid, signal.SIGKILL)
        light._process.wait()
        with pytest.raises(SandboxError, match="not running"):
            light.run(job("def value():\n    return 1\n"))
    script = ("import sys; sys.path.insert(0, %r)\nfrom autograder.sandbox import Zygote\n"
              "z = Zygote(preload=('numpy',)); z.start(); print(z.pid, flush=True)\nimport os; os._exit(0)\n") % str(REPO_ROOT)
    parent = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    orphan = int(parent.stdout)

    def gone():
        try:
            return Path(f"/proc/{orphan}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except FileNotFoundError:
            return True
    assert eventually(gone)


def test_the_weak_mode_must_be_asked_for_and_still_applies_the_limits(caplog):
    """isolate=False stands for a machine without user namespaces: no isolation, said loudly."""
    with Zygote(LIMITS, preload=("numpy",), isolate=False) as weak:
        assert not weak.isolation.complete and weak.isolation.missing == "turned off by the grader"
        assert weak.isolation.describe().startswith("NO ISOLATION")
        assert "the sandbox is weak" in caplog.text
        outcome = weak.run(job("""
            import os, time
            def value():
                if os.fork() == 0:  # a child that leaves the process group survives: the weak mode
                    time.sleep(60)
                    os._exit(0)
                return os.getcwd()
        """))
        workdir = value_of(outcome)
        assert outcome.status == "ok"
        assert workdir.startswith(tempfile.gettempdir()) and not Path(workdir).exists()
        looping = weak.run(job("def value():\n    while True:\n        pass\n"), replace(LIMITS, cpu_seconds=1))
        assert (looping.status, looping.detail) == ("time limit", "used its 1 s of CPU time"), looping
        spinning_children = weak.run(job("""
            import os
            def value():
                for _ in range(4):
                    if os.fork() == 0:
                        while True:
                            pass
                os.wait()
        """), replace(LIMITS, cpu_seconds=1))
        assert (spinning_children.status, spinning_children.detail) == ("time limit", "used its 1 s of CPU time")
