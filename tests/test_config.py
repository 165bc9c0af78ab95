"""grading.toml: the toy assignment loads, and every kind of mistake names the file and the key."""
import dataclasses
import re

import pytest

from autograder.grading.config import ConfigError, config_file, load_config
from autograder.sandbox import Limits
from autograder.grading.schema import LimitsTable
from toy_submissions import TOY, copy_toy


@pytest.fixture
def toy(tmp_path):
    return copy_toy(tmp_path)


def edit(folder, old, new, file="grading.toml"):
    path = folder / file
    text = path.read_text()
    assert old in text, f"{old!r} is not in {file}"
    path.write_text(text.replace(old, new, 1))


def test_toy_config_loads():
    config = load_config(TOY)
    assert config.assignment == "toy" and config.title == "Toy assignment"
    assert [(q.id, q.points, q.manual) for q in config.questions] == [("Q1", 2, False), ("Q2", 3, False),
                                                                        ("Q3", 2, True)]
    assert [q.id for q in config.autograded_questions] == ["Q1", "Q2"]
    assert [q.id for q in config.manual_questions] == ["Q3"] and config.max_autograded == 5
    assert [(n.name, n.kind, n.question, n.signature) for n in config.names] == [
        ("add", "function", "Q1", "(a, b)"), ("Counter", "class", "Q2", "(start=0)")]
    assert config.limits == Limits(wall_seconds=3, cpu_seconds=3, memory_mb=512, processes=8, file_size_mb=4)
    assert [s.name for s in config.probes_of("Q1")] == ["add_integers", "add_floats"]
    assert config.source_path == (TOY / "toy.ipynb").resolve()
    assert config.allowed_imports == ("math",) and config.checks_path is None


def test_assignment_name_finds_the_course_files(tmp_path, toy):
    course = tmp_path / "course"
    (course / "assignments").mkdir(parents=True)
    folder = toy.rename(course / "assignments" / "toy")
    edit(folder, 'source = "toy.ipynb"\n', "")
    with pytest.raises(ConfigError, match=re.escape(f"source: {course / 'source' / 'toy' / 'toy.ipynb'} does not exist")):
        load_config("toy", root=course)
    (course / "source" / "toy").mkdir(parents=True)
    (folder / "toy.ipynb").rename(course / "source" / "toy" / "toy.ipynb")
    assert config_file("toy", course) == folder / "grading.toml"
    assert load_config("toy", root=course).source_path == course / "source" / "toy" / "toy.ipynb"


def test_digest_follows_the_probes(toy):
    before = load_config(toy).digest()
    edit(toy, "rtol=1e-12", "rtol=1e-11", file="probes.py")
    assert load_config(toy).digest() != before


def test_probe_source_follows_the_probes_file(toy):
    config = load_config(toy)
    assert config.probe_source == (toy / "probes.py").read_text()
    other = toy / "checks.py"
    other.write_text("from autograder.grading.probes import probe, equal\n")
    swapped = dataclasses.replace(config, probes_path=other, probes=config.probes[:1])
    assert swapped.probe_source == other.read_text()  # as `autograder check` swaps in its checks file


def test_student_side_loading_needs_no_probes_file(toy):
    (toy / "probes.py").unlink()
    with pytest.raises(ConfigError, match="probes: .*probes.py does not exist"):
        load_config(toy)
    config = load_config(toy, probes=False)
    assert config.probes == () and [n.name for n in config.names] == ["add", "Counter"]


