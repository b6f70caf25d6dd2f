# `make demo` and `make test` each set up what they need first (a venv in .venv).
# Debian's interpreter, so that the venv also works for an unprivileged service user.
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

# The tests' real parts that are not Debian packages, cached outside the repo: a Home Assistant venv
# for the newest Python here (scripts/install-homeassistant says which release goes with which Python)
# and a Debian root of this machine's release that the real-systemd tests boot.
HA_VENV ?= $(shell scripts/install-homeassistant --path)

.PHONY: demo report-demo test demo-packages test-packages venv homeassistant systemd-root tsorb clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "Cannot create a venv: install python3-venv (apt-get install python3-venv)" >&2; exit 1; }
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: demo-packages venv
	$(VENV)/bin/python scripts/demo.py

# The report on the tests' synthetic household (needs graphite-web: apt-get install graphite-web).
report-demo: venv
	$(VENV)/bin/python scripts/report_demo.py

# The tests mostly wait (on the lab's daemons and real servers), so more workers than cores pay: with 8,
# about 3 minutes on 2 cores (16 loads the CPU that timing tests share: a spool replay then missed its deadline).
# tests/parallel.py says how they are spread; `pytest -m "not lab" tests` runs only the quick ones.
TEST_WORKERS ?= 8

# As root on Debian or Ubuntu, `make demo` and `make test` first install the packages they use
# (scripts/packages.txt); elsewhere they say what is missing, and the tests that need it skip.
test: test-packages venv homeassistant systemd-root tsorb
	PRESENCE_HA_VENV=$(HA_VENV) $(VENV)/bin/python -m pytest -q -rs -n $(TEST_WORKERS) --dist loadgroup tests

demo-packages:
	@scripts/install-packages --demo

test-packages:
	@scripts/install-packages

# Every test that starts Home Assistant needs root (it runs in the namespace lab): without root, no install.
homeassistant:
	@if [ "$$(id -u)" -eq 0 ]; then scripts/install-homeassistant; fi

systemd-root:
	@if [ "$$(id -u)" -eq 0 ] && command -v debootstrap >/dev/null; then scripts/debian-root; fi

# tsorb, the independent household simulator some report tests take their data from: its own venv and the
# households those tests use, simulated once (about 5 minutes on 2 cores) and cached outside the repo.
tsorb: venv
	@scripts/install-tsorb
	@$(VENV)/bin/python -m testbed.interval_study --generate --seeds $(TSORB_SEEDS)

TSORB_SEEDS ?= 2

clean:
	rm -rf $(VENV) .pytest_cache
