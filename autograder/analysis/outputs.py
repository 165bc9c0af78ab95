"""Saved cell outputs as a reader should see them: progress bars at their final state.

A progress bar (tqdm's text bar) redraws its line by writing a carriage return and the new state.
JupyterLab applies those as a terminal does before it saves a notebook, but a notebook executed
headless (nbclient, as `autograder validate` and `jupyter nbconvert --execute` run it) keeps every
redraw, and often as a separate output per message: a six-second loop becomes sixty lines. `collapse_progress`
joins consecutive outputs of the same stream and applies carriage returns and backspaces as a
terminal would, so each bar keeps the one line a person last saw.
"""
from __future__ import annotations


def terminal_text(text: str) -> str:
    """`text` as a terminal shows it: on each line, a carriage return moves back to its start and
    what follows overwrites it, a backspace moves back one character. "\\r\\n" ends a line."""
    shown = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if "\r" not in line and "\b" not in line:
            shown.append(line)
            continue
        screen: list[str] = []
        column = 0
        for char in line:
            if char == "\r":
                column = 0
            elif char == "\b":
                column = max(column - 1, 0)
            else:
                if column < len(screen):
                    screen[column] = char
                else:
                    screen.append(char)
                column += 1
        shown.append("".join(screen).rstrip())
    return "\n".join(shown)


def collapse_progress(nb) -> int:
    """Join consecutive stream outputs of the same stream in every code cell of `nb` and apply their
    carriage returns and backspaces (`terminal_text`), in place. Returns how many outputs went."""
    removed = 0
    for cell in nb.cells:
        outputs = cell.get("outputs") if cell.get("cell_type") == "code" else None
        if not outputs:
            continue
        kept = []
        for output in outputs:
            previous = kept[-1] if kept else None
            if (output.get("output_type") == "stream" and previous is not None
                    and previous.get("output_type") == "stream" and previous.get("name") == output.get("name")):
                previous["text"] = _text(previous) + _text(output)
                removed += 1
            else:
                kept.append(output)
        for output in kept:
            if output.get("output_type") == "stream":
                text = _text(output)
                if "\r" in text or "\b" in text:
                    output["text"] = terminal_text(text)
        cell["outputs"] = kept
    return removed


def _text(output) -> str:
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else text
