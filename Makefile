# The two commands of the README: `make run` and `make test`. Each one sets up what is
# missing (system packages, .venv, the package with its extras) and then does its job.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONSTRAINTS := packaging/constraints.txt
PYTEST_ARGS ?=
XVFB := xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp"
export LANG := C.UTF-8
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# The tools' caches (ruff, mypy, pytest) go to a temporary folder: nothing is written
# into the checkout but the venv, build/ and dist/.
TOOL_CACHE := $(or $(TMPDIR),/tmp)/avatar-studio-tool-cache
export RUFF_CACHE_DIR := $(TOOL_CACHE)/ruff
export MYPY_CACHE_DIR := $(TOOL_CACHE)/mypy
PYTEST := $(BIN)/python -m pytest -o cache_dir=$(TOOL_CACHE)/pytest

.PHONY: run test check lint typecheck typecheck-tree contracts unit gui-xvfb smoke bench package package-test sysdeps-run sysdeps-test sysdeps-package sysdeps-bench venv clean

run: sysdeps-run $(STAMP)
	$(BIN)/avatar-studio $(ARGS)

test: sysdeps-test $(STAMP) check unit gui-xvfb smoke package-test
	@echo "make test: all checks passed"

sysdeps-run:
	@packaging/sysdeps.sh run

sysdeps-test:
	@packaging/sysdeps.sh test

sysdeps-package:
	@packaging/sysdeps.sh package

# The peers the benchmarks compare against: vipsthumbnail (libvips-tools), ImageMagick.
sysdeps-bench:
	@packaging/sysdeps.sh bench

venv: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e ".[dev]"
	@touch $@

check: lint typecheck contracts

lint: $(STAMP)
	$(BIN)/ruff check core gui tests resources

# Static tools cannot see the editable install's import hook: give them a hard-linked
# tree with the installed names (avatar_studio/core, avatar_studio/gui).
TYPECHECK_TREE := build/typecheck
typecheck-tree:
	@rm -rf $(TYPECHECK_TREE) && mkdir -p $(TYPECHECK_TREE)/avatar_studio
	@for d in core gui resources; do cp -al $$d $(TYPECHECK_TREE)/avatar_studio/$$d; done

typecheck: $(STAMP) typecheck-tree
	$(BIN)/mypy

contracts: $(STAMP) typecheck-tree
	PYTHONPATH=$(TYPECHECK_TREE) $(BIN)/lint-imports --cache-dir $(TYPECHECK_TREE)/../import-linter-cache

# The whole suite on the offscreen platform, with a real Secret Service.
# Line coverage per package is printed after it; the error mappings and the publish use
# case must be fully covered (tests/harness/coverage_by_package.py).
unit: $(STAMP)
	QT_QPA_PLATFORM=offscreen tests/harness/with-keyring.sh $(PYTEST) --cov --cov-report= $(PYTEST_ARGS)
	@if [ -z "$(PYTEST_ARGS)" ]; then $(BIN)/python tests/harness/coverage_by_package.py; \
	else echo "coverage check skipped: PYTEST_ARGS narrows the run"; fi

# The GUI tests again on a real X server (xcb).
gui-xvfb: $(STAMP)
	QT_QPA_PLATFORM=xcb $(XVFB) tests/harness/with-keyring.sh $(PYTEST) -m gui -q $(PYTEST_ARGS)

# The installed entry point starts, shows its window and exits 0, offscreen and on Xvfb.
smoke: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/avatar-studio --smoke
	QT_QPA_PLATFORM=xcb $(XVFB) $(BIN)/avatar-studio --smoke

# PyInstaller (the `package` extra) on top of the dev install, only when missing.
PACKAGE_STAMP := $(VENV)/.installed-package
$(PACKAGE_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e ".[dev,package]"
	@touch $@

# dist/avatar-studio_<version>_<arch>.deb, xz-compressed (zstd when CI=true or
# AVATAR_STUDIO_DEB_COMPRESSION=zstd|gzip|none says so).
package: sysdeps-package $(PACKAGE_STAMP)
	packaging/build-deb.sh

# Build the .deb (fast compression unless told otherwise), install it with apt, run the
# installed app and CLI (smoke, render, sandbox + upload, keyring), purge it. Needs root.
package-test: sysdeps-test $(PACKAGE_STAMP)
	AVATAR_STUDIO_DEB_COMPRESSION=$${AVATAR_STUDIO_DEB_COMPRESSION:-zstd} packaging/build-deb.sh
	packaging/test-installed.sh "$$(packaging/build-deb.sh --print-path)"

bench: sysdeps-bench $(STAMP)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
