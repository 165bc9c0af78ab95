"""docs/authoring.md: its grading.toml reference is what the schema renders now, its snippets are
real, and its worked example, added to the tiny course as the guide says, grades as the guide says."""
import copy
import re
import tomllib

import nbformat
import nbformat.v4 as v4
import pytest

from autograder.grading import grade, marks

from autograder import paths
from autograder.grading.config import ConfigError, load_config
from autograder.analysis.extract import extract
from autograder.grading.names import required_name_problems
from autograder.grading.probes import load_probes
from autograder.analysis.rules import check_rules
from autograder.sandbox import Limits, Zygote
from autograder.grading.schema_doc import BEGIN, END, DOCUMENT, reference, with_reference
from tiny_course import ASSIGNMENT, GRADING_TOML, make_course, nbgrader_cell, tiny_notebook

GUIDE = DOCUMENT.read_text(encoding="utf-8")
FENCE = re.compile(r"```(\w+)\n(.*?)```", re.S)
# A worked-example snippet: the comment says where it goes, the fence's language what it is.
EXAMPLE = re.compile(r"<!-- worked example: (.+?) -->\n```(\w+)\n(.*?)```", re.S)
CELL_TYPES = {"Read-only": {"locked": True}, "Autograded answer": {"solution": True},
              "Autograded tests": {"grade": True, "locked": True}}
TEXTBOOK_SIGMOID = "def sigmoid(x):\n    return 1 / (1 + math.exp(-x))"


def snippets(language: str) -> list[str]:
    return [body for fence_language, body in FENCE.findall(GUIDE) if fence_language == language]


# ---- the generated reference ----------------------------------------------------------------------

def test_the_reference_is_what_the_schema_renders_now():
    assert with_reference(GUIDE) == GUIDE, "docs/authoring.md is stale: run `python -m autograder.grading.schema_doc`"


def test_the_reference_shows_each_key_with_its_type_default_and_meaning():
    rows = reference().splitlines()
    assert "| `memory_mb` | a positive number, rounded up to a whole number | `3072` | Memory (address space) the run " \
           "may use beyond what the preloaded modules take, in MB. |" in rows
    assert "| `title` | a non-empty string | the id | What the reports call the question. |" in rows
    assert "| `probes` | a file path, relative to grading.toml's folder | required | The hidden probes, which " \
           "grade. Never released. |" in rows


def test_rewriting_needs_both_markers():
    assert with_reference(f"intro\n{BEGIN}\nold\n{END}\nrest") == f"intro\n{BEGIN}\n{reference()}\n{END}\nrest"
    with pytest.raises(ValueError, match="lacks the marker lines"):
        with_reference(f"intro\n{BEGIN}\nold")


# ---- every snippet is real ------------------------------------------------------------------------

@pytest.mark.parametrize("snippet", snippets("python"))
def test_python_snippets_compile(snippet):
    compile(snippet, "snippet", "exec")


@pytest.mark.parametrize("snippet", [s for s in snippets("python") if "@probe(" in s])
def test_probe_snippets_load_as_the_grader_loads_them(tmp_path, snippet):
    (tmp_path / "probes.py").write_text(snippet)
    assert load_probes(tmp_path / "probes.py")


@pytest.mark.parametrize("snippet", snippets("toml"))
def test_toml_snippets_parse(snippet):
    assert tomllib.loads(snippet)


def test_the_error_shown_is_the_one_load_config_gives(tmp_path):
    (shown,) = snippets("text")
    make_course(tmp_path)
    (paths.assignment_dir(ASSIGNMENT, tmp_path) / "grading.toml").write_text(
        GRADING_TOML.replace("points = 1", 'points = "3"'))
    with pytest.raises(ConfigError) as raised:
        load_config(ASSIGNMENT, tmp_path)
    assert str(raised.value).endswith(shown.strip())


# ---- the worked example ---------------------------------------------------------------------------

