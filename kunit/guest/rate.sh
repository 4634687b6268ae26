# SPDX-License-Identifier: GPL-2.0
# Picks rates for a test capture on instance directory $1: an I2C bus of at most 20 Hz, sampled 500 times per bit
# (never faster than 1/4 of what this CPU's read cost allows). So slow because under TCG the vCPU is descheduled
# by the host now and then, interrupts off or not: stalls of up to 16 ms were measured on 2-core machines, and a
# half bit (25 ms here) must outlast one for the decode to be exact. Sets $rate, $period and $bus.
pick_rates() {
	printf 1000000 > "$1/delay_ns"
	printf 16 > "$1/buf_size"
	taskset -c 1 sh -c "echo 1 > $1/capture"
	acq=$(cat "$1/delay_ns_acquisition")
	fastest=$((1000000000 / (acq * 4 + 1)))
	bus=$((fastest / 500))
	[ $bus -gt 20 ] && bus=20
	[ $bus -lt 2 ] && bus=2
	rate=$((bus * 500))
	period=$((1000000000 / rate))
	echo "@@INFO read cost ${acq} ns: sampling at ${rate} Hz, I2C at ${bus} Hz"
}
