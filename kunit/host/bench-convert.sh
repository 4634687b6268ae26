#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Benchmark: converting a raw capture to a sigrok session file, three ways, side by side in one run:
#   gpio-la convert (streaming, 4 MiB chunks, deflate level 1),
#   upstream's script path (copy the data next to a hand-written metadata, then `zip -jq`),
#   sigrok-cli -I binary ... -o x.sr.
# Throughput on a BENCH_MIB (default 256) MiB capture, peak memory (GNU time's max RSS) on a BENCH_BIG_MIB
# (default 1024) MiB capture. Prints ratios; asserts nothing.
set -euo pipefail
. "$(dirname "$0")/../../scripts/env.sh"
LA=$TOP/build/static/gpio-la
t=$(mktemp -d "${TMPDIR:-/tmp}/rfl-bench.XXXXXX")
trap 'rm -rf "$t"' EXIT
mib=${BENCH_MIB:-256} big=${BENCH_BIG_MIB:-1024}

# An I2C transfer at 400 kHz sampled at 4 MHz, repeated to the wanted size (1 byte per sample).
one=$("$LA" synth -s 4M --names SCL,SDA -o "$t/one.raw" "i2c rate=400000 write 0x50 de ad be ef ; read 0x50 12 34n" 2>&1 | cut -d' ' -f1)
reps=$(( (mib << 20) / one ))
"$LA" synth -s 4M --names SCL,SDA --repeat "$reps" -o "$t/cap.raw" "i2c rate=400000 write 0x50 de ad be ef ; read 0x50 12 34n" 2>/dev/null
bytes=$(stat -c %s "$t/cap.raw")

upstream_zip() { # $1 raw, $2 out: what tools/gpio/gpio-sloppy-logic-analyzer.sh does after a capture
	local d
	d=$(mktemp -d "$t/sr.XXXX")
	echo 1 > "$d/version"
	cp "$1" "$d/logic-1-1"
	printf '[global]\nsigrok version=0.2.0\n\n[device 1]\ncapturefile=logic-1\ntotal probes=2\nsamplerate=4000000Hz\nunitsize=1\nprobe01=SCL\nprobe02=SDA\n' > "$d/metadata"
	zip -jq "$2" "$d"/*
	rm -rf "$d"
}

timed() { # prints seconds (wall) of "$@"
	local s e
	s=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	e=$(date +%s.%N)
	echo "$e - $s" | bc -l
}
rss_kib() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

sync
a=$(timed "$LA" convert --meta "$t/one.raw.meta" -s 4M -o "$t/a.sr" "$t/cap.raw")
b=$(timed upstream_zip "$t/cap.raw" "$t/b.sr")
c=$(timed sigrok-cli -I binary:numchannels=2:samplerate=4000000 -i "$t/cap.raw" -o "$t/c.sr")
mbs() { echo "scale=1; $bytes / 1048576 / $1" | bc -l; }
echo "Conversion of a $((bytes >> 20)) MiB capture to .sr (2 probes, 1 byte/sample), same machine, one run:"
printf '  %-34s %8.2f s  %8s MiB/s  %s bytes\n' "gpio-la convert" "$a" "$(mbs "$a")" "$(stat -c %s "$t/a.sr")"
printf '  %-34s %8.2f s  %8s MiB/s  %s bytes\n' "upstream script path (cp + zip -jq)" "$b" "$(mbs "$b")" "$(stat -c %s "$t/b.sr")"
printf '  %-34s %8.2f s  %8s MiB/s  %s bytes\n' "sigrok-cli -I binary -o x.sr" "$c" "$(mbs "$c")" "$(stat -c %s "$t/c.sr")"
printf '  throughput ratio gpio-la / upstream zip: %.2f, gpio-la / sigrok-cli: %.2f\n' "$(echo "$b / $a" | bc -l)" "$(echo "$c / $a" | bc -l)"
rm -f "$t"/*.sr "$t/cap.raw"

reps=$(( (big << 20) / one ))
"$LA" synth -s 4M --names SCL,SDA --repeat "$reps" -o "$t/big.raw" "i2c rate=400000 write 0x50 de ad be ef ; read 0x50 12 34n" 2>/dev/null
ra=$(rss_kib "$LA" convert --meta "$t/one.raw.meta" -s 4M -o "$t/a.sr" "$t/big.raw"); rm -f "$t/a.sr"
rb=$(rss_kib bash -c "$(declare -f upstream_zip); t=$t; upstream_zip $t/big.raw $t/b.sr"); rm -f "$t/b.sr"
rc=$(rss_kib sigrok-cli -I binary:numchannels=2:samplerate=4000000 -i "$t/big.raw" -o "$t/c.sr"); rm -f "$t/c.sr"
echo "Peak memory (max RSS) converting a $big MiB capture:"
printf '  gpio-la convert %s MiB, upstream zip path %s MiB, sigrok-cli %s MiB\n' $((ra / 1024)) $((rb / 1024)) $((rc / 1024))
printf '  memory ratio upstream zip / gpio-la: %.2f, sigrok-cli / gpio-la: %.2f\n' "$(echo "$rb / $ra" | bc -l)" "$(echo "$rc / $ra" | bc -l)"
