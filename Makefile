# Two commands set up and run everything on a fresh machine:
#   make run   - demo server on the embedded defaults (SQLite, mail to var/outbox)
#   make test  - lint, type check and the whole test suite
#
# Everything is installed from the lock, with hashes: uv.lock for the app and its test,
# lint and type tools, requirements-uv.txt for uv itself. What was tested is what a
# fresh clone installs, months later too. `make lock` renews the lock after a change
# to pyproject.toml; `make upgrade` moves every dependency to its newest release.
PYTHON     ?= python3
VENV       ?= .venv
UV_VERSION := 0.13.9
TOOLS      := .uv
UV         := $(TOOLS)/bin/uv
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.installed

export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test check lock upgrade messages bench train-mrz clean

# uv itself, checked against its hashes by pip.
$(UV): requirements-uv.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --require-hashes -r requirements-uv.txt
	touch $(UV)

# --locked refuses to install at all when uv.lock no longer matches pyproject.toml.
$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --extra test --python $(PYTHON) --quiet
	touch $(STAMP)

# In demo mode `serve` seeds the accounts and a demo appointment itself, and prints
# them once it listens.
run: $(STAMP)
	BB_MODE=demo $(BIN)/buergerbuero serve

check: $(STAMP)
	$(UV) lock --check --quiet
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# The WebRTC browser tests run in a network namespace with only loopback (see
# tests/browser/webrtc/conftest.py): nothing binds the machine's real interfaces. The failure
# drills (tests/drills) start processes of their own and measure recovery times, so
# they run alone, after the rest.
WEBRTC_TESTS := tests/browser/webrtc
DRILLS       := tests/drills

# The OpenID provider the single sign-on tests start (oidc-provider under Node), from
# its npm lock. Without npm the tests that need it are skipped with the reason (CI
# fails them instead).
OIDC_PROVIDER := tests/oidc_provider
$(OIDC_PROVIDER)/node_modules/.installed: $(OIDC_PROVIDER)/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix $(OIDC_PROVIDER) --no-audit --no-fund && touch $@; \
	else \
		echo "npm not found: the single sign-on tests will be skipped"; \
	fi

test: check $(OIDC_PROVIDER)/node_modules/.installed
	$(BIN)/pytest -n 2 --ignore=$(WEBRTC_TESTS) --ignore=$(DRILLS)
	$(BIN)/pytest -s $(DRILLS)
	unshare --net --map-root-user sh -c 'ip link set lo up && exec $(BIN)/pytest $(WEBRTC_TESTS)'

lock: $(UV)
	$(UV) lock
	echo "uv==$(UV_VERSION)" | $(UV) pip compile - --universal --generate-hashes \
		--python $(PYTHON) --quiet --output-file requirements-uv.txt

upgrade: $(UV)
	$(UV) lock --upgrade

# The message catalogues (see "Languages" in the README): extract every marked text
# from the code and templates into locale/messages.pot, then merge it into each
# language's locale/<lang>/LC_MESSAGES/messages.po (new texts empty, changed ones fuzzy).
messages: $(STAMP)
	$(BIN)/pybabel extract --mapping-file babel.cfg --keywords translate:2 \
		--project buergerbuero --add-location file --sort-output --width 100 \
		--output-file locale/messages.pot .
	$(BIN)/pybabel update --input-file locale/messages.pot --output-dir locale \
		--width 100 --ignore-obsolete

# The Node socket.io floor the signalling bench compares with, from its npm lock.
NODE_FLOOR := bench/node_floor
$(NODE_FLOOR)/node_modules/.installed: $(NODE_FLOOR)/package-lock.json
	npm ci --prefix $(NODE_FLOOR) --no-audit --no-fund
	touch $@

bench: $(STAMP) $(NODE_FLOOR)/node_modules/.installed
	$(BIN)/python bench/booking.py
	$(BIN)/python bench/signalling_load.py
	$(BIN)/python bench/documents.py

# Retrains media/vision/models/mrz_ocrb.onnx from generated zones (seeded; about an hour
# on 2 cores). PyTorch lives in its own environment: the product never imports it.
TRAIN := .train
train-mrz:
	test -x $(TRAIN)/bin/python || $(PYTHON) -m venv $(TRAIN)
	$(TRAIN)/bin/pip install --quiet -r tools/mrz_training/requirements.txt
	PYTHONPATH=. $(TRAIN)/bin/python -m tools.mrz_training.train

clean:
	rm -rf $(VENV) $(TOOLS) $(TRAIN) var .pytest_cache .mypy_cache .ruff_cache
