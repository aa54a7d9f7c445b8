# SPDX-License-Identifier: GPL-3.0-or-later
#
# A thin wrapper over meson, so that a fresh clone needs only two commands:
#   make run     installs what is missing, builds and starts Tern
#   make check   installs what is missing, builds and runs the whole suite
#   make bench   builds and prints the benchmarks' figures

BUILDDIR ?= _build
ASAN_BUILDDIR ?= _build-asan
MESON ?= meson
SETUP_OPTIONS ?= -Dprofile=development --werror

.PHONY: all build run check bench deps deps-test deps-bench clean

all: build

deps:
	sh build-aux/install-deps.sh build

deps-test:
	sh build-aux/install-deps.sh test

deps-bench:
	sh build-aux/install-deps.sh bench

$(BUILDDIR)/build.ninja:
	$(MESON) setup $(BUILDDIR) $(SETUP_OPTIONS)

build: deps $(BUILDDIR)/build.ninja
	$(MESON) compile -C $(BUILDDIR)

run: build
	$(MESON) devenv -C $(BUILDDIR) $(CURDIR)/$(BUILDDIR)/src/app/tern

check: deps-test $(BUILDDIR)/build.ninja
	BUILDDIR=$(BUILDDIR) ASAN_BUILDDIR=$(ASAN_BUILDDIR) MESON=$(MESON) \
	  sh build-aux/check.sh

# Speed and memory figures, printed; see each command's --help.
bench: deps-bench $(BUILDDIR)/build.ninja
	$(MESON) compile -C $(BUILDDIR)
	$(BUILDDIR)/src/cli/tern-cli bench store --messages 100000
	python3 tests/servers/tern-test-servers run -- $(BUILDDIR)/src/cli/tern-cli bench mail

clean:
	rm -rf $(BUILDDIR) $(ASAN_BUILDDIR)
