#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# DKMS against a kernel build tree: the sources laid out by scripts/dkms-source.sh are added to a private DKMS tree
# (nothing of the system's /var/lib/dkms or /usr/src is touched) and built with
# `dkms build -k <version> --kernelsourcedir KDIR`; every module the tree's options allow must come out, built for
# that kernel. Prints "ok NAME" / "not ok NAME: why".
#   kunit/host/dkms.sh KDIR NAME
set -uo pipefail
. "$(dirname "$0")/../../scripts/env.sh"
kdir=$1 name=dkms_$2
t=$(mktemp -d "${TMPDIR:-/tmp}/rfl-dkms.XXXXXX")
trap 'rm -rf "$t"' EXIT

ver=$(cat "$kdir/include/config/kernel.release")
if grep -q '^CONFIG_ARM64=y' "$kdir/.config"; then a=aarch64; else a=x86_64; fi
mkdir -p "$t/tree" "$t/inst"
"$TOP/scripts/dkms-source.sh" "$t/src/rfl-bringup-0.1" >/dev/null
d=(dkms --dkmstree "$t/tree" --sourcetree "$t/src" --installtree "$t/inst")
if ! out=$("${d[@]}" add -m rfl-bringup -v 0.1 2>&1); then
	echo "not ok ${name}_add: $out"
	exit 0
fi
if out=$("${d[@]}" build -m rfl-bringup -v 0.1 -k "$ver" -a "$a" --kernelsourcedir "$kdir" 2>&1); then
	echo "ok ${name}_build"
else
	echo "not ok ${name}_build: $out $(tail -20 "$t"/tree/rfl-bringup/0.1/build/make.log 2>/dev/null)"
	exit 0
fi
# The modules Kbuild builds for this tree's options.
want=(gpio_waveform gpio_sloppy_la)
grep -qE '^CONFIG_SYNC_FILE=[ym]' "$kdir/.config" && want+=(kcam)
if grep -qE '^CONFIG_BACKLIGHT_CLASS_DEVICE=[ym]' "$kdir/.config"; then
	want+=(fake_backlight)
	grep -qE '^CONFIG_DRM_KMS_HELPER=[ym]' "$kdir/.config" && want+=(drm_brightness)
fi
for m in "${want[@]}"; do
	ko=$(ls "$t/tree/rfl-bringup/0.1/$ver/$a/module/$m.ko"* 2>/dev/null | head -1)
	if [ -z "$ko" ]; then
		echo "not ok ${name}_$m: DKMS built no $m.ko"
	elif vm=$(modinfo -F vermagic "$ko" 2>&1) && [ "${vm%% *}" = "$ver" ]; then
		echo "ok ${name}_$m"
	else
		echo "not ok ${name}_$m: vermagic '$vm', want $ver"
	fi
done
