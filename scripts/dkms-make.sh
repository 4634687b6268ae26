#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run by DKMS (dkms.conf's MAKE and CLEAN) in its copy of the source: builds (or cleans) the modules against the
# kernel build tree KDIR with the toolchain Rust-for-Linux needs, for the tree's own architecture.
#   sh scripts/dkms-make.sh KDIR modules|clean [ignored DKMS additions...]
# DKMS appends CC=clang LD=ld.lld when the kernel was built with clang; those are dropped: LLVM (default -19, as
# Debian names clang-19 and ld.lld-19) picks the compiler the kernel was built with, and an unversioned clang may
# be another version or absent. LLVM, RUSTC (default /usr/bin/rustc) and BINDGEN (default: bindgen from PATH; the
# modules generate their C glue's bindings with it, as the kernel's own rust/ does) can be set in the environment.
set -e
kdir=$1 target=$2
case "$target" in modules | clean) ;; *) echo "usage: $0 KDIR modules|clean" >&2; exit 2 ;; esac
arch=
grep -q '^CONFIG_ARM64=y' "$kdir/.config" && arch=ARCH=arm64
grep -q '^CONFIG_X86_64=y' "$kdir/.config" && arch=ARCH=x86_64
bindgen=${BINDGEN:-bindgen}
if ! command -v "$bindgen" >/dev/null; then
	echo "$0: no bindgen ('$bindgen'): install bindgen-cli (cargo install bindgen-cli) or set BINDGEN" >&2
	exit 1
fi
exec make -C "$kdir" M="$PWD" $arch LLVM="${LLVM:--19}" RUSTC="${RUSTC:-/usr/bin/rustc}" \
	BINDGEN="$bindgen" -j"$(nproc)" "$target"
