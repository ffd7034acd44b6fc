# The two commands: `make run` (start otahub and show it working) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint mosquitto bench bench-s3 bench-jobs bench-downloads bench-fleet bench-fec clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/otahub demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

# Mosquitto from Debian's packages, for the external-broker tests; installed once when missing.
mosquitto:
	@{ command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto; } && command -v mosquitto_rr >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto mosquitto-clients >/dev/null; }

test: lint mosquitto
	$(VENV)/bin/pytest -n 2 -p no:cacheprovider

bench: $(STAMP)
	$(VENV)/bin/python bench/bench_things.py

bench-s3: $(STAMP)
	$(VENV)/bin/python bench/bench_s3.py

bench-jobs: $(STAMP)
	$(VENV)/bin/python bench/bench_jobs.py

# nginx (Debian's package) is the reference server; the bench apt-installs it when missing.
bench-downloads: $(STAMP)
	$(VENV)/bin/python bench/bench_downloads.py

bench-fec: $(STAMP)
	$(VENV)/bin/python bench/bench_fec.py

bench-fleet: $(STAMP) mosquitto
	cd bench && ../$(VENV)/bin/python bench_fleet.py

clean:
	rm -rf $(VENV) otahub-data
