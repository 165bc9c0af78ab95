# Thin aliases over the autograder CLI; the environment lives in .venv/ (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
SUBMISSIONS := examples/submissions

.PHONY: demo test release validate grade bench bench-accuracy clean

$(READY): pyproject.toml scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# Notebooks say `import utils`: the course's helpers are importable so in this environment's Jupyter too.
	$(BIN)/python -c "import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()['purelib'], 'course_helpers.pth').write_text(str(pathlib.Path('nn_course_kit').resolve()) + '\\n')"
	touch $@

demo: $(READY)
	$(BIN)/autograder release
	$(BIN)/autograder validate
	$(MAKE) --no-print-directory grade

grade: $(READY)
	@for dir in $(SUBMISSIONS)/*/; do \
		a=$$(basename $$dir); \
		echo "== grading $$a"; \
		$(BIN)/autograder grade $$a $$dir -o out/$$a || exit 1; \
	done

# The release tests run again on torch's portable CPU kernels, so that nothing a release compares
# byte for byte can depend on the CPU that made it.
test: $(READY)
	$(BIN)/python -m pytest -n 2 --dist loadfile
	ATEN_CPU_CAPABILITY=default $(BIN)/python -m pytest tests/test_release.py -k committed_release

release: $(READY)
	$(BIN)/autograder release

validate: $(READY)
	$(BIN)/autograder validate

# Figures go to benchmarks/BENCHMARKS.md by hand, with the machine, date and command each prints.
bench: $(READY)
	$(BIN)/python benchmarks/bench_notebooks.py --runs 3 --fast --header $(wildcard source/*/*.ipynb)
	$(BIN)/python benchmarks/bench_notebooks.py --runs 3 source/hopfield_batchnorm/hopfield_batchnorm.ipynb
	$(BIN)/python benchmarks/bench_grading.py
	$(BIN)/python benchmarks/bench_sandbox.py
	$(BIN)/python benchmarks/bench_child_per_probe.py
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python benchmarks/bench_mnist_loader.py

# Full-settings training of every mnist_cnn variant on MNIST and Fashion-MNIST: about half an hour;
# then the deep_training source notebook at full settings: about 12 minutes.
bench-accuracy: $(READY)
	$(BIN)/python benchmarks/bench_mnist_accuracy.py
	$(BIN)/python benchmarks/bench_deep_training.py

clean:
	rm -rf $(VENV) .deps out grading-output tests/artifacts
