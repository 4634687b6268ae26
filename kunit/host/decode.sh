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
	channels= rate= scl= sda= expect= format=binary file=sample_data acks=
	if ! [ -f "$d/check" ]; then
		echo "not ok $name: the guest left no check file (its capture failed)"
		continue
	fi
	while IFS='=' read -r k v; do
		case "$k" in channels|rate|scl|sda|expect|format|file|acks) printf -v "$k" '%s' "$v" ;; esac
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
	# acks=: the ACK (A) / NACK (N) slot after each byte, in order, where the guest said what the bus carried.
	if [ -n "$acks" ]; then
		src=(-i "$d/$file")
		[ "$format" = sr ] || src=(-I "binary:numchannels=$channels:samplerate=$rate" -i "$d/$file")
		got=$(sigrok-cli "${src[@]}" -P "i2c:scl=$scl:sda=$sda" -A i2c=ack:nack 2>&1 |
			sed -n 's/^i2c-1: ACK$/A/p; s/^i2c-1: NACK$/N/p' | tr -d '\n')
		if [ "$got" = "$acks" ]; then echo "ok ${name}_acks"; else echo "not ok ${name}_acks: decoded '$got', want '$acks'"; fi
	fi
done
