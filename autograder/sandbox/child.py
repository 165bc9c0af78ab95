"""What runs inside a sandboxed child: load a submission, run the requested probes, send back values.

`autograder.sandbox` forks the child from its zygote, isolates it, and calls `run_job`; by then the
child's stdout and stderr go to pipes the parent keeps tails of, and the messages of `autograder.sandbox.wire`
go to `result_fd`, a pipe of their own. In order:

1. The probes module runs first, from the text in the job (the file itself is hidden from the
   child), so its imports bind the real libraries before submission code could patch them.
2. The submission is loaded with `autograder.sandbox.loader.load_module` as `job["module_name"]`. Any
   exception (SystemExit and KeyboardInterrupt too) becomes a `load_error` message.
3. Each requested probe runs in order, with `random`, numpy's global generator and torch seeded from
   the job's seed and the probe's name (SHA-256, so every process agrees, unlike `hash()`), and is
   given its own `numpy.random.Generator` seeded the same way, made before the submission loads.
   Its value, or its exception, becomes one `probe` message. Then `done`.

MemoryError — and torch's RuntimeError for a failed allocation — is reported with type
"MemoryError", which the parent maps to "memory limit".

The functions the child uses to seed, encode and send are references taken before the submission
loads (at import, in the zygote, or just before loading), and this module's own functions use a
private snapshot of builtins, so that an honest submission that happens to patch json, numpy or
builtins does not change how its values are encoded. None of this stops a hostile one: it runs in
this process and can rebind these names, swap the probes or write to the result pipe itself. That
is harmless by design (docs/architecture.md, "Threat model"): every value is judged in the parent
against the reference's, and only a child that ended cleanly is believed
(`autograder.grading.probe_runs`).
"""
import builtins
import hashlib
import os
import random
import sys
import types

import numpy

from autograder.sandbox import wire
from autograder.sandbox.loader import load_module
from autograder.grading.probes import probe_functions

# Functions defined below look builtins up in this private copy, not in the shared module.
__builtins__ = dict(builtins.__dict__)

ERROR_MESSAGE_CHARS = 2000
# Phrases of allocation failures that do not raise MemoryError (torch raises RuntimeError).
MEMORY_FAILURES = ("can't allocate memory", "Cannot allocate memory", "out of memory", "bad_alloc")
# Room kept in the stream for the error messages that replace values over the stream limit.
STREAM_RESERVE = 2**20

_write = os.write
_sha256 = hashlib.sha256
_random_seed = random.seed
_numpy_seed = numpy.random.seed
_default_rng = numpy.random.default_rng
_encode_value = wire.encode_value
_encode_message = wire.encode_message
_load_module = load_module
_probe_functions = probe_functions


def run_job(job: dict, result_fd: int) -> None:
    """Run `job` (see the contracts: module_name, module_source, probe_source, probe_names, seed,
    extra_sys_path) and write its messages to `result_fd`."""
    send = _sender(result_fd)
    sys.path[:0] = job["extra_sys_path"]
    probes = _Probes(job)
    try:
        module = _load_module(job["module_source"], job["module_name"])
    except BaseException as error:
        send({"event": "load_error", "error": _describe(error)})
    else:
        send({"event": "loaded"})
        for name in job["probe_names"]:
            send(probes.run(name, module))
    send({"event": "done"})


def probe_seed(seed: int, name: str) -> int:
    """The 64-bit seed of probe `name` in a job seeded with `seed`."""
    return int.from_bytes(_sha256(f"{seed}/{name}".encode()).digest()[:8], "little")


def _sender(fd: int):
    """A function that writes one message to `fd`, replacing a probe value that would break the
    wire's size limits by an error."""
    sent = 0

    def send(message: dict) -> None:
        nonlocal sent
        data = _encode_message(message)
        room = min(wire.MAX_MESSAGE_BYTES, wire.MAX_STREAM_BYTES - STREAM_RESERVE - sent)
        if len(data) > room and message["event"] == "probe":
            data = _encode_message({"event": "probe", "name": message["name"], "error": {
                "type": "ValueError", "message": f"the value is {len(data) / 2**20:.1f} MB as JSON, more "
                                                 f"than the {max(room, 0) / 2**20:.1f} MB left to send it"}})
        sent += len(data)
        view = memoryview(data)
        while view:
            view = view[_write(fd, view):]
    return send


class _Probes:
    """A job's probe functions, with their seeds, generators and torch hooks prepared before the
    submission loads (numpy builds a Generator with functions a submission could patch)."""

    def __init__(self, job: dict):
        # Popped, not read: the submission loads in this process and could walk the stack to the
        # job; without the text it can still inspect the probes' bytecode, never reference values.
        self.functions = _probe_functions(_run_probe_module(job.pop("probe_source")))
        self.manual_seed, self.tensor_to_array = _torch_hooks()
        self.seeds = {name: probe_seed(job["seed"], name) for name in job["probe_names"]}
        self.rngs = {name: _default_rng(seed) for name, seed in self.seeds.items()}

    def run(self, name: str, module) -> dict:
        """The probe message of probe `name` run on `module`."""
        probe = self.functions.get(name)
        if probe is None:
            return {"event": "probe", "name": name,
                    "error": {"type": "LookupError", "message": f"no probe named {name!r}"}}
        try:
            self._seed_globals(self.seeds[name])
            return {"event": "probe", "name": name,
                    "value": _encode_value(probe(module, self.rngs[name]), self.tensor_to_array)}
        except BaseException as error:
            return {"event": "probe", "name": name, "error": _describe(error)}

    def _seed_globals(self, seed: int) -> None:
        _random_seed(seed)
        _numpy_seed(seed % 2**32)
        if self.manual_seed is not None:
            self.manual_seed(seed)


def _run_probe_module(source: str) -> dict:
    # Registered so that dataclasses and pickling inside the probes module find it.
    module = types.ModuleType("autograder_probes")
    sys.modules[module.__name__] = module
    exec(compile(source, "probes.py", "exec"), module.__dict__)
    return module.__dict__


def _torch_hooks():
    """`(manual_seed, tensor_to_array)` bound to torch if the zygote or the probes imported it,
    else `(None, None)`. The conversion reads a tensor's real data whatever its class: a subclass's
    `__torch_function__`, `numpy` or `dtype` cannot change what is sent."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None, None
    tensor, to_numpy, to = torch.Tensor, torch.Tensor.numpy, torch.Tensor.to
    dtype_of = torch._C.TensorBase.__dict__["dtype"].__get__
    plain_functions = torch._C.DisableTorchFunctionSubclass
    numpy_unsupported = (torch.bfloat16,)

    def tensor_to_array(value):
        if not isinstance(value, tensor):
            return None
        with plain_functions():
            if dtype_of(value) in numpy_unsupported:
                value = to(value, torch.float32)
            return to_numpy(value, force=True)  # force: detached, on the CPU, conjugation resolved
    return torch.manual_seed, tensor_to_array


def _describe(error: BaseException) -> dict:
    try:
        message = str(error)[:ERROR_MESSAGE_CHARS]
    except BaseException:  # a submission's exception whose __str__ fails
        message = "(the message could not be shown)"
    kind = type(error).__name__
    if isinstance(error, MemoryError) or (isinstance(error, (RuntimeError, OSError))
                                          and any(phrase in message for phrase in MEMORY_FAILURES)):
        kind = "MemoryError"
    return {"type": str(kind), "message": message}
