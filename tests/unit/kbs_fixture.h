/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cmocka fixture of the KBS store tests: a fresh store in a new file
 * under /tmp, removed with its -wal and -shm files at teardown.
 */
#ifndef SN_TEST_KBS_FIXTURE_H
#define SN_TEST_KBS_FIXTURE_H

#include "sealnet/kbs.h"

struct fx {
	char path[64];
	struct sn_kbs_store *st;
};

/* *state = a struct fx with an open store at /tmp/sn-TAG-XXXXXX (a name
 * no other file has; the file itself is left to sn_kbs_store_open) */
int kbs_fx_setup(void **state, const char *tag);
/* close the store, remove the database files, free the fixture */
int kbs_fx_teardown(void **state);

#endif
