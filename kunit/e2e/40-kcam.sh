# SPDX-License-Identifier: GPL-2.0
# KCAM with vcam through kcamctl: enumeration, one list programming exposure and gain, TEST_ONLY, rejections that
# name the op and run nothing, dependency cancellation, parameter transfer, streaming, asynchronous lists and
# fences, limits, file isolation, every injected fault, reset, surprise removal, unloading with an open file.
J=/tmp/kcam
mkdir -p $J
expect kcam_device test -c /dev/kcam0
expect kcam_list_entities sh -c "kcamctl list | grep -c '^[0-9]' | grep -qx 4"
expect kcam_list_tree sh -c "kcamctl list | grep -q '^3 vcam-isp (type 3, parent 2'"

echo '[{"op":"write","entity":"vcam-sensor","reg":"EXPOSURE","value":500},
      {"op":"write","entity":"vcam-sensor","reg":"GAIN","value":32},
      {"op":"read","entity":"vcam-sensor","reg":"EXPOSURE","deps":[0]}]' > $J/expo.json
expect kcam_one_list_programs_two_regs kcamctl run $J/expo.json
expect_eq kcam_exposure_set "$(kcamctl read vcam-sensor EXPOSURE)" 0x1f4
expect_eq kcam_gain_set "$(kcamctl read vcam-sensor GAIN)" 0x20

echo '[{"op":"write","entity":"vcam-sensor","reg":"EXPOSURE","value":7}]' > $J/t.json
expect_eq kcam_test_only_validates "$(kcamctl run --test-only $J/t.json)" valid
expect_eq kcam_test_only_changes_nothing "$(kcamctl read vcam-sensor EXPOSURE)" 0x1f4

# Rejections: the first offending op is named, and nothing of the list ran (EXPOSURE keeps 0x1f4).
rej() {
	name=$1 want=$2 json=$3
	echo "$json" > $J/r.json
	expect_err "$name" "$want" kcamctl run $J/r.json
	expect_eq "${name}_ran_nothing" "$(kcamctl read vcam-sensor EXPOSURE)" 0x1f4
}
rej kcam_reject_ro_write "rejected at op 1 (reason register not writable): Operation not permitted" \
	'[{"op":"write","entity":1,"reg":"EXPOSURE","value":9},{"op":"write","entity":1,"reg":"CHIP_ID","value":1}]'
rej kcam_reject_outside_mask "rejected at op 0 (reason value outside the writable mask)" \
	'[{"op":"write","entity":1,"reg":"EXPOSURE","value":65536}]'
rej kcam_reject_unknown_entity "rejected at op 1 (reason unknown entity): No such file or directory" \
	'[{"op":"write","entity":1,"reg":"EXPOSURE","value":9},{"op":"read","entity":9,"reg":0}]'
rej kcam_reject_unknown_reg "rejected at op 0 (reason unknown register)" '[{"op":"read","entity":1,"reg":40}]'
rej kcam_reject_forward_dep "rejected at op 0 (reason bad dependency): Invalid argument" \
	'[{"op":"write","entity":1,"reg":"EXPOSURE","value":9,"deps":[1]},{"op":"nop"}]'
rej kcam_reject_flags "rejected at op 0 (reason bad flags)" '[{"op":"nop","flags":4}]'
rej kcam_reject_poll_without_timeout "rejected at op 0 (reason timeout required)" \
	'[{"op":"poll","entity":1,"reg":"CTRL","mask":1,"value":1}]'
rej kcam_reject_event_not_emitted "rejected at op 0 (reason event not emitted)" \
	'[{"op":"wait_event","entity":"vcam-csi","timeout_ns":1000}]'
rej kcam_reject_param_too_long "rejected at op 0 (reason parameter too long): Argument list too long" \
	"[{\"op\":\"xfer_param\",\"entity\":\"vcam-isp\",\"param\":[$(awk 'BEGIN { for (i = 0; i < 65536; i++) printf "1,"; printf "1" }')]}]"
