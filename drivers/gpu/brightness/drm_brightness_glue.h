/* SPDX-License-Identifier: GPL-2.0 */
/* Internal interface between the C glue of drm_brightness.ko and drm_brightness.rs. */
#ifndef DRM_BRIGHTNESS_GLUE_H
#define DRM_BRIGHTNESS_GLUE_H

#include <linux/types.h>

struct backlight_device;
struct drm_connector;
struct drmb_conn;
struct drmb_display;

/* The module's own virtual display (drm_brightness_display.c). */
struct drmb_display *drmb_display_create(void);
void drmb_display_destroy(struct drmb_display *d);
bool drmb_display_connected(struct drmb_display *d);
/* Plugs or unplugs it; a change is a hotplug. */
void drmb_display_set_connected(struct drmb_display *d, bool connected);

/* Helper side (drm_brightness_helper.c). */
void drmb_conn_set_max(struct drmb_conn *c, u32 max);
int drmb_watch_backlights(void);
void drmb_unwatch_backlights(void);
void drmb_bl_info(struct backlight_device *bd, const char **name, u32 *type, u32 *max);
u32 drmb_bl_get(struct backlight_device *bd);
int drmb_bl_set(struct backlight_device *bd, u32 value);
void drmb_bl_hold(struct backlight_device *bd);
void drmb_bl_put(struct backlight_device *bd);
const char *drmb_param_backlight(void);
/* For KUnit: a backlight registered and unregistered again, still referenced (release with drmb_bl_put()). */
struct backlight_device *drmb_test_removed_backlight(void);

/* Rust (drm_brightness.rs); connectors are known by their struct drm_connector. */
int drmb_rust_conn_added(struct drm_connector *conn, struct drmb_conn *c);
void drmb_rust_conn_removed(struct drm_connector *conn);
int drmb_rust_check(struct drm_connector *conn, u64 value);
u64 drmb_rust_get(struct drm_connector *conn);
int drmb_rust_apply(struct drm_connector *conn, u64 value, u32 *old_level);
void drmb_rust_restore(struct drm_connector *conn, u32 old_level);
void drmb_rust_set_connected(struct drm_connector *conn, bool connected);
void drmb_rust_bl_added(struct backlight_device *bd);
void drmb_rust_bl_removed(struct backlight_device *bd);

#endif /* DRM_BRIGHTNESS_GLUE_H */
