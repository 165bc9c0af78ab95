"""Code cells for paper: long lines wrap between tokens, each continuation marked.

A browser wraps a long line of code wherever a character lands at the margin ("Fals" / "e"). The
PDF's code font and width are fixed (the print template sets them), so the exporter wraps each code
line itself, before the browser has to: at the last token boundary that fits in `COLUMNS`, with
the continuation starting under the line's own indentation behind `MARK`; closing punctuation may
pass the column by two rather than start a line. Only a single token longer than a whole line (a
long string) is cut inside, at a space when it has one.
"""
from __future__ import annotations

from html import escape

from nbconvert.filters.highlight import Highlight2HTML, _pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.token import Text

COLUMNS = 86  # (+ 2 for closing punctuation) of the 88 characters of the print template's code font (11 px) that fit on an A4 line
MARK = "\u21aa"  # ↪, at the start of each continuation
# Punctuation that may pass `COLUMNS` by up to `_CLOSER_ROOM` characters rather than start a line.
_CLOSERS = frozenset({",", ")", "]", "}", ":", ";", "),", "):", "],", "})", "))", "]]", "]:"})
_CLOSER_ROOM = 2
# A character no source holds, where a MARK goes; replaced by the marked-up MARK after highlighting.
_PLACEHOLDER = "\ue000"
MARK_HTML = f"<span class=\"course-pdf-wrap\">{MARK}</span>"


def wrap_tokens(tokens, columns: int | None = None):
    """Pygments `(type, text)` tokens with line breaks (and a `_PLACEHOLDER` mark) added so that no
    line is longer than `columns` (default `COLUMNS`); breaks fall between tokens, and whitespace at
    a break goes."""
    columns = columns or COLUMNS
    column, indent, at_line_start = 0, "", True
    for kind, value in tokens:
        for index, piece in enumerate(value.split("\n")):
            if index:  # a line ends in the source
                yield kind, "\n"
                column, indent, at_line_start = 0, "", True
            if not piece:
                continue
            if at_line_start and not piece.strip():
                indent += piece
            at_line_start = at_line_start and not piece.strip()
            if piece in _CLOSERS and column + len(piece) <= columns + _CLOSER_ROOM:
                yield kind, piece  # a line never continues with a lone "," or ")"
                column += len(piece)
                continue
            while column + len(piece) > columns:
                prefix = f"{indent[:columns // 2]}{_PLACEHOLDER} "
                room = columns - column
                if column > len(prefix) and (not piece.strip() or len(piece) <= columns - len(prefix)):
                    # the token fits on a line of its own: break before it
                    yield Text, "\n" + prefix
                    column, piece = len(prefix), piece.lstrip()
                    continue
                # a token longer than a line: cut it, at its last space that fits when it has one
                cut = piece.rfind(" ", 0, room)
                cut = cut + 1 if cut > 0 else max(room, 1)
                yield kind, piece[:cut]
                yield Text, "\n" + prefix
                column, piece = len(prefix), piece[cut:]
            if piece:
                yield kind, piece
                column += len(piece)


class _WrappingFormatter(HtmlFormatter):
    def format(self, tokensource, outfile):
        return super().format(wrap_tokens(tokensource), outfile)


class WrappingHighlight(Highlight2HTML):
    """nbconvert's `highlight_code` filter, wrapping lines as `wrap_tokens` does."""

    def __call__(self, source, language=None, metadata=None):
        language = language or self.pygments_lexer
        formatter = _WrappingFormatter(cssclass=escape(f" highlight hl-{language}"), **self.extra_formatter_options)
        html = _pygments_highlight(source or " ", formatter, language, metadata)
        return html.replace(_PLACEHOLDER, MARK_HTML)