expect_err kcam_reject_empty_list "reason no ops" sh -c "echo '[]' > $J/e.json; kcamctl run $J/e.json"
# Inputs an opcode does not use must be 0, so that they can get a meaning later.
rej kcam_reject_unused_input "rejected at op 1 (reason reserved or unused field not zero): Invalid argument" \
	'[{"op":"write","entity":1,"reg":"EXPOSURE","value":9},{"op":"read","entity":1,"reg":"GAIN","value":5}]'
rej kcam_reject_delay_with_entity "rejected at op 0 (reason reserved or unused field not zero)" \
	'[{"op":"delay","entity":1,"timeout_ns":1000}]'

# A failed op cancels its dependents; independent ops still run.
echo '[{"op":"poll","entity":1,"reg":"CTRL","mask":1,"value":1,"timeout_ns":2000000},
      {"op":"read","entity":1,"reg":"GAIN","deps":[0]},
      {"op":"read","entity":1,"reg":"GAIN"}]' > $J/c.json
out=$(kcamctl run $J/c.json 2>&1)
expect_eq kcam_poll_times_out "$(echo "$out" | sed -n 1p)" "0 poll result 0x0 Connection timed out (os error 110)"
expect_eq kcam_dependent_cancelled "$(echo "$out" | sed -n 2p)" "1 read result 0x0 Operation canceled (os error 125)"
expect_eq kcam_independent_runs "$(echo "$out" | sed -n 3p)" "2 read result 0x20 ok"

# Parameter buffers reach the ISP intact.
echo '[{"op":"xfer_param","entity":"vcam-isp","param":[1,2,3,250]}]' > $J/p.json
expect kcam_xfer_param kcamctl run $J/p.json
expect_eq kcam_param_seq "$(kcamctl read vcam-isp PARAMS_SEQ)" 0x1
expect_eq kcam_param_len "$(kcamctl read vcam-isp PARAMS_LEN)" 0x4
expect_eq kcam_param_sum "$(kcamctl read vcam-isp PARAMS_SUM)" 0x100

# Streaming: 30 frames at 30 fps, events in order with increasing timestamps, no loss. The
# rate is only checked to be plausible (the timestamps are in ns and advance), not fast: emulation varies.
if out=$(kcamctl stream --frames 30 2>&1); then
	fps=$(echo "$out" | sed -n 's/^ok: .* frames in order, \([0-9]*\)\..*/\1/p')
	echo "@@INFO kcam stream: $(echo "$out" | tail -1)"
	[ -n "$fps" ] && [ "$fps" -ge 1 ] && [ "$fps" -le 120 ] && e2e_pass kcam_stream_30_frames_in_order ||
		e2e_fail kcam_stream_30_frames_in_order "$(echo "$out" | tail -3)"
else
	e2e_fail kcam_stream_30_frames_in_order "$(echo "$out" | tail -3)"
fi
expect_eq kcam_stream_stopped "$(kcamctl read vcam-sensor CTRL)" 0x0

# WAIT_EVENT in a list: start streaming, wait for two frame ends, read the frame counter, stop.
echo '[{"op":"write","entity":"vcam-sensor","reg":"CTRL","value":1},
      {"op":"wait_event","entity":"vcam-sensor","event":1,"timeout_ns":2000000000,"deps":[0]},
      {"op":"wait_event","entity":"vcam-sensor","event":1,"timeout_ns":2000000000,"deps":[1]},
      {"op":"read","entity":"vcam-sensor","reg":"FRAME_COUNT","deps":[2]},
      {"op":"read","entity":"vcam-isp","reg":"STATS_SUM","deps":[2]},
      {"op":"write","entity":"vcam-sensor","reg":"CTRL","value":0}]' > $J/w.json
out=$(kcamctl run $J/w.json 2>&1)
frames=$(echo "$out" | sed -n 's/^3 read result \(0x[0-9a-f]*\) ok$/\1/p')
[ -n "$frames" ] && [ $((frames)) -ge 2 ] && e2e_pass kcam_wait_event_in_list || e2e_fail kcam_wait_event_in_list "$out"
# A wait for an event that does not come times out with its own status.
echo '[{"op":"wait_event","entity":"vcam-sensor","event":0,"timeout_ns":50000000}]' > $J/t.json
expect_eq kcam_wait_event_times_out "$(kcamctl run $J/t.json 2>/dev/null | head -1)" "0 wait_event result 0x0 Connection timed out (os error 110)"

