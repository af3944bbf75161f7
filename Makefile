# The two commands of the README: `make sample` and `make test`. Both set everything up first.
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= audit-report

.PHONY: sample test test-fast lint bench screenshot setup clean

setup:
	@./scripts/setup.sh

# Builds the healthy sample (if needed), audits it and writes every report into $(OUT)/.
sample: setup
	@$(PY) samples/build.py healthy
	@$(VENV)/bin/auditor audit samples/build/healthy/model.keras \
		--train samples/build/healthy/train.csv \
		--val samples/build/healthy/val.csv \
		--test samples/build/healthy/test.csv \
		--history samples/build/healthy/history.csv \
		--out $(OUT)

# The whole test suite, slow tests included, on two workers.
test:
	@./scripts/setup.sh --test
	@$(PY) -m pytest -n 2 --dist loadgroup -q

# Quick loop while developing: no Keras training, no PDF, no browser.
test-fast:
	@$(PY) -m pytest -q -m "not slow and not browser"

# ruff, mypy, and import-linter's layer contracts (pyproject.toml's [tool.importlinter]).
lint:
	@./scripts/setup.sh --test
	@$(VENV)/bin/ruff check auditor tests samples benchmarks scripts examples
	@$(VENV)/bin/mypy auditor
	@$(VENV)/bin/lint-imports --no-cache

clean:
	rm -rf $(OUT) samples/build .pytest_cache

# Regenerates docs/report.png, the README's screenshot, from the overfit sample's report.
screenshot: setup
	@$(PY) samples/build.py overfit
	-@$(VENV)/bin/auditor audit samples/build/overfit/model.keras \
		--train samples/build/overfit/train.csv --val samples/build/overfit/val.csv \
		--sweep --sweep-budget 60 --format html --out build/screenshot -q
	@$(PY) scripts/screenshot.py build/screenshot/report.html docs/report.png

# The benchmarks of benchmarks/README.md (~10 minutes; --quick for a smoke run).
bench: setup
	@$(PY) benchmarks/run.py
