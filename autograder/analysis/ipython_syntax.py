"""Find the IPython syntax of a code cell with IPython's own input transformer, and blank it out.

A notebook's code cell is IPython, not Python: line magics (`%time f()`), shell lines (`!pip install
x`), help requests (`np.mean?`, `??np`), assignments from magics and shell lines (`files = !ls`,
`t = %timeit -o f()`), auto-call and auto-quote lines (`/f x`, `,f a b`), and cell magics (`%%time`).
The finders of IPython's `TransformerManager`, which the kernel runs on every cell, locate them in
the cell's tokens, so a `%` or `?` inside brackets, a string or a comment is never taken for one.
A candidate that IPython itself cannot transform (`print(x)?`) is left for the parser to reject.

Instead of turning them into `get_ipython()` calls, as IPython does, the extractor removes them:
their lines are blanked (or become `pass` inside a block), so line numbers stay those the student
sees, and each removal says why. A cell magic whose body IPython runs as ordinary Python in the
notebook namespace (`%%time`, `%%capture`, `%%prun`) only loses its first line; any other cell magic
drops the whole cell: `%%bash`, `%%writefile`, `%%html`, ... are not Python, and `%%timeit` runs its
body inside a function, so nothing it defines survives in the notebook either.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from IPython.core import inputtransformer2 as ipython

# Cell magics whose body IPython executes as Python in the user's namespace.
PYTHON_BODY_CELL_MAGICS = frozenset({"time", "capture", "prun"})
# IPython's finders of line syntax: assignments from magics and shell lines, escaped lines, help.
FINDERS = tuple(ipython.TransformerManager().token_transformers)
ASSIGNMENT_REASON = "assignment from an IPython magic or shell command removed"
HELP_REASON = "help request removed"
ESCAPE_REASONS = {"%": "IPython magic removed", "!": "shell command removed", "?": HELP_REASON,
                  "/": "IPython auto-call removed", ",": "IPython auto-quote removed",
                  ";": "IPython auto-quote removed"}
# IPython tokenizes the whole cell again after each line it transforms. The tokens stay valid after
# a removal unless the removed lines left a bracket or a string open, or continued (with a backslash)
# over other tokens; only then is the cell tokenized again, at most this many times, so that a
# hostile cell costs a bounded number of passes.
MAX_RETOKENIZATIONS = 4


@dataclass(frozen=True)
class Removal:
    line: int  # 1-based, in the cell
    reason: str
    text: str  # the line as the student wrote it


def split_lines(source: str) -> list[str]:
    """Physical lines as Python counts them (\\n, \\r\\n or \\r), without their ends."""
    return source.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def remove_ipython_syntax(source: str) -> tuple[str, list[Removal]]:
    """`source` with its IPython syntax blanked out, line numbers unchanged, and one Removal per
    line or cell magic removed. Raises SyntaxError when IPython's tokenizer rejects the cell (an
    inconsistent dedent) or the cell needs too many passes (`MAX_RETOKENIZATIONS`)."""
    lines = split_lines(source)
    removals = []
    first, magic = _cell_magic(lines)
    if magic is not None:
        if magic not in PYTHON_BODY_CELL_MAGICS:
            reason = (f"cell magic %%{magic}: its body does not define anything in the notebook, "
                      "so the cell is dropped")
            return "", [Removal(first + 1, reason, lines[first])]
        removals.append(Removal(first + 1, f"cell magic %%{magic} removed; its body is read as Python", lines[first]))
        lines[first] = ""
    removals += _remove_line_syntax(lines)  # blanks them in `lines`
    return "\n".join(lines), removals


def _cell_magic(lines: list[str]) -> tuple[int, str | None]:
    """The index of the first line that is not blank, and the name of the cell magic it starts, if
    it starts one in IPython's eyes (`%%name`, but not the help request `%%name?`)."""
    with_ends = ipython.leading_empty_lines([line + "\n" for line in lines])
    first = len(lines) - len(with_ends)
    if ipython.cell_magic(with_ends) is with_ends:  # IPython returns the lines themselves: no cell magic
        return first, None
    return first, with_ends[0][2:].rstrip().partition(" ")[0]  # as IPython reads the name


