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

# stalled STATS_FILE: true when the capture whose stats (the driver's `stats`, or key=value lines) are in the file
# had a gap between two samples longer than half an I2C bit: the emulated CPU was descheduled long enough to lose
# a level, so the trace cannot decode exactly. The analyzer reports it; the tests then take the capture again.
stalled() {
	gap=$(sed -n 's/.*interval_ns_max[=": ]*\([0-9]*\).*/\1/p' "$1" 2>/dev/null | head -1)
	half_bit_ns=$((500000000 / bus))
	if [ -n "$gap" ] && [ "$gap" -gt "$half_bit_ns" ]; then
		echo "@@INFO emulation stalled the sampler for $((gap / 1000000)) ms (more than half a bit): capturing again"
		return 0
	fi
	return 1
}

# retake STATS_FILE CMD...: runs CMD (one attempt: arm the waveform, capture); while the capture it left stats for
# stalled (see stalled), or CMD failed (a stall across the START leaves the trigger waiting until its timeout),
# stops the waveform and runs CMD again, three attempts in all. Returns CMD's status.
retake() {
	stats=$1
	shift
	attempt=1
	while :; do
		"$@"
		rc=$?
		[ $attempt -lt 3 ] || return $rc
		if [ $rc = 0 ]; then
			stalled "$stats" || return 0
		else
			echo "@@INFO the capture failed (exit $rc): capturing again"
		fi
		echo -n stop > /sys/kernel/debug/gpio-waveform/play 2>/dev/null
		attempt=$((attempt + 1))
	done
}
