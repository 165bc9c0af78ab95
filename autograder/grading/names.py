"""The names grading.toml requires, checked in a notebook's extracted module without running it.

`required_name_problems` says, with the cell at fault and a one-line fix, when a required name is
missing (and why: its cell does not parse, code the grader drops binds it, it is spelled
differently), is the wrong kind (class vs function), or has parameters other than the grader's.
Parameters are read from the code's syntax tree. Used by `autograder check` and by grading.
"""
from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass
from typing import Iterable

from autograder.grading.config import RequiredName
from autograder.analysis.extract import Extraction, code_cells
from autograder.analysis.notebook import capitalised, cell_label_in
from autograder.analysis.rules import Problem


# ----------------------------------------------------------------------------- required names


def required_name_problems(extraction: Extraction, nb, required: Iterable[RequiredName]) -> list[Problem]:
    """Problems with the names grading.toml requires (`required`: its `[[names]]` entries) in the
    module extracted from `nb`."""
    tree = ast.parse(extraction.source)
    problems = []
    for name in required:
        kind = extraction.defined_names.get(name.name)
        if kind is None:
            problems.append(_missing_name(name, extraction, nb))
        elif kind != name.kind:
            problems.append(_wrong_kind(name, kind, kept_cell(extraction, name.name), nb))
        elif name.signature is not None:
            problem = _signature_problem(name, tree, kept_cell(extraction, name.name), nb)
            if problem:
                problems.append(problem)
    return problems


def kept_cell(extraction: Extraction, name: str) -> int:
    """The cell of the definition of `name` the extracted module keeps."""
    return next(entry.cell for entry in reversed(extraction.entries)
                if entry.action == "kept" and name in (entry.name or "").split(", "))


def _named(nb, cell: int) -> str:
    """`Cell 4 ("def square(x):")`, to begin a message."""
    return capitalised(cell_label_in(nb, cell))


def _needs(name: RequiredName) -> str:
    article = "an" if name.kind[0] in "aeiou" else "a"
    return f"question {name.question} needs {article} {name.kind} named `{name.name}`"


def _definition_hint(name: RequiredName) -> str:
    return f"`class {name.name}`" if name.kind == "class" else f"`def {name.name}(...)`"


def _missing_name(name: RequiredName, extraction: Extraction, nb) -> Problem:
    """Say why a required name is missing: its cell does not parse, it is bound by code the grader
    drops, it is spelled differently, or it is simply not there."""
    unparsed = [code.cell for code in code_cells(nb) if code.tree is None
                and re.search(rf"^(?:async\s+def|def|class)\s+{re.escape(name.name)}\b", code.source, re.M)]
    if unparsed:
        cell = unparsed[-1]
        return Problem(cell, "missing-name",
                       f"{_named(nb, cell)} defines `{name.name}` but does not parse, so the grader has no "
                       f"`{name.name}`; {_needs(name)}.",
                       f"fix the syntax error in cell {cell}")
    dropped = [entry for entry in extraction.entries
               if entry.action == "dropped" and name.name in (entry.name or "").split(", ")]
    if dropped:
        entry = dropped[-1]
        return Problem(entry.cell, "missing-name",
                       f"{_named(nb, entry.cell)} sets `{name.name}` on line {entry.line} with code the grader "
                       f"drops ({entry.reason}); {_needs(name)}.",
                       f"define `{name.name}` directly with {_definition_hint(name)}")
    other_case = [n for n in extraction.defined_names if n.lower() == name.name.lower()]
    similar = other_case or difflib.get_close_matches(name.name, list(extraction.defined_names), n=1, cutoff=0.8)
    if similar:
        cell = kept_cell(extraction, similar[0])
        why = " (names are case-sensitive)" if other_case else ""
        return Problem(cell, "missing-name", f"{_named(nb, cell)} defines `{similar[0]}`, but {_needs(name)}{why}.",
                       f"rename `{similar[0]}` to `{name.name}`")
    return Problem(None, "missing-name",
                   f"The notebook does not define `{name.name}`; {_needs(name)}.",
                   f"define {_definition_hint(name)} in a definition cell, spelled exactly so")


