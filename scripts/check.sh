#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs every test: host unit tests of the tools (cargo test), host interop tests (sigrok-cli on files the tools
# write, dt-schema), then two VMs, the x86_64 PC and the emulated Raspberry Pi 3B (arm64, its own device tree):
# KUnit suites of every module, the end-to-end scripts (KTAP from run-tests.sh, as on a board), host decoding of
# what the guests captured; the modules built against the arm64 tree as for a board, and DKMS builds against
# both kernels. Prints one final line "N passed, N failed, N skipped"; exits non-zero on any failure, on a build
# failure, and on any kernel splat in a VM's console even when every test passed.
# KVARIANT=debug (make check-debug): the kernel-side tests only (the host's cargo and interop tests do not change
# with the kernel), the x86_64 VM on the debug test kernel (KASAN, kmemleak) in build/vm-debug, whose run must end
# with a clean kmemleak scan after every module was unloaded (kunit/e2e/99-kmemleak.sh).
set -uo pipefail
. "$(dirname "$0")/env.sh"
cd "$TOP"
mkdir -p build
start=$SECONDS
passed=0 failed=0
count() { passed=$((passed + $1)); failed=$((failed + $2)); }
finish() {
	log "total time $((SECONDS - start)) s"
	echo "$passed passed, $failed failed, ${skipped:-0} skipped"
	[ "$failed" = 0 ] && exit 0 || exit 1
}

if ! "$TOP/scripts/setup-host.sh"; then
	echo "error: host setup failed" >&2
	count 0 1
	finish
fi

debug=0
[ "${KVARIANT:-}" = debug ] && debug=1
vmdir=build/vm
[ $debug = 1 ] && vmdir=build/vm-debug

if [ $debug = 0 ]; then
	log "cargo test (tools/)"
	if (cd tools && env -u RUSTC cargo test -q --workspace 2>&1) > build/cargo-test.log; then :; fi
	while read -r p f; do count "$p" "$f"; done < <(sed -n 's/^test result: .*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' build/cargo-test.log)
	grep -q '^test result:' build/cargo-test.log || { cat build/cargo-test.log >&2; count 0 1; }
	grep -E '^test .* FAILED$|panicked' build/cargo-test.log >&2 || true
fi

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
	[ -x "$t" ] && [ $debug = 0 ] || continue
	log "host interop: $(basename "$t")"
	"$t" > "build/$(basename "$t" .sh).txt" 2>&1
	grep '^not ok' "build/$(basename "$t" .sh).txt" >&2
	count "$(grep -c '^ok ' "build/$(basename "$t" .sh).txt")" "$(grep -c '^not ok' "build/$(basename "$t" .sh).txt")"
done

# vm_results DIR LABEL CAPTURES...: counts what qemu-run.sh left in DIR, and decodes the guest's captures on the
# host; every capture named must have come out (a missing one is a failure, not a skip).
vm_results() {
	local dir=$1 label=$2 c
	shift 2
	read -r ktap_pass ktap_fail e2e_pass e2e_fail splats guest_ok < "$dir/counts"
	count "$ktap_pass" "$ktap_fail"
	count "$e2e_pass" "$e2e_fail"
	skipped=$((skipped + $(cat "$dir/skips")))
	grep -E '^[[:space:]]*not ok' "$dir/ktap.txt" >&2
	grep -E '^  not ok|^  # .*: ' "$dir/e2e.txt" | grep -B1 '^  not ok' >&2
	# Every module's suite must have run: a suite that silently vanished (KUNIT=m, a module that did not load) fails.
	for suite in gpio_sloppy_la gpio_waveform_program kcam_core kcam_frame kcam_pipeline drm_brightness_policy drm_brightness_binding \
		fake_backlight_commands; do
		grep -q "^ok [0-9]* $suite\$\|^not ok [0-9]* $suite\$" "$dir/ktap.txt" || { echo "error: KUnit suite $suite did not run ($label)" >&2; count 0 1; }
	done
	log "$label: KUnit $ktap_pass passed, $ktap_fail failed; e2e $e2e_pass passed, $e2e_fail failed, $(cat "$dir/skips") skipped; VM $(cat "$dir/seconds") s"
	if [ "$guest_ok" != 1 ]; then count 0 1; fi
	if [ "$splats" != 0 ]; then
		echo "error: the kernel reported $splats splat line(s) ($dir/splats.txt):" >&2
		head -20 "$dir/splats.txt" >&2
		count 0 1
	fi
	"$TOP/kunit/host/decode.sh" "$dir/out" > "$dir/host-decode.txt"
	for c in "$@"; do
		grep -q " host_decode_$c\(:\|\$\)" "$dir/host-decode.txt" || echo "not ok host_decode_$c: no capture came out of the VM" >> "$dir/host-decode.txt"
	done
	grep '^not ok' "$dir/host-decode.txt" >&2
	count "$(grep -c '^ok ' "$dir/host-decode.txt")" "$(grep -c '^not ok' "$dir/host-decode.txt")"
}
skipped=0

