// SPDX-License-Identifier: Apache-2.0
/*
 * Evidence as received: which format it is (configfs-tsm JSON, raw or hex
 * SNP report, TDX quote v4), then that format's parser.
 */
#include <errno.h>
#include <stdlib.h>

#include "formats.h"
#include "sealnet/log.h"
#include "sealnet/util.h"

static bool all_hex(const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int c = b[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F') || c == ' ' || c == '\n' ||
		      c == '\r' || c == '\t'))
			return false;
	}
	return true;
}

static int take_report(struct sn_evidence *ev, const uint8_t *b, size_t len)
{
	ev->report = malloc(len);
	if (!ev->report)
		return -ENOMEM;
	memcpy(ev->report, b, len);
	ev->report_len = len;
	return 0;
}

int sn_evidence_parse(const uint8_t *buf, size_t len, struct sn_evidence **out)
{
	struct sn_evidence *ev = NULL;
	uint8_t *tmp = NULL;
	size_t i = 0;
	int err;

	if (len > SN_EVIDENCE_MAX_INPUT) {
		sn_err("evidence: %zu bytes, more than the %u accepted", len,
		       SN_EVIDENCE_MAX_INPUT);
		return -E2BIG;
	}
	err = sn_evidence_new(&ev);
	if (err)
		return err;
	while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\t' ||
			   buf[i] == '\r'))
		i++;
	if (i < len && buf[i] == '{') {
		ev->format = SN_FMT_TSM_JSON;
		err = sn_tsm_json_parse((const char *)buf, len, ev);
	} else if (len == SN_SNP_REPORT_SIZE && !all_hex(buf, len)) {
		ev->format = SN_FMT_SNP_RAW;
		err = sn_snp_report_parse(buf, len, &ev->claims);
		if (!err)
			err = take_report(ev, buf, len);
	} else if (len >= 8 && sn_le16(buf) == 4 && sn_le32(buf + 4) == 0x81) {
		ev->format = SN_FMT_TDX_QUOTE;
		err = sn_tdx_quote_parse(buf, len, &ev->claims);
		if (!err)
			err = take_report(ev, buf, len);
	} else if (len && all_hex(buf, len)) {
		int n;

		ev->format = SN_FMT_SNP_HEX;
		tmp = malloc(SN_SNP_REPORT_SIZE);
		if (!tmp) {
			err = -ENOMEM;
			goto out;
		}
		n = sn_hex_decode((const char *)buf, len, tmp,
				  SN_SNP_REPORT_SIZE);
		if (n == -ENOSPC)
			err = -E2BIG;
		else if (n < 0)
			err = -EINVAL;
		else
			err = sn_snp_report_parse(tmp, (size_t)n, &ev->claims);
		if (!err)
			err = take_report(ev, tmp, SN_SNP_REPORT_SIZE);
	} else {
		sn_err("evidence: not a raw or hex SNP report, configfs-tsm "
		       "JSON or TDX quote v4 (%zu bytes)",
		       len);
		err = -EINVAL;
	}
out:
	free(tmp);
	if (err) {
		sn_evidence_free(ev);
		return err;
	}
	*out = ev;
	return 0;
}

int sn_evidence_load(const char *path, struct sn_evidence **out)
{
	uint8_t *buf;
	size_t len;
	int err;

	err = sn_read_file(path, SN_EVIDENCE_MAX_INPUT, &buf, &len);
	if (err) {
		sn_err("cannot read evidence %s: %s", path, strerror(-err));
		return err;
	}
	err = sn_evidence_parse(buf, len, out);
	if (err)
		sn_err("%s: evidence could not be parsed: %s", path,
		       strerror(-err));
	free(buf);
	return err;
}
