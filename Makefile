# Thin aliases over the autograder CLI; the environment lives in .venv/ (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
SUBMISSIONS := examples/submissions

.PHONY: demo test release validate grade bench bench-accuracy clean

# The same script builds the grading image (examples/cluster/Dockerfile).
$(READY): pyproject.toml scripts/install-system-deps.sh scripts/install-kit.sh
	PYTHON=$(PYTHON) bash scripts/install-kit.sh
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
	@echo
	@echo "Next, mark the questions graded by hand, question by question, in your browser:"
	@echo "    $(BIN)/autograder mark hopfield_batchnorm out/hopfield_batchnorm"
	@echo "then export the final grades for your LMS (docs/marking.md):"
	@echo "    $(BIN)/autograder export hopfield_batchnorm out/hopfield_batchnorm --format moodle"

# One command: the release regenerations run on torch's portable CPU kernels too (a zygote of their
# own, tests/test_release.py), so that nothing a release compares byte for byte depends on the CPU.
test: $(READY)
	$(BIN)/python -m pytest -n 2 --dist loadfile

release: $(READY)
	$(BIN)/autograder release

validate: $(READY)
	$(BIN)/autograder validate

# Figures go to benchmarks/BENCHMARKS.md by hand, with the machine, date and command each prints.
bench: $(READY)
	$(BIN)/python benchmarks/bench_notebooks.py --runs 3 --fast --header $(wildcard source/*/*.ipynb)
	$(BIN)/python benchmarks/bench_notebooks.py --runs 3 source/hopfield_batchnorm/hopfield_batchnorm.ipynb
	$(BIN)/python benchmarks/bench_notebooks.py --runs 3 source/hopfield_memory/hopfield_memory.ipynb
	$(BIN)/python benchmarks/bench_grading.py
	$(BIN)/python benchmarks/bench_sandbox.py
	$(BIN)/python benchmarks/bench_child_per_probe.py
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python benchmarks/bench_mnist_loader.py
	$(BIN)/python benchmarks/bench_suite.py --runs 3
	$(BIN)/python benchmarks/bench_gradebook.py
	$(BIN)/python benchmarks/bench_hidden_tests.py

# Full-settings training of every mnist_cnn variant on MNIST and Fashion-MNIST (about half an hour), the
# hopfield_memory capacity curve's 50% points (a few minutes), then the deep_training source notebook at
# full settings (about 12 minutes).
bench-accuracy: $(READY)
	$(BIN)/python benchmarks/bench_mnist_accuracy.py
	$(BIN)/python benchmarks/bench_hopfield_capacity.py
	$(BIN)/python benchmarks/bench_deep_training.py

clean:
	rm -rf $(VENV) .deps out grading-output tests/artifacts