def _wrong_kind(name: RequiredName, kind: str, cell: int, nb) -> Problem:
    found = {"class": f"defines `{name.name}` as a class", "function": f"defines `{name.name}` as a function",
             "import": f"imports `{name.name}`", "constant": f"sets `{name.name}` to a constant"}[kind]
    return Problem(cell, "wrong-kind",
                   f"{_named(nb, cell)} {found}, but {_needs(name)}.",
                   f"write `{name.name}` as a {name.kind}: {_definition_hint(name)}")


# ----------------------------------------------------------------------------- signatures


@dataclass(frozen=True)
class Parameter:
    name: str  # as inspect.signature shows it: "x", "*args", "**kwargs", or "*" before keyword-only ones
    optional: bool  # has a default, or collects extra arguments


def parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Parameter]:
    """A function's parameters, in order, read from its syntax tree."""
    args = node.args
    positional = args.posonlyargs + args.args
    first_default = len(positional) - len(args.defaults)
    found = [Parameter(a.arg, i >= first_default) for i, a in enumerate(positional)]
    if args.vararg:
        found.append(Parameter(f"*{args.vararg.arg}", True))
    elif args.kwonlyargs:
        found.append(Parameter("*", True))
    found += [Parameter(a.arg, d is not None) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg:
        found.append(Parameter(f"**{args.kwarg.arg}", True))
    return found


def parse_signature(signature: str) -> list[Parameter]:
    """The parameters of a signature written as in grading.toml: `"(x, eps=1e-5)"` or `"x, eps"`."""
    text = signature.strip()
    return parameters(ast.parse(f"def _{text if text.startswith('(') else f'({text})'}: pass").body[0])


def definition_parameters(name: str, tree: ast.Module) -> list[Parameter] | None:
    """What `inspect.signature` would show for the module's top-level definition of `name`: a
    function's parameters, or a class's `__init__` parameters without `self` (looked up through
    base classes defined in the module). None when that cannot be told without running the code
    (a constructor inherited from a library, or made by a decorator)."""
    definitions = {node.name: node for node in tree.body
                   if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    node, seen = definitions.get(name), set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return parameters(node)
    while isinstance(node, ast.ClassDef) and not node.decorator_list and node.name not in seen:
        seen.add(node.name)
        init = [s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"]
        if init:
            return parameters(init[-1])[1:]
        bases = [definitions.get(b.id) for b in node.bases if isinstance(b, ast.Name)]
        node = bases[0] if len(bases) == 1 else None
    return None


def accepts(found: list[Parameter], expected: list[Parameter]) -> bool:
    """Whether a definition with parameters `found` takes the grader's call: the expected
    parameters come first, by the same names, and anything after them is optional."""
    names = [p.name for p in found[:len(expected)]]
    return names == [p.name for p in expected] and all(p.optional for p in found[len(expected):])


def _signature_problem(name: RequiredName, tree: ast.Module, cell: int, nb) -> Problem | None:
    expected = parse_signature(name.signature)
    found = definition_parameters(name.name, tree)
    if found is None or accepts(found, expected):
        return None
    wanted, actual = (", ".join(p.name for p in params) for params in (expected, found))
    if name.kind == "class":
        init = f"def __init__(self, {wanted})" if wanted else "def __init__(self)"
        return Problem(cell, "wrong-signature",
                       f"{_named(nb, cell)} defines `{name.name}` with the constructor parameters ({actual}), "
                       f"but the grader creates it as `{name.name}({wanted})`.",
                       f"give `{name.name}` the constructor `{init}` (further parameters need defaults)")
    return Problem(cell, "wrong-signature",
                   f"{_named(nb, cell)} defines `{name.name}({actual})`, but the grader calls `{name.name}({wanted})`.",
                   f"make it `def {name.name}({wanted})` (further parameters need defaults)")
