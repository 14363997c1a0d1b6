# ecgfast developer tasks. Everything installs into ./.venv, created on first use, so a fresh
# machine with python3 (>= 3.10), pip and a Rust toolchain needs nothing else.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.deps-stamp
# cargo test links libpython: tell PyO3 which interpreter, and the loader where libpython lives.
PYLIBDIR = $(shell $(PY) -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR") or "")')
CARGO_ENV = PYO3_PYTHON=$(abspath $(PY)) LD_LIBRARY_PATH=$(PYLIBDIR):$$LD_LIBRARY_PATH

.PHONY: install build test test-rust test-python lint format bench demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check uv
	$(UV) pip install --python $(PY) --quiet -r pyproject.toml --extra dev --extra torch --extra boosted --extra distributed
	touch $(STAMP)

## install: create .venv, install dependencies and build the extension (release mode)
install: $(STAMP) build

build: $(STAMP)
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release --uv --quiet

## test: Rust unit tests and the Python test suite
test: install test-rust test-python

test-rust: $(STAMP)
	$(CARGO_ENV) cargo test --release --quiet

test-python: $(STAMP)
	$(PY) -m pytest -q tests

## lint: ruff, mypy (python/ecgfast), clippy (warnings are errors) and rustfmt
lint: $(STAMP)
	$(VENV)/bin/ruff check python tests benches examples
	$(VENV)/bin/ruff format --check python tests benches examples
	$(VENV)/bin/mypy
	$(CARGO_ENV) cargo clippy --release --all-targets -- -D warnings
	cargo fmt --check

format: $(STAMP)
	$(VENV)/bin/ruff format python tests benches examples
	$(VENV)/bin/ruff check --fix python tests benches examples
	cargo fmt

## bench: speed against the peers (scipy, ...) in the same run; prints ratios
bench: install
	$(PY) -m pytest benches -q -o testpaths=benches -o python_files='bench_*.py' --benchmark-columns=min,median,mean,rounds --benchmark-sort=name
	$(PY) benches/synth_throughput.py --pathology
	$(PY) benches/intervals_throughput.py
	if [ -d ../shared/data ]; then $(PY) benches/rpeak_accuracy.py; fi
	if [ -d ../shared/data ]; then $(PY) benches/noise_sweep.py; fi
	if [ -d ../shared/data ]; then $(PY) benches/noise_unannotated.py; fi
	if [ -d ../shared/data ]; then $(PY) benches/noise_whole_records.py; fi
	$(PY) benches/detector_stress.py
	$(PY) benches/distributed_throughput.py
	$(PY) benches/deepfake_labels.py --n 500
	if [ -d ../shared/data ]; then $(PY) benches/delineation_accuracy.py; fi
	if [ -d ../shared/data ]; then $(PY) benches/beat_data_build.py; fi
	if [ -d ../shared/data ]; then $(PY) benches/rhythm_gate_af.py; fi
	if [ -d ../shared/data ]; then $(PY) benches/realism.py --out runs/realism; fi
	if [ -d ../shared/data ]; then $(PY) benches/pathology_recognition.py; fi

## demo: the main job end to end on the records shipped with the project: labelled synthetic
## pathology pretraining against scratch, paired, on held-out patients, at 10 % and 100 % labels
demo: install
	$(VENV)/bin/ecgfast beats --pretrain-records 300 --pretrain-mix broad --fractions 0.1,1 --folds 3 --seeds 0 1 --combine --zero-shot --out runs/demo

clean:
	rm -rf target $(VENV) python/ecgfast/_core*.so runs .pytest_cache .benchmarks
