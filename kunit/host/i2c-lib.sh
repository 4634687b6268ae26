# SPDX-License-Identifier: GPL-2.0
# I2C helpers for the host tests: what the waveform chip played and what sigrok-cli decoded, in one token form.

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

