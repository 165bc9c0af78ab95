"""Run untrusted submission code in sandboxed children forked from a zygote that has torch loaded.

Processes, from trusted to untrusted, one module each:

* `parent` — the grading process's `Zygote`: starts the zygote, sends it jobs, reads results.
* `zygote` — imports numpy, torch (one thread), matplotlib (Agg) and `utils` once, with an
  environment built from nothing, then forks one monitor per run.
* `monitor` — trusted, one per run: enters the namespaces (`namespaces`), forks the worker,
  enforces the parent's kill requests, reports how the worker ended.
* `worker` — builds the allow-list root (`rootfs`), drops every capability and limit it may not
  keep, then runs `child.run_job`, which loads the submission: untrusted from then on.

`wire` is the child → parent message format; `outcome` classifies a finished run; `isolation`
says what this machine allows; `libc` wraps the system calls Python lacks. The threat model and
what each layer guarantees are in docs/architecture.md.

    with Zygote(Limits(wall_seconds=60)) as zygote:
        outcome = zygote.run(job)              # safe to call from several threads at once

Requires Linux 5.12 (mount_setattr) and unprivileged user namespaces (or root); without them,
`Zygote` refuses unless the weak mode is allowed.
"""
from autograder.sandbox.isolation import Isolation
from autograder.sandbox.limits import Limits
from autograder.sandbox.outcome import STATUSES, ChildOutcome
from autograder.sandbox.parent import SandboxError, Zygote

__all__ = ["STATUSES", "ChildOutcome", "Isolation", "Limits", "SandboxError", "Zygote"]
