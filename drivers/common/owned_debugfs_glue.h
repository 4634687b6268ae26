/* SPDX-License-Identifier: GPL-2.0 */
/*
 * debugfs files whose file_operations carry .owner = THIS_MODULE, the C half of owned_debugfs.rs (its Rust
 * declarations are generated from this header: owned_debugfs_glue_bindings.rs).
 *
 * Why: in Linux 7.3 the file_operations behind rust/kernel/debugfs.rs files have no owner, so an open file
 * does not pin the module. A file opened before rmmod and closed after it makes debugfs' full_proxy_release()
 * read those file_operations from the unloaded module and oops. With an owner, an open file holds a module
 * reference and rmmod fails with -EBUSY instead.
 *
 * owned_debugfs_glue.c is compiled into each module that uses owned_debugfs.rs (Kbuild builds one object per
 * module): the functions are module-local (not exported) and THIS_MODULE is that module.
 */
#ifndef OWNED_DEBUGFS_GLUE_H
#define OWNED_DEBUGFS_GLUE_H

#include <linux/types.h>

struct dentry;
struct seq_file;

struct odf_file;
struct dentry *odf_create_dir(const char *name, struct dentry *parent);
struct dentry *odf_create_file(const char *name, umode_t mode, struct dentry *parent, struct odf_file *f);
void odf_remove(struct dentry *d);

/* Owned (and pinned) by Rust; outlives its dentry. */
struct odf_file {
	const void *data;
	int (*show)(const void *data, struct seq_file *m);
	ssize_t (*write)(const void *data, const char __user *buf, size_t len);
	ssize_t (*read)(const void *data, char __user *buf, size_t len, loff_t *pos);
};

#endif /* OWNED_DEBUGFS_GLUE_H */