expect kcam_reset kcamctl reset
expect_eq kcam_reset_restores "$(kcamctl read vcam-sensor EXPOSURE)" 0x3e8

# A seeded random ioctl fuzzer (bounded): no crash or splat (the console is scanned for them), valid and invalid
# lists both reached the kernel, and the camera still works afterwards.
if out=$(kcamctl fuzz --seed 7 --count 3000 2>&1); then
	echo "$out" | sed 's/^/@@INFO fuzz /'
	echo "$out" | grep -q '^accepted: ' && echo "$out" | grep -q '^errno 22: ' && echo "$out" | grep -q '^errno 25: ' &&
		e2e_pass kcam_fuzz_reached_both_paths || e2e_fail kcam_fuzz_reached_both_paths "$out"
else
	e2e_fail kcam_fuzz_reached_both_paths "$out"
fi
expect kcam_after_fuzz_reset kcamctl reset
expect_eq kcam_after_fuzz_works "$(kcamctl read vcam-sensor EXPOSURE)" 0x3e8

# Asynchronous lists, out-fences (sync_file), WAIT_FENCE on sw_sync and on kcam's own fences, the per-file
# pending limit, isolation of files, cancellation by close and by reset: scenarios of several files and threads.
for c in ioctl-numbers async-order out-fence wait-fence fence-chain fence-merge pending-limit test-only-full reply-fault \
	camera-limits param-snapshot isolation close-cancels signal kill-direct kill-queued reset-cancels hang hang-watchdog; do
	if out=$(kcamctl check $c 2>&1); then
		e2e_pass kcam_check_$c
		[ -n "$out" ] && echo "@@INFO kcam check $c: $out"
	else
		e2e_fail kcam_check_$c "$out"
	fi
done

# New exposure while streaming is latched at the next frame: STATUS.BUSY until then, so a list polls for it.
echo '[{"op":"write","entity":"vcam-sensor","reg":"CTRL","value":1},
      {"op":"wait_event","entity":"vcam-sensor","event":0,"timeout_ns":2000000000},
      {"op":"write","entity":"vcam-sensor","reg":"EXPOSURE","value":700},
      {"op":"read","entity":"vcam-sensor","reg":"STATUS"},
      {"op":"poll","entity":"vcam-sensor","reg":"STATUS","mask":1,"value":0,"timeout_ns":2000000000},
      {"op":"write","entity":"vcam-sensor","reg":"CTRL","value":0}]' > $J/latch.json
out=$(kcamctl run $J/latch.json 2>&1)
expect_eq kcam_busy_while_settling "$(echo "$out" | sed -n 4p)" "3 read result 0x1 ok"
expect_eq kcam_busy_clears_at_frame "$(echo "$out" | sed -n 5p)" "4 poll result 0x0 ok"

# Injected faults, each with its documented error, and reset clears them.
kcamctl reset
kcamctl faults fail_nth=2
out=$(kcamctl run $J/expo.json 2>&1)
expect_eq kcam_fault_fail_nth_first_ok "$(echo "$out" | sed -n 1p)" "0 write result 0x1f4 ok"
expect_eq kcam_fault_fail_nth_eio "$(echo "$out" | sed -n 2p)" "1 write result 0x0 Input/output error (os error 5)"
expect_eq kcam_fault_fail_nth_once "$(echo "$out" | sed -n 3p)" "2 read result 0x1f4 ok"

echo '[{"op":"poll","entity":"vcam-sensor","reg":"STATUS","mask":1,"value":0,"timeout_ns":20000000}]' > $J/busy.json
kcamctl faults stuck_busy=1
expect_eq kcam_fault_stuck_busy "$(kcamctl run $J/busy.json 2>/dev/null | head -1)" "0 poll result 0x0 Connection timed out (os error 110)"
kcamctl reset
expect_eq kcam_reset_clears_stuck_busy "$(kcamctl run $J/busy.json 2>&1 | head -1)" "0 poll result 0x0 ok"

