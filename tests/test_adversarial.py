"""The adversarial corpus (tests/adversarial/) graded by the real grader: every attack gets exactly
the grade the design says, nothing secret reaches a report, feedback cannot be forged, and the
batch survives everything. Many of these fail on a grader that trusts its child; see
tests/adversarial/README.md for each attack and the grade it must get.

A canary is planted before the zygote starts: in the grader's environment, in a secret file in the
course repository and in an old grading output inside it. No report may contain it, nor any text of
the hidden probes or of the reference solution.
"""
import hashlib
import os
import re
import secrets
import shutil
import tracemalloc
from pathlib import Path

import nbformat
import pytest
from adversarial import corpus
from archives import zip_of
from corpus_grading import grade_corpus

from autograder import paths
from autograder.analysis import notebook
from autograder.grading import grade
from autograder.verbs import report

pytestmark = pytest.mark.adversarial

CANARY = f"ADVERSARIAL_CANARY_{secrets.token_hex(8)}"
SECRET_FILES = (paths.REPO_ROOT / "grader-secret-canary.txt",
                paths.REPO_ROOT / "out" / "adversarial-previous-batch" / "results" / "someone.json")
# Text only the hidden probes and the reference notebooks hold.
# (Not `def batchnorm_matches_reference`, which autograder/grading/probes.py quotes in its docstring, nor
# `def mlp_parameter_count`, which the visible checks also define.)
HIDDEN_TEXT = ("def batchnorm_handles_degenerate_batches(module, rng)", "def nets_learn(module, rng)",
               "Model answer.** The raw batch",
               "def weight_decay_pulls_weights_to_zero(module, rng)", "Model answer.* Learning rate 0.1")
ESCAPE_PLACES = (paths.REPO_ROOT, paths.REPO_ROOT / "autograder", Path("/var/tmp"), Path("/tmp"), Path("/dev/shm"))


def leaked_secrets(text: str) -> list[str]:
    """The canary and the hidden texts (of either assignment) that `text` holds."""
    return [secret for secret in (CANARY, *HIDDEN_TEXT) if secret in text]


def package_digest() -> str:
    files = sorted((paths.REPO_ROOT / "autograder").glob("*.py"))
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()


# ---- fixtures ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def planted():
    """The canary in the environment and in secret files of the repository, for the whole module."""
    os.environ["GRADER_CANARY"] = CANARY
    for file in SECRET_FILES:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(f'{{"secret": "{CANARY}"}}\n', encoding="utf-8")
    for place in ESCAPE_PLACES:
        (place / corpus.ESCAPE_MARKER).unlink(missing_ok=True)
    yield package_digest()
    os.environ.pop("GRADER_CANARY", None)
    SECRET_FILES[0].unlink(missing_ok=True)
    shutil.rmtree(SECRET_FILES[1].parents[1], ignore_errors=True)
    if not any(SECRET_FILES[1].parents[2].iterdir()):
        SECRET_FILES[1].parents[2].rmdir()


@pytest.fixture(scope="module")
def zygote(planted, course_zygote):
    return course_zygote


def grade_folder(assignment: str, submissions: Path, out: Path, zygote) -> grade.ClassResult:
    return grade_corpus(assignment, submissions, out, zygote, force=True)


@pytest.fixture(scope="module")
def graded(zygote, tmp_path_factory):
    """{assignment: (ClassResult, output folder)}: each assignment's corpus graded as one batch."""
    batches = {}
    for assignment in corpus.ASSIGNMENTS:
        submissions = tmp_path_factory.mktemp(f"corpus-{assignment}")
        for attack in corpus.of(assignment):
            attack.write(submissions)
        out = tmp_path_factory.mktemp(f"graded-{assignment}")
        batches[assignment] = (grade_folder(assignment, submissions, out, zygote), out)
    return batches


def student(graded, attack) -> grade.StudentResult:
    result, _ = graded[attack.assignment]
    return next(s for s in result.students if s.student == attack.student)


