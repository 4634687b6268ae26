/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The dma-buf glue of kcam.ko (dmabuf_glue.c), declared for it and, through bindings generated at build time
 * (dmabuf_glue_bindings.rs, see Kbuild), for dmabuf.rs.
 */
#ifndef KCAM_DMABUF_GLUE_H
#define KCAM_DMABUF_GLUE_H

#include <linux/types.h>

struct dma_buf;

int kcam_dmabuf_get(int fd, struct dma_buf **buf);
void kcam_dmabuf_put(struct dma_buf *buf);
size_t kcam_dmabuf_size(const struct dma_buf *buf);
int kcam_dmabuf_vmap(struct dma_buf *buf, void **vaddr);
void kcam_dmabuf_vunmap(struct dma_buf *buf, void *vaddr);
int kcam_dmabuf_begin_cpu_write(struct dma_buf *buf);
void kcam_dmabuf_end_cpu_write(struct dma_buf *buf);
/* KUnit only (defined with CONFIG_KUNIT): a zeroed buffer of this module's own. */
int kcam_dmabuf_test_new(size_t size, struct dma_buf **buf);

#endif /* KCAM_DMABUF_GLUE_H */
