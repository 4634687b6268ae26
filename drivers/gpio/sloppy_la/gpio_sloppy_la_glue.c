// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of the Rust sloppy logic analyzer: the GPIO consumer API (no Rust bindings in 7.3, and struct
 * gpio_descs ends in a flexible array), GPIO lookup tables for instances created without firmware, and the static
 * inlines the sampling loop needs. Everything else is in Rust.
 *
 * Probes are taken one of two ways:
 * - requested as inputs (gpiod_get_array(GPIOD_IN)), as upstream's driver does: gpiolib and the pin controller
 *   switch each pin to a GPIO input, and release it when the instance goes;
 * - in place: the lines are looked up but never requested, so neither their direction nor their pin mux changes
 *   (pinctrl-bcm2835, for one, re-muxes a pin to gpio_in when a requested line is freed, even if the request
 *   changed nothing). Each probe holds a reference on its struct gpio_device, which keeps the descriptor valid;
 *   reads go through gpiolib, which checks under SRCU that the chip is still there (-ENODEV once it is gone).
 *   A line another consumer owns stays theirs: it is only read. gpiolib reads any descriptor, requested or not.
 */

#include <linux/delay.h>
#include <linux/device.h>
#include <linux/gpio/consumer.h>
#include <linux/gpio/driver.h>
#include <linux/gpio/machine.h>
#include <linux/hrtimer.h>
#include <linux/of.h>
#include <linux/pinctrl/consumer.h>
#include <linux/property.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "gpio_sloppy_la_glue.h"

/* The most probes an instance takes (instance::MAX_PROBES on the Rust side). */
#define SLA_MAX_PROBES 32

struct sla_probes {
	/* Requested mode: the array gpiolib handed out. NULL in place. */
	struct gpio_descs *requested;
	/* In place: the descriptors, a reference on each one's device, and the active-low lines (bit i = probe i). */
	unsigned int n;
	struct gpio_desc *desc[SLA_MAX_PROBES];
	struct gpio_device *gdev[SLA_MAX_PROBES];
	unsigned long invert;
};

/* What sla_match_line looks for; the match callback fills in the result fields. */
struct sla_line_query {
	/* By device tree specifier... */
	const struct of_phandle_args *spec;
	/* ...or by chip label and offset. */
	const char *label;
	unsigned int offset;
	/* Results: the line's offset on the chip, its device tree flags, and whether pin control lets a GPIO read it. */
	int *hwnum;
	u32 *flags;
	bool *usable;
};

/*
 * gpio_device_find() callback, called with the chip pinned (SRCU), so the chip's own callbacks may be used here:
 * finds the chip, translates the specifier as gpiolib-of does (of_xlate_and_get_gpiod_flags), and asks pin control
 * whether the line may be used as a GPIO at the same time as its current mux function (false only on a strict pin
 * controller whose pin is muxed to something else or owned by another GPIO user).
 */
static int sla_match_line(struct gpio_chip *gc, const void *data)
{
	const struct sla_line_query *q = data;
	u32 flags = 0;
	int hw;

	if (q->spec) {
#ifdef CONFIG_OF_GPIO
		if (!device_match_of_node(gpio_device_to_device(gc->gpiodev), q->spec->np) || !gc->of_xlate ||
		    gc->of_gpio_n_cells != q->spec->args_count)
			return 0;
		hw = gc->of_xlate(gc, q->spec, &flags);
		if (hw < 0)
			return 0;
#else
		return 0;
#endif
	} else {
		if (!gc->label || strcmp(gc->label, q->label))
			return 0;
		if (q->offset >= gc->ngpio) {
			/* The chip exists but has no such line. */
			*q->hwnum = -EINVAL;
			return 1;
		}
		hw = q->offset;
	}
	*q->hwnum = hw;
	*q->flags = flags;
	*q->usable = pinctrl_gpio_can_use_line(gc, hw);
	return 1;
}

/* Looks line i up without requesting it; returns 0 or a negative errno (-EPROBE_DEFER: the chip is not there yet). */
static int sla_take_in_place(struct device *dev, struct sla_probes *p, unsigned int i, const struct sla_line_query *q)
{
	struct gpio_device *gdev;
	struct gpio_desc *desc;

	gdev = gpio_device_find(q, sla_match_line);
	if (!gdev)
		return -EPROBE_DEFER;
	desc = *q->hwnum < 0 ? ERR_PTR(-EINVAL) : gpio_device_get_desc(gdev, *q->hwnum);
	if (IS_ERR(desc)) {
		dev_err(dev, "probe %u: %s has no line %lld\n", i + 1, gpio_device_get_label(gdev),
			q->spec ? (long long)*q->hwnum : (long long)q->offset);
		gpio_device_put(gdev);
		return PTR_ERR(desc);
	}
	if (!*q->usable) {
		/* A strict pin controller refuses GPIO use of a pin muxed to another function: honour it. */
		dev_err(dev, "probe %u: line %d of %s is muxed to another function by a strict pin controller, which forbids reading it as a GPIO\n",
			i + 1, *q->hwnum, gpio_device_get_label(gdev));
		gpio_device_put(gdev);
		return -EBUSY;
	}
	p->gdev[i] = gdev;
	p->desc[i] = desc;
	/* of_xlate hands back the specifier's flag cell: bit 0 is active-low there as in enum gpio_lookup_flags. */
	if (*q->flags & GPIO_ACTIVE_LOW)
		p->invert |= BIT(i);
	p->n = i + 1;
	return 0;
}

