# The two set-up commands from the README, and what they need.
#   make demo   build taproll and show the live roster filling in
#   make test   run the whole test suite (real pcscd, real SQLite, real terminal)
# Both first install the Debian / Ubuntu / Raspberry Pi OS packages they need.

CARGO ?= cargo

# The pcsc crate links libpcsclite, found through pkg-config.
BUILD_PACKAGES := pkg-config libpcsclite-dev
# Tests also run a real PC/SC stack with virtual readers, the real binary in
# tmux, and the receiving server on a private PostgreSQL of their own.
TEST_PACKAGES := $(BUILD_PACKAGES) pcscd vsmartcard-vpcd tmux postgresql
# The latency benchmark compares taproll with pcsc_scan on the same taps, the
# import benchmark with the sqlite3 shell's .import of the same file; the
# sync benchmark measures the sender's memory with GNU time.
BENCH_PACKAGES := $(TEST_PACKAGES) pcsc-tools sqlite3 time

# Cross-building the arm64 package on an amd64 machine: the cross compiler,
# the arm64 libpcsclite, qemu to run what was built, and Rust's arm64 std.
CROSS_PACKAGES := gcc-aarch64-linux-gnu libc6-dev-arm64-cross libpcsclite-dev:arm64 qemu-user file man-db
ARCH ?= $(shell dpkg --print-architecture)

.PHONY: demo test bench deps-build deps-test deps-cross deb package-check

demo: deps-build
	$(CARGO) run --release --locked -- demo

# --show-output: a test that skips (no pcscd or tmux on a developer machine)
# says so loudly instead of passing in silence. In CI such a test fails.
test: deps-test
	$(CARGO) test --locked --workspace -- --show-output

bench:
	@$(call apt_install,$(BENCH_PACKAGES))
	$(CARGO) bench --locked --bench taproll
	$(CARGO) bench --locked --bench pcsc_latency
	$(CARGO) bench --locked --bench reports
	$(CARGO) bench --locked --bench import
	$(CARGO) bench --locked --bench sync
	$(CARGO) bench --locked --bench recorder
	$(CARGO) bench --locked -p taproll-server --bench ingest

# The Debian packages of taproll and taproll-server: make deb [ARCH=arm64].
deb: deps-build $(if $(filter arm64,$(ARCH)),deps-cross)
	packaging/deb.sh $(ARCH)

# CI: both architectures' packages built, checked, installed, run.
package-check: deps-build deps-cross
	packaging/check.sh

deps-build:
	@$(call apt_install,$(BUILD_PACKAGES))

deps-cross:
	@if ! dpkg --print-foreign-architectures | grep -qx arm64; then \
		if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
		$$sudo dpkg --add-architecture arm64; \
	fi
	@$(call apt_install,$(CROSS_PACKAGES))
	rustup target add aarch64-unknown-linux-gnu

deps-test:
	@$(call apt_install,$(TEST_PACKAGES))

# Installs the packages that are missing, saying which, with sudo when not root.
define apt_install
missing=""; \
for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then \
	echo "taproll: installing system packages:$$missing"; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	$$sudo apt-get update && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
fi
endef
