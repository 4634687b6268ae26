// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs files whose file_operations carry .owner = THIS_MODULE (see owned_debugfs_glue.h): compiled into each
 * module that uses them, so THIS_MODULE is that module.
 */

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/seq_file.h>

#include "owned_debugfs_glue.h"

static int odf_seq_show(struct seq_file *m, void *v)
{
	const struct odf_file *f = m->private;

	return f->show(f->data, m);
}

/* Text files are seq_files (private_data = the seq_file); the others keep private_data NULL. */
static int odf_open(struct inode *inode, struct file *file)
{
	struct odf_file *f = inode->i_private;

	if (f->show)
		return single_open(file, odf_seq_show, f);
	file->private_data = NULL;
	return 0;
}

static ssize_t odf_read(struct file *file, char __user *buf, size_t len, loff_t *pos)
{
	const struct odf_file *f = file_inode(file)->i_private;

	if (f->show)
		return seq_read(file, buf, len, pos);
	if (f->read)
		return f->read(f->data, buf, len, pos);
	return -EINVAL;
}

static ssize_t odf_write(struct file *file, const char __user *buf, size_t len, loff_t *pos)
{
	const struct odf_file *f = file_inode(file)->i_private;

	if (!f->write)
		return -EINVAL;
	return f->write(f->data, buf, len);
}

static loff_t odf_llseek(struct file *file, loff_t off, int whence)
{
	const struct odf_file *f = file_inode(file)->i_private;

	if (f->show)
		return seq_lseek(file, off, whence);
	return default_llseek(file, off, whence);
}

/* May run after the file was removed: must not look at i_private (it may be freed), only at the file. */
static int odf_release(struct inode *inode, struct file *file)
{
	if (file->private_data)
		return single_release(inode, file);
	return 0;
}

static const struct file_operations odf_fops = {
	.owner = THIS_MODULE,
	.open = odf_open,
	.read = odf_read,
	.write = odf_write,
	.llseek = odf_llseek,
	.release = odf_release,
};

struct dentry *odf_create_dir(const char *name, struct dentry *parent)
{
	return debugfs_create_dir(name, parent);
}

/* debugfs_create_file() (not _unsafe): the full proxy makes removal wait for running callbacks. */
struct dentry *odf_create_file(const char *name, umode_t mode, struct dentry *parent, struct odf_file *f)
{
	return debugfs_create_file(name, mode, parent, f, &odf_fops);
}

void odf_remove(struct dentry *d)
{
	debugfs_remove(d);
}
