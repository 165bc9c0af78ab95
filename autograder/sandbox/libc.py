"""Thin ctypes wrappers over the Linux system calls the sandbox needs and Python 3.11 does not wrap.

Each raises OSError with the call's name when the kernel refuses it.
"""
import ctypes
import os

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 24, 36, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
SYS_PIVOT_ROOT, SYS_MOUNT_SETATTR = 155, 442  # x86-64 numbers
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 0x1, 0x2, 0x4
LINUX_CAPABILITY_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _checked(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _c_string(text: str | None) -> bytes | None:
    return None if text is None else text.encode()


def unshare(flags: int) -> None:
    _checked(_libc.unshare(flags), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _checked(_libc.mount(_c_string(source), _c_string(target), _c_string(fstype), ctypes.c_ulong(flags),
                         _c_string(data)), f"mount {target}")


def umount(target: str, flags: int = MNT_DETACH) -> None:
    _checked(_libc.umount2(_c_string(target), flags), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    _checked(_libc.syscall(SYS_PIVOT_ROOT, _c_string(new_root), _c_string(put_old)), "pivot_root")


class _MountAttributes(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def restrict_mounts(path: str, read_only: bool = True) -> None:
    """Add nosuid, nodev (and read-only) to every mount at and below `path` (mount_setattr, Linux
    5.12). Adding flags is allowed in a user namespace; clearing the ones a mount came with is not."""
    flags = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (MOUNT_ATTR_RDONLY if read_only else 0)
    attributes = _MountAttributes(flags, 0, 0, 0)
    _checked(_libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), AT_RECURSIVE,
                           ctypes.byref(attributes), ctypes.sizeof(attributes)), f"mount_setattr {path}")


def make_writable(path: str) -> None:
    """Clear the read-only flag of the one mount at `path` (not those below it). Allowed for a
    mount this user namespace made itself."""
    attributes = _MountAttributes(0, MOUNT_ATTR_RDONLY, 0, 0)
    _checked(_libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), 0, ctypes.byref(attributes),
                           ctypes.sizeof(attributes)), f"mount_setattr {path}")


def prctl(option: int, value: int, extra: int = 0) -> None:
    _checked(_libc.prctl(option, ctypes.c_ulong(value), ctypes.c_ulong(extra), 0, 0), "prctl")


class _CapabilityHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapabilityData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> None:
    """Give up every capability for good: the bounding set (so no later execve regains any, not even
    as uid 0 of a user namespace), the ambient set, then the effective, permitted and inheritable sets."""
    last = int(open("/proc/sys/kernel/cap_last_cap").read())
    for capability in range(last + 1):
        prctl(PR_CAPBSET_DROP, capability)
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header = _CapabilityHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapabilityData * 2)()
    _checked(_libc.capset(ctypes.byref(header), data), "capset")
