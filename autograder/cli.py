"""The ``autograder`` command: parses arguments and calls one API function per verb.

Each verb imports its module when it runs, so ``autograder --help`` starts instantly. A failure the
user can act on (an `AutograderError`) reads as one line and exits 2; anything else is a bug and
shows its traceback.
"""
import argparse
import contextlib
import sys
from pathlib import Path

from autograder.errors import AutograderError


# Kept here rather than imported from autograder.verbs.check, so that `--help` imports nothing heavy.
CHECK_EXIT_CODES = """exit codes:
  0  ready to hand in: the notebook will grade and nothing is left to do
  1  it will not grade fully: a rule or name problem, a module that does not load, or a run the
     grading sandbox stops (time limit, memory limit, crashed, malformed answer); the report
     gives the status in the words of `autograder grade`
  2  it could not be checked: unreadable notebook, unknown assignment, no check/ folder beside
     the notebook, broken grading.toml, or a sandbox that failed
  3  it will grade but is not ready: answer cells unanswered, leftover stubs, visible checks
     failing, errors in the saved outputs, cells never run, the handout's graded or read-only
     cells edited or missing, or a changed signature (each is listed with its fix)"""


def _release(args) -> int:
    from autograder import paths
    from autograder.verbs import release
    for assignment in paths.resolve_assignments(args.assignments):
        folder = release.release(assignment)
        print(f"released {assignment} -> {folder.relative_to(paths.REPO_ROOT)}")
    return 0


def _validate(args) -> int:
    from autograder import paths
    from autograder.verbs import validate
    failed = False
    for assignment in paths.resolve_assignments(args.assignments):
        for result in validate.validate(assignment, fast=not args.full):
            label = result.notebook.relative_to(paths.REPO_ROOT)
            print(f"{'ok  ' if result.ok else 'FAIL'} {label}")
            for problem in result.problems:
                print(f"     {problem}")
            failed |= not result.ok
    return 1 if failed else 0


def _extract(args) -> int:
    from autograder.analysis import extract
    output = args.output or args.notebook.with_suffix(".py")
    extraction = extract.extract_file(args.notebook, output)
    print(extraction.to_text())
    print(f"wrote {output}")
    return 0


@contextlib.contextmanager
def _launched_zygote(**settings):
    """A sandbox zygote launched before the engine is imported, so that torch loads in it while this
    process imports the engine and reads the notebooks; killed unused if the verb stops first."""
    from autograder.sandbox.parent import Zygote
    zygote = Zygote(**settings)
    zygote.launch()
    try:
        yield zygote
    finally:
        zygote.close()


def _grade(args) -> int:
    with _launched_zygote(allow_weak=args.allow_weak_sandbox) as zygote:
        from autograder.grading import grade
        from autograder.verbs import report
        result = grade.grade_assignment(args.assignment, args.submissions, args.output, jobs=args.jobs,
                                        force=args.force, autolab=args.autolab,
                                        allow_weak_sandbox=args.allow_weak_sandbox, zygote=zygote)
    report.write_reports(result, args.output, autolab=args.autolab)
    print(report.class_table(result))
    print(f"reports in {args.output}")
    if args.autolab and len(result.students) == 1:
        # Autolab grades one hand-in per job and reads the scores from the last line of output.
        print(report.autolab_line(result.students[0]))
    return 0


def _check(args) -> int:
    from autograder.sandbox.parent import ONE_RUN_PRELOAD
    with _launched_zygote(preload=ONE_RUN_PRELOAD, allow_weak=True) as zygote:
        from autograder.verbs import check
        return check.main(args.notebook, assignment=args.assignment, as_json=args.json, zygote=zygote)


def _pdf(args) -> int:
    from autograder.verbs import export
    result = export.export_pdf(args.notebook, args.output, student_name=args.name, title=args.title)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {result.pdf}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    verb = verbs.add_parser("release", help="generate release/<a>/ from source/<a>/ (all when none named)")
    verb.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    verb.set_defaults(run=_release)

    verb = verbs.add_parser("validate", help="run the source and the release notebooks and check them")
    verb.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    verb.add_argument("--full", action="store_true", help="real data, epochs and trials (default: COURSE_FAST=1)")
    verb.set_defaults(run=_validate)

    verb = verbs.add_parser("extract", help="extract a notebook's definitions into a module, with a report")
    verb.add_argument("notebook", type=Path)
    verb.add_argument("-o", "--output", type=Path, help="module to write (default: NOTEBOOK with .py)")
    verb.set_defaults(run=_extract)

    verb = verbs.add_parser("grade", help="autograde a class's submissions and write the reports")
    verb.add_argument("assignment")
    verb.add_argument("submissions", type=Path, help="folder of notebooks, nbgrader submitted/ folder, or zip")
    verb.add_argument("-j", "--jobs", type=int, default=2, help="submissions graded at once (default 2)")
    verb.add_argument("-o", "--output", type=Path, default=Path("grading-output"), help="report folder")
    verb.add_argument("--force", action="store_true", help="regrade submissions already graded")
    verb.add_argument("--autolab", action="store_true", help="also write Autolab's last-line JSON")
    verb.add_argument("--allow-weak-sandbox", action="store_true",
                      help="grade even where this machine cannot isolate submissions (no user namespaces); "
                           "every report then says which protections were missing")
    verb.set_defaults(run=_grade)

    verb = verbs.add_parser("check", help="check a notebook follows the rules and passes the visible tests",
                            formatter_class=argparse.RawDescriptionHelpFormatter, epilog=CHECK_EXIT_CODES)
    verb.add_argument("notebook", type=Path)
    verb.add_argument("--assignment", help="assignment name (guessed from the notebook when omitted)")
    verb.add_argument("--json", action="store_true", help="machine-readable output")
    verb.set_defaults(run=_check)

    verb = verbs.add_parser("pdf", help="export a notebook to PDF, offline, with math and plots")
    verb.add_argument("notebook", type=Path)
    verb.add_argument("-o", "--output", type=Path, help="PDF to write (default: NOTEBOOK with .pdf)")
    verb.add_argument("--name", help="student name for the first page (default: from the notebook)")
    verb.add_argument("--title", help="title for the first page (default: the notebook's first heading)")
    verb.set_defaults(run=_pdf)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except AutograderError as error:
        print(f"autograder {args.verb}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
