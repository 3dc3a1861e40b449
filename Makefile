# telltale: see README.md. Every target installs what it needs (make deps).
SHELL := /bin/bash
GO ?= go
# Ryuk's image cannot be pulled where no registry is reachable; containers are
# removed by Terminate/DeferCleanup instead.
export TESTCONTAINERS_RYUK_DISABLED := true

# Debian packages the tests and the demo need: the real adb server, Chromium for
# the HTML report's browser test, apksigner/aapt to check our test APK, and
# mitmproxy, whose mitmdump writes the dumps `telltale analyze` is tested on, and
# mksh (Android's shell), which the simulated phone's shell is tested against,
# and ddmlib (Android Studio's adb library) with a JDK to compile the test driver
# that runs it against the simulated phone; a library has no command, so
# APT_FILES names what it installs.
APT_PKGS := adb chromium apksigner aapt curl mitmproxy mksh default-jdk-headless libandroid-ddms-java
APT_CMDS := adb chromium apksigner aapt curl mitmdump mksh javac
APT_FILES := /usr/share/java/com.android.tools.ddms.ddmlib.jar

VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: build deps test bench demo demo-fixed demo-later lint soak fuzz clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/telltale ./cmd/telltale

deps:
	@missing=""; for c in $(APT_CMDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	for f in $(APT_FILES); do [ -e $$f ] || missing="$$missing $$f"; done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing Debian packages for:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $(APT_PKGS); \
	fi
	@docker info >/dev/null 2>&1 || { echo "deps: no Docker engine answers; start it (e.g. 'service docker start')"; exit 1; }

test: deps
	$(GO) test -count=1 -timeout 14m ./...

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 30m ./...

demo: deps build
	./scripts/demo.sh

demo-fixed: deps build
	FIRMWARE=V12.0.2.0 ./scripts/demo.sh

demo-later: deps build
	FIRMWARE=V12.5.1.0 ./scripts/demo.sh

SOAK_DURATION ?= 60s
soak: deps
	SOAK_DURATION=$(SOAK_DURATION) $(GO) test -count=1 -tags soak -run Soak -timeout 60m ./...

# Each fuzz target for FUZZTIME; go test -fuzz takes one target in one package a run.
FUZZTIME ?= 30s
FUZZ_TARGETS := \
	./devices/adb:FuzzReplies ./devices/adb/wire:FuzzReadShellPacket \
	./devices/sim/adbd:FuzzPacketDecoder ./devices/sim/adbd:FuzzConn ./devices/sim/shell:FuzzParse \
	./harness/mitm:FuzzReadRequest ./harness/leak:FuzzScanBody ./harness/leak:FuzzScanURL ./devices/apk:FuzzReadManifest ./devices/apk:FuzzVerify \
	./harness/ui:FuzzParse ./harness/ui:FuzzParseSelector \
	./harness/capture:FuzzReadHAR ./harness/capture:FuzzReadMitmproxy ./harness/capture:FuzzNewReader \
	./devices/sim/ui:FuzzDump ./harness/bypass:FuzzParseProcNet \
	./devices/profiles:FuzzParseLibrary ./harness/attribution:FuzzParseQueues \
	./devices/sim/netfilter:FuzzIptables
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $$t"; $(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) "$${t%%:*}"; \
	done

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin reports/out
