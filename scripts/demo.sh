#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The main demo: boots the test kernel in QEMU, plays an I2C transaction on the waveform test GPIO chip, captures
# it with the Rust analyzer through gpio-la, writes capture.sr (and capture.vcd, capture.json, and capture.pvs, a
# PulseView session with the I2C decoder attached) into the current directory, and prints what sigrok-cli
# decodes from it and the command that opens it in PulseView.
set -euo pipefail
. "$(dirname "$0")/env.sh"
here=$PWD

"$TOP/scripts/setup-host.sh"
kdir=$("$TOP/scripts/build-modules.sh")
"$TOP/scripts/build-tools.sh"
"$TOP/scripts/qemu-run.sh" "$kdir" demo "$TOP/build/demo"
read -r _ _ _ e2e_fail splats guest_ok < "$TOP/build/demo/counts"
[ "$guest_ok" = 1 ] && [ "$e2e_fail" = 0 ] && [ -s "$TOP/build/demo/out/capture.sr" ] ||
	die "the capture did not work; see $TOP/build/demo/console.log"
[ "$splats" = 0 ] || echo "warning: the kernel logged $splats splat line(s); see $TOP/build/demo/splats.txt" >&2
for f in capture.sr capture.vcd capture.json capture.pvs; do cp "$TOP/build/demo/out/$f" "$here/$f"; done

echo
echo "Played on the bus:  $(cat "$TOP/build/demo/out/played.txt")"
echo "sigrok-cli decodes capture.sr as:"
echo "  \$ sigrok-cli -i capture.sr -P i2c:scl=SCL:sda=SDA -A i2c=start:repeat-start:stop:ack:nack:address-read:address-write:data-read:data-write"
sigrok-cli -i "$here/capture.sr" -P i2c:scl=SCL:sda=SDA \
	-A i2c=start:repeat-start:stop:ack:nack:address-read:address-write:data-read:data-write | sed 's/^/  /'
echo
echo "Open it in PulseView with the I2C decoder attached to SCL/SDA:"
echo "  \$ pulseview -s capture.pvs capture.sr"
echo "capture.vcd has the same trace for GTKWave; capture.json has the capture's timing statistics."
