/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The display_brightness connector helper of drm_brightness.ko, for any atomic DRM driver.
 *
 * A driver that wants its connector to carry display_brightness / display_brightness_max:
 * 1. embeds struct drm_brightness_state in its connector state subclass (zeroed in reset and duplicate);
 * 2. calls drm_brightness_connector_init() at connector init, before drm_dev_register(), and
 *    drm_brightness_connector_fini() before the connector goes;
 * 3. calls drm_brightness_atomic_set_property() / _get_property() first in its connector's
 *    atomic_set_property / atomic_get_property (-ENOENT: not a brightness property, handle it yourself);
 * 4. calls drm_brightness_atomic_check() from its connector helper's atomic_check;
 * 5. in its mode_config atomic_commit, calls drm_brightness_apply() before drm_atomic_helper_commit() and, if that
 *    fails, drm_brightness_rollback() with the old_level apply gave (opaque: it may say there is nothing to undo);
 * 6. reports hotplug with drm_brightness_set_connected().
 * The shim then binds a backlight class device to the connector (module parameter backlight=NAME, else raw >
 * platform > firmware), keeps display_brightness_max (0: unsupported) and sends its property uevents.
 */
#ifndef DRM_BRIGHTNESS_H
#define DRM_BRIGHTNESS_H

#include <linux/types.h>

struct drm_connector;
struct drm_property;

struct drm_brightness_state {
	u64 value;
	bool changed;	/* display_brightness was set in this state */
};

int drm_brightness_connector_init(struct drm_connector *conn);
void drm_brightness_connector_fini(struct drm_connector *conn);
int drm_brightness_atomic_set_property(struct drm_connector *conn, struct drm_brightness_state *bs,
				       struct drm_property *prop, u64 val);
int drm_brightness_atomic_get_property(struct drm_connector *conn, struct drm_property *prop, u64 *val);
int drm_brightness_atomic_check(struct drm_connector *conn, const struct drm_brightness_state *bs);
int drm_brightness_apply(struct drm_connector *conn, const struct drm_brightness_state *bs, u32 *old_level);
void drm_brightness_rollback(struct drm_connector *conn, u32 old_level);
void drm_brightness_set_connected(struct drm_connector *conn, bool connected);

#endif /* DRM_BRIGHTNESS_H */
