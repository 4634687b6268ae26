// SPDX-License-Identifier: GPL-2.0
/*
 * The display_brightness connector helper (drm_brightness.h), exported for any atomic DRM driver, and the
 * backlight-class side of the shim. Decisions (binding, mapping, limits) are made in Rust (drm_brightness.rs)
 * through the drmb_rust_* callbacks; this file only does what needs the DRM and backlight structs.
 *
 * Property life cycle:
 * - display_brightness is a plain range property (0..INT_MAX, legacy and atomic). A write lands in the driver's
 *   connector state (struct drm_brightness_state, changed = true); atomic_check asks Rust whether the value is in
 *   0..max (-EINVAL) and whether anything is bound (-ENODEV); drm_brightness_apply() sets the backlight *before*
 *   the display commit, so that a backlight error fails the commit (update_status's error comes back to the
 *   caller) and the old level is put back. Reads return the backlight's live level, so changes through
 *   /sys/class/backlight or by the hardware show up.
 * - display_brightness_max is IMMUTABLE (the core refuses writes with -EINVAL); Rust updates it through
 *   drmb_conn_set_max(), which sends HOTPLUG=1 CONNECTOR=<id> PROPERTY=<id>.
 *
 * Backlight class: 7.3 has no backlight registration notifier and does not export its class. The class pointer is
 * taken from a backlight device named "drm_brightness-probe": an existing one, or one registered for that purpose
 * and unregistered at once (never bound); a class_interface then reports every backlight present and to come.
 */

#include <drm/drm_connector.h>
#include <drm/drm_device.h>
#include <drm/drm_mode_object.h>
#include <drm/drm_property.h>
#include <drm/drm_sysfs.h>
#include <linux/backlight.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include "drm_brightness.h"
#include "drm_brightness_glue.h"

/* One connector carrying the properties. */
struct drmb_conn {
	struct list_head node;
	struct drm_connector *conn;
	struct drm_property *brightness;
	struct drm_property *brightness_max;
	u32 max;	/* display_brightness_max (atomic drivers may not read a property back) */
};

/* Every connector initialised through the helper; properties are shared by the connectors of one device. */
static LIST_HEAD(drmb_conns);
static DEFINE_MUTEX(drmb_conns_lock);

static struct drmb_conn *drmb_conn_find(struct drm_connector *conn)
{
	struct drmb_conn *c;

	list_for_each_entry(c, &drmb_conns, node)
		if (c->conn == conn)
			return c;
	return NULL;
}

int drm_brightness_connector_init(struct drm_connector *conn)
{
	struct drm_property *brightness = NULL, *brightness_max = NULL;
	struct drmb_conn *c, *other;
	int ret;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	mutex_lock(&drmb_conns_lock);
	list_for_each_entry(other, &drmb_conns, node) {
		if (other->conn->dev == conn->dev) {
			brightness = other->brightness;
			brightness_max = other->brightness_max;
			break;
		}
	}
	if (!brightness) {
		brightness = drm_property_create_range(conn->dev, 0, "display_brightness", 0, INT_MAX);
		brightness_max = drm_property_create_range(conn->dev, DRM_MODE_PROP_IMMUTABLE,
							   "display_brightness_max", 0, INT_MAX);
	}
	ret = -ENOMEM;
	if (!brightness || !brightness_max)
		goto err;
	c->conn = conn;
	c->brightness = brightness;
	c->brightness_max = brightness_max;
	/* Before registration: attaching to a registered connector is not allowed. */
	drm_object_attach_property(&conn->base, brightness, 0);
	drm_object_attach_property(&conn->base, brightness_max, 0);
	ret = drmb_rust_conn_added(conn, c);
	if (ret)
		goto err;
	list_add(&c->node, &drmb_conns);
	mutex_unlock(&drmb_conns_lock);
	return 0;
err:
	/* Properties, if created, belong to the device and go with its mode config. */
	mutex_unlock(&drmb_conns_lock);
	kfree(c);
	return ret;
}
EXPORT_SYMBOL_GPL(drm_brightness_connector_init);

void drm_brightness_connector_fini(struct drm_connector *conn)
{
	struct drmb_conn *c;

	mutex_lock(&drmb_conns_lock);
	c = drmb_conn_find(conn);
	if (c)
		list_del(&c->node);
	mutex_unlock(&drmb_conns_lock);
	if (!c)
		return;
	drmb_rust_conn_removed(conn);
	kfree(c);
}
EXPORT_SYMBOL_GPL(drm_brightness_connector_fini);

