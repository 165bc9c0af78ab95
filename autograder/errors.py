"""The base of every error the engine raises on purpose, and the errors several modules share.

An `AutograderError` is a failure the user can act on, and its message, one sentence, says what
and where: the command line prints that line and exits 2. Any other exception is a bug in the
engine, and keeps its traceback. Each module's own errors subclass this one where they are raised
(`ConfigError`, `NotebookError`, `DiscoveryError`, ...).
"""


class AutograderError(Exception):
    """A failure the user can act on; the message says what and where."""


class ReferenceSolutionError(AutograderError):
    """The reference solution, or a probe run on it, fails: grading would be wrong for everyone."""

