"""PDF export: math typeset, plots shown, long lines wrapped, offline, and clear failures.

Each export runs the real headless Chromium (a few seconds), so the main PDF is made once per module.
Page 1 of it is kept as tests/artifacts/export_page1.png for a person to look at.
"""
import base64
import io
import json
import logging
import re
import subprocess
from pathlib import Path

import matplotlib
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from tqdm import tqdm

from autograder.verbs import export

from autograder.verbs.export import (
    ExportError,
    execution_warnings,
    export_pdf,
    first_author,
    name_field,
    first_heading,
    render_html,
)
from autograder.analysis.notebook import NotebookError

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the Agg backend)

ARTIFACTS = Path(__file__).parent / "artifacts"
TITLE = "Hopfield networks and batch norm"
AUTHOR = "Ada Lovelace"
LONG_LINE_END = "LONGLINEEND42"
# 200 characters, far wider than an A4 page in the code font.
LONG_LINE = "energy = " + " + ".join(f"w{i}" for i in range(52)) + f"  # {LONG_LINE_END}"
MATH_MARKDOWN = r"""
Inline math: $\frac{d u_k}{dt} = -u_k + \sum_j w_{kj} g(u_j)$ and $E \le 0$.

$$\frac{dE}{dt} = -\sum_k \frac{d u_k}{dt} \frac{d v_k}{dt} \le 0$$

$$
\begin{aligned}
\mu &= \frac{1}{m}\sum_{i=1}^m x_i \\
\sigma^2 &= \frac{1}{m}\sum_{i=1}^m (x_i - \mu)^2
\end{aligned}
$$
"""
RAW_TEX = ("\\frac", "\\sum", "\\le", "\\begin", "aligned", "$")


def plot_png() -> str:
    """A matplotlib line plot as base64 PNG, as a kernel would have stored it."""
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot([0, 1, 2, 3], [3, 1, 0.5, 0.2], label="energy")
    ax.set(title="Energy over time", xlabel="step", ylabel="E")
    ax.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")  # as the inline backend does
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def math_plot_notebook() -> nbformat.NotebookNode:
    """An executed notebook: a heading, math, a 200-character code line and a plot output."""
    nb = new_notebook(
        cells=[
            new_markdown_cell(f"# {TITLE}\n\nSome words before the math."),
            new_markdown_cell(MATH_MARKDOWN),
            new_code_cell(LONG_LINE, execution_count=1),
            new_code_cell(
                "plot_energy()",
                execution_count=2,
                outputs=[
                    new_output(
                        "display_data",
                        data={"image/png": plot_png(), "text/plain": "<Figure size 500x300>"},
                    )
                ],
            ),
        ]
    )
    nb.metadata["authors"] = [{"name": AUTHOR}]
    return nb


def half_run_notebook() -> nbformat.NotebookNode:
    """Cells 3 and 7 never ran, cell 5 raised; no heading and no authors."""
    return new_notebook(
        cells=[
            new_markdown_cell("Answer the questions below."),
            new_code_cell(
                "print('ran')",
                execution_count=1,
                outputs=[new_output("stream", name="stdout", text="ran\n")],
            ),
            new_code_cell("x = 1"),
            new_markdown_cell("More questions."),
            new_code_cell(
                "1 / 0",
                execution_count=2,
                outputs=[
                    new_output(
                        "error",
                        ename="ZeroDivisionError",
                        evalue="division by zero",
                        traceback=["ZeroDivisionError: division by zero"],
                    )
                ],
            ),
            new_code_cell("   \n"),  # empty: nothing to run, so not reported
            new_code_cell("y = 2"),
        ]
    )


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    nbformat.write(nb, path)
    return path


