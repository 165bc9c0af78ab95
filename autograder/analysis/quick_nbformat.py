"""nbformat, imported without the 1.5 s that jsonschema's optional IRI checker costs.

nbformat imports jsonschema, whose format module imports `rfc3987_syntax` when it is installed (for
the `iri` format), and that package builds a Lark grammar as it loads: 1.5 of the 1.7 s that
`import nbformat` takes. nbformat validates notebooks without a format checker, and no notebook
schema has an `iri` field, so jsonschema is imported here with that package hidden, as if it were
not installed. Only jsonschema's `iri` checker is missing afterwards; `import rfc3987_syntax` works.

Engine modules import nbformat from here: `from autograder.analysis.quick_nbformat import nbformat`.
"""
import sys

OPTIONAL_SLOW_IMPORT = "rfc3987_syntax"


def _import_jsonschema_without_iri_checker() -> None:
    if "jsonschema" in sys.modules or OPTIONAL_SLOW_IMPORT in sys.modules:
        return  # loaded already, with whatever checkers its importer wanted
    sys.modules[OPTIONAL_SLOW_IMPORT] = None  # `import` then raises ImportError, which jsonschema expects
    try:
        import jsonschema  # noqa: F401
    finally:
        del sys.modules[OPTIONAL_SLOW_IMPORT]


_import_jsonschema_without_iri_checker()

import nbformat  # noqa: E402  (after jsonschema, on purpose)

__all__ = ["nbformat"]
