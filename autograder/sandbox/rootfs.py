"""The child's file system: an allow-list, never a deny-list.

The worker starts from an empty tmpfs and sees only what is bound into it, read-only, nosuid, nodev:

    /usr, /bin, /lib* ...   the system's programs and shared libraries (symlinks recreated as such)
    <Python installation>   sys.base_prefix and sys.prefix (the virtualenv), every sys.path folder
    <the engine>            the `autograder` package and each preloaded module (e.g. `nn_course_kit/`, where `utils` is)
    /etc                    only ld.so.cache and localtime, plus a passwd and group naming uid 0
    /dev                    null, zero, full, random, urandom (bound from the host), /dev/fd links
    /proc                   its own, for its PID namespace
    /tmp, /dev/shm          private tmpfs, writable, size-capped: the working folder and HOME
    <blocked packages>      each folder of a package the assignment blocks (`blocked_packages`) is
                            covered by a read-only tmpfs holding only an __init__.py that raises
                            ImportError, so `import torch` fails there whatever the child does

Nothing else of the host exists for it: not the course repository (no `.git`, `source/`,
`assignments/`, outputs or other checkouts: a folder that holds the engine shows only the engine),
not /home, /root or /run (where local services keep their Unix sockets). Paths keep their host
names, so the interpreter and the import system work unchanged.
"""
import importlib.util
import os
import sys
from pathlib import Path

from autograder.sandbox import libc

SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/ld.so.cache",
                "/etc/localtime")
DEVICES = ("null", "zero", "full", "random", "urandom")
DEVICE_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
                "stderr": "/proc/self/fd/2"}
ACCOUNTS = {"passwd": "sandbox:x:0:0:sandbox:/tmp:/nonexistent\n", "group": "sandbox:x:0:\n"}
STAND_IN_MESSAGE = "{package} cannot be imported here: this assignment does not allow it"
STAGING = "/tmp"  # any existing folder: the new root is mounted there, then pivoted into
OLD_ROOT = ".old-root"


def paths_the_child_needs(repo_root: Path) -> list[str]:
    """The host paths bound into the child's root, outermost only: the system, the Python
    installation and its import path, the engine and every module imported so far that lives
    outside those (e.g. `nn_course_kit/`, where `utils` is). The repository's own folder is never among them."""
    engine = Path(__file__).resolve().parent.parent
    candidates = {*SYSTEM_PATHS, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  str(engine), *sys.path}
    for module in list(sys.modules.values()):
        origin = getattr(module, "__file__", None)
        if origin and not hasattr(module, "__path__"):
            candidates.add(origin)
    repository = os.path.realpath(repo_root)
    # The system's top-level links (/bin -> usr/bin on a merged /usr) stay links; the rest is resolved.
    found = {path if path in SYSTEM_PATHS and os.path.islink(path) else os.path.realpath(path)
             for path in candidates if path and os.path.isabs(path)}
    found = {path for path in found if os.path.exists(path) and path not in (repository, "/")}
    return outermost(path for path in found if not _holds_repository(path, repository))


def blocked_packages(names) -> dict[str, list[str]]:
    """{package: the folders it is imported from} for each top-level package of `names` that is
    installed, found without importing it; then each is made unimportable in this process
    (`sys.modules[name] = None`), so that nothing preloaded after this imports it. Raises
    ValueError for a name that is not a top-level package (a single-file module cannot be covered)."""
    hidden = {}
    for name in names:
        if "." in name:
            raise ValueError(f"only top-level packages can be blocked, not {name!r}")
        module = sys.modules.get(name)
        spec = module.__spec__ if module is not None else importlib.util.find_spec(name)  # None: blocked already
        if spec is not None:
            folders = list(spec.submodule_search_locations or [])
            if not folders:
                raise ValueError(f"{name} is a single-file module ({spec.origin}); only packages can be blocked")
            hidden[name] = [os.path.realpath(folder) for folder in folders]
        sys.modules[name] = None
    return hidden


def _holds_repository(path: str, repository: str) -> bool:
    """Whether binding `path` would show the repository (it is the repository or a folder above it)."""
    return repository == path or repository.startswith(path.rstrip("/") + "/")


def outermost(paths) -> list[str]:
    """`paths` without those inside another of them (a bind mount brings back everything below it)."""
    ordered = sorted(set(paths))
    kept: list[str] = []
    for path in ordered:
        if not any(path.startswith(parent.rstrip("/") + "/") for parent in kept):
            kept.append(path)
    return kept


