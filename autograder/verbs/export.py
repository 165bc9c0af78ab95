"""Export a notebook to PDF offline, with its math typeset and its plots shown.

Route (docs/pdf.md says why this one): nbconvert writes HTML with the print template in
``autograder/verbs/templates/course_pdf`` (the lab template without CDN scripts, local MathJax 3, A4
pages, wrapping code), then Debian's headless Chromium prints that page to PDF. Nothing is
downloaded: the only script is MathJax from a local file, and Chromium's host resolver is told that
every remote host is unknown.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import AutograderError
from autograder.analysis.notebook import read_notebook
from autograder.analysis.outputs import collapse_progress
from autograder.paths import REPO_ROOT
from autograder.analysis.quick_nbformat import nbformat

# nbconvert warns that figures lack alt text, which a student exporting a PDF can do nothing about.
nbconvert_log = logging.getLogger(f"{__name__}.nbconvert")
nbconvert_log.setLevel(logging.ERROR)

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "course_pdf"
MATHJAX_BUNDLE = Path("node_modules", "mathjax", "es5", "tex-svg-full.js")
MATHJAX_IN_REPO = REPO_ROOT / ".deps" / MATHJAX_BUNDLE
CHROMIUM_NAMES = ("chromium", "chromium-browser")
# A course repository (not the wheel a student installed) has the script that installs the tools.
IN_COURSE_REPOSITORY = (REPO_ROOT / "scripts" / "install-system-deps.sh").is_file()
INSTALL_HINT = "run `make` or `bash scripts/install-system-deps.sh` in the course repository"
CHROMIUM_HINT_FOR_STUDENTS = "install it (Debian or Ubuntu: `sudo apt install chromium`)"
MATHJAX_HINT_FOR_STUDENTS = ("install it once with `cd ~ && npm install mathjax@3` (npm comes with Node.js; "
                             "Debian or Ubuntu: `sudo apt install npm`), which puts it where the export looks")

# Virtual time only advances while the page is idle, so a generous budget costs no real time;
# it bounds how long Chromium waits for timers before it decides the page is ready.
VIRTUAL_TIME_BUDGET_MS = 30_000
CHROMIUM_TIMEOUT_SECONDS = 300.0
STDERR_TAIL_LINES = 15

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # the sandbox needs user namespaces that containers and root often lack
    "--disable-gpu",
    "--disable-dev-shm-usage",  # a container's /dev/shm is often too small for long pages
    "--no-pdf-header-footer",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Any remote fetch (an image or script in some output) fails at once instead of downloading.
    "--host-resolver-rules=MAP * ~NOTFOUND",
)

# The print template marks <body data-typeset="done"> once MathJax has typeset the page.
TYPESET_DONE = re.compile(r'<body\b[^>]*\bdata-typeset="done"')
MARKDOWN_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
# The name field of a course notebook: a Markdown cell whose nbgrader grade_id is NAME_FIELD_ID,
# with lines "**Name:** ..." and "**Student ID:** ..."; "*(...)*" is the release's placeholder.
NAME_FIELD_ID = "student_name"
# The labels may lose or move their bold ("Name: ...", "**Name**: ..."); a field rewritten as one
# free line ("Ada Lovelace, 20871234") is taken as it is.
NAME_FIELD_LINE = re.compile(r"^[ \t]*[*_]{0,2}(Name|Student ID)[*_]{0,2}[ \t]*:[ \t]*[*_]{0,2}[ \t]*(.*?)[ \t]*$",
                             re.MULTILINE | re.IGNORECASE)
PLACEHOLDER = re.compile(r"^\*?\(.*\)\*?$")


class ExportError(AutograderError):
    """The PDF could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class ExportResult:
    """What `export_pdf` made.

    Cell numbers are 1-based positions among all cells, as a student counts them in JupyterLab.
    """

    pdf: Path
    title: str
    student_name: str
    unexecuted_cells: tuple[int, ...]  # code cells that were never run
    error_cells: tuple[int, ...]  # cells whose outputs hold an error
    warnings: tuple[str, ...]
    seconds: float


