/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interface between the C glue of drm_brightness.ko and drm_brightness.rs, which uses the bindings Kbuild
 * generates from this header (struct drm_connector and struct backlight_device, declared only, are opaque there).
 */
#ifndef DRM_BRIGHTNESS_GLUE_H
#define DRM_BRIGHTNESS_GLUE_H

#include <linux/types.h>

#include "drm_brightness.h"

struct backlight_device;
struct drmb_display;

/* The module's own virtual display (drm_brightness_display.c). */
struct drmb_display *drmb_display_create(void);
void drmb_display_destroy(struct drmb_display *d);
bool drmb_display_connected(struct drmb_display *d);
/* Plugs or unplugs it; a change is a hotplug. */
void drmb_display_set_connected(struct drmb_display *d, bool connected);

/* Helper side (drm_brightness_helper.c). */
void drmb_conn_set_max(struct drm_brightness_connector *bc, u32 max);
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

/*
 * Rust (drm_brightness.rs). Its state of a connector is made by conn_added (NULL: out of memory), kept in bc->shim
 * and handed to every other call, until conn_removed takes it back.
 */
void *drmb_rust_conn_added(struct drm_brightness_connector *bc);
void drmb_rust_conn_removed(void *shim);
int drmb_rust_check(void *shim, u64 value);
u64 drmb_rust_get(void *shim);
/* The level before (U32_MAX: nothing set), for drmb_rust_restore(), or a negative errno. */
s64 drmb_rust_apply(void *shim, u64 value);
void drmb_rust_restore(void *shim, u32 old_level);
void drmb_rust_set_connected(void *shim, bool connected);
void drmb_rust_bl_added(struct backlight_device *bd);
void drmb_rust_bl_removed(struct backlight_device *bd);

#endif /* DRM_BRIGHTNESS_GLUE_H */