def pdf_text(pdf: Path, *pages: str) -> str:
    return subprocess.run(
        ["pdftotext", *pages, str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


def squeeze(text: str) -> str:
    """Text without whitespace, so a line that wrapped anywhere still matches."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The math-and-plot notebook exported with no name or title given."""
    folder = tmp_path_factory.mktemp("export")
    notebook = write(math_plot_notebook(), folder / "hopfield_batchnorm_alovelace.ipynb")
    return export_pdf(notebook, folder / "out" / "submission.pdf")


def test_export_writes_the_pdf_where_asked_without_warnings(exported):
    assert exported.pdf.name == "submission.pdf"
    assert exported.pdf.read_bytes().startswith(b"%PDF")
    # No warning also means the page reported that MathJax had finished typesetting.
    assert exported.warnings == ()
    assert exported.unexecuted_cells == () and exported.error_cells == ()


def test_math_is_typeset_not_printed_as_tex(exported):
    text = pdf_text(exported.pdf)
    assert "Inline math:" in text
    for tex in RAW_TEX:
        assert tex not in text, f"raw TeX {tex!r} in the PDF text"


def test_long_code_line_wraps_instead_of_being_cut(exported):
    text = squeeze(pdf_text(exported.pdf).replace("\u21aa", ""))  # without the continuation marks
    assert LONG_LINE_END in text
    assert squeeze(LONG_LINE) in text


def test_plot_is_in_the_pdf(exported):
    listing = subprocess.run(
        ["pdfimages", "-list", str(exported.pdf)], check=True, capture_output=True, text=True
    ).stdout
    image_rows = [line for line in listing.splitlines()[2:] if line.split()[2:3] == ["image"]]
    assert len(image_rows) >= 1


def test_pages_are_a4(exported):
    info = subprocess.run(["pdfinfo", str(exported.pdf)], check=True, capture_output=True, text=True)
    assert "(A4)" in info.stdout


def test_first_page_names_the_assignment_and_student_from_the_notebook(exported):
    assert (exported.title, exported.student_name) == (TITLE, AUTHOR)
    first_page = pdf_text(exported.pdf, "-f", "1", "-l", "1")
    assert AUTHOR in first_page
    assert TITLE in first_page


def test_first_page_renders_to_png_artifact(exported):
    ARTIFACTS.mkdir(exist_ok=True)
    prefix = ARTIFACTS / "export_page1"
    for old in ARTIFACTS.glob("export_page1*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(exported.pdf), str(prefix)],
        check=True,
    )
    png = prefix.with_suffix(".png")
    assert png.read_bytes().startswith(b"\x89PNG")


def test_name_and_title_given_win_over_the_notebook(tmp_path):
    notebook = write(math_plot_notebook(), tmp_path / "nb.ipynb")
    result = export_pdf(notebook, student_name="Grace Hopper", title="Assignment 1: Hopfield")
    assert result.pdf == tmp_path / "nb.pdf"
    first_page = pdf_text(result.pdf, "-f", "1", "-l", "1")
    assert "Grace Hopper" in first_page
    assert "Assignment 1: Hopfield" in first_page
    assert AUTHOR not in first_page


def test_unrun_and_failed_cells_still_export_with_a_warning(tmp_path, caplog):
    notebook = tmp_path / "hopfield_batchnorm_jsmith.ipynb"
    saved = half_run_notebook()
    del saved["metadata"]  # a gap the reader repairs, with a note that becomes a warning
    notebook.write_text(json.dumps(saved))
    with caplog.at_level(logging.WARNING):
        result = export_pdf(notebook)
    assert result.pdf.is_file()
    assert result.unexecuted_cells == (3, 7)
    assert result.error_cells == (5,)
    assert any("cells 3 and 7" in w and "not been run" in w for w in result.warnings)
    assert any("cell 5 shows an error" in w for w in result.warnings)
    assert any(str(notebook) in w for w in result.warnings)
    assert len(result.warnings) == 3
    # The warnings are returned, never logged too: `autograder pdf` prints each one once.
    assert [r for r in caplog.records if r.name.startswith("autograder")] == []
    # With no heading and no author, both come from the file name.
    assert result.title == result.student_name == "hopfield_batchnorm_jsmith"
    text = pdf_text(result.pdf)
    assert "hopfield_batchnorm_jsmith" in text
    assert "ZeroDivisionError" in text


def test_warnings_agree_in_number_with_the_cells_they_name():
    assert execution_warnings([4], [9]) == [
        "cell 4 has not been run, so the PDF shows no output for it; run all cells before exporting.",
        "cell 9 shows an error.",
    ]
    assert execution_warnings([3, 7, 8], [5, 6]) == [
        "cells 3, 7 and 8 have not been run, so the PDF shows no output for them; "
        "run all cells before exporting.",
        "cells 5 and 6 show errors.",
    ]
    assert execution_warnings([], []) == []


def test_html_loads_nothing_from_the_network():
    html = render_html(
        math_plot_notebook(), TITLE, AUTHOR, Path("/opt/mathjax/tex-svg-full.js"), Path.cwd()
    )
    remote = re.compile(
        r"""<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//"""
        r"""|url\(\s*["']?\s*(?:https?:)?//|import\(\s*["'](?:https?:)?//""",
        re.IGNORECASE,
    )
    assert remote.findall(html) == []
    assert "require.js" not in html and "cdnjs" not in html
    assert '<script src="file:///opt/mathjax/tex-svg-full.js">' in html


def test_missing_chromium_is_a_clear_error(tmp_path, monkeypatch):
    notebook = write(math_plot_notebook(), tmp_path / "nb.ipynb")
    monkeypatch.setenv("COURSE_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(ExportError, match="COURSE_CHROMIUM is set to .*no-such-chromium"):
        export_pdf(notebook)
    monkeypatch.delenv("COURSE_CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ExportError, match=r"needs the Chromium browser.*install-system-deps\.sh"):
        export_pdf(notebook)
    monkeypatch.setattr(export, "IN_COURSE_REPOSITORY", False)  # a student with the wheel
    with pytest.raises(ExportError, match=r"needs the Chromium browser.*`sudo apt install chromium`") as raised:
        export_pdf(notebook)
    assert "make" not in str(raised.value)
    assert not (tmp_path / "nb.pdf").exists()


def test_missing_mathjax_is_a_clear_error(tmp_path, monkeypatch):
    notebook = write(math_plot_notebook(), tmp_path / "nb.ipynb")
    monkeypatch.setenv("COURSE_MATHJAX", str(tmp_path / "tex-svg-full.js"))
    with pytest.raises(ExportError, match=r"COURSE_MATHJAX points to .*tex-svg-full.js, which is not a file"):
        export_pdf(notebook)
    monkeypatch.delenv("COURSE_MATHJAX")
    monkeypatch.setattr(export, "mathjax_candidates", lambda: [tmp_path / "nowhere" / "tex-svg-full.js"])
    with pytest.raises(ExportError, match=r"needs MathJax 3.*`make`.*install-system-deps\.sh"):
        export_pdf(notebook)
    monkeypatch.setattr(export, "IN_COURSE_REPOSITORY", False)  # a student with the wheel
    with pytest.raises(ExportError, match=r"needs MathJax 3.*`cd ~ && npm install mathjax@3`") as raised:
        export_pdf(notebook)
    assert "make" not in str(raised.value) and "site-packages" not in str(raised.value)
    assert not (tmp_path / "nb.pdf").exists()


def test_mathjax_installed_in_the_home_folder_is_found(tmp_path, monkeypatch):
    bundle = tmp_path / export.MATHJAX_BUNDLE
    bundle.parent.mkdir(parents=True)
    bundle.write_text("// MathJax")
    monkeypatch.delenv("COURSE_MATHJAX", raising=False)
    monkeypatch.setattr(export, "MATHJAX_IN_REPO", tmp_path / "no-deps" / "tex-svg-full.js")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert export.find_mathjax() == bundle


def test_math_left_untypeset_is_reported(tmp_path, monkeypatch):
    notebook = write(math_plot_notebook(), tmp_path / "nb.ipynb")
    inert = tmp_path / "not-mathjax.js"
    inert.write_text("window.notMathJax = true;\n")
    monkeypatch.setenv("COURSE_MATHJAX", str(inert))
    result = export_pdf(notebook)
    assert any("MathJax had not finished" in w for w in result.warnings)
    assert "\\frac" in pdf_text(result.pdf)


def fake_chromium(tmp_path: Path, script: str) -> Path:
    program = tmp_path / "fake-chromium"
    program.write_text("#!/bin/sh\n" + script)
    program.chmod(0o755)
    return program


@pytest.mark.parametrize(
    ("script", "timeout", "message"),
    [
        ("echo 'FATAL: the renderer crashed' >&2\nexit 3\n", 60, "exit code 3.*the renderer crashed"),
        ("echo 'printing skipped' >&2\nexit 0\n", 60, "without writing a PDF.*printing skipped"),
        ("echo 'waiting for ever' >&2\nexec sleep 60\n", 1, "did not finish printing within 1 s.*waiting for ever"),
    ],
    ids=["non-zero exit", "no pdf", "timeout"],
)
def test_chromium_failures_show_the_end_of_its_stderr(tmp_path, monkeypatch, script, timeout, message):
    notebook = write(math_plot_notebook(), tmp_path / "nb.ipynb")
    monkeypatch.setenv("COURSE_CHROMIUM", str(fake_chromium(tmp_path, script)))
    with pytest.raises(ExportError, match=re.compile(message, re.DOTALL)):
        export_pdf(notebook, timeout_seconds=timeout)
    assert not (tmp_path / "nb.pdf").exists()


def test_title_is_the_first_markdown_heading():
    nb = new_notebook(
        cells=[
            new_code_cell("# a comment, not a heading"),
            new_markdown_cell("Intro without a heading.\n#not a heading"),
            new_markdown_cell("Text\n\n## Part 2: Hopfield ##\n\n# Later heading"),
        ]
    )
    assert first_heading(nb) == "Part 2: Hopfield"
    assert first_heading(new_notebook(cells=[new_markdown_cell("no heading")])) is None


@pytest.mark.parametrize(
    ("authors", "expected"),
    [
        ([{"name": "Ada Lovelace"}, {"name": "Alan Turing"}], "Ada Lovelace"),
        (["Grace Hopper"], "Grace Hopper"),
        ([{"name": "  "}], None),
        ([], None),
    ],
)
def test_student_name_is_the_first_author(authors, expected):
    nb = new_notebook()
    nb.metadata["authors"] = authors
    assert first_author(nb) == expected


def _name_cell(source: str, grade_id: str = "student_name"):
    cell = new_markdown_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "grade": False, "solution": False, "locked": False}
    return cell


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("**Name:** Ada Lovelace\n\n**Student ID:** 20871234", "Ada Lovelace (20871234)"),
        ("**Name:** Ada Lovelace\n\n**Student ID:** *(your ID)*", "Ada Lovelace"),
        ("**Name:** *(your name)*\n\n**Student ID:** 20871234", "20871234"),
        ("**Name:** *(your name)*\n\n**Student ID:** *(your ID)*", None),
        ("**Name:**\n\n**Student ID:**", None),
        ("Name: Ada Lovelace\nstudent id: 20871234", "Ada Lovelace (20871234)"),
        ("**Name**: Ada Lovelace", "Ada Lovelace"),
        ("Ada Lovelace, 20871234", "Ada Lovelace, 20871234"),
    ],
)
def test_student_name_from_the_name_field(source, expected):
    nb = new_notebook(cells=[new_markdown_cell("# Title"), _name_cell(source)])
    nb.metadata["authors"] = [{"name": "Metadata Author"}]
    assert name_field(nb) == expected


def test_only_the_name_field_cell_names_the_student():
    nb = new_notebook(cells=[_name_cell("**Name:** Someone Else", grade_id="q1_prompt")])
    assert name_field(nb) is None


def test_refuses_to_overwrite_the_notebook(tmp_path):
    notebook = write(math_plot_notebook(), tmp_path / "nb.ipynb")
    before = notebook.read_bytes()
    with pytest.raises(ExportError, match="would overwrite the notebook"):
        export_pdf(notebook, output=tmp_path / "." / "nb.ipynb")
    assert notebook.read_bytes() == before


def test_unreadable_notebook_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    with pytest.raises(NotebookError, match="broken.ipynb: it is not valid JSON"):
        export_pdf(broken)
    assert not (tmp_path / "broken.pdf").exists()


# ---- progress bars, wrapping, tables and page breaks, on paper ------------------------------------

IDENTIFIERS = ["training_history", "train_network", "network_configuration", "configuration_dictionary",
               "batch_size", "batch_size_for_training", "learning_rate", "initial_learning_rate",
               "use_validation_split", "False", "shuffle_every_epoch", "True", "random_seed_for_shuffling",
               "SEED_FOR_REPEATABLE_EXPERIMENTS"]
# 200 characters of keyword arguments: the line a browser cut as "Fals e" and "batch _size".
IDENTIFIER_LINE = (f"{IDENTIFIERS[0]} = {IDENTIFIERS[1]}(" + ", ".join(
    f"{key}={value}" for key, value in zip(IDENTIFIERS[2::2], IDENTIFIERS[3::2])) + ")")
TABLE_COLUMNS = ["epoch", "training loss", "test accuracy"]
TABLE_ROWS = [(1, "0.4123", "91.20%"), (2, "0.2051", "94.75%")]
LONG_CELL_LINES = [f"step_{number:02d} = step_{max(number - 1, 0):02d} + {number}" for number in range(70)]


def tqdm_outputs(seconds: int = 6, per_second: int = 10) -> list:
    """A tqdm loop of `seconds` as nbclient saves it: each redraw its own stderr output, then the
    newline of the bar's close, then what the cell printed."""
    steps = seconds * per_second
    redraws = [new_output("stream", name="stderr",
                          text="\r" + tqdm.format_meter(n, steps, n / per_second, prefix="training"))
               for n in range(steps + 1)]
    return redraws + [new_output("stream", name="stderr", text="\n"),
                      new_output("stream", name="stdout", text="trained\n")]


def progress_table_notebook() -> nbformat.NotebookNode:
    return new_notebook(cells=[
        new_markdown_cell("# Progress, wrapping and tables\n\nA cell whose progress bar redrew 60 times."),
        new_code_cell("for step in tqdm(range(60), desc='training'):\n    time.sleep(0.1)\nprint('trained')",
                      execution_count=1, outputs=tqdm_outputs()),
        new_code_cell(IDENTIFIER_LINE, execution_count=2),
        new_code_cell("print_history('MLP', settings, history)", execution_count=3, outputs=[
            new_output("stream", name="stdout", text="MLP: lr=0.1\n"),
            # what utils.show_table displays (tests/test_utils.py checks that it does)
            new_output("display_data", data={"text/markdown": TABLE_MARKDOWN, "text/plain": TABLE_MARKDOWN})]),
        new_markdown_cell("A long cell follows: it starts on this page and continues on the next.\n\n"
                          + "Some words to fill the page. " * 25),
        new_code_cell("\n".join(LONG_CELL_LINES), execution_count=4),
    ])


TABLE_MARKDOWN = "| epoch | training loss | test accuracy |\n| ---: | ---: | ---: |\n" + "\n".join(
    "| " + " | ".join(map(str, row)) + " |" for row in TABLE_ROWS)


@pytest.fixture(scope="module")
def progress_pdf(tmp_path_factory):
    """The notebook above exported once; every page kept as tests/artifacts/progress_page-N.png."""
    folder = tmp_path_factory.mktemp("progress")
    result = export_pdf(write(progress_table_notebook(), folder / "progress.ipynb"))
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("progress_page*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(result.pdf), str(ARTIFACTS / "progress_page")], check=True)
    pages = subprocess.run(["pdfinfo", str(result.pdf)], check=True, capture_output=True, text=True).stdout
    count = int(re.search(r"Pages:\s+(\d+)", pages).group(1))
    return result, [pdf_text(result.pdf, "-layout", "-f", str(n), "-l", str(n)) for n in range(1, count + 1)]


def test_a_progress_bar_exports_as_its_final_line(progress_pdf):
    result, pages = progress_pdf
    text = "\n".join(pages)
    assert result.warnings == ()
    bars = [line for line in text.splitlines() if "training:" in line]
    assert len(bars) == 1 and "60/60" in bars[0] and "100%" in bars[0]
    assert "trained" in text
    assert len(list(ARTIFACTS.glob("progress_page*.png"))) == len(pages)


def test_a_long_line_wraps_between_tokens_with_a_mark(progress_pdf):
    _, pages = progress_pdf
    text = "\n".join(pages)
    assert len(IDENTIFIER_LINE) >= 200
    words = re.findall(r"\w+", text)
    for identifier in IDENTIFIERS:
        assert identifier in words, f"{identifier} was cut"
    start = text.index(IDENTIFIERS[0])
    wrapped = text[start:text.index(IDENTIFIERS[-1], start) + len(IDENTIFIERS[-1])]
    assert wrapped.count("\n") >= 2 and wrapped.count("\u21aa") == wrapped.count("\n")
    assert squeeze(wrapped.replace("\u21aa", "")) == squeeze(IDENTIFIER_LINE)[:len(squeeze(wrapped.replace("\u21aa", "")))]


def test_a_markdown_table_display_is_a_table(progress_pdf):
    _, pages = progress_pdf
    text = "\n".join(pages)
    assert "---:" not in text and "| epoch" not in text
    assert re.search(r"epoch\s+training loss\s+test accuracy", text)
    assert re.search(r"2\s+0\.2051\s+94\.75%", text)


def test_a_long_cell_breaks_across_pages(progress_pdf):
    _, pages = progress_pdf
    first = next(n for n, page in enumerate(pages) if LONG_CELL_LINES[0].split(" =")[0] in page)
    last = next(n for n, page in enumerate(pages) if LONG_CELL_LINES[-1].split(" =")[0] in page)
    assert "A long cell follows" in pages[first] and last == first + 1
