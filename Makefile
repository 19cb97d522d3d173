# The two commands of README.md: `make site` (set up, then build) and `make test`
# (set up, then run the tests). Both are safe to run again on a set-up machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian packages the tests and benchmarks run for real.
APT_PACKAGES := nginx libnginx-mod-http-brotli-static haproxy openssh-server openssh-client \
	rsync brotli chromium curl wrk openssl socat shellcheck debootstrap sudo pebble certbot
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The shell scripts under version control (the ones deploy runs on hosts: deploy/remote/).
SHELL_SCRIPTS = $(shell git ls-files '*.sh')

.PHONY: site test lint debian-packages clean

site: $(VENV)/.site-installed
	$(BIN)/pelican content --fatal errors

test: lint
	$(BIN)/pytest

# shellcheck with no file fails: a checkout without git cannot pass for a clean one.
lint: $(VENV)/.test-installed debian-packages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	shellcheck $(SHELL_SCRIPTS)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3

$(VENV)/.site-installed: requirements.txt constraints.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.test-installed: requirements-test.txt $(VENV)/.site-installed
	$(BIN)/pip install --quiet -r requirements-test.txt -c constraints.txt
	touch $@

# Installs only what is missing, so a set-up machine does not touch apt at all.
debian-packages:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

clean:
	rm -rf output deploy/build .cache
