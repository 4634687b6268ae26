#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host interop: files gpio-la writes are opened and decoded by sigrok-cli (the real peer), and bad inputs give
# clear errors and no output file. Prints "ok NAME" / "not ok NAME: why".
set -uo pipefail
. "$(dirname "$0")/i2c-lib.sh"
LA=${GPIO_LA:-$(dirname "$0")/../../build/static/gpio-la}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

ok() { echo "ok $1"; }
nok() { echo "not ok $1: $2"; }
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else nok "$1" "got '$2', want '$3'"; fi; }

# i2c_roundtrip NAME RATE PROBES SCL SDA FORMAT PAYLOAD...: synthesize, convert, decode with sigrok-cli.
i2c_roundtrip() {
	local name=$1 rate=$2 probes=$3 scl=$4 sda=$5 fmt=$6; shift 6
	local names
	names=$(seq 0 $((probes - 1)) | sed "s/^$scl\$/SCL/; s/^$sda\$/SDA/; s/^\([0-9]*\)\$/P\1/" | paste -sd,)
	if ! "$LA" synth -s "$rate" --probes "$probes" --names "$names" -o "$t/$name.raw" "i2c rate=${BUS:-100000} scl=$scl sda=$sda $*" 2>"$t/err" ||
		! "$LA" convert --meta "$t/$name.raw.meta" -s "$rate" -o "$t/$name.$fmt" "$t/$name.raw" 2>"$t/err"; then
		nok "$name" "$(cat "$t/err")"
		return
	fi
	local got
	if [ "$fmt" = sr ]; then
		got=$(decoded_tokens -i "$t/$name.sr" -P i2c:scl=SCL:sda=SDA)
	else
		got=$(decoded_tokens -I vcd -i "$t/$name.vcd" -P i2c:scl=SCL:sda=SDA)
	fi
	check_eq "$name" "$got" "$(expected_tokens "$*")"
}

BUS=100000 i2c_roundtrip interop_sr_i2c_100k_8probes 1M 2 0 1 sr write 0x50 de ad be ef
BUS=400000 i2c_roundtrip interop_sr_i2c_400k 4M 2 0 1 sr write 0x50 de ad be ef ";" read 0x50 12 34n
BUS=100000 i2c_roundtrip interop_sr_i2c_16probes 1M 16 9 10 sr write 0x3c 00 ff
BUS=100000 i2c_roundtrip interop_sr_i2c_32probes 1M 32 30 31 sr read 0x68 a5 5an
BUS=100000 i2c_roundtrip interop_vcd_i2c 1M 2 0 1 vcd write 0x50 de ad be ef
BUS=100000 i2c_roundtrip interop_vcd_i2c_16probes 1M 12 3 11 vcd write 0x21 42

# The metadata sigrok-cli reports matches what was written.
"$LA" synth -s 1500k --probes 9 -o "$t/m.raw" "edges 1000:1 2000:0x100" 2>/dev/null
"$LA" convert --meta "$t/m.raw.meta" -s 1501501 -o "$t/m.sr" "$t/m.raw" 2>/dev/null
show=$(sigrok-cli -i "$t/m.sr" --show 2>&1)
case "$show" in
*"D8"*) ok interop_sr_channels_named ;;
*) nok interop_sr_channels_named "$show" ;;
esac
# sigrok-cli -O bits prints one line per channel; count them as a second check of the channel count.
nch=$(sigrok-cli -i "$t/m.sr" -O bits 2>/dev/null | grep -c '^D[0-9]*:' | head -1)
[ "$nch" -ge 9 ] && ok interop_sr_nine_channels || nok interop_sr_nine_channels "saw $nch channel lines"

# Bad inputs: clear error, exit 1, no output file.
bad() {
	local name=$1 want=$2 out=$3; shift 3
	local err rc
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc != 1 ]; then nok "$name" "exit $rc, want 1 ($err)"
	elif [[ "$err" != *"$want"* ]]; then nok "$name" "error '$err' does not say '$want'"
	elif [ -e "$out" ]; then nok "$name" "$out was written"
	elif ls "$(dirname "$out")"/.tmp* >/dev/null 2>&1; then nok "$name" "temporary file left behind"
	else ok "$name"; fi
}
printf 'probe01=A\nprobe02=B\n' > "$t/ok.meta"
printf '\001\002\003' > "$t/odd.raw"
bad tool_convert_missing_data "cannot read $t/nope: No such file or directory" "$t/o1.sr" "$LA" convert --meta "$t/ok.meta" -s 1M -o "$t/o1.sr" "$t/nope"
bad tool_convert_bad_meta "is not a meta_data file" "$t/o2.sr" "$LA" convert --meta "$t/odd.raw" -s 1M -o "$t/o2.sr" "$t/odd.raw"
bad tool_convert_partial_sample "partial sample" "$t/o3.sr" "$LA" convert --meta "$t/ok.meta" --unitsize 2 -s 1M -o "$t/o3.sr" "$t/odd.raw"
bad tool_convert_bad_extension "must end in .sr or .vcd" "$t/o5.txt" "$LA" convert --meta "$t/ok.meta" -s 1M -o "$t/o5.txt" "$t/odd.raw"
bad tool_convert_vcd_partial "partial sample" "$t/o6.vcd" "$LA" convert --meta "$t/ok.meta" --unitsize 2 -s 1M -o "$t/o6.vcd" "$t/odd.raw"
bad tool_capture_no_debugfs "no analyzer at" "$t/o7.sr" "$LA" -k "$t/nodebugfs" capture -o "$t/o7.sr"
bad tool_synth_bad_program "program:" "$t/o8.raw" "$LA" synth -o "$t/o8.raw" "morse sos"
err=$("$LA" capture -s 1X 2>&1); rc=$?
[ $rc = 2 ] && [[ "$err" == *"not a number"* ]] && ok tool_bad_rate_is_usage_error || nok tool_bad_rate_is_usage_error "exit $rc: $err"
err=$("$LA" convert --meta "$t/ok.meta" -s 0 -o "$t/o4.sr" "$t/odd.raw" 2>&1); rc=$?
[ $rc = 2 ] && [[ "$err" == *"above 0 Hz"* ]] && [ ! -e "$t/o4.sr" ] && ok tool_convert_zero_rate || nok tool_convert_zero_rate "exit $rc: $err"
