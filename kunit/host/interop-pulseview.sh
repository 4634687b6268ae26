#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host interop with the real PulseView (Debian's 0.4.2, under Xvfb): the .pvs sessions gpio-la writes with
# --decode open with the decoders instantiated on the right channels and no error in PulseView's log (-l 4),
# and the channel assignments they carry decode the capture to exactly its bytes (checked with sigrok-cli).
# Prints "ok NAME" / "not ok NAME: why".
set -uo pipefail
. "$(dirname "$0")/i2c-lib.sh"
LA=${GPIO_LA:-$(dirname "$0")/../../build/static/gpio-la}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

ok() { echo "ok $1"; }
nok() { echo "not ok $1: $2"; }

if ! command -v pulseview >/dev/null || ! command -v xvfb-run >/dev/null; then
	nok pulseview_installed "pulseview or xvfb-run missing (scripts/setup-host.sh installs them)"
	exit 0
fi

# pv_log PVS SR LOG STACKS: runs PulseView on the session until it has decoded STACKS decoder stacks (or 60 s),
# keeps its log up to then in LOG, then ends it and its X server (its own process group).
pv_log() {
	local home i pid
	home=$(mktemp -d "$t/home.XXXX")
	HOME=$home XDG_RUNTIME_DIR=$home setsid timeout -k 5 60 \
		xvfb-run -a -s '-screen 0 1280x800x24' pulseview -c -l 4 -s "$1" "$2" > "$3.all" 2>&1 &
	pid=$!
	for i in $(seq 1 300); do
		[ "$(grep -c 'Done, handled all samples' "$3.all")" -ge "$4" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	# A moment for late errors, then the log as it was before the X server goes away under PulseView.
	sleep 0.5
	cp "$3.all" "$3"
	kill -- -"$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	# Until the whole group (Xvfb, PulseView saving its settings) is gone.
	for i in $(seq 1 50); do kill -0 -- -"$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 -- -"$pid" 2>/dev/null
}

# pv_check NAME LOG PATTERN...: every pattern is in the log (grep -F), and no line reports an error.
pv_check() {
	local name=$1 log=$2 p errs
	shift 2
	for p in "$@"; do
		if ! grep -qF -- "$p" "$log"; then
			nok "$name" "PulseView's log lacks '$p': $(grep -E '^srd|rror' "$log" | tail -5 | tr '\n' '|')"
			return
		fi
	done
	errs=$(grep -iE 'error|fail|non-existant|exception|traceback' "$log" | grep -v 'Error cleared')
	if [ -n "$errs" ]; then nok "$name" "PulseView reported: $(echo "$errs" | head -3 | tr '\n' '|')"; else ok "$name"; fi
}

# pvs_assigned PVS CHANNEL: the probe the session assigns to a decoder channel (first decode signal).
pvs_assigned() {
	awk -F= -v ch="$2" '
		/^\[decode_signal1\]/ { exit }
		$1 ~ /^channel[0-9]+\\name$/ { split($1, a, "\\"); cur[a[1]] = $2 }
		$1 ~ /^channel[0-9]+\\assigned_signal_name$/ { split($1, a, "\\"); if (cur[a[1]] == ch) print $2 }
	' "$1"
}

synth_i2c() { # NAME PROBES SCL SDA PAYLOAD...
	local name=$1 probes=$2 scl=$3 sda=$4 names
	shift 4
	names=$(seq 0 $((probes - 1)) | sed "s/^$scl\$/SCL/; s/^$sda\$/SDA/; s/^\([0-9]*\)\$/P\1/" | paste -sd,)
	"$LA" synth -s 1M --probes "$probes" --names "$names" -o "$t/$name.raw" "i2c rate=100000 scl=$scl sda=$sda $*" 2>"$t/err"
}

# 1. The I2C decoder on a two-probe capture, channels named as the decoder's.
payload="write 0x50 de ad be ef ; read 0x50 12 34n"
if synth_i2c a 2 0 1 "$payload" &&
	"$LA" convert --meta "$t/a.raw.meta" -s 1M --decode i2c:scl=SCL:sda=SDA -o "$t/a.sr" "$t/a.raw" 2>"$t/err"; then
	pv_log "$t/a.pvs" "$t/a.sr" "$t/a.log" 1
	pv_check pulseview_i2c_session "$t/a.log" "Creating new i2c instance i2c-1." \
		"Setting channel mapping: scl (PD ch idx 0) = input data ch idx 0." \
		"Setting channel mapping: sda (PD ch idx 1) = input data ch idx 1." \
		"Setting session 1 samplerate to 1000000." "Done, handled all samples"
else
	nok pulseview_i2c_session "$(cat "$t/err")"
fi

# 2. Scattered probes (16, SCL on 9, SDA on 10), a typed option of each kind, two decode signals: the second a
#    UART with an integer and a float option. The assignments in the session decode to exactly the bytes.
if synth_i2c b 16 9 10 "write 0x3c 00 ff" &&
	"$LA" convert --meta "$t/b.raw.meta" -s 1M -o "$t/b.sr" "$t/b.raw" \
		--decode i2c:scl=SCL:sda=SDA:address_format=unshifted \
		--decode uart:rx=P0:baudrate=9600:stop_bits=1.5 2>"$t/err"; then
	pv_log "$t/b.pvs" "$t/b.sr" "$t/b.log" 2
	pv_check pulseview_scattered_probes_options "$t/b.log" "Creating new i2c instance i2c-1." \
		"Creating new uart instance uart-1." "Setting channel mapping: rx (PD ch idx 0) = input data ch idx 0." \
		"PD ch idx 1 (sda) = input data ch idx 1 (required)"
	scl=$(pvs_assigned "$t/b.pvs" scl) sda=$(pvs_assigned "$t/b.pvs" sda)
	got=$(decoded_tokens -i "$t/b.sr" -P "i2c:scl=$scl:sda=$sda")
	want=$(expected_tokens "write 0x3c 00 ff")
	if [ "$got" = "$want" ]; then ok pulseview_session_assignments_decode; else
		nok pulseview_session_assignments_decode "scl=$scl sda=$sda decoded '$got', want '$want'"; fi
else
	nok pulseview_scattered_probes_options "$(cat "$t/err")"
fi

# 3. A stacked decoder; channels left out take the probes of the same name.
if synth_i2c c 2 0 1 "write 0x50 00 10 ; read 0x50 aa bbn" &&
	"$LA" convert --meta "$t/c.raw.meta" -s 1M --decode i2c,eeprom24xx -o "$t/c.sr" "$t/c.raw" 2>"$t/err"; then
	pv_log "$t/c.pvs" "$t/c.sr" "$t/c.log" 1
	pv_check pulseview_stacked_decoders "$t/c.log" "Creating new eeprom24xx instance eeprom24xx-1." \
		"Stacking eeprom24xx-1 onto i2c-1." "Setting channel mapping: scl (PD ch idx 0) = input data ch idx 0."
else
	nok pulseview_stacked_decoders "$(cat "$t/err")"
fi

# 4. capture --decode (on a fake analyzer in a directory tree, without isolation) writes the session too.
fake=$t/dbg/gpio-sloppy-logic-analyzer/i2c
mkdir -p "$fake"
printf 'probe01=SCL\nprobe02=SDA\n' > "$fake/meta_data"
printf '1\n' > "$fake/unitsize"
printf 'achieved_rate_hz=1000000.000\n' > "$fake/stats"
for f in trigger_expr capture delay_ns buf_size pretrigger_percent trigger_timeout_ms; do : > "$fake/$f"; done
cp "$t/a.raw" "$fake/sample_data"
if "$LA" capture -k "$t/dbg" --no-isolate -o "$t/cap.sr" --decode i2c:scl=SCL:sda=SDA >/dev/null 2>"$t/err"; then
	pv_log "$t/cap.pvs" "$t/cap.sr" "$t/cap.log" 1
	pv_check pulseview_capture_session "$t/cap.log" "Creating new i2c instance i2c-1." \
		"Setting channel mapping: sda (PD ch idx 1) = input data ch idx 1."
else
	nok pulseview_capture_session "$(cat "$t/err")"
fi
