# SPDX-License-Identifier: GPL-2.0
# Helpers for the end-to-end scripts that run inside the test VM. Results go to the console as
# "@@E2E ok NAME" / "@@E2E not ok NAME: REASON"; the host counts them.

e2e_pass() { echo "@@E2E ok $1"; }
e2e_fail() { echo "@@E2E not ok $1: $2"; }

# expect NAME COMMAND...: passes when COMMAND succeeds.
expect() {
	name=$1; shift
	if out=$("$@" 2>&1); then e2e_pass "$name"; else e2e_fail "$name" "'$*' failed: $out"; fi
}

# expect_errno NAME ERRNO-TEXT COMMAND...: passes when COMMAND fails and its error message contains ERRNO-TEXT
# (e.g. "Invalid argument" for EINVAL), as busybox's shell reports a failed redirect or write.
expect_err() {
	name=$1 want=$2; shift 2
	if out=$("$@" 2>&1); then
		e2e_fail "$name" "'$*' succeeded, expected '$want'"
	else
		case "$out" in
		*"$want"*) e2e_pass "$name" ;;
		*) e2e_fail "$name" "'$*' failed with '$out', expected '$want'" ;;
		esac
	fi
}

# expect_eq NAME GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then e2e_pass "$1"; else e2e_fail "$1" "got '$2', want '$3'"; fi
}

# write_file FILE VALUE: a single write(2) of VALUE without a newline; the shell reports a failed write on
# stderr with the errno's text (busybox printf does not).
write_file() { echo -n "$2" > "$1"; }

# A named artifact the host checks after the run (e.g. with sigrok-cli).
artifact() { mkdir -p "/out/$(dirname "$1")"; cat > "/out/$1"; }

# load_la [PARAMS]: loads the Rust analyzer with PARAMS, or as the boot did (one sampling window; see
# scripts/qemu-run.sh).
load_la() {
	# shellcheck disable=SC2086
	insmod /modules/gpio_sloppy_la.ko ${*:-max_irqoff_us=5000000}
}
