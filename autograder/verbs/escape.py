"""Make text that came from a submission inert in the format it is written into: one function per format.

Anything a student controls can reach a report: exception types and messages, probe messages quoting
their values, stdout/stderr tails, notes, file names and student ids. Each writer passes every piece
of text through the function for its format, so no student string can add structure to a report.

- Markdown (`markdown_text`, `markdown_code`): prose is kept on one line, its line breaks (every
  character `str.splitlines` breaks at, U+2028 and U+2029 included) turned into spaces, so it can
  never start a block of its own (heading, list, quote, fence, table, HTML block); then every
  character that means something inline is backslash-escaped (CommonMark makes an escaped ASCII
  punctuation character plain text): emphasis, code, links and images, autolinks and HTML (`<`),
  entities, tables, math, attribute lists, and the markers that would open a block at the start of
  a line (`#`, `>`, `-`, `+`, `1.`). Bare URLs stay text, which some viewers turn into links, never
  into images. Code is an inline code span, also on one line, delimited by a backtick run longer
  than any inside it, so it cannot be closed early.
- HTML: pages come from Jinja templates with autoescape on (`html_template`); nothing is
  concatenated into HTML.
- CSV (`csv_cell`): the csv module quotes; a text cell starting with `=`, `+`, `-`, `@`, a tab or a
  carriage return gets a leading `'`, so a spreadsheet reads it as text, never as a formula.
- JSON: `json.dumps` only. `json_line` is the one-line form (Autolab reads the last line of output):
  ASCII only, so no raw line break of any kind, U+2028 included, can split it.
"""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# str.splitlines breaks at these; Markdown viewers break at some of them, and a JSON-in-JS reader at
# U+2028/U+2029. NUL is replaced as CommonMark does, so the escaped text reads the same everywhere.
_LINE_BREAKS = re.compile("\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_MARKDOWN_INLINE = re.compile(r"([\\`*_~\[\]<>&!|#${}])")
# What opens a list item or a thematic break at the start of a line (the text itself is stripped,
# so it cannot open an indented code block either).
_MARKDOWN_LINE_START = re.compile(r"^(\d*)([-+.)])")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def one_line(text: str) -> str:
    """`text` with every line break a space and NUL the replacement character."""
    return _LINE_BREAKS.sub(" ", text).replace("\0", "\ufffd")


def markdown_text(text: str) -> str:
    """`text` as Markdown that renders as exactly this text (line breaks as spaces), inline."""
    escaped = _MARKDOWN_INLINE.sub(r"\\\1", one_line(text).strip())
    return _MARKDOWN_LINE_START.sub(r"\1\\\2", escaped)


def markdown_code(text: str) -> str:
    """`text` as Markdown inline code (line breaks as spaces), with a fence longer than any run of
    backticks inside it."""
    text = one_line(text)
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def html_template(name: str) -> jinja2.Template:
    """The Jinja template `templates/<name>`, every value it shows HTML-escaped."""
    return _templates().get_template(name)


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def csv_cell(text: str) -> str:
    """A CSV text cell that a spreadsheet shows as text, not as a formula."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def json_line(value) -> str:
    """`value` as JSON on one line of ASCII."""
    return json.dumps(value, ensure_ascii=True)
