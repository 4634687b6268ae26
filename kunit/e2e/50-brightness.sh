# SPDX-License-Identifier: GPL-2.0
# DRM connector brightness shim (drm_brightness) with fake backlights (fake_backlight): unbound, late binding
# with a property uevent, set through legacy and atomic ioctls, TEST_ONLY, every rejection, sysfs and hotkey
# changes showing up, 1000 alternating writes, update_status failing, type preference and rebinding on removal,
# disconnect, modetest, binding by name with an offset and a clamping backlight, unloading.
FB=/sys/kernel/debug/fake_backlight/control
CONN=/sys/kernel/debug/drm_brightness/connected
BL=/sys/class/backlight
get() { drmbright get 2>&1 | sed -n 's/.*display_brightness=\([0-9]*\) display_brightness_max=\([0-9]*\).*/\1 \2/p'; }
# Starts `drmbright watch` for one event in the background, once it listens.
watch_start() {
	rm -f /tmp/uevent
	drmbright watch --count 1 --timeout 10 > /tmp/uevent 2>&1 &
	watch_pid=$!
	i=0
	while ! grep -q watching /tmp/uevent 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
}
# Checks that the watched event named the connector and display_brightness_max.
watch_check() {
	name=$1
	wait $watch_pid
	ids=$(drmbright get | sed -n 's/^connector \([0-9]*\) .*(properties [0-9]* and \([0-9]*\))$/\1 \2/p')
	conn=${ids% *} maxprop=${ids#* }
	if grep -q "^uevent HOTPLUG=1 CONNECTOR=$conn PROPERTY=$maxprop\$" /tmp/uevent; then
		e2e_pass "$name"
	else
		e2e_fail "$name" "want CONNECTOR=$conn PROPERTY=$maxprop, got: $(cat /tmp/uevent)"
	fi
}

expect bright_card test -c /dev/dri/card0
if command -v modetest >/dev/null; then
	modetest -M drm_brightness -c > /tmp/mt 2>&1
	grep -A2 display_brightness /tmp/mt | sed 's/^/@@INFO modetest /'
	expect bright_modetest_lists_both sh -c "grep -q 'display_brightness:' /tmp/mt && grep -q 'display_brightness_max:' /tmp/mt"
	expect bright_max_immutable sh -c "grep -A1 'display_brightness_max:' /tmp/mt | grep -q immutable"
else
	e2e_skip bright_modetest_lists_both "no modetest (libdrm-tests) on this system"
	e2e_skip bright_max_immutable "no modetest (libdrm-tests) on this system"
fi

# No backlight yet: unsupported.
expect_eq bright_unbound_max "$(get)" "0 0"
expect_err bright_unbound_write_enodev "No such device" drmbright set 1
# Issue 10, point 9: writing the value a read returns is a no-op that succeeds (compositors and igt's kms_properties
# restore every connector property in their commits); any other value keeps its error.
expect bright_unbound_write_current_legacy drmbright set 0
expect bright_unbound_write_current_atomic drmbright set --atomic 0
expect bright_unbound_write_current_test_only drmbright set --atomic --test-only 0

# Late registration: max goes from 0 to N with a property uevent.
watch_start
write_file $FB "add name=panel type=raw max=255 brightness=100"
watch_check bright_late_backlight_uevent
expect_eq bright_late_backlight_max "$(get)" "100 255"

# Set through the legacy ioctl and an atomic commit; TEST_ONLY has no effect.
expect bright_set_legacy drmbright set 40
expect_eq bright_set_legacy_reaches_backlight "$(cat $BL/panel/brightness)" 40
expect bright_set_atomic drmbright set --atomic 41
expect_eq bright_set_atomic_reaches_backlight "$(cat $BL/panel/brightness)" 41
expect bright_test_only_accepts drmbright set --atomic --test-only 42
expect_eq bright_test_only_no_effect "$(get)" "41 255"

# Rejections change nothing.
expect_err bright_above_max_einval "Invalid argument" drmbright set 256
expect_err bright_above_max_atomic_einval "Invalid argument" drmbright set --atomic 256
expect_err bright_test_only_above_max_einval "Invalid argument" drmbright set --atomic --test-only 256
expect_err bright_above_int32_einval "Invalid argument" drmbright set 4294967296
expect_err bright_max_write_einval "Invalid argument" drmbright set --max 5
exec 7<> /dev/dri/card0
expect_err bright_non_master_eacces "Permission denied" drmbright set 5
exec 7<&-
expect_eq bright_rejections_changed_nothing "$(get)" "41 255"

# Changes made elsewhere show up: sysfs, and the hardware itself (hotkey).
echo 77 > $BL/panel/brightness
expect_eq bright_sysfs_shows_up "$(get)" "77 255"
write_file $FB "hotkey name=panel brightness=90"
expect_eq bright_hotkey_shows_up "$(get)" "90 255"
expect bright_1000_alternating_writes drmbright mirror --sysfs $BL/panel --rounds 1000

# The backlight refuses (update_status: EIO): the commit fails with it and the old level stays.
echo 60 > $BL/panel/brightness
write_file $FB "fail name=panel errno=5"
expect_err bright_update_status_eio_legacy "Input/output error" drmbright set 10
expect_err bright_update_status_eio_atomic "Input/output error" drmbright set --atomic 10
expect_eq bright_failed_commit_keeps_old "$(get)" "60 255"
write_file $FB "fail name=panel errno=0"

# One control per connector: a firmware backlight does not displace the raw one; removing the bound one rebinds
# (uevent); a raw one arriving later takes over.
write_file $FB "add name=acpi_video0 type=firmware max=100 brightness=50"
expect_eq bright_raw_preferred_over_firmware "$(get)" "60 255"
watch_start
write_file $FB "remove name=panel"
watch_check bright_removal_rebinds_uevent
expect_eq bright_rebound_to_firmware "$(get)" "50 100"
write_file $FB "add name=intel_backlight type=raw max=1000 brightness=500"
expect_eq bright_late_raw_takes_over "$(get)" "500 1000"
write_file $FB "remove name=intel_backlight"
expect_eq bright_back_to_firmware "$(get)" "50 100"
watch_start
write_file $FB "remove name=acpi_video0"
watch_check bright_last_removal_uevent
expect_eq bright_removed_max_zero "$(get)" "0 0"
expect_err bright_write_after_removal_enodev "No such device" drmbright set 1

# Disconnect: max 0; reconnect: back.
write_file $FB "add name=panel type=raw max=255 brightness=30"
write_file $CONN 0
expect_eq bright_disconnected_max_zero "$(get)" "0 0"
expect_err bright_disconnected_write_enodev "No such device" drmbright set 1
expect bright_disconnected_write_current drmbright set --atomic 0
write_file $CONN 1
expect_eq bright_reconnected "$(get)" "30 255"
expect_err bright_connected_bad_value "Invalid argument" write_file $CONN 2

# Binding by name, with an offset (backlight 0 is off: property 0 is backlight 5) and a backlight whose hardware
# clamps at 60.
expect bright_rmmod rmmod drm_brightness
write_file $FB "add name=clamped type=firmware max=100 brightness=20 clamp=60"
expect bright_insmod_by_name insmod $RFL_MODULES/drm_brightness.ko backlight=clamped offset=5
expect_eq bright_by_name_with_offset "$(get)" "15 95"
expect bright_offset_set drmbright set 0
expect_eq bright_offset_zero_is_not_off "$(cat $BL/clamped/brightness)" 5
expect bright_clamped_set drmbright set 90
expect_eq bright_clamp_shows_in_property "$(get)" "55 95"

# The fake provider's bad commands change nothing.
expect_err bright_fake_bad_command "Invalid argument" write_file $FB "frobnicate name=x"
expect_err bright_fake_bad_type "Invalid argument" write_file $FB "add name=x type=laser"
expect_err bright_fake_level_above_max "Invalid argument" write_file $FB "add name=x max=10 brightness=11"
expect_err bright_fake_duplicate "File exists" write_file $FB "add name=clamped"
expect_err bright_fake_unknown "No such file or directory" write_file $FB "remove name=nope"
expect_eq bright_fake_list_unchanged "$(grep -c . $FB)" 2

# Unloading with a backlight bound, then the backlights; loading again.
expect bright_rmmod_bound rmmod drm_brightness
expect bright_rmmod_fake rmmod fake_backlight
expect bright_reload_fake insmod $RFL_MODULES/fake_backlight.ko
expect bright_reload insmod $RFL_MODULES/drm_brightness.ko
expect_eq bright_reload_unbound "$(get)" "0 0"

# Issue 10, point 10: a backlight that happens to have the name the shim registers to find the backlight class no
# longer makes loading fail (it did, and only after the DRM device had been registered and shown to userspace).
expect bright_rmmod_for_probe_name rmmod drm_brightness
write_file $FB "add name=drm_brightness-probe type=platform max=100 brightness=30"
expect bright_insmod_with_probe_name_taken insmod $RFL_MODULES/drm_brightness.ko
expect_eq bright_probe_named_backlight_binds "$(get)" "30 100"
write_file $FB "remove name=drm_brightness-probe"
# Issue 10, point 10: drm_brightness_connector_fini() frees the helper's per-connector state. For this module's own
# display it runs only once no file of the card is open (they pin the module), so no property ioctl can race it in
# the test kernel; the helper no longer keeps that state past its lock for a driver whose files can stay open.
exec 7<> /dev/dri/card0
expect_err bright_rmmod_refused_with_card_open "can't unload" rmmod drm_brightness
exec 7<&-
