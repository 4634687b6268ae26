#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs the end-to-end tests where `make install-tests` put them: on a board, or in the test VMs (which run exactly
# this). Prints KTAP as kselftest does: a plan of one test per script, each script's results as a nested test
# (its own version line, plan, ok / not ok / "# SKIP reason", totals), then the script's own result line.
#
#   run-tests.sh [-m e2e|demo|bench] [-r] [-t SECONDS] [-n | -l] [SCRIPT-GLOB...]
#
#   -m MODE   the set of scripts (directory next to this file; default e2e)
#   -r        raw: run the scripts and pass their output through (the demo and benchmarks, which are no tests)
#   -t SECS   kill a script that runs longer than this (default 600); its unfinished test fails as "timeout"
#   -n        do not load modules (by default the modules of ../modules/load-order that are not loaded yet are
#             loaded first, with their parameters, each reported as a test)
#   -l        only load the modules (the test VM does this first, prints the KUnit results the loads produced,
#             then runs the scripts with -n)
#   SCRIPT-GLOB  run only the scripts whose file name matches one of these (e.g. '10-*'); default: all
#
# The scripts find their helpers, modules and output directory through RFL_TESTS, RFL_MODULES and RFL_OUT
# (defaults: this directory, ../modules, /tmp/rfl-bringup-out); the tools are looked for in ../bin first.
# Artifacts for the host to check (captures to decode with kunit/host/decode.sh) land in $RFL_OUT.
# Exit status: 0 when every test passed or was skipped, 1 otherwise.

mode=e2e raw=0 limit=600 load=1 only_load=0
while getopts m:rt:nl opt; do
	case $opt in
	m) mode=$OPTARG ;;
	r) raw=1 ;;
	t) limit=$OPTARG ;;
	n) load=0 ;;
	l) only_load=1 ;;
	*) echo "usage: $0 [-m e2e|demo|bench] [-r] [-t SECONDS] [-n | -l] [SCRIPT-GLOB...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

RFL_TESTS=$(cd "$(dirname "$0")" && pwd)
: "${RFL_MODULES:=$(cd "$RFL_TESTS/../modules" 2>/dev/null && pwd)}"
: "${RFL_OUT:=/tmp/rfl-bringup-out}"
export RFL_TESTS RFL_MODULES RFL_OUT
[ -d "$RFL_TESTS/../bin" ] && PATH=$(cd "$RFL_TESTS/../bin" && pwd):$PATH
export PATH
mkdir -p "$RFL_OUT"
[ -d "$RFL_TESTS/$mode" ] || { echo "$0: no scripts for mode '$mode' in $RFL_TESTS" >&2; exit 2; }

# The scripts to run, in order.
scripts=
[ $only_load = 1 ] && load=1 && set -- '-none-'
for t in "$RFL_TESTS/$mode"/*.sh; do
	[ -f "$t" ] || continue
	base=${t##*/}
	if [ $# -gt 0 ]; then
		keep=0
		for g in "$@"; do
			# shellcheck disable=SC2254
			case "$base" in $g) keep=1 ;; esac
		done
		[ $keep = 1 ] || continue
	fi
	scripts="$scripts $t"
done

