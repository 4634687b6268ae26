# SPDX-License-Identifier: GPL-2.0
# Picks a sample rate this (possibly emulated) CPU sustains on instance directory $1, and an I2C bus rate with
# at least ten samples per bit. Sets $rate, $period and $bus.
pick_rates() {
	printf 1000000 > "$1/delay_ns"
	printf 16 > "$1/buf_size"
	taskset -c 1 sh -c "echo 1 > $1/capture"
	acq=$(cat "$1/delay_ns_acquisition")
	period=$((acq * 4))
	[ $period -lt 1000 ] && period=1000
	rate=$((1000000000 / period))
	bus=$((rate / 10))
	[ $bus -gt 100000 ] && bus=100000
	echo "@@INFO read cost ${acq} ns: sampling at ${rate} Hz, I2C at ${bus} Hz"
}