static struct sla_probes *sla_probes_alloc(void)
{
	return kzalloc(sizeof(struct sla_probes), GFP_KERNEL);
}

/* The device's `probe-gpios` in place: its device tree node says `probe-in-place`. */
static struct sla_probes *sla_get_probes_fw_in_place(struct device *dev)
{
	struct device_node *np = dev_of_node(dev);
	struct sla_probes *p;
	unsigned int i;
	int n, ret = 0;

	if (!np) {
		dev_err(dev, "probe-in-place needs probes described in a device tree\n");
		return ERR_PTR(-EOPNOTSUPP);
	}
	n = of_count_phandle_with_args(np, "probe-gpios", "#gpio-cells");
	if (n < 0)
		return ERR_PTR(n);
	if (n == 0)
		return ERR_PTR(-ENOENT);
	if (n > SLA_MAX_PROBES)
		return ERR_PTR(-EFBIG);
	p = sla_probes_alloc();
	if (!p)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < n && !ret; i++) {
		struct of_phandle_args spec;
		int hwnum;
		u32 flags;
		bool usable;
		struct sla_line_query q = { .spec = &spec, .hwnum = &hwnum, .flags = &flags, .usable = &usable };

		ret = of_parse_phandle_with_args(np, "probe-gpios", "#gpio-cells", i, &spec);
		if (ret)
			break;
		ret = sla_take_in_place(dev, p, i, &q);
		of_node_put(spec.np);
	}
	if (ret) {
		sla_put_probes(p);
		return ERR_PTR(ret);
	}
	return p;
}

struct sla_probes *sla_get_probes(struct device *dev)
{
	struct sla_probes *p;
	struct gpio_descs *descs;

	if (device_property_read_bool(dev, "probe-in-place"))
		return sla_get_probes_fw_in_place(dev);
	descs = gpiod_get_array(dev, "probe", GPIOD_IN);
	if (IS_ERR(descs))
		return ERR_CAST(descs);
	p = sla_probes_alloc();
	if (!p) {
		gpiod_put_array(descs);
		return ERR_PTR(-ENOMEM);
	}
	p->requested = descs;
	p->n = descs->ndescs;
	return p;
}

struct sla_probes *sla_get_probes_in_place(struct device *dev, unsigned int n, const char *const *chips,
					   const u32 *offsets)
{
	struct sla_probes *p;
	unsigned int i;
	int ret = 0;

	if (n == 0 || n > SLA_MAX_PROBES)
		return ERR_PTR(-EINVAL);
	p = sla_probes_alloc();
	if (!p)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < n && !ret; i++) {
		int hwnum;
		u32 flags;
		bool usable;
		struct sla_line_query q = {
			.label = chips[i], .offset = offsets[i], .hwnum = &hwnum, .flags = &flags, .usable = &usable,
		};

		ret = sla_take_in_place(dev, p, i, &q);
	}
	if (ret) {
		sla_put_probes(p);
		return ERR_PTR(ret);
	}
	return p;
}

void sla_put_probes(struct sla_probes *p)
{
	unsigned int i;

	if (p->requested) {
		gpiod_put_array(p->requested);
	} else {
		for (i = 0; i < p->n; i++)
			gpio_device_put(p->gdev[i]);
	}
	kfree(p);
}

unsigned int sla_probe_count(const struct sla_probes *p)
{
	return p->n;
}

bool sla_probes_in_place(const struct sla_probes *p)
{
	return !p->requested;
}

static struct gpio_desc *const *sla_descs(const struct sla_probes *p)
{
	return p->requested ? p->requested->desc : p->desc;
}

bool sla_any_cansleep(const struct sla_probes *p)
{
	struct gpio_desc *const *desc = sla_descs(p);
	unsigned int i;

	for (i = 0; i < p->n; i++)
		if (gpiod_cansleep(desc[i]))
			return true;
	return false;
}

int sla_set_consumer_name(struct sla_probes *p, unsigned int i, const char *name)
{
	if (i >= p->n)
		return -EINVAL;
	/* A line read in place is not ours: its label (if another consumer has it) stays theirs. */
	if (!p->requested)
		return 0;
	return gpiod_set_consumer_name(p->requested->desc[i], name);
}

/* The hot path: one read of all probes, logical values (active-low inverted), bit i = probe i + 1. */
int sla_read(struct sla_probes *p, u32 *state)
{
	unsigned long bits[BITS_TO_LONGS(SLA_MAX_PROBES)] = { 0 };
	int ret;

	if (p->requested)
		ret = gpiod_get_array_value(p->n, p->requested->desc, p->requested->info, bits);
	else
		ret = gpiod_get_raw_array_value(p->n, p->desc, NULL, bits);
	*state = bits[0] ^ p->invert;
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
