// SPDX-License-Identifier: Apache-2.0
/* tests/unit/kbs_fixture.c: see kbs_fixture.h */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "kbs_fixture.h"

int kbs_fx_setup(void **state, const char *tag)
{
	struct fx *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	snprintf(f->path, sizeof(f->path), "/tmp/sn-%s-XXXXXX", tag);
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	unlink(f->path);
	assert_int_equal(sn_kbs_store_open(f->path, &f->st), 0);
	*state = f;
	return 0;
}

int kbs_fx_teardown(void **state)
{
	struct fx *f = *state;
	char p[80];

	sn_kbs_store_close(f->st);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	free(f);
	return 0;
}
