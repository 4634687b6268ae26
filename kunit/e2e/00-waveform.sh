# SPDX-License-Identifier: GPL-2.0
# The waveform test chip: registered, non-sleeping, programs and playback, bad programs refused.
W=/sys/kernel/debug/gpio-waveform

expect wf_debugfs test -w $W/program
expect wf_chip_registered grep -q gpio-waveform /sys/kernel/debug/gpio
expect_eq wf_idle_state "$(cat $W/state)" 0x00000000
expect wf_program_i2c write_file $W/program "i2c rate=100000 write 0x50 de ad"
expect_eq wf_i2c_idle_lines_high "$(cat $W/state)" 0x00000003
expect wf_program_edges write_file $W/program "edges idle=0x1 1000000:0x2 2000000:0x4"
write_file $W/play 0
sleep 1
expect_eq wf_playback_ends_in_last_state "$(cat $W/state)" 0x00000004
write_file $W/play stop
expect_eq wf_stop_returns_to_idle "$(cat $W/state)" 0x00000001
before=$(cat $W/program)
expect_err wf_rejects_unknown_kind "Invalid argument" write_file $W/program "morse sos"
expect_err wf_rejects_decreasing_edges "Invalid argument" write_file $W/program "edges 5:1 4:2"
expect_err wf_rejects_line_beyond_chip "Invalid argument" write_file $W/program "i2c scl=40 write 0x50"
expect_err wf_rejects_bad_play "Invalid argument" write_file $W/play "soon"
expect_eq wf_rejections_change_nothing "$(cat $W/program)" "$before"

# Issue 10, point 8: one number syntax for every debugfs number, the kernel's kstrtoull(s, 0): 010 is octal 8 here as
# in the analyzer's files.
expect wf_program_octal_time write_file $W/program "edges idle=0 010:0x1"
expect_eq wf_octal_is_eight "$(sed -n 's/.* duration_ns=\([0-9]*\) .*/\1/p' $W/program)" 8
# Issue 10, point 7: an edge list past 4 MiB (1 Mi edges, 16 MiB) is vmalloc'ed; kmalloc WARNed past 4 MiB.
expect wf_million_edges write_file $W/program "clock half_ns=1000 count=1048576"
expect_eq wf_million_edges_loaded "$(sed -n 's/^edges=\([0-9]*\) .*/\1/p' $W/program)" 1048576
expect_err wf_edge_limit "Argument list too long" write_file $W/program "clock half_ns=1000 count=1048577"
# Issue 10, point 7: root input that overflowed the time arithmetic (a kernel BUG with overflow checks on, the VM
# died) is refused with ERANGE and changes nothing.
before=$(cat $W/program)
expect_err wf_clock_overflow_erange "Numerical result out of range" \
	write_file $W/program "clock half_ns=0x8000000000000000 count=2"
expect_err wf_play_overflow_erange "Numerical result out of range" write_file $W/play 9223372036854775807
expect_eq wf_overflow_changes_nothing "$(cat $W/program)" "$before"
