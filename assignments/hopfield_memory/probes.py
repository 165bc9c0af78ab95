"""Hidden probes of the hopfield_memory lab: what the grader asks of `hebbian_weights`,
`async_sweep`, `sync_step`, `energy` and `recall`.

Every probe returns values the student's code computed from inputs chosen here, and the parent
compares them with what the reference solution computed from the same inputs. One mistake should
cost the probes about it and no others: the update, energy and recall probes build their weights
here, never with the student's `hebbian_weights`.

Exactness. Weights are Hebbian weights of M = 2, 4 or 8 patterns, or random multiples of 1/8, and
biases are multiples of 1/4, so every local field is a sum of exact binary fractions: whatever
order a student adds them in, a field is exactly 0 where the reference's is, and the tie rule
(x_j = +1 when the field is 0, as in the lecture notes) decides the same way. The deterministic
functions (`async_sweep` in a given order, `sync_step`, synchronous `recall`) are then compared
exactly with the reference.

Randomness. Asynchronous `recall` draws its sweep orders from the generator it is given, and an
honest solution may draw them differently (`rng.permutation`, `rng.shuffle`, `np.random`), so its
trajectory is never compared with the reference's state by state. The parent judges properties
that every correct order has, with the weights, biases and start taken from the reference's value:
- it starts at x0, holds states of +1 and -1, changes at every step, and ends at a fixed point
  (or after exactly `max_steps` sweeps when the limit is 1);
- the energy -1/2 x^T W x - b^T x, computed in the parent, never rises along it (the student's own
  `energy` plays no part);
- from a stored pattern with a few bits flipped, among orthogonal patterns (where one sweep in any
  order repairs every bit), it ends at that pattern, the reference's end.

Q1 hebbian_weights 2, Q2 async_sweep and sync_step 3, Q3 energy 2, Q4 recall 5: 12 points, the
autograded points in grading.toml. Only the standard library and numpy run here at import.
"""
import numpy as np

from autograder.grading.probes import allclose, check, equal, probe

# The lecture notes' four orthogonal 16-bit patterns (Walsh functions).
NOTES_PATTERNS = np.array([[1] * 8 + [-1] * 8,
                           ([1] * 4 + [-1] * 4) * 2,
                           [1, -1] * 8,
                           [1, 1, -1, -1] * 4], dtype=float)
TWO_CYCLE = np.array([[0.0, 1.0], [1.0, 0.0]])  # two neurons that copy each other
ENERGY_TOLERANCE = 1e-9  # relative: a rise smaller than this is rounding
GENEROUS_LIMIT = 50  # sweeps: far more than any order needs on these networks


def _patterns(rng, m: int, n: int) -> np.ndarray:
    return np.where(rng.random((m, n)) < 0.5, 1.0, -1.0)


def _hebbian(patterns: np.ndarray) -> np.ndarray:
    weights = patterns.T @ patterns / len(patterns)
    np.fill_diagonal(weights, 0.0)
    return weights


def _dyadic_symmetric(rng, n: int) -> np.ndarray:
    """Symmetric weights with a zero diagonal, multiples of 1/8 in [-1, 1]."""
    upper = np.triu(rng.integers(-8, 9, size=(n, n)) / 8.0, k=1)
    return upper + upper.T


def _biases(rng, n: int) -> np.ndarray:
    return rng.integers(-4, 5, size=n) / 4.0


def _flip(rng, x: np.ndarray, bits: int) -> np.ndarray:
    flipped = x.copy()
    flipped[rng.choice(len(x), size=bits, replace=False)] *= -1
    return flipped


def _orthogonal_patterns(rng, m: int, n: int) -> np.ndarray:
    """m mutually orthogonal +-1 patterns of n = 2^k neurons: rows of a Sylvester-Hadamard matrix,
    each column multiplied by a random sign (which keeps them orthogonal)."""
    hadamard = np.ones((1, 1))
    while len(hadamard) < n:
        hadamard = np.block([[hadamard, hadamard], [hadamard, -hadamard]])
    rows = hadamard[rng.choice(n, size=m, replace=False)]
    return rows * np.where(rng.random(n) < 0.5, 1.0, -1.0)


