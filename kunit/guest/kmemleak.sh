# SPDX-License-Identifier: GPL-2.0
# kmemleak on a debug kernel (CONFIG_DEBUG_KMEMLEAK): unload every module of ours, scan, and report what leaked as
# one result. Sourced by the last script of a mode; does nothing on a kernel without kmemleak.
KMEMLEAK=/sys/kernel/debug/kmemleak

# Our modules and the test kernel's drm_kms_helper, dependants first.
unload_all() {
	for m in drm_brightness fake_backlight kcam gpio_sloppy_la gpio_sloppy_logic_analyzer gpio_waveform; do
		grep -q "^$m " /proc/modules && { rmmod "$m" || e2e_fail "unload_$m" "rmmod $m failed"; }
	done
}

kmemleak_report() {
	[ -w "$KMEMLEAK" ] || return 0
	unload_all
	# Objects freed by RCU callbacks or deferred work are not leaks: let them go, and scan twice (kmemleak reports
	# only what stayed unreferenced across scans).
	sleep 5
	echo scan > "$KMEMLEAK"
	sleep 5
	echo scan > "$KMEMLEAK"
	cat "$KMEMLEAK" > $RFL_OUT/kmemleak.txt
	leaks=$(grep -c '^unreferenced object' $RFL_OUT/kmemleak.txt)
	echo "@@INFO kmemleak: $leaks unreferenced object(s) after unloading every module"
	if [ "$leaks" = 0 ]; then
		e2e_pass kmemleak_clean
	else
		e2e_fail kmemleak_clean "$leaks unreferenced object(s): $(grep -m3 -A12 '^unreferenced object' $RFL_OUT/kmemleak.txt | tr '\n' ' ')"
	fi
}
