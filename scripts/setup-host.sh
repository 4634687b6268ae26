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
	# Rust without rustup: Debian's cargo for rustc-web (bindgen-cli, the tools, the tools' cross build).
	cargo-web rustfmt-web
	# The arm64 test kernel's VM (QEMU's Raspberry Pi 3B), the tools cross-built for aarch64, DKMS.
	qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross dkms
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
	command -v cargo >/dev/null || die "cargo not found (cargo-web should have installed /usr/bin/cargo)"
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

# The arm64 test VM's userland: Debian's static arm64 busybox, and zip (for upstream's capture script) with the
# libraries it needs, fetched through an apt configuration of our own (arm64 lists under $CACHE/apt-arm64, no dpkg
# status), so the host gets no foreign architecture. zip and its libraries are unpacked under $ARM64_EXTRA_ROOT.
if ! [ -x "$BUSYBOX_ARM64" ] || ! [ -x "$ARM64_EXTRA_ROOT/usr/bin/zip" ]; then
	A=$CACHE/apt-arm64
	log "fetching busybox-static:arm64 (project-owned apt state in $A)"
	mkdir -p "$A"/lists/partial "$A"/archives/partial "$A"/etc/sources.list.d "$A"/etc/preferences.d
	echo 'deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main' \
		> "$A/etc/sources.list"
	apt_opts=(
		-o APT::Architectures=arm64 -o APT::Architecture=arm64
		-o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A" -o "Dir::Cache::archives=$A/archives"
		-o "Dir::Etc::SourceList=$A/etc/sources.list" -o "Dir::Etc::SourceParts=$A/etc/sources.list.d"
		-o "Dir::Etc::PreferencesParts=$A/etc/preferences.d" -o Dir::State::status=/dev/null
		-o "APT::Sandbox::User=root"
	)
	apt-get -q "${apt_opts[@]}" update >/dev/null
	debs=(busybox-static zip libbz2-1.0 libc6)
	for d in "${debs[@]}"; do rm -f "$A/archives/${d}"_*.deb; done
	(cd "$A/archives" && apt-get -q "${apt_opts[@]}" download "${debs[@]/%/:arm64}" >/dev/null)
	x=$A/x
	rm -rf "$x" "$ARM64_EXTRA_ROOT.tmp"
	for d in "${debs[@]}"; do dpkg-deb -x "$(ls "$A/archives/${d}"_*_arm64.deb)" "$x"; done
	mkdir -p "$(dirname "$BUSYBOX_ARM64")" "$ARM64_EXTRA_ROOT.tmp"
	install -m 0755 "$x/bin/busybox" "$BUSYBOX_ARM64.tmp" && mv "$BUSYBOX_ARM64.tmp" "$BUSYBOX_ARM64"
	# zip and what it loads: the dynamic loader, libc, libbz2.
	(cd "$x" && cp -a --parents usr/bin/zip lib/ld-linux-aarch64.so.1 lib/aarch64-linux-gnu/ld-linux-aarch64.so.1 \
		lib/aarch64-linux-gnu/libc.so.6 lib/aarch64-linux-gnu/libbz2.so.1.0* "$ARM64_EXTRA_ROOT.tmp/")
	rm -rf "$ARM64_EXTRA_ROOT" && mv "$ARM64_EXTRA_ROOT.tmp" "$ARM64_EXTRA_ROOT"
	rm -rf "$x"
fi
