"""Turn a notebook into an importable module of its definitions, and report what was kept and why.

The grader tests what a submission *defines*, never what its cells *do*, so training runs, plots and
prints never execute during grading. Per code cell, in notebook order:

1. IPython syntax is removed (`autograder.analysis.ipython_syntax`, which finds it with IPython's own input
   transformer): line magics (`%time`, `%matplotlib inline`), shell lines (`!pip install x`), help
   requests (`np.mean?`), assignments from them (`files = !ls`), auto-call lines and cell magics.
   A cell magic whose body IPython runs as ordinary Python (`%%time`, `%%capture`, `%%prun`) only
   loses its first line; any other cell magic drops the whole cell. Removed lines are blanked (or
   become `pass` inside a block), so line numbers stay those the student sees. A cell IPython itself
   could not transform is skipped like one that does not parse.
2. The cell is parsed with `ast`; a cell that does not parse is skipped, with its syntax error.
3. Top-level statements are sorted out (`Statement`): imports (also a `try:` block that only
   imports, with `except ImportError:` fallbacks) are kept; functions and classes (decorated or
   async too) are kept when they are the last definition of their name, as when the notebook runs
   top to bottom; assignments of literal values (anything `ast.literal_eval` accepts) are kept when
   a kept definition uses the name. Everything else is dropped with a reason, including top-level
   `get_ipython()` calls and `if __name__ == "__main__":` blocks.

The module lists `from __future__` imports, then the other imports and the constants in notebook
order, then the definitions in notebook order, moved only where a class or decorator needs another
definition to exist first (a base class redefined in a later cell).

Cell numbers are 1-based positions among all cells, markdown included, as a student counts them.
"""
from __future__ import annotations

import ast
import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

from autograder.errors import AutograderError
from autograder.analysis.ipython_syntax import remove_ipython_syntax, split_lines
from autograder.analysis.notebook import cell_label, read_notebook

KEPT, DROPPED, SKIPPED = "kept", "dropped", "skipped"
DEFINITION_KINDS = ("function", "class")
BINDING_KINDS = ("import", "function", "class", "constant")

MODULE_HEADER = (
    "# Module extracted from a notebook by the course kit's autograder.\n"
    "# It holds only imports, functions, classes and the literal constants they use;\n"
    "# the extraction report says what was dropped and why.\n"
)

DROP_REASONS = {
    ast.Assign: "assignment of non-literal value dropped",
    ast.AnnAssign: "assignment of non-literal value dropped",
    ast.AugAssign: "augmented assignment dropped",
    ast.For: "loop dropped",
    ast.AsyncFor: "loop dropped",
    ast.While: "loop dropped",
    ast.If: "if statement dropped",
    ast.With: "with block dropped",
    ast.AsyncWith: "with block dropped",
    ast.Try: "try statement dropped (only a try block that just imports is kept)",
    ast.Delete: "del statement dropped",
    ast.Assert: "assert statement dropped",
    ast.Raise: "raise statement dropped",
    ast.Pass: "pass statement dropped",
    ast.Global: "global statement dropped",
}


@dataclass(frozen=True)
class Entry:
    """One line of the extraction report.

    kind: import | function | class | constant | statement | magic | syntax-error
    action: kept | dropped | skipped (skipped: the cell did not parse)
    name: the name(s) the statement binds, comma-separated, or None
    text: the first line of the code concerned, shortened
    """

    cell: int
    line: int
    kind: str
    name: str | None
    action: str
    reason: str
    text: str = ""


@dataclass
class Extraction:
    """The module text built from a notebook and the report of every decision taken."""

    source: str
    entries: list[Entry]
    defined_names: dict[str, str]  # name -> "class" | "function" | "import" | "constant"
    notes: list[str] = field(default_factory=list)  # from reading the file (encoding, repairs)
    labels: dict[int, str] = field(default_factory=dict)  # cell number -> `cell 4 ("def square(x):")`

    @property
    def syntax_errors(self) -> list[Entry]:
        return [entry for entry in self.entries if entry.kind == "syntax-error"]

    def counts(self) -> dict[str, int]:
        return {action: sum(e.action == action for e in self.entries) for action in (KEPT, DROPPED, SKIPPED)}

    def to_json(self) -> dict:
        return {
            "counts": self.counts(),
            "defined_names": dict(self.defined_names),
            "entries": [asdict(entry) for entry in self.entries],
            "notes": list(self.notes),
        }

    def to_text(self) -> str:
        counts = self.counts()
        lines = [
            f"Extraction: {counts[KEPT]} kept, {counts[DROPPED]} dropped, {counts[SKIPPED]} skipped "
            "(cells are counted from 1, markdown cells included)."
        ]
        lines += [f"Note: {note}" for note in self.notes]
        current_cell = None
        for entry in self.entries:
            if entry.cell != current_cell:
                current_cell = entry.cell
                lines.append(f"\n{self.labels.get(entry.cell, f'cell {entry.cell}')}")
            lines.append(f"  line {entry.line:<4} {entry.action:<8} {entry.text}  -- {entry.reason}")
        return "\n".join(lines) + "\n"


