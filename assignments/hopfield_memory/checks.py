"""Visible checks of the hopfield_memory lab, which a student runs with `autograder check`.

They repeat the assertions of the notebook's read-only test cells, with the same messages, and no
more: the weights of two 4-bit patterns; both updates of two neurons that copy each other, the tie
rule and x left unchanged; the energy of that pair; a synchronous 2-cycle, an asynchronous sweep
that settles the pair, and the repair of two flipped bits of one of the notes' patterns. The
hidden probes (probes.py) go further; passing these is necessary, not sufficient. Each question's
checks are worth its points, so the preview is on the grade's scale, and, as with every probe,
each fact is judged against the same fact of the reference solution.
"""
import numpy as np

from autograder.grading.probes import check, probe

PAIR = np.array([[0.0, 1.0], [1.0, 0.0]])  # two neurons that copy each other
NOTES_PATTERNS = np.array([[1] * 8 + [-1] * 8, ([1] * 4 + [-1] * 4) * 2, [1, -1] * 8, [1, 1, -1, -1] * 4],
                          dtype=float)


def _facts_check(messages: dict):
    """A check that the student's facts equal the reference's, in the order of `messages` ({fact:
    the notebook's message}); it reports the first that does not."""
    def judge(facts, expected) -> tuple[float, str]:
        for fact, message in messages.items():
            if not isinstance(facts, dict) or facts.get(fact) != expected[fact]:
                return 0.0, message
        return 1.0, ""
    return check(judge)


def _facts(assertions: dict) -> dict:
    """{fact: bool} from {fact: a function returning whether it holds}; a fact whose code raises
    (or that is not a plain truth value) is False, and so is every fact after it."""
    facts = {}
    for fact, holds in assertions.items():
        try:
            facts[fact] = bool(holds())
        except Exception:
            facts[fact] = False
        if not facts[fact]:
            break
    return facts


@probe("Q1", points=2, compare=_facts_check({
    "shape": "W should have shape (4, 4)",
    "zero diagonal": "the diagonal of W must be zero: no neuron is connected to itself",
    "symmetric": "W must be symmetric",
    "values": "W[i, j] should be the average of x_i x_j over the M patterns (divide by M, not N)"}))
def hebbian_weights_visible_checks(module, rng):
    weights = module.hebbian_weights(np.array([[1, 1, -1, -1], [1, -1, 1, -1]]))
    return _facts({"shape": lambda: np.shape(weights) == (4, 4),
                   "zero diagonal": lambda: np.allclose(np.diag(weights), 0),
                   "symmetric": lambda: np.allclose(weights, np.transpose(weights)),
                   "values": lambda: np.allclose(weights, [[0, 0, 0, -1], [0, 0, -1, 0], [0, -1, 0, 0], [-1, 0, 0, 0]])})


@probe("Q2", points=3, compare=_facts_check({
    "sync": "sync_step: both neurons should take the other's old value",
    "async 0, 1": "async_sweep in the order [0, 1]: neuron 0 copies neuron 1 (-1), then neuron 1 copies the new neuron 0",
    "async 1, 0": "async_sweep in the order [1, 0]: neuron 1 copies neuron 0 (+1), then neuron 0 copies the new neuron 1",
    "x unchanged": "async_sweep and sync_step must not change x in place",
    "stays": "a state that agrees with its fields stays",
    "ties": "a field of exactly 0 gives +1"}))
def update_visible_checks(module, rng):
    x = np.array([1.0, -1.0])
    zeros = np.zeros(2)
    return _facts({"sync": lambda: np.array_equal(module.sync_step(PAIR, zeros, x), [-1, 1]),
                   "async 0, 1": lambda: np.array_equal(module.async_sweep(PAIR, zeros, x, [0, 1]), [-1, -1]),
                   "async 1, 0": lambda: np.array_equal(module.async_sweep(PAIR, zeros, x, np.array([1, 0])), [1, 1]),
                   "x unchanged": lambda: np.array_equal(x, [1, -1]),
                   "stays": lambda: np.array_equal(module.sync_step(PAIR, zeros, np.array([1.0, 1.0])), [1, 1]),
                   "ties": lambda: np.array_equal(module.sync_step(np.zeros((2, 2)), zeros, np.array([-1.0, -1.0])),
                                                  [1, 1])})


@probe("Q3", points=2, compare=_facts_check({
    "one number": "energy must return one number",
    "agreeing": "two agreeing neurons joined by W = 1 have E = -1",
    "disagreeing": "two disagreeing neurons joined by W = 1 have E = +1",
    "biases": "the biases enter as -b^T x: a neuron that agrees with its bias lowers E"}))
def energy_visible_checks(module, rng):
    zeros, same, opposite = np.zeros(2), np.array([1.0, 1.0]), np.array([1.0, -1.0])
    return _facts({"one number": lambda: np.ndim(module.energy(PAIR, zeros, same)) == 0,
                   "agreeing": lambda: np.isclose(module.energy(PAIR, zeros, same), -1.0),
                   "disagreeing": lambda: np.isclose(module.energy(PAIR, zeros, opposite), 1.0),
                   "biases": lambda: np.isclose(module.energy(PAIR, np.array([0.5, 0.0]), same), -1.5)})


def _hebbian(patterns):
    weights = patterns.T @ patterns / len(patterns)
    np.fill_diagonal(weights, 0.0)
    return weights


@probe("Q4", points=5, compare=_facts_check({
    "cycle shape": "a synchronous 2-cycle stopped by max_steps=4 gives 5 states",
    "cycle swaps": "synchronous updates of two neurons that copy each other swap their values at every step",
    "settles": "one asynchronous sweep settles the pair: the trajectory is x0 and the fixed point",
    "settled values": "the pair settles with equal values",
    "starts at x0": "the trajectory starts at x0",
    "repairs": "two flipped bits of a stored pattern are repaired",
    "fixed point": "a stored pattern is a fixed point: T = 1"}))
def recall_visible_checks(module, rng):
    start_pair = np.array([1.0, -1.0])
    cycle = module.recall(PAIR, np.zeros(2), start_pair, synchronous=True, max_steps=4)
    settled = module.recall(PAIR, np.zeros(2), start_pair, rng=np.random.default_rng(0))
    weights = _hebbian(NOTES_PATTERNS)
    start = NOTES_PATTERNS[1].copy()
    start[[2, 9]] *= -1
    trajectory = module.recall(weights, np.zeros(16), start, rng=np.random.default_rng(1))
    return _facts({
        "cycle shape": lambda: np.shape(cycle) == (5, 2),
        "cycle swaps": lambda: (np.array_equal(cycle[::2], [[1, -1]] * 3)
                                and np.array_equal(cycle[1::2], [[-1, 1]] * 2)),
        "settles": lambda: np.shape(settled) == (2, 2),
        "settled values": lambda: np.array_equal(settled[0], [1, -1]) and settled[1][0] == settled[1][1],
        "starts at x0": lambda: np.array_equal(trajectory[0], start),
        "repairs": lambda: np.array_equal(trajectory[-1], NOTES_PATTERNS[1]),
        "fixed point": lambda: len(module.recall(weights, np.zeros(16), NOTES_PATTERNS[0])) == 1})
