# SPDX-License-Identifier: GPL-2.0
# Helpers for the end-to-end scripts, sourced before each script by run-tests.sh (on a board, and in the test VMs).
# A script reports each test on stdout, one line each ("@@E2E ok NAME", "@@E2E not ok NAME: REASON",
# "@@E2E skip NAME: REASON"); run-tests.sh numbers them into KTAP. Any other output becomes a KTAP diagnostic.
# Where things are (set by run-tests.sh): RFL_TESTS (this directory, with rate.sh), RFL_MODULES (the .ko files and
# load-order), RFL_OUT (artifacts the host checks, e.g. captures to decode).

e2e_pass() { echo "@@E2E ok $1"; }
e2e_fail() { echo "@@E2E not ok $1: $2"; }
# e2e_skip NAME REASON: a test that cannot run here (e.g. a tool or hardware this machine lacks).
e2e_skip() { echo "@@E2E skip $1: $2"; }
# e2e_skip_all REASON: the whole script cannot run here; ends it.
e2e_skip_all() { echo "@@E2E skip-all $1"; exit 0; }

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
artifact() { mkdir -p "$RFL_OUT/$(dirname "$1")"; cat > "$RFL_OUT/$1"; }

# load_la [PARAMS]: loads the Rust analyzer with PARAMS, or as the tests load it (one sampling window; see
# kunit/guest/load-order).
load_la() {
	# shellcheck disable=SC2086
	insmod "$RFL_MODULES/gpio_sloppy_la.ko" ${*:-max_irqoff_us=5000000}
}

# uptime_cs: the time since boot in centiseconds.
uptime_cs() { cut -d' ' -f1 /proc/uptime | tr -d .; }

# alive PID: whether PID still runs (a zombie that this shell has not reaped yet has ended).
alive() {
	state=$(sed -n 's/^[0-9]* (.*) \(.\) .*/\1/p' /proc/$1/stat 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}

# wait_gone PID CS: waits at most CS centiseconds for PID (a child of this shell) to end, and reaps it; fails if
# it still runs then. For tests of what must end at once, so that a regression fails instead of hanging the run.
wait_gone() {
	t_start=$(uptime_cs)
	while alive $1; do
		[ $(($(uptime_cs) - t_start)) -ge $2 ] && return 1
		sleep 0.05
	done
	wait $1 2>/dev/null
	return 0
}
