#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host side of the end-to-end tests: decodes every capture the guest left in OUT/decode/<case>/ with sigrok-cli's
# I2C decoder and compares the bytes with what the waveform chip played. Prints "ok NAME" / "not ok NAME: why".
#   kunit/host/decode.sh OUTDIR
set -uo pipefail
out=$1

. "$(dirname "$0")/i2c-lib.sh"

for d in "$out"/decode/*/; do
	[ -d "$d" ] || continue
	name=host_decode_$(basename "$d")
	# shellcheck disable=SC1091
	channels= rate= scl= sda= expect= format=binary file=sample_data
	if ! [ -f "$d/check" ]; then
		echo "not ok $name: the guest left no check file (its capture failed)"
		continue
	fi
	while IFS='=' read -r k v; do
		case "$k" in channels|rate|scl|sda|expect|format|file) printf -v "$k" '%s' "$v" ;; esac
	done < "$d/check"
	want=$(expected_tokens "$expect")
	if [ -z "$want" ] || ! [ -s "$d/$file" ]; then
		echo "not ok $name: nothing to compare (expect='$expect', $file missing or empty)"
		continue
	fi
	if [ "$format" = sr ]; then
		got=$(decoded_tokens -i "$d/$file" -P "i2c:scl=$scl:sda=$sda")
	else
		got=$(decoded_tokens -I "binary:numchannels=$channels:samplerate=$rate" -i "$d/$file" -P "i2c:scl=$scl:sda=$sda")
	fi
	if [ "$got" = "$want" ]; then
		echo "ok $name"
	else
		echo "not ok $name: sigrok-cli decoded '$got', the chip played '$want'"
	fi
done
