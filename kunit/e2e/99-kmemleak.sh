# SPDX-License-Identifier: GPL-2.0
# On the debug kernel (make check-debug): after every other test, every module unloads and kmemleak finds nothing
# left behind. On the normal test kernel (no kmemleak) this does nothing.
. "$RFL_TESTS/kmemleak.sh"
kmemleak_report
