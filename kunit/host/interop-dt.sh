#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Device tree: the binding passes dt-schema's dt-doc-validate, the board overlays compile with dtc, a tree using
# the binding validates, and trees that break it are caught. Prints "ok NAME" / "not ok NAME: why".
set -uo pipefail
. "$(dirname "$0")/../../scripts/env.sh"
D=$TOP/dts
B=$D/bindings/misc/gpio-sloppy-logic-analyzer.yaml
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

if out=$("$DTSCHEMA_BIN/dt-doc-validate" -u "$D/bindings" "$B" 2>&1) && [ -z "$out" ]; then
	echo "ok dt_binding_doc_validate"
else
	echo "not ok dt_binding_doc_validate: $out"
fi
for o in "$D"/overlays/*.dtso; do
	n=dt_overlay_$(basename "$o" .dtso)
	if out=$(dtc -@ -I dts -O dtb -o "$t/x.dtbo" "$o" 2>&1) && [ -z "$out" ]; then echo "ok $n"; else echo "not ok $n: $out"; fi
done
for dts in "$D"/tests/*.dts; do
	name=$(basename "$dts" .dts)
	dtc -q -I dts -O dtb -o "$t/$name.dtb" "$dts"
	# dt-validate reports problems on stdout/stderr but exits 0; judge by whether it names our node.
	out=$("$DTSCHEMA_BIN/dt-validate" -s "$B" "$t/$name.dtb" 2>&1 | grep 'gpio-sloppy-logic-analyzer)')
	case "$name" in
	good*) if [ -z "$out" ]; then echo "ok dt_validate_$name"; else echo "not ok dt_validate_$name: $out"; fi ;;
	bad*) if [ -n "$out" ]; then echo "ok dt_validate_rejects_$name"; else echo "not ok dt_validate_rejects_$name: not rejected"; fi ;;
	esac
done