@dataclass(eq=False)  # compared by identity: two identical lines in different cells are different statements
class Statement:
    """A top-level statement of a code cell, classified the way the extractor treats it."""

    cell: int
    line: int  # of its first line, decorators included
    node: ast.stmt
    kind: str  # import | function | class | constant | statement | magic
    names: tuple[str, ...]  # names it binds
    reason: str  # why it is dropped, for kind "statement" and "magic"
    code: str  # its source text

    @property
    def text(self) -> str:
        """The statement's own first line (`def f(x):` rather than its decorator), shortened."""
        return shorten(self.code.split("\n")[self.node.lineno - self.line])

    def entry(self, action: str, reason: str) -> Entry:
        return Entry(self.cell, self.line, self.kind, ", ".join(self.names) or None, action, reason, self.text)


@dataclass
class CodeCell:
    """A code cell with IPython syntax removed; `tree` is None when the cell does not parse."""

    cell: int  # 1-based position among all cells
    original: str  # the cell as the student wrote it
    source: str  # IPython lines blanked, line numbers unchanged
    removed: list[Entry]  # one entry per IPython line or cell magic removed
    tree: ast.Module | None
    error: Entry | None  # the report entry when the cell does not parse
    error_message: str = ""  # the parser's message, e.g. "expected ':'"

    @property
    def label(self) -> str:
        """`cell 4 ("def square(x):")`: see `notebook.cell_label`."""
        return cell_label(self.cell, self.original)

    @property
    def top_level_removals(self) -> list[Entry]:
        """The removed IPython lines that stood at the top level of the cell, not inside a block."""
        lines = split_lines(self.original)
        return [entry for entry in self.removed if not lines[entry.line - 1][:1].isspace()]

    @cached_property
    def statements(self) -> list[Statement]:
        """Its top-level statements, classified (none when the cell does not parse)."""
        if self.tree is None:
            return []
        lines = self.source.split("\n")
        return [classify(self.cell, node, lines) for node in self.tree.body]


def shorten(text: str, limit: int = 60) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ----------------------------------------------------------------------------- cleaning and parsing


def code_cells(nb) -> list[CodeCell]:
    """Every code cell of `nb` cleaned of IPython syntax and parsed, numbered among all cells."""
    numbered = enumerate(nb.cells, start=1)
    return [clean_cell(number, cell.source) for number, cell in numbered if cell.cell_type == "code"]


def clean_cell(number: int, original: str) -> CodeCell:
    source, removed = original, []
    try:
        source, removed = strip_ipython(number, original)
        return CodeCell(number, original, source, removed, ast.parse(source), None)
    except SyntaxError as problem:  # from the parser, or from IPython's tokenizer
        line, message = problem.lineno or 1, problem.msg
    except (ValueError, RecursionError, MemoryError) as problem:
        # null bytes (ValueError before Python 3.12) and absurdly nested code
        line, message = 1, str(problem) or type(problem).__name__
    lines = source.split("\n")
    text = shorten(lines[line - 1]) if 0 < line <= len(lines) else ""
    reason = f"syntax error: {message}; the whole cell is skipped"
    error = Entry(number, line, "syntax-error", None, SKIPPED, reason, text)
    return CodeCell(number, original, source, removed, None, error, message)


def strip_ipython(cell: int, source: str) -> tuple[str, list[Entry]]:
    """Blank out IPython-only lines of one cell; return the Python left and one entry per removal.
    Raises SyntaxError when IPython cannot read the cell."""
    source, removals = remove_ipython_syntax(source)
    return source, [Entry(cell, r.line, "magic", None, DROPPED, r.reason, shorten(r.text)) for r in removals]


# ----------------------------------------------------------------------------- classifying statements


