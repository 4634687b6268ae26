# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree Rust-for-Linux modules and their tools. Kbuild (the file next to this one) lists the modules; this
# Makefile is what a developer runs. Every target installs what it needs first (scripts/setup-host.sh).
#
#   make               build all modules against KDIR (default: the cached test kernel, built on first use)
#   make check         run every test (cargo, interop, KUnit and end-to-end in the x86_64 VM and the emulated
#                      Raspberry Pi 3B, DKMS); prints "N passed, N failed, N skipped"
#   make check-debug   the x86_64 part on a debug test kernel (KASAN, kmemleak scan after unloading every module)
#   make soak          debug kernel: 100000 fuzzed KCAM ioctls, 100 load/unload cycles of every module, kmemleak
#   make demo          the main demo: capture an I2C transaction in a VM and decode it with sigrok-cli
#   make clippy        build the modules with CLIPPY=1 and run cargo clippy/fmt on the tools
#   make KDIR=/path/to/linux-build [ARCH=arm64] [LLVM=-19]   build the modules for another 7.x kernel tree
#   make tools [ARCH=arm64]   the tools, statically linked (build/static/, or build/static-arm64/ cross-built)
#   make install-tests DESTDIR=dir [PREFIX=/opt/rfl-bringup] [KDIR=...] [ARCH=...]   modules, tools and the
#                      end-to-end tests laid out for copying to a board; run PREFIX/tests/run-tests.sh there
#
# Variables: KDIR, ARCH (x86_64 or arm64 for the test kernels), MO (module output dir), LLVM (default -19),
# RUSTC (default /usr/bin/rustc), CACHE (default ~/.cache/rfl-bringup), KSRC (use this kernel source instead of
# fetching linux-source-7.3), QEMU_KVM=1 (opt in to KVM; hangs on some hosts), KVARIANT=debug (the debug test
# kernel: what check-debug and soak use).

SHELL := /bin/bash
export KDIR ARCH LLVM RUSTC CACHE KSRC QEMU_KVM CROSS_COMPILE M MO DESTDIR PREFIX KVARIANT

.PHONY: modules all setup kernel check check-debug soak demo clippy bench clean tools install-tests
all: modules

setup:
	@scripts/setup-host.sh

kernel: setup
	@scripts/build-kernel.sh

modules:
	@scripts/build-modules.sh

tools: setup
	@scripts/build-tools.sh

install-tests:
	@scripts/install-tests.sh

check:
	@scripts/check.sh

check-debug:
	@KVARIANT=debug QEMU_TIMEOUT=$${QEMU_TIMEOUT:-3600} scripts/check.sh

soak:
	@scripts/soak.sh

demo:
	@scripts/demo.sh

bench:
	@scripts/bench.sh

clippy:
	@CLIPPY=1 scripts/build-modules.sh
	@cd tools && env -u RUSTC cargo clippy --workspace --all-targets -- -D warnings && env -u RUSTC cargo fmt --all --check

clean:
	@if [ -n "$(KDIR)" ] || [ -d .tmp_versions ] || ls drivers/*/*/*.o >/dev/null 2>&1; then \
		scripts/build-modules.sh clean; fi
	@rm -rf build