def export_pdf(
    notebook_path: str | os.PathLike,
    output: str | os.PathLike | None = None,
    student_name: str | None = None,
    title: str | None = None,
    *,
    timeout_seconds: float = CHROMIUM_TIMEOUT_SECONDS,
) -> ExportResult:
    """Write ``notebook_path`` as an A4 PDF (default: the same name with ``.pdf``).

    The first page starts with the title (``title``, else the notebook's first markdown heading,
    else the file name) and the student's name (``student_name``, else the notebook's name field,
    else its ``metadata.authors``, else the file name). A notebook with cells that were not run or that
    show errors is still exported, with a warning naming those cells. Raises ExportError when
    Chromium or MathJax is missing or Chromium fails, and NotebookError (a ValueError) when the
    file cannot be read as a notebook.
    """
    started = time.perf_counter()
    notebook_path = Path(notebook_path)
    output = Path(output) if output is not None else notebook_path.with_suffix(".pdf")
    if output.resolve() == notebook_path.resolve():
        raise ExportError(f"The PDF would overwrite the notebook {notebook_path}; choose another output file.")
    chromium = find_chromium()
    mathjax = find_mathjax()
    warnings: list[str] = []  # read_notebook adds a sentence for each repair it made
    nb = read_notebook(notebook_path, notes=warnings)
    collapse_progress(nb)  # a progress bar saved redraw by redraw shows its final state
    title = title or first_heading(nb) or notebook_path.stem
    student_name = student_name or name_field(nb) or first_author(nb) or notebook_path.stem
    unexecuted, errors = unexecuted_cells(nb), error_cells(nb)
    warnings += execution_warnings(unexecuted, errors)

    html = render_html(nb, title, student_name, mathjax, notebook_path.resolve().parent)
    with tempfile.TemporaryDirectory(prefix="autograder-pdf-", ignore_cleanup_errors=True) as tmp:
        page = Path(tmp) / "notebook.html"
        page.write_text(html, encoding="utf-8")
        printed = Path(tmp) / "notebook.pdf"
        typeset = print_to_pdf(chromium, page, printed, Path(tmp), timeout_seconds)
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(printed, output)
    if not typeset:
        warnings.append(
            "MathJax had not finished typesetting when Chromium printed the page, "
            "so some math may show as raw TeX."
        )
    return ExportResult(
        pdf=output,
        title=title,
        student_name=student_name,
        unexecuted_cells=tuple(unexecuted),
        error_cells=tuple(errors),
        warnings=tuple(warnings),
        seconds=time.perf_counter() - started,
    )


def find_chromium() -> Path:
    """The Chromium executable: env ``COURSE_CHROMIUM``, else ``chromium``/``chromium-browser``."""
    override = os.environ.get("COURSE_CHROMIUM")
    if override:
        found = shutil.which(override)
        if found is None:
            raise ExportError(
                f"COURSE_CHROMIUM is set to {override!r}, which is not an executable program; "
                "point it at a Chromium browser or unset it."
            )
        return Path(found)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    hint = f"{INSTALL_HINT} (it installs Debian's chromium)" if IN_COURSE_REPOSITORY else CHROMIUM_HINT_FOR_STUDENTS
    raise ExportError(
        f"PDF export needs the Chromium browser, and neither {' nor '.join(CHROMIUM_NAMES)} is on "
        f"PATH; {hint}, or set COURSE_CHROMIUM to its path."
    )


def mathjax_candidates() -> list[Path]:
    """Where MathJax 3's bundle is looked for, in order: the course repository's ``.deps/``, then
    ``node_modules/`` of the current folder and of the home folder (``npm install mathjax@3`` there),
    then npm's global folders."""
    return [MATHJAX_IN_REPO, Path.cwd() / MATHJAX_BUNDLE, Path.home() / MATHJAX_BUNDLE,
            *(Path(prefix, "lib") / MATHJAX_BUNDLE for prefix in ("/usr/local", "/usr"))]


def find_mathjax() -> Path:
    """MathJax 3's one-file bundle ``tex-svg-full.js``: env ``COURSE_MATHJAX``, else the first of
    `mathjax_candidates` that exists."""
    override = os.environ.get("COURSE_MATHJAX")
    if override:
        if Path(override).is_file():
            return Path(override)
        raise ExportError(
            f"COURSE_MATHJAX points to {override}, which is not a file; point it at MathJax 3's "
            "mathjax/es5/tex-svg-full.js, or unset it."
        )
    found = next((path for path in mathjax_candidates() if path.is_file()), None)
    if found is not None:
        return found
    if IN_COURSE_REPOSITORY:
        raise ExportError(
            f"PDF export needs MathJax 3 to typeset math, and it is not there (expected at {MATHJAX_IN_REPO}); "
            f"{INSTALL_HINT} (it installs MathJax from npm into .deps/), "
            "or set COURSE_MATHJAX to a copy of mathjax/es5/tex-svg-full.js."
        )
    raise ExportError(
        f"PDF export needs MathJax 3 to typeset math, and it is not installed; {MATHJAX_HINT_FOR_STUDENTS}, "
        "or set COURSE_MATHJAX to a copy of mathjax/es5/tex-svg-full.js."
    )


def first_heading(nb: nbformat.NotebookNode) -> str | None:
    """The text of the first markdown heading (``# ...`` to ``###### ...``), if any."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = MARKDOWN_HEADING.search(cell.source)
            if match:
                return match.group(1).strip()
    return None


def name_field(nb: nbformat.NotebookNode) -> str | None:
    """"Name (Student ID)" from the notebook's filled-in name field (see NAME_FIELD_ID), if any."""
    for cell in nb.cells:
        if cell.get("cell_type") != "markdown" or \
                cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") != NAME_FIELD_ID:
            continue
        source = cell.get("source", "")
        labelled = NAME_FIELD_LINE.findall(source)
        found = {key.lower(): value for key, value in labelled if value and not PLACEHOLDER.match(value)}
        name, student_id = found.get("name"), found.get("student id")
        if name:
            return f"{name} ({student_id})" if student_id else name
        if student_id or labelled:
            return student_id
        free = next((line.strip(" \t*_#") for line in source.splitlines() if line.strip(" \t*_#")), None)
        return None if free is None or PLACEHOLDER.match(free) else free
    return None