def classify(cell: int, node: ast.stmt, lines: list[str]) -> Statement:
    first_line = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    code = _source_segment(lines, node, first_line)

    def make(kind, names=(), reason=""):
        return Statement(cell, first_line, node, kind, tuple(names), reason, code)

    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return make("function", [node.name])
    if isinstance(node, ast.ClassDef):
        return make("class", [node.name])
    if isinstance(node, (ast.Import, ast.ImportFrom)) or _is_guarded_import(node):
        return make("import", _bound_names(node))
    if any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "get_ipython"
           for n in ast.walk(node)):
        return make("magic", reason="get_ipython() call dropped")
    if _is_literal_assignment(node):
        return make("constant", _bound_names(node))
    if isinstance(node, ast.Expr):
        reason = "top-level call dropped" if isinstance(node.value, ast.Call) else "top-level expression dropped"
        return make("statement", reason=reason)
    if isinstance(node, ast.AnnAssign) and node.value is None:
        return make("statement", reason="annotation without a value dropped")
    reason = DROP_REASONS.get(type(node), f"top-level {type(node).__name__.lower()} statement dropped")
    names = _bound_names(node) if isinstance(node, (ast.Assign, ast.AnnAssign)) else ()
    return make("statement", names, reason)


def _source_segment(lines: list[str], node: ast.stmt, first_line: int) -> str:
    """The statement's text; decorators included. Column offsets are UTF-8 byte offsets."""
    chunk = lines[first_line - 1 : node.end_lineno]
    chunk[-1] = chunk[-1].encode()[: node.end_col_offset].decode()
    start = node.col_offset if first_line == node.lineno else 0
    chunk[0] = chunk[0].encode()[start:].decode()
    return "\n".join(chunk)


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _is_literal_assignment(node: ast.stmt) -> bool:
    """`N = 10`, `A = B = (1, 2)`, `a, b = 1, 2`, `LR: float = 1e-3` with literal values only."""
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.value is not None and _is_literal(node.value)
    if not isinstance(node, ast.Assign) or not _is_literal(node.value):
        return False
    for target in node.targets:
        if isinstance(target, (ast.Tuple, ast.List)):
            # unpacking must succeed when the module is imported
            unpacks = isinstance(node.value, (ast.Tuple, ast.List)) and len(node.value.elts) == len(target.elts)
            if not unpacks or not all(isinstance(t, ast.Name) for t in target.elts):
                return False
        elif not isinstance(target, ast.Name):
            return False
    return True


IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception"}


def _is_guarded_import(node: ast.stmt) -> bool:
    """`try: import x` / `except ImportError: x = None` (or another import) and nothing else."""
    if not isinstance(node, ast.Try) or not node.body:
        return False

    def harmless(statements):
        plain = (ast.Import, ast.ImportFrom, ast.Pass)
        return all(isinstance(s, plain) or _is_literal_assignment(s) for s in statements)

    def catches_import_error(handler):
        caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        return all(isinstance(c, ast.Name) and c.id in IMPORT_ERRORS for c in caught)

    return (
        all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in node.body)
        and all(h.type is not None and catches_import_error(h) and harmless(h.body) for h in node.handlers)
        and harmless(node.orelse)
        and harmless(node.finalbody)
    )