MISTAKES = [
    # (old text, new text, the key path, what is wrong): the message is "<file>: <key path>: <problem>"
    ('title = "Toy assignment"', 'title = "Toy assignment"\ntitel = "typo"', "top level",
     "unknown key 'titel' (known: assignment, title, probes, checks, source, allowed_imports, limits, "
     "sandbox, questions, names)"),
    ('title = "Counter"', 'titel = "Counter"', "questions[2]",
     "unknown key 'titel' (known: id, title, points, manual, cells)"),
    ('wall_seconds = 3', 'wall_time = 3', "limits",
     "unknown key 'wall_time' (known: wall_seconds, cpu_seconds, memory_mb, processes, file_size_mb)"),
    ('id = "Q2"', 'id = "Q1"', "questions[2].id", "duplicate question id 'Q1'"),
    ('points = 3', 'points = -3', "questions[2].points", "must be a positive number, not -3"),
    ('points = 3', 'points = "3"', "questions[2].points", "must be a positive number, not '3'"),
    ('points = 3', 'points = inf', "questions[2].points", "must be a positive number, not inf"),
    ('points = 3', '', "questions[2].points", "is required"),
    ('manual = true', 'manual = "yes"', "questions[3].manual", "must be true or false, not 'yes'"),
    ('manual = true', 'manual = true\ncells = []', "questions[3].cells", "must be a list of nbgrader cell ids, not []"),
    ('manual = true', 'manual = true\ncells = "q3"', "questions[3].cells",
     "must be a list of nbgrader cell ids, not 'q3'"),
    ('question = "Q1"', 'question = "Q9"', "names[1].question", "unknown question 'Q9' (questions: Q1, Q2, Q3)"),
    ('kind = "class"', 'kind = "module"', "names[2].kind", 'must be "class" or "function", not \'module\''),
    ('name = "add"', 'name = "add me"', "names[1].name", "must be a Python name, not 'add me'"),
    ('signature = "(a, b)"', 'signature = "(a, b"', "names[1].signature",
     'must be a Python parameter list such as "(x, eps=1e-5)", not \'(a, b\''),
    ('wall_seconds = 3', 'wall_seconds = 0', "limits.wall_seconds", "must be a positive number, not 0"),
    ('memory_mb = 512', 'memory_mb = -512', "limits.memory_mb",
     "must be a positive number, rounded up to a whole number, not -512"),
    ('[limits]', 'limits = 3\n[unused]', "limits", "must be a [limits] table, not 3"),
    ('probes = "probes.py"', 'probes = "nowhere.py"', "probes", "{folder}/nowhere.py does not exist"),
    ('probes = "probes.py"', 'probes = ["probes.py"]', "probes",
     "must be a file path, relative to grading.toml's folder, not ['probes.py']"),
    ('probes = "probes.py"', '', "probes", "is required"),
    ('source = "toy.ipynb"', 'source = "other.ipynb"', "source", "{folder}/other.ipynb does not exist"),
    ('allowed_imports = ["math"]', 'allowed_imports = "math"', "allowed_imports",
     "must be a list of module names, not 'math'"),
    ('allowed_imports = ["math"]', 'allowed_imports = ["math", 3]', "allowed_imports[2]",
     "must be a module name, not 3"),
    ('[sandbox]', '[sandbox]\nblocked_imports = "torch"', "sandbox.blocked_imports",
     "must be a list of module names, not 'torch'"),
    ('[sandbox]', '[sandbox]\nblock = ["torch"]', "sandbox",
     "unknown key 'block' (known: preload, blocked_imports)"),
    ('assignment = "toy"', 'assignment = ""', "assignment", "must be a non-empty string, not ''"),
    ('assignment = "toy"', 'assignment = "  "', "assignment", "must be a non-empty string, not '  '"),
    ('[limits]', 'limits = ["a long list", "of many items", "shown", "abbreviated", "by", "reprlib", "here"]\n[unused]',
     "limits", "must be a [limits] table, not ['a long list', 'of many items', 'shown', 'abbreviated', 'by', 'reprlib', ...]"),
    ('points = 3', 'points = 4', "probes", "the probes of question Q2 in probes.py are worth 3 points, but "
                                           "[[questions]] gives it 4"),
]


@pytest.mark.parametrize("old, new, key, problem", MISTAKES, ids=[f"{m[2]}: {m[3][:30]}" for m in MISTAKES])
def test_mistakes_name_the_file_and_the_key(toy, old, new, key, problem):
    edit(toy, old, new)
    with pytest.raises(ConfigError) as raised:
        load_config(toy)
    assert str(raised.value) == f"{toy / 'grading.toml'}: {key}: {problem.format(folder=toy)}"


def test_invalid_toml_is_a_config_error(toy):
    edit(toy, "[limits]", "[limits\n")
    with pytest.raises(ConfigError, match=re.escape(f"{toy / 'grading.toml'}: not valid TOML (")):
        load_config(toy)


def test_questions_are_required_and_not_empty(toy):
    text = (toy / "grading.toml").read_text()
    (toy / "grading.toml").write_text(text[:text.index("[[questions]]")])
    with pytest.raises(ConfigError, match=re.escape("grading.toml: questions: is required")):
        load_config(toy)
    (toy / "grading.toml").write_text("questions = []\n" + text[:text.index("[[questions]]")])
    with pytest.raises(ConfigError, match=re.escape("grading.toml: questions: must be one or more [[questions]] "
                                                    "tables, not []")):
        load_config(toy)


