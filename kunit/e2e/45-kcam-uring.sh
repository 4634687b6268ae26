# SPDX-License-Identifier: GPL-2.0
# KCAM through io_uring (IORING_OP_URING_CMD) and poll on the camera fd: the compliance scenarios of the ioctl path
# through io_uring (order, errors, fences, both cancellations, limits, ring and process exit, close, isolation, the
# multishot event stream), poll/epoll wakeups, kcamctl --uring, the fuzzer sending io_uring commands, and removal.
[ -c /dev/kcam0 ] || insmod $RFL_MODULES/kcam.ko
kcamctl reset

echo '[{"op":"write","entity":"vcam-sensor","reg":"EXPOSURE","value":321},
      {"op":"read","entity":"vcam-sensor","reg":"EXPOSURE","deps":[0]}]' > /tmp/u.json
out=$(kcamctl --uring run /tmp/u.json 2>&1)
expect_eq kcam_uring_run "$(echo "$out" | sed -n 2p)" "1 read result 0x141 ok"
echo '[{"op":"write","entity":1,"reg":"CHIP_ID","value":1}]' > /tmp/r.json
expect_err kcam_uring_run_rejected "rejected at op 0 (reason register not writable): Operation not permitted" \
	kcamctl --uring run /tmp/r.json
echo '[{"op":"poll","entity":1,"reg":"CTRL","mask":1,"value":1,"timeout_ns":2000000}]' > /tmp/p.json
out=$(kcamctl --uring run /tmp/p.json 2>&1)
expect_eq kcam_uring_run_failed_op "$(echo "$out" | head -1)" "0 poll result 0x0 Connection timed out (os error 110)"

for c in uring-order uring-errors uring-fences uring-cancel uring-async-cancel uring-limits uring-exit uring-close \
	uring-isolation uring-events poll uring-task-work uring-fast-task-work; do
	if out=$(kcamctl check $c 2>&1); then
		e2e_pass kcam_check_$c
		[ -n "$out" ] && echo "@@INFO kcam check $c: $(echo "$out" | tr '\n' ' ')"
	else
		e2e_fail kcam_check_$c "$out"
	fi
done

if out=$(kcamctl --uring stream --frames 10 2>&1); then
	e2e_pass kcam_uring_stream_10_frames_in_order
else
	e2e_fail kcam_uring_stream_10_frames_in_order "$(echo "$out" | tail -3)"
fi

# The seeded fuzzer with io_uring commands among the ioctls: no splat, both outcomes reached, the camera works.
if out=$(kcamctl --uring fuzz --seed 11 --count 1500 2>&1); then
	echo "$out" | sed 's/^/@@INFO uring fuzz /'
	echo "$out" | grep -q '^uring submit res 0: ' && echo "$out" | grep -q '^uring submit res -22: ' &&
		e2e_pass kcam_uring_fuzz_reached_both_paths || e2e_fail kcam_uring_fuzz_reached_both_paths "$out"
else
	e2e_fail kcam_uring_fuzz_reached_both_paths "$out"
fi
expect kcam_after_uring_fuzz_reset kcamctl reset
expect_eq kcam_after_uring_fuzz_works "$(kcamctl read vcam-sensor EXPOSURE)" 0x3e8

# Removal with io_uring lists, a stream and a poller in flight; the module reloads after.
expect kcam_check_uring-removal kcamctl check uring-removal
expect kcam_rmmod_after_uring_removal rmmod kcam
expect kcam_reload_after_uring_removal insmod $RFL_MODULES/kcam.ko
