// SPDX-License-Identifier: GPL-2.0
/*
 * The shim's own virtual display: a minimal atomic KMS device (faux device, simple display pipe, one virtual
 * connector) whose connector gets display_brightness through the exported helper (drm_brightness.h), exactly as
 * any other DRM driver would use it. /sys/kernel/debug/drm_brightness/connected plugs and unplugs it.
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
#include <linux/device/faux.h>
#include <linux/module.h>

#include "drm_brightness.h"
#include "drm_brightness_glue.h"

struct drmb_display {
	struct drm_device drm;
	struct drm_simple_display_pipe pipe;
	struct drm_connector conn;
	struct drm_brightness_connector brightness;	/* the helper's state of conn */
	struct faux_device *faux;
	atomic_t connected;	/* 1: plugged (debugfs connected) */
};

struct drmb_conn_state {
	struct drm_connector_state base;
	struct drm_brightness_state brightness;
};

static struct drmb_conn_state *to_drmb_state(struct drm_connector_state *s)
{
	return container_of(s, struct drmb_conn_state, base);
}

static struct drmb_display *to_drmb(struct drm_device *drm)
{
	return container_of(drm, struct drmb_display, drm);
}

/* The helper's state of a connector of ours, found through the connector. */
static struct drm_brightness_connector *to_bc(struct drm_connector *conn)
{
	return &container_of(conn, struct drmb_display, conn)->brightness;
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
	int ret = drm_brightness_atomic_set_property(to_bc(conn), &to_drmb_state(state)->brightness, prop, val);

	/* This connector has no other property of its own. */
	return ret == -ENOENT ? -EINVAL : ret;
}

static int drmb_conn_get_property(struct drm_connector *conn, const struct drm_connector_state *state,
				  struct drm_property *prop, u64 *val)
{
	int ret = drm_brightness_atomic_get_property(to_bc(conn), prop, val);

	return ret == -ENOENT ? -EINVAL : ret;
}

static enum drm_connector_status drmb_conn_detect(struct drm_connector *conn, bool force)
{
	return atomic_read(&to_drmb(conn->dev)->connected) ? connector_status_connected :
							    connector_status_disconnected;
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

	return drm_brightness_atomic_check(to_bc(conn), &to_drmb_state(ns)->brightness);
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
	struct drmb_display *d = to_drmb(drm);
	struct drm_connector_state *ns;
	struct drm_connector *conn;
	bool applied = false;
	u32 old_level = 0;
	int i, ret;

	for_each_new_connector_in_state(state, conn, ns, i) {
		if (conn != &d->conn || !to_drmb_state(ns)->brightness.changed)
			continue;
		ret = drm_brightness_apply(&d->brightness, &to_drmb_state(ns)->brightness, &old_level);
		if (ret)
			return ret;
		applied = true;
	}
	ret = drm_atomic_helper_commit(drm, state, nonblock);
	if (ret && applied)
		drm_brightness_rollback(&d->brightness, old_level);
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

struct drmb_display *drmb_display_create(void)
{
	struct faux_device *faux = faux_device_create("drm_brightness", NULL, NULL);
	struct drmb_display *d;
	int ret;

	if (!faux)
		return ERR_PTR(-ENODEV);
	d = devm_drm_dev_alloc(&faux->dev, &drmb_driver, struct drmb_display, drm);
	if (IS_ERR(d)) {
		faux_device_destroy(faux);
		return d;
	}
	d->faux = faux;
	atomic_set(&d->connected, 1);
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
	ret = drm_brightness_connector_init(&d->brightness, &d->conn);
	if (ret)
		goto err;

	ret = drm_simple_display_pipe_init(&d->drm, &d->pipe, &drmb_pipe_funcs, drmb_formats,
					   ARRAY_SIZE(drmb_formats), NULL, &d->conn);
	if (ret)
		goto err_fini;
	drm_mode_config_reset(&d->drm);
	ret = drm_dev_register(&d->drm, 0);
	if (ret)
		goto err_fini;
	return d;
err_fini:
	drm_brightness_connector_fini(&d->brightness);
err:
	faux_device_destroy(faux);
	return ERR_PTR(ret);
}

void drmb_display_destroy(struct drmb_display *d)
{
	struct faux_device *faux = d->faux;

	drm_dev_unregister(&d->drm);
	drm_atomic_helper_shutdown(&d->drm);
	drm_brightness_connector_fini(&d->brightness);
	/* Frees d (devres of the faux device). */
	faux_device_destroy(faux);
}

bool drmb_display_connected(struct drmb_display *d)
{
	return atomic_read(&d->connected);
}

void drmb_display_set_connected(struct drmb_display *d, bool connected)
{
	/* Only a change is a hotplug. */
	if (atomic_xchg(&d->connected, connected) == connected)
		return;
	drm_brightness_set_connected(&d->brightness, connected);
	drm_kms_helper_hotplug_event(&d->drm);
}
