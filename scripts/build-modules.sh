#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the out-of-tree modules with `make -C $KDIR M=$TOP`. Without KDIR, sets up the host and builds (or reuses)
# the cached test kernel first. With KDIR, nothing is installed: the tree is used as it is, with ARCH, LLVM,
# CROSS_COMPILE and RUSTC passed through, so a dev board's build tree works the same way. With M, the modules of that
# source tree are built (a mirror of the checkout's sources: how make check keeps the arm64 modules apart from the
# host's); with MO, the objects and .ko files go there (Kbuild's MO=, which needs a source tree without objects).
# Extra arguments are make targets (default: modules).
set -euo pipefail
. "$(dirname "$0")/env.sh"

if [ -z "${KDIR:-}" ]; then
	"$TOP/scripts/setup-host.sh"
	KDIR=$("$TOP/scripts/build-kernel.sh")
fi
[ -f "$KDIR/Makefile" ] || die "KDIR=$KDIR is not a kernel build tree"
grep -q '^CONFIG_RUST=y' "$KDIR/.config" 2>/dev/null || die "KDIR=$KDIR was not configured with CONFIG_RUST=y"

args=(-C "$KDIR" M="${M:-$TOP}" LLVM="$LLVM" RUSTC="$RUSTC")
[ -x "$BINDGEN" ] && args+=(BINDGEN="$BINDGEN")
[ -n "${ARCH:-}" ] && args+=(ARCH="$ARCH")
[ -n "${CROSS_COMPILE:-}" ] && args+=(CROSS_COMPILE="$CROSS_COMPILE")
if [ -n "${MO:-}" ]; then
	mkdir -p "$MO"
	args+=(MO="$(cd "$MO" && pwd)")
fi
[ -n "${CLIPPY:-}" ] && args+=(CLIPPY=1 CLIPPY_DRIVER="${CLIPPY_DRIVER:-/usr/bin/clippy-driver}")
[ -n "${W:-}" ] && args+=(W="$W")
make "${args[@]}" -j"$(($(nproc) + 1))" "${@:-modules}" >&2
echo "$KDIR"
