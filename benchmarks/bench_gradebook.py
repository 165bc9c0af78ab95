"""Writing a graded class into a new nbgrader gradebook, as a Markdown table for BENCHMARKS.md.

    .venv/bin/python benchmarks/bench_gradebook.py [-n 3]

The class is the hopfield_batchnorm samples with synthetic results (no grading: only the gradebook
is timed). Each run writes a new SQLite gradebook (a) as `grade --gradebook` does, nbgrader's
schema version read through alembic's API in this process, and (b) with nbgrader's own
`get_alembic_version`, which runs the `alembic` command in a new process. Also timed: opening the
marking page's state (`Marking.open`) for the same class, every notebook read and rendered.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from common import REPO_ROOT, command, machine, table_header, table_row, today, wall_times

sys.path.insert(0, str(REPO_ROOT))
ASSIGNMENT = "hopfield_batchnorm"
COLUMNS = ("what", "runs", "median (s)", "min–max (s)")


def graded_class(out: Path) -> None:
    """results/*.json for every readable sample, as `grade` would write them (all scores 0)."""
    from autograder.analysis.notebook import NotebookError, read_notebook
    from autograder.grading.config import load_config
    from autograder.grading.grade import QuestionResult, StudentResult
    from autograder.grading.manual import find_answer
    config = load_config(ASSIGNMENT, probes=False)
    (out / "results").mkdir(parents=True)
    for path in sorted((REPO_ROOT / "examples" / "submissions" / ASSIGNMENT).glob("*.ipynb")):
        try:
            nb = read_notebook(path, keep_outputs=False)
        except NotebookError:
            continue
        questions = [QuestionResult(q.id, q.title, q.points, q.manual, None if q.manual else 0.0,
                                    answer=find_answer(nb, q).digest if q.manual else "") for q in config.questions]
        result = StudentResult(path.stem, str(path), [], questions, {}, [], "")
        (out / "results" / f"{path.stem}.json").write_text(json.dumps(result.to_json()), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=3, help="runs of each (default 3)")
    args = parser.parse_args(argv)
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    import nbgrader.api

    from autograder.grading.grade import load_graded
    from autograder.verbs import gradebook
    from autograder.verbs.mark import Marking

    print(f"machine: {machine()}; date: {today()}; command: {command()}\n")
    print(table_header(COLUMNS))
    with tempfile.TemporaryDirectory(prefix="bench-gradebook-") as tmp:
        out = Path(tmp) / "out"
        graded_class(out)
        result = load_graded(ASSIGNMENT, out)
        kit = wall_times(args.runs, lambda run: gradebook.write_gradebook(result, f"sqlite:///{tmp}/kit{run}.db"))

        def with_command(run):  # nbgrader's own version look-up: the `alembic` command
            saved = gradebook.schema_version
            gradebook.schema_version = nbgrader.api.get_alembic_version
            try:
                gradebook.write_gradebook(result, f"sqlite:///{tmp}/nbgrader{run}.db")
            finally:
                gradebook.schema_version = saved
        theirs = wall_times(args.runs, with_command)
        marking = wall_times(args.runs, lambda run: Marking.open(ASSIGNMENT, out))
        rows = [(f"new gradebook, {len(result.students)} students, schema version from alembic's API (the kit)", kit),
                ("the same, schema version from the `alembic` command (nbgrader's own)", theirs),
                (f"Marking.open: {len(result.students)} notebooks read, answers grouped and rendered", marking)]
        for what, seconds in rows:
            print(table_row([what, len(seconds), f"{statistics.median(seconds):.2f}",
                             f"{min(seconds):.2f}–{max(seconds):.2f}"]))
        print(f"\nnbgrader's look-up / the kit's, median: {statistics.median(theirs) / statistics.median(kit):.1f}x")


if __name__ == "__main__":
    main()
