# SPDX-License-Identifier: GPL-2.0
# The demo, inside the VM: the waveform chip plays an I2C transaction on two lines; gpio-la isolates CPU1 and
# captures it through the Rust analyzer with a trigger on the START condition; capture.sr and the PulseView
# session capture.pvs (I2C decoder on SCL/SDA) go to the host.
. "$RFL_TESTS/rate.sh"
W=/sys/kernel/debug/gpio-waveform
LA=/sys/kernel/debug/gpio-sloppy-logic-analyzer
say() { echo "@@INFO $*"; }

write_file $LA/new_device "i2c gpio-waveform 0-1 names=SCL,SDA"
say "analyzer instance: $(gpio-la list)"
pick_rates $LA/i2c >/dev/null
payload="write 0x50 de ad be ef ; read 0x50 12 34n"
say "the test chip plays: I2C at $bus Hz: $payload"
write_file $W/program "i2c rate=$bus $payload"
n=$((rate / bus * 120 + 2000))
say "\$ gpio-la capture -i i2c -c 1 -s $rate -n $n -t 1H+2F --vcd --decode i2c:scl=SCL:sda=SDA -o $RFL_OUT/capture.sr"
attempt_demo() {
	write_file $W/play 1500000000
	gpio-la capture -i i2c -c 1 -s $rate -n $n -t 1H+2F --timeout-ms 10000 --vcd --decode i2c:scl=SCL:sda=SDA \
		-o $RFL_OUT/capture.sr >/dev/null 2>/tmp/err
}
ok=0
retake $RFL_OUT/capture.json attempt_demo && ok=1
sed 's/^/@@INFO   /' /tmp/err
if [ $ok = 1 ]; then e2e_pass demo_capture; else e2e_fail demo_capture "gpio-la failed"; fi
echo "$payload" > $RFL_OUT/played.txt
