/* SPDX-License-Identifier: GPL-2.0 */
/* The C glue of drm_brightness.ko, mirrored by drm_brightness.rs. */
#ifndef DRM_BRIGHTNESS_GLUE_H
#define DRM_BRIGHTNESS_GLUE_H

#include <linux/types.h>

struct backlight_device;
struct drmb;

/* The virtual display (faux device + KMS device with one connector carrying both properties). */
struct drmb *drmb_create(void);
void drmb_destroy(struct drmb *d);
/* display_brightness_max := max; a property uevent if it changed. */
void drmb_set_max(struct drmb *d, u32 max);
/* The connector's status changed: a hotplug uevent. */
void drmb_hotplug(struct drmb *d);

/* Backlight class watching: drmb_rust_bl_added/removed for every device present and to come. */
int drmb_watch_backlights(void);
void drmb_unwatch_backlights(void);
/* drmb_rust_bl_added() for every registered backlight but skip. */
void drmb_rescan(struct backlight_device *skip);

/* Backlight access. */
void drmb_bl_info(struct backlight_device *bd, const char **name, u32 *type, u32 *max);
u32 drmb_bl_get(struct backlight_device *bd);
int drmb_bl_set(struct backlight_device *bd, u32 value);
void drmb_bl_hold(struct backlight_device *bd);
void drmb_bl_put(struct backlight_device *bd);

const char *drmb_param_backlight(void);

/* Rust (drm_brightness.rs). */
int drmb_rust_check(u64 value);
u64 drmb_rust_get(void);
int drmb_rust_apply(u64 value, u32 *old_raw);
void drmb_rust_restore(u32 old_raw);
bool drmb_rust_connected(void);
void drmb_rust_bl_added(struct backlight_device *bd);
void drmb_rust_bl_removed(struct backlight_device *bd);

#endif /* DRM_BRIGHTNESS_GLUE_H */
