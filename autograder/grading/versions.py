"""The versions that saved results and release bundles depend on, read from the installed
packages' metadata (torch itself is never imported for it)."""
from importlib.metadata import version

DISTRIBUTION = "nn-course-kit"


def engine() -> str:
    """This engine's distribution and version: "nn-course-kit 0.1.0"."""
    return f"{DISTRIBUTION} {version(DISTRIBUTION)}"


def torch() -> str:
    """The installed torch's version: "2.13.0+cpu"."""
    return version("torch")
