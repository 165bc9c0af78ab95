"""Extraction: what is kept, what is dropped, and whether the module imports."""
import asyncio
import inspect
import json
import pickle
import sys

import nbformat
import nbformat.v4 as v4
import pytest

from autograder.errors import AutograderError
from autograder.analysis.extract import Entry, extract, extract_file
from autograder.sandbox.loader import load_module
from autograder.analysis.ipython_syntax import MAX_RETOKENIZATIONS


class Markdown(str):
    """A markdown cell's text in `notebook(...)`; plain strings are code cells."""


def notebook(*cells: str):
    return v4.new_notebook(cells=[
        v4.new_markdown_cell(c) if isinstance(c, Markdown) else v4.new_code_cell(c) for c in cells])


def entries_of(extraction, cell: int) -> list[tuple]:
    return [(e.line, e.kind, e.name, e.action, e.reason) for e in extraction.entries if e.cell == cell]


def entry(extraction, cell: int, line: int) -> Entry:
    [found] = [e for e in extraction.entries if (e.cell, e.line) == (cell, line)]
    return found


@pytest.fixture
def load(request):
    """load_module under a name unique to the test, unregistered afterwards."""
    name = f"submission_{request.node.name}".replace("[", "_").replace("]", "_")
    yield lambda source: load_module(source, name)
    sys.modules.pop(name, None)


def test_magics_shell_and_help_lines_are_removed_and_reported(load):
    ex = extract(notebook(
        Markdown("# intro"),
        "%matplotlib inline\n!pip install tqdm\nimport math\nmath.sqrt?\n??math\nfiles = !ls\nt = %timeit -o f()\n"
        "def f():\n    return math.pi",
    ))
    assert entries_of(ex, 2) == [
        (1, "magic", None, "dropped", "IPython magic removed"),
        (2, "magic", None, "dropped", "shell command removed"),
        (3, "import", "math", "kept", "import kept"),
        (4, "magic", None, "dropped", "help request removed"),
        (5, "magic", None, "dropped", "help request removed"),
        (6, "magic", None, "dropped", "assignment from an IPython magic or shell command removed"),
        (7, "magic", None, "dropped", "assignment from an IPython magic or shell command removed"),
        (8, "function", "f", "kept", "function kept"),
    ]
    assert entry(ex, 2, 2).text == "!pip install tqdm"
    assert "%" not in ex.source and "!" not in ex.source and "?" not in ex.source
    assert load(ex.source).f() == pytest.approx(3.14159, rel=1e-5)


def test_percent_and_question_marks_inside_strings_brackets_and_comments_stay(load):
    code = (
        'def report(n):\n'
        '    """How many?\n'
        '%d items\n'
        '!important\n'
        '    """\n'
        '    return (n\n'
        '            % 7)  # why?\n'
        'def shout(s):\n'
        '    return s + "\\\n'
        '!"\n'
    )
    ex = extract(notebook(code))
    assert [e.kind for e in ex.entries] == ["function", "function"]
    module = load(ex.source)
    assert module.report(9) == 2 and module.report.__doc__.startswith("How many?\n%d items\n!important")
    assert module.shout("hey") == "hey!"


def test_a_magic_inside_a_block_becomes_pass(load):
    ex = extract(notebook("def train():\n    %time x = 1\n    return 2"))
    assert entries_of(ex, 1) == [(1, "function", "train", "kept", "function kept"),
                                 (2, "magic", None, "dropped",
                                  "IPython magic removed (replaced by `pass` inside its block)")]
    assert load(ex.source).train() == 2


@pytest.mark.parametrize("magic", ["bash", "writefile helper.py", "timeit -n 1"])
def test_other_cell_magics_drop_the_whole_cell(magic):
    ex = extract(notebook(Markdown("x"), f"\n%%{magic}\necho hi\ndef f(): pass", "def g(): pass"))
    name = magic.split()[0]
    assert entries_of(ex, 2) == [(2, "magic", None, "dropped",
                                  f"cell magic %%{name}: its body does not define anything in the notebook, "
                                  "so the cell is dropped")]
    assert ex.defined_names == {"g": "function"}


