// SPDX-License-Identifier: Apache-2.0
/*
 * The `snp` and `tdx` backends through Linux configfs-tsm
 * (Documentation/ABI/testing/configfs-tsm): mkdir an entry under
 * /sys/kernel/config/tsm/report, write 64 bytes to inblob, read provider,
 * outblob (SNP report / TDX quote) and auxblob (SNP GHCB certificate
 * table), check generation did not move, rmdir.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "produce.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

#define TSM_DEFAULT_ROOT "/sys/kernel/config/tsm/report"

static int read_attr(const char *dir, const char *name, uint8_t **buf,
		     size_t *len)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	return sn_read_file(path, SN_EVIDENCE_MAX_INPUT, buf, len);
}

static int read_required(const char *dir, const char *name, uint8_t **buf,
			 size_t *len)
{
	int err = read_attr(dir, name, buf, len);

	if (err)
		sn_err("configfs-tsm: cannot read %s/%s: %s", dir, name,
		       strerror(-err));
	return err;
}

static int write_attr(const char *dir, const char *name, const uint8_t *b,
		      size_t len)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name), fd, err = 0;

	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, b, len) != (ssize_t)len)
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

int sn_tsm_read_entry(const char *dir, enum sn_tee tee,
		      struct sn_evidence **out)
{
	const char *want = sn_tsm_provider(tee);
	struct sn_evidence *ev = NULL;
	uint8_t *prov = NULL, *outb = NULL, *aux = NULL;
	size_t pl, ol, al = 0;
	char what[PATH_MAX + 32];
	int err;

	err = read_required(dir, "provider", &prov, &pl);
	if (err)
		goto out;
	prov[strcspn((char *)prov, "\n")] = '\0';
	if (strcmp((char *)prov, want)) {
		sn_err("configfs-tsm: provider is \"%s\", the %s backend needs "
		       "\"%s\"",
		       (char *)prov, sn_tee_name(tee), want);
		err = -ENODEV;
		goto out;
	}
	err = read_required(dir, "outblob", &outb, &ol);
	if (err)
		goto out;
	if (tee != SN_TEE_TDX && read_attr(dir, "auxblob", &aux, &al))
		al = 0; /* no certificates from the host: caller supplies them
			 */
	err = sn_evidence_new(&ev);
	if (err)
		goto out;
	snprintf(ev->provider, sizeof(ev->provider), "%s", want);
	ev->format = tee == SN_TEE_TDX ? SN_FMT_TDX_QUOTE : SN_FMT_SNP_RAW;
	snprintf(what, sizeof(what), "configfs-tsm: %s/outblob", dir);
	err = sn_tsm_blobs_parse(ev, tee == SN_TEE_TDX, &outb, ol, aux, al,
				 what);
	if (err)
		goto out;
	*out = ev;
	ev = NULL;
out:
	sn_evidence_free(ev);
	free(prov);
	free(outb);
	free(aux);
	return err;
}

int sn_evidence_produce_tsm(enum sn_tee tee, const char *root,
			    const uint8_t report_data[SN_REPORT_DATA_LEN],
			    struct sn_evidence **out)
{
	struct sn_evidence *ev = NULL;
	char dir[4096];
	uint8_t *g1 = NULL, *g2 = NULL;
	size_t l1, l2;
	int err, n;

	if (tee != SN_TEE_SNP && tee != SN_TEE_TDX)
		return -EINVAL;
	if (!root)
		root = TSM_DEFAULT_ROOT;
	if (access(root, W_OK)) {
		err = errno == EACCES ? -EACCES : -ENODEV;
		sn_err("configfs-tsm: %s is %s: the %s backend needs a "
		       "confidential guest with configfs-tsm (mount -t "
		       "configfs none /sys/kernel/config; modprobe %s) and "
		       "root",
		       root, err == -EACCES ? "not writable" : "missing",
		       sn_tee_name(tee), sn_tsm_provider(tee));
		return err;
	}
	n = snprintf(dir, sizeof(dir), "%s/sealnet-%ld-%u", root,
		     (long)getpid(), (unsigned)rand());
	if (n < 0 || (size_t)n >= sizeof(dir))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0700)) {
		err = -errno;
		sn_err("configfs-tsm: cannot create %s: %s", dir,
		       strerror(errno));
		return err;
	}
	err = write_attr(dir, "inblob", report_data, SN_REPORT_DATA_LEN);
	if (err) {
		sn_err("configfs-tsm: cannot write %s/inblob: %s", dir,
		       strerror(-err));
		goto out;
	}
	err = read_attr(dir, "generation", &g1, &l1);
	if (!err)
		err = sn_tsm_read_entry(dir, tee, &ev);
	if (!err && !read_attr(dir, "generation", &g2, &l2) &&
	    (l1 != l2 || memcmp(g1, g2, l1))) {
		sn_err("configfs-tsm: %s changed while it was read (another "
		       "writer); retry",
		       dir);
		sn_evidence_free(ev);
		err = -EAGAIN;
	} else if (!err) {
		*out = ev;
	}
out:
	free(g1);
	free(g2);
	rmdir(dir);
	return err;
}