# Lost interrupts: frames still start, but FRAME_END never comes, so its waiter times out.
kcamctl faults lose_events=1000
echo '[{"op":"write","entity":"vcam-sensor","reg":"CTRL","value":1},
      {"op":"wait_event","entity":"vcam-sensor","event":1,"timeout_ns":300000000},
      {"op":"wait_event","entity":"vcam-sensor","event":0,"timeout_ns":2000000000},
      {"op":"write","entity":"vcam-sensor","reg":"CTRL","value":0}]' > $J/lost.json
out=$(kcamctl run $J/lost.json 2>&1)
expect_eq kcam_fault_lost_event_times_out "$(echo "$out" | sed -n 2p)" "1 wait_event result 0x0 Connection timed out (os error 110)"
expect_eq kcam_fault_lost_event_starts_come "$(echo "$out" | sed -n 3p)" "2 wait_event result 0x0 ok"
kcamctl reset

# A slow device: 4 reads at 100 ms each take at least 0.4 s (a lower bound of the injected delay, not a speed).
kcamctl faults slow_us=100000
echo '[{"op":"read","entity":1,"reg":0},{"op":"read","entity":1,"reg":0},{"op":"read","entity":1,"reg":0},
      {"op":"read","entity":1,"reg":0}]' > $J/slow.json
t0=$(cut -d' ' -f1 /proc/uptime)
expect kcam_fault_slow_runs kcamctl run $J/slow.json
t1=$(cut -d' ' -f1 /proc/uptime)
expect kcam_fault_slow_takes_its_time awk -v a=$t0 -v b=$t1 'BEGIN { exit !(b - a >= 0.39) }'
kcamctl reset
expect_eq kcam_faults_cleared_by_reset "$(kcamctl faults | tr '\n' ' ')" \
	"fail_nth=0 stuck_busy=0 lose_events=0 slow_us=0 hang=0 removed=0 "
expect_err kcam_faults_bad_key "Invalid argument" kcamctl faults bogus=1
expect_err kcam_faults_bad_value "Invalid argument" kcamctl faults hang=2
expect_err kcam_faults_no_undo_removal "Invalid argument" kcamctl faults remove=0

# Unloading with the device open is refused; once closed it unloads and loads again.
exec 8<> /dev/kcam0
expect_err kcam_rmmod_refused_while_open "can't unload" rmmod kcam
exec 8<&-
expect kcam_rmmod rmmod kcam
# Module parameters out of range are refused at load, with nothing left behind.
for p in fps=0 fps=121 max_lists=0 max_queued_param_bytes=0 max_subscribers=0 access_timeout_ms=0 \
	access_timeout_ms=60001; do
	if insmod $RFL_MODULES/kcam.ko $p 2>/dev/null; then
		e2e_fail "kcam_bad_param_$p" "insmod accepted it"
		rmmod kcam
	elif [ -e /dev/kcam0 ] || [ -d /sys/kernel/debug/vcam ]; then
		e2e_fail "kcam_bad_param_$p" "refused, but left /dev/kcam0 or debugfs behind"
	else
		e2e_pass "kcam_bad_param_$p"
	fi
done
expect kcam_reload insmod $RFL_MODULES/kcam.ko

# Surprise removal: a blocked list and its submitter get ENODEV, later ioctls ENODEV, the node goes; closing works
# and the module unloads; a reload brings the camera back.
expect kcam_check_removal kcamctl check removal
expect_err kcam_removed_node_gone "No such file or directory" kcamctl list
expect_eq kcam_removed_fault_shown "$(kcamctl faults | grep removed)" "removed=1"
expect kcam_rmmod_after_removal rmmod kcam
expect kcam_reload_after_removal insmod $RFL_MODULES/kcam.ko
expect_eq kcam_back_after_reload "$(kcamctl read vcam-sensor EXPOSURE)" 0x3e8