@pytest.mark.parametrize("magic", ["%%time", "%%capture output", "%%prun -q"])
def test_python_body_cell_magics_keep_their_body(magic, load):
    ex = extract(notebook(f"{magic}\nSIZE = 3\ndef f():\n    return SIZE\nf()"))
    assert entries_of(ex, 1) == [
        (1, "magic", None, "dropped", f"cell magic {magic.split()[0]} removed; its body is read as Python"),
        (2, "constant", "SIZE", "kept", "literal constant used by a kept function or class"),
        (3, "function", "f", "kept", "function kept"),
        (5, "statement", None, "dropped", "top-level call dropped"),
    ]
    assert load(ex.source).f() == 3


def test_auto_call_and_auto_quote_lines_are_removed(load):
    ex = extract(notebook("/print 1\n,print a b\n;print a b\ndef g():\n    return 1"))
    assert [(line, reason) for line, _, _, _, reason in entries_of(ex, 1)] == [
        (1, "IPython auto-call removed"), (2, "IPython auto-quote removed"), (3, "IPython auto-quote removed"),
        (4, "function kept")]
    assert load(ex.source).g() == 1


def test_a_continued_magic_is_removed_with_its_continuation_lines(load):
    ex = extract(notebook("%time total = f(1, \\\n    2)\ndef g():\n    return 2"))
    assert entries_of(ex, 1) == [(1, "magic", None, "dropped", "IPython magic removed"),
                                 (3, "function", "g", "kept", "function kept")]
    assert load(ex.source).g() == 2


def test_a_shell_line_continues_where_ipython_says_even_after_a_comment(load):
    # Python's tokenizer ends the line at the comment; IPython continues it over the backslash.
    ex = extract(notebook("!echo hi # note \\\n,f a\ndef f(*words):\n    return words"))
    assert entries_of(ex, 1) == [(1, "magic", None, "dropped", "shell command removed"),
                                 (3, "function", "f", "kept", "function kept")]
    assert load(ex.source).f("a") == ("a",)


def test_a_help_request_on_a_cell_magic_is_not_a_cell_magic():
    ex = extract(notebook("%%time?\ndef h(): pass"))
    assert entries_of(ex, 1) == [(1, "magic", None, "dropped", "help request removed"),
                                 (2, "function", "h", "kept", "function kept")]


def test_a_shell_line_that_opens_a_bracket_does_not_hide_the_lines_after_it(load):
    ex = extract(notebook("!echo (\ndef f():\n    return 1\n%time f()"))
    assert entries_of(ex, 1) == [(1, "magic", None, "dropped", "shell command removed"),
                                 (2, "function", "f", "kept", "function kept"),
                                 (4, "magic", None, "dropped", "IPython magic removed")]
    assert load(ex.source).f() == 1


@pytest.mark.parametrize("code, line, message", [
    # IPython's tokenizer rejects the cell before any magic is transformed, as the kernel would
    ("%time f()\nif x:\n        a = 1\n    b = 2", 4, "unindent does not match any outer indentation level"),
    # IPython cannot turn `print(f)?` into a help request, so it stays and does not parse
    ("def f():\n    return 1\nprint(f)?", 3, "invalid syntax"),
    # IPython's own finder reads past the end of this line; it stays and does not parse
    ("x = % \\", 1, "invalid syntax"),
    # every such line costs a pass over the cell, so there is a limit
    ("!echo (\n" * (MAX_RETOKENIZATIONS + 1) + "def f(): pass", MAX_RETOKENIZATIONS + 1,
     f"more than {MAX_RETOKENIZATIONS} lines of IPython syntax leave a bracket, a string or a continuation open"),
], ids=["inconsistent dedent", "help request IPython cannot read", "magic assignment cut short",
        "too many open brackets"])
