#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boots the test kernel in QEMU (TCG, 2 CPUs) with an initramfs holding busybox, the modules, the static tools and
# the guest scripts of one mode, then collects what the guest reported.
#
#   scripts/qemu-run.sh KDIR MODE OUTDIR
#
# Leaves in OUTDIR: console.log (the whole serial console), out/ (the guest's /out), ktap.txt, e2e.txt and
# counts (one line: ktap_pass ktap_fail e2e_pass e2e_fail splats guest_ok). Exit status 0 when the guest
# finished; the caller decides what the counts mean.
# Environment: QEMU_KVM=1 to use KVM (hangs before the first kernel message on some hosts, hence opt-in),
# QEMU_TIMEOUT (seconds, default 900), RFL_ONLY (glob of guest scripts to run), RFL_VERBOSE=1 to echo the console.
set -euo pipefail
. "$(dirname "$0")/env.sh"

kdir=$1 mode=$2 outdir=$3
rm -rf "$outdir" && mkdir -p "$outdir/out"
root=$outdir/initramfs
mkdir -p "$root"/{bin,sbin,usr/bin,proc,sys,dev,tmp,modules,tests,etc,root}

cp /bin/busybox "$root/bin/busybox"
install -m 0755 "$TOP/kunit/guest/init" "$root/init"
cp "$TOP"/kunit/guest/*.sh "$root/tests/"
for m in test demo bench; do
	mkdir -p "$root/tests/$m"
	if [ -d "$TOP/kunit/$m" ]; then cp "$TOP"/kunit/"$m"/*.sh "$root/tests/$m/" 2>/dev/null || true; fi
done
# e2e is the directory name in the tree; in the guest the mode name selects it.
cp "$TOP"/kunit/e2e/*.sh "$root/tests/test/" 2>/dev/null || true

# Our modules, in load order (providers first), with their parameters, plus the upstream C analyzer for the
# comparison tests. Under TCG an IRQs-on break between two sampling windows lasts milliseconds and drops I2C bits,
# so the analyzer samples in one window in the tests that decode; 10-analyzer.sh tests the window bound itself.
: > "$root/modules/load-order"
# drm_kms_helper is the test kernel's own (a module there, as DRM_VKMS selects it), needed by drm_brightness.
for m in "gpio_waveform" "gpio_sloppy_la max_irqoff_us=5000000" "kcam" "drm_kms_helper" "fake_backlight" \
	"drm_brightness"; do
	ko=$TOP/${m%% *}.ko
	[ -f "$ko" ] || ko=$kdir/drivers/gpu/drm/${m%% *}.ko
	if [ -f "$ko" ]; then
		cp "$ko" "$root/modules/"
		echo "$m" >> "$root/modules/load-order"
	fi
done
up=$kdir/drivers/gpio/gpio-sloppy-logic-analyzer.ko
[ -f "$up" ] && cp "$up" "$root/modules/upstream-gpio-sloppy-logic-analyzer.ko"
ksrc=$("$TOP/scripts/fetch-kernel.sh" 2>/dev/null || true)
[ -n "$ksrc" ] && [ -f "$ksrc/tools/gpio/gpio-sloppy-logic-analyzer.sh" ] &&
	install -m 0755 "$ksrc/tools/gpio/gpio-sloppy-logic-analyzer.sh" "$root/usr/bin/gpio-sloppy-logic-analyzer.sh"
# Statically linked userspace tools, when built.
for t in "$TOP"/build/static/*; do [ -x "$t" ] && cp "$t" "$root/usr/bin/"; done
# Extra host files a mode wants (e.g. a dynamically linked zip for the upstream script), with their libraries.
for f in ${GUEST_EXTRA_BINS:-}; do
	cp "$f" "$root/usr/bin/"
	for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; done
done

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$outdir/initramfs.cpio.gz"
truncate -s 256M "$outdir/results.img"

accel=(-accel tcg)
[ "${QEMU_KVM:-0}" = 1 ] && accel=(-accel kvm)
append="console=ttyS0 panic=-1 oops=panic rfl_mode=$mode"
[ -n "${RFL_ONLY:-}" ] && append+=" rfl_only=$RFL_ONLY"
log "booting $mode VM (TCG${QEMU_KVM:+/KVM}, 2 CPUs)"
start=$SECONDS
set +e
timeout --foreground -k 5 "${QEMU_TIMEOUT:-900}" qemu-system-x86_64 "${accel[@]}" -m 1024 -smp 2 -nographic -no-reboot \
	-kernel "$kdir/arch/x86/boot/bzImage" -initrd "$outdir/initramfs.cpio.gz" -append "$append" \
	-drive "file=$outdir/results.img,format=raw,if=virtio" </dev/null 2>&1 |
	tr -d '\r' | tee "$outdir/console.log" | { if [ "${RFL_VERBOSE:-0}" = 1 ]; then cat >&2; else grep --line-buffered '^@@E2E\|^@@SCRIPT\|^@@INFO' | sed 's/^@@/  /' >&2; fi; }
qrc=${PIPESTATUS[0]}
set -e
log "VM finished in $((SECONDS - start)) s"
guest_ok=1
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "error: the VM did not finish within ${QEMU_TIMEOUT:-900} s and was killed; see $outdir/console.log" >&2
	guest_ok=0
elif ! grep -q '^@@GUEST-DONE' "$outdir/console.log"; then
	echo "error: the VM ended before the guest finished (qemu exit $qrc); see $outdir/console.log" >&2
	guest_ok=0
fi
tar -C "$outdir/out" -xf "$outdir/results.img" 2>/dev/null || true

# KTAP: the test cases are the indented result lines of each suite's results file.
awk '/^@@KTAP-BEGIN/{on=1; next} /^@@KTAP-END/{on=0; next} on' "$outdir/console.log" > "$outdir/ktap.txt"
ktap_pass=$(grep -E '^[[:space:]]+ok [0-9]+ ' "$outdir/ktap.txt" | grep -vc '# SKIP' || true)
ktap_fail=$(grep -cE '^[[:space:]]+not ok [0-9]+ ' "$outdir/ktap.txt" || true)
grep '^@@E2E' "$outdir/console.log" | sed 's/^@@E2E //' > "$outdir/e2e.txt" || true
e2e_pass=$(grep -c '^ok ' "$outdir/e2e.txt" || true)
e2e_fail=$(grep -c '^not ok ' "$outdir/e2e.txt" || true)
# Kernel splats fail a run even when every test passed.
grep -E 'BUG:|WARNING:|Oops|Kernel panic|general protection fault|KASAN|UBSAN|possible circular locking|possible recursive locking|inconsistent lock state|sleeping function called from invalid context|rcu_sched self-detected stall|rcu: INFO|soft lockup|hard LOCKUP|blocked for more than|kernel BUG|Call Trace:|refcount_t:|list_add corruption|list_del corruption|ODEBUG' \
	"$outdir/console.log" "$outdir/out/dmesg.txt" > "$outdir/splats.txt" 2>/dev/null || true
splats=$(wc -l < "$outdir/splats.txt")
echo "$ktap_pass $ktap_fail $e2e_pass $e2e_fail $splats $guest_ok" > "$outdir/counts"
