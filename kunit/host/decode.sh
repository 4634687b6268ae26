#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host side of the end-to-end tests: decodes every capture the guest left in OUT/decode/<case>/ with sigrok-cli's
# I2C decoder and compares the bytes with what the waveform chip played. Prints "ok NAME" / "not ok NAME: why".
#   kunit/host/decode.sh OUTDIR
set -uo pipefail
out=$1

# normalize "write 0x50 de ad ; read 0x50 12 34n" into "AW:50 DW:DE DW:AD AR:50 DR:12 DR:34"
expected_tokens() {
	local dir= first=1 tok
	for tok in $1; do
		case "$tok" in
		write) dir=W first=1 ;;
		read) dir=R first=1 ;;
		\;) ;;
		*)
			tok=${tok%n}
			tok=${tok#0x}
			tok=$(printf '%02X' "0x$tok")
			if [ $first = 1 ]; then printf 'A%s:%s ' $dir "$tok"; first=0; else printf 'D%s:%s ' $dir "$tok"; fi
			;;
		esac
	done
}

# decoded_tokens FILE ARGS...: the same form from sigrok-cli's annotations
decoded_tokens() {
	sigrok-cli "$@" -A i2c=address-read:address-write:data-read:data-write 2>&1 |
		sed -n 's/^i2c-1: Address write: \(..\)$/AW:\1/p; s/^i2c-1: Address read: \(..\)$/AR:\1/p;
			s/^i2c-1: Data write: \(..\)$/DW:\1/p; s/^i2c-1: Data read: \(..\)$/DR:\1/p' | tr '\n' ' '
}

for d in "$out"/decode/*/; do
	[ -d "$d" ] || continue
	name=host_decode_$(basename "$d")
	# shellcheck disable=SC1091
	channels= rate= scl= sda= expect= format=binary file=sample_data
	while IFS='=' read -r k v; do
		case "$k" in channels|rate|scl|sda|expect|format|file) printf -v "$k" '%s' "$v" ;; esac
	done < "$d/check"
	want=$(expected_tokens "$expect")
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
