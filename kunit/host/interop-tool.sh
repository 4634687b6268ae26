#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# gpio-la as a person uses it, on the host: file modes and owners, signals, fractional rates and conversion from
# the capture's own files, error messages (a full disk included), flags and help, progress on a terminal, and
# capture's export on a fake analyzer tree. Prints "ok NAME" / "not ok NAME: why".
set -uo pipefail
. "$(dirname "$0")/i2c-lib.sh"
LA=${GPIO_LA:-$(dirname "$0")/../../build/static/gpio-la}
LA=$(realpath "$LA")
t=$(mktemp -d)
full=$t/full
cleanup() {
	mountpoint -q "$full" 2>/dev/null && umount "$full"
	rm -rf "$t"
}
trap cleanup EXIT

ok() { echo "ok $1"; }
nok() { echo "not ok $1: $2"; }
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else nok "$1" "got '$2', want '$3'"; fi; }
# no_leftovers DIR: no hidden temporary file of the tool in DIR.
leftovers() { find "$1" -maxdepth 1 -name '.gpio-la-*' 2>/dev/null | head -1; }

cd "$t" || exit 1
"$LA" synth -s 1M --names SCL,SDA -o i2c.raw "i2c rate=100000 write 0x50 de ad be ef" 2>/dev/null
"$LA" synth -s 4M --names SCL,SDA --repeat 100000 -o big.raw "i2c rate=400000 write 0x50 de ad be ef ; read 0x50 12 34n" 2>/dev/null
cp i2c.raw.meta two.meta

# A fake analyzer (a directory tree in debugfs's layout), so capture runs without the driver (--no-isolate).
fake=$t/dbg/gpio-sloppy-logic-analyzer/i2c
mkdir -p "$fake"
printf 'probe01=SCL\nprobe02=SDA\n' > "$fake/meta_data"
printf '1\n' > "$fake/unitsize"
printf 'requested_rate_hz=1500000\nachieved_rate_hz=1501501.123\nlate_samples=0\nlate_ns_max=0\n' > "$fake/stats"
for f in trigger_expr capture delay_ns buf_size pretrigger_percent trigger_timeout_ms; do : > "$fake/$f"; done
cp i2c.raw "$fake/sample_data"

# --- 1. modes and owners -----------------------------------------------------------------------------------
mode() { stat -c %a "$1"; }
(umask 022 && "$LA" convert --meta two.meta -s 1M -o m.sr i2c.raw 2>/dev/null && "$LA" convert --meta two.meta -s 1M -o m.vcd i2c.raw 2>/dev/null)
check_eq tool_mode_umask_022 "$(mode m.sr) $(mode m.vcd)" "644 644"
(umask 077 && "$LA" convert --meta two.meta -s 1M -o p.sr i2c.raw 2>/dev/null && "$LA" synth -o p.raw "i2c write 0x50 00" 2>/dev/null)
check_eq tool_mode_umask_077 "$(mode p.sr) $(mode p.raw) $(mode p.raw.meta)" "600 600 600"
chmod 644 m.sr
(umask 022 && "$LA" convert --meta two.meta -s 1M -o m.sr i2c.raw 2>/dev/null)
check_eq tool_mode_replacing_0644 "$(mode m.sr)" "644"
if [ "$(id -u)" = 0 ]; then
	SUDO_UID=65534 SUDO_GID=65533 "$LA" convert --meta two.meta -s 1M -o s.sr i2c.raw 2>/dev/null
	check_eq tool_sudo_user_owns_files "$(stat -c %u:%g s.sr)" "65534:65533"
	mkdir capdir
	(umask 022 && SUDO_UID=65534 SUDO_GID=65533 "$LA" capture -k "$t/dbg" --no-isolate --vcd \
		--decode i2c:scl=SCL:sda=SDA -o capdir/c.sr >/dev/null 2>&1)
	got=$(cd capdir && stat -c '%n %a %u:%g' c.sr c.vcd c.json c.pvs 2>&1 | tr '\n' ' ')
	check_eq tool_capture_files_mode_and_owner "$got" \
		"c.sr 644 65534:65533 c.vcd 644 65534:65533 c.json 644 65534:65533 c.pvs 644 65534:65533 "