def _bound_names(node: ast.stmt) -> list[str]:
    """Names a top-level import, assignment or guarded import binds, in order, without repeats."""
    names: list[str] = []
    for child in ast.walk(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            names += [alias.asname or alias.name.split(".")[0] for alias in child.names if alias.name != "*"]
        elif isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            names.append(child.id)
    return list(dict.fromkeys(names))


def _names_used(node: ast.AST) -> set[str]:
    """Global names a definition may read: every loaded name plus `global` declarations."""
    used = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
            used.add(child.id)
        elif isinstance(child, ast.Global):
            used.update(child.names)
    return used


def _names_needed_at_definition(node: ast.stmt) -> set[str]:
    """Names evaluated when a def/class statement runs: decorators, defaults, annotations, bases,
    and a class body (but not function bodies, which run only when called)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = node.args
        all_args = args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
        parts = [*node.decorator_list, *args.defaults, *(d for d in args.kw_defaults if d), node.returns,
                 *(a.annotation for a in all_args)]
        return set().union(*(_names_used(p) for p in parts if p is not None))
    if isinstance(node, ast.ClassDef):
        parts = [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
        needed = set().union(*(_names_used(p) for p in parts))
        for statement in node.body:
            nested = isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            needed |= _names_needed_at_definition(statement) if nested else _names_used(statement)
        return needed
    return set()


# ----------------------------------------------------------------------------- extraction


def extract(nb) -> Extraction:
    """Build the module of `nb`'s definitions and the report (see the module docstring)."""
    entries: list[Entry] = []
    statements: list[Statement] = []
    cells = code_cells(nb)
    for code in cells:
        entries += code.removed
        if code.error:
            entries.append(code.error)
        statements += code.statements

    last_binding = {name: s for s in statements if s.kind in BINDING_KINDS for name in s.names}
    decisions: dict[Statement, tuple[str, str]] = {}  # statement -> (action, reason)

    def superseded_reason(s: Statement) -> str:
        later = last_binding[s.names[0]]
        return f"superseded by the later {later.kind} `{s.names[0]}` in cell {later.cell}, line {later.line}"

    definitions = []
    for s in statements:
        if s.kind in DEFINITION_KINDS:
            if last_binding[s.names[0]] is s:
                definitions.append(s)
                decisions[s] = (KEPT, f"{s.kind} kept")
            else:
                decisions[s] = (DROPPED, superseded_reason(s))

    imports, seen_imports = [], {}
    for s in (s for s in statements if s.kind == "import"):
        key = ast.dump(s.node)
        if key in seen_imports:
            decisions[s] = (DROPPED, f"duplicate of the import in cell {seen_imports[key].cell}")
        else:
            seen_imports[key] = s
            imports.append(s)
            decisions[s] = (KEPT, "import kept")

    used = set().union(*(_names_used(s.node) for s in definitions))
    constants = []
    for s in (s for s in statements if s.kind == "constant"):
        current = [n for n in s.names if last_binding[n] is s]
        if not current:
            decisions[s] = (DROPPED, superseded_reason(s))
        elif used.isdisjoint(current):
            decisions[s] = (DROPPED, "literal constant not used by any kept function or class")
        else:
            constants.append(s)
            decisions[s] = (KEPT, "literal constant used by a kept function or class")

    kept = imports + constants + definitions
    provided = {name for s in kept for name in s.names}
    for s in statements:
        if s.kind in ("statement", "magic"):
            missing = [n for n in s.names if n in used and n not in provided]
            reason = s.reason
            if missing:
                reason += f"; kept definitions use `{'`, `'.join(missing)}`, which the module will not define"
            decisions[s] = (DROPPED, reason)

    entries += [s.entry(*decisions[s]) for s in statements]
    entries.sort(key=lambda e: (e.cell, e.line))
    defined = {name: s.kind for s in kept for name in s.names}
    return Extraction(_module_source(imports, constants, definitions), entries, defined,
                      labels={code.cell: code.label for code in cells})


def _module_source(imports: list[Statement], constants: list[Statement], definitions: list[Statement]) -> str:
    future = [s for s in imports if isinstance(s.node, ast.ImportFrom) and s.node.module == "__future__"]
    ordered = future + [s for s in imports if s not in future] + constants + _definition_order(definitions)
    blocks = [f"# cell {s.cell}\n{s.code}\n" for s in ordered]
    return "\n".join([MODULE_HEADER, *blocks])


def _definition_order(definitions: list[Statement]) -> list[Statement]:
    """Notebook order, except that a definition needed when another one runs (a base class, a
    decorator) is moved before it. A cycle keeps notebook order."""
    names = {s.names[0] for s in definitions}
    needs = {s: (_names_needed_at_definition(s.node) & names) - {s.names[0]} for s in definitions}
    ordered, placed, waiting = [], set(), list(definitions)
    while waiting:
        ready = next((s for s in waiting if needs[s] <= placed), waiting[0])
        waiting.remove(ready)
        ordered.append(ready)
        placed.add(ready.names[0])
    return ordered


# ----------------------------------------------------------------------------- loading and files


def extract_file(path, output: Path | None = None) -> Extraction:
    """Extract the notebook at `path` into `output` (default: the notebook's name with `.py`) and
    write the report beside it as `<output stem>.report.json` and `<output stem>.report.txt`.
    Raises `NotebookError` when the notebook cannot be read."""
    path = Path(path)
    output = Path(output) if output is not None else path.with_suffix(".py")
    if output.resolve() == path.resolve():
        raise AutograderError(f"Refusing to write the extracted module over the notebook {path}.")
    notes: list[str] = []
    extraction = extract(read_notebook(path, keep_outputs=False, notes=notes))
    extraction.notes = notes
    output.parent.mkdir(parents=True, exist_ok=True)
    # Lone surrogates (legal in JSON, rare) can only sit in string literals, where a backslash
    # escape keeps their meaning.
    output.write_text(extraction.source, encoding="utf-8", errors="backslashreplace")
    report = json.dumps(extraction.to_json(), indent=2) + "\n"
    output.with_suffix(".report.json").write_text(report, encoding="utf-8")
    output.with_suffix(".report.txt").write_text(extraction.to_text(), encoding="utf-8", errors="backslashreplace")
    return extraction
