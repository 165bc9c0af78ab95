"""How much memory reading a JSON text would take, found without parsing it.

`json.loads` builds one Python object per value, and small values cost far more than their text:
`[],` is 3 bytes of text and about 90 bytes of list, so a file of empty lists needs some 30 times its
size. `parse_cost` bounds that from counts that need no objects: each value follows a `[`, `:` or
`,` outside strings (or starts the text), each `{` starts an object (a dict, copied into a
NotebookNode), and each character in a string is at most 4 bytes.

`cost_bound` tries the cheapest bound first: the length times the costliest character (enough for
any notebook under about 1.7 MB), then `quick_cost`, which takes every character for structure and
needs only a few `str.count`, and only then `parse_cost`, which skips strings. It does so in chunks,
so that the scan itself stays small: within a chunk, escaped quotes are removed and the text split
at the remaining quotes, every other piece being outside strings.
"""
from __future__ import annotations

CHUNK = 2**20
# Upper bounds for CPython 3.11 over all of notebook.read_notebook (parsing, repairs and the
# NotebookNode copy), with a margin over what tracemalloc measured on the costliest shapes: 128
# bytes per empty list, 504 per empty object, 744 per one-key object, 171 per key of a large object
# (tests/test_notebook.py checks the bound on each).
BYTES_PER_VALUE = 200
BYTES_PER_OBJECT = 600
BYTES_PER_STRING_CHAR = 4


def cost_bound(text: str, limit: int) -> int:
    """An upper bound of `parse_cost(text)`, exact when the cheaper bounds are over `limit`."""
    by_length = BYTES_PER_VALUE + len(text) * (BYTES_PER_OBJECT + BYTES_PER_STRING_CHAR)
    if by_length <= limit:
        return by_length
    quick = quick_cost(text)
    return quick if quick <= limit else parse_cost(text)


def quick_cost(text: str) -> int:
    """An upper bound of `parse_cost(text)`: every character counted both as structure and as text."""
    return BYTES_PER_VALUE + _cost(text, text, len(text))


def parse_cost(text: str) -> int:
    """Bytes of Python objects that parsing `text` (and making a notebook of it) needs at most."""
    cost, in_string = 0, False  # at the start of the chunk
    for chunk in _chunks(text):
        if "\\" in chunk:  # an escaped backslash or quote never ends a string; pairs go first
            chunk = chunk.replace("\\\\", "").replace('\\"', "")
        pieces = chunk.split('"')
        outside = "".join(pieces[1::2] if in_string else pieces[0::2])
        cost += _cost(text, outside, len(chunk) - len(outside))
        in_string ^= len(pieces) % 2 == 0  # an odd number of quotes
    return BYTES_PER_VALUE + cost  # the value the text is


def _cost(text: str, structure: str, string_chars: int) -> int:
    """The objects' bytes for the values `structure` starts and `string_chars` characters of `text`."""
    values = structure.count("[") + structure.count(":") + structure.count(",")
    width = 1 if text.isascii() else BYTES_PER_STRING_CHAR
    return values * BYTES_PER_VALUE + structure.count("{") * BYTES_PER_OBJECT + string_chars * width


def _chunks(text: str):
    """`text` in pieces of about CHUNK characters, never splitting a run of backslashes from the
    character it escapes."""
    start = 0
    while start < len(text):
        end = min(start + CHUNK, len(text))
        while end < len(text) and text[end - 1] == "\\":
            end += 1
        yield text[start:end]
        start = end

