# SPDX-License-Identifier: GPL-2.0
# KCAM frames with vcam through kcamctl: dma-bufs (system heap, udmabuf) imported and their errors, buffer
# operations and limits, isolation of files' buffers, the ISP's parameters, frames and statistics against the
# renderer run in userspace, consecutive frames, brightness against exposure, buffers never written once taken
# back (CANCEL_BUFFER, release, close, reset, removal) and left queued by a lost frame end, capture to PNG and PPM,
# the 3A loop from a dark start.
J=/tmp/kcam-frames
mkdir -p $J
[ -c /dev/kcam0 ] || insmod $RFL_MODULES/kcam.ko
expect kcam_frames_dma_writes_buffers sh -c "kcamctl list | grep -q '^4 vcam-dma (type 4, parent 3'"

for c in import-errors buffer-ops buffer-limits buffer-isolation isp-params frame-content frame-sequence exposure-ramp \
	buffer-close buffer-release buffer-cancel buffer-reset buffer-lost; do
	if out=$(kcamctl check $c 2>&1); then
		e2e_pass kcam_frames_$c
		[ -n "$out" ] && echo "$out" | sed "s/^/@@INFO kcam check $c: /"
	else
		e2e_fail kcam_frames_$c "$(echo "$out" | tail -3)"
	fi
done

# Capture: numbered PNG files, each with the frame number the camera announced stamped in its pixels, frames in order.
if out=$(cd $J && kcamctl capture --frames 3 -o 'bars-%03d.png' --pattern bars --illuminant neutral --exposure 8000 \
	--gain 16 2>&1); then
	echo "$out" | sed 's/^/@@INFO kcam capture: /'
	ok=1
	for i in 000 001 002; do
		[ "$(head -c 4 $J/bars-$i.png | od -An -c | tr -d ' ')" = "211PNG" ] || ok=0
	done
	frames=$(echo "$out" | sed -n 's/^bars-[0-9]*\.png: frame \([0-9]*\) stamp \([0-9]*\) .*/\1 \2/p')
	[ "$(echo "$frames" | wc -l)" = 3 ] || ok=0
	echo "$frames" | awk 'BEGIN { p = -1 } $1 != $2 || $1 <= p { exit 1 } { p = $1 }' || ok=0
	# Bars average to grey: half of white, whose level is 0.8 of full scale (204) at 8 ms in a neutral light with
	# the black level subtracted, so 102 in every channel.
	echo "$out" | head -1 | awk '{ for (i = 7; i <= 9; i++) if ($i < 97 || $i > 107) exit 1 }' || ok=0
	[ $ok = 1 ] && e2e_pass kcam_capture_png || e2e_fail kcam_capture_png "$out"
else
	e2e_fail kcam_capture_png "$out"
fi
if out=$(kcamctl capture --ppm -o $J/one.ppm --format yuyv --width 160 --height 120 --alloc udmabuf 2>&1); then
	hdr=$(head -c 15 $J/one.ppm | tr '\n' ' ')
	size=$(wc -c < $J/one.ppm)
	[ "$hdr" = "P6 160 120 255 " ] && [ "$size" = $((15 + 160 * 120 * 3)) ] && e2e_pass kcam_capture_ppm_yuyv_udmabuf ||
		e2e_fail kcam_capture_ppm_yuyv_udmabuf "header '$hdr', $size bytes: $out"
else
	e2e_fail kcam_capture_ppm_yuyv_udmabuf "$out"
fi
expect_err kcam_capture_bad_size "width a multiple of 32" kcamctl capture --width 100 -o $J/x.png
expect_err kcam_capture_unwritable "cannot write /proc/x.png: No such file or directory" kcamctl capture -o /proc/x.png
expect_err kcam_capture_two_conversions "only conversion" kcamctl capture -o "$J/%d-%d.png"
# SIGINT ends a long capture between frames: exit 130, no file half-written, nothing left queued.
kcamctl capture --frames 10000 -o $J/long-%d.png > /dev/null 2>&1 &
pid=$!
sleep 2
kill -INT $pid
wait $pid
rc=$?
left=$(ls -a $J | grep -c '^\.kcamctl-')
[ $rc = 130 ] && [ "$left" = 0 ] && [ "$(kcamctl read vcam-dma QUEUED)" = 0x0 ] && e2e_pass kcam_capture_sigint ||
	e2e_fail kcam_capture_sigint "exit $rc, $left temporary files, QUEUED $(kcamctl read vcam-dma QUEUED)"

# 3A from a dark start (100 us) under the warm light: on target (mean luma 0.4 +- 5 %) and neutral (R/G, B/G
# within 2 %) for 10 frames in a row, within 20 frames of the start.
kcamctl reset
if out=$(kcamctl 3a --pattern bars -o $J/aaa-%d.png 2>&1); then
	echo "$out" | sed 's/^/@@INFO kcam 3a: /'
	n=$(echo "$out" | sed -n 's/^converged at frame [0-9]* (\([0-9]*\) frames after.*/\1/p')
	[ -n "$n" ] && [ "$n" -le 20 ] && e2e_pass kcam_3a_converges_from_dark || e2e_fail kcam_3a_converges_from_dark "$out"
	f=$(ls $J/aaa-*.png 2>/dev/null | head -1)
	[ -n "$f" ] && cp "$f" $RFL_OUT/kcam-3a.png
else
	e2e_fail kcam_3a_converges_from_dark "$out"
fi
if out=$(kcamctl 3a --pattern grey --illuminant cool --exposure 20000 --gain 64 2>&1); then
	e2e_pass kcam_3a_from_bright_cool
	echo "$out" | tail -1 | sed 's/^/@@INFO kcam 3a bright: /'
else
	e2e_fail kcam_3a_from_bright_cool "$(echo "$out" | tail -3)"
fi
kcamctl reset

# Surprise removal with a buffer being written: not written after, the file's ioctls ENODEV; reload after.
expect kcam_frames_buffer_removal kcamctl check buffer-removal
expect kcam_frames_rmmod_after_removal rmmod kcam
expect kcam_frames_reload insmod $RFL_MODULES/kcam.ko