else
	nok tool_sudo_user_owns_files "needs root"
fi

# --- 2. signals ------------------------------------------------------------------------------------------------
# stopped CMD...: the command, sent SIGNAL once it runs, ends with 130 and leaves no output and no temporary file.
stopped() {
	local name=$1 sig=$2 out=$3
	shift 3
	"$@" 2>"$t/sig.err" &
	local pid=$! i rc
	for i in $(seq 1 100); do [ -n "$(leftovers "$(dirname "$out")")" ] && break; sleep 0.02; done
	kill -"$sig" "$pid"
	# A hang guard, not a timing check: the command must end by itself after the signal.
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; wait "$pid"; nok "$name" "still running 10 s after SIG$sig"; return; fi
	wait "$pid"
	rc=$?
	if [ "$rc" != 130 ]; then nok "$name" "exit $rc, want 130 ($(cat "$t/sig.err"))"
	elif [ -e "$out" ]; then nok "$name" "$out was written"
	elif [ -n "$(leftovers "$(dirname "$out")")" ]; then nok "$name" "temporary file left behind"
	else ok "$name"; fi
}
for sig in INT TERM HUP; do
	stopped "tool_sig${sig,,}_convert_sr" "$sig" "$t/sig.sr" "$LA" convert --meta two.meta -s 4M -o "$t/sig.sr" big.raw
	stopped "tool_sig${sig,,}_convert_vcd" "$sig" "$t/sig.vcd" "$LA" convert --meta two.meta -s 4M -o "$t/sig.vcd" big.raw
done
stopped tool_sigint_synth INT "$t/syn.raw" "$LA" synth --repeat 100000000 -o "$t/syn.raw" "i2c write 0x50 00"
# Blocked on a pipe that stays quiet: the signal still ends it.
mkfifo fifo
(printf '\001\002'; sleep 30) > fifo &
writer=$!
stopped tool_sigterm_convert_blocked_on_pipe TERM "$t/fifo.sr" "$LA" convert --meta two.meta -s 1M -o "$t/fifo.sr" fifo
kill "$writer" 2>/dev/null
wait "$writer" 2>/dev/null

# --- 3. fractional rates, rate and names from the capture's own files --------------------------------------
if "$LA" convert --meta two.meta -s 1501501.123 -o f.sr i2c.raw 2>/dev/null &&
	"$LA" convert --meta two.meta -s 1501501.123 -o f.vcd i2c.raw 2>/dev/null; then
	sr=$(unzip -p f.sr metadata | grep samplerate=)
	vcd=$(grep -m1 'achieved sample rate' f.vcd)
	check_eq tool_fractional_rate "$sr | $vcd" "samplerate=1501501 Hz | \$comment achieved sample rate 1501501.123 Hz \$end"
	# The fractional time base still decodes (sigrok-cli reads the VCD's 10 ns timescale).
	check_eq tool_fractional_rate_vcd_decodes "$(decoded_tokens -I vcd -i f.vcd -P i2c:scl=SCL:sda=SDA)" \
		"$(expected_tokens "write 0x50 de ad be ef")"
else
	nok tool_fractional_rate "convert -s 1501501.123 failed"
fi
"$LA" capture -k "$t/dbg" --no-isolate -o cap.sr >/dev/null 2>"$t/err" || nok tool_fake_capture "$(cat "$t/err")"
if "$LA" convert --meta cap.json -o fromjson.vcd i2c.raw 2>"$t/err"; then
	check_eq tool_convert_from_sidecar "$(grep -m1 'achieved sample rate' fromjson.vcd)" "\$comment achieved sample rate 1501501.123 Hz \$end"
