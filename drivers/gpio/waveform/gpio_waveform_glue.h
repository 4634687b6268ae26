/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GPIO_WAVEFORM_GLUE_H
#define GPIO_WAVEFORM_GLUE_H

#include <linux/spinlock_types.h>
#include <linux/types.h>

/* Returns the state of all lines now (bit n = line n). Called with any IRQ state; must not sleep. */
typedef u32 (*wf_state_fn)(const void *owner);

struct wf_chip;
struct wf_board;

struct device;

struct wf_chip *wf_chip_register(struct device *parent, const char *label, u16 ngpio, const void *owner,
				 wf_state_fn state);
void wf_chip_unregister(struct wf_chip *c);
struct wf_board *wf_board_register(const char *chip_label, unsigned int nlines, int id);
void wf_board_unregister(struct wf_board *b);
struct lock_class_key;
void wf_raw_spin_lock_init(raw_spinlock_t *lock, const char *name, struct lock_class_key *key);
unsigned long wf_raw_spin_lock_irqsave(raw_spinlock_t *lock);
bool wf_raw_spin_trylock_irqsave(raw_spinlock_t *lock, unsigned long *flags);
void wf_raw_spin_unlock_irqrestore(raw_spinlock_t *lock, unsigned long flags);
void wf_raw_spin_assert_is_held(raw_spinlock_t *lock);
/* For KUnit: calls state(owner) from a hard interrupt; *in_hardirq tells whether it really ran in one. */
u32 wf_call_in_hardirq(wf_state_fn state, const void *owner, bool *in_hardirq);

#endif
