"""Read any notebook file into an nbformat 4 notebook, or fail with one clear sentence.

Students hand in notebooks saved by many tools: JupyterLab, VS Code, Colab, old IPython (nbformat 3),
Windows editors (BOM, UTF-16, Windows-1252), and sometimes damaged or truncated files. Everything the
grader does starts here, so every way a file can be unreadable ends in a `NotebookError` naming the
file, never a traceback.

Choices:
- Text that is not valid UTF-8 (and has no BOM) is decoded as Windows-1252, falling back to Latin-1
  for the five bytes Windows-1252 leaves undefined; a note says so. Such files are nearly always an
  editor's "ANSI" save, and refusing them would fail a student over an invisible detail.
- Harmless gaps are repaired with a note (missing notebook or cell metadata, missing source, source
  stored as a list of lines, missing outputs or execution counts, missing cell ids). Anything that
  changes what the notebook means (no cell list, a cell that is not an object, source that is not
  text) is an error.
- What a newer or an older Jupyter wrote is read, with a note: nbformat 3 `heading` cells left in a
  v4 file become markdown headings, and a cell of a type this grader does not know (a newer minor
  version may add some) becomes a raw cell, which keeps the cell numbers a student sees and grades
  nothing in it.
- Memory is bounded before parsing: a file over MAX_NOTEBOOK_BYTES is refused unread, and JSON whose
  objects would take more than MAX_PARSE_BYTES (`json_cost`: a file of empty lists needs 40 times
  its size) is refused unparsed.
- Outputs are kept by default (PDF export needs them); `keep_outputs=False` drops them as soon as the
  JSON is parsed, which is what grading wants. Reading a 100 MB notebook of outputs takes about a
  quarter of a second either way, and some 2-3 times the file size in memory.
"""
from __future__ import annotations

import json
from pathlib import Path

from autograder.errors import AutograderError
from autograder.analysis.json_cost import cost_bound
from autograder.analysis.quick_nbformat import nbformat

# The largest notebook file anything in the kit reads or unpacks (outputs are most of a big one).
MAX_NOTEBOOK_BYTES = 200 * 2**20
# The most memory the objects parsed from one notebook may take (see json_cost).
MAX_PARSE_BYTES = 2**30

CELL_TYPES = ("code", "markdown", "raw")
OLDEST_CONVERTIBLE, CURRENT = 1, 4


class NotebookError(AutograderError):
    """A notebook file that cannot be read; the message is one sentence naming the file."""


def read_notebook(path, *, keep_outputs: bool = True, notes: list[str] | None = None) -> nbformat.NotebookNode:
    """Read `path` and return an nbformat 4 `NotebookNode` whose cells all have the standard keys.

    `notes`, when given, receives one sentence per repair or conversion made (encoding guessed,
    nbformat 3 converted, missing metadata added, ...), for the caller to show.
    Raises `NotebookError` for anything that cannot be read.
    """
    path = Path(path)
    notes = [] if notes is None else notes
    text = _decode(path, _read_bytes(path), notes)
    _check_parse_cost(path, text)
    data = _parse_json(path, text)
    del text  # the parsed copy is all we need; free the string before building nodes
    return _to_v4(path, data, keep_outputs, notes)


def notebook_metadata_assignment(nb) -> str | None:
    """The assignment name the kit stored in the notebook metadata (`course_kit.assignment`), if any.

    nbgrader itself keeps no notebook-level assignment name (only per-cell grade ids), so the kit's
    own key is the one place to look.
    """
    kit = nb.get("metadata", {}).get("course_kit")
    name = kit.get("assignment") if isinstance(kit, dict) else None
    return name if isinstance(name, str) and name.strip() else None


QUOTE_LIMIT = 40  # characters of a cell's first line quoted in a message


def cell_label(number: int, source: str) -> str:
    """How messages name a cell: `cell 6 ("## Q1: the energy")`, its 1-based position among all
    cells (JupyterLab shows no numbers, and counts markdown cells when a student counts) and its
    first non-blank line, shortened, so that it can be found by eye or with Find."""
    line = next((text.strip() for text in source.splitlines() if text.strip()), "")
    if len(line) > QUOTE_LIMIT:
        line = line[:QUOTE_LIMIT - 3].rstrip() + "..."
    return f'cell {number} ("{line}")' if line else f"cell {number} (empty)"


def cell_label_in(nb, number: int) -> str:
    """`cell_label` of cell `number` (1-based) of `nb`."""
    return cell_label(number, nb.cells[number - 1].source)


def capitalised(text: str) -> str:
    """`text` with its first letter upper case (str.capitalize lowers the rest)."""
    return text[:1].upper() + text[1:]