def reports_of(graded, attack) -> dict[str, str]:
    """Every report file the grader wrote about this student, by path."""
    _, out = graded[attack.assignment]
    files = [out / "results" / f"{attack.student}.json", out / "feedback" / f"{attack.student}.md",
             out / "feedback" / f"{attack.student}.html", out / "gradescope" / attack.student / "results.json"]
    return {str(f.relative_to(out)): f.read_text(encoding="utf-8") for f in files}


ATTACK_IDS = [f"{a.assignment}/{a.student}" for a in corpus.ATTACKS]


# ---- the grades --------------------------------------------------------------------------------------

def test_the_corpus_is_large_and_covers_every_attack_class():
    assert len(corpus.ATTACKS) >= 40
    assert {a.assignment for a in corpus.ATTACKS} == set(corpus.ASSIGNMENTS)
    assert {a.kind for a in corpus.ATTACKS} >= {
        "result-pipe forging", "forging from finalisers and threads", "probe replacement", "fake layers and tensors",
        "reading secrets", "exfiltration", "process attacks", "control"}


def test_every_student_gets_a_row(graded):
    for assignment, (result, _) in graded.items():
        assert sorted(s.student for s in result.students) == sorted(a.student for a in corpus.of(assignment))


# A mistake behind an attack loses the points of these probes, and of no other.
FAILING_PROBES = {
    "h_detached_statistics_on_correct": {"batchnorm_passes_gradients"},
    "m_noise_instead_of_dropout_on_correct": {"dropout_zeroes_units_in_training"},
    "m_lenient_weight_decay_on_correct": {"weight_decay_pulls_weights_to_zero"},
}


@pytest.mark.parametrize("name", sorted(FAILING_PROBES))
def test_a_mistake_behind_an_attack_fails_exactly_the_probes_meant_for_it(graded, name):
    attack = next(a for a in corpus.ATTACKS if a.student == name)
    failed = {p.name for q in student(graded, attack).questions for p in q.probes if p.points < p.max_points}
    assert failed == FAILING_PROBES[name]


@pytest.mark.parametrize("attack", corpus.ATTACKS, ids=ATTACK_IDS)
def test_each_attack_gets_its_grade(graded, attack):
    result = student(graded, attack)
    assert attack.expected.allows(result.status_text, result.total), (
        f"{attack.student}: got {result.status_text}, {result.total:g}; expected {attack.expected.describe()}")


# ---- nothing secret in any report --------------------------------------------------------------------

@pytest.mark.parametrize("attack", corpus.ATTACKS, ids=ATTACK_IDS)
def test_no_report_holds_a_secret(graded, attack):
    leaks = {path: leaked_secrets(text) for path, text in reports_of(graded, attack).items()}
    assert {path: found for path, found in leaks.items() if found} == {}


def test_no_report_file_of_a_batch_holds_a_secret(graded):
    for _, out in graded.values():
        for file in out.rglob("*"):
            if file.is_file() and "unpacked" not in file.parts:
                assert leaked_secrets(file.read_text(encoding="utf-8", errors="replace")) == [], file


# ---- feedback cannot be forged -----------------------------------------------------------------------

SCORE_LINE = re.compile(r"^[ \t#>*_-]*Autograded score", re.MULTILINE)
MARKDOWN_IMAGE_OR_LINK = re.compile(r"(?<!\\)\[[^\]\n]*(?<!\\)\]\((?:https?|javascript):", re.IGNORECASE)
CODE_SPAN = re.compile(r"(`+).*?\1", re.DOTALL)  # what is inside one is shown as text
HTML_ACTIVE = re.compile(r"<(?:img|script|iframe)\b|<a\s[^>]*href\s*=\s*[\"']?(?:javascript|https?):", re.IGNORECASE)


