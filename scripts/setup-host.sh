#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Installs what the build and the tests need on a Debian 12 host. Idempotent: each step is skipped when done.
set -euo pipefail
. "$(dirname "$0")/env.sh"

PACKAGES=(
	rustc-web rust-web-src rust-web-clippy libclang-19-dev clang-19 lld-19 llvm-19
	make flex bison bc libelf-dev libssl-dev cpio kmod xz-utils gzip zstd
	busybox-static qemu-system-x86 sigrok-cli device-tree-compiler
	libc6-dev python3 python3-venv zip unzip time libdrm-tests pulseview xvfb xauth
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	log "installing Debian packages: ${missing[*]}"
	[ "$(id -u)" = 0 ] || die "need root to install: ${missing[*]}"
	# A stale or missing package list makes 'install' fail on a fresh machine.
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! [ -x "$BINDGEN" ] || ! "$BINDGEN" --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
	log "installing bindgen-cli $BINDGEN_VERSION from crates.io into $BINDGEN_ROOT"
	command -v cargo >/dev/null || die "cargo not found (the host's Rust toolchain is needed for bindgen and the tools)"
	mkdir -p "$BINDGEN_ROOT"
	cargo install -q --locked --root "$BINDGEN_ROOT" bindgen-cli --version "$BINDGEN_VERSION"
fi

# dt-schema for the device-tree binding checks, in a venv of its own under the cache.
DTSCHEMA_VERSION=2026.9
venv=$CACHE/venv-dtschema-$DTSCHEMA_VERSION
if ! [ -x "$venv/bin/dt-doc-validate" ]; then
	log "installing dtschema $DTSCHEMA_VERSION from PyPI into $venv"
	rm -rf "$venv"
	/usr/bin/python3 -m venv "$venv"
	"$venv/bin/pip" install -q "dtschema==$DTSCHEMA_VERSION"
fi