def _read_bytes(path: Path) -> bytes:
    try:
        if not path.exists():
            raise NotebookError(f"Cannot read {path}: there is no such file.")
        if path.is_dir():
            raise NotebookError(f"Cannot read {path}: it is a directory, not a notebook file.")
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            raise NotebookError(
                f"Cannot read {path}: it is {size / 2**20:.0f} MB, more than the "
                f"{MAX_NOTEBOOK_BYTES / 2**20:.0f} MB limit (clear the outputs and save it again)."
            )
        raw = path.read_bytes()
    except OSError as error:
        raise NotebookError(f"Cannot read {path}: {error.strerror or error}.") from None
    if not raw.strip():
        raise NotebookError(f"Cannot read {path}: the file is empty.")
    return raw


def _decode(path: Path, raw: bytes, notes: list[str]) -> str:
    # json.detect_encoding recognises the UTF-8/16/32 byte-order marks and BOM-less UTF-16/32 by the
    # zero bytes around the opening "{", the way json.loads(bytes) does.
    encoding = json.detect_encoding(raw)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        if encoding != "utf-8":
            raise NotebookError(
                f"Cannot read {path}: it looks like {encoding.upper()} text but byte "
                f"{error.start} cannot be decoded ({error.reason})."
            ) from None
        bad = error.start
    try:
        text, used = raw.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        text, used = raw.decode("latin-1"), "Latin-1"
    notes.append(
        f"{path} is not valid UTF-8 (byte 0x{raw[bad]:02x} at offset {bad}); it was read as "
        f"{used} text, so check that accented characters came out right."
    )
    return text


def _check_parse_cost(path: Path, text: str) -> None:
    cost = cost_bound(text, MAX_PARSE_BYTES)
    if cost > MAX_PARSE_BYTES:
        raise NotebookError(
            f"Cannot read {path}: its JSON holds so many small values that reading it would take about "
            f"{cost / 2**20:,.0f} MB of memory, more than the {MAX_PARSE_BYTES / 2**20:,.0f} MB allowed "
            "(a notebook Jupyter saved is never like this)."
        )