@pytest.mark.parametrize("attack", corpus.ATTACKS, ids=ATTACK_IDS)
def test_feedback_shows_one_score_and_no_active_content(graded, attack):
    reports = reports_of(graded, attack)
    markdown, page = reports[f"feedback/{attack.student}.md"], reports[f"feedback/{attack.student}.html"]
    result = student(graded, attack)
    assert SCORE_LINE.findall(markdown) == ["Autograded score"]
    assert f"Autograded score: {report.points(result.total)} / " in markdown
    assert MARKDOWN_IMAGE_OR_LINK.findall(CODE_SPAN.sub("", markdown)) == []
    assert HTML_ACTIVE.findall(page.split("<body>", 1)[1]) == []


# ---- the machine is left alone -----------------------------------------------------------------------

def test_nothing_is_written_outside_the_private_tmp(graded, planted):
    assert [str(p) for p in ESCAPE_PLACES if (p / corpus.ESCAPE_MARKER).exists()] == []
    assert package_digest() == planted, "a submission changed the autograder package"


def test_the_zygote_survives_the_corpus(graded, zygote, tmp_path):
    """After every attack, the shared zygote still grades a correct submission with full marks."""
    submissions = tmp_path / "after"
    submissions.mkdir()
    shutil.copy(corpus.CORRECT[corpus.HOPFIELD], submissions / "control.ipynb")
    result = grade_folder(corpus.HOPFIELD, submissions, tmp_path / "out", zygote)
    assert [(s.student, s.status_text, s.total) for s in result.students] == [("control", "ok", 9)]


# ---- ingestion ---------------------------------------------------------------------------------------

HOPFIELD = corpus.HOPFIELD
STUBS_NOTEBOOK = paths.release_notebook(HOPFIELD)
CORRECT_NOTEBOOK = corpus.CORRECT[HOPFIELD]
MOODLE = "{name}_{number}_assignsubmission_file_"


def rows(result) -> dict[str, tuple[str, float]]:
    return {s.student: (s.status_text, s.total) for s in result.students}


def test_a_file_named_after_a_classmate_is_graded_as_its_sender(zygote, tmp_path):
    """Mallory (67890) names her file after Alice (12345), who did not hand in: the row is Mallory's."""
    mallory = MOODLE.format(name="Mallory Jones", number=67890)
    alice = MOODLE.format(name="Alice Smith", number=12345)
    archive = zip_of(tmp_path / "moodle.zip", {
        f"{mallory}/{alice}{HOPFIELD}.ipynb": CORRECT_NOTEBOOK,
        f"{MOODLE.format(name='Bob Brown', number=11111)}/{HOPFIELD}.ipynb": STUBS_NOTEBOOK})
    found = rows(grade_folder(HOPFIELD, archive, tmp_path / "out", zygote))
    assert [s for s in found if "12345" in s] == []
    assert [found[s] for s in found if "67890" in s] == [("ok", 9)]
    assert [found[s][1] for s in found if "11111" in s] == [0]


def test_a_spoofed_name_does_not_displace_the_classmate(zygote, tmp_path):
    """Alice hands in correct work; Mallory hands in the stubs under a name made of Alice's: two rows,
    each with its own work, and the batch is not refused."""
    mallory = MOODLE.format(name="Mallory Jones", number=67890)
    alice = MOODLE.format(name="Alice Smith", number=12345)
    archive = zip_of(tmp_path / "moodle.zip", {f"{alice}/{HOPFIELD}.ipynb": CORRECT_NOTEBOOK,
                                                   f"{mallory}/{alice}{HOPFIELD}.ipynb": STUBS_NOTEBOOK})
    found = rows(grade_folder(HOPFIELD, archive, tmp_path / "out", zygote))
    assert len(found) == 2
    assert [found[s] for s in found if "12345" in s and "67890" not in s] == [("ok", 9)]
    assert [found[s][1] for s in found if "67890" in s] == [0]


