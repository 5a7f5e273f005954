// SPDX-License-Identifier: Apache-2.0
/* JSON documents (configfs-tsm JSON, appraisal policies): load an object. */
#include "formats.h"
#include "sealnet/log.h"

json_t *sn_json_load_object(const char *buf, size_t len, const char *what)
{
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!root || !json_is_object(root)) {
		sn_err("%s: line %d: %s", what, jerr.line,
		       root ? "not a JSON object" : jerr.text);
		json_decref(root);
		return NULL;
	}
	return root;
}