def _state(value) -> np.ndarray | str:
    """A returned state or trajectory as a float array, or a string saying why it is not one."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        return f"not an array of numbers ({type(error).__name__})"
    return array


# ------------------------------------------------------------------------------ Q1: hebbian_weights


def _weights_cases(rng) -> dict:
    return {"1 pattern of 5 neurons": _patterns(rng, 1, 5),
            "3 patterns of 12 neurons": _patterns(rng, 3, 12),
            "the lecture notes' four 16-bit patterns": NOTES_PATTERNS.copy(),
            "6 patterns of 40 neurons, as integers": _patterns(rng, 6, 40).astype(int)}


@probe("Q1", points=1, compare=allclose(rtol=1e-12, atol=1e-12),
       hint="W[i, j] for i != j is the average over the M patterns of x_i x_j: divide the sum of the outer "
            "products by the number of patterns M.")
def weights_off_the_diagonal(module, rng):
    values = {}
    for name, patterns in _weights_cases(rng).items():
        weights = _state(module.hebbian_weights(patterns))
        if isinstance(weights, np.ndarray) and weights.shape == (patterns.shape[1],) * 2:
            weights = np.where(np.eye(len(weights), dtype=bool), np.nan, weights)
        values[name] = weights
    return values


@probe("Q1", points=1, compare=allclose(rtol=0, atol=1e-12),
       hint="No neuron is connected to itself: the diagonal of W must be zero.")
def weights_on_the_diagonal(module, rng):
    values = {}
    for name, patterns in _weights_cases(rng).items():
        weights = _state(module.hebbian_weights(patterns))
        ok_shape = isinstance(weights, np.ndarray) and weights.shape == (patterns.shape[1],) * 2
        values[name] = np.diag(weights) if ok_shape else weights
    return values


# ------------------------------------------------------------------------- Q2: async_sweep, sync_step


def _update_cases(rng) -> dict:
    """{name: (W, b, x)}: Hebbian weights with and without biases, random symmetric weights, and
    the two neurons that copy each other."""
    cases = {}
    for m, n in ((2, 10), (4, 24), (8, 40)):
        patterns = _patterns(rng, m, n)
        cases[f"{m} patterns of {n} neurons"] = (_hebbian(patterns), np.zeros(n), _patterns(rng, 1, n)[0])
        cases[f"{m} patterns of {n} neurons, with biases"] = (_hebbian(patterns), _biases(rng, n),
                                                              _patterns(rng, 1, n)[0])
    cases["random symmetric weights, 30 neurons, with biases"] = (_dyadic_symmetric(rng, 30), _biases(rng, 30),
                                                                   _patterns(rng, 1, 30)[0])
    cases["two neurons that copy each other"] = (TWO_CYCLE.copy(), np.zeros(2), np.array([1.0, -1.0]))
    return cases


@probe("Q2", points=1.5, compare=equal(),
       hint="async_sweep updates one neuron at a time, in the given order, each from the current state (the new "
            "values of the neurons already updated in this sweep count); x_j becomes +1 when "
            "sum_i W[j, i] x_i + b_j >= 0 and -1 otherwise.")
def async_sweep_in_the_given_order(module, rng):
    values = {}
    for name, (weights, biases, x) in _update_cases(rng).items():
        order = rng.permutation(len(x))
        values[name] = _state(module.async_sweep(weights, biases, x.copy(), order))
        values[name + ", order as a list"] = _state(module.async_sweep(weights, biases, x.copy(),
                                                                       [int(j) for j in order[::-1]]))
    return values


@probe("Q2", points=1, compare=equal(),
       hint="sync_step updates every neuron at once from the same old state: x_j becomes +1 when "
            "sum_i W[j, i] x_i + b_j >= 0 and -1 otherwise.")
def sync_step_matches_reference(module, rng):
    return {name: _state(module.sync_step(weights, biases, x.copy()))
            for name, (weights, biases, x) in _update_cases(rng).items()}


@probe("Q2", points=0.5, compare=equal(),
       hint="async_sweep and sync_step must return a new state and leave the x they are given unchanged.")
def updates_leave_x_unchanged(module, rng):
    weights, biases, x = _update_cases(rng)["4 patterns of 24 neurons, with biases"]
    given = x.copy()
    module.async_sweep(weights, biases, given, rng.permutation(len(x)))
    after_sweep = given.copy()
    module.sync_step(weights, biases, given)
    return {"x after async_sweep": after_sweep, "x after sync_step": given.copy()}


# ------------------------------------------------------------------------------------ Q3: energy


def _energy_values(module, rng, with_biases: bool) -> dict:
    values = {}
    for m, n in ((2, 6), (4, 16), (8, 50)):
        weights = _hebbian(_patterns(rng, m, n))
        biases = rng.normal(size=n) if with_biases else np.zeros(n)
        for k, x in enumerate(_patterns(rng, 2, n)):
            values[f"{m} patterns of {n} neurons, state {k}"] = _state(module.energy(weights, biases, x))
    weights = _dyadic_symmetric(rng, 20)
    values["random symmetric weights, 20 neurons"] = _state(
        module.energy(weights, rng.normal(size=20) if with_biases else np.zeros(20), _patterns(rng, 1, 20)[0]))
    return values


@probe("Q3", points=1, compare=allclose(rtol=1e-9, atol=1e-9),
       hint="energy(W, b, x) returns one number, E = -1/2 x^T W x - b^T x; check the factor and the sign of the "
            "quadratic term.")
def energy_without_biases(module, rng):
    return _energy_values(module, rng, with_biases=False)


@probe("Q3", points=1, compare=allclose(rtol=1e-9, atol=1e-9),
       hint="The biases enter the energy as -b^T x: a state that agrees with its biases has lower energy.")
def energy_with_biases(module, rng):
    return _energy_values(module, rng, with_biases=True)


# ------------------------------------------------------------------------------------ Q4: recall


def _recall(module, rng, weights, biases, x0, synchronous: bool, max_steps: int) -> dict:
    """The case and the trajectory `recall` returns for it (the parent judges the trajectory with
    the reference's copy of the case)."""
    trajectory = module.recall(weights, biases, x0.copy(), rng=np.random.default_rng(int(rng.integers(2**31))),
                               synchronous=synchronous, max_steps=max_steps)
    return {"W": weights, "b": biases, "x0": x0, "max_steps": max_steps, "trajectory": _state(trajectory)}


@probe("Q4", points=1.5, compare=equal(),
       hint="With synchronous=True, recall applies sync_step until a step changes nothing or max_steps steps "
            "are done, and returns every state from x0 on as an array of shape (T, N), without repeating the "
            "fixed point.")
def recall_synchronous_trajectory(module, rng):
    patterns = _orthogonal_patterns(rng, 4, 32)
    weights = _hebbian(patterns)
    cases = {"two neurons that copy each other, 5 steps": (TWO_CYCLE.copy(), np.zeros(2), np.array([1.0, -1.0]), 5),
             "a stored pattern": (weights, np.zeros(32), patterns[0].copy(), 20),
             "a stored pattern with 4 bits flipped": (weights, np.zeros(32), _flip(rng, patterns[1], 4), 20),
             "random symmetric weights, 24 neurons": (_dyadic_symmetric(rng, 24), _biases(rng, 24),
                                                       _patterns(rng, 1, 24)[0], 12)}
    return {name: _recall(module, rng, w, b, x0, True, limit)["trajectory"]
            for name, (w, b, x0, limit) in cases.items()}


def _asynchronous_cases(module, rng) -> dict:
    """Networks on which any order of updates ends at a fixed point well before GENEROUS_LIMIT
    sweeps, and one that the limit of 1 sweep stops."""
    cases = {"two neurons that copy each other": (TWO_CYCLE.copy(), np.zeros(2), np.array([1.0, -1.0]),
                                                   GENEROUS_LIMIT)}
    for m, n in ((4, 40), (8, 60)):
        patterns = _patterns(rng, m, n)
        cases[f"{m} patterns of {n} neurons, 40% of a pattern's bits flipped"] = (
            _hebbian(patterns), np.zeros(n), _flip(rng, patterns[0], int(0.4 * n)), GENEROUS_LIMIT)
    cases["random symmetric weights, 30 neurons, with biases"] = (_dyadic_symmetric(rng, 30), _biases(rng, 30),
                                                                   _patterns(rng, 1, 30)[0], GENEROUS_LIMIT)
    patterns = _patterns(rng, 2, 20)
    cases["a stored pattern"] = (_hebbian(patterns), np.zeros(20), patterns[1].copy(), GENEROUS_LIMIT)
    cases["max_steps=1 from a state far from any fixed point"] = (_dyadic_symmetric(rng, 30), np.zeros(30),
                                                                   _patterns(rng, 1, 30)[0], 1)
    return {name: _recall(module, rng, w, b, x0, False, limit) for name, (w, b, x0, limit) in cases.items()}


def _fixed(weights, biases, x) -> bool:
    return bool(np.array_equal(np.where(weights @ x + biases >= 0, 1.0, -1.0), x))


def _trajectory_problem(trajectory, case) -> str | None:
    """What is wrong with the shape, the start or the values of a trajectory for `case` (the
    reference's copy), or None."""
    if isinstance(trajectory, str):
        return f"recall returned {trajectory}"
    trajectory, x0 = np.asarray(trajectory), np.asarray(case["x0"])
    if trajectory.ndim != 2 or trajectory.shape[1:] != x0.shape or len(trajectory) == 0:
        return (f"recall returned shape {trajectory.shape}: it must return the trajectory, an array of shape "
                f"(T, N) with x0 first")
    if not np.isin(trajectory, (-1.0, 1.0)).all():
        return "the trajectory holds values other than +1 and -1"
    if not np.array_equal(trajectory[0], x0):
        return "the trajectory does not start at x0"
    if len(trajectory) > case["max_steps"] + 1:
        return f"the trajectory has {len(trajectory)} states, more than max_steps + 1"
    return None


def _judge_each_case(problem_of):
    """A comparator averaging over the reference's cases; `problem_of(student_case, reference_case)`
    returns None or what is wrong. The weights, biases and start are always the reference's."""
    def judge(student, reference) -> tuple[float, str]:
        problems = {}
        for name, case in reference.items():
            found = student.get(name) if isinstance(student, dict) else None
            if not isinstance(found, dict) or "trajectory" not in found:
                problems[name] = "is missing"
                continue
            problem = _trajectory_problem(found["trajectory"], case) or problem_of(np.asarray(found["trajectory"]),
                                                                                     case)
            if problem:
                problems[name] = problem
        shown = "; ".join(f"{name}: {problem}" for name, problem in list(problems.items())[:2])
        return 1 - len(problems) / len(reference), shown
    judge.__name__ = problem_of.__name__
    return check(judge)


def _stops_where_it_should(trajectory, case) -> str | None:
    weights, biases = np.asarray(case["W"]), np.asarray(case["b"])
    if any(np.array_equal(a, b) for a, b in zip(trajectory[:-1], trajectory[1:])):
        return "a state repeats: recall must stop at the first state a sweep leaves unchanged"
    if case["max_steps"] >= GENEROUS_LIMIT and not _fixed(weights, biases, trajectory[-1]):
        return "the last state is not a fixed point (asynchronous updates reach one here in a few sweeps)"
    if case["max_steps"] < GENEROUS_LIMIT and len(trajectory) != case["max_steps"] + 1:
        return f"with max_steps={case['max_steps']} from here the trajectory has max_steps + 1 states"
    return None


def _energy_never_rises(trajectory, case) -> str | None:
    weights, biases = np.asarray(case["W"]), np.asarray(case["b"])
    energies = np.array([-0.5 * x @ weights @ x - biases @ x for x in trajectory])
    scale = max(1.0, float(np.abs(energies).max()))
    if (np.diff(energies) > ENERGY_TOLERANCE * scale).any():
        return "the energy rises along the trajectory: asynchronous updates can only lower it or keep it"
    if case["max_steps"] >= GENEROUS_LIMIT and not _fixed(weights, biases, trajectory[-1]):
        return "the last state is not a fixed point"
    return None


@probe("Q4", points=1.5, compare=_judge_each_case(_stops_where_it_should),
       hint="recall(W, b, x0, rng) sweeps asynchronously, each sweep in a new random order, until a sweep changes "
            "nothing (that fixed point is the last state, not repeated) or max_steps sweeps are done.")
def recall_asynchronous_stops_at_a_fixed_point(module, rng):
    return _asynchronous_cases(module, rng)


@probe("Q4", points=1, compare=_judge_each_case(_energy_never_rises),
       hint="Along an asynchronous trajectory the energy never rises: update one neuron at a time from the "
            "current state.")
def recall_asynchronous_energy_never_rises(module, rng):
    return _asynchronous_cases(module, rng)


def _ends_where_the_reference_ends(trajectory, case) -> str | None:
    if not np.array_equal(trajectory[-1], np.asarray(case["trajectory"])[-1]):
        return "it does not end at the stored pattern"
    return None


@probe("Q4", points=1, compare=_judge_each_case(_ends_where_the_reference_ends),
       hint="From a stored pattern with a few bits flipped, recall (asynchronous, the default) must end at that "
            "pattern.")
def recall_asynchronous_retrieves_a_stored_pattern(module, rng):
    values = {}
    for m, n, bits in ((2, 16, 3), (4, 64, 8), (8, 128, 12)):
        patterns = _orthogonal_patterns(rng, m, n)
        values[f"{m} orthogonal patterns of {n} neurons, {bits} bits flipped"] = _recall(
            module, rng, _hebbian(patterns), np.zeros(n), _flip(rng, patterns[-1], bits), False, GENEROUS_LIMIT)
    return values