def test_two_notebooks_with_one_id_each_get_a_row(zygote, tmp_path):
    """`jsmith.ipynb` and `hopfield_batchnorm_jsmith.ipynb` both mean jsmith: neither is dropped
    and the rest of the class is graded."""
    submissions = tmp_path / "in"
    submissions.mkdir()
    shutil.copy(CORRECT_NOTEBOOK, submissions / "jsmith.ipynb")
    shutil.copy(STUBS_NOTEBOOK, submissions / f"{HOPFIELD}_jsmith.ipynb")
    shutil.copy(CORRECT_NOTEBOOK, submissions / "control.ipynb")
    result = grade_folder(HOPFIELD, submissions, tmp_path / "out", zygote)
    assert rows(result)["control"] == ("ok", 9)
    for name in ("jsmith.ipynb", f"{HOPFIELD}_jsmith.ipynb"):
        assert [s.student for s in result.students if name in s.notebook] != [], name


@pytest.fixture(scope="module")
def odd_files(zygote, tmp_path_factory):
    """A folder with a symlink to the reference notebook, a hidden notebook, a deeply nested parse bomb
    and an honest control, graded as one batch."""
    submissions = tmp_path_factory.mktemp("odd-files")
    (submissions / "eve_symlink.ipynb").symlink_to(paths.source_notebook(HOPFIELD))
    shutil.copy(CORRECT_NOTEBOOK, submissions / ".mallory_hidden.ipynb")
    (submissions / "nesting_bomb.ipynb").write_text("[" * 200_000 + "]" * 200_000)
    (submissions / "empty_list_bomb.ipynb").write_text(empty_list_bomb(300_000))
    shutil.copy(CORRECT_NOTEBOOK, submissions / "control.ipynb")
    out = tmp_path_factory.mktemp("odd-files-out")
    return grade_folder(HOPFIELD, submissions, out, zygote), out


def empty_list_bomb(count: int) -> str:
    """The stubs with `count` empty lists in a cell's metadata: small on disk, large in memory."""
    nb = nbformat.read(STUBS_NOTEBOOK, as_version=4)
    text = nbformat.writes(nb)
    return text.replace('"metadata": {', '"metadata": {"bomb": [' + ",".join(["[]"] * count) + '], ', 1)


def test_a_symlink_to_the_reference_is_not_followed(odd_files):
    result, out = odd_files
    assert rows(result)["eve_symlink"] == ("unreadable notebook", 0)
    assert leaked_secrets((out / "feedback" / "eve_symlink.md").read_text()) == []


def test_a_hidden_notebook_gets_a_row(odd_files):
    """Judgement: a dot-file notebook is graded or reported, never silently skipped."""
    result, _ = odd_files
    assert [s for s in result.students if Path(s.notebook).name == ".mallory_hidden.ipynb"] != []


def test_parse_bombs_are_refused_and_the_batch_goes_on(odd_files):
    found = rows(odd_files[0])
    assert found["nesting_bomb"] == ("unreadable notebook", 0)
    assert found["empty_list_bomb"][1] == 0
    assert found["control"] == ("ok", 9)


def test_reading_a_parse_bomb_uses_bounded_memory(tmp_path, monkeypatch):
    """Half a million empty lists (1.5 MB on disk) would take about 60 MB to parse: with the parse
    limit lowered below that, the reader refuses it before parsing (an unreadable notebook), while
    using a few times its size."""
    monkeypatch.setattr(notebook, "MAX_PARSE_BYTES", 16 * 2**20)
    bomb = tmp_path / "bomb.ipynb"
    bomb.write_text(empty_list_bomb(500_000))
    tracemalloc.start()
    try:
        refused = False
        try:
            notebook.read_notebook(bomb, keep_outputs=False)
        except notebook.NotebookError:
            refused = True
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = bomb.stat().st_size
    assert (refused, peak < 8 * size) == (True, True), f"{peak / 2**20:.0f} MB to read {size / 2**20:.0f} MB"


def test_the_readme_lists_every_attack():
    readme = (Path(__file__).parent / "adversarial" / "README.md").read_text(encoding="utf-8")
    assert [a.student for a in corpus.ATTACKS if f"`{a.student}`" not in readme] == []
