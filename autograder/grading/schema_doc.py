"""Render grading.toml's schema (`autograder.grading.schema`) as Markdown: the reference section of
docs/authoring.md, which sits between two marker comments.

`python -m autograder.grading.schema_doc` rewrites that section; a test fails while the document differs
from what the schema renders now, so the reference cannot fall behind the code.
"""
import inspect
import json
import typing

from autograder import paths
from autograder.grading.schema import TABLES, kind_of

DOCUMENT = paths.REPO_ROOT / "docs" / "authoring.md"
BEGIN = "<!-- BEGIN grading.toml reference: generated from autograder/grading/schema.py by `python -m autograder.grading.schema_doc` -->"
END = "<!-- END grading.toml reference -->"


def reference() -> str:
    """One Markdown table per TOML table: each key with its type, its default and its meaning."""
    return "\n\n".join(_table(model) for model in TABLES)


def _table(model) -> str:
    hints = typing.get_type_hints(model, include_extras=True)
    rows = [f"| `{key}` | {kind_of(hints[key])} | {_default(field)} | {field.description} |"
            for key, field in model.model_fields.items()]
    return "\n".join([inspect.getdoc(model), "", "| key | type | when absent | meaning |",
                      "| --- | --- | --- | --- |", *rows])


def _default(field) -> str:
    if field.is_required():
        return "required"
    absent = (field.json_schema_extra or {}).get("absent")
    # JSON writes the defaults there are (numbers, booleans, lists of strings) as TOML does.
    return absent or f"`{json.dumps(field.default)}`"


def with_reference(document: str) -> str:
    """`document` with the text between the markers replaced by the current reference."""
    before, begin, rest = document.partition(BEGIN)
    _, end, after = rest.partition(END)
    if not (begin and end):
        raise ValueError(f"the document lacks the marker lines {BEGIN!r} and {END!r}")
    return f"{before}{BEGIN}\n{reference()}\n{END}{after}"


def main() -> None:
    DOCUMENT.write_text(with_reference(DOCUMENT.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
