# SPDX-License-Identifier: GPL-3.0-or-later
#
# A thin wrapper over meson, so that a fresh clone needs only two commands:
#   make run     installs what is missing, builds and starts Tern
#   make check   installs what is missing, builds and runs the whole suite
#   make demo    opens Tern on a sample mailbox served by the test servers
#   make bench   builds and prints the benchmarks' figures

BUILDDIR ?= _build
ASAN_BUILDDIR ?= _build-asan
MESON ?= meson
SETUP_OPTIONS ?= -Dprofile=development --werror

.PHONY: all build run demo check bench deps deps-test deps-bench clean

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

# The test servers with a sample mailbox, a throw-away profile for it, and
# Tern on that profile; everything stops and goes when Tern quits.
demo: deps-test build
	$(MESON) devenv -C $(BUILDDIR) /usr/bin/python3 $(CURDIR)/build-aux/tern-demo run \
	  --tern $(CURDIR)/$(BUILDDIR)/src/app/tern --tern-cli $(CURDIR)/$(BUILDDIR)/src/cli/tern-cli

check: deps-test $(BUILDDIR)/build.ninja
	BUILDDIR=$(BUILDDIR) ASAN_BUILDDIR=$(ASAN_BUILDDIR) MESON=$(MESON) \
	  sh build-aux/check.sh

# Speed and memory figures, printed; see each command's --help.
bench: deps-bench $(BUILDDIR)/build.ninja
	$(MESON) compile -C $(BUILDDIR)
	$(BUILDDIR)/src/cli/tern-cli bench store --messages 100000
	python3 tests/servers/tern-test-servers run -- $(BUILDDIR)/src/cli/tern-cli bench mail
	BUILDDIR=$(BUILDDIR) sh build-aux/bench-imap.sh 20000

clean:
	rm -rf $(BUILDDIR) $(ASAN_BUILDDIR)
