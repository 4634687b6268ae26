#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Benchmarks (not tests: they print ratios measured side by side in one run and assert nothing):
#   1. the Rust analyzer vs the upstream C analyzer in one QEMU boot (achieved rate, rate error, jitter);
#   2. KCAM: 64 register writes as one list vs 64 single-op ioctls vs 64 single-op io_uring commands in one
#      io_uring_enter (per-op cost, ratios); vcam's frames per second written into buffers and render time per
#      frame size;
#   3. .sr conversion throughput of gpio-la vs upstream's zip path vs sigrok-cli, and peak memory.
set -euo pipefail
. "$(dirname "$0")/env.sh"
"$TOP/scripts/setup-host.sh"
kdir=$("$TOP/scripts/build-modules.sh")
"$TOP/scripts/build-tools.sh"
QEMU_TIMEOUT=${QEMU_TIMEOUT:-1800} "$TOP/scripts/qemu-run.sh" "$kdir" bench "$TOP/build/bench"
python3 "$TOP/kunit/host/bench-analyzers.py" "$TOP/build/bench/out"
echo
echo "KCAM, vcam, same boot (TCG):"
sed -n 's/^@@INFO kcam-bench /  /p' "$TOP/build/bench/console.log"
echo
echo "KCAM frames, vcam, same boot (TCG): frames written per second and render time per frame size"
sed -n 's/^@@INFO kcam-frames-bench /  /p' "$TOP/build/bench/console.log"
echo
"$TOP/kunit/host/bench-convert.sh"
