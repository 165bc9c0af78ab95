"""grading.toml: the toy assignment loads, and every kind of mistake names the file and the key."""
import dataclasses
import re

import pytest

from autograder.config import ConfigError, config_file, load_config
from autograder.sandbox import Limits
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
    other.write_text("from autograder.probes import probe, equal\n")
    swapped = dataclasses.replace(config, probes_path=other, probes=config.probes[:1])
    assert swapped.probe_source == other.read_text()  # as `autograder check` swaps in its checks file


def test_student_side_loading_needs_no_probes_file(toy):
    (toy / "probes.py").unlink()
    with pytest.raises(ConfigError, match="probes: .*probes.py does not exist"):
        load_config(toy)
    config = load_config(toy, probes=False)
    assert config.probes == () and [n.name for n in config.names] == ["add", "Counter"]


MISTAKES = [
    # (old text, new text, the key the message must name, words it must hold)
    ('title = "Toy assignment"', 'title = "Toy assignment"\ntitel = "typo"', "top level", "unknown key 'titel'"),
    ('id = "Q2"', 'id = "Q1"', "questions[2].id", "duplicate question id 'Q1'"),
    ('points = 3', 'points = -3', "questions[2].points", "must be positive"),
    ('points = 3', 'points = "3"', "questions[2].points", "must be an integer or a number"),
    ('manual = true', 'manual = "yes"', "questions[3].manual", "must be true or false"),
    ('question = "Q1"', 'question = "Q9"', "names[1].question", "unknown question 'Q9'"),
    ('kind = "class"', 'kind = "module"', "names[2].kind", "must be one of class, function"),
    ('name = "add"', 'name = "add me"', "names[1].name", "is not a Python name"),
    ('signature = "(a, b)"', 'signature = "(a, b"', "names[1].signature", "not a Python parameter list"),
    ('wall_seconds = 3', 'wall_seconds = 0', "limits.wall_seconds", "must be a positive number"),
    ('wall_seconds = 3', 'wall_time = 3', "limits", "unknown key 'wall_time'"),
    ('probes = "probes.py"', 'probes = "nowhere.py"', "probes", "nowhere.py does not exist"),
    ('source = "toy.ipynb"', 'source = "other.ipynb"', "source", "other.ipynb does not exist"),
    ('allowed_imports = ["math"]', 'allowed_imports = "math"', "allowed_imports", "must be a list"),
    ('assignment = "toy"', 'assignment = ""', "assignment", "must be a non-empty string"),
    ('points = 3', 'points = 4', "probes", "the probes of question Q2 in probes.py are worth 3 points, but "
                                           "[[questions]] gives it 4"),
    ('[limits]', '[limits\n', "", "not valid TOML"),
]


@pytest.mark.parametrize("old, new, key, words", MISTAKES, ids=[m[3][:30] for m in MISTAKES])
def test_mistakes_name_the_file_and_the_key(toy, old, new, key, words):
    edit(toy, old, new)
    with pytest.raises(ConfigError) as raised:
        load_config(toy)
    message = str(raised.value)
    assert message.startswith(f"{toy / 'grading.toml'}: {key}"), message
    assert words in message, message


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
