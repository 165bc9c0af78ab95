"""The zygote: started once per `Zygote`, imports the heavy libraries, then forks one monitor per run
(and imports more when asked: `Zygote.import_modules`).

It is exec'd with an environment built from nothing (`worker.ENVIRONMENT`, HOME and a few engine
settings), so no byte of the grader's environment exists in its memory or in any child forked
from it; its settings arrive on the control socket, not on its command line.

Blocked packages (`Zygote(blocked=...)`) are located first and made unimportable here, so that no
preloaded module imports them (utils then works without torch); once the isolation is known to be
complete, the children meet `rootfs`'s stand-ins instead, which say why the import fails.
"""
import importlib
import json
import os
import signal
import socket
import sys

from autograder.paths import REPO_ROOT
from autograder.sandbox import isolation, libc, monitor, rootfs
from autograder.sandbox.forked import run_forked

# The control socket's messages: "run" with the run's fds, or IMPORT and a JSON list of module names.
IMPORT = b"import "
MESSAGE_BYTES = 2**16


def main(control_fd: int) -> None:
    control = socket.socket(fileno=control_fd)
    libc.prctl(libc.PR_SET_PDEATHSIG, signal.SIGKILL)
    settings = json.loads(control.recv(2**20) or b"{}")
    if os.getppid() != settings.get("parent_pid"):
        return  # the parent died before PR_SET_PDEATHSIG was set
    try:
        hidden = rootfs.blocked_packages(settings["blocked"])
        _preload(settings["preload"])
        paths = rootfs.paths_the_child_needs(REPO_ROOT)
        found = (isolation.probe(paths) if settings["isolate"]
                 else isolation.Isolation(False, "turned off by the grader"))
        if found.complete:  # the children's stand-ins say why; in the weak mode, sys.modules still refuses
            for name in hidden:
                sys.modules.pop(name, None)
    except BaseException as error:
        control.send(json.dumps({"error": f"{type(error).__name__}: {error}"}).encode())
        return
    control.send(json.dumps({"isolation": found.to_json()}).encode())
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are reaped by the kernel
    while True:
        message, fds, _, _ = socket.recv_fds(control, MESSAGE_BYTES, 4, socket.MSG_CMSG_CLOEXEC)
        if not message:
            # The parent closed the socket, or died. Exit at once: tearing down torch's modules
            # would keep the parent waiting for a second, and the zygote has nothing to flush.
            os._exit(0)
        if message.startswith(IMPORT):
            control.send(json.dumps(_import_more(json.loads(message.removeprefix(IMPORT)), hidden)).encode())
            paths = rootfs.paths_the_child_needs(REPO_ROOT)
            continue
        try:
            pid = os.fork()
        except OSError:
            pid = None  # the run's parent sees its channel close and reports it
        if pid == 0:
            control.close()
            run_forked(lambda: monitor.run(fds, paths, found, hidden))
        for fd in fds:
            os.close(fd)


def _import_more(names: list[str], hidden: dict[str, list[str]]) -> dict:
    """Import `names` as the preloads were, the blocked packages unimportable meanwhile: {} or
    {"error": why}."""
    absent = object()
    kept = {name: sys.modules.get(name, absent) for name in hidden}
    sys.modules.update(dict.fromkeys(hidden))
    try:
        _preload(names)
    except BaseException as error:  # an instructor's preload; the zygote goes on without it
        return {"error": f"{type(error).__name__}: {error}"}
    finally:
        for name, module in kept.items():
            if module is absent:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return {}


def _preload(names) -> None:
    """Import the modules every child would otherwise import again, and the child's own code."""
    for name in names:
        importlib.import_module(name)
    torch = sys.modules.get("torch")  # None: blocked
    if torch is not None:
        torch.set_num_threads(1)
        # Chooses the CPU kernels now, while ATEN_CPU_CAPABILITY is in the environment: torch reads
        # it on first use, and a child's environment no longer has it.
        torch.backends.cpu.get_cpu_capability()
    import autograder.sandbox.child  # noqa: F401
