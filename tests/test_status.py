"""Statuses: their order of severity, how a status and its detail read, and their JSON form."""
import pytest

from autograder.grading.status import Finding, Status, render


def test_statuses_run_from_what_stops_all_grading_to_full_marks():
    assert [status.value for status in sorted(Status, key=lambda status: status.rank)] == [
        "grader error", "duplicate submission", "unreadable notebook", "exception at import", "crashed",
        "memory limit", "time limit", "malformed answer", "extraction error", "missing name",
        "exception in probe", "missing answer cell", "partial", "ok"]
    assert Status.GRADER_ERROR.rank == 0 and Status.OK.rank == len(Status) - 1
    assert Status.CRASHED.rank < Status.EXTRACTION_ERROR.rank < Status.MISSING_NAME.rank < Status.PARTIAL.rank


@pytest.mark.parametrize("status, detail, text", [
    (Status.GRADER_ERROR, "KeyError: 'x'", "grader error: KeyError: 'x'"),
    (Status.DUPLICATE_SUBMISSION, "", "duplicate submission"),
    (Status.UNREADABLE_NOTEBOOK, "", "unreadable notebook"),
    (Status.EXCEPTION_AT_IMPORT, "", "exception at import"),
    (Status.CRASHED, "exit code 0", "crashed (exit code 0)"),
    (Status.CRASHED, "signal SIGKILL", "crashed (signal SIGKILL)"),
    (Status.MEMORY_LIMIT, "", "memory limit"),
    (Status.TIME_LIMIT, "", "time limit"),
    (Status.MISSING_ANSWER_CELL, "q1a_answer", "missing answer cell (q1a_answer)"),
    (Status.MALFORMED_ANSWER, "", "malformed answer"),
    (Status.EXTRACTION_ERROR, "cell 12", "extraction error (cell 12)"),
    (Status.EXTRACTION_ERROR, "cells 3, 4", "extraction error (cells 3, 4)"),
    (Status.MISSING_NAME, "add, Counter", "missing name add, Counter"),
    (Status.EXCEPTION_IN_PROBE, "", "exception in probe"),
    (Status.PARTIAL, "", "partial"),
    (Status.OK, "", "ok"),
])
def test_a_status_and_its_detail_read_as_every_report_writes_them(status, detail, text):
    assert render(status, detail) == Finding(status, detail).text == text


def test_a_finding_round_trips_through_json_and_refuses_an_unknown_status():
    finding = Finding(Status.CRASHED, "signal SIGSEGV")
    assert finding.to_json() == {"status": "crashed", "detail": "signal SIGSEGV"}
    assert Finding.from_json(finding.to_json()) == finding
    with pytest.raises(ValueError):
        Finding.from_json({"status": "crashed (signal SIGSEGV)", "detail": ""})
