"""Running a submission's probes so that only a child that ended cleanly is believed.

The submission runs in the same process as its probes, so it can write anything to the result
pipe: forged messages, then a crash, a malformed line or an `os._exit`. The rule:

* all probes run together in one child first (the fast path: one fork, one load);
* if that child ended cleanly (exit 0 after a complete, well-formed stream: `ChildOutcome.clean`),
  its messages count; each value still earns points only by matching what the reference computes
  from the same inputs, so a forger gains nothing a correct implementation would not earn;
* if it did not (crashed, killed, over a limit, malformed), none of its messages count: the probe
  that was running when it stopped gets the failure; the probes before it run again together in a
  fresh child, and so do the probes after it, each group under the same rule. Each failure so
  removes one probe, and an honest submission that fails in one probe keeps the points of the
  others. A child that failed after answering every probe (a forgery, then a crash) blames none:
  each probe then runs alone. After MAX_FAILED_RERUNS reruns that did not end cleanly either, the
  probes left get "not run": a submission that loops in every probe costs a bounded time, and
  which probes run does not depend on the machine's speed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from autograder.sandbox import ChildOutcome, Limits, Zygote

MAX_FAILED_RERUNS = 2
OUT_OF_RERUNS = "your code was stopped too often while running the other tests"


@dataclass
class ProbeRun:
    outcome: ChildOutcome  # the run of all probes together: the submission's sandbox status
    results: dict[str, dict]  # probe name -> its message, from children that ended cleanly only
    stopped: dict[str, str] = field(default_factory=dict)  # probe name -> why it has no result

    @property
    def load_error(self) -> dict | None:
        return self.outcome.load_error if self.outcome.clean else None


def run_probes(zygote: Zygote, job: dict, limits: Limits) -> ProbeRun:
    """Run `job`'s probes under the rule above."""
    first = zygote.run(job, limits)
    if first.clean:
        return ProbeRun(first, first.results)
    run = ProbeRun(first, {})
    if _loaded(first):
        _rerun(zygote, job, limits, first, run)
    return run


def _rerun(zygote: Zygote, job: dict, limits: Limits, failed: ChildOutcome, run: ProbeRun) -> None:
    """Fill `run` with trusted results for the probes `failed` did not stop at: the probes before
    the one it stopped at run again together (they finished once, so this is usually quick and
    clean), then those after it, each group under the same rule."""
    failures_left = MAX_FAILED_RERUNS
    work = [(list(job["probe_names"]), failed)]
    while work:
        group, outcome = work.pop()
        running = _running_probe(outcome, group)
        parts = [[name] for name in group] if running is None else [group[:group.index(running)],
                                                                    group[group.index(running) + 1:]]
        if running is not None:
            run.stopped[running] = f"your code was stopped while running this test ({outcome.status})"
        for part in filter(None, parts):
            if failures_left == 0:
                run.stopped.update(dict.fromkeys(part, OUT_OF_RERUNS))
                continue
            again = zygote.run({**job, "probe_names": part}, limits)
            if again.clean:
                run.results.update(again.results)
                continue
            failures_left -= 1
            if not _loaded(again):
                run.stopped.update(dict.fromkeys(part, f"your code was stopped while loading ({again.status})"))
            elif len(part) == 1:
                run.stopped[part[0]] = f"your code was stopped while running this test ({again.status})"
            else:
                work.append((part, again))


def _loaded(outcome: ChildOutcome) -> bool:
    return bool(outcome.messages) and outcome.messages[0]["event"] == "loaded"


def _running_probe(outcome: ChildOutcome, names: list[str]) -> str | None:
    """The first requested probe the child sent no message for: the one it was running."""
    answered = {message["name"] for message in outcome.messages if message["event"] == "probe"}
    return next((name for name in names if name not in answered), None)
