# SPDX-License-Identifier: GPL-2.0
# On a Raspberry Pi (the emulated Pi 3B boots the kernel's bcm2837-rpi-3-b.dtb with dts/overlays/rpi3b-test.dtso;
# a real Pi 3B with that overlay runs it too): capturing a bus in place, on the bcm2835's own pin controller.
# - I2C1's pins (GPIO3 = SCL1, GPIO2 = SDA1) keep their hardware function, alt0 (the I2C controller), in the pin
#   controller's debugfs `pins` file (which reads the function select register) before the analyzer loads, while
#   in-place instances from the device tree and from new_device are bound, while one captures, after it is
#   deleted and after the module goes.
# - An I2C bus driven by a kernel I2C master (i2c-gpio on GPIO17/16, from the overlay) through i2ctransfer is
#   captured in place on the master's own pins (the master keeps them: outputs, still its consumer) and decoded
#   on the host to exactly what was sent.
# - Last, the reason for all this: an instance that requests I2C1's pins, as upstream's driver does, switches
#   them to gpio_in, and they stay so after it goes (I2C1 is cut off until the next boot).
# Runs before 30-upstream.sh: upstream's C driver binds to the same device tree nodes, ignores probe-in-place and
# requests I2C1's pins.
LA=/sys/kernel/debug/gpio-sloppy-logic-analyzer
PINS=$(ls -d /sys/kernel/debug/pinctrl/*bcm2835* 2>/dev/null | head -1)/pins
[ -f "$PINS" ] || e2e_skip_all "no bcm2835 pin controller: runs on a Raspberry Pi (make check: the emulated Pi 3B)"
[ -d /sys/firmware/devicetree/base/i2c-gpio-test ] ||
	e2e_skip_all "the device tree lacks dts/overlays/rpi3b-test.dtso (its i2c-gpio bus and analyzer nodes)"

# function PIN: the pin's function as the pin controller's register says (alt0, gpio_in, gpio_out, ...).
function_of() { sed -n "s/^pin $1 (gpio$1) .*function \([a-z0-9_]*\).*/\1/p" "$PINS"; }
# i2c1_alt0 NAME: passes when GPIO2 and GPIO3 are both in alt0.
i2c1_alt0() { expect_eq "$1" "$(function_of 2) $(function_of 3)" "alt0 alt0"; }

rmmod gpio_sloppy_la
i2c1_alt0 rpi_i2c1_alt0_without_analyzer
load_la
expect rpi_dt_in_place_bound test -d $LA/i2c1-in-place
expect_eq rpi_dt_in_place_meta "$(cat $LA/i2c1-in-place/meta_data)" "$(printf 'probe01=SCL\nprobe02=SDA')"
expect rpi_dt_requested_bound test -d $LA/spare-requested
expect_eq rpi_dt_requested_pins_are_inputs "$(function_of 23) $(function_of 24)" "gpio_in gpio_in"
i2c1_alt0 rpi_i2c1_alt0_dt_instance_bound

expect rpi_new_device_in_place write_file $LA/new_device "i2c1 pinctrl-bcm2835 3,2 names=SCL,SDA in-place"
i2c1_alt0 rpi_i2c1_alt0_new_device_bound
write_file $LA/i2c1/delay_ns 1000000
write_file $LA/i2c1/buf_size 2000
(taskset -c 1 sh -c "echo 1 > $LA/i2c1/capture" 2>/tmp/i2c1.err; echo $? > /tmp/i2c1.rc) &
sleep 1
i2c1_alt0 rpi_i2c1_alt0_while_capturing
wait
expect_eq rpi_i2c1_capture_in_place "$(cat /tmp/i2c1.rc)" 0
expect rpi_i2c1_delete write_file $LA/delete_device i2c1
i2c1_alt0 rpi_i2c1_alt0_after_delete
rmmod gpio_sloppy_la
i2c1_alt0 rpi_i2c1_alt0_after_rmmod
load_la

# The i2c-gpio bus: find its adapter by name, check the in-place instance on its pins leaves them to i2c-gpio.
. "$RFL_TESTS/rate.sh"
adapter=
for d in /sys/bus/i2c/devices/i2c-*; do
	[ "$(cat "$d/name" 2>/dev/null)" = i2c-gpio-test ] && adapter=${d##*/i2c-}
done
I=$LA/i2c-gpio-in-place
expect rpi_i2c_gpio_adapter test -n "$adapter"
expect rpi_i2c_gpio_in_place_bound test -d $I
expect_eq rpi_i2c_gpio_pins_stay_outputs "$(function_of 17) $(function_of 16)" "gpio_out gpio_out"
expect rpi_i2c_gpio_master_keeps_lines grep -q '|scl' /sys/kernel/debug/gpio

# i2c-gpio's bit time is 4 x i2c-gpio,delay-us (40 ms) = 160 ms; its shortest level lasts half a delay, 20 ms
# (16 ms measured under TCG). Sample at 1 kHz; rate.sh's retake takes the capture again when the sampler stalled
# longer than half a bit of a $bus Hz bus: 15 ms.
bus=33 rate=1000
write_file $I/delay_ns $((1000000000 / rate))
write_file $I/pretrigger_percent 10
write_file $I/trigger_timeout_ms 20000
# rpi_case NAME BYTES EXPECT I2CTRANSFER-ARGS...: captures one i2ctransfer (BYTES bytes on the bus, addresses
# included) in place with a START trigger, and leaves it for the host to decode: the address, direction and bytes
# sent, and a NACK after each byte (no device answers; the output-only master does not read the slot).
rpi_case() {
	name=$1 bytes=$2 want=$3
	shift 3
	# 9 bits of 160 ms per byte, START and STOP, 10 % pre-trigger and a margin.
	write_file $I/buf_size $((rate * (bytes * 9 * 16 + 6) / 100 * 13 / 10))
	attempt_rpi() {
		write_file $I/trigger_expr "1H+2F"
		(taskset -c 1 sh -c "echo 1 > $I/capture" 2>/tmp/rpi.err; echo $? > /tmp/rpi.rc) &
		# The capture must be sampling before the START: on a loaded host the emulated Pi takes seconds to
		# start it (measured: the START missed with 1 s).
		sleep 3
		taskset -c 2 i2ctransfer -y "$adapter" "$@" > /tmp/i2ctransfer.out 2>&1
		echo $? > /tmp/i2ctransfer.rc
		wait
		[ "$(cat /tmp/rpi.rc)" = 0 ]
	}
	if retake $I/stats attempt_rpi "$@"; then
		e2e_pass "${name}_capture"
		mkdir -p $RFL_OUT/decode/$name
		cat $I/sample_data > $RFL_OUT/decode/$name/sample_data
		cat $I/stats > $RFL_OUT/decode/$name/stats
		printf 'channels=2\nrate=%s\nscl=0\nsda=1\nexpect=%s\nacks=%s\n' $rate "$want" \
			"$(printf "%${bytes}s" | tr ' ' N)" > $RFL_OUT/decode/$name/check
	else
		e2e_fail "${name}_capture" "$(cat /tmp/rpi.err)"
	fi
	expect_eq "${name}_i2ctransfer" "$(cat /tmp/i2ctransfer.rc) $(cat /tmp/i2ctransfer.out)" "0 "
}
rpi_case rpi_i2c_gpio_write 3 "write 0x50 de ad" w2@0x50 0xde 0xad
rpi_case rpi_i2c_gpio_repeated_start 4 "write 0x50 11 ; write 0x51 22" w1@0x50 0x11 w1@0x51 0x22
expect_eq rpi_i2c_gpio_pins_still_outputs "$(function_of 17) $(function_of 16)" "gpio_out gpio_out"

# Requesting I2C1's pins (the default, and upstream's only way) takes them from the I2C controller for good.
expect rpi_requested_on_i2c1 write_file $LA/new_device "req pinctrl-bcm2835 3,2 names=SCL,SDA"
expect_eq rpi_requested_remuxes_i2c1 "$(function_of 2) $(function_of 3)" "gpio_in gpio_in"
write_file $LA/delete_device req
expect_eq rpi_requested_release_leaves_gpio_in "$(function_of 2) $(function_of 3)" "gpio_in gpio_in"
