"""Reading notebooks: every odd file a student can hand in gives a notebook or one clear sentence."""
import json
import tracemalloc
from pathlib import Path

import nbformat
import nbformat.v4 as v4
import pytest

from autograder.analysis import json_cost, notebook
from autograder.analysis.json_cost import cost_bound, parse_cost, quick_cost
from autograder.analysis.notebook import NotebookError, notebook_metadata_assignment, read_notebook

NBFORMAT_FIXTURES = Path(__file__).parent / "fixtures" / "nbformat"


def v4_json(*sources: str) -> str:
    return nbformat.writes(v4.new_notebook(cells=[v4.new_code_cell(s) for s in sources]))


def write(tmp_path, data, name="nb.ipynb"):
    path = tmp_path / name
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def read_error(path, **kwargs) -> str:
    with pytest.raises(NotebookError) as caught:
        read_notebook(path, **kwargs)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message and message.endswith(".")
    return message


def test_reads_a_plain_v4_notebook(tmp_path):
    path = write(tmp_path, v4_json("x = 'é'", "def f():\n    return 1"))
    notes = []
    nb = read_notebook(path, notes=notes)
    assert nb.nbformat == 4
    assert [c.source for c in nb.cells] == ["x = 'é'", "def f():\n    return 1"]
    assert notes == []


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_reads_unicode_encodings_with_and_without_byte_order_mark(tmp_path, encoding):
    path = write(tmp_path, v4_json("name = 'Zoë € ∑'").encode(encoding))
    notes = []
    assert read_notebook(path, notes=notes).cells[0].source == "name = 'Zoë € ∑'"
    assert notes == []


def test_windows_1252_bytes_are_decoded_with_a_note(tmp_path):
    path = write(tmp_path, v4_json("price = '€5, café'").encode("cp1252"))
    notes = []
    assert read_notebook(path, notes=notes).cells[0].source == "price = '€5, café'"
    assert len(notes) == 1 and "not valid UTF-8" in notes[0] and "Windows-1252" in notes[0]


def test_bytes_undefined_in_windows_1252_fall_back_to_latin_1(tmp_path):
    raw = v4_json("s = 'XY'").encode("ascii").replace(b"XY", b"\x81\xe9")
    notes = []
    assert read_notebook(write(tmp_path, raw), notes=notes).cells[0].source == "s = '\x81é'"
    assert "Latin-1" in notes[0]


def test_undecodable_utf16_is_a_clear_error(tmp_path):
    path = write(tmp_path, b"\xff\xfe{\x00\x00\xd8")  # a lone surrogate half
    assert "UTF-16" in read_error(path)


def test_nbformat_3_is_converted_to_4(tmp_path):
    v3 = {
        "metadata": {"name": "old"},
        "nbformat": 3,
        "nbformat_minor": 0,
        "worksheets": [{"metadata": {}, "cells": [
            {"cell_type": "heading", "level": 2, "metadata": {}, "source": "Title"},
            {"cell_type": "code", "collapsed": False, "input": ["import math\n", "x = 1"], "language": "python",
             "metadata": {}, "prompt_number": 3,
             "outputs": [{"output_type": "stream", "stream": "stdout", "text": ["hi\n"]}]},
            {"cell_type": "markdown", "metadata": {}, "source": ["some\n", "text"]},
        ]}],
    }
    path = write(tmp_path, json.dumps(v3))
    notes = []
    nb = read_notebook(path, notes=notes)
    assert nb.nbformat == 4 and "worksheets" not in nb
    assert [(c.cell_type, c.source) for c in nb.cells] == [
        ("markdown", "## Title"), ("code", "import math\nx = 1"), ("markdown", "some\ntext")]
    assert nb.cells[1].execution_count == 3
    assert nb.cells[1].outputs[0].name == "stdout" and nb.cells[1].outputs[0].text == "hi\n"
    assert any("nbformat 3" in note for note in notes)
    nbformat.validate(nb)
    assert read_notebook(path, keep_outputs=False).cells[1].outputs == []


def test_invalid_json_names_line_and_column(tmp_path):
    path = write(tmp_path, '{\n  "cells": [\n    {"cell_type": "code",, }\n  ]\n}')
    message = read_error(path)
    assert "not valid JSON" in message and "line 3, column 26" in message


