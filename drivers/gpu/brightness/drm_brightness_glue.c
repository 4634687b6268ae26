// SPDX-License-Identifier: GPL-2.0
/*
 * C side of the DRM connector brightness shim: a minimal KMS device (CRTC, primary plane, encoder, one virtual
 * connector) whose connector carries display_brightness and display_brightness_max, and the watch on the backlight
 * class. The DRM and backlight structs are too large to mirror in Rust; every decision (binding, mapping, limits)
 * is made by the Rust side (drm_brightness.rs, shared/policy.rs) through the drmb_rust_* callbacks.
 *
 * Property life cycle:
 * - display_brightness is a plain range property (0..INT_MAX, legacy and atomic). A write lands in the connector
 *   state (changed = true); atomic_check asks Rust whether the value is in 0..max (-EINVAL) and whether anything
 *   is bound (-ENODEV); the commit applies it to the backlight *before* the hardware commit, so that a backlight
 *   error fails the commit (update_status's error comes back to the caller) and the old level is put back.
 *   Reads return the backlight's live level, so changes through /sys/class/backlight show up.
 * - display_brightness_max is IMMUTABLE (the core refuses writes with -EINVAL); Rust updates it with
 *   drmb_set_max(), which sends HOTPLUG=1 CONNECTOR=<id> PROPERTY=<id>.
 *
 * Backlight class: 7.3 has no backlight registration notifier and does not export its class. The class pointer is
 * taken from a backlight device registered for that purpose and unregistered at once (named
 * "drm_brightness-probe", never bound); a class_interface then reports every backlight present and to come.
 */

#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_connector.h>
#include <drm/drm_drv.h>
#include <drm/drm_edid.h>
#include <drm/drm_file.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_managed.h>
#include <drm/drm_modeset_helper_vtables.h>
#include <drm/drm_probe_helper.h>
#include <drm/drm_simple_kms_helper.h>
#include <drm/drm_sysfs.h>
#include <linux/backlight.h>
#include <linux/device/faux.h>
#include <linux/module.h>

#include "drm_brightness_glue.h"
#include "../../common/owned_debugfs_glue.h"

struct drmb {
	struct drm_device drm;
	struct drm_simple_display_pipe pipe;
	struct drm_connector conn;
	struct drm_property *brightness;
	struct drm_property *brightness_max;
	struct faux_device *faux;
	u32 max;	/* the value of display_brightness_max (atomic drivers may not read it back) */
};

struct drmb_conn_state {
	struct drm_connector_state base;
	u64 brightness;
	bool changed;	/* display_brightness was set in this state */
};

static struct drmb_conn_state *to_drmb_state(struct drm_connector_state *s)
{
	return container_of(s, struct drmb_conn_state, base);
}

static struct drmb *to_drmb(struct drm_device *drm)
{
	return container_of(drm, struct drmb, drm);
}

static void drmb_conn_reset(struct drm_connector *conn)
{
	struct drmb_conn_state *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (conn->state) {
		__drm_atomic_helper_connector_destroy_state(conn->state);
		kfree(to_drmb_state(conn->state));
		conn->state = NULL;
	}
	if (s)
		__drm_atomic_helper_connector_reset(conn, &s->base);
}

static struct drm_connector_state *drmb_conn_dup(struct drm_connector *conn)
{
	struct drmb_conn_state *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return NULL;
	/* A new state carries no brightness change until userspace sets one in it. */
	__drm_atomic_helper_connector_duplicate_state(conn, &s->base);
	return &s->base;
}

static void drmb_conn_destroy_state(struct drm_connector *conn, struct drm_connector_state *state)
{
	__drm_atomic_helper_connector_destroy_state(state);
	kfree(to_drmb_state(state));
}

static int drmb_conn_set_property(struct drm_connector *conn, struct drm_connector_state *state,
				  struct drm_property *prop, u64 val)
{
	struct drmb *d = to_drmb(conn->dev);

	if (prop != d->brightness)
		return -EINVAL;
	to_drmb_state(state)->brightness = val;
	to_drmb_state(state)->changed = true;
	return 0;
}

static int drmb_conn_get_property(struct drm_connector *conn, const struct drm_connector_state *state,
				  struct drm_property *prop, u64 *val)
{
	struct drmb *d = to_drmb(conn->dev);

	if (prop != d->brightness)
		return -EINVAL;
	*val = drmb_rust_get();
	return 0;
}

static enum drm_connector_status drmb_conn_detect(struct drm_connector *conn, bool force)
{
	return drmb_rust_connected() ? connector_status_connected : connector_status_disconnected;
}

