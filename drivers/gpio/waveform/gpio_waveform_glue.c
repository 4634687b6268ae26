// SPDX-License-Identifier: GPL-2.0
/*
 * C side of the waveform-replaying test GPIO chip: the struct gpio_chip and the board-style analyzer device are too
 * large to mirror in Rust, so they are built here and the Rust side only sees opaque handles.
 */

#include <linux/completion.h>
#include <linux/gpio/driver.h>
#include <linux/hrtimer.h>
#include <linux/gpio/machine.h>
#include <linux/platform_device.h>
#include <linux/property.h>
#include <linux/preempt.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "gpio_waveform_glue.h"

struct wf_chip {
	struct gpio_chip gc;
	const void *owner;
	wf_state_fn state;
};

static u32 wf_state(struct gpio_chip *gc)
{
	struct wf_chip *c = gpiochip_get_data(gc);

	return c->state(c->owner);
}

static int wf_get(struct gpio_chip *gc, unsigned int offset)
{
	return (wf_state(gc) >> offset) & 1;
}

static int wf_get_multiple(struct gpio_chip *gc, unsigned long *mask, unsigned long *bits)
{
	/* ngpio <= 32, so the whole chip fits in bits[0] on 32- and 64-bit machines. */
	unsigned long state = wf_state(gc);

	bits[0] = (bits[0] & ~mask[0]) | (state & mask[0]);
	return 0;
}

static int wf_get_direction(struct gpio_chip *gc, unsigned int offset)
{
	return GPIO_LINE_DIRECTION_IN;
}

static int wf_direction_input(struct gpio_chip *gc, unsigned int offset)
{
	return 0;
}

static int wf_direction_output(struct gpio_chip *gc, unsigned int offset, int value)
{
	/* The lines replay a waveform: nothing may drive them. */
	return -EPERM;
}

struct wf_chip *wf_chip_register(struct device *parent, const char *label, u16 ngpio, const void *owner,
				 wf_state_fn state)
{
	struct wf_chip *c;
	int ret;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return ERR_PTR(-ENOMEM);

	c->owner = owner;
	c->state = state;
	/* A parent from the device tree gives the chip its node, so consumers find its lines by phandle. */
	c->gc.parent = parent;
	c->gc.label = label;
	c->gc.owner = THIS_MODULE;
	c->gc.base = -1;
	c->gc.ngpio = ngpio;
	/* The point of this chip: reads take no sleeping lock, so the analyzer may sample it with IRQs off. */
	c->gc.can_sleep = false;
	c->gc.get = wf_get;
	c->gc.get_multiple = wf_get_multiple;
	c->gc.get_direction = wf_get_direction;
	c->gc.direction_input = wf_direction_input;
	c->gc.direction_output = wf_direction_output;

	ret = gpiochip_add_data(&c->gc, c);
	if (ret) {
		kfree(c);
		return ERR_PTR(ret);
	}
	return c;
}

void wf_chip_unregister(struct wf_chip *c)
{
	gpiochip_remove(&c->gc);
	kfree(c);
}

/*
 * A "gpio-sloppy-logic-analyzer" platform device wired to this chip's first lines, as a board file or a device
 * tree would describe it: probe-gpios through a GPIO lookup table, probe-names as a device property. Both the
 * upstream C analyzer and the Rust one bind to it by name.
 */
struct wf_board {
	struct platform_device *pdev;
	struct gpiod_lookup_table *lookup;
	const char **names;
	unsigned int n;
};

struct wf_board *wf_board_register(const char *chip_label, unsigned int nlines, int id)
{
	struct property_entry props[2] = {};
	struct platform_device_info info = {
		.name = "gpio-sloppy-logic-analyzer",
		.id = id,
		.properties = props,
	};
	struct wf_board *b;
	unsigned int i;
	int ret = -ENOMEM;

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return ERR_PTR(-ENOMEM);
	b->n = nlines;
	b->lookup = kzalloc(struct_size(b->lookup, table, nlines + 1), GFP_KERNEL);
	b->names = kcalloc(nlines, sizeof(*b->names), GFP_KERNEL);
	if (!b->lookup || !b->names)
		goto err;

