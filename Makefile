# Two commands: `make run` serves the app, `make test` runs every check. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test lint format bench browser clean loadtest

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamp files: reinstall only when the pinned requirements change.
$(VENV)/.runtime-installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

# Two malloc arenas instead of glibc's 8 per core: Streamlit runs every session's script in
# its own thread, and per-thread arenas kept 40 MB more after a 10-student load test
# (README, "Memory after the class").
SERVER_ENV := MALLOC_ARENA_MAX=2

run: $(VENV)/.runtime-installed
	$(SERVER_ENV) $(PY) -m streamlit run app.py --server.port $(PORT)

# Browsers cannot be downloaded by Playwright here: the tests use Debian's Chromium.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.dev-installed
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

test: lint browser
	$(PY) -m pytest -q

bench: $(VENV)/.dev-installed
	$(PY) bench/bench_em.py --float32

# Opt-in: 30 students at once in headless Chromium (a few minutes); SESSIONS=5 for fewer.
SESSIONS ?= 30
loadtest: $(VENV)/.dev-installed browser
	$(SERVER_ENV) $(PY) bench/loadtest.py --sessions $(SESSIONS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