def _remove_line_syntax(lines: list[str]) -> list[Removal]:
    """Blank out, in place, every line of IPython line syntax; return what was removed."""
    with_ends = [line + "\n" for line in lines]
    tokens = ipython.make_tokens_by_line(with_ends)
    removals, index, retokenized = [], 0, 0
    while index < len(tokens):
        logical_line = tokens[index]
        index += 1
        found = _ipython_syntax(logical_line, with_ends)
        if found is None:
            continue
        start, end = found.start_line, _last_line(found, with_ends)
        removals.append(_blank(lines, with_ends, start, end, _reason(found, lines)))
        if logical_line[-1].start[0] - 1 != end:
            # The tokens no longer match the lines: the removed ones left a bracket or a string open,
            # or their backslash continuations held other tokens.
            retokenized += 1
            if retokenized > MAX_RETOKENIZATIONS:
                raise SyntaxError(f"more than {MAX_RETOKENIZATIONS} lines of IPython syntax leave a bracket, "
                                  "a string or a continuation open", ("<cell>", start + 1, 1, lines[start]))
            tokens, index = ipython.make_tokens_by_line(with_ends), 0
        index = next((i for i in range(index, len(tokens)) if tokens[i][0].start[0] - 1 > end), len(tokens))
    return removals


def _ipython_syntax(logical_line, with_ends: list[str]):
    """IPython's transform for the syntax starting this logical line, or None: the candidates in
    IPython's order, the first that IPython can transform."""
    candidates = [found for finder in FINDERS if (found := _find(finder, logical_line))]
    return next((candidate for candidate in sorted(candidates, key=ipython.TokenTransformBase.sortby)
                 if _transforms(candidate, with_ends)), None)


def _find(finder, logical_line):
    try:
        return finder.find([logical_line])
    except IndexError:  # IPython's finders read past a line the tokenizer cut short (`x = % \\` at the end)
        return None


def _transforms(candidate, with_ends: list[str]) -> bool:
    """Whether IPython can transform `candidate` (`print(x)?` is no help request). It is tried on its
    own lines, moved to the top, so that the cost does not grow with the cell."""
    first, last = candidate.start_line, _last_line(candidate, with_ends)
    moved = copy.copy(candidate)
    moved.start_line = 0
    if isinstance(moved, ipython.HelpEnd):
        moved.q_line -= first
    try:
        moved.transform(with_ends[first : last + 1])
    except SyntaxError:
        return False
    return True


def _last_line(found, with_ends: list[str]) -> int:
    """The index of the last physical line of the syntax `found`: a help request ends at its `?`,
    anything else where its backslash continuations end (as IPython reads them)."""
    if isinstance(found, ipython.HelpEnd):
        return found.q_line
    return min(ipython.find_end_of_continued_line(with_ends, found.start_line), len(with_ends) - 1)


def _reason(found, lines: list[str]) -> str:
    if isinstance(found, (ipython.MagicAssign, ipython.SystemAssign)):
        return ASSIGNMENT_REASON
    if isinstance(found, ipython.HelpEnd):
        return HELP_REASON
    return ESCAPE_REASONS.get(lines[found.start_line][found.start_col], "IPython syntax removed")


def _blank(lines: list[str], with_ends: list[str], start: int, end: int, reason: str) -> Removal:
    """Blank lines `start` to `end` in both lists; inside a block, the first becomes `pass`, which
    keeps the block valid."""
    text = lines[start]
    indent = text[: len(text) - len(text.lstrip())]
    lines[start : end + 1] = [""] * (end + 1 - start)
    if indent:
        lines[start] = f"{indent}pass"
        reason += " (replaced by `pass` inside its block)"
    with_ends[start : end + 1] = [line + "\n" for line in lines[start : end + 1]]
    return Removal(start + 1, reason, text)