def test_truncated_file_is_invalid_json(tmp_path):
    text = v4_json("x = 1")
    assert "not valid JSON" in read_error(write(tmp_path, text[: len(text) // 2]))


@pytest.mark.parametrize("content, expected", [
    ("[1, 2]", "top level is a list"),
    ('"just text"', "top level is a str"),
    ('{"name": "not a notebook"}', "no list of cells"),
    ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "no list of cells"),
    ('{"nbformat": 4, "cells": {"0": {}}}', "no list of cells"),
    ('{"nbformat": 9, "cells": []}', "nbformat 9"),
])
def test_json_that_is_not_a_notebook_is_a_clear_error(tmp_path, content, expected):
    assert expected in read_error(write(tmp_path, content))


def notebook_of(*cells) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 4, "metadata": {},
                       "cells": [{"cell_type": "markdown", "metadata": {}, "source": "intro"}, *cells]})


@pytest.mark.parametrize("cell, expected", [
    ({"cell_type": "code", "source": 42}, "source of cell 2 is not text"),
    ({"cell_type": "code", "source": ["ok", 3]}, "source of cell 2 is not text"),
    ("print(1)", "cell 2 is a str"),
])
def test_cells_that_cannot_be_repaired_are_named(tmp_path, cell, expected):
    assert expected in read_error(write(tmp_path, notebook_of(cell)))


# ---- what a newer or an older Jupyter wrote --------------------------------------------------------

def test_a_newer_minor_version_with_an_unknown_cell_type_is_read(tmp_path):
    path = NBFORMAT_FIXTURES / "newer_minor_unknown_cell.ipynb"
    notes = []
    nb = read_notebook(path, notes=notes)
    assert nb.nbformat_minor == 99
    assert [(c.cell_type, c.id) for c in nb.cells] == [
        ("markdown", "intro"), ("code", "add"), ("raw", "future"), ("code", "after")]
    assert nb.cells[2].source == "" and "key" not in nb.cells[2]
    assert nb.cells[3].source == "x = add(2, 3)"
    assert [o.output_type for o in nb.cells[1].outputs] == ["stream", "future output"]
    assert notes == [f"{path}: cell 3 has the cell type 'future cell', which is not code, markdown or raw; "
                     "it was read as a raw cell, and nothing in it is graded."]


def test_nbformat_3_heading_cells_in_a_v4_file_become_markdown_headings():
    path = NBFORMAT_FIXTURES / "v4_with_v3_heading.ipynb"
    notes = []
    nb = read_notebook(path, notes=notes)
    assert [(c.cell_type, c.source) for c in nb.cells] == [
        ("markdown", "## Part 1: adding"), ("code", "def add(a, b):\n    return a + b"), ("markdown", "# Part 2")]
    assert all("level" not in c for c in nb.cells)
    nbformat.validate(nb)
    assert notes == [f"{path}: cells 1, 3 are nbformat 3 heading cells, read as markdown headings."]


def test_cells_of_unknown_or_missing_type_keep_their_place_as_raw_cells(tmp_path):
    path = write(tmp_path, notebook_of({"cell_type": "widget", "metadata": {}, "source": ["a", "b"], "outputs": []},
                                       {"source": "x = 1", "metadata": {"tag": 1}},
                                       {"cell_type": "widget", "metadata": {}, "source": 3},
                                       {"cell_type": "code", "metadata": {}, "source": "y = 2", "outputs": [],
                                        "execution_count": None}))
    notes = []
    nb = read_notebook(path, notes=notes)
    assert [(c.cell_type, c.source) for c in nb.cells] == [
        ("markdown", "intro"), ("raw", "ab"), ("raw", "x = 1"), ("raw", ""), ("code", "y = 2")]
    assert nb.cells[2].metadata == {"tag": 1}
    nbformat.validate(nb)
    assert notes == [
        f"{path}: cells 2, 4 have the cell type 'widget', which is not code, markdown or raw; they were read "
        "as raw cells, and nothing in them is graded.",
        f"{path}: cell 3 has the cell type None, which is not code, markdown or raw; it was read as a raw "
        "cell, and nothing in it is graded."]


