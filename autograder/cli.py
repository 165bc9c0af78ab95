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


def _new(args) -> int:
    from autograder import paths
    from autograder.verbs import scaffold
    for file in scaffold.new_assignment(args.assignment, title=args.title):
        print(f"wrote {file.relative_to(paths.REPO_ROOT)}")
    print(f"next: autograder release {args.assignment} && autograder validate {args.assignment}")
    return 0


def _add_question(args) -> int:
    from autograder import paths
    from autograder.verbs import scaffold
    changed = scaffold.add_question(args.assignment, args.question, args.points, title=args.title,
                                    manual=args.manual, name=args.name, kind=args.kind, signature=args.signature)
    for file in changed:
        print(f"changed {file.relative_to(paths.REPO_ROOT)}")
    print("next: write the prompt, the model solution, the tests"
          + ("" if args.manual else ", the probe and the visible check") + ", then release and validate")
    return 0


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
                                        allow_weak_sandbox=args.allow_weak_sandbox, shard=args.shard, zygote=zygote)
    report.write_reports(result, args.output, autolab=args.autolab)
    print(report.class_table(result))
    print(f"reports in {args.output}")
    if args.gradebook:
        from autograder.verbs.gradebook import write_gradebook
        written = write_gradebook(result, args.gradebook, course_dir=args.nbgrader_course)
        print(f"nbgrader gradebook {written.url}: {written.students} students, {written.grades} grades, "
              f"{written.pending} manual grades still to mark")
    if args.autolab and len(result.students) == 1:
        # Autolab grades one hand-in per job and reads the scores from the last line of output.
        print(report.autolab_line(result.students[0]))
    return 0


def _shard(text: str):
    from autograder.grading.shards import Shard, ShardError
    try:
        return Shard.parse(text)
    except ShardError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _merge(args) -> int:
    from autograder.verbs import merge, report
    result = merge.merge(args.folders, args.output, assignment=args.assignment)
    print(report.class_table(result))
    print(f"reports in {args.output}")
    return 0


def _gradescope(args) -> int:
    from autograder.verbs import gradescope
    bundle = gradescope.build_bundle(args.assignment, args.output, visibility=args.visibility,
                                     allow_weak_sandbox=args.allow_weak_sandbox)
    print(f"wrote {bundle}: upload it as the assignment's autograder on Gradescope (README.md, Gradescope)")
    return 0


def _mark(args) -> int:
    from autograder.verbs.mark import Marking
    from autograder.verbs.mark_server import MarkServer
    marking = Marking.open(args.assignment, args.output, gradebook=args.gradebook)
    server = MarkServer(marking, port=args.port)
    print(f"Marking {marking.config.title}: open {server.url} in your browser (Ctrl-C stops the server).")
    print(f"Scores are saved as you enter them in {args.output / 'manual_scores.json'}; "
          f"grades.csv and the feedback follow.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped; every score entered is saved")
    finally:
        server.server_close()
    return 0


def _export(args) -> int:
    from autograder.grading.grade import load_graded
    from autograder.verbs.lms_export import DEFAULT_FILES, export_grades
    output = args.output_file or args.output / DEFAULT_FILES[args.format]
    exported = export_grades(load_graded(args.assignment, args.output), args.format, output,
                             allow_unmarked=args.allow_unmarked, roster=args.roster)
    if exported.unmarked:
        print(f"warning: {len(exported.unmarked)} students have unmarked manual questions, counted 0: "
              f"{', '.join(exported.unmarked)}", file=sys.stderr)
    if exported.unmatched:
        print(f"warning: not in the roster: {', '.join(exported.unmatched)}", file=sys.stderr)
    if exported.absent:
        print(f"warning: in the roster without a submission: {', '.join(exported.absent)}", file=sys.stderr)
    print(f"wrote {exported.rows} grades to {exported.path}")
    return 0


