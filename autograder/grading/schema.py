"""The shape of grading.toml: one pydantic model per table, with each key's type, default and meaning.

Checks of a single value live here (a positive number, a Python name, a parameter list); checks
that relate keys to each other or to files live in `autograder.grading.config`. `parse` turns pydantic's
errors into (key path, problem) in the words of each key's `Kind`, and `autograder.grading.schema_doc`
renders these models as the reference of docs/authoring.md, so the file, its checks and its
documentation cannot drift apart.

Models are strict: TOML already gives typed values, so "3" is not a number and 1 is not true.
"""
from __future__ import annotations

import ast
import math
import reprlib
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from autograder.sandbox.limits import Limits
from autograder.sandbox.parent import DEFAULT_PRELOAD


@dataclass(frozen=True)
class Kind:
    """What a value must be, in words: the type column of the reference and the "must be ..." of errors."""
    text: str


def _python_name(value: str) -> str:
    if not value.isidentifier():
        raise ValueError("not a Python name")
    return value


def _parameter_list(value: str) -> str:
    text = value.strip()
    try:
        ast.parse(f"def _{text if text.startswith('(') else f'({text})'}: pass")
    except (SyntaxError, ValueError):  # pydantic turns only a ValueError into a validation error
        raise ValueError("not a parameter list") from None
    return value


# pattern: at least one character that is not white space.
Text = Annotated[str, Field(pattern=r"\S"), Kind("a non-empty string")]
FileName = Annotated[str, Field(pattern=r"\S"), Kind("a file path, relative to grading.toml's folder")]
PositiveNumber = Annotated[float, Field(gt=0, allow_inf_nan=False), Kind("a positive number")]
# The kernel's rlimits take whole numbers.
WholeLimit = Annotated[float, Field(gt=0, allow_inf_nan=False), AfterValidator(math.ceil),
                       Kind("a positive number, rounded up to a whole number")]
Flag = Annotated[bool, Kind("true or false")]
PythonName = Annotated[str, AfterValidator(_python_name), Kind("a Python name")]
ParameterList = Annotated[str, AfterValidator(_parameter_list),
                          Kind('a Python parameter list such as "(x, eps=1e-5)"')]


class _Table(BaseModel):
    # extra="forbid": a misspelt key would otherwise be ignored without a word.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


_DEFAULT_LIMITS = Limits()


class LimitsTable(_Table):
    """`[limits]`: what one sandboxed run of a submission (all of its probes) may use. A run that
    exceeds a limit is stopped, and the probes it had not finished score nothing."""

    wall_seconds: PositiveNumber = Field(_DEFAULT_LIMITS.wall_seconds,
                                         description="Real time, enforced by the grading process.")
    cpu_seconds: PositiveNumber = Field(_DEFAULT_LIMITS.cpu_seconds,
                                        description="CPU time of the run, all its processes together; it is killed beyond it.")
    memory_mb: WholeLimit = Field(_DEFAULT_LIMITS.memory_mb,
                                  description="Memory (address space) the run may use beyond what the "
                                              "preloaded modules take, in MB.")
    processes: WholeLimit = Field(_DEFAULT_LIMITS.processes,
                                  description="Processes and threads the run may have at once.")
    file_size_mb: WholeLimit = Field(_DEFAULT_LIMITS.file_size_mb,
                                     description="Largest file the run may write, in MB.")

    def as_limits(self) -> Limits:
        return Limits(**self.model_dump())


ModuleNames = Annotated[list[Annotated[Text, Kind("a module name")]], Kind("a list of module names")]


class SandboxTable(_Table):
    """`[sandbox]`: what the sandbox's zygote imports once for every run, and what a run cannot import."""

    preload: ModuleNames = Field(list(DEFAULT_PRELOAD),
                                 description="Modules the zygote imports before it forks the runs, so that no "
                                             "run pays for importing them.",
                                 json_schema_extra={"absent": ", ".join(f"`{name}`" for name in DEFAULT_PRELOAD)})
    blocked_imports: ModuleNames = Field(
        [], description="Top-level packages no run can import (`import torch` raises ImportError): the zygote "
                        "does not import them, and the child's file system holds a stand-in package in their "
                        "place. Never preloaded.")


class Question(_Table):
    """`[[questions]]`: one question of the assignment, graded by the probes of its id or by hand."""

    id: Text = Field(description="Short unique name, such as \"Q2A\", which probes and names refer to.")
    # None is never kept: the validator below fills a missing title in from the id.
    title: Text = Field(None, description="What the reports call the question.",
                        json_schema_extra={"absent": "the id"})
    points: PositiveNumber = Field(description="Its marks. Autograded: the hidden probes' points of "
                                               "this question add up to it.")
    manual: Flag = Field(False, description="Graded by hand (a derivation, a plot): no probe may "
                                            "name it, and reports list it as needing manual grading.")
    # None is never kept: the validator below fills missing cells in from the id.
    cells: Annotated[list[Annotated[Text, Kind("a cell id")]], Field(min_length=1),
                     Kind("a list of nbgrader cell ids")] = Field(
        None, description="The nbgrader `grade_id`s of the notebook's cells that hold this question: "
                          "for a manual question, what `autograder mark` shows the grader (the answer "
                          "cells, the code and plots they discuss) and the cell whose `*Marking*` text is "
                          "the rubric; for an autograded one, its tests cell, which nbgrader's gradebook "
                          "scores.", json_schema_extra={"absent": "`[id]`"})

    @model_validator(mode="before")
    @classmethod
    def _title_defaults_to_id(cls, data):
        if isinstance(data, dict) and "id" in data:
            data = {"title": data["id"], "cells": [data["id"]], **data}
        return data


