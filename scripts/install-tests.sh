#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Lays out the modules, the statically linked tools and the end-to-end tests for copying to a board, under
# $DESTDIR$PREFIX (PREFIX default /opt/rfl-bringup). The test VMs' initramfs is made by this script too, so the
# VMs run exactly what a board runs.
#
#   DESTDIR=/tmp/pi [PREFIX=/opt/rfl-bringup] [KDIR=...] [ARCH=arm64] [MO=dir | M=dir] scripts/install-tests.sh [--no-build]
#
#   modules/  the modules built for KDIR (from MO or M, where they were built with `make MO=...` or `M=...`, else
#             the checkout), the kernel's own upstream analyzer as upstream-gpio-sloppy-logic-analyzer.ko and
#             drm_kms_helper.ko when the tree built them as modules, and load-order
#   bin/      the tools statically linked for ARCH, and upstream's tools/gpio/gpio-sloppy-logic-analyzer.sh
#   tests/    run-tests.sh (the runner: KTAP), lib.sh, rate.sh, kmemleak.sh, e2e/, demo/, bench/, soak/
#
# Without --no-build, builds what is missing first: the modules for KDIR (default: the ARCH test kernel, built
# on first use) and the tools for ARCH. On the board: PREFIX/tests/run-tests.sh (see its header).
set -euo pipefail
. "$(dirname "$0")/env.sh"

build=1
[ "${1:-}" = --no-build ] && build=0
[ -n "${DESTDIR:-}" ] || die "set DESTDIR (e.g. make install-tests DESTDIR=/tmp/board)"
: "${PREFIX:=/opt/rfl-bringup}"
P=$DESTDIR$PREFIX

if [ $build = 1 ]; then
	"$TOP/scripts/setup-host.sh"
	KDIR=$("$TOP/scripts/build-modules.sh")
	"$TOP/scripts/build-tools.sh"
fi
[ -n "${KDIR:-}" ] && [ -f "$KDIR/.config" ] || die "KDIR=${KDIR:-} is not a kernel build tree"
ko_dir=${MO:-${M:-$TOP}}
tools=$(tools_dir)
[ -x "$tools/gpio-la" ] || die "no tools in $tools (scripts/build-tools.sh with ARCH=$(kernel_arch))"

mkdir -p "$P"/modules "$P"/bin "$P"/tests/e2e "$P"/tests/demo "$P"/tests/bench "$P"/tests/soak
install -m 0644 "$TOP/kunit/guest/load-order" "$P/modules/load-order"
n=0
while read -r m _; do
	case "$m" in '' | '#'*) continue ;; esac
	for ko in "$ko_dir/$m.ko" "$KDIR/drivers/gpu/drm/$m.ko"; do
		if [ -f "$ko" ]; then install -m 0644 "$ko" "$P/modules/"; n=$((n + 1)); break; fi
	done
done < "$TOP/kunit/guest/load-order"
((n > 0)) || die "no module of kunit/guest/load-order is built in $ko_dir (make KDIR=$KDIR first)"
up=$KDIR/drivers/gpio/gpio-sloppy-logic-analyzer.ko
[ -f "$up" ] && install -m 0644 "$up" "$P/modules/upstream-gpio-sloppy-logic-analyzer.ko"

for t in "$tools"/*; do [ -x "$t" ] && install -m 0755 "$t" "$P/bin/"; done
ksrc=${KSRC:-$(cat "$CACHE/linux-source.path" 2>/dev/null || true)}
[ -n "$ksrc" ] && [ -f "$ksrc/tools/gpio/gpio-sloppy-logic-analyzer.sh" ] &&
	install -m 0755 "$ksrc/tools/gpio/gpio-sloppy-logic-analyzer.sh" "$P/bin/"

install -m 0755 "$TOP/kunit/guest/run-tests.sh" "$P/tests/"
install -m 0644 "$TOP/kunit/guest/lib.sh" "$TOP/kunit/guest/rate.sh" "$TOP/kunit/guest/kmemleak.sh" "$P/tests/"
for d in e2e demo bench soak; do
	for s in "$TOP/kunit/$d"/*.sh; do [ -f "$s" ] && install -m 0644 "$s" "$P/tests/$d/"; done
done
log "installed into $P: $(ls "$P/modules" | grep -c '\.ko$') modules, $(ls "$P/bin" | wc -l) tools, $(ls "$P/tests/e2e" | wc -l) e2e scripts"
