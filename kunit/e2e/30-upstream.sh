# SPDX-License-Identifier: GPL-2.0
# Drop-in compatibility: the Rust driver binds to a board-described `gpio-sloppy-logic-analyzer` device (probe-gpios
# through a lookup table, probe-names as a property) and upstream's own script drives it unchanged; the upstream
# C driver samples the waveform chip (proof the chip does not sleep).
. "$RFL_TESTS/rate.sh"
W=/sys/kernel/debug/gpio-waveform
LA=/sys/kernel/debug/gpio-sloppy-logic-analyzer
B=$LA/gpio-sloppy-logic-analyzer.0

rmmod gpio_sloppy_la
rmmod gpio_waveform
insmod $RFL_MODULES/gpio_waveform.ko analyzer_lines=2
load_la
expect up_board_device_bound test -d $B
expect_eq up_board_meta "$(cat $B/meta_data)" "$(printf 'probe01=D0\nprobe02=D1')"
pick_rates $B

# attempt_script: one capture with upstream's script into $RFL_OUT/decode/$name; sets $f to the .sr it wrote.
attempt_script() {
	rm -rf $RFL_OUT/decode/$name
	mkdir -p $RFL_OUT/decode/$name
	write_file $W/program "i2c rate=$bus write 0x11 00 ; write 0x50 de ad be ef"
	# Upstream's trigger is a sequence of levels: (both high, then SCL high and SDA low) also matches a 1 bit
	# followed by a 0 bit. So the transfer starts only once the script has launched its background capture
	# (plus two seconds for its calibration), on an idle bus. The trigger state is sample 0 with upstream's
	# trigger, so a decoder never sees the first START: it decodes from the repeated START on, which is what
	# the host expects.
	gpio-sloppy-logic-analyzer.sh -i gpio-sloppy-logic-analyzer.0 -c 1 -s $rate -n $((rate / bus * 100 + 2000)) \
		-t 1H+2F -o $RFL_OUT/decode/$name > /tmp/script.out 2>&1 || return 1
	write_file $W/play 2000000000
	f=$(wait_for_sr $RFL_OUT/decode/$name)
	rc=$?
	write_file $W/play stop
	return $rc
}

# wait_for_sr DIR: upstream's script returns at once and captures in the background; wait for its file.
wait_for_sr() {
	i=0
	while [ $i -lt 600 ]; do
		f=$(ls "$1"/*.sr 2>/dev/null | head -1)
		[ -n "$f" ] && sleep 1 && echo "$f" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

run_script_case() {
	name=$1
	command -v zip >/dev/null || { e2e_skip "${name}_capture" "upstream's script needs zip, which this system lacks"; return; }
	# Only the Rust driver reports its gaps ($B/stats); the C driver's capture is taken once.
	if retake $B/stats attempt_script; then
		e2e_pass "${name}_capture"
		printf 'format=sr\nfile=%s\nscl=D0\nsda=D1\nexpect=write 0x50 de ad be ef\n' "$(basename "$f")" > $RFL_OUT/decode/$name/check
	else
		e2e_fail "${name}_capture" "$(cat /tmp/script.out)"
	fi
}

# 1. Upstream's script against the Rust driver.
run_script_case up_script_on_rust_driver
# The script leaves its cgroup v1 cpuset mounted; unmount it for whatever runs next.
umount /sys/fs/cgroup 2>/dev/null

# 2. The upstream C driver on the same board device and the waveform chip.
rmmod gpio_sloppy_la
if insmod $RFL_MODULES/upstream-gpio-sloppy-logic-analyzer.ko; then
	expect up_c_driver_bound test -d $B
	expect_err up_c_driver_is_upstream "No such file" ls $LA/new_device
	run_script_case up_script_on_c_driver
	umount /sys/fs/cgroup 2>/dev/null
	rmmod gpio_sloppy_logic_analyzer
else
	e2e_fail up_c_driver_bound "insmod of the upstream module failed"
fi
load_la
