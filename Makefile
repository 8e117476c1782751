# Two entry points for a fresh machine (see README):
#   make demo   install everything into .venv and score the bundled example plan
#   make test   install everything (with test tools) and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test install lint bench eval calibrate serve

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# CPU torch first: on Linux a plain `torch` requirement pulls the multi-GB CUDA build, so it comes
# from PyTorch's CPU wheel index there (macOS wheels on PyPI are CPU builds already). An *extra*
# index: its 2.13.0+cpu outranks PyPI's 2.13.0, and torch's own dependencies still come from PyPI
# on machines that reach only PyPI (where a CPU wheel on local disk serves torch itself).
TORCH_INDEX = $(if $(filter Linux,$(shell uname -s)),--retries 1 --extra-index-url https://download.pytorch.org/whl/cpu,)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q torch==2.13.0 $(TORCH_INDEX)
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/align score examples/plan.txt

# Headless Chromium for the browser test comes from Debian (installed when running as root).
test: install
	@dpkg -s chromium fonts-noto-cjk >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
		(apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) || true
	$(BIN)/ruff check -q src tests scripts benchmarks
	$(BIN)/python -m pytest -q

# 本地网页 local page: open http://127.0.0.1:8000 and upload examples/plan.docx
serve: install
	$(BIN)/align serve

lint: install
	$(BIN)/ruff check src tests scripts benchmarks

eval: install
	$(BIN)/python scripts/evaluate.py
	$(BIN)/python scripts/eval_targets.py

calibrate: install
	$(BIN)/python scripts/calibrate.py --model e5-small
	$(BIN)/python scripts/calibrate.py --model use-m3
	$(BIN)/python scripts/calibrate.py --model lexical
	$(BIN)/python scripts/calibrate.py --model custom

bench: install
	$(BIN)/python benchmarks/run_all.py
