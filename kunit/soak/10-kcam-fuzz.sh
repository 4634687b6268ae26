# SPDX-License-Identifier: GPL-2.0
# Soak: 100000 seeded random KCAM ioctls (lists, flags, reserved fields, user pointers, fences); the console is
# scanned for splats, and the camera must still work afterwards.
n=${SOAK_IOCTLS:-100000}
t0=$(cut -d' ' -f1 /proc/uptime)
if out=$(kcamctl fuzz --seed 20261201 --count "$n" 2>&1); then
	echo "$out" | sed 's/^/@@INFO soak fuzz /'
	t1=$(cut -d' ' -f1 /proc/uptime)
	echo "@@INFO soak fuzz: $n ioctls in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }') s"
	e2e_pass soak_kcam_fuzz_$n
else
	e2e_fail soak_kcam_fuzz_$n "$(echo "$out" | tail -3)"
fi
expect soak_kcam_reset_after_fuzz kcamctl reset
expect_eq soak_kcam_works_after_fuzz "$(kcamctl read vcam-sensor EXPOSURE)" 0x3e8
