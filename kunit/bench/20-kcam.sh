# SPDX-License-Identifier: GPL-2.0
# Benchmark: 64 register writes as one KCAM list, as 64 single-op ioctls (synchronous) and as 64 single-op io_uring
# commands submitted and reaped in one io_uring_enter (vcam).
[ -c /dev/kcam0 ] || insmod $RFL_MODULES/kcam.ko
kcamctl bench --writes 64 --rounds 200 | sed 's/^/@@INFO kcam-bench /'
