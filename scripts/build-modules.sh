#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the out-of-tree modules with `make -C $KDIR M=$TOP`. Without KDIR, sets up the host and builds (or reuses)
# the cached test kernel first. With KDIR, nothing is installed: the tree is used as it is, with ARCH, LLVM,
# CROSS_COMPILE and RUSTC passed through, so a dev board's build tree works the same way. With MO, the objects and
# .ko files go there instead of the checkout (Kbuild's MO=), so modules for two kernels can sit side by side.
# Extra arguments are make targets (default: modules).
set -euo pipefail
. "$(dirname "$0")/env.sh"

if [ -z "${KDIR:-}" ]; then
	"$TOP/scripts/setup-host.sh"
	KDIR=$("$TOP/scripts/build-kernel.sh")
fi
[ -f "$KDIR/Makefile" ] || die "KDIR=$KDIR is not a kernel build tree"
grep -q '^CONFIG_RUST=y' "$KDIR/.config" 2>/dev/null || die "KDIR=$KDIR was not configured with CONFIG_RUST=y"

args=(-C "$KDIR" M="$TOP" LLVM="$LLVM" RUSTC="$RUSTC")
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
