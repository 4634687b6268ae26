#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs every test: host unit tests of the tools (cargo test), host interop tests (sigrok-cli on files the tools
# write), then the VM: KUnit suites of every module and the end-to-end scripts, and host decoding of what the
# guest captured. Prints one final line "N passed, N failed"; exits non-zero on any failure, on a build failure,
# and on any kernel splat in the VM's console even when every test passed.
set -uo pipefail
. "$(dirname "$0")/env.sh"
cd "$TOP"
mkdir -p build
start=$SECONDS
passed=0 failed=0
count() { passed=$((passed + $1)); failed=$((failed + $2)); }
finish() {
	log "total time $((SECONDS - start)) s"
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ] && exit 0 || exit 1
}

if ! "$TOP/scripts/setup-host.sh"; then
	echo "error: host setup failed" >&2
	count 0 1
	finish
fi

log "cargo test (tools/)"
if (cd tools && env -u RUSTC cargo test -q --workspace 2>&1) > build/cargo-test.log; then :; fi
while read -r p f; do count "$p" "$f"; done < <(sed -n 's/^test result: .*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' build/cargo-test.log)
grep -q '^test result:' build/cargo-test.log || { cat build/cargo-test.log >&2; count 0 1; }
grep -E '^test .* FAILED$|panicked' build/cargo-test.log >&2 || true

log "building the kernel modules"
if ! KDIR_BUILT=$("$TOP/scripts/build-modules.sh" 2> >(tee build/modules.log >&2)); then
	echo "error: the modules did not build (build/modules.log)" >&2
	count 0 1
	finish
fi
if grep -q 'warning:' build/modules.log; then
	echo "error: the modules built with warnings (build/modules.log)" >&2
	count 0 1
fi

log "building the tools (static)"
"$TOP/scripts/build-tools.sh" || { echo "error: the tools did not build" >&2; count 0 1; }

for t in "$TOP"/kunit/host/interop-*.sh; do
	[ -x "$t" ] || continue
	log "host interop: $(basename "$t")"
	"$t" > "build/$(basename "$t" .sh).txt" 2>&1
	grep '^not ok' "build/$(basename "$t" .sh).txt" >&2
	count "$(grep -c '^ok ' "build/$(basename "$t" .sh).txt")" "$(grep -c '^not ok' "build/$(basename "$t" .sh).txt")"
done

GUEST_EXTRA_BINS="/usr/bin/zip /usr/bin/modetest" "$TOP/scripts/qemu-run.sh" "$KDIR_BUILT" test build/vm
read -r ktap_pass ktap_fail e2e_pass e2e_fail splats guest_ok < build/vm/counts
count "$ktap_pass" "$ktap_fail"
count "$e2e_pass" "$e2e_fail"
grep -E '^[[:space:]]*not ok' build/vm/ktap.txt >&2
grep '^not ok' build/vm/e2e.txt >&2
# Every module's suite must have run: a suite that silently vanished (KUNIT=m, a module that did not load) fails.
for suite in gpio_sloppy_la gpio_waveform_program kcam_core kcam_frame drm_brightness_policy fake_backlight_commands; do
	grep -q "^ok [0-9]* $suite\$\|^not ok [0-9]* $suite\$" build/vm/ktap.txt || { echo "error: KUnit suite $suite did not run" >&2; count 0 1; }
done
log "KUnit: $ktap_pass passed, $ktap_fail failed; e2e in the VM: $e2e_pass passed, $e2e_fail failed"
if [ "$guest_ok" != 1 ]; then count 0 1; fi
if [ "$splats" != 0 ]; then
	echo "error: the kernel reported $splats splat line(s) (build/vm/splats.txt):" >&2
	head -20 build/vm/splats.txt >&2
	count 0 1
fi

"$TOP/kunit/host/decode.sh" build/vm/out > build/vm/host-decode.txt
# Every capture the guest scripts make must have come out to be decoded: a missing one is a failure, not a skip.
for c in i2c_8probes i2c_16probes i2c_32probes i2c_pretrigger tool_sr up_script_on_rust_driver up_script_on_c_driver; do
	grep -q " host_decode_$c\(:\|\$\)" build/vm/host-decode.txt || echo "not ok host_decode_$c: no capture came out of the VM" >> build/vm/host-decode.txt
done
grep '^not ok' build/vm/host-decode.txt >&2
count "$(grep -c '^ok ' build/vm/host-decode.txt)" "$(grep -c '^not ok' build/vm/host-decode.txt)"
finish