static const struct drm_connector_funcs drmb_conn_funcs = {
	.reset = drmb_conn_reset,
	.detect = drmb_conn_detect,
	.fill_modes = drm_helper_probe_single_connector_modes,
	.atomic_duplicate_state = drmb_conn_dup,
	.atomic_destroy_state = drmb_conn_destroy_state,
	.atomic_set_property = drmb_conn_set_property,
	.atomic_get_property = drmb_conn_get_property,
};

static int drmb_conn_get_modes(struct drm_connector *conn)
{
	int n = drm_add_modes_noedid(conn, 1920, 1080);

	drm_set_preferred_mode(conn, 1280, 720);
	return n;
}

static int drmb_conn_atomic_check(struct drm_connector *conn, struct drm_atomic_commit *state)
{
	struct drm_connector_state *ns = drm_atomic_get_new_connector_state(state, conn);
	struct drmb_conn_state *s = to_drmb_state(ns);

	if (!s->changed)
		return 0;
	return drmb_rust_check(s->brightness);
}

static const struct drm_connector_helper_funcs drmb_conn_helper_funcs = {
	.get_modes = drmb_conn_get_modes,
	.atomic_check = drmb_conn_atomic_check,
};

/*
 * The brightness goes to the backlight before the display commit, synchronously, so that its error fails the
 * commit; a failed display commit puts the old level back. TEST_ONLY never gets here (the core only checks).
 */
static int drmb_atomic_commit(struct drm_device *drm, struct drm_atomic_commit *state, bool nonblock)
{
	struct drmb *d = to_drmb(drm);
	struct drm_connector_state *ns;
	struct drm_connector *conn;
	bool applied = false;
	u32 old_raw = 0;
	int i, ret;

	for_each_new_connector_in_state(state, conn, ns, i) {
		if (conn != &d->conn || !to_drmb_state(ns)->changed)
			continue;
		ret = drmb_rust_apply(to_drmb_state(ns)->brightness, &old_raw);
		if (ret)
			return ret;
		applied = true;
	}
	ret = drm_atomic_helper_commit(drm, state, nonblock);
	if (ret && applied)
		drmb_rust_restore(old_raw);
	return ret;
}

static const struct drm_mode_config_funcs drmb_mode_config_funcs = {
	.atomic_check = drm_atomic_helper_check,
	.atomic_commit = drmb_atomic_commit,
};

static void drmb_pipe_enable(struct drm_simple_display_pipe *pipe, struct drm_crtc_state *crtc_state,
			     struct drm_plane_state *plane_state)
{
}

static void drmb_pipe_disable(struct drm_simple_display_pipe *pipe)
{
}

static const struct drm_simple_display_pipe_funcs drmb_pipe_funcs = {
	.enable = drmb_pipe_enable,
	.disable = drmb_pipe_disable,
};

static const u32 drmb_formats[] = { DRM_FORMAT_XRGB8888 };

static const struct file_operations drmb_fops = {
	.owner = THIS_MODULE,
	.open = drm_open,
	.release = drm_release,
	.unlocked_ioctl = drm_ioctl,
	.compat_ioctl = drm_compat_ioctl,
	.poll = drm_poll,
	.read = drm_read,
	.llseek = noop_llseek,
	.fop_flags = FOP_UNSIGNED_OFFSET,
};

static const struct drm_driver drmb_driver = {
	.driver_features = DRIVER_MODESET | DRIVER_ATOMIC,
	.fops = &drmb_fops,
	.name = "drm_brightness",
	.desc = "Virtual display with the display_brightness connector properties",
	.major = 1,
};

struct drmb *drmb_create(void)
{
	struct faux_device *faux = faux_device_create("drm_brightness", NULL, NULL);
	struct drmb *d;
	int ret;

	if (!faux)
		return ERR_PTR(-ENODEV);
	d = devm_drm_dev_alloc(&faux->dev, &drmb_driver, struct drmb, drm);
	if (IS_ERR(d)) {
		faux_device_destroy(faux);
		return d;
	}
	d->faux = faux;
	ret = drmm_mode_config_init(&d->drm);
	if (ret)
		goto err;
	d->drm.mode_config.min_width = 640;
	d->drm.mode_config.min_height = 480;
	d->drm.mode_config.max_width = 4096;
	d->drm.mode_config.max_height = 4096;
	d->drm.mode_config.funcs = &drmb_mode_config_funcs;

