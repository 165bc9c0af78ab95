"""The repository documents itself (no tracked file cites a document or path outside it), and the
engine keeps to its layers.

The course team's notes live outside the repository; docs/ replaces them. A tracked file may name a
system location that code reads data from (Debian's data sets under /usr/share), but never the
team's folder beside the checkout, their design document, or an absolute path on the machines the
kit was built on. Markdown links stay inside the repository.
"""
import ast
import re
import subprocess
from pathlib import Path, PurePosixPath

import pytest

REPO = Path(__file__).resolve().parents[1]

# Each pattern is written so that this file's own text does not match it.
FORBIDDEN = {
    "the team's folder beside the checkout": re.compile(r"\.\./+shared\b"),
    "an absolute path on the build machines": re.compile(r"(?<![\w.~-])/(?:work|root)/"),
}
DESIGN_DOCUMENT = re.compile(r"\bDESIGN\.md\b")  # the team's notes; docs/ may say what replaced them
MARKDOWN_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL_LINK = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|#)", re.IGNORECASE)


def tracked_files() -> list[str]:
    try:
        listing = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [name for name in listing.stdout.decode("utf-8").split("\0") if name]


def text_of(name: str) -> str | None:
    """The file's text, or None for a binary file (one with a NUL byte, as git judges) or a
    tracked file deleted from the working tree."""
    path = REPO / name
    if not path.is_file():
        return None
    data = path.read_bytes()
    if b"\0" in data[:8000]:
        return None
    return data.decode("utf-8", errors="replace")  # some sample notebooks are cp1252 on purpose


def citations(name: str, text: str) -> list[str]:
    """'path:line: what' for each line of ``text`` that cites something outside the repository."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for what, pattern in FORBIDDEN.items():
            if pattern.search(line):
                found.append(f"{name}:{number}: {what}: {line.strip()[:160]}")
        if not name.startswith("docs/") and DESIGN_DOCUMENT.search(line):
            found.append(f"{name}:{number}: the team's design notes (docs/ replaces them): {line.strip()[:160]}")
    return found


def test_the_scan_sees_text_and_skips_binaries():
    names = tracked_files()
    texts = {name: text_of(name) for name in names}
    assert texts["README.md"] is not None and texts["autograder/verbs/export.py"] is not None
    assert texts["nn_course_kit/data/fixtures/mnist/t10k-images-idx3-ubyte.gz"] is None
    # Every notebook is scanned, the generated release notebooks included.
    assert all(texts[name] is not None for name in names if name.endswith(".ipynb"))


@pytest.mark.parametrize(
    ("line", "cited"),
    [
        ("The architecture is in [the notes](" + "../" + "shared/DESIGN" + ".md).", True),
        ("see " + "DESIGN" + ".md, Layout", True),
        ('default = "' + "/wo" + 'rk/shared/data/mnist"', True),
        ("measured in file://" + "/ro" + "ot/notes/pdf-routes.md", True),
        ("Debian installs it in /usr/share/datasets/fashion-mnist/", False),
        ("the child sees no /home, /root or /run", False),
        ("a relative path: tests/work/x.py and ../escaped.ipynb", False),
    ],
)
def test_the_scan_recognises_outside_citations(line, cited):
    assert bool(citations("autograder/example.py", line)) is cited


def test_no_tracked_file_cites_a_path_outside_the_repository():
    found = []
    for name in tracked_files():
        text = text_of(name)
        if text is not None:
            found += citations(name, text)
    assert found == [], "cite these inside the repository (docs/) instead:\n" + "\n".join(found)


def outside_links(name: str, text: str) -> list[str]:
    """The targets of Markdown links in ``text`` (the file ``name``) that leave the repository."""
    outside = []
    for target in MARKDOWN_LINK.findall(text):
        if EXTERNAL_LINK.match(target):
            continue  # a web address or an anchor in the same page
        path = PurePosixPath(target.split("#", 1)[0])
        resolved = (REPO / PurePosixPath(name).parent / path).resolve()
        if path.is_absolute() or not resolved.is_relative_to(REPO):
            outside.append(f"{name}: {target}")
    return outside


@pytest.mark.parametrize(
    ("name", "text", "leaves"),
    [
        ("README.md", "[`DESIGN`](" + "../" + "shared/notes.md)", True),
        ("README.md", "[notes](" + "/wo" + "rk/notes.md)", True),
        ("docs/pdf.md", "[up](../../README.md)", True),
        ("docs/pdf.md", "[readme](../README.md), [env](#environment-variables)", False),
        ("README.md", "[pdf](docs/pdf.md#speed), [site](https://jupyter.org/)", False),
    ],
)
def test_the_link_check_recognises_links_that_leave(name, text, leaves):
    assert bool(outside_links(name, text)) is leaves


def test_markdown_links_stay_inside_the_repository():
    outside = []
    for name in tracked_files():
        if name.endswith(".md"):
            outside += outside_links(name, text_of(name) or "")
    assert outside == []


# ---- the engine's layers ----------------------------------------------------------------------

LAYERS = ("analysis", "sandbox", "grading", "verbs")  # bottom up; cli and __main__ sit above them all
UPWARD_IMPORTS_ALLOWED = {("sandbox/child.py", "autograder.grading.probes")}  # docs/architecture.md


def _layer(module: str) -> int:
    """The rank of a dotted autograder module: -1 for the shared `errors`/`paths`, then LAYERS, then the CLI."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return -1 if len(parts) > 1 and parts[1] in ("errors", "paths") else len(LAYERS)


def _imports(path: Path) -> set[str]:
    """The autograder modules `path` imports (`from autograder.x import y` counts y when it is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("autograder")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("autograder"):
            found |= {f"{node.module}.{alias.name}" if node.module.count(".") < 1 else node.module
                      for alias in node.names}
    return found


def test_every_engine_module_imports_only_its_own_layer_and_those_below():
    engine = REPO / "autograder"
    upward = []
    for path in sorted(engine.rglob("*.py")):
        relative = path.relative_to(engine).as_posix()
        own = _layer("autograder." + relative.removesuffix(".py").replace("/", "."))
        upward += [(relative, module) for module in _imports(path)
                   if _layer(module) > own and (relative, module) not in UPWARD_IMPORTS_ALLOWED]
    assert upward == []


def test_the_layer_rule_sees_an_upward_import():
    assert _layer("autograder.grading.probes") > _layer("autograder.analysis.extract")
    assert _layer("autograder.cli") > _layer("autograder.verbs.check") > _layer("autograder.paths")
