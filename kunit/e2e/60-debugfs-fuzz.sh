# SPDX-License-Identifier: GPL-2.0
# Issue 10, point 11: a seeded fuzz leg for every debugfs file of every module (the waveform chip, the analyzer's
# root files and instances, vcam's faults, fake_backlight's control, drm_brightness's connected): random and
# boundary strings, huge numbers, embedded NULs, invalid UTF-8, split, offset and faulting writes, odd reads
# (debugfs-fuzz), each in a process that is killed when it takes too long. Passes when no writer outlives SIGKILL,
# every file was reached, and every module unloads afterwards (a write that panics leaks debugfs' active
# reference, after which rmmod blocks forever) and loads again; a kernel splat fails the run (console scan).
# Replay a failure with the seed and count below (debugfs-fuzz -v prints each operation).
D=/sys/kernel/debug
LA=$D/gpio-sloppy-logic-analyzer
SEED=10
COUNT=1500

# The analyzer as the other tests load it keeps interrupts off for up to 5 s and takes 256 MiB buffers; random
# settings would make that minutes of captures and more memory than the VM has. The default window, 16 MiB.
rmmod gpio_sloppy_la
load_la max_buf_mib=16
write_file $LA/new_device "fza gpio-waveform 0-1"
write_file $LA/new_device "fzb gpio-waveform 2-9 names=A,B,C,D,E,F,G,H"

targets="$D/gpio-waveform $LA $D/vcam/faults $D/fake_backlight/control $D/drm_brightness"
for t in $targets; do
	expect "fuzz_target_$(basename $t)" test -e $t
done
# shellcheck disable=SC2086
out=$(debugfs-fuzz --seed $SEED --count $COUNT --timeout-ms 200 --kill-ms 5000 $targets 2>&1)
rc=$?
echo "$out" | sed 's/^/fuzz: /'
if [ $rc = 0 ]; then
	e2e_pass fuzz_debugfs_no_unkillable_writer
else
	e2e_fail fuzz_debugfs_no_unkillable_writer "$(echo "$out" | grep -m3 'UNKILLABLE\|^debugfs-fuzz: [^s]')"
fi
if echo "$out" | grep -q '^never fuzzed:'; then
	e2e_fail fuzz_debugfs_every_file "$(echo "$out" | grep '^never fuzzed:')"
else
	e2e_pass fuzz_debugfs_every_file
fi

# Undo what the fuzzer may have set (a removed camera stays removed until kcam reloads), then every module must
# unload within a minute, and load again.
write_file $D/vcam/faults "fail_nth=0 stuck_busy=0 lose_events=0 slow_us=0 hang=0" 2>/dev/null
write_file $D/drm_brightness/connected 1
sed 's/ .*//' $D/fake_backlight/control | while read -r n; do write_file $D/fake_backlight/control "remove name=$n"; done
for m in drm_brightness fake_backlight kcam gpio_sloppy_la gpio_waveform; do
	rmmod $m 2>/tmp/rmmod.err &
	pid=$!
	if wait_gone $pid 6000; then
		expect_eq "fuzz_then_rmmod_$m" "$(cat /tmp/rmmod.err)" ""
	else
		e2e_fail "fuzz_then_rmmod_$m" "rmmod still blocked after 60 s"
	fi
done
expect fuzz_then_insmod_gpio_waveform insmod $RFL_MODULES/gpio_waveform.ko
expect fuzz_then_insmod_gpio_sloppy_la load_la
expect fuzz_then_insmod_kcam insmod $RFL_MODULES/kcam.ko
expect fuzz_then_insmod_fake_backlight insmod $RFL_MODULES/fake_backlight.ko
expect fuzz_then_insmod_drm_brightness insmod $RFL_MODULES/drm_brightness.ko
