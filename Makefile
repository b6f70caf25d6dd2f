# `make demo` and `make test` each set up what they need first (a venv in .venv).
# Debian's interpreter, so that the venv also works for an unprivileged service user.
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: demo test venv clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "Cannot create a venv: install python3-venv (apt-get install python3-venv)" >&2; exit 1; }
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: venv
	$(VENV)/bin/python scripts/demo.py

test: venv
	$(VENV)/bin/python -m pytest -q tests

clean:
	rm -rf $(VENV) .pytest_cache
