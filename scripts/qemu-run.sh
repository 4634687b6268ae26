#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boots a test kernel in QEMU with an initramfs holding busybox and what `make install-tests` lays out for a board
# (modules, static tools, test scripts), runs the scripts of one mode, then collects what the guest reported.
# The kernel's architecture picks the machine: x86_64 in QEMU's PC (TCG, 2 CPUs, results on a virtio disk), arm64
# in QEMU's Raspberry Pi 3B (raspi3b: the kernel's bcm2837-rpi-3-b.dtb plus dts/overlays/rpi3b-test.dtso applied
# with fdtoverlay, 4 CPUs, results as base64 on the PL011).
#
#   scripts/qemu-run.sh KDIR MODE OUTDIR
#
# Leaves in OUTDIR: console.log (the whole serial console), out/ (the guest's /out), ktap.txt (KUnit), e2e.txt (the
# end-to-end KTAP), counts (one line: ktap_pass ktap_fail e2e_pass e2e_fail splats guest_ok), skips (skipped
# end-to-end tests) and seconds (the VM's run time). Exit status 0 when the guest finished; the caller decides
# what the counts mean.
# Environment: MO or M (where the modules for KDIR were built, default the checkout), QEMU_KVM=1 to use KVM on x86_64
# (hangs before the first kernel message on some hosts, hence opt-in),
# QEMU_TIMEOUT (seconds, default 900), RFL_ONLY (glob of guest scripts to run), RFL_ENV (NAME=VALUE words for the
# guest's environment), RFL_VERBOSE=1 to echo the console.
set -euo pipefail
. "$(dirname "$0")/env.sh"

kdir=$1 mode=$2 outdir=$3
if grep -q '^CONFIG_ARM64=y' "$kdir/.config"; then karch=arm64; else karch=x86_64; fi
rm -rf "$outdir" && mkdir -p "$outdir/out"
root=$outdir/initramfs
mkdir -p "$root"/{bin,sbin,usr/bin,proc,sys,dev,tmp,etc,root}

case "$karch" in
x86_64) cp /bin/busybox "$root/bin/busybox" ;;
# busybox, and zip with its loader and libraries for upstream's script (scripts/setup-host.sh fetched them).
arm64) cp "$BUSYBOX_ARM64" "$root/bin/busybox" && cp -a "$ARM64_EXTRA_ROOT/." "$root/" ;;
esac
install -m 0755 "$TOP/kunit/guest/init" "$root/init"
# Modules, tools and tests exactly as `make install-tests` lays them out for a board (MO or M: where the modules are).
ARCH=$karch KDIR=$kdir DESTDIR=$root PREFIX=/opt/rfl-bringup "$TOP/scripts/install-tests.sh" --no-build
# Extra host files a mode wants (e.g. a dynamically linked zip for the upstream script), with their libraries:
# host binaries, so only for a guest of the host's architecture.
if [ "$karch" = "$(ARCH= kernel_arch)" ]; then
	for f in ${GUEST_EXTRA_BINS:-}; do
		cp "$f" "$root/usr/bin/"
		for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; done
	done
fi

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$outdir/initramfs.cpio.gz"

accel=(-accel tcg)
[ "${QEMU_KVM:-0}" = 1 ] && [ "$karch" = x86_64 ] && accel=(-accel kvm)
append="panic=-1 oops=panic rfl_mode=$mode"
[ -n "${RFL_ONLY:-}" ] && append+=" rfl_only=$RFL_ONLY"
# Extra NAME=VALUE words reach the guest's /init as environment variables (the kernel passes them on).
[ -n "${RFL_ENV:-}" ] && append+=" $RFL_ENV"
case "$karch" in
x86_64)
	truncate -s 256M "$outdir/results.img"
	qemu=(qemu-system-x86_64 "${accel[@]}" -m 1024 -smp 2 -nographic -no-reboot
		-kernel "$kdir/arch/x86/boot/bzImage" -initrd "$outdir/initramfs.cpio.gz" -append "console=ttyS0 $append"
		-drive "file=$outdir/results.img,format=raw,if=virtio")
	what="x86_64 VM (TCG${QEMU_KVM:+/KVM}, 2 CPUs)"
	;;
arm64)
	# The kernel's own Raspberry Pi 3B tree with the project's test overlay, as a board's firmware would apply it.
	dtc -q -@ -I dts -O dtb -o "$outdir/rpi3b-test.dtbo" "$TOP/dts/overlays/rpi3b-test.dtso"
	fdtoverlay -i "$kdir/arch/arm64/boot/dts/broadcom/bcm2837-rpi-3-b.dtb" -o "$outdir/rpi3b-test.dtb" \
		"$outdir/rpi3b-test.dtbo"
	# Serial 0 is the PL011 (ttyAMA0): it carries /out back as base64. Serial 1, the mini UART (ttyS1), is the
	# console (the tree's stdout-path). reboot goes through the watchdog, and -no-reboot turns it into an exit.
	qemu=(qemu-system-aarch64 -M raspi3b -nographic -no-reboot -monitor none
		-kernel "$kdir/arch/arm64/boot/Image" -dtb "$outdir/rpi3b-test.dtb" -initrd "$outdir/initramfs.cpio.gz"
		-append "console=ttyS1,115200 $append rfl_results=ttyAMA0"
		-serial "file:$outdir/serial0.txt" -serial stdio)
	what="emulated Raspberry Pi 3B (raspi3b, TCG, 4 CPUs)"
	;;