class RequiredName(_Table):
    """`[[names]]`: a name the submission's extracted module must define for its question's probes
    to run; `autograder check` tells a student when it is missing, of the wrong kind or called otherwise."""

    name: PythonName = Field(description="The function's or class's name.")
    kind: Annotated[Literal["class", "function"], Kind('"class" or "function"')] = Field(
        description="What the name must be bound to.")
    question: Text = Field(description="The id of the question whose probes use it.")
    signature: ParameterList | None = Field(
        None, description="How the grader calls it: a function's parameters, or a class's constructor "
                          "parameters without `self`, as `inspect.signature` shows them.",
        json_schema_extra={"absent": "any parameters"})


class GradingFile(_Table):
    """The top level of `assignments/<a>/grading.toml`."""

    assignment: Text = Field(description="The assignment's name: its folders are `source/<a>/`, "
                                         "`release/<a>/` and `assignments/<a>/`.")
    title: Text | None = Field(None, description="What the reports call the assignment.",
                               json_schema_extra={"absent": "the assignment's name"})
    probes: FileName = Field(description="The hidden probes, which grade. Never released.")
    checks: FileName | None = Field(None, description="The visible checks, which `autograder check` runs "
                                                      "for students; released in the check bundle.",
                                    json_schema_extra={"absent": "no visible checks"})
    source: FileName | None = Field(None, description="The reference notebook, with the model solutions.",
                                    json_schema_extra={"absent": "`source/<a>/<a>.ipynb` of the course"})
    allowed_imports: ModuleNames = Field(
        [], description="The top-level packages a submission may import (`stdlib`: every module of the "
                  "standard library); empty allows every import.")
    limits: Annotated[LimitsTable, Kind("a [limits] table")] = Field(
        LimitsTable(), description="The sandbox's limits for one run (below).",
        json_schema_extra={"absent": "every limit at its default"})
    sandbox: Annotated[SandboxTable, Kind("a [sandbox] table")] = Field(
        SandboxTable(), description="What the sandbox preloads and blocks (below).",
        json_schema_extra={"absent": "the default preloads, nothing blocked"})
    questions: Annotated[list[Annotated[Question, Kind("a [[questions]] table")]], Field(min_length=1),
                         Kind("one or more [[questions]] tables")] = Field(description="The questions (below).")
    names: Annotated[list[Annotated[RequiredName, Kind("a [[names]] table")]], Kind("zero or more [[names]] tables")] = Field(
        [], description="The names the probes need (below).")


TABLES = (GradingFile, LimitsTable, SandboxTable, Question, RequiredName)  # in the order the reference shows them


class SchemaError(ValueError):
    """A grading.toml value that the schema refuses: `key` is its path, `problem` says what is wrong."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key, self.problem = key, problem


def parse(data: dict) -> GradingFile:
    """The parsed TOML `data` as a GradingFile. Raises SchemaError for the first problem pydantic finds."""
    try:
        return GradingFile.model_validate(data)
    except ValidationError as error:
        raise _schema_error(error.errors()[0]) from None


def _schema_error(error: dict) -> SchemaError:
    """One of pydantic's errors in the words of the schema: the key path as grading.toml spells it
    (`questions[2].points`, counting tables from 1) and what is wrong with the value."""
    location = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        table = _annotation_at(location[:-1])
        known = ", ".join(table.model_fields)
        return SchemaError(_key_path(location[:-1]) or "top level",
                           f"unknown key {location[-1]!r} (known: {known})")
    if error["type"] == "missing":
        return SchemaError(_key_path(location), "is required")
    value = reprlib.repr(error["input"])  # abbreviated: a wrong value may be a whole table
    return SchemaError(_key_path(location), f"must be {kind_of(_annotation_at(location))}, not {value}")


def _key_path(location: tuple) -> str:
    parts = [f"[{part + 1}]" if isinstance(part, int) else f".{part}" for part in location]
    return "".join(parts).removeprefix(".")


def _annotation_at(location: tuple):
    """The annotation (Annotated metadata kept) of the value at `location` in a GradingFile."""
    annotation = GradingFile
    for part in location:
        annotation = _without_none(_without_metadata(annotation))
        if isinstance(part, int):
            (annotation,) = typing.get_args(annotation)  # list[item]
        else:
            annotation = typing.get_type_hints(annotation, include_extras=True)[part]
    return _without_none(annotation)


def kind_of(annotation) -> str:
    """The Kind of a (possibly optional) annotation: what its values must be, in words. Nested
    Annotated types flatten, so the last Kind is the one written last, around the others."""
    metadata = getattr(_without_none(annotation), "__metadata__", ())
    return [item.text for item in metadata if isinstance(item, Kind)][-1]


def _without_metadata(annotation):
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is Annotated else annotation


def _without_none(annotation):
    """`X` for `X | None`, else the annotation itself."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return annotation
    (without,) = [argument for argument in typing.get_args(annotation) if argument is not type(None)]
    return without
