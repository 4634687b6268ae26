# SPDX-License-Identifier: GPL-2.0
# gpio-la in the VM: lists instances, captures an I2C transfer with CPU isolation through cgroup v2, writes a .sr
# (decoded on the host by sigrok-cli), a VCD, a JSON sidecar and a PulseView session, restores the isolation,
# and rejects bad input.
. "$RFL_TESTS/rate.sh"
W=/sys/kernel/debug/gpio-waveform
LA=/sys/kernel/debug/gpio-sloppy-logic-analyzer
mkdir -p $RFL_OUT/decode/tool_sr

[ -d $LA/i2c ] || write_file $LA/new_device "i2c gpio-waveform 0-1 names=SCL,SDA"
expect tool_list sh -c "gpio-la list | grep -q '^i2c'"
pick_rates $LA/i2c
irq_before=$(cat /proc/irq/default_smp_affinity)

write_file $W/program "i2c rate=$bus write 0x50 de ad be ef"
# The transfer starts 1.5 s after `play`, while gpio-la isolates a CPU and starts the capture; a slow kernel (the
# debug kernel's KASAN under TCG) takes longer than that to start, so each retake (`attempt`, from retake) doubles
# the delay, within the 10 s trigger timeout.
attempt_tool() {
	write_file $W/play $((1500000000 << (attempt - 1)))
	gpio-la capture -i i2c -c 1 -s $rate -n $((rate / bus * 80 + 2000)) -t 1H+2F --timeout-ms 10000 --vcd \
		--decode i2c:scl=SCL:sda=SDA -o $RFL_OUT/decode/tool_sr/capture.sr > /tmp/tool.out 2> /tmp/tool.err
}
if retake $RFL_OUT/decode/tool_sr/capture.json attempt_tool; then
	e2e_pass tool_capture
	printf 'format=sr\nfile=capture.sr\nscl=SCL\nsda=SDA\nexpect=write 0x50 de ad be ef\n' > $RFL_OUT/decode/tool_sr/check
	expect tool_vcd_written test -s $RFL_OUT/decode/tool_sr/capture.vcd
	expect tool_sidecar_written grep -q '"achieved_rate_hz"' $RFL_OUT/decode/tool_sr/capture.json
	expect tool_sidecar_isolation grep -q '"isolation": "V2Partition"' $RFL_OUT/decode/tool_sr/capture.json
	expect tool_pvs_written grep -q 'assigned_signal_name=SDA' $RFL_OUT/decode/tool_sr/capture.pvs
else
	e2e_fail tool_capture "$(cat /tmp/tool.err)"
fi
write_file $W/play stop
expect_eq tool_restored_irq_affinity "$(cat /proc/irq/default_smp_affinity)" "$irq_before"
expect_err tool_removed_its_cgroup "No such file" ls -d /sys/fs/cgroup/gpio-la

# Bad input: clear message, exit 1, nothing written.
bad() {
	name=$1 want=$2; shift 2
	err=$("$@" 2>&1 >/dev/null); rc=$?
	if [ $rc = 0 ]; then e2e_fail "$name" "succeeded"
	else case "$err" in *"$want"*) e2e_pass "$name" ;; *) e2e_fail "$name" "exit $rc: $err" ;; esac; fi
}
bad tool_unknown_instance "no analyzer instance 'nope'" gpio-la capture -i nope -o /tmp/x.sr
bad tool_bad_trigger "channel out of range" gpio-la capture -i i2c -t 5H -o /tmp/x.sr
bad tool_rate_too_high "faster than this CPU reads the probes" gpio-la capture -i i2c -s 1G -n 100 -o /tmp/x.sr
bad tool_trigger_timeout "did not fire within the timeout" gpio-la capture -i i2c -s $rate -n 100 -t 1R --timeout-ms 100 -o /tmp/x.sr
bad tool_bad_cpu "CPU7 does not exist" gpio-la capture -i i2c -c 7 -s $rate -n 100 -o /tmp/x.sr
expect_err tool_failed_captures_write_nothing "No such file" ls /tmp/x.sr
expect_err tool_failed_captures_restore_isolation "No such file" ls -d /sys/fs/cgroup/gpio-la

# Ctrl-C while waiting for a trigger: exit 130, isolation undone, no file.
gpio-la capture -i i2c -s $rate -n 100 -t 1R -o /tmp/int.sr 2>/dev/null &
pid=$!
sleep 2
kill -INT $pid
wait $pid
expect_eq tool_sigint_exit_code $? 130
expect_err tool_sigint_writes_nothing "No such file" ls /tmp/int.sr
expect_eq tool_sigint_restores_irqs "$(cat /proc/irq/default_smp_affinity)" "$irq_before"
expect_err tool_sigint_removes_cgroup "No such file" ls -d /sys/fs/cgroup/gpio-la

# cgroup v1 fallback: with a v1 cpuset hierarchy mounted (as older distributions do) the tool isolates through an
# exclusive v1 cpuset instead, and removes it afterwards.
if mount -t cgroup -o cpuset none /sys/fs/cgroup 2>/tmp/mount.err; then
	if gpio-la capture -i i2c -c 1 -s $rate -n 1000 -o /tmp/v1.sr >/dev/null 2>/tmp/v1.err; then
		expect tool_v1_isolation grep -q '"isolation": "V1Exclusive"' /tmp/v1.json
	else
		e2e_fail tool_v1_isolation "$(cat /tmp/v1.err)"
	fi
	expect_err tool_v1_cpuset_removed "No such file" ls -d /sys/fs/cgroup/gpio-la
	umount /sys/fs/cgroup
else
	e2e_fail tool_v1_isolation "cannot mount cgroup v1 cpusets: $(cat /tmp/mount.err)"
fi
