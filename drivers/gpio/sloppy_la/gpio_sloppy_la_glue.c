// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of the Rust sloppy logic analyzer: the GPIO consumer API (no Rust bindings in 7.3, and struct
 * gpio_descs ends in a flexible array), GPIO lookup tables for instances created without firmware, and the static
 * inlines the sampling loop needs. Everything else is in Rust.
 */

#include <linux/delay.h>
#include <linux/gpio/consumer.h>
#include <linux/gpio/machine.h>
#include <linux/hrtimer.h>
#include <linux/property.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "gpio_sloppy_la_glue.h"
#include "../../common/owned_debugfs_glue.h"

struct gpio_descs *sla_get_probes(struct device *dev)
{
	return gpiod_get_array(dev, "probe", GPIOD_IN);
}

void sla_put_probes(struct gpio_descs *descs)
{
	gpiod_put_array(descs);
}

unsigned int sla_probe_count(const struct gpio_descs *descs)
{
	return descs->ndescs;
}

bool sla_any_cansleep(const struct gpio_descs *descs)
{
	unsigned int i;

	for (i = 0; i < descs->ndescs; i++)
		if (gpiod_cansleep(descs->desc[i]))
			return true;
	return false;
}

int sla_set_consumer_name(struct gpio_descs *descs, unsigned int i, const char *name)
{
	if (i >= descs->ndescs)
		return -EINVAL;
	return gpiod_set_consumer_name(descs->desc[i], name);
}

/* The hot path: one read of all probes, logical values (active-low inverted), bit i = probe i + 1. */
int sla_read(struct gpio_descs *descs, u32 *state)
{
	unsigned long bits[BITS_TO_LONGS(32)] = { 0 };
	int ret;

	ret = gpiod_get_array_value(descs->ndescs, descs->desc, descs->info, bits);
	*state = bits[0];
	return ret;
}

bool sla_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}

void sla_cond_resched(void)
{
	cond_resched();
}

/*
 * A wait for a sampling deadline beyond the IRQs-off window: asleep, interrupts on. TASK_KILLABLE: a fatal signal
 * ends it at once (other signals do not abort a capture, as upstream); each sleep is short, so the hung-task
 * detector never sees one.
 */
void sla_sleep_killable(u64 ns)
{
	ktime_t t = ns_to_ktime(ns);

	set_current_state(TASK_KILLABLE);
	schedule_hrtimeout(&t, HRTIMER_MODE_REL);
}

int sla_probe_names(struct device *dev, const char **names, unsigned int n)
{
	return device_property_read_string_array(dev, "probe-names", names, n);
}

int sla_probe_names_count(struct device *dev)
{
	return device_property_string_array_count(dev, "probe-names");
}

struct sla_lookup {
	struct gpiod_lookup_table *table;
	unsigned int n;
};

/* A table for n probes; -EINVAL if an offset does not fit the table (16 bits), -ENOMEM. */
struct sla_lookup *sla_lookup_add(const char *dev_id, unsigned int n, const char *const *chips, const u32 *offsets)
{
	struct sla_lookup *l;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (offsets[i] > U16_MAX)
			return ERR_PTR(-EINVAL);
	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (!l)
		return ERR_PTR(-ENOMEM);
	l->n = n;
	l->table = kzalloc(struct_size(l->table, table, n + 1), GFP_KERNEL);
	if (!l->table)
		goto err;
	l->table->dev_id = kstrdup(dev_id, GFP_KERNEL);
	if (!l->table->dev_id)
		goto err;
	for (i = 0; i < n; i++) {
		l->table->table[i] = (struct gpiod_lookup)
			GPIO_LOOKUP_IDX(kstrdup(chips[i], GFP_KERNEL), offsets[i], "probe", i, GPIO_ACTIVE_HIGH);
		if (!l->table->table[i].key)
			goto err;
	}
	gpiod_add_lookup_table(l->table);
	return l;
err:
	if (l->table) {
		for (i = 0; i < n; i++)
			kfree(l->table->table[i].key);
		kfree(l->table->dev_id);
	}
	kfree(l->table);
	kfree(l);
	return ERR_PTR(-ENOMEM);
}

void sla_lookup_remove(struct sla_lookup *l)
{
	unsigned int i;

	gpiod_remove_lookup_table(l->table);
	for (i = 0; i < l->n; i++)
		kfree(l->table->table[i].key);
	kfree(l->table->dev_id);
	kfree(l->table);
	kfree(l);
}