def test_defaults_fill_what_the_file_leaves_out(toy):
    text = (toy / "grading.toml").read_text()
    text = text.replace('title = "Toy assignment"\n', "").replace('title = "Counter"\n', "")
    text = text.replace('signature = "(a, b)"\n', "").replace("allowed_imports = [\"math\"]\n", "")
    limits = text[text.index("[limits]"):text.index("[[questions]]")]
    (toy / "grading.toml").write_text(text.replace(limits, "[limits]\nwall_seconds = 2.5\nmemory_mb = 100.2\n\n"))
    config = load_config(toy)
    assert config.title == "toy" and config.questions[1].title == "Q2" and config.names[0].signature is None
    assert config.allowed_imports == () and config.checks_path is None
    assert config.limits == Limits(wall_seconds=2.5, memory_mb=101)  # the kernel's limits are whole numbers
    (toy / "grading.toml").write_text(text.replace(limits, ""))
    assert load_config(toy).limits == Limits()


def test_the_limits_table_has_every_sandbox_limit():
    assert list(LimitsTable.model_fields) == [field.name for field in dataclasses.fields(Limits)]
    assert LimitsTable().as_limits() == Limits()


@pytest.mark.parametrize("question, words", [
    ('"Q7"', "probe counter_resets in probes.py is for question 'Q7', which is not in [[questions]]"),
    ('"Q3"', "probe counter_resets in probes.py is for question 'Q3', which is graded by hand"),
])
def test_probes_must_belong_to_autograded_questions(toy, question, words):
    edit(toy, '@probe("Q2", points=1', f'@probe({question}, points=1', file="probes.py")
    with pytest.raises(ConfigError, match=re.escape(words)):
        load_config(toy)


def test_a_broken_probes_file_is_a_config_error(toy):
    (toy / "probes.py").write_text("import numpy\nraise RuntimeError('half written')\n")
    with pytest.raises(ConfigError, match=r"probes: .* failed to load: RuntimeError: half written"):
        load_config(toy)
    (toy / "probes.py").write_text("import numpy\n")
    with pytest.raises(ConfigError, match="defines no @probe functions"):
        load_config(toy)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="grading.toml: cannot read it"):
        load_config(tmp_path)


CHECKS = """from autograder.grading.probes import equal, probe


@probe({question}, points=7, compare=equal(), hint="add(2, 3) is 5.")
def add_small_numbers(module, rng):
    return module.add(2, 3)
"""


def with_checks(toy, question: str):
    (toy / "checks.py").write_text(CHECKS.format(question=question))
    edit(toy, 'probes = "probes.py"', 'probes = "probes.py"\nchecks = "checks.py"')
    return load_config(toy)


def test_visible_checks_need_not_add_up_to_the_points(toy):
    checks = with_checks(toy, '"Q1"').visible_checks()
    assert [(spec.name, spec.question, spec.points) for spec in checks.probes] == [("add_small_numbers", "Q1", 7)]
    assert checks.probes_path == toy / "checks.py" and checks.probe_source == (toy / "checks.py").read_text()


@pytest.mark.parametrize("question, problem", [
    ('"Q_TYPO"', "probe add_small_numbers in checks.py is for question 'Q_TYPO', which is not in [[questions]]"),
    ('"Q3"', "probe add_small_numbers in checks.py is for question 'Q3', which is graded by hand (manual = true)"),
    ('""', "a probe's question must be a non-empty string such as 'Q2A'"),
])
def test_visible_checks_are_checked_like_the_hidden_probes(toy, question, problem):
    config = with_checks(toy, question)  # the grader's config loads: the checks are read when used
    with pytest.raises(ConfigError) as raised:
        config.visible_checks()
    assert str(raised.value) == f"{toy / 'grading.toml'}: checks: {problem}"


def test_a_missing_checks_file_is_a_config_error_even_for_students(toy):
    edit(toy, 'probes = "probes.py"', 'probes = "probes.py"\nchecks = "checks.py"')
    with pytest.raises(ConfigError) as raised:
        load_config(toy, probes=False)
    assert str(raised.value) == f"{toy / 'grading.toml'}: checks: {toy / 'checks.py'} does not exist"


def test_a_questions_cells_default_to_its_id(toy):
    assert [question.cells for question in load_config(toy).questions] == [["Q1"], ["Q2"], ["Q3"]]
    hopfield = {q.id: q.cells for q in load_config("hopfield_batchnorm", probes=False).questions}
    assert hopfield["Q2C-plot"] == ["q2c_experiment", "q2c_plot", "q2c_answer"]  # the graded cell last