def test_harmless_missing_keys_are_repaired_with_a_note(tmp_path):
    data = {"nbformat": 4, "nbformat_minor": 5, "cells": [
        {"cell_type": "code", "source": ["def f():\n", "    return 1\n"]},
        {"cell_type": "markdown"},
        {"cell_type": "code", "metadata": {}, "source": "x = 2", "outputs": None, "id": "keep-me"},
    ]}
    notes = []
    nb = read_notebook(write(tmp_path, json.dumps(data)), notes=notes)
    assert [c.source for c in nb.cells] == ["def f():\n    return 1\n", "", "x = 2"]
    assert nb.cells[0].outputs == [] and nb.cells[0].execution_count is None
    assert nb.cells[2].id == "keep-me" and all(c.id for c in nb.cells)
    nbformat.validate(nb)
    assert len(notes) == 1
    for field in ("notebook metadata", "cell metadata", "cell source", "cell ids", "cell outputs", "execution counts"):
        assert field in notes[0]


def test_missing_nbformat_version_is_read_as_4(tmp_path):
    data = {"cells": [{"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": [], "execution_count": 1}],
            "metadata": {}, "nbformat_minor": 4}
    notes = []
    assert read_notebook(write(tmp_path, json.dumps(data)), notes=notes).cells[0].source == "x = 1"
    assert "read as nbformat 4" in notes[0]


@pytest.mark.parametrize("content", [b"", b"  \n\t\n"])
def test_empty_file_is_a_clear_error(tmp_path, content):
    assert "empty" in read_error(write(tmp_path, content))


def test_directory_and_missing_path_are_clear_errors(tmp_path):
    assert "is a directory" in read_error(tmp_path)
    assert "no such file" in read_error(tmp_path / "missing.ipynb")


def test_an_unreadable_file_is_a_clear_error(tmp_path, monkeypatch):
    path = write(tmp_path, v4_json("x = 1"))

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert read_error(path) == f"Cannot read {path}: Permission denied."


def test_files_over_the_size_limit_are_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(notebook, "MAX_NOTEBOOK_BYTES", 100)
    assert "limit" in read_error(write(tmp_path, v4_json("x = 1" * 50)))


def test_an_integer_too_long_for_python_is_a_clear_error(tmp_path):
    path = write(tmp_path, notebook_of().replace('"metadata": {}', '"metadata": {"n": ' + "7" * 5000 + "}", 1))
    assert "holds a value Python cannot read" in read_error(path)



def test_outputs_are_kept_by_default_and_dropped_on_request(tmp_path):
    nb = v4.new_notebook(cells=[v4.new_code_cell("print(1)", outputs=[v4.new_output("stream", text="1\n")])])
    path = write(tmp_path, nbformat.writes(nb))
    assert read_notebook(path).cells[0].outputs[0].text == "1\n"
    assert read_notebook(path, keep_outputs=False).cells[0].outputs == []


def test_a_100_megabyte_notebook_of_outputs_reads_without_its_outputs(tmp_path):
    # 100 display outputs of 1 MB each, written as raw JSON text to keep the test quick.
    image = json.dumps({"output_type": "display_data", "metadata": {}, "data": {"image/png": "A" * 1_000_000}})
    cell = ('{"cell_type": "code", "execution_count": 1, "metadata": {}, "source": ["x = 1\\n", "y = 2"], '
            '"outputs": [' + image + "]}")
    text = '{"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [' + ", ".join([cell] * 100) + "]}"
    path = write(tmp_path, text)
    assert path.stat().st_size > 100_000_000
    nb = read_notebook(path, keep_outputs=False)
    assert len(nb.cells) == 100
    assert all(c.source == "x = 1\ny = 2" and c.outputs == [] for c in nb.cells)


def test_notebook_metadata_assignment():
    nb = v4.new_notebook()
    assert notebook_metadata_assignment(nb) is None
    nb.metadata["course_kit"] = {"assignment": "hopfield_batchnorm"}
    assert notebook_metadata_assignment(nb) == "hopfield_batchnorm"
    for odd in ({"assignment": 3}, {"assignment": "  "}, "hopfield_batchnorm"):
        nb.metadata["course_kit"] = odd
        assert notebook_metadata_assignment(nb) is None

