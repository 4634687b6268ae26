/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GPIO_SLOPPY_LA_GLUE_H
#define GPIO_SLOPPY_LA_GLUE_H

#include <linux/types.h>

struct device;
struct sla_probes;
struct sla_lookup;

struct sla_probes *sla_get_probes(struct device *dev);
struct sla_probes *sla_get_probes_in_place(struct device *dev, unsigned int n, const char *const *chips,
					   const u32 *offsets);
void sla_put_probes(struct sla_probes *p);
unsigned int sla_probe_count(const struct sla_probes *p);
bool sla_probes_in_place(const struct sla_probes *p);
bool sla_any_cansleep(const struct sla_probes *p);
int sla_set_consumer_name(struct sla_probes *p, unsigned int i, const char *name);
int sla_read(struct sla_probes *p, u32 *state);
bool sla_fatal_signal_pending(void);
void sla_cond_resched(void);
void sla_sleep_killable(u64 ns);
int sla_probe_names(struct device *dev, const char **names, unsigned int n);
int sla_probe_names_count(struct device *dev);
struct sla_lookup *sla_lookup_add(const char *dev_id, unsigned int n, const char *const *chips, const u32 *offsets);
void sla_lookup_remove(struct sla_lookup *l);

#endif
