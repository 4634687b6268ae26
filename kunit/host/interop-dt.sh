#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Device tree: the bindings (the analyzer, the waveform test chip) pass dt-schema's dt-doc-validate, the board
# overlays compile with dtc, trees using the bindings validate, and trees that break them are caught.
# Prints "ok NAME" / "not ok NAME: why".
set -uo pipefail
. "$(dirname "$0")/../../scripts/env.sh"
D=$TOP/dts
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

for B in "$D"/bindings/*/*.yaml; do
	# The analyzer's test keeps its old name.
	case "$B" in */gpio-sloppy-logic-analyzer.yaml) n=dt_binding_doc_validate ;; *) n=dt_binding_doc_validate_$(basename "$B" .yaml | tr ,- __) ;; esac
	if out=$("$DTSCHEMA_BIN/dt-doc-validate" -u "$D/bindings" "$B" 2>&1) && [ -z "$out" ]; then
		echo "ok $n"
	else
		echo "not ok $n: $out"
	fi
done
for o in "$D"/overlays/*.dtso; do
	n=dt_overlay_$(basename "$o" .dtso)
	if out=$(dtc -@ -I dts -O dtb -o "$t/x.dtbo" "$o" 2>&1) && [ -z "$out" ]; then echo "ok $n"; else echo "not ok $n: $out"; fi
done
for dts in "$D"/tests/*.dts; do
	name=$(basename "$dts" .dts)
	dtc -q -I dts -O dtb -o "$t/$name.dtb" "$dts"
	# dt-validate reports problems on stdout/stderr but exits 0; judge by whether it names one of our nodes, or one
	# of our properties where a value cannot even be decoded (e.g. a flag with a value).
	out=$("$DTSCHEMA_BIN/dt-validate" -s "$D/bindings" "$t/$name.dtb" 2>&1 |
		grep -E 'gpio-sloppy-logic-analyzer\)|rfl-bringup,gpio-waveform\)|^(probe-[a-z-]+|ngpios): ')
	case "$name" in
	good*) if [ -z "$out" ]; then echo "ok dt_validate_$name"; else echo "not ok dt_validate_$name: $out"; fi ;;
	bad*) if [ -n "$out" ]; then echo "ok dt_validate_rejects_$name"; else echo "not ok dt_validate_rejects_$name: not rejected"; fi ;;
	esac
done