def notebook_cell(where: str, language: str, text: str):
    """A cell of the kind `where` names: "notebook cell, <nbgrader cell type>[, <n> points, grade id <id>]"."""
    _, cell_type, *details = where.split(", ")
    points = next((int(detail.split()[0]) for detail in details if detail.endswith(" points")), None)
    grade_id = next((detail.removeprefix("grade id ") for detail in details if detail.startswith("grade id ")),
                    re.sub(r"\W+", "_", cell_type.lower()))
    cell = v4.new_markdown_cell(text) if language == "markdown" else v4.new_code_cell(text.rstrip("\n"))
    return nbgrader_cell(cell, grade_id, points=points, **CELL_TYPES[cell_type])


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The tiny course with the worked example added: notebook cells at the end, the rest appended
    to the files it names."""
    examples = EXAMPLE.findall(GUIDE)
    nb = tiny_notebook()
    nb.cells += [notebook_cell(*example) for example in examples if example[0].startswith("notebook cell")]
    root = make_course(tmp_path_factory.mktemp("course"), notebook=nb)
    for where, _, text in examples:
        if where.startswith("add to "):
            file = paths.assignment_dir(ASSIGNMENT, root) / where.removeprefix("add to ")
            file.write_text(f"{file.read_text()}\n\n{text}")
    return root


@pytest.fixture(scope="module")
def zygote():
    with Zygote(Limits(wall_seconds=30, cpu_seconds=30, memory_mb=1024), preload=()) as running:
        yield running


def test_the_example_has_every_part():
    assert sorted(where for where, _, _ in EXAMPLE.findall(GUIDE)) == [
        "add to checks.py", "add to grading.toml", "add to probes.py", "notebook cell, Autograded answer",
        "notebook cell, Autograded tests, 3 points, grade id Q3", "notebook cell, Read-only"]


def test_the_example_loads_and_its_notebook_follows_the_rules(course):
    config = load_config(ASSIGNMENT, course)
    assert [(q.id, q.points, q.manual) for q in config.questions][-1] == ("Q3", 3, False)
    assert [spec.name for spec in config.probes_of("Q3")] == ["sigmoid_of_ordinary_numbers", "sigmoid_of_large_numbers"]
    assert [spec.name for spec in config.visible_checks().probes_of("Q3")] == ["sigmoid_of_small_numbers"]
    nb = source_notebook(course)
    assert marks.problems(config, nb) == []  # the new tests cell belongs to Q3 and carries its points
    assert check_rules(nb, list(config.allowed_imports)) == []
    assert required_name_problems(extract(nb), nb, config.names) == []


def source_notebook(course):
    return nbformat.read(paths.source_notebook(ASSIGNMENT, course), as_version=4)


def graded_q3(config, nb, zygote):
    """(points, messages) of Q3 for `nb`, graded by the probes of `config` against the reference."""
    seed = grade.batch_seed(ASSIGNMENT)
    reference = grade.run_reference(config, zygote, seed)
    result = grade.grade_notebook(nb, extract(nb), config, zygote, reference, seed)
    (q3,) = [question for question in result.questions if question.id == "Q3"]
    return q3.points, [probe.message for probe in q3.probes if probe.message]


def textbook_submission(course):
    nb = copy.deepcopy(source_notebook(course))
    (answer,) = [cell for cell in nb.cells if cell.source.startswith("def sigmoid")]
    answer.source = TEXTBOOK_SIGMOID
    return nb


def test_the_example_grades_as_the_guide_says(course, zygote):
    config = load_config(ASSIGNMENT, course)
    assert graded_q3(config, source_notebook(course), zygote) == (3, [])
    points, messages = graded_q3(config, textbook_submission(course), zygote)
    assert points == 1 and len(messages) == 1
    assert messages[0].startswith("your code raised OverflowError")
    assert messages[0].endswith("sigmoid must work for large positive and negative x: e^1000 overflows a float.")
    assert graded_q3(config.visible_checks(), textbook_submission(course), zygote) == (3, [])
