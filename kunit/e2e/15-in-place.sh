# SPDX-License-Identifier: GPL-2.0
# Probes taken in place (`new_device ... in-place`, or `probe-in-place` in a device tree): the lines are looked up
# but not requested. Another consumer that owns them keeps them (a requested instance on the same lines works
# alongside, and gpiolib still names it as the owner), an I2C transfer captured in place decodes byte-exact on the
# host, bad lines are refused, and the chip going away under an in-place instance fails its capture with ENODEV
# instead of crashing (in-place probes do not pin the chip's module).
. "$RFL_TESTS/rate.sh"
W=/sys/kernel/debug/gpio-waveform
LA=/sys/kernel/debug/gpio-sloppy-logic-analyzer
P=$LA/inplace

[ -d $LA/i2c ] || write_file $LA/new_device "i2c gpio-waveform 0-1 names=SCL,SDA"
expect inplace_new_device write_file $LA/new_device "inplace gpio-waveform 0-1 names=SCL,SDA in-place"
expect_eq inplace_meta "$(cat $P/meta_data)" "$(printf 'probe01=SCL\nprobe02=SDA')"
# /sys/kernel/debug/gpio lists requested lines with their consumer: lines 0-1 are still the requested instance's,
# and a line only read in place is not requested at all.
expect inplace_owner_keeps_label grep -q '|i2c: SCL' /sys/kernel/debug/gpio
expect inplace_w4 write_file $LA/new_device "w4 gpio-waveform 4 in-place"
if grep -q '|w4' /sys/kernel/debug/gpio; then
	e2e_fail inplace_line_not_requested "$(grep '|w4' /sys/kernel/debug/gpio)"
else
	e2e_pass inplace_line_not_requested
fi
expect inplace_w4_delete write_file $LA/delete_device w4

# A capture in place while the requested instance holds the same lines, decoded on the host.
pick_rates $P
write_file $W/program "i2c rate=$bus write 0x50 de ad be ef"
write_file $P/delay_ns $period
# As 10-analyzer.sh sizes it: the transfer (about 9 bits per byte, 10 samples per bit), pre-trigger and a margin.
samples=$((rate / bus * 9 * 8 * 10 / 9 + rate / bus * 4))
write_file $P/buf_size $samples
write_file $P/pretrigger_percent 10
write_file $P/trigger_timeout_ms 10000
attempt_in_place() {
	write_file $P/trigger_expr "1H+2F"
	write_file $W/play 1000000000
	taskset -c 1 sh -c "echo 1 > $P/capture" > /tmp/inplace.err 2>&1
}
if retake $P/stats attempt_in_place; then
	e2e_pass inplace_capture
	mkdir -p $RFL_OUT/decode/inplace_i2c
	cat $P/sample_data > $RFL_OUT/decode/inplace_i2c/sample_data
	printf 'channels=2\nrate=%s\nscl=0\nsda=1\nexpect=write 0x50 de ad be ef\n' $rate > $RFL_OUT/decode/inplace_i2c/check
else
	e2e_fail inplace_capture "$(cat /tmp/inplace.err)"
fi
write_file $W/play stop
# The requested instance still captures on the shared lines.
write_file $LA/i2c/delay_ns $period
write_file $LA/i2c/buf_size 64
expect inplace_requested_still_works taskset -c 1 sh -c "echo 1 > $LA/i2c/capture"

# Bad lines: refused, no instance made.
expect_err inplace_bad_offset "Invalid argument" write_file $LA/new_device "bad gpio-waveform 40 in-place"
expect_err inplace_bad_chip "No such device" write_file $LA/new_device "bad no-such-chip 0 in-place"
expect_err inplace_bad_no_instance "No such file" ls $LA/bad

# The chip goes (its module unloads: in-place probes take no module reference) under an in-place instance.
expect inplace_delete_requested write_file $LA/delete_device i2c
expect inplace_delete write_file $LA/delete_device inplace
expect inplace_gone_new write_file $LA/new_device "gone gpio-waveform 2-3 in-place"
write_file $LA/gone/delay_ns 1000000
write_file $LA/gone/buf_size 16
if rmmod gpio_waveform 2>/tmp/rmmod.err; then
	e2e_pass inplace_chip_module_unloads
	expect_err inplace_capture_after_chip_removal "No such device" write_file $LA/gone/capture 1
	expect inplace_delete_after_chip_removal write_file $LA/delete_device gone
	expect inplace_chip_reloads insmod $RFL_MODULES/gpio_waveform.ko
else
	e2e_fail inplace_chip_module_unloads "$(cat /tmp/rmmod.err)"
	write_file $LA/delete_device gone
fi
write_file $LA/new_device "i2c gpio-waveform 0-1 names=SCL,SDA"
