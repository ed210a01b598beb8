# Two commands set up and run everything on a fresh machine:
#   make run   - demo server on the embedded defaults (SQLite, mail to var/outbox)
#   make test  - lint, type check and the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable '.[test]'
	touch $(STAMP)

run: $(STAMP)
	BB_MODE=demo $(BIN)/buergerbuero seed-demo
	BB_MODE=demo $(BIN)/buergerbuero serve

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The WebRTC browser tests run in a network namespace with only loopback (see
# tests/webrtc/conftest.py): nothing binds the machine's real interfaces.
WEBRTC_TESTS := tests/webrtc

test: check
	$(BIN)/pytest -n 2 $(addprefix --ignore=,$(WEBRTC_TESTS))
	unshare --net --map-root-user sh -c 'ip link set lo up && exec $(BIN)/pytest $(WEBRTC_TESTS)'

bench: $(STAMP)
	$(BIN)/python bench/booking.py
	$(BIN)/python bench/realtime.py
	$(BIN)/python bench/documents.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