def first_author(nb: nbformat.NotebookNode) -> str | None:
    """The first name in ``metadata.authors`` (JupyterLab writes ``[{"name": ...}]``), if any."""
    authors = nb.metadata.get("authors") or []
    if not authors:
        return None
    author = authors[0]
    name = author.get("name") if isinstance(author, dict) else author
    return name.strip() if isinstance(name, str) and name.strip() else None


def unexecuted_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Cell numbers (1-based, all cells) of non-empty code cells that were never run."""
    return [
        number
        for number, cell in enumerate(nb.cells, start=1)
        if cell.cell_type == "code"
        and cell.source.strip()
        and cell.get("execution_count") is None
        and not cell.get("outputs")
    ]


def error_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Cell numbers (1-based, all cells) of code cells with an error output."""
    return [
        number
        for number, cell in enumerate(nb.cells, start=1)
        if cell.cell_type == "code" and _errors_in(cell)
    ]


def execution_warnings(unexecuted: list[int], errors: list[int]) -> list[str]:
    """One sentence per problem, naming the cells, for a student to fix before submitting."""
    warnings = []
    if unexecuted:
        one = len(unexecuted) == 1
        warnings.append(
            f"{_cells(unexecuted)} {'has' if one else 'have'} not been run, "
            f"so the PDF shows no output for {'it' if one else 'them'}; run all cells before exporting."
        )
    if errors:
        warnings.append(f"{_cells(errors)} {'shows an error' if len(errors) == 1 else 'show errors'}.")
    return warnings


def render_html(
    nb: nbformat.NotebookNode, title: str, student_name: str, mathjax: Path, notebook_dir: Path
) -> str:
    """The notebook as one print-ready HTML page with no remote references.

    ``notebook_dir`` is where relative image links in markdown are looked up; they are embedded.
    """
    # nbconvert takes about a second to import, so only the export command pays for it.
    from nbconvert import HTMLExporter

    from autograder.verbs.code_wrap import WrappingHighlight

    language = nb.metadata.get("language_info", {})
    exporter = HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        embed_images=True,
        log=nbconvert_log,
        filters={"highlight_code": WrappingHighlight(pygments_lexer=language.get("pygments_lexer", language.get("name")))},
    )
    resources = {
        "metadata": {"name": f"{title} — {student_name}", "path": str(notebook_dir)},
        "course_pdf": {"title": title, "student_name": student_name, "mathjax_url": mathjax.as_uri()},
    }
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    return html


def print_to_pdf(chromium: Path, page: Path, pdf: Path, workdir: Path, timeout_seconds: float) -> bool:
    """Print ``page`` to ``pdf`` with headless Chromium; True if MathJax had finished typesetting.

    Chromium gets a fresh profile in ``workdir``. Raises ExportError (with the end of Chromium's
    stderr) when it exits with an error, times out, or writes no PDF.
    """
    dom = workdir / "dom.html"
    stderr = workdir / "chromium-stderr.txt"
    command = [
        str(chromium),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={workdir / 'profile'}",
        f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}",
        f"--print-to-pdf={pdf}",
        # The DOM is dumped before printing, so a typeset DOM means a typeset PDF.
        "--dump-dom",
        page.as_uri(),
    ]
    with dom.open("wb") as dom_out, stderr.open("wb") as err_out:
        # A session of its own, so that a timeout can kill Chromium's helper processes too.
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=dom_out, stderr=err_out, start_new_session=True
        )
        try:
            returncode = process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise ExportError(
                f"Chromium did not finish printing within {timeout_seconds:g} s."
                + _tail(stderr)
            ) from None
    if returncode != 0:
        raise ExportError(f"Chromium failed with exit code {returncode}." + _tail(stderr))
    if not pdf.is_file() or pdf.stat().st_size == 0:
        raise ExportError("Chromium exited without writing a PDF." + _tail(stderr))
    return TYPESET_DONE.search(dom.read_text(encoding="utf-8", errors="replace")) is not None


def _errors_in(cell: nbformat.NotebookNode) -> bool:
    return any(output.get("output_type") == "error" for output in cell.get("outputs", []))


def _cells(numbers: list[int]) -> str:
    """'cell 3' or 'cells 3, 5 and 8'."""
    if len(numbers) == 1:
        return f"cell {numbers[0]}"
    return f"cells {', '.join(map(str, numbers[:-1]))} and {numbers[-1]}"


def _tail(stderr: Path) -> str:
    lines = stderr.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    if not lines:
        return " Chromium wrote nothing to stderr."
    return " The end of its stderr:\n" + "\n".join(lines[-STDERR_TAIL_LINES:])
