# SPDX-License-Identifier: GPL-2.0
# Benchmark: per frame size, the frames per second vcam writes into queued buffers and the time one frame takes to
# render (its share of a frame period), at the default 30 fps, then with the module reloaded at 120 fps (how fast
# the renderer can go when the frame generator does not hold it back).
[ -c /dev/kcam0 ] || insmod $RFL_MODULES/kcam.ko
kcamctl frame-bench --frames 60 --sizes 160x120,320x240,640x480,1280x720 2>&1 | sed 's/^/@@INFO kcam-frames-bench /'
rmmod kcam && insmod $RFL_MODULES/kcam.ko fps=120
kcamctl frame-bench --frames 120 --sizes 64x48,160x120,320x240,640x480 2>&1 | sed 's/^/@@INFO kcam-frames-bench /'
rmmod kcam && insmod $RFL_MODULES/kcam.ko
