# SPDX-License-Identifier: GPL-2.0
# Benchmark, Rust analyzer vs upstream C analyzer, in one boot, on the same board device (waveform chip lines 0-1):
# for a ladder of requested rates, capture a square wave of known half-period on line 0 and leave the samples for
# the host (kunit/host/bench-analyzers.py), which measures achieved rate and interval jitter from the edges.
W=/sys/kernel/debug/gpio-waveform
LA=/sys/kernel/debug/gpio-sloppy-logic-analyzer
B=$LA/gpio-sloppy-logic-analyzer.0
SAMPLES=${BENCH_SAMPLES:-20000}

rmmod gpio_sloppy_la
rmmod gpio_waveform
insmod $RFL_MODULES/gpio_waveform.ko analyzer_lines=2

# square HALF_NS: line 0 toggles every HALF_NS, for well over the capture's length.
square() { echo -n "clock line=0 half_ns=$1 count=$((SAMPLES / 25 * 4 + 100))" > $W/program; }

run_driver() {
	drv=$1
	mkdir -p $RFL_OUT/bench/$drv
	for rate in 20000 50000 100000 125000 150000 200000 500000 1000000 2000000 5000000; do
		period=$((1000000000 / rate))
		# 25 samples per half period at the requested rate.
		square $((period * 25))
		echo -n $period > $B/delay_ns
		echo -n $SAMPLES > $B/buf_size
		echo -n 0 > $W/play
		if taskset -c 1 sh -c "echo 1 > $B/capture" 2>/tmp/err; then
			cat $B/sample_data > $RFL_OUT/bench/$drv/$rate.bin
			echo "$period $(cat $B/delay_ns_acquisition)" > $RFL_OUT/bench/$drv/$rate.meta
			[ -f $B/stats ] && cat $B/stats > $RFL_OUT/bench/$drv/$rate.stats
			echo "@@INFO $drv $rate Hz: captured"
		else
			echo "@@INFO $drv $rate Hz: $(cat /tmp/err)"
			echo -n stop > $W/play
			break
		fi
		echo -n stop > $W/play
	done
}

insmod $RFL_MODULES/upstream-gpio-sloppy-logic-analyzer.ko && run_driver upstream && rmmod gpio_sloppy_logic_analyzer
load_la && run_driver rust
e2e_pass bench_done
