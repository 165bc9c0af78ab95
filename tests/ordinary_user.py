"""Run this project's Python as an ordinary user who owns nothing (for tests and benchmarks).

On these machines the default Python may live where other users cannot reach it (under /root), so
the user gets a virtualenv of Debian's /usr/bin/python3, which any user may run, with this project's
packages (the current virtualenv's site-packages and the repository) on its import path; both
interpreters are CPython of the same minor version, so the compiled packages load in either.
"""
import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

USER = "autograder-test"
SYSTEM_PYTHON = Path("/usr/bin/python3")
REPO_ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def ordinary_user_python():
    """Yield (command prefix that runs Python as USER with a clean environment, a folder that user
    may write to). Must run as root; creates USER (a system user without a home) if needed."""
    if os.geteuid() != 0:
        raise PermissionError("only root can run a command as another user")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], check=True)
    unreachable = [str(folder) for folder in (REPO_ROOT, *REPO_ROOT.parents) if not os.stat(folder).st_mode & 0o001]
    if unreachable:
        raise PermissionError(f"an ordinary user cannot reach the checkout: chmod o+x {' '.join(unreachable)}")
    folder = Path(tempfile.mkdtemp(prefix="autograder-unprivileged-", dir="/tmp"))
    try:
        folder.chmod(0o755)
        venv = folder / "venv"
        subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
        site_packages = next(venv.glob("lib/python3*/site-packages"))
        (site_packages / "course.pth").write_text(f"{sysconfig.get_paths()['purelib']}\n{REPO_ROOT}\n{REPO_ROOT / 'nn_course_kit'}\n")
        work = folder / "work"
        work.mkdir()
        shutil.chown(work, USER, USER)
        yield ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--clear-groups", "--reset-env",
               str(venv / "bin" / "python")], work
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def same_minor_version() -> bool:
    """Whether Debian's Python is this Python's minor version (the compiled packages need it)."""
    version = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    return version == str(sys.version_info[:2])
