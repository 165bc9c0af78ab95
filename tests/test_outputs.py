"""Saved outputs as a reader sees them (progress bars at their final state), and code lines wrapped
between tokens for the PDF."""
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from pygments.lexers import PythonLexer

from autograder.analysis.outputs import collapse_progress, terminal_text
from autograder.verbs.code_wrap import _PLACEHOLDER, wrap_tokens


def stream(text, name="stderr"):
    return new_output("stream", name=name, text=text)


def test_carriage_returns_and_backspaces_act_as_on_a_terminal():
    assert terminal_text("\r 10%|#\r 50%|#####\r100%|##########| 10/10\n") == "100%|##########| 10/10\n"
    assert terminal_text("abcdef\rXY") == "XYcdef"  # overwrites, as a terminal does
    assert terminal_text("ab\bc") == "ac"
    assert terminal_text("line one\r\nline two\n") == "line one\nline two\n"  # Windows line ends stay lines


def test_consecutive_redraws_collapse_to_one_output_and_interleaved_streams_keep_their_order():
    cell = new_code_cell("loop()", outputs=[
        stream("\r  0%| 0/2"), stream("\r 50%| 1/2"), stream("\r100%| 2/2"), stream("\n"),
        stream("epoch 1 done\n", "stdout"),
        stream("\r  0%| 0/2"), stream("\r100%| 2/2\n"),
        new_output("display_data", data={"text/plain": "table"}),
    ])
    nb = new_notebook(cells=[cell])
    assert collapse_progress(nb) == 4
    assert [(o.output_type, o.get("name"), o.get("text")) for o in cell.outputs] == [
        ("stream", "stderr", "100%| 2/2\n"), ("stream", "stdout", "epoch 1 done\n"),
        ("stream", "stderr", "100%| 2/2\n"), ("display_data", None, None)]


@pytest.mark.parametrize("columns", range(30, 50))
def test_code_wraps_between_tokens_under_its_indentation_with_a_mark(columns):
    line = "    result = train(" + ", ".join(f"argument_{n}=value_{n}" for n in range(8)) + ")"
    wrapped = "".join(text for _, text in wrap_tokens(PythonLexer().get_tokens(line), columns=columns))
    lines = wrapped.rstrip("\n").split("\n")
    prefix = f"    {_PLACEHOLDER} "
    assert all(len(text) <= columns + 2 for text in lines)  # closing punctuation may pass by two
    assert all(text.startswith(prefix) and not text[len(prefix):].startswith((",", ")")) for text in lines[1:])
    assert "".join(text.replace(prefix, "", 1) if n else text
                   for n, text in enumerate(lines)).replace(" ", "") == line.replace(" ", "")
    for n in range(8):  # no name is cut
        assert any(f"argument_{n}" in text for text in lines) and any(f"value_{n}" in text for text in lines)


def test_a_token_longer_than_a_line_is_cut_at_a_space():
    source = 'text = "' + "word " * 20 + '"'
    lines = "".join(text for _, text in wrap_tokens(PythonLexer().get_tokens(source), columns=30)).split("\n")
    assert all(len(text) <= 30 for text in lines)
    assert all(text.rstrip().endswith(("word", '"', "=")) or not text.strip() for text in lines)
