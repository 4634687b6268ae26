#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host half of the analyzer benchmark: from each capture of a square wave of known half-period (25 requested
periods), derive the achieved sample rate (mean samples per half period / half period) and the interval jitter
(relative standard deviation of the run lengths), then print Rust vs upstream side by side, as ratios."""
import statistics
import sys
from pathlib import Path

out = Path(sys.argv[1]) / "bench"


def measure(drv):
    res = {}
    for meta in sorted((out / drv).glob("*.meta"), key=lambda p: int(p.stem)):
        rate = int(meta.stem)
        period, acq = map(int, meta.read_text().split())
        data = (out / drv / f"{rate}.bin").read_bytes()
        bits = [b & 1 for b in data]
        runs, n = [], 1
        for a, b in zip(bits, bits[1:]):
            if a == b:
                n += 1
            else:
                runs.append(n)
                n = 1
        runs = runs[1:]  # the first run started before the capture
        if len(runs) < 3:
            continue
        half_ns = period * 25
        mean = statistics.mean(runs)
        achieved = mean / half_ns * 1e9
        res[rate] = {
            "achieved": achieved,
            "error": achieved / rate - 1,
            "jitter": statistics.pstdev(runs) / mean,
            "acq": acq,
        }
    return res


r, u = measure("rust"), measure("upstream")
if not r or not u:
    sys.exit("benchmark produced no usable captures (see build/bench/console.log)")
print("Rust vs upstream C sloppy logic analyzer, same waveform chip and lines, one QEMU (TCG) boot")
print(f"{'requested':>10} | {'rust achieved':>14} {'err':>7} {'jitter':>7} | {'C achieved':>14} {'err':>7} {'jitter':>7} | "
      f"{'|err| C/rust':>12} {'jitter C/rust':>13}")
for rate in sorted(set(r) | set(u)):
    a, b = r.get(rate), u.get(rate)
    fa = f"{a['achieved']:14.0f} {a['error']:+7.1%} {a['jitter']:7.2%}" if a else f"{'failed':>14} {'':7} {'':7}"
    fb = f"{b['achieved']:14.0f} {b['error']:+7.1%} {b['jitter']:7.2%}" if b else f"{'failed':>14} {'':7} {'':7}"
    ratio = ""
    if a and b:
        e = abs(b["error"]) / max(abs(a["error"]), 1e-4)
        j = b["jitter"] / max(a["jitter"], 1e-4)
        ratio = f"{e:12.1f} {j:13.1f}"
    print(f"{rate:>10} | {fa} | {fb} | {ratio}")
best_r = max(v["achieved"] for v in r.values())
best_u = max(v["achieved"] for v in u.values())
print(f"highest achieved rate: rust {best_r:.0f} Hz, C {best_u:.0f} Hz, ratio rust/C {best_r / best_u:.2f}")
