#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the test kernel (tinyconfig + .config.fragment + .config.fragment.$ARCH, ARCH defaulting to the host's:
# x86_64 or arm64) under $CACHE/kbuild/<version>-<key> (x86_64) or <version>-<arch>-<key> (other architectures,
# cross-built with clang), where the key hashes the fragments and the toolchain, so a warm run reuses it and a
# change to either builds a fresh tree.
# Prints the build directory on stdout.
set -euo pipefail
. "$(dirname "$0")/env.sh"

ksrc=$("$TOP/scripts/fetch-kernel.sh")
# From the Makefile itself: a nested `make kernelversion` prints "Entering directory" lines under `make -C`.
kver=$(awk '/^VERSION =/{v=$3} /^PATCHLEVEL =/{p=$3} /^SUBLEVEL =/{s=$3} END{print v "." p "." s}' "$ksrc/Makefile")
[[ "$kver" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read the kernel version from $ksrc/Makefile"
karch=$(kernel_arch)
fragments=("$TOP/.config.fragment" "$TOP/.config.fragment.$karch")
[ -f "${fragments[1]}" ] || die "no test kernel configuration for ARCH=$karch (${fragments[1]})"
# KVARIANT=debug: the debug test kernel (KASAN, kmemleak) of make check-debug and make soak.
if [ -n "${KVARIANT:-}" ]; then
	fragments+=("$TOP/.config.fragment.$KVARIANT")
	[ -f "${fragments[2]}" ] || die "no test kernel variant $KVARIANT (${fragments[2]})"
fi
key=$( { cat "${fragments[@]}"; "$RUSTC" --version; "$BINDGEN" --version; "clang$LLVM" --version | head -1; } \
	| sha256sum | cut -c1-12)
# The x86_64 tree keeps the name it had before there was a second architecture, so its cache stays valid.
case "$karch" in
x86_64) out=$CACHE/kbuild/$kver-$key targets=(bzImage modules) ;;
arm64) out=$CACHE/kbuild/$kver-arm64-$key targets=(Image dtbs modules) ;;
*) die "no test kernel targets for ARCH=$karch" ;;
esac
if [ -f "$out/.built" ]; then
	echo "$out"
	exit 0
fi

mapfile -t margs < <(kmake_args)
# Every make call on the tree needs ARCH (olddefconfig too): without it make configures for the host.
mk() { make -s -C "$ksrc" O="$out" ARCH="$karch" "${margs[@]}" "$@"; }
log "building the $karch test kernel $kver in $out (cold: about 20 min on 2 cores)"
start=$SECONDS
case "$out" in "$CACHE"/kbuild/[0-9]*-[0-9a-z]*) rm -rf "$out" ;; *) die "refusing to clean unexpected build dir $out" ;; esac
mkdir -p "$out"
mk rustavailable >&2
mk tinyconfig >/dev/null
ARCH=$karch "$ksrc/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${fragments[@]}" >/dev/null
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

mk -j"$(($(nproc) + 1))" "${targets[@]}" >&2
touch "$out/.built"
log "$karch test kernel built in $((SECONDS - start)) s"
echo "$out"
