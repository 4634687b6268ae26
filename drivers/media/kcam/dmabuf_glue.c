// SPDX-License-Identifier: GPL-2.0
/*
 * C side of KCAM's dma-buf import (dmabuf.rs): a reference, a kernel mapping for the CPU, and CPU access brackets.
 * The dma-buf functions live in the DMA_BUF symbol namespace, and dma_buf_get() returns ERR_PTR()s, which Rust
 * should not decode by hand; iosys_map is a union handled here.
 *
 * Locking (drivers/dma-buf/dma-buf.c, "DOC: locking convention"): none of these is called with the dma-buf's
 * reservation lock held; the *_unlocked vmap variants and begin/end_cpu_access take it themselves, so every call
 * here sleeps and runs in process context.
 */

#include <linux/dma-buf.h>
#include <linux/dma-direction.h>
#include <linux/dma-resv.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/iosys-map.h>
#include <linux/module.h>
#include <linux/vmalloc.h>

#include "dmabuf_glue.h"

MODULE_IMPORT_NS("DMA_BUF");

/* 0 and a new reference in *buf, or -EBADF when fd is not an open dma-buf. */
int kcam_dmabuf_get(int fd, struct dma_buf **buf)
{
	struct dma_buf *b = dma_buf_get(fd);

	/* -EBADF (no such fd) and -EINVAL (an fd of another kind) are both "not a dma-buf" to the caller. */
	if (IS_ERR_OR_NULL(b))
		return -EBADF;
	*buf = b;
	return 0;
}

void kcam_dmabuf_put(struct dma_buf *buf)
{
	dma_buf_put(buf);
}

size_t kcam_dmabuf_size(const struct dma_buf *buf)
{
	return buf->size;
}

/*
 * Maps the whole buffer into the kernel. Only system memory is accepted (the system heap and udmabuf map there):
 * the writer copies with plain stores, which I/O memory does not allow. -EOPNOTSUPP otherwise, or the exporter's
 * error (-EINVAL without a vmap, -ENOMEM).
 */
int kcam_dmabuf_vmap(struct dma_buf *buf, void **vaddr)
{
	struct iosys_map map;
	int ret = dma_buf_vmap_unlocked(buf, &map);

	if (ret)
		return ret;
	if (map.is_iomem) {
		dma_buf_vunmap_unlocked(buf, &map);
		return -EOPNOTSUPP;
	}
	*vaddr = map.vaddr;
	return 0;
}

/* Undoes kcam_dmabuf_vmap(); vaddr is what it gave (dma_buf_vunmap() checks the map is the one it handed out). */
void kcam_dmabuf_vunmap(struct dma_buf *buf, void *vaddr)
{
	struct iosys_map map = IOSYS_MAP_INIT_VADDR(vaddr);

	dma_buf_vunmap_unlocked(buf, &map);
}

/*
 * Starts a CPU write (DMA_TO_DEVICE, as DMA_BUF_IOCTL_SYNC's SYNC_WRITE). dma_buf_begin_cpu_access() waits for
 * the buffer's implicit fences without a timeout, which a camera frame cannot do: a buffer another device still
 * uses (fences not yet signalled) is refused with -EBUSY instead. A fence added between the test and the call is
 * still waited for; fences must signal in bounded time (Documentation/driver-api/dma-buf.rst).
 */
int kcam_dmabuf_begin_cpu_write(struct dma_buf *buf)
{
	if (!dma_resv_test_signaled(buf->resv, dma_resv_usage_rw(true)))
		return -EBUSY;
	return dma_buf_begin_cpu_access(buf, DMA_TO_DEVICE);
}

void kcam_dmabuf_end_cpu_write(struct dma_buf *buf)
{
	/* Exporters' end hooks flush caches; their errors have no recovery, the data is written either way. */
	dma_buf_end_cpu_access(buf, DMA_TO_DEVICE);
}

#if IS_ENABLED(CONFIG_KUNIT)
/*
 * A dma-buf of this module's own, for KUnit tests that need a buffer without a userspace exporter: zeroed
 * vmalloc memory, mapped for the CPU by vmap only (no device attaches, so map_dma_buf is never called).
 */
static struct sg_table *kcam_dmabuf_test_map(struct dma_buf_attachment *attach, enum dma_data_direction dir)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static void kcam_dmabuf_test_unmap(struct dma_buf_attachment *attach, struct sg_table *sgt,
				   enum dma_data_direction dir)
{
}

static void kcam_dmabuf_test_release(struct dma_buf *buf)
{
	vfree(buf->priv);
}

static int kcam_dmabuf_test_vmap(struct dma_buf *buf, struct iosys_map *map)
{
	iosys_map_set_vaddr(map, buf->priv);
	return 0;
}

static const struct dma_buf_ops kcam_dmabuf_test_ops = {
	.map_dma_buf = kcam_dmabuf_test_map,
	.unmap_dma_buf = kcam_dmabuf_test_unmap,
	.release = kcam_dmabuf_test_release,
	.vmap = kcam_dmabuf_test_vmap,
};

/* 0 and a new dma-buf of size bytes (one reference, ours) in *buf, or -ENOMEM / dma_buf_export()'s error. */
int kcam_dmabuf_test_new(size_t size, struct dma_buf **buf)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_buf *b;
	void *mem = vzalloc(size);

	if (!mem)
		return -ENOMEM;
	info.ops = &kcam_dmabuf_test_ops;
	info.size = size;
	info.flags = O_RDWR;
	info.priv = mem;
	b = dma_buf_export(&info);
	if (IS_ERR(b)) {
		vfree(mem);
		return PTR_ERR(b);
	}
	*buf = b;
	return 0;
}
#endif