def _parse_json(path: Path, text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookError(
            f"Cannot read {path}: it is not valid JSON ({error.msg} at line {error.lineno}, "
            f"column {error.colno}); the file may be damaged or only partly saved."
        ) from None
    except RecursionError:
        raise NotebookError(f"Cannot read {path}: its JSON is nested too deeply to be a notebook.") from None
    except ValueError as error:  # an integer longer than Python converts (sys.get_int_max_str_digits)
        raise NotebookError(f"Cannot read {path}: its JSON holds a value Python cannot read ({error}).") from None


def _to_v4(path: Path, data, keep_outputs: bool, notes: list[str]):
    if not isinstance(data, dict):
        raise NotebookError(
            f"Cannot read {path}: it is JSON but not a notebook (the top level is a "
            f"{type(data).__name__}, not an object)."
        )
    major = data.get("nbformat")
    if major is None and isinstance(data.get("cells"), list):
        notes.append(f"{path} does not say which nbformat it uses; it was read as nbformat 4.")
        data["nbformat"] = major = CURRENT
    if type(major) is not int or not OLDEST_CONVERTIBLE <= major <= CURRENT:
        if "cells" not in data and "worksheets" not in data:
            raise NotebookError(f"Cannot read {path}: it is JSON but not a notebook (it has no list of cells).")
        raise NotebookError(
            f"Cannot read {path}: it declares nbformat {major!r}, and only versions "
            f"{OLDEST_CONVERTIBLE} to {CURRENT} can be read."
        )
    if major < CURRENT:
        data = _upgrade(path, data, major, keep_outputs, notes)
    return _normalise_v4(path, data, keep_outputs, notes)


def _upgrade(path: Path, data: dict, major: int, keep_outputs: bool, notes: list[str]) -> dict:
    """Convert nbformat 1-3 to 4 with nbformat's own converters."""
    if major == 3 and not keep_outputs:
        sheets = [sheet for sheet in data.get("worksheets") or [] if isinstance(sheet, dict)]
        for cell in (cell for sheet in sheets for cell in sheet.get("cells") or []):
            if isinstance(cell, dict) and "outputs" in cell:
                cell["outputs"] = []
    try:
        old = nbformat.versions[major].to_notebook_json(data)
        converted = nbformat.convert(old, CURRENT)
    except Exception as error:  # noqa: BLE001 - the converters raise anything on malformed input
        raise NotebookError(
            f"Cannot read {path}: it is an nbformat {major} notebook that could not be converted "
            f"to nbformat 4 ({type(error).__name__}: {error})."
        ) from None
    notes.append(f"{path} was saved as nbformat {major}; it was converted to nbformat 4.")
    return converted


def _normalise_v4(path: Path, data: dict, keep_outputs: bool, notes: list[str]):
    """Check the v4 structure, repair harmless gaps in place, and return a `NotebookNode`."""
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise NotebookError(f"Cannot read {path}: it is JSON but not a notebook (it has no list of cells).")
    repairs, retyped = set(), {}
    if not isinstance(data.get("metadata"), dict):
        data["metadata"] = {}
        repairs.add("notebook metadata")
    minor = data.get("nbformat_minor")
    if not isinstance(minor, int) or minor < 0:
        data["nbformat_minor"] = minor = 4
        repairs.add("nbformat minor version")
    for number, cell in enumerate(cells, start=1):
        original = _normalise_cell(path, number, cell, keep_outputs, needs_id=minor >= 5, repairs=repairs)
        if original != cell["cell_type"]:
            retyped.setdefault(original, []).append(number)
    if repairs:
        missing = ", ".join(sorted(repairs))
        notes.append(f"{path} lacked some standard fields ({missing}); defaults were filled in.")
    notes += [_retyped_note(path, kind, numbers) for kind, numbers in retyped.items()]
    nb = nbformat.from_dict(data)
    return nbformat.v4.rwbase.strip_transient(nbformat.v4.rwbase.rejoin_lines(nb))


def _normalise_cell(path: Path, number: int, cell, keep_outputs: bool, needs_id: bool, repairs: set):
    """Check and repair one cell in place; return the cell type it had."""
    if not isinstance(cell, dict):
        raise NotebookError(f"Cannot read {path}: cell {number} is a {type(cell).__name__}, not a cell object.")
    kind = cell.get("cell_type")
    if kind == "heading":
        _heading_to_markdown(cell)
    elif kind not in CELL_TYPES:
        _unknown_to_raw(cell)
    source = cell.get("source")
    if source is None:
        cell["source"] = ""
        repairs.add("cell source")
    elif (text := _as_text(source)) is None:
        raise NotebookError(f"Cannot read {path}: the source of cell {number} is not text.")
    else:
        cell["source"] = text
    if not isinstance(cell.get("metadata"), dict):
        cell["metadata"] = {}
        repairs.add("cell metadata")
    if needs_id and not isinstance(cell.get("id"), str):
        cell["id"] = nbformat.v4.nbbase.random_cell_id()
        repairs.add("cell ids")
    if kind == "code":
        _normalise_outputs(cell, keep_outputs, repairs)
    return kind


def _as_text(source) -> str | None:
    """A cell's source as one string (nbformat stores a string or a list of lines), else None."""
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    return source if isinstance(source, str) else None


def _heading_to_markdown(cell: dict) -> None:
    """nbformat 3's heading cell (`level` and its text) as the markdown cell nbformat's converter makes."""
    level = cell.pop("level", 1)
    level = level if type(level) is int and 1 <= level <= 6 else 1
    cell["cell_type"] = "markdown"
    text = _as_text(cell.get("source"))
    if text is not None:
        cell["source"] = f"{'#' * level} {text}"


def _unknown_to_raw(cell: dict) -> None:
    """A cell of an unknown type as a raw cell: it keeps its place (and the cell numbers after it),
    its id, metadata and text, and nothing in it is graded."""
    kept = {key: cell[key] for key in ("id", "metadata") if key in cell}
    source = _as_text(cell.get("source")) or ""
    cell.clear()
    cell.update(kept, cell_type="raw", source=source)


def _retyped_note(path: Path, kind, numbers: list[int]) -> str:
    listed = ", ".join(map(str, numbers))
    one = len(numbers) == 1
    if kind == "heading":
        return (f"{path}: cell {listed} is an nbformat 3 heading cell, read as a markdown heading." if one else
                f"{path}: cells {listed} are nbformat 3 heading cells, read as markdown headings.")
    if one:
        return (f"{path}: cell {listed} has the cell type {kind!r}, which is not code, markdown or raw; it was "
                "read as a raw cell, and nothing in it is graded.")
    return (f"{path}: cells {listed} have the cell type {kind!r}, which is not code, markdown or raw; they were "
            "read as raw cells, and nothing in them is graded.")


def _normalise_outputs(cell: dict, keep_outputs: bool, repairs: set) -> None:
    if not keep_outputs:
        cell["outputs"] = []
    elif not isinstance(cell.get("outputs"), list):
        cell["outputs"] = []
        repairs.add("cell outputs")
    if "execution_count" not in cell:
        cell["execution_count"] = None
        repairs.add("execution counts")
