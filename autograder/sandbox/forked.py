"""Running a function in a forked process that must never return into its parent's code."""
import os
import traceback


def run_forked(body) -> None:
    """Run `body` in this (forked) process and exit: 0 if it returned, 1 if it raised."""
    code = 1
    try:
        body()
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)