# ---- memory: what parsing would cost is bounded before parsing -------------------------------------

def with_payload(payload: str) -> str:
    """A notebook holding `payload` in its metadata, where outputs being dropped does not reach it."""
    return notebook_of().replace('"metadata": {}', '"metadata": {"payload": ' + payload + "}", 1)


SHAPES = {  # the costliest values for their size
    "empty lists": "[" + ",".join(["[]"] * 20_000) + "]",
    "nested lists": "[" + ",".join(["[[[]]]"] * 20_000) + "]",
    "empty objects": "[" + ",".join(["{}"] * 20_000) + "]",
    "one-key objects": "[" + ",".join([f'{{"k{i}": [1]}}' for i in range(20_000)]) + "]",
    "many keys": "{" + ",".join([f'"k{i}": 0' for i in range(20_000)]) + "}",
    "short strings": "[" + ",".join([f'"é{i}"' for i in range(20_000)]) + "]",
    "floats": "[" + ",".join(["0.5"] * 20_000) + "]",
}


@pytest.mark.parametrize("shape", SHAPES)
def test_parse_cost_bounds_what_reading_takes(tmp_path, shape):
    text = with_payload(SHAPES[shape])
    path = write(tmp_path, text)
    tracemalloc.start()
    try:
        read_notebook(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    text_copies = 3 * len(text.encode())  # the bytes read, the text decoded from them, the scan's copies
    assert peak <= parse_cost(text) + text_copies
    assert parse_cost(text) <= quick_cost(text)


def test_notebook_whose_objects_would_exceed_the_memory_allowed_is_refused_unparsed(tmp_path, monkeypatch):
    monkeypatch.setattr(notebook, "MAX_PARSE_BYTES", 2**20)
    monkeypatch.setattr(notebook, "_parse_json", None)  # never reached
    message = read_error(write(tmp_path, with_payload("[" + ",".join(["[]"] * 20_000) + "]")))
    assert "so many small values" in message and "more than the 1 MB allowed" in message


def test_large_strings_cost_their_length_not_their_brackets(tmp_path, monkeypatch):
    monkeypatch.setattr(notebook, "MAX_PARSE_BYTES", 2**20)
    brackets = "[[{,:" * 100_000  # 500 kB of structure characters inside one string
    nb = read_notebook(write(tmp_path, v4_json(f"s = '{brackets}'")))
    assert nb.cells[0].source == f"s = '{brackets}'"


@pytest.mark.parametrize("chunk", [3, 4, 5, 7, 2**20])
def test_parse_cost_counts_values_outside_strings_only(monkeypatch, chunk):
    monkeypatch.setattr(json_cost, "CHUNK", chunk)  # string and escape boundaries across chunks
    value, char = json_cost.BYTES_PER_VALUE, 1
    assert parse_cost("[]") == 2 * value
    assert parse_cost("[1, 2, 3]") == 4 * value
    assert parse_cost('{"a": []}') == json_cost.BYTES_PER_OBJECT + 3 * value + 3 * char
    # quotes, brackets and escaped quotes or backslashes inside strings are characters, not values
    assert parse_cost(r'["[,:{", "a\\"]') == 3 * value + 9 * char
    assert parse_cost(r'["a\\\"[,b"]') == 2 * value + 6 * char
    assert parse_cost('["ü"]') == 2 * value + 3 * json_cost.BYTES_PER_STRING_CHAR
    assert quick_cost(r'["[,:{", "a\\"]') == 6 * value + json_cost.BYTES_PER_OBJECT + 15 * char


def test_cost_bound_scans_strings_only_when_cheaper_bounds_are_over_the_limit():
    text = r'["[,:{", "a\\"]'
    by_length = json_cost.BYTES_PER_VALUE + 15 * (json_cost.BYTES_PER_OBJECT + json_cost.BYTES_PER_STRING_CHAR)
    assert cost_bound(text, by_length) == by_length
    assert cost_bound(text, by_length - 1) == quick_cost(text)
    assert cost_bound(text, quick_cost(text) - 1) == parse_cost(text)
