# Two commands on a fresh machine: `make report` and `make test`.
# Each creates .venv when missing and installs with the exact pins of constraints.txt.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: test report install bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip==26.3"
	$(BIN)/pip install -q -c constraints.txt -e ".[test,jax]"
	touch $(STAMP)

install: $(STAMP)

# one worker per core (pytest-xdist): the suite is independent test by test, but a module that
# builds a report in a module fixture is one xdist_group (run whole on one worker, so the report
# is built once); the 30 slowest tests are listed at the end, so a run says where its time went
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadgroup --durations=30

report: $(STAMP)
	$(BIN)/crossframe report --out reports/out

# every model, both dtypes, each framework in a fresh process, plus the size sweep:
# reports/out/bench/{bench,targets,sweep,linear_from}.csv and sweep.png
bench: $(STAMP)
	$(BIN)/crossframe bench --dtype float32 --dtype float64 --sweep --out reports/out/bench

clean:
	rm -rf $(VENV) reports/out
