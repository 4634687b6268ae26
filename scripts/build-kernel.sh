#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the test kernel (tinyconfig + .config.fragment + .config.fragment.$ARCH, ARCH defaulting to the host's)
# under $CACHE/kbuild/<version>-<key>, where the key hashes the fragments and the toolchain, so a warm run reuses
# it and a change to either builds a fresh tree.
# Prints the build directory on stdout.
set -euo pipefail
. "$(dirname "$0")/env.sh"

ksrc=$("$TOP/scripts/fetch-kernel.sh")
# From the Makefile itself: a nested `make kernelversion` prints "Entering directory" lines under `make -C`.
kver=$(awk '/^VERSION =/{v=$3} /^PATCHLEVEL =/{p=$3} /^SUBLEVEL =/{s=$3} END{print v "." p "." s}' "$ksrc/Makefile")
[[ "$kver" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read the kernel version from $ksrc/Makefile"
karch=${ARCH:-$(uname -m)}
fragments=("$TOP/.config.fragment" "$TOP/.config.fragment.$karch")
[ -f "${fragments[1]}" ] || die "no test kernel configuration for ARCH=$karch (${fragments[1]})"
key=$( { cat "${fragments[@]}"; "$RUSTC" --version; "$BINDGEN" --version; "clang$LLVM" --version | head -1; } \
	| sha256sum | cut -c1-12)
out=$CACHE/kbuild/$kver-$key
if [ -f "$out/.built" ]; then
	echo "$out"
	exit 0
fi

mapfile -t margs < <(kmake_args)
mk() { make -s -C "$ksrc" O="$out" "${margs[@]}" "$@"; }
log "building test kernel $kver in $out (cold: about 20 min on 2 cores)"
start=$SECONDS
case "$out" in "$CACHE"/kbuild/[0-9]*-[0-9a-f]*) rm -rf "$out" ;; *) die "refusing to clean unexpected build dir $out" ;; esac
mkdir -p "$out"
mk rustavailable >&2
mk tinyconfig >/dev/null
"$ksrc/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${fragments[@]}" >/dev/null
mk olddefconfig >/dev/null

# merge_config only warns when a dependency drops a symbol; a dropped symbol must stop the build here.
bad=0
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	sym=${line%%=*} val=${line#*=}
	if [ "$val" = n ]; then
		grep -q "^$sym=" "$out/.config" && { echo "fragment: $sym should be unset" >&2; bad=1; }
	else
		grep -qx "$sym=$val" "$out/.config" || { echo "fragment: $sym=$val did not survive olddefconfig" >&2; bad=1; }
	fi
done < <(cat "${fragments[@]}")
((bad == 0)) || die "the kernel configuration is not what ${fragments[*]##*/} ask for"

mk -j"$(($(nproc) + 1))" bzImage modules >&2
touch "$out/.built"
log "test kernel built in $((SECONDS - start)) s"
echo "$out"