else nok tool_convert_from_sidecar "$(cat "$t/err")"; fi
if "$LA" convert --meta "$fake/meta_data" --stats "$fake/stats" -o fromstats.sr i2c.raw 2>"$t/err"; then
	check_eq tool_convert_from_stats "$(unzip -p fromstats.sr metadata | grep -E 'samplerate|probe1')" "samplerate=1501501 Hz
probe1=SCL"
else nok tool_convert_from_stats "$(cat "$t/err")"; fi
if "$LA" convert --stats cap.json -o fromstatsjson.sr i2c.raw 2>"$t/err"; then
	ok tool_convert_stats_sidecar_gives_names
else nok tool_convert_stats_sidecar_gives_names "$(cat "$t/err")"; fi

# --- 4. errors: one line, naming the path and the reason, exit 1, nothing written --------------------------
# bad NAME WANT OUT CMD...
bad() {
	local name=$1 want=$2 out=$3 err rc
	shift 3
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc != 1 ]; then nok "$name" "exit $rc, want 1 ($err)"
	elif [ "$err" != "$want" ]; then nok "$name" "said '$err', want '$want'"
	elif [ -n "$out" ] && [ -e "$out" ]; then nok "$name" "$out was written"
	elif [ -n "$(leftovers "$(dirname "${out:-$t/x}")")" ]; then nok "$name" "temporary file left behind"
	else ok "$name"; fi
}
mkdir -p "$full" adir
head -c 3M /dev/urandom > noise.raw
if mount -t tmpfs -o size=1m tmpfs "$full" 2>/dev/null; then
	bad tool_full_disk_sr "gpio-la: cannot write $full/x.sr: No space left on device" "$full/x.sr" \
		"$LA" convert --meta two.meta -s 1M -o "$full/x.sr" noise.raw
	bad tool_full_disk_vcd "gpio-la: cannot write $full/x.vcd: No space left on device" "$full/x.vcd" \
		"$LA" convert --meta two.meta -s 1M -o "$full/x.vcd" noise.raw
	umount "$full"
	# capture checks that it can write there before it takes the samples (the fake capture file stays empty).
	mount -t tmpfs -o ro,size=1m tmpfs "$full"
	: > "$fake/capture"
	bad tool_capture_read_only_output_checked_first "gpio-la: cannot write $full/c.sr: Read-only file system" "$full/c.sr" \
		"$LA" capture -k "$t/dbg" --no-isolate -o "$full/c.sr"
	[ -s "$fake/capture" ] && nok tool_capture_read_only_output_checked_first "the capture ran first"
	umount "$full"
else
	nok tool_full_disk_sr "cannot mount a small tmpfs (needs root)"
fi
bad tool_input_is_directory "gpio-la: cannot read $t/adir: it is a directory" "$t/o.sr" \
	"$LA" convert --meta two.meta -s 1M -o "$t/o.sr" "$t/adir"
mkdir -p d.sr
bad tool_output_is_directory "gpio-la: cannot write $t/d.sr: it is a directory" "" \
	"$LA" convert --meta two.meta -s 1M -o "$t/d.sr" i2c.raw
bad tool_output_dir_missing "gpio-la: cannot write $t/nope/o.sr: directory $t/nope does not exist" "$t/nope/o.sr" \
	"$LA" convert --meta two.meta -s 1M -o "$t/nope/o.sr" i2c.raw
bad tool_meta_is_directory "gpio-la: cannot read $t/adir: it is a directory" "$t/o.sr" \
	"$LA" convert --meta "$t/adir" -s 1M -o "$t/o.sr" i2c.raw
seq 1 33 | sed 's/.*/probe&=P&/' > p33.meta
bad tool_vcd_unitsize_8 "gpio-la: VCD output takes 1, 2 or 4 bytes per sample, not 8" "$t/o.vcd" \
	"$LA" convert --meta p33.meta --unitsize 8 -s 1M -o "$t/o.vcd" i2c.raw
