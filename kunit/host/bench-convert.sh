#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Benchmark: converting raw captures, side by side in one run (prints measurements and ratios; asserts nothing).
#   .sr: gpio-la convert (4 MiB chunks deflated in parallel, one thread per CPU) vs upstream's script path (copy
#        the data next to a hand-written metadata, then `zip -jq`, deflate level 6) vs `sigrok-cli -I binary -o`,
#        on BENCH_MIB (default 256) MiB of a repeated I2C transfer and BENCH_VARIED_MIB (default 64) MiB of
#        varied I2C traffic (random payload bytes): throughput, file sizes, ratios;
#   VCD: gpio-la convert vs `sigrok-cli -I binary -O vcd` on the varied traffic;
#   peak memory (GNU time's max RSS) converting BENCH_BIG_MIB (default 1024) MiB.
set -euo pipefail
. "$(dirname "$0")/../../scripts/env.sh"
LA=${GPIO_LA:-$TOP/build/static/gpio-la}
t=$(mktemp -d "${TMPDIR:-/tmp}/rfl-bench.XXXXXX")
trap 'rm -rf "$t"' EXIT
mib=${BENCH_MIB:-256} varied=${BENCH_VARIED_MIB:-64} big=${BENCH_BIG_MIB:-1024}
prog="i2c rate=400000 write 0x50 de ad be ef ; read 0x50 12 34n"

# synth_to FILE MIB PROGRAM: the program sampled at 4 MHz, repeated to about MIB MiB (1 byte per sample).
synth_to() {
	local one
	one=$("$LA" synth -s 4M --names SCL,SDA -o "$t/one.raw" "$3" 2>&1 | cut -d' ' -f1)
	"$LA" synth -s 4M --names SCL,SDA --repeat $((($2 << 20) / one)) -o "$1" "$3" 2>/dev/null
}
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
size() { stat -c %s "$1"; }
row() { # LABEL SECONDS BYTES_IN FILE
	printf '  %-36s %7.2f s %8.1f MiB/s %11s bytes\n' "$1" "$2" "$(echo "$3 / 1048576 / $2" | bc -l)" "$(size "$4")"
}
meta=$t/one.raw.meta
sr3() { # RAW: the three .sr conversions, rows and ratios
	local raw=$1 bytes a b c
	bytes=$(size "$raw")
	sync
	a=$(timed "$LA" convert --meta "$meta" -s 4M -o "$t/a.sr" "$raw")
	b=$(timed upstream_zip "$raw" "$t/b.sr")
	c=$(timed sigrok-cli -I binary:numchannels=2:samplerate=4000000 -i "$raw" -o "$t/c.sr")
	row "gpio-la convert ($("$LA" --version | cut -d' ' -f2), $(nproc) CPUs)" "$a" "$bytes" "$t/a.sr"
	row "upstream script path (cp + zip -jq)" "$b" "$bytes" "$t/b.sr"
	row "sigrok-cli -I binary -o x.sr" "$c" "$bytes" "$t/c.sr"
	printf '  throughput ratio gpio-la / upstream zip: %.2f, gpio-la / sigrok-cli: %.2f\n' \
		"$(echo "$b / $a" | bc -l)" "$(echo "$c / $a" | bc -l)"
	printf '  size ratio gpio-la / zip -6: %.3f, gpio-la / sigrok-cli: %.3f\n' \
		"$(echo "$(size "$t/a.sr") / $(size "$t/b.sr")" | bc -l)" "$(echo "$(size "$t/a.sr") / $(size "$t/c.sr")" | bc -l)"
	rm -f "$t"/[abc].sr
}

synth_to "$t/cap.raw" "$mib" "$prog"
echo "Conversion of a $(($(size "$t/cap.raw") >> 20)) MiB capture (a repeated I2C transfer, 400 kHz at 4 MHz, 2 probes) to .sr, one run:"
sr3 "$t/cap.raw"
rm -f "$t/cap.raw"

payload=$(od -An -tx1 -N3000 -v /dev/urandom | tr -s ' \n' ' ')
synth_to "$t/varied.raw" "$varied" "i2c rate=400000 write 0x50 $payload"
echo "Conversion of $(($(size "$t/varied.raw") >> 20)) MiB of varied I2C traffic (3000 random bytes per transfer) to .sr:"
sr3 "$t/varied.raw"
bytes=$(size "$t/varied.raw")
a=$(timed "$LA" convert --meta "$meta" -s 4M -o "$t/a.vcd" "$t/varied.raw")
c=$(timed sigrok-cli -I binary:numchannels=2:samplerate=4000000 -i "$t/varied.raw" -O vcd -o "$t/c.vcd")
echo "The same to VCD:"
row "gpio-la convert -o x.vcd" "$a" "$bytes" "$t/a.vcd"
row "sigrok-cli -I binary -O vcd" "$c" "$bytes" "$t/c.vcd"
printf '  throughput ratio gpio-la / sigrok-cli: %.2f\n' "$(echo "$c / $a" | bc -l)"
rm -f "$t"/*.vcd "$t/varied.raw"

synth_to "$t/big.raw" "$big" "$prog"
ra=$(rss_kib "$LA" convert --meta "$meta" -s 4M -o "$t/a.sr" "$t/big.raw"); rm -f "$t/a.sr"
rv=$(rss_kib "$LA" convert --meta "$meta" -s 4M -o "$t/a.vcd" "$t/big.raw"); rm -f "$t/a.vcd"
rb=$(rss_kib bash -c "$(declare -f upstream_zip); t=$t; upstream_zip $t/big.raw $t/b.sr"); rm -f "$t/b.sr"
rc=$(rss_kib sigrok-cli -I binary:numchannels=2:samplerate=4000000 -i "$t/big.raw" -o "$t/c.sr"); rm -f "$t/c.sr"
echo "Peak memory (max RSS) converting a $big MiB capture:"
printf '  gpio-la convert .sr %s MiB (.vcd %s MiB), upstream zip path %s MiB, sigrok-cli %s MiB\n' \
	$((ra / 1024)) $((rv / 1024)) $((rb / 1024)) $((rc / 1024))
printf '  memory ratio upstream zip / gpio-la: %.2f, sigrok-cli / gpio-la: %.2f\n' "$(echo "$rb / $ra" | bc -l)" "$(echo "$rc / $ra" | bc -l)"