def open_paths(paths: list[str]) -> list[tuple[str, int | None, str | None]]:
    """(path, O_PATH handle, None) for each file or folder of `paths`, (path, None, target) for a
    symlink. Opened in the new mount namespace (a bind mount's source must be in it) but before the
    change of uid (the grader may reach paths, a Python under /root, that the sandbox's uid may not),
    and before STAGING is covered (it may hold one of them: a course checked out under /tmp)."""
    return [(path, None, os.readlink(path)) if os.path.islink(path)
            else (path, os.open(path, os.O_PATH | os.O_NOFOLLOW), None) for path in paths]


def build_root(entries: list[tuple[str, int | None, str | None]], tmp_size_mb: int,
               hidden: dict[str, list[str]] | None = None) -> None:
    """Replace this process's root by an allow-list root holding the `open_paths` entries, with the
    folders of each `hidden` package (`blocked_packages`) covered by a stand-in that raises ImportError.
    Must run in a new mount namespace, as PID 1 of a new PID namespace (for /proc), with
    CAP_SYS_ADMIN over the mount namespace. Symlinks are recreated, not followed."""
    libc.mount(None, "/", None, libc.MS_REC | libc.MS_PRIVATE)
    libc.mount("tmpfs", STAGING, "tmpfs", libc.MS_NOSUID | libc.MS_NODEV, "size=8m,mode=0755")
    for folder in ("tmp", "proc", "dev"):
        os.mkdir(f"{STAGING}/{folder}", 0o755)
    # The private /tmp comes first, so that kept paths under /tmp (a course checked out there) are
    # bound into it rather than hidden by it.
    _private_tmpfs(f"{STAGING}/tmp", tmp_size_mb)
    leading_folders = set()
    for path, handle, link in entries:
        target = STAGING + path
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        leading_folders.update(str(folder) for folder in Path(target).parents if len(folder.parts) > 3)
        if link is not None:
            os.symlink(link, target)
            continue
        if os.path.isdir(f"/proc/self/fd/{handle}"):
            os.mkdir(target, 0o755)
        else:
            open(target, "x").close()
        libc.mount(f"/proc/self/fd/{handle}", target, None, libc.MS_BIND | libc.MS_REC)
        os.close(handle)
    # The folders leading to kept paths take no new files, not even in the private /tmp: the worker,
    # uid 0 of its namespace without capabilities, is bound by their mode like any other user.
    for folder in leading_folders:
        os.chmod(folder, 0o555)
    for package, folders in (hidden or {}).items():
        for folder in folders:
            _stand_in(STAGING + folder, package)
    _make_dev(STAGING + "/dev")
    _make_accounts(STAGING + "/etc")
    libc.mount("proc", f"{STAGING}/proc", "proc", libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC)
    os.mkdir(f"{STAGING}/{OLD_ROOT}")
    libc.pivot_root(STAGING, f"{STAGING}/{OLD_ROOT}")
    os.chdir("/")
    libc.umount(f"/{OLD_ROOT}")
    os.rmdir(f"/{OLD_ROOT}")
    libc.restrict_mounts("/")
    libc.make_writable("/tmp")
    _private_tmpfs("/dev/shm", tmp_size_mb)


def _stand_in(target: str, package: str) -> None:
    """Cover the folder `target` (when the root shows it) with a tmpfs holding an __init__.py that
    raises ImportError; `restrict_mounts` makes it read-only with the rest."""
    if not os.path.isdir(target):
        return
    libc.mount("tmpfs", target, "tmpfs", libc.MS_NOSUID | libc.MS_NODEV, "size=64k,mode=0755")
    with open(f"{target}/__init__.py", "x") as file:
        file.write(f"raise ImportError({STAND_IN_MESSAGE.format(package=package)!r})\n")


def _private_tmpfs(path: str, size_mb: int) -> None:
    libc.mount("tmpfs", path, "tmpfs", libc.MS_NOSUID | libc.MS_NODEV, f"size={size_mb}m,mode=0700")


def _make_dev(dev: str) -> None:
    for name in DEVICES:
        open(f"{dev}/{name}", "x").close()
        libc.mount(f"/dev/{name}", f"{dev}/{name}", None, libc.MS_BIND)
    for name, target in DEVICE_LINKS.items():
        os.symlink(target, f"{dev}/{name}")
    os.mkdir(f"{dev}/shm", 0o755)


def _make_accounts(etc: str) -> None:
    os.makedirs(etc, mode=0o755, exist_ok=True)
    for name, text in ACCOUNTS.items():
        with open(f"{etc}/{name}", "x") as file:
            file.write(text)
