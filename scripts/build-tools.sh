#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the userspace tools (tools/ workspace) with the host's cargo, statically linked (glibc, crt-static) so the
# same binaries run in the test initramfs and on a board's root filesystem; copies them to build/static/.
set -euo pipefail
. "$(dirname "$0")/env.sh"

target=$(env -u RUSTC rustc -vV | sed -n 's/^host: //p')
cd "$TOP/tools"
RUSTFLAGS="-C target-feature=+crt-static" env -u RUSTC cargo build -q --release --workspace --bins --target "$target" >&2
mkdir -p "$TOP/build/static"
find "target/$target/release" -maxdepth 1 -type f -perm -u+x -exec cp {} "$TOP/build/static/" \;