def test_a_cell_ipython_cannot_transform_is_skipped_and_reported(code, line, message):
    ex = extract(notebook(code, "def other(): pass"))
    assert [(e.cell, e.line, e.reason) for e in ex.syntax_errors] == [
        (1, line, f"syntax error: {message}; the whole cell is skipped")]
    assert ex.defined_names == {"other": "function"}


def test_get_ipython_calls_are_dropped():
    ex = extract(notebook("get_ipython().run_line_magic('matplotlib', 'inline')\ndef f(): pass"))
    assert entries_of(ex, 1)[0] == (1, "magic", None, "dropped", "get_ipython() call dropped")


def test_a_cell_that_does_not_parse_is_skipped_with_its_cell_number(load):
    ex = extract(notebook(
        Markdown("# Q1"), "import math", Markdown("## Q2"),
        "def good():\n    return 1",
        "%matplotlib inline\ndef broken(x)\n    return x",
        "def later():\n    return good() + 1",
    ))
    assert ex.syntax_errors == [Entry(5, 2, "syntax-error", None, "skipped",
                                      "syntax error: expected ':'; the whole cell is skipped", "def broken(x)")]
    assert entries_of(ex, 5)[0] == (1, "magic", None, "dropped", "IPython magic removed")
    assert set(ex.defined_names) == {"math", "good", "later"}
    assert load(ex.source).later() == 2


def test_null_bytes_are_a_syntax_error_not_a_crash():
    ex = extract(notebook("x = 1\x00"))
    assert ex.syntax_errors[0].cell == 1 and ex.syntax_errors[0].action == "skipped"


def test_the_last_definition_of_a_name_wins(load):
    ex = extract(notebook(
        "def f():\n    return 1", "class f:\n    pass", Markdown("text"), "def f():\n    return 3",
        "def relu(x):\n    return x", "from math import fabs as relu",
    ))
    assert entry(ex, 1, 1).reason == "superseded by the later function `f` in cell 4, line 1"
    assert entry(ex, 2, 1).action == "dropped"
    assert entry(ex, 5, 1).reason == "superseded by the later import `relu` in cell 6, line 1"
    module = load(ex.source)
    assert module.f() == 3 and module.relu(-2) == 2.0
    assert ex.source.count("def f") == 1


def test_literal_constants_are_kept_only_when_a_kept_definition_uses_them(load):
    ex = extract(notebook(
        "RATE = 0.5\nNEG = -3\nSHAPE = (2, 3)\nTABLE = {'a': [1, 2]}\nUNUSED = 7\nEPS: float = 1e-8\n"
        "OLD = 1\nA = B = 'x'\nlo, hi = 0, 9",
        "def old():\n    return OLD",
        "def old():\n    return 0",
        "def helper():\n    return NEG, SHAPE, TABLE['a'], EPS, B, hi\n\ndef scaled(x):\n    return RATE * x + helper()[0]",
    ))
    kept = {e.name: e.action for e in ex.entries if e.kind == "constant"}
    assert kept == {"RATE": "kept", "NEG": "kept", "SHAPE": "kept", "TABLE": "kept", "UNUSED": "dropped",
                    "EPS": "kept", "OLD": "dropped", "A, B": "kept", "lo, hi": "kept"}
    assert entry(ex, 1, 5).reason == "literal constant not used by any kept function or class"
    module = load(ex.source)
    assert module.scaled(2) == -2.0
    assert module.helper() == (-3, (2, 3), [1, 2], 1e-8, "x", 9)
    assert not hasattr(module, "UNUSED") and not hasattr(module, "OLD")


def test_a_later_literal_value_of_a_constant_wins(load):
    ex = extract(notebook("N = 1\ndef f():\n    return N", "N = 2"))
    assert entry(ex, 1, 1).reason == "superseded by the later constant `N` in cell 2, line 1"
    assert load(ex.source).f() == 2


