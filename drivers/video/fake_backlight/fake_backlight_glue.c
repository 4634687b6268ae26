// SPDX-License-Identifier: GPL-2.0
/*
 * C side of the fake backlight provider: struct backlight_device and its ops are built here; the Rust side keeps
 * the list of devices and parses the debugfs commands.
 *
 * Each device models a panel backlight: update_status() fails with the forced error if one is set (the value the
 * backlight core stored stays, as it would with real hardware that refused it), and clamps to the hardware's
 * ceiling otherwise, so props.brightness is what the "hardware" really shows.
 */

#include <linux/backlight.h>
#include <linux/err.h>
#include <linux/slab.h>

#include "fake_backlight_glue.h"

struct fbl {
	struct backlight_device *bd;
	int fail;		/* negative errno for update_status, or 0 */
	u32 clamp;		/* hardware ceiling */
};

static int fbl_update_status(struct backlight_device *bd)
{
	struct fbl *f = bl_get_data(bd);

	if (f->fail)
		return f->fail;
	if (bd->props.brightness > (int)f->clamp)
		bd->props.brightness = f->clamp;
	return 0;
}

static const struct backlight_ops fbl_ops = {
	.update_status = fbl_update_status,
};

struct fbl *fbl_register(const char *name, u32 type, u32 max, u32 brightness, u32 clamp)
{
	struct backlight_properties props = {
		.type = type,
		.max_brightness = max,
		.brightness = brightness,
		.scale = BACKLIGHT_SCALE_LINEAR,
	};
	struct fbl *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return ERR_PTR(-ENOMEM);
	f->clamp = clamp;
	f->bd = backlight_device_register(name, NULL, f, &fbl_ops, &props);
	if (IS_ERR(f->bd)) {
		struct fbl *err = ERR_CAST(f->bd);

		kfree(f);
		return err;
	}
	return f;
}

void fbl_unregister(struct fbl *f)
{
	backlight_device_unregister(f->bd);
	kfree(f);
}

void fbl_set_fail(struct fbl *f, int err)
{
	mutex_lock(&f->bd->ops_lock);
	f->fail = err;
	mutex_unlock(&f->bd->ops_lock);
}

u32 fbl_brightness(struct fbl *f)
{
	return f->bd->props.brightness;
}

/* A change made by the "hardware" (a hotkey): the backlight core is told, as a driver would. */
void fbl_hotkey(struct fbl *f, u32 brightness)
{
	mutex_lock(&f->bd->ops_lock);
	f->bd->props.brightness = min_t(int, brightness, f->bd->props.max_brightness);
	mutex_unlock(&f->bd->ops_lock);
	backlight_force_update(f->bd, BACKLIGHT_UPDATE_HOTKEY);
}