	for (i = 0; i < nlines; i++) {
		b->names[i] = kasprintf(GFP_KERNEL, "D%u", i);
		if (!b->names[i])
			goto err;
		b->lookup->table[i] = (struct gpiod_lookup)
			GPIO_LOOKUP_IDX(chip_label, i, "probe", i, GPIO_ACTIVE_HIGH);
	}
	b->lookup->dev_id = kasprintf(GFP_KERNEL, "gpio-sloppy-logic-analyzer.%d", id);
	if (!b->lookup->dev_id)
		goto err;
	gpiod_add_lookup_table(b->lookup);

	props[0] = PROPERTY_ENTRY_STRING_ARRAY_LEN("probe-names", b->names, nlines);
	b->pdev = platform_device_register_full(&info);
	if (IS_ERR(b->pdev)) {
		ret = PTR_ERR(b->pdev);
		gpiod_remove_lookup_table(b->lookup);
		goto err;
	}
	return b;
err:
	if (b->lookup)
		kfree(b->lookup->dev_id);
	for (i = 0; b->names && i < nlines; i++)
		kfree(b->names[i]);
	kfree(b->names);
	kfree(b->lookup);
	kfree(b);
	return ERR_PTR(ret);
}

void wf_board_unregister(struct wf_board *b)
{
	unsigned int i;

	platform_device_unregister(b->pdev);
	gpiod_remove_lookup_table(b->lookup);
	kfree(b->lookup->dev_id);
	for (i = 0; i < b->n; i++)
		kfree(b->names[i]);
	kfree(b->names);
	kfree(b->lookup);
	kfree(b);
}

/* The raw spinlock of raw_spinlock.rs (the Rust kernel crate of 7.3 has none). */
void wf_raw_spin_lock_init(raw_spinlock_t *lock, const char *name, struct lock_class_key *key)
{
#ifdef CONFIG_DEBUG_SPINLOCK
	__raw_spin_lock_init(lock, name, key, LD_WAIT_SPIN);
#else
	raw_spin_lock_init(lock);
#endif
}

unsigned long wf_raw_spin_lock_irqsave(raw_spinlock_t *lock)
{
	unsigned long flags;

	raw_spin_lock_irqsave(lock, flags);
	return flags;
}

bool wf_raw_spin_trylock_irqsave(raw_spinlock_t *lock, unsigned long *flags)
{
	return raw_spin_trylock_irqsave(lock, *flags);
}

void wf_raw_spin_unlock_irqrestore(raw_spinlock_t *lock, unsigned long flags)
{
	raw_spin_unlock_irqrestore(lock, flags);
}

void wf_raw_spin_assert_is_held(raw_spinlock_t *lock)
{
	lockdep_assert_held(lock);
}

#if IS_ENABLED(CONFIG_KUNIT)
/* A state read from a hard interrupt, for KUnit: the chip must be readable in any context a consumer may read it. */
struct wf_hardirq_call {
	struct hrtimer timer;
	struct completion done;
	wf_state_fn state;
	const void *owner;
	u32 result;
	bool in_hardirq;
};

static enum hrtimer_restart wf_hardirq_fire(struct hrtimer *t)
{
	struct wf_hardirq_call *c = container_of(t, struct wf_hardirq_call, timer);

	c->in_hardirq = in_hardirq();
	c->result = c->state(c->owner);
	complete(&c->done);
	return HRTIMER_NORESTART;
}

u32 wf_call_in_hardirq(wf_state_fn state, const void *owner, bool *in_hardirq)
{
	struct wf_hardirq_call c = { .state = state, .owner = owner };

	init_completion(&c.done);
	hrtimer_setup_on_stack(&c.timer, wf_hardirq_fire, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	hrtimer_start(&c.timer, ns_to_ktime(1000), HRTIMER_MODE_REL_HARD);
	wait_for_completion(&c.done);
	hrtimer_cancel(&c.timer);
	destroy_hrtimer_on_stack(&c.timer);
	*in_hardirq = c.in_hardirq;
	return c.result;
}
#endif