def test_non_literal_assignments_and_top_level_code_are_dropped_with_reasons():
    ex = extract(notebook(
        "model = make_model()\nx = [i for i in range(3)]\nN = 2 ** 8\nN += 1\nprint('hi')\nmodel.fit(x)\n"
        "x\nfor i in range(3):\n    pass\nif __name__ == '__main__':\n    main()\nwith open('f') as fh:\n    pass\n"
        "try:\n    run()\nexcept Exception:\n    pass\ndel x\nw: int",
        "def predict(data):\n    return model(data) + N",
    ))
    assert [(line, reason) for line, _, _, _, reason in entries_of(ex, 1)] == [
        (1, "assignment of non-literal value dropped; kept definitions use `model`, which the module will not define"),
        (2, "assignment of non-literal value dropped"),
        (3, "assignment of non-literal value dropped; kept definitions use `N`, which the module will not define"),
        (4, "augmented assignment dropped"),
        (5, "top-level call dropped"),
        (6, "top-level call dropped"),
        (7, "top-level expression dropped"),
        (8, "loop dropped"),
        (10, "if statement dropped"),
        (12, "with block dropped"),
        (14, "try statement dropped (only a try block that just imports is kept)"),
        (18, "del statement dropped"),
        (19, "annotation without a value dropped"),
    ]
    assert all(e.action == "dropped" and e.kind == "statement" for e in ex.entries if e.cell == 1)
    assert ex.defined_names == {"predict": "function"}


def test_decorated_and_async_definitions_are_kept_whole(load):
    ex = extract(notebook(
        "import functools",
        "@functools.lru_cache(maxsize=None)\ndef fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\n"
        "async def fetch():\n    return 7\n\n@functools.total_ordering\nclass Version:\n"
        "    def __init__(self, n):\n        self.n = n\n    def __eq__(self, other):\n        return self.n == other.n\n"
        "    def __lt__(self, other):\n        return self.n < other.n",
    ))
    assert entries_of(ex, 2) == [(1, "function", "fib", "kept", "function kept"),
                                 (5, "function", "fetch", "kept", "function kept"),
                                 (8, "class", "Version", "kept", "class kept")]
    assert entry(ex, 2, 8).text == "class Version:"
    assert "@functools.lru_cache(maxsize=None)\ndef fib(n):" in ex.source
    module = load(ex.source)
    assert module.fib(30) == 832040 and asyncio.run(module.fetch()) == 7
    assert module.Version(2) >= module.Version(1)


def test_a_class_uses_a_constant(load):
    ex = extract(notebook("SIZE = 4\nclass Box:\n    size = SIZE\n    def area(self):\n        return self.size ** 2"))
    assert ex.defined_names == {"SIZE": "constant", "Box": "class"}
    assert load(ex.source).Box().area() == 16


def test_dataclasses_pickle_after_load_module(load):
    ex = extract(notebook(
        "from dataclasses import dataclass, field",
        "@dataclass\nclass Layer:\n    width: int\n    tags: list = field(default_factory=list)",
    ))
    module = load(ex.source)
    layer = module.Layer(3, ["a"])
    assert pickle.loads(pickle.dumps(layer)) == layer


def test_imports_inside_functions_are_left_alone(load):
    ex = extract(notebook("def f():\n    import math\n    from os import path\n    return math.floor(2.5)"))
    assert [e.kind for e in ex.entries] == ["function"]
    assert "    import math\n    from os import path" in ex.source
    assert load(ex.source).f() == 2