printf 'probe01=A\nprobe02=\n' > empty.meta
bad tool_empty_probe_name "gpio-la: $t/empty.meta: probe02 has an empty name (sigrok and VCD readers need one)" "$t/o.vcd" \
	"$LA" convert --meta "$t/empty.meta" -s 1M -o "$t/o.vcd" i2c.raw
bad tool_sr_rate_rounds_to_zero "gpio-la: a .sr file holds whole Hz and 0.3 Hz rounds to 0; write a VCD instead" "$t/o.sr" \
	"$LA" convert --meta two.meta -s 0.3 -o "$t/o.sr" i2c.raw
bad tool_convert_no_rate "gpio-la: no sample rate: give -s HZ (the achieved_rate_hz of the capture's stats), --stats with the analyzer's stats, or the capture's .json sidecar as --meta" "$t/o.sr" \
	"$LA" convert --meta two.meta -o "$t/o.sr" i2c.raw
err=$("$LA" convert --meta two.meta -s 2T -o "$t/o.vcd" i2c.raw 2>&1); rc=$?
if [ $rc = 2 ] && [[ "$err" == *"two samples would share one tick"* ]]; then ok tool_absurd_rate; else nok tool_absurd_rate "exit $rc: $err"; fi

# --- 5. flags and help -----------------------------------------------------------------------------------------
for sub in capture convert synth; do
	h=$("$LA" $sub --help)
	if [[ "$h" == *"-s, --sample-freq <HZ>"* ]] && [[ "$h" != *"--rate"* ]]; then ok "tool_${sub}_help_sample_freq"; else
		nok "tool_${sub}_help_sample_freq" "$(echo "$h" | grep -E -- '-s,|rate' | head -3 | tr '\n' '|')"; fi
done
h=$("$LA" convert --help)
if [[ "$h" != *"kernel-debug-dir"* ]] && [[ "$("$LA" capture --help)" == *"-k, --kernel-debug-dir"* ]]; then
	ok tool_help_only_relevant_options; else nok tool_help_only_relevant_options "-k shows in convert --help or not in capture --help"; fi
if "$LA" convert --meta two.meta --rate 1M -o alias.sr i2c.raw 2>/dev/null && "$LA" synth --rate 1M -o alias.raw "i2c write 0x50 00" 2>/dev/null &&
	"$LA" -k "$t/dbg" list >/dev/null && "$LA" list -k "$t/dbg" >/dev/null; then
	ok tool_old_spellings_still_work; else nok tool_old_spellings_still_work "--rate or -k before the subcommand refused"; fi

# --- 6. progress on a terminal (script(1) gives the command a pseudo-terminal) ---------------------------------
if command -v script >/dev/null; then
	script -qec "$LA convert --meta two.meta -s 4M -o $t/prog.sr $t/big.raw" /dev/null > prog.txt 2>&1
	if grep -q "converting to $t/prog.sr" prog.txt && [ -s prog.sr ]; then ok tool_convert_progress_on_terminal; else
		nok tool_convert_progress_on_terminal "no progress shown: $(head -c 200 prog.txt)"; fi
	"$LA" convert --meta two.meta -s 4M -o noprog.sr big.raw > noprog.txt 2>&1
	if grep -q "converting" noprog.txt; then nok tool_no_progress_when_not_a_terminal "$(head -c 200 noprog.txt)"; else ok tool_no_progress_when_not_a_terminal; fi
else
	nok tool_convert_progress_on_terminal "script(1) missing"
fi

# --- 7. the container: an independent unzip reads every member -------------------------------------------------
if unzip -tq prog.sr >/dev/null 2>&1 && unzip -tq cap.sr >/dev/null 2>&1; then ok tool_sr_passes_unzip_test; else
	nok tool_sr_passes_unzip_test "$(unzip -t prog.sr 2>&1 | tail -2)"; fi
