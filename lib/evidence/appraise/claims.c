// SPDX-License-Identifier: Apache-2.0
/* Claims as JSON (for `sealnet evidence show --json` and logs). */
#include <errno.h>
#include <stdlib.h>

#include <jansson.h>

#include "appraise.h"
#include "sealnet/util.h"

static int put_hex(json_t *o, const char *k, const uint8_t *b, size_t n)
{
	char s[2 * 64 + 1];

	sn_hex_encode(b, n, s);
	return json_object_set_new(o, k, json_string(s));
}

static json_t *tcb_json(const struct sn_tcb *t)
{
	json_t *o = json_pack("{s:i,s:i,s:i,s:i}", "bootloader", t->bootloader,
			      "tee", t->tee, "snp", t->snp, "microcode",
			      t->microcode);

	if (o && t->has_fmc)
		json_object_set_new(o, "fmc", json_integer(t->fmc));
	return o;
}

static const char *product_name(enum sn_amd_product p)
{
	static const char *const n[] = {"unknown", "Milan", "Genoa", "Turin"};

	return (unsigned)p < SN_ARRAY_SIZE(n) ? n[p] : "unknown";
}

int sn_claims_to_json(const struct sn_claims *c, char **out)
{
	json_t *o = json_object();
	int bad = 0;
	char *s;

	if (!o)
		return -ENOMEM;
	bad |= json_object_set_new(o, "tee", json_string(sn_tee_name(c->tee)));
	bad |= json_object_set_new(o, "version", json_integer(c->version));
	bad |= put_hex(o, "measurement", c->measurement, SN_MEASUREMENT_LEN);
	bad |= put_hex(o, "report_data", c->report_data, SN_REPORT_DATA_LEN);
	bad |= json_object_set_new(o, "debug", json_boolean(c->debug));
	if (c->tee == SN_TEE_TDX) {
		bad |= json_object_set_new(
			o, "td_attributes",
			json_integer((json_int_t)c->td_attributes));
		bad |= json_object_set_new(o, "xfam",
					   json_integer((json_int_t)c->xfam));
		bad |= put_hex(o, "tee_tcb_svn", c->tee_tcb_svn, 16);
		bad |= put_hex(o, "mrseam", c->mrseam, 48);
		bad |= put_hex(o, "mrsignerseam", c->mrsignerseam, 48);
		bad |= put_hex(o, "mrconfigid", c->mrconfigid, 48);
		bad |= put_hex(o, "mrowner", c->mrowner, 48);
		bad |= put_hex(o, "mrownerconfig", c->mrownerconfig, 48);
		for (int i = 0; i < 4; i++) {
			char k[8] = "rtmr0";

			k[4] = (char)('0' + i);
			bad |= put_hex(o, k, c->rtmr[i], 48);
		}
	} else {
		bad |= json_object_set_new(
			o, "product", json_string(product_name(c->product)));
		bad |= json_object_set_new(o, "policy",
					   json_integer((json_int_t)c->policy));
		bad |= json_object_set_new(o, "migration_agent",
					   json_boolean(c->migration_agent));
		bad |= json_object_set_new(o, "smt_allowed",
					   json_boolean(c->smt_allowed));
		bad |= json_object_set_new(o, "vmpl", json_integer(c->vmpl));
		bad |= json_object_set_new(o, "guest_svn",
					   json_integer(c->guest_svn));
		bad |= json_object_set_new(
			o, "signing_key",
			json_string(c->signing_key == 0 ? "vcek" :
				    c->signing_key == 1 ? "vlek" :
							  "none"));
		bad |= json_object_set_new(o, "reported_tcb",
					   tcb_json(&c->reported_tcb));
		bad |= json_object_set_new(o, "current_tcb",
					   tcb_json(&c->current_tcb));
		bad |= json_object_set_new(o, "committed_tcb",
					   tcb_json(&c->committed_tcb));
		bad |= json_object_set_new(o, "launch_tcb",
					   tcb_json(&c->launch_tcb));
		bad |= put_hex(o, "chip_id", c->chip_id, SN_CHIP_ID_LEN);
		bad |= put_hex(o, "host_data", c->host_data, 32);
		bad |= json_object_set_new(
			o, "platform_info",
			json_integer((json_int_t)c->platform_info));
	}
	s = bad ? NULL : json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return -ENOMEM;
	*out = s;
	return 0;
}
