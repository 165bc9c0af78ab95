"""Reading notebooks: every odd file a student can hand in gives a notebook or one clear sentence."""
import json
from pathlib import Path

import nbformat
import nbformat.v4 as v4
import pytest

from autograder import notebook
from autograder.notebook import NotebookError, notebook_metadata_assignment, read_notebook


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


@pytest.mark.parametrize("cell, expected", [
    ({"cell_type": "code", "source": 42}, "source of cell 2 is not text"),
    ({"cell_type": "code", "source": ["ok", 3]}, "source of cell 2 is not text"),
    ({"cell_type": "widget", "source": ""}, "cell 2 has cell type 'widget'"),
    ({"source": "x = 1"}, "cell 2 has cell type None"),
    ("print(1)", "cell 2 is a str"),
])
def test_cells_that_cannot_be_repaired_are_named(tmp_path, cell, expected):
    data = {"nbformat": 4, "nbformat_minor": 4, "metadata": {},
            "cells": [{"cell_type": "markdown", "metadata": {}, "source": "intro"}, cell]}
    assert expected in read_error(write(tmp_path, json.dumps(data)))


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