esac
log "booting $mode VM: $what"
start=$SECONDS
set +e
timeout --foreground -k 5 "${QEMU_TIMEOUT:-900}" "${qemu[@]}" </dev/null 2>&1 |
	stdbuf -oL tr -d '\r' | tee "$outdir/console.log" | {
		if [ "${RFL_VERBOSE:-0}" = 1 ]; then
			cat >&2
		else
			# Progress: each script's result, failed tests, the scripts' diagnostics, the demo's narration.
			grep --line-buffered -E '^(not )?ok [0-9]|^  not ok|^  # |^@@SCRIPT|^@@INFO' |
				sed -u 's/^@@/  /; s/^  # /    /' >&2
		fi
	}
qrc=${PIPESTATUS[0]}
set -e
log "VM finished in $((SECONDS - start)) s"
echo "$((SECONDS - start))" > "$outdir/seconds"
guest_ok=1
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "error: the VM did not finish within ${QEMU_TIMEOUT:-900} s and was killed; see $outdir/console.log" >&2
	guest_ok=0
elif ! grep -q '^@@GUEST-DONE' "$outdir/console.log"; then
	echo "error: the VM ended before the guest finished (qemu exit $qrc); see $outdir/console.log" >&2
	guest_ok=0
fi
case "$karch" in
x86_64) tar -C "$outdir/out" -xf "$outdir/results.img" 2>/dev/null || true ;;
arm64)
	tr -d '\r' < "$outdir/serial0.txt" 2>/dev/null | awk '/^@@OUT-END/{on=0} on; /^@@OUT-BEGIN/{on=1}' |
		base64 -d 2>/dev/null | tar -C "$outdir/out" -xzf - 2>/dev/null || true
	;;
esac

# KTAP: the test cases are the indented result lines of each suite's results file.
awk '/^@@KTAP-BEGIN/{on=1; next} /^@@KTAP-END/{on=0; next} on' "$outdir/console.log" > "$outdir/ktap.txt"
ktap_pass=$(grep -E '^[[:space:]]+ok [0-9]+ ' "$outdir/ktap.txt" | grep -vc '# SKIP' || true)
ktap_fail=$(grep -cE '^[[:space:]]+not ok [0-9]+ ' "$outdir/ktap.txt" || true)
# The end-to-end KTAP of run-tests.sh (module loading, then the scripts): from the files the guest wrote, else
# from the console (where kernel messages may interleave; they are dropped).
if [ -s "$outdir/out/e2e.ktap" ] || [ -s "$outdir/out/load.ktap" ]; then
	cat "$outdir/out/load.ktap" "$outdir/out/e2e.ktap" > "$outdir/e2e.txt" 2>/dev/null || true
else
	awk '/^@@E2E-KTAP-BEGIN/{on=1; next} /^@@E2E-KTAP-END/{on=0; next} on' "$outdir/console.log" |
		grep -vE '^\[ *[0-9]+\.[0-9]+\]' > "$outdir/e2e.txt" || true
fi
# Each test is a result line of a script's nested KTAP; a script skipped as a whole counts as one skip.
e2e_pass=$(grep -E '^  ok [0-9]+ ' "$outdir/e2e.txt" | grep -vc '# SKIP' || true)
e2e_fail=$(grep -cE '^  not ok [0-9]+ ' "$outdir/e2e.txt" || true)
e2e_skip=$(grep -cE '^  ok [0-9]+ .*# SKIP|^ok [0-9]+ .*# SKIP' "$outdir/e2e.txt" || true)
echo "$e2e_skip" > "$outdir/skips"
# Kernel splats fail a run even when every test passed.
grep -E 'BUG:|WARNING:|Oops|Kernel panic|general protection fault|KASAN|UBSAN|possible circular locking|possible recursive locking|inconsistent lock state|sleeping function called from invalid context|rcu_sched self-detected stall|rcu: INFO|soft lockup|hard LOCKUP|blocked for more than|kernel BUG|Call Trace:|refcount_t:|list_add corruption|list_del corruption|ODEBUG' \
	"$outdir/console.log" "$outdir/out/dmesg.txt" > "$outdir/splats.txt" 2>/dev/null || true
splats=$(wc -l < "$outdir/splats.txt")
echo "$ktap_pass $ktap_fail $e2e_pass $e2e_fail $splats $guest_ok" > "$outdir/counts"
