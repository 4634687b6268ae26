/* SPDX-License-Identifier: GPL-2.0 */
/* The C glue of fake_backlight.ko; fake_backlight.rs uses the bindings Kbuild generates from this header. */
#ifndef FAKE_BACKLIGHT_GLUE_H
#define FAKE_BACKLIGHT_GLUE_H

#include <linux/types.h>

struct fbl;

struct fbl *fbl_register(const char *name, u32 type, u32 max, u32 brightness, u32 clamp);
void fbl_unregister(struct fbl *f);
void fbl_set_fail(struct fbl *f, int err);
u32 fbl_brightness(struct fbl *f);
void fbl_hotkey(struct fbl *f, u32 brightness);

#endif /* FAKE_BACKLIGHT_GLUE_H */
