"""Check the submission rules the course states, so a student learns before grading what the
extractor would do to their notebook.

Rules (each `Problem` names its cell, counted from 1 among all cells, markdown included, and quotes
its first line, `notebook.cell_label`):
- `syntax-error`: a code cell does not parse, so the grader skips it and everything it defines.
- `imports-first-cell`: a top-level import outside the first code cell (the first one that is not
  blank). Imports inside a function belong to the function and are not flagged.
- `definition-cell-purity`: a cell defines a function or class and also runs other top-level code
  (calls, loops, non-literal assignments, magics), which the extractor drops. Imports are left to
  `imports-first-cell`, and literal constants are definitions too, so neither counts.
- `import-not-allowed`: an import, anywhere (function bodies included), of a top-level package that
  is not in `allowed_imports`. Matching is by top-level package name: `numpy` allows
  `numpy.linalg`. `__future__` is always allowed; the entry `stdlib` allows every module of Python's
  standard library (`sys.stdlib_module_names`); an empty or missing list allows everything.

Cleaning and classification come from `autograder.analysis.extract`, so the rules see the cells exactly as
the extractor does.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass

from autograder.analysis.extract import CodeCell, code_cells
from autograder.analysis.notebook import capitalised


@dataclass(frozen=True)
class Problem:
    """One thing to fix in a student's notebook, here or in `autograder.grading.names`. `cell` is None when
    no single cell is at fault (a name never defined)."""

    cell: int | None
    rule: str  # a rule above, or missing-name | wrong-kind | wrong-signature (`autograder.grading.names`) |
    # does-not-load | run-stopped (`autograder check`)
    message: str
    fix: str


def check_rules(nb, allowed_imports: list[str] | None = None) -> list[Problem]:
    """Every broken rule in `nb`, in cell order (within a cell: the rules in the order above)."""
    cells = code_cells(nb)
    first = next((code for code in cells if code.original.strip()), None)
    problems: list[Problem] = []
    for code in cells:
        if code.error:
            problems.append(_syntax_error(code))
            continue
        if first is not None and code is not first:
            problems += _imports_outside_first_cell(code, first.label)
        problems += _impure_definition_cell(code)
        if allowed_imports:
            problems += _imports_not_allowed(code, set(allowed_imports) | {"__future__"})
    return problems


def _syntax_error(code: CodeCell) -> Problem:
    line = code.error.line
    return Problem(
        code.cell,
        "syntax-error",
        f"{capitalised(code.label)} does not parse (line {line}: {code.error_message}), "
        "so the grader skips the whole cell.",
        f"fix line {line} of cell {code.cell}, then run the cell to check it",
    )


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    return [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]


def _modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    """Top-level package names an import statement loads (none for a relative import)."""
    if isinstance(node, ast.ImportFrom):
        return [node.module.split(".")[0]] if node.level == 0 and node.module else []
    return [alias.name.split(".")[0] for alias in node.names]


def _imports_outside_first_cell(code: CodeCell, first_label: str) -> list[Problem]:
    problems = []
    for statement in code.statements:
        if statement.kind != "import":
            continue
        for node in _import_nodes(statement.node):
            modules = ", ".join(f"`{m}`" for m in _modules(node)) or "a module"
            problems.append(Problem(
                code.cell,
                "imports-first-cell",
                f"{capitalised(code.label)} imports {modules} on line {node.lineno}; every import belongs "
                f"in the first code cell, {first_label}.",
                f"move `{ast.unparse(node)}` to the first code cell, {first_label}",
            ))
    return problems


def _impure_definition_cell(code: CodeCell) -> list[Problem]:
    statements = code.statements
    defined = [s.names[0] for s in statements if s.kind in ("function", "class")]
    dropped = [(e.line, e.text, e.reason) for e in code.top_level_removals]
    dropped += [(s.line, s.text, s.reason) for s in statements if s.kind in ("statement", "magic")]
    if not defined or not dropped:
        return []
    listed = "; ".join(f"line {line} `{text}` ({reason})" for line, text, reason in sorted(dropped))
    names = ", ".join(f"`{name}`" for name in defined)
    return [Problem(
        code.cell,
        "definition-cell-purity",
        f"{capitalised(code.label)} defines {names} but also runs other code, which the grader drops: {listed}.",
        "move those lines to a separate cell so that this cell holds only definitions",
    )]


STANDARD_LIBRARY = "stdlib"  # the allowed_imports entry that allows every standard-library module


def _imports_not_allowed(code: CodeCell, allowed: set[str]) -> list[Problem]:
    problems = []
    listed = ", ".join(sorted(allowed - {"__future__"}))
    if STANDARD_LIBRARY in allowed:
        listed = listed.replace(STANDARD_LIBRARY, "the standard library")
        allowed = allowed | sys.stdlib_module_names
    for node in _import_nodes(code.tree):
        for module in _modules(node):
            if module not in allowed:
                problems.append(Problem(
                    code.cell,
                    "import-not-allowed",
                    f"{capitalised(code.label)} imports `{module}` on line {node.lineno}, which this assignment "
                    f"does not allow (allowed: {listed}).",
                    f"remove `{ast.unparse(node)}` and use only {listed}",
                ))
    return problems
