"""Entering the child's namespaces, as root or as an ordinary user.

One code path for both: a new user namespace (unprivileged user namespaces need no root) together
with new mount, PID, network, IPC and UTS namespaces. The calling process keeps every capability
inside the new user namespace, which owns the new mount namespace, so it can build the allow-list
root there; outside, it has no more rights than the one host uid its namespace maps to:

* run by root, uid 0 inside maps to a uid of its own outside (`SANDBOX_ID_BASE` + the monitor's
  pid), which owns nothing on the host, and supplementary groups are dropped first;
* run by an ordinary user, uid 0 inside maps to that user (the only mapping the kernel allows
  without privilege).

The uid and gid maps are written by a short-lived helper forked before the unshare: it is still in
the parent user namespace, which a map to a uid other than one's own requires.
"""
import os

from autograder.sandbox import libc

SANDBOX_ID_BASE = 2_000_000_000
NAMESPACE_FLAGS = (libc.CLONE_NEWUSER | libc.CLONE_NEWNS | libc.CLONE_NEWPID | libc.CLONE_NEWNET
                   | libc.CLONE_NEWIPC | libc.CLONE_NEWUTS)


def outside_id() -> int:
    """The host uid and gid that uid 0 of this process's sandbox maps to."""
    return SANDBOX_ID_BASE + os.getpid() if os.geteuid() == 0 else os.geteuid()


def enter(on_the_way=lambda: None):
    """Unshare every namespace and become uid/gid 0 of the new user namespace; return what
    `on_the_way()` returned, called in between, while this process is in the new mount namespace
    but still has the host uid it started with (which may reach paths the sandbox's uid may not).
    The next child this process forks is PID 1 of the new PID namespace. Raises OSError when the
    kernel refuses."""
    uid = gid = outside_id()
    if os.geteuid() == 0:
        os.setgroups([])
    else:
        gid = os.getegid()
    go_r, go_w = os.pipe()
    done_r, done_w = os.pipe()
    helper = os.fork()
    if helper == 0:
        os.close(go_w)
        os.close(done_r)
        _write_maps_when_told(os.getppid(), uid, gid, go_r, done_w)
    os.close(go_r)
    os.close(done_w)
    try:
        try:
            libc.unshare(NAMESPACE_FLAGS)
        finally:
            os.close(go_w)  # the helper writes the maps, or gives up if the unshare failed
        answer = os.read(done_r, 4096)
    finally:
        os.close(done_r)
        os.waitpid(helper, 0)
    if answer != b"ok":
        raise OSError(f"cannot map the sandbox's user namespace: {answer.decode(errors='replace')}")
    found = on_the_way()
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    return found


def _write_maps_when_told(target: int, uid: int, gid: int, go: int, done: int) -> None:
    """In the helper: wait until `target` has unshared, map its uid and gid, report, exit."""
    status = b"ok"
    try:
        os.read(go, 1)
        with open(f"/proc/{target}/uid_map", "w") as file:
            file.write(f"0 {uid} 1\n")
        if os.geteuid() != 0:  # without privilege, gid_map needs setgroups denied
            with open(f"/proc/{target}/setgroups", "w") as file:
                file.write("deny")
        with open(f"/proc/{target}/gid_map", "w") as file:
            file.write(f"0 {gid} 1\n")
    except BaseException as error:
        status = f"{type(error).__name__}: {error}".encode()
    finally:
        os.write(done, status)
        os._exit(0)