def _import_scores(args) -> int:
    from autograder.grading.grade import load_graded
    from autograder.verbs import report
    from autograder.verbs.import_scores import import_scores
    imported = import_scores(load_graded(args.assignment, args.output), args.scores, args.source)
    report.write_reports(load_graded(args.assignment, args.output), args.output)
    print(f"imported {imported.marks} marks of {', '.join(imported.questions)} from {args.scores}")
    if imported.unmatched:
        print(f"warning: {len(imported.unmatched)} rows match no student and were not imported: "
              f"{', '.join(imported.unmatched)}", file=sys.stderr)
    return 1 if imported.unmatched else 0


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

    verb = verbs.add_parser("new", help="scaffold a minimal working assignment: source notebook, grading.toml, "
                                         "one probe, one visible check")
    verb.add_argument("assignment")
    verb.add_argument("--title", help="the assignment's title (default: from its name)")
    verb.set_defaults(run=_new)

    verb = verbs.add_parser("add-question", help="append a question to an assignment, with its nbgrader cells, "
                                                  "grading.toml table, probe and visible check")
    verb.add_argument("assignment")
    verb.add_argument("question", help="the question's id, such as Q3")
    verb.add_argument("--points", type=float, required=True, help="its marks")
    verb.add_argument("--title", help="what the reports and the prompt's heading call it (default: the id)")
    verb.add_argument("--manual", action="store_true", help="graded by hand: a Markdown answer cell, no probe")
    verb.add_argument("--name", help="the function or class the grader needs from the answer")
    verb.add_argument("--kind", choices=("function", "class"), default="function", help="what --name is")
    verb.add_argument("--signature", help='its parameters, such as "(x, eps=1e-5)"')
    verb.set_defaults(run=_add_question)

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
    verb.add_argument("--gradebook", nargs="?", const="sqlite:///gradebook.db", metavar="URL",
                      help="also write the grades into nbgrader's gradebook at this SQLAlchemy URL "
                           "(default sqlite:///gradebook.db, in the current folder, as nbgrader's own commands)")
    verb.add_argument("--nbgrader-course", type=Path, metavar="DIR",
                      help="with --gradebook: copy the notebooks to DIR/autograded/<student>/<assignment>/, "
                           "where nbgrader formgrader opens them")
    verb.add_argument("--allow-weak-sandbox", action="store_true",
                      help="grade even where this machine cannot isolate submissions (no user namespaces); "
                           "every report then says which protections were missing")
    verb.add_argument("--shard", type=_shard, metavar="K/N",
                      help="grade only shard K (from 0) of N: the students whose id hashes to K; merge the "
                           "shards' folders with `autograder merge`")
    verb.set_defaults(run=_grade)

    verb = verbs.add_parser("merge", help="merge the output folders of a sharded grading into the class's reports")
    verb.add_argument("folders", nargs="+", type=Path, metavar="OUT_DIR", help="`grade --shard` output folders")
    verb.add_argument("-o", "--output", type=Path, required=True, help="report folder for the whole class")
    verb.add_argument("--assignment", help="the assignment, when no folder has a shard record")
    verb.set_defaults(run=_merge)

    verb = verbs.add_parser("gradescope", help="build a Gradescope autograder zip that grades one assignment")
    verb.add_argument("assignment")
    verb.add_argument("-o", "--output", type=Path, default=Path("autograder.zip"), help="zip to write")
    verb.add_argument("--visibility", default="after_published",
                      choices=("hidden", "after_due_date", "after_published", "visible"),
                      help="when students see the hidden probes' results (default after_published)")
    verb.add_argument("--allow-weak-sandbox", action="store_true",
                      help="grade even where Gradescope's container forbids user namespaces; the student's "
                           "code can then read the hidden probes (see README.md)")
    verb.set_defaults(run=_gradescope)
    verb = verbs.add_parser("mark", help="mark the questions graded by hand, question by question, in the browser")
    verb.add_argument("assignment")
    verb.add_argument("output", type=Path, help="the report folder `grade` wrote (its -o)")
    verb.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    verb.add_argument("--gradebook", metavar="URL", help="nbgrader's gradebook: take the marks entered in formgrader, "
                                                         "and write every mark there too")
    verb.set_defaults(run=_mark)

    verb = verbs.add_parser("export", help="write the final grades in the file an LMS imports (docs/marking.md)")
    verb.add_argument("assignment")
    verb.add_argument("output", type=Path, help="the report folder `grade` wrote (its -o)")
    verb.add_argument("--format", required=True, choices=("canvas", "moodle", "d2l", "csv"))
    verb.add_argument("-o", "--output-file", type=Path, help="file to write (default: one in OUTPUT named after the format)")
    verb.add_argument("--roster", type=Path, help="CSV with lms_id or student, and name, email, sis_id, login, "
                                                  "org_defined_id, username")
    verb.add_argument("--allow-unmarked", action="store_true",
                      help="export even when manual questions are not marked (they count 0)")
    verb.set_defaults(run=_export)

    verb = verbs.add_parser("import-scores", help="merge manual scores exported by Gradescope or Crowdmark")
    verb.add_argument("assignment")
    verb.add_argument("output", type=Path, help="the report folder `grade` wrote (its -o)")
    verb.add_argument("scores", type=Path, help="the per-question score export (CSV)")
    verb.add_argument("--from", dest="source", required=True, choices=("gradescope", "crowdmark"))
    verb.set_defaults(run=_import_scores)

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
