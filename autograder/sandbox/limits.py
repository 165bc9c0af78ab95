"""The resource limits of one sandboxed child (kept apart so configuration code can import them
without the sandbox's process machinery)."""
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 60
    cpu_seconds: float = 60
    memory_mb: int = 3072
    processes: int = 32
    file_size_mb: int = 16

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not value > 0:
                raise ValueError(f"Limits.{name} must be positive, not {value!r}")
