#!/usr/bin/env bash
# Gradescope runs this once, as root, on its Ubuntu base image, when the autograder zip is
# uploaded: it installs the course kit's pinned dependencies (torch's CPU wheel, pinned exactly as
# the kit's pyproject.toml pins it) into a virtualenv and checks what it installed.
#
#   AUTOGRADER_ROOT     Gradescope's folder (default /autograder): the zip is unpacked in $ROOT/source
#   AUTOGRADER_VENV     the virtualenv to make (default /opt/nn-course-kit)
#   --offline           skip the steps that need the network (apt-get, pip) and use the Python in
#                       AUTOGRADER_PYTHON, which must already have the pinned packages (for tests)
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
KIT="$ROOT/source/kit"
VENV="${AUTOGRADER_VENV:-/opt/nn-course-kit}"
TORCH_INDEX="https://download.pytorch.org/whl/cpu"
offline=false
[ "${1:-}" = "--offline" ] && offline=true

if $offline; then
    python="${AUTOGRADER_PYTHON:?--offline needs AUTOGRADER_PYTHON: a Python that has the pinned packages}"
else
    # The kit needs Python 3.11 or later; Ubuntu 22.04's python3 is 3.10, so take its python3.11.
    base=python3
    if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3.11 python3.11-venv
        base=python3.11
    fi
    "$base" -m venv "$VENV"
    python="$VENV/bin/python"
    "$python" -m pip install --quiet --upgrade pip
    # torch first, from the CPU wheel index (PyPI's Linux wheel of the same version is the CUDA build),
    # with the pin written in requirements.txt; then everything else, which that torch satisfies.
    "$python" -m pip install --quiet --index-url "$TORCH_INDEX" "$(grep '^torch==' "$KIT/requirements.txt")"
    "$python" -m pip install --quiet -r "$KIT/requirements.txt"
    # The engine reads its own version from the installed metadata; the code stays where it is.
    "$python" -m pip install --quiet --no-deps -e "$KIT"
fi

cd "$KIT"  # `python -m` imports from the current folder first: the bundle's engine
# What run_autograder checks on every submission is checked once here too, so that a broken
# environment fails at upload rather than on a student's submission.
PYTHONPATH="$KIT:$KIT/nn_course_kit" "$python" -m autograder.verbs.gradescope --self-check
echo "$python" > "$KIT/python"
