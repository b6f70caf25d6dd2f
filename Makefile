# `make demo` and `make test` each set up what they need first (a venv in .venv).
# Debian's interpreter, so that the venv also works for an unprivileged service user.
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

# The tests' real Home Assistant: a cached venv outside the repo (about 3 minutes and 600 MB once).
HA_VERSION := 2025.4.4
HA_FRONTEND := 20250411.0
HA_VENV ?= $(HOME)/.cache/presence-tests/homeassistant-$(HA_VERSION)
HA_PYTHON ?= $(shell ls $$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3 /usr/bin/python3.13 2>/dev/null | head -n 1)

.PHONY: demo report-demo test venv homeassistant clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "Cannot create a venv: install python3-venv (apt-get install python3-venv)" >&2; exit 1; }
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: venv
	$(VENV)/bin/python scripts/demo.py

# The report on the tests' synthetic household (needs graphite-web: apt-get install graphite-web).
report-demo: venv
	$(VENV)/bin/python scripts/report_demo.py

# The tests mostly wait (on the lab's daemons and real servers), so more workers than cores pay: with 8,
# about a minute on 2 cores (12 saves a few seconds more but loads the CPU that timing tests share).
# tests/parallel.py says how they are spread; `pytest -m "not lab" tests` runs only the quick ones.
TEST_WORKERS ?= 8

test: venv homeassistant
	PRESENCE_HA_VENV=$(HA_VENV) $(VENV)/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup tests

# Without CPython 3.13 this only says so: the Home Assistant tests then skip (and fail under CI).
homeassistant:
	@if [ -f $(HA_VENV)/.installed ]; then exit 0; fi; \
	if [ -z "$(HA_PYTHON)" ]; then echo "No CPython 3.13: the real Home Assistant tests will be skipped" >&2; exit 0; fi; \
	echo "Installing homeassistant==$(HA_VERSION) into $(HA_VENV) (once, about 3 minutes)"; \
	$(HA_PYTHON) -m venv $(HA_VENV) && \
	$(HA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  homeassistant==$(HA_VERSION) home-assistant-frontend==$(HA_FRONTEND) && \
	touch $(HA_VENV)/.installed

clean:
	rm -rf $(VENV) .pytest_cache