GUEST_EXTRA_BINS="/usr/bin/zip /usr/bin/modetest" "$TOP/scripts/qemu-run.sh" "$KDIR_BUILT" test $vmdir
vm_results $vmdir "x86_64 VM" i2c_8probes i2c_16probes i2c_32probes i2c_pretrigger tool_sr inplace_i2c \
	up_script_on_rust_driver up_script_on_c_driver
if [ $debug = 1 ]; then
	if ! grep -qE '^  (not )?ok [0-9]+ kmemleak_clean' $vmdir/e2e.txt; then
		echo "error: the debug kernel's run reported no kmemleak scan" >&2
		count 0 1
	fi
	finish
fi

# The emulated Raspberry Pi 3B: the arm64 test kernel (cached like the x86_64 one), the modules built against it
# as for any board (`make KDIR=<arm64 tree> ARCH=arm64`, on a mirror of the sources in build/arm64/src, mtimes
# kept, so both sets of objects coexist and each rebuilds only what changed), the tools cross-built for aarch64,
# the same tests. There is no modetest for aarch64 in the guest: its tests report SKIP.
log "arm64: test kernel, modules and tools for the emulated Raspberry Pi 3B"
if ! KDIR_ARM64=$(ARCH=arm64 "$TOP/scripts/build-kernel.sh"); then
	echo "error: the arm64 test kernel did not build" >&2
	count 0 1
elif ! mkdir -p build/arm64/src || ! find Kbuild drivers include -type f \( -name '*.rs' -o -name '*.[ch]' -o -name Kbuild \) |
	cpio -pdmu --quiet build/arm64/src ||
	! KDIR=$KDIR_ARM64 ARCH=arm64 M=$TOP/build/arm64/src "$TOP/scripts/build-modules.sh" \
	2> >(tee build/modules-arm64.log >&2) >/dev/null; then
	echo "error: the modules did not build for arm64 (build/modules-arm64.log)" >&2
	count 0 1
elif ! ARCH=arm64 "$TOP/scripts/build-tools.sh"; then
	echo "error: the tools did not build for aarch64" >&2
	count 0 1
else
	if grep -q 'warning:' build/modules-arm64.log; then
		echo "error: the modules built with warnings for arm64 (build/modules-arm64.log)" >&2
		count 0 1
	fi
	# Within make check's time budget the Pi runs KUnit and the scripts up to 25- (the waveform chip, the analyzer,
	# in place, the capture tool, the Pi's own pins); upstream's driver and script, KCAM and brightness (30- to 50-,
	# no arm64-specific code) run on x86_64 only. RFL_ONLY_ARM64='*' runs them all (they pass: README).
	only=${RFL_ONLY_ARM64:-[012]*}
	M=$TOP/build/arm64/src RFL_ONLY=$only QEMU_TIMEOUT=${QEMU_TIMEOUT_ARM64:-1500} \
		"$TOP/scripts/qemu-run.sh" "$KDIR_ARM64" test build/vm-arm64
	captures=(i2c_8probes i2c_16probes i2c_32probes i2c_pretrigger tool_sr inplace_i2c rpi_i2c_gpio_write
		rpi_i2c_gpio_repeated_start)
	[ "$only" = '*' ] && captures+=(up_script_on_rust_driver up_script_on_c_driver)
	vm_results build/vm-arm64 "emulated Raspberry Pi 3B" "${captures[@]}"
	# The Pi's own tree with the test overlay, as the VM booted it, validates against the project's bindings.
	if out=$("$DTSCHEMA_BIN/dt-validate" -s dts/bindings build/vm-arm64/rpi3b-test.dtb 2>&1 |
		grep -E 'gpio-sloppy-logic-analyzer\)|rfl-bringup,gpio-waveform\)|^(probe-[a-z-]+|ngpios): '); then
		echo "not ok dt_validate_rpi3b_test_tree: $out" >&2
		count 0 1
	else
		count 1 0
	fi
	# The tests a board gets: what `make install-tests` laid out for the Pi is aarch64 and static.
	if file -L build/vm-arm64/initramfs/opt/rfl-bringup/bin/gpio-la | grep -q 'ARM aarch64.*statically linked'; then
		count 1 0
	else
		echo "not ok install_tests_aarch64_static_tools: $(file -L build/vm-arm64/initramfs/opt/rfl-bringup/bin/gpio-la)" >&2
		count 0 1
	fi
fi

# DKMS against each test kernel's build tree.
for k in "x86_64:$KDIR_BUILT" "arm64:${KDIR_ARM64:-}"; do
	[ -n "${k#*:}" ] || continue
	log "dkms build against the ${k%%:*} test kernel"
	"$TOP/kunit/host/dkms.sh" "${k#*:}" "${k%%:*}" > "build/dkms-${k%%:*}.txt" 2>&1
	grep '^not ok' "build/dkms-${k%%:*}.txt" >&2
	count "$(grep -c '^ok ' "build/dkms-${k%%:*}.txt")" "$(grep -c '^not ok' "build/dkms-${k%%:*}.txt")"
done
finish
