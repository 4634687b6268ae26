#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make soak: on the debug test kernel (KASAN, kmemleak), 100000 seeded random KCAM ioctls and 100 load/unload
# cycles of every module, then kmemleak after unloading everything. Prints "N passed, N failed"; a splat fails it.
# SOAK_IOCTLS and SOAK_CYCLES change the amounts (for a quick try).
set -uo pipefail
. "$(dirname "$0")/env.sh"
cd "$TOP"
export KVARIANT=debug
mkdir -p build
start=$SECONDS
"$TOP/scripts/setup-host.sh" || die "host setup failed"
KDIR_BUILT=$("$TOP/scripts/build-modules.sh") || die "the modules did not build"
"$TOP/scripts/build-tools.sh" || die "the tools did not build"
cmdline=(rfl_script_timeout=5000)
[ -n "${SOAK_IOCTLS:-}" ] && cmdline+=("SOAK_IOCTLS=$SOAK_IOCTLS")
[ -n "${SOAK_CYCLES:-}" ] && cmdline+=("SOAK_CYCLES=$SOAK_CYCLES")
QEMU_TIMEOUT=${QEMU_TIMEOUT:-5400} RFL_ENV="${cmdline[*]}" "$TOP/scripts/qemu-run.sh" "$KDIR_BUILT" soak build/vm-soak
read -r ktap_pass ktap_fail e2e_pass e2e_fail splats guest_ok < build/vm-soak/counts
grep -E '^ *not ok' build/vm-soak/e2e.txt >&2
grep '^@@INFO' build/vm-soak/console.log | sed 's/^@@INFO /  /' >&2
passed=$((ktap_pass + e2e_pass)) failed=$((ktap_fail + e2e_fail))
grep -qE '^  (not )?ok [0-9]+ kmemleak_clean' build/vm-soak/e2e.txt || { echo "error: no kmemleak scan reported" >&2; failed=$((failed + 1)); }
[ "$guest_ok" = 1 ] || failed=$((failed + 1))
if [ "$splats" != 0 ]; then
	echo "error: the kernel reported $splats splat line(s) (build/vm-soak/splats.txt):" >&2
	head -20 build/vm-soak/splats.txt >&2
	failed=$((failed + 1))
fi
log "soak: $((SECONDS - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
