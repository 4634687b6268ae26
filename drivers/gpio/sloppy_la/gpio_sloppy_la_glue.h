/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GPIO_SLOPPY_LA_GLUE_H
#define GPIO_SLOPPY_LA_GLUE_H

#include <linux/types.h>

struct device;
struct gpio_descs;
struct sla_lookup;

struct gpio_descs *sla_get_probes(struct device *dev);
void sla_put_probes(struct gpio_descs *descs);
unsigned int sla_probe_count(const struct gpio_descs *descs);
bool sla_any_cansleep(const struct gpio_descs *descs);
int sla_set_consumer_name(struct gpio_descs *descs, unsigned int i, const char *name);
int sla_read(struct gpio_descs *descs, u32 *state);
bool sla_fatal_signal_pending(void);
void sla_cond_resched(void);
void sla_sleep_killable(u64 ns);
int sla_probe_names(struct device *dev, const char **names, unsigned int n);
int sla_probe_names_count(struct device *dev);
struct sla_lookup *sla_lookup_add(const char *dev_id, unsigned int n, const char *const *chips, const u32 *offsets);
void sla_lookup_remove(struct sla_lookup *l);

#endif
