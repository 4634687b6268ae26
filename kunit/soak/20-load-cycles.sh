# SPDX-License-Identifier: GPL-2.0
# Soak: every module unloaded and loaded again, 100 times (each load runs its KUnit suites again), with a list run
# on the camera and a fake backlight added (which drm_brightness binds) in between, so that teardown has state to
# tear down.
. "$RFL_TESTS/kmemleak.sh"
cycles=${SOAK_CYCLES:-100}
failed=0
t0=$(cut -d' ' -f1 /proc/uptime)
i=0
while [ "$i" -lt "$cycles" ]; do
	unload_all
	while read -r m params; do
		case "$m" in '' | '#'* | drm_kms_helper) continue ;; esac
		# shellcheck disable=SC2086
		insmod "$RFL_MODULES/$m.ko" $params 2>/tmp/soak.err || { failed=$((failed + 1)); echo "@@INFO cycle $i: insmod $m: $(cat /tmp/soak.err)"; }
	done < $RFL_MODULES/load-order
	kcamctl write vcam-sensor GAIN 7 >/dev/null 2>&1 || failed=$((failed + 1))
	[ -w /sys/kernel/debug/fake_backlight/control ] &&
		echo "add name=soak$i max=100 brightness=5" > /sys/kernel/debug/fake_backlight/control
	i=$((i + 1))
done
t1=$(cut -d' ' -f1 /proc/uptime)
echo "@@INFO soak: $cycles load/unload cycles of every module in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }') s, $failed failure(s)"
expect_eq soak_load_cycles_$cycles "$failed" 0
