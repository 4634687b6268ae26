#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the userspace tools (tools/ workspace), statically linked (glibc, crt-static) so the same binaries run in
# the test initramfs and on a board's root filesystem. They are copied to
#   build/static/          for the host's architecture (ARCH unset or the host's), with the host's cargo;
#   build/static-<ARCH>/   cross-built, e.g. ARCH=arm64 on an x86_64 host.
# The cross build needs no rustup target (rustup cannot download one on machines without its server): Debian's
# rustc-web with its std sources (rust-web-src) rebuilds std for the target (-Z build-std, allowed on a stable
# compiler by RUSTC_BOOTSTRAP=1), Debian's cargo-web drives it and gcc-aarch64-linux-gnu links.
set -euo pipefail
. "$(dirname "$0")/env.sh"

triple=$(rust_triple)
dest=$(tools_dir)
linker=${triple%%-*}-linux-gnu-gcc
cd "$TOP/tools"

if [ "$dest" = "$TOP/build/static" ]; then
	# The caller's cargo (rustup's, when there is one; else Debian's cargo-web with rustc-web).
	RUSTFLAGS="-C target-feature=+crt-static" env -u RUSTC cargo build -q --release --workspace --bins --target "$triple" >&2
else
	[ -x /usr/bin/cargo ] || die "cross-building the tools needs Debian's cargo-web (/usr/bin/cargo): make setup"
	command -v "$linker" >/dev/null || die "cross-building the tools needs $linker (gcc-aarch64-linux-gnu): make setup"
	# The target directory lives in the cache: std and the dependencies, the slow part, are built once for
	# every checkout (a fresh clone rebuilds only the workspace's own crates).
	target_dir=$CACHE/cargo-target-$triple
	[ -d "$target_dir/$triple/release" ] || log "cross-building the tools for $triple (std rebuilt from rust-web-src; cold: about 4 min)"
	tvar=CARGO_TARGET_$(echo "$triple" | tr a-z- A-Z_)_LINKER
	env "$tvar=$linker" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 RUSTFLAGS="-C target-feature=+crt-static" \
		CARGO_TARGET_DIR="$target_dir" /usr/bin/cargo build -q --release --workspace --bins --target "$triple" \
		-Z build-std=std,panic_abort >&2
fi
mkdir -p "$dest"
find "${target_dir:-target}/$triple/release" -maxdepth 1 -type f -perm -u+x -exec cp {} "$dest/" \;
log "tools for $triple in ${dest#"$TOP"/}: $(ls "$dest" | tr '\n' ' ')"
