# SPDX-License-Identifier: GPL-2.0
# After the soak, every module unloads and kmemleak finds nothing left behind.
. "$RFL_TESTS/kmemleak.sh"
kmemleak_report