/*
 * Whether prop is conn's display_brightness. The answer, not the struct drmb_conn, leaves the lock: a driver may
 * call drm_brightness_connector_fini(), which frees it, while a property ioctl on that connector still runs (its
 * files can outlive the connector's registration). The property itself belongs to the DRM device.
 */
static bool drmb_is_brightness(struct drm_connector *conn, struct drm_property *prop)
{
	struct drmb_conn *c;
	bool ret;

	mutex_lock(&drmb_conns_lock);
	c = drmb_conn_find(conn);
	ret = c && prop == c->brightness;
	mutex_unlock(&drmb_conns_lock);
	return ret;
}

int drm_brightness_atomic_set_property(struct drm_connector *conn, struct drm_brightness_state *bs,
				       struct drm_property *prop, u64 val)
{
	if (!drmb_is_brightness(conn, prop))
		return -ENOENT;
	bs->value = val;
	bs->changed = true;
	return 0;
}
EXPORT_SYMBOL_GPL(drm_brightness_atomic_set_property);

int drm_brightness_atomic_get_property(struct drm_connector *conn, struct drm_property *prop, u64 *val)
{
	if (!drmb_is_brightness(conn, prop))
		return -ENOENT;
	*val = drmb_rust_get(conn);
	return 0;
}
EXPORT_SYMBOL_GPL(drm_brightness_atomic_get_property);

int drm_brightness_atomic_check(struct drm_connector *conn, const struct drm_brightness_state *bs)
{
	return bs->changed ? drmb_rust_check(conn, bs->value) : 0;
}
EXPORT_SYMBOL_GPL(drm_brightness_atomic_check);

int drm_brightness_apply(struct drm_connector *conn, const struct drm_brightness_state *bs, u32 *old_level)
{
	return bs->changed ? drmb_rust_apply(conn, bs->value, old_level) : 0;
}
EXPORT_SYMBOL_GPL(drm_brightness_apply);

void drm_brightness_rollback(struct drm_connector *conn, u32 old_level)
{
	drmb_rust_restore(conn, old_level);
}
EXPORT_SYMBOL_GPL(drm_brightness_rollback);

void drm_brightness_set_connected(struct drm_connector *conn, bool connected)
{
	drmb_rust_set_connected(conn, connected);
}
EXPORT_SYMBOL_GPL(drm_brightness_set_connected);

void drmb_conn_set_max(struct drmb_conn *c, u32 max)
{
	if (c->max == max)
		return;
	c->max = max;
	drm_object_property_set_value(&c->conn->base, c->brightness_max, max);
	drm_sysfs_connector_property_event(c->conn, c->brightness_max);
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
#define DRMB_PROBE_NAME "drm_brightness-probe"

int drmb_watch_backlights(void)
{
	struct backlight_properties props = { .type = BACKLIGHT_RAW, .max_brightness = 1 };
	struct backlight_device *probe;

	/* A backlight that already has the name (whoever made it) shows the class as well; registering would fail. */
	probe = backlight_device_get_by_name(DRMB_PROBE_NAME);
	if (probe) {
		drmb_bl_class = probe->dev.class;
		put_device(&probe->dev);
	} else {
		probe = backlight_device_register(DRMB_PROBE_NAME, NULL, NULL, &drmb_probe_ops, &props);
		if (IS_ERR(probe))
			return PTR_ERR(probe);
		drmb_bl_class = probe->dev.class;
		backlight_device_unregister(probe);
	}
	drmb_bl_interface.class = drmb_bl_class;
	return class_interface_register(&drmb_bl_interface);
}

void drmb_unwatch_backlights(void)
{
	class_interface_unregister(&drmb_bl_interface);
	drmb_bl_class = NULL;
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

#if IS_ENABLED(CONFIG_KUNIT)
/*
 * A backlight whose removal (our remove_dev callback included) has run, still referenced, as a walk of the class
 * can hold one: what a rescan must never bind.
 */
struct backlight_device *drmb_test_removed_backlight(void)
{
	struct backlight_properties props = { .type = BACKLIGHT_RAW, .max_brightness = 10 };
	struct backlight_device *bd;

	bd = backlight_device_register("drm_brightness-kunit", NULL, NULL, &drmb_probe_ops, &props);
	if (IS_ERR(bd))
		return bd;
	get_device(&bd->dev);
	backlight_device_unregister(bd);
	return bd;
}
#endif