tmp=$(mktemp -d /tmp/rfl-run.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# run_one SCRIPT OUTFILE: runs SCRIPT in its own shell with the helpers, killed after $limit seconds.
# Prints the exit status (137 when killed).
run_one() {
	timeout -s KILL "$limit" sh -c '. "$RFL_TESTS/lib.sh"; . "$1"' sh "$1" > "$2" 2>&1 < /dev/null
	echo $?
}

if [ $raw = 1 ]; then
	for t in $scripts; do
		echo "@@SCRIPT ${t##*/}"
		timeout -s KILL "$limit" sh -c '. "$RFL_TESTS/lib.sh"; . "$1"' sh "$t" < /dev/null
	done
	exit 0
fi

# to_ktap NAME STATUS < OUTPUT: turns a script's output into a nested KTAP test (indented two spaces) and its
# result line; the last line of stdout is "pass fail skip" for the totals.
to_ktap() {
	awk -v name="$1" -v status="$2" -v limit="$limit" '
	function diag(s) { lines[n++] = "  # " s }
	function result(r, what) { tests++; lines[n++] = "  " r " " tests " " what }
	/^@@E2E ok / { result("ok", substr($0, 10)); pass++; next }
	/^@@E2E not ok / {
		rest = substr($0, 14); i = index(rest, ": ")
		if (i > 0) { diag(rest); rest = substr(rest, 1, i - 1) }
		result("not ok", rest); fail++; next
	}
	/^@@E2E skip-all/ { skipall = substr($0, 16); next }
	/^@@E2E skip / {
		rest = substr($0, 12); i = index(rest, ": ")
		why = i > 0 ? substr(rest, i + 2) : ""; if (i > 0) rest = substr(rest, 1, i - 1)
		result("ok", rest " # SKIP " why); skip++; next
	}
	/^@@INFO / { diag(substr($0, 8)); next }
	{ diag($0) }
	END {
		if (status == 137) { diag("killed after " limit " s"); result("not ok", "timeout"); fail++ }
		# A script that reported nothing (e.g. a syntax error) fails, as a test of its own.
		if (tests == 0 && skipall == "") { diag("no results (exit status " status ")"); result("not ok", "results"); fail++ }
		print "  TAP version 13"
		if (tests == 0 && skipall != "") {
			print "  1..0 # SKIP " skipall
		} else {
			print "  1.." tests
		}
		for (i = 0; i < n; i++) print lines[i]
		printf "  # Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0\n", pass, fail, skip
		if (tests == 0) {
			print "ok __NUM__ " name " # SKIP " skipall; skip = 1
		} else if (fail > 0) {
			print "not ok __NUM__ " name
		} else {
			print "ok __NUM__ " name
		}
		print pass + 0, fail + 0, skip + 0
	}'
}

nscripts=$(echo $scripts | wc -w)
[ $load = 1 ] && [ -f "$RFL_MODULES/load-order" ] && nscripts=$((nscripts + 1))
echo "TAP version 13"
echo "1..$nscripts"
num=0 tpass=0 tfail=0 tskip=0
emit() { # emit FILE: prints a to_ktap result, numbered, and adds its totals
	num=$((num + 1))
	sed '$d' "$1" | sed "s/__NUM__/$num/"
	set -- $(tail -n 1 "$1")
	tpass=$((tpass + $1)) tfail=$((tfail + $2)) tskip=$((tskip + $3))
}

# Modules: those not loaded yet, from the installed .ko files or, for the kernel's own (drm_kms_helper), modprobe.
if [ $load = 1 ] && [ -f "$RFL_MODULES/load-order" ]; then
	while read -r m params; do
		case "$m" in '' | '#'*) continue ;; esac
		if [ -d "/sys/module/$m" ]; then
			echo "@@E2E ok load_$m"
		elif [ -f "$RFL_MODULES/$m.ko" ]; then
			# shellcheck disable=SC2086
			if out=$(insmod "$RFL_MODULES/$m.ko" $params 2>&1); then echo "@@E2E ok load_$m"; else echo "@@E2E not ok load_$m: $out"; fi
		elif out=$(modprobe "$m" 2>&1); then
			echo "@@E2E ok load_$m"
		else
			echo "@@E2E skip load_$m: not built for this kernel and no modprobe: $out"
		fi
	done < "$RFL_MODULES/load-order" > "$tmp/load.out"
	to_ktap load-modules 0 < "$tmp/load.out" > "$tmp/load.ktap"
	emit "$tmp/load.ktap"
fi

for t in $scripts; do
	st=$(run_one "$t" "$tmp/out")
	to_ktap "${t##*/}" "$st" < "$tmp/out" > "$tmp/ktap"
	emit "$tmp/ktap"
done
echo "# Totals: pass:$tpass fail:$tfail xfail:0 xpass:0 skip:$tskip error:0"
[ $tfail = 0 ]
