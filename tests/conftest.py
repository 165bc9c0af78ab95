"""Fixtures shared by the test modules: one course zygote per test process (pytest-xdist worker).

`make test` runs two workers on two cores, so every process the tests start computes on one thread
(torch in the workers, the notebook kernels `validate` starts, the sandbox's children already do):
more threads than cores only make them wait for each other.
"""
import os

import pytest

from autograder.sandbox import Zygote

os.environ["OMP_NUM_THREADS"] = "1"  # read by torch when a test process first imports it


@pytest.fixture(scope="session")
def course_zygote():
    """A zygote with the course's preloads (torch, utils), for the tests that grade the real
    assignments; each grading passes its own limits."""
    with Zygote() as zygote:
        yield zygote