def test_imports_come_first_and_definitions_are_ordered_to_import(load):
    ex = extract(notebook(
        "import math",
        "class Child(Base):\n    def value(self):\n        return math.floor(super().value() + PI)",
        "class Base:\n    def value(self):\n        return 1.0",
        "from __future__ import annotations\nimport math\nPI = 3.14",
        "def twice(x: Base) -> Child:\n    return 2 * x",
    ))
    assert ex.source.index("from __future__") < ex.source.index("import math") < ex.source.index("PI = 3.14")
    assert ex.source.index("class Base") < ex.source.index("class Child") < ex.source.index("def twice")
    assert entry(ex, 4, 2).reason == "duplicate of the import in cell 1"
    module = load(ex.source)
    assert module.Child().value() == 4 and module.twice.__annotations__ == {"x": "Base", "return": "Child"}


def test_a_try_block_that_only_imports_is_kept(load):
    ex = extract(notebook(
        "try:\n    import tomllib as toml\nexcept (ImportError, ModuleNotFoundError):\n    toml = None",
        "try:\n    import json\n    print('ok')\nexcept ImportError:\n    pass",
        "def loads(text):\n    return toml.loads(text)",
    ))
    assert entry(ex, 1, 1) == Entry(1, 1, "import", "toml", "kept", "import kept", "try:")
    assert entry(ex, 2, 1).action == "dropped"
    assert load(ex.source).loads("a = 1") == {"a": 1}


def test_cell_numbers_count_markdown_and_raw_cells():
    nb = notebook(Markdown("a"), "import math", Markdown("b"))
    nb.cells.insert(0, v4.new_raw_cell("raw"))
    nb.cells.append(v4.new_code_cell("def f(): pass"))
    assert [(e.cell, e.name) for e in extract(nb).entries] == [(3, "math"), (5, "f")]


def test_reports_as_json_and_text():
    ex = extract(notebook(Markdown("m"), "import math\nprint(1)", "def f(:"))
    report = json.loads(json.dumps(ex.to_json()))
    assert report["counts"] == {"kept": 1, "dropped": 1, "skipped": 1}
    assert report["defined_names"] == {"math": "import"}
    assert report["entries"][1] == {"cell": 2, "line": 2, "kind": "statement", "name": None, "action": "dropped",
                                    "reason": "top-level call dropped", "text": "print(1)"}
    text = ex.to_text()
    assert text.startswith("Extraction: 1 kept, 1 dropped, 1 skipped")
    assert '\ncell 2 ("import math")\n  line 1    kept     import math  -- import kept\n' in text
    assert '\ncell 3 ("def f(:")\n  line 1    skipped  def f(:  -- syntax error' in text


def test_load_module_registers_the_module_and_shows_source_in_tracebacks(load):
    module = load("def f():\n    return 1\n")
    assert sys.modules[module.__name__] is module and module.f.__module__ == module.__name__
    assert inspect.getsource(module.f) == "def f():\n    return 1\n"


def test_load_module_unregisters_a_module_that_fails():
    with pytest.raises(ZeroDivisionError):
        load_module("x = 1 / 0", "submission_that_fails")
    assert "submission_that_fails" not in sys.modules


def test_extract_file_writes_module_and_reports(tmp_path):
    path = tmp_path / "hw.ipynb"
    nbformat.write(notebook("import math", "def f():\n    return math.e", "f()"), path)
    ex = extract_file(path)
    assert (tmp_path / "hw.py").read_text() == ex.source
    assert json.loads((tmp_path / "hw.report.json").read_text()) == ex.to_json()
    assert (tmp_path / "hw.report.txt").read_text() == ex.to_text()
    extract_file(path, tmp_path / "out" / "module.py")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["module.py", "module.report.json", "module.report.txt"]
    with pytest.raises(AutograderError, match="over the notebook"):
        extract_file(path, path)


def test_extract_file_reports_reading_notes(tmp_path):
    path = tmp_path / "latin.ipynb"
    path.write_bytes(nbformat.writes(notebook("def f():\n    return 'café'")).encode("cp1252"))
    ex = extract_file(path)
    assert "Windows-1252" in ex.notes[0] and "Note: " in ex.to_text()
    assert "return 'café'" in (tmp_path / "latin.py").read_text(encoding="utf-8")