	ret = drmm_connector_init(&d->drm, &d->conn, &drmb_conn_funcs, DRM_MODE_CONNECTOR_VIRTUAL, NULL);
	if (ret)
		goto err;
	drm_connector_helper_add(&d->conn, &drmb_conn_helper_funcs);
	/* Properties exist before registration: attaching to a registered connector is not allowed. */
	ret = -ENOMEM;
	d->brightness = drm_property_create_range(&d->drm, 0, "display_brightness", 0, INT_MAX);
	d->brightness_max = drm_property_create_range(&d->drm, DRM_MODE_PROP_IMMUTABLE, "display_brightness_max",
						      0, INT_MAX);
	if (!d->brightness || !d->brightness_max)
		goto err;
	drm_object_attach_property(&d->conn.base, d->brightness, 0);
	drm_object_attach_property(&d->conn.base, d->brightness_max, 0);

	ret = drm_simple_display_pipe_init(&d->drm, &d->pipe, &drmb_pipe_funcs, drmb_formats,
					   ARRAY_SIZE(drmb_formats), NULL, &d->conn);
	if (ret)
		goto err;
	drm_mode_config_reset(&d->drm);
	ret = drm_dev_register(&d->drm, 0);
	if (ret)
		goto err;
	return d;
err:
	faux_device_destroy(faux);
	return ERR_PTR(ret);
}

void drmb_destroy(struct drmb *d)
{
	struct faux_device *faux = d->faux;

	drm_dev_unregister(&d->drm);
	drm_atomic_helper_shutdown(&d->drm);
	/* Frees d (devres of the faux device). */
	faux_device_destroy(faux);
}

void drmb_set_max(struct drmb *d, u32 max)
{
	if (d->max == max)
		return;
	d->max = max;
	drm_object_property_set_value(&d->conn.base, d->brightness_max, max);
	drm_sysfs_connector_property_event(&d->conn, d->brightness_max);
}

void drmb_hotplug(struct drmb *d)
{
	drm_kms_helper_hotplug_event(&d->drm);
}

/* The backlight class, as found by drmb_watch_backlights(). */
static const struct class *drmb_bl_class;

static int drmb_bl_add_dev(struct device *dev)
{
	drmb_rust_bl_added(to_backlight_device(dev));
	return 0;
}

static void drmb_bl_remove_dev(struct device *dev)
{
	drmb_rust_bl_removed(to_backlight_device(dev));
}

static struct class_interface drmb_bl_interface = {
	.add_dev = drmb_bl_add_dev,
	.remove_dev = drmb_bl_remove_dev,
};

static const struct backlight_ops drmb_probe_ops;

int drmb_watch_backlights(void)
{
	struct backlight_properties props = { .type = BACKLIGHT_RAW, .max_brightness = 1 };
	struct backlight_device *probe;

	probe = backlight_device_register("drm_brightness-probe", NULL, NULL, &drmb_probe_ops, &props);
	if (IS_ERR(probe))
		return PTR_ERR(probe);
	drmb_bl_class = probe->dev.class;
	backlight_device_unregister(probe);
	drmb_bl_interface.class = drmb_bl_class;
	return class_interface_register(&drmb_bl_interface);
}

void drmb_unwatch_backlights(void)
{
	class_interface_unregister(&drmb_bl_interface);
}

static int drmb_rescan_one(struct device *dev, void *skip)
{
	if (dev != skip)
		drmb_rust_bl_added(to_backlight_device(dev));
	return 0;
}

void drmb_rescan(struct backlight_device *skip)
{
	class_for_each_device(drmb_bl_class, NULL, skip ? &skip->dev : NULL, drmb_rescan_one);
}

void drmb_bl_info(struct backlight_device *bd, const char **name, u32 *type, u32 *max)
{
	*name = dev_name(&bd->dev);
	*type = bd->props.type;
	*max = bd->props.max_brightness;
}

u32 drmb_bl_get(struct backlight_device *bd)
{
	return bd->props.brightness;
}

int drmb_bl_set(struct backlight_device *bd, u32 value)
{
	return backlight_device_set_brightness(bd, value);
}

void drmb_bl_hold(struct backlight_device *bd)
{
	get_device(&bd->dev);
}

void drmb_bl_put(struct backlight_device *bd)
{
	put_device(&bd->dev);
}

/* A string module parameter (the Rust module_param support of 7.3 has integers and bools only). */
static char *backlight = "";
module_param(backlight, charp, 0444);
MODULE_PARM_DESC(backlight, "bind only the backlight of this name (empty: by type, raw > platform > firmware)");

const char *drmb_param_backlight(void)
{
	return backlight ? backlight : "";
}
