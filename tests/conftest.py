"""Fixtures shared by the test modules: one course zygote per test process (pytest-xdist worker)."""
import pytest

from autograder.sandbox import Zygote


@pytest.fixture(scope="session")
def course_zygote():
    """A zygote with the course's preloads (torch, utils), for the tests that grade the real
    assignments; each grading passes its own limits."""
    with Zygote() as zygote:
        yield zygote
