# SPDX-License-Identifier: GPL-2.0
# Benchmark: 64 register writes as one KCAM list versus 64 single-op submissions (vcam, synchronous).
[ -c /dev/kcam0 ] || insmod $RFL_MODULES/kcam.ko
kcamctl bench --writes 64 --rounds 200 | sed 's/^/@@INFO kcam-bench /'
