#!/usr/bin/env bash
# Installs the kit: what it needs outside Python (install-system-deps.sh), then .venv/ with the kit
# in editable mode and its test extra. `make` runs this (and so CI), and so does the grading image
# (examples/cluster/Dockerfile): one list of build steps for both.
#   PYTHON  the interpreter to make .venv with (default python3)
# Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
venv=.venv
test -x "$venv/bin/python" || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e '.[test]'
# Notebooks say `import utils`: the course's helpers are importable so in this environment's Jupyter too.
"$venv/bin/python" -c "import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()['purelib'], 'course_helpers.pth').write_text(str(pathlib.Path('nn_course_kit').resolve()) + '\n')"
