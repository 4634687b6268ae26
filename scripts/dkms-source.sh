#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Copies the modules' sources (no build output) where DKMS wants them: DEST, default /usr/src/rfl-bringup-0.1.
# Then: dkms install rfl-bringup/0.1 -k <kernel version>   (see dkms.conf)
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-/usr/src/rfl-bringup-0.1}
rm -rf "$dest"
mkdir -p "$dest/scripts"
install -m 0644 "$TOP/dkms.conf" "$TOP/Kbuild" "$TOP/COPYING" "$dest/"
install -m 0644 "$TOP/scripts/dkms-make.sh" "$dest/scripts/"
(cd "$TOP" && find drivers include -type f \( -name '*.rs' -o -name '*.c' -o -name '*.h' \) -print0 |
	xargs -0 cp --parents -t "$dest")
echo "$dest"
