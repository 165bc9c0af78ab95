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
  concatenated into HTML. Two functions make HTML from what a student wrote, for the marking page,
  and their output is the only markup a template shows unescaped: `markdown_html` renders a
  Markdown cell (mistune) and then keeps only an allow-list of tags and attributes (bleach): no
  script, style, iframe, object, SVG or form element, no event handler or style attribute, no link
  target, images only from `data:` URLs of raster types or SVG (which a browser never runs scripts
  in when it is an image); a tag outside the list shows as text. `code_html` highlights code with
  Pygments, which escapes it. The marking page adds a Content-Security-Policy that allows no inline
  script, so even markup that got through could not run.
- CSV (`csv_cell`): the csv module quotes; a text cell starting with `=`, `+`, `-`, `@`, a tab or a
  carriage return gets a leading `'`, so a spreadsheet reads it as text, never as a formula.
- JSON: `json.dumps` only. `json_line` is the one-line form (Autolab reads the last line of output):
  ASCII only, so no raw line break of any kind, U+2028 included, can split it.
"""
from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from pathlib import Path

import jinja2
import markupsafe

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


# ---- student content as HTML (the marking page) ----------------------------------------------------

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "u", "s", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "img", "span", "div", "a", "sub",
    "sup", "dl", "dt", "dd"})
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")
_DATA_URL = re.compile(r"data:(image/(?:png|jpeg|gif|webp|svg\+xml));base64,([A-Za-z0-9+/=\s]+)")
_ATTACHMENT = re.compile(r"attachment:([^\s)\"'<>]+)")


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if tag == "img":
        return name in ("alt", "title", "width", "height") or (name == "src" and image_src(value) == value)
    if tag in ("span", "div"):
        return name == "class" and value == "math"
    if tag in ("th", "td"):
        return name == "align" and value in ("left", "right", "center")
    return tag == "ol" and name == "start" and value.isdigit()


def image_src(value: str) -> str:
    """`value` when it is a base64 `data:` URL of an image type a page may show, else ""."""
    match = _DATA_URL.fullmatch(value.strip())
    return value if match else ""


def image_data_url(mime: str, data) -> str:
    """A `data:` URL for a notebook output's image (`data` base64 text, or SVG markup), or "" when
    the type is not an image a page may show or the data is not base64."""
    if mime not in IMAGE_TYPES or not isinstance(data, (str, list)):
        return ""
    text = "".join(data) if isinstance(data, list) else data
    if mime == "image/svg+xml":
        return f"data:{mime};base64,{base64.b64encode(text.encode()).decode()}"
    try:
        base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return ""
    return f"data:{mime};base64,{''.join(text.split())}"


def markdown_html(text: str, attachments: dict | None = None) -> markupsafe.Markup:
    """A Markdown cell as safe HTML (see the module's docstring): math left in `\\(...\\)` and
    `$$...$$` for MathJax, `attachment:` images from the cell's own attachments."""
    import bleach  # imported here: only the marking page pays for it

    def attached(match: re.Match) -> str:
        bundle = (attachments or {}).get(match[1])
        for mime, data in (bundle.items() if isinstance(bundle, dict) else ()):
            url = image_data_url(mime, data)
            if url:
                return url
        return "#missing-attachment"
    rendered = _markdown()(_ATTACHMENT.sub(attached, text))
    cleaned = bleach.clean(rendered, tags=ALLOWED_TAGS, attributes=_allowed_attribute, protocols=["data"],
                           strip=False, strip_comments=True)
    return markupsafe.Markup(cleaned)


@functools.cache
def _markdown():
    import mistune
    return mistune.create_markdown(escape=False, plugins=["table", "strikethrough", "math"])


def code_html(source: str) -> markupsafe.Markup:
    """Python code highlighted by Pygments (which escapes it), in `<div class="highlight">`."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer
    return markupsafe.Markup(highlight(source, PythonLexer(), HtmlFormatter()))


def code_css() -> str:
    """The style sheet of `code_html`'s classes."""
    from pygments.formatters import HtmlFormatter
    return HtmlFormatter().get_style_defs(".highlight")
