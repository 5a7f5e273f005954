// SPDX-License-Identifier: Apache-2.0
/*
 * lib/kbs/revset.c: a follower's view of GET /events with lift events
 * (docs/kbs-api.md "Following GET /events").  Attacks: an old lift
 * replayed after a new revocation, an event with a lower sequence, a lift
 * naming another node's revocation, a lift naming a later revocation or
 * itself, an unknown op; revoke / lift / revoke ends revoked; a lift of
 * one revocation leaves another of the same node in force; after the
 * KBS's sequence restarted, the held revocations stay in force until the
 * full set is read again, then the ones the KBS no longer has (a lift
 * missed across the restart) are dropped.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "sealnet/kbs_revset.h"

static const char *M =
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAA";

static int setup(void **state)
{
	struct sn_kbs_revset *s = NULL;

	assert_int_equal(sn_kbs_revset_new(&s), 0);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	sn_kbs_revset_free(*state);
	return 0;
}

/* parse one event from JSON text: 0 / -EINVAL */
static int parse(const char *txt, struct sn_kbs_rev_event *e)
{
	json_t *j = json_loads(txt, 0, NULL);
	int err;

	assert_non_null(j);
	err = sn_kbs_rev_event_parse(j, e);
	json_decref(j);
	return err;
}

/* apply one event given as JSON: the verdict */
static int ev(struct sn_kbs_revset *s, const char *txt)
{
	struct sn_kbs_rev_event e;

	assert_int_equal(parse(txt, &e), 0);
	return sn_kbs_revset_apply(s, &e);
}

static bool revoked(struct sn_kbs_revset *s, const char *value)
{
	return sn_kbs_revset_revoked(s, "node", value, NULL);
}

static void test_parse(void **state)
{
	struct sn_kbs_rev_event e;
	char txt[300];

	(void)state;
	assert_int_equal(parse("{\"seq\":3,\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"r\"}",
			       &e),
			 0);
	assert_false(e.lift); /* no op: a revocation (older KBS) */
	assert_int_equal(parse("{\"seq\":9,\"op\":\"lift\",\"lifts\":3,"
			       "\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"r\",\"domain\":\"lab\"}",
			       &e),
			 0);
	assert_true(e.lift);
	assert_int_equal(e.lifts, 3);
	assert_string_equal(e.domain, "lab");
	snprintf(txt, sizeof(txt),
		 "{\"seq\":4,\"kind\":\"measurement\",\"value\":\"%s\","
		 "\"reason\":\"\"}",
		 M);
	assert_int_equal(parse(txt, &e), 0);
	assert_int_equal(strspn(e.value, "a"), 96); /* lower case */
	/* malformed: each refused */
	assert_int_equal(parse("{\"seq\":9,\"op\":\"lift\",\"kind\":\"node\","
			       "\"value\":\"h1\",\"reason\":\"\"}",
			       &e),
			 -EINVAL); /* no lifts */
	assert_int_equal(parse("{\"seq\":9,\"op\":\"lift\",\"lifts\":9,"
			       "\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"\"}",
			       &e),
			 -EINVAL); /* itself */
	assert_int_equal(parse("{\"seq\":9,\"op\":\"lift\",\"lifts\":12,"
			       "\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"\"}",
			       &e),
			 -EINVAL); /* a later one */
	assert_int_equal(parse("{\"seq\":9,\"op\":\"unrevoke\",\"kind\":"
			       "\"node\",\"value\":\"h1\",\"reason\":\"\"}",
			       &e),
			 -EINVAL);
	assert_int_equal(parse("{\"seq\":9,\"op\":\"revoke\",\"lifts\":2,"
			       "\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"\"}",
			       &e),
			 -EINVAL);
	assert_int_equal(parse("{\"seq\":0,\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"\"}",
			       &e),
			 -EINVAL);
	assert_int_equal(parse("{\"seq\":5,\"kind\":\"measurement\","
			       "\"value\":\"abc\",\"reason\":\"\"}",
			       &e),
			 -EINVAL);
	assert_int_equal(parse("{\"seq\":5,\"kind\":\"group\",\"value\":\"x\","
			       "\"reason\":\"\"}",
			       &e),
			 -EINVAL);
}

/* revoke / lift / revoke of one node ends revoked; an old lift replayed
 * after the new revocation changes nothing */
static void test_revoke_lift_revoke(void **state)
{
	struct sn_kbs_revset *s = *state;
	const char *why;

	assert_int_equal(ev(s, "{\"seq\":3,\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"first\"}"),
			 SN_KBS_REV_REVOKED);
	assert_true(revoked(s, "h1"));
	assert_int_equal(ev(s, "{\"seq\":5,\"op\":\"lift\",\"lifts\":3,"
			       "\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"readmitted\"}"),
			 SN_KBS_REV_LIFTED);
	assert_false(revoked(s, "h1"));
	assert_int_equal(ev(s, "{\"seq\":7,\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"again\"}"),
			 SN_KBS_REV_REVOKED);
	assert_true(sn_kbs_revset_revoked(s, "node", "h1", &why));
	assert_string_equal(why, "again");
	/* the old lift, replayed: its seq is below the position */
	assert_int_equal(ev(s, "{\"seq\":5,\"op\":\"lift\",\"lifts\":3,"
			       "\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"replayed\"}"),
			 SN_KBS_REV_OLD);
	assert_true(revoked(s, "h1"));
	/* the same lift with a forged higher seq: it names revocation 3,
	 * not the one in force (7) */
	assert_int_equal(ev(s, "{\"seq\":8,\"op\":\"lift\",\"lifts\":3,"
			       "\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"forged\"}"),
			 SN_KBS_REV_LIFT_UNKNOWN);
	assert_true(revoked(s, "h1"));
	assert_int_equal(sn_kbs_revset_after(s), 8);
	/* a lower sequence, even a revocation, is ignored (it was applied
	 * when it came) */
	assert_int_equal(ev(s, "{\"seq\":6,\"kind\":\"node\",\"value\":\"h9\","
			       "\"reason\":\"\"}"),
			 SN_KBS_REV_OLD);
	assert_false(revoked(s, "h9"));
}

/* a lift naming another node's revocation lifts nothing; a lift of one
 * of two revocations of the same node leaves it revoked */
static void test_lift_exact(void **state)
{
	struct sn_kbs_revset *s = *state;
	char txt[300];

	assert_int_equal(ev(s, "{\"seq\":1,\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"own\",\"domain\":\"hospital\"}"),
			 SN_KBS_REV_REVOKED);
	assert_int_equal(ev(s, "{\"seq\":2,\"kind\":\"node\",\"value\":\"h2\","
			       "\"reason\":\"\"}"),
			 SN_KBS_REV_REVOKED);
	assert_int_equal(ev(s, "{\"seq\":3,\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"withdrawn\",\"domain\":"
			       "\"hospital\"}"),
			 SN_KBS_REV_REVOKED);
	/* lift "h1" pointing at h2's revocation */
	assert_int_equal(ev(s, "{\"seq\":4,\"op\":\"lift\",\"lifts\":2,"
			       "\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"\"}"),
			 SN_KBS_REV_MISMATCH);
	assert_true(revoked(s, "h1"));
	assert_true(revoked(s, "h2"));
	/* a lift of h1's withdrawal revocation (3, domain hospital) that
	 * says another domain, or none (the KBS's own): lifts nothing */
	assert_int_equal(ev(s, "{\"seq\":5,\"op\":\"lift\",\"lifts\":3,"
			       "\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"\",\"domain\":\"lab\"}"),
			 SN_KBS_REV_MISMATCH);
	assert_int_equal(ev(s, "{\"seq\":6,\"op\":\"lift\",\"lifts\":3,"
			       "\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"\"}"),
			 SN_KBS_REV_MISMATCH);
	assert_true(revoked(s, "h1"));
	/* the withdrawal's revocation lifted, the domain's own stays */
	assert_int_equal(ev(s, "{\"seq\":7,\"op\":\"lift\",\"lifts\":3,"
			       "\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"\",\"domain\":\"hospital\"}"),
			 SN_KBS_REV_LIFTED_KEPT);
	assert_true(revoked(s, "h1"));
	/* lifting the same revocation twice: the second knows nothing */
	assert_int_equal(ev(s, "{\"seq\":8,\"op\":\"lift\",\"lifts\":3,"
			       "\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"\"}"),
			 SN_KBS_REV_LIFT_UNKNOWN);
	assert_true(revoked(s, "h1"));
	/* measurements: kind and value both match */
	snprintf(txt, sizeof(txt),
		 "{\"seq\":9,\"kind\":\"measurement\",\"value\":\"%s\","
		 "\"reason\":\"\"}",
		 M);
	assert_int_equal(ev(s, txt), SN_KBS_REV_REVOKED);
	assert_int_equal(ev(s, "{\"seq\":10,\"op\":\"lift\",\"lifts\":9,"
			       "\"kind\":\"node\",\"value\":\"h2\","
			       "\"reason\":\"\"}"),
			 SN_KBS_REV_MISMATCH);
	snprintf(txt, sizeof(txt),
		 "{\"seq\":11,\"op\":\"lift\",\"lifts\":9,\"kind\":"
		 "\"measurement\",\"value\":\"%s\",\"reason\":\"\"}",
		 M);
	assert_int_equal(ev(s, txt), SN_KBS_REV_LIFTED);
	assert_int_equal(sn_kbs_revset_count(s), 2); /* h1 own, h2 */
}

/* the KBS's sequence restarted: nothing is dropped before the full set
 * was read again; then what the KBS no longer lists is */
static void test_resync(void **state)
{
	struct sn_kbs_revset *s = *state;

	/* first answer: the initial read from 0 completes at the head */
	assert_int_equal(sn_kbs_revset_answer_begin(s, "e1", true, 4), 0);
	assert_int_equal(ev(s, "{\"seq\":1,\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"\"}"),
			 SN_KBS_REV_REVOKED);
	assert_int_equal(ev(s, "{\"seq\":4,\"kind\":\"node\",\"value\":\"h2\","
			       "\"reason\":\"\"}"),
			 SN_KBS_REV_REVOKED);
	assert_int_equal(sn_kbs_revset_answer_end(s, 4, 2, true, 4), 0);
	assert_false(sn_kbs_revset_resyncing(s));
	/* a head below the position: an older copy of the database */
	assert_int_equal(sn_kbs_revset_answer_begin(s, "e1", true, 2), 1);
	assert_int_equal(sn_kbs_revset_after(s), 0);
	assert_true(sn_kbs_revset_resyncing(s));
	/* still in force while re-reading */
	assert_true(revoked(s, "h1"));
	assert_true(revoked(s, "h2"));
	/* a lift of the new sequence cannot name an old-sequence entry */
	assert_int_equal(sn_kbs_revset_answer_begin(s, "e1", true, 2), 0);
	assert_int_equal(ev(s, "{\"seq\":2,\"op\":\"lift\",\"lifts\":1,"
			       "\"kind\":\"node\",\"value\":\"h1\","
			       "\"reason\":\"\"}"),
			 SN_KBS_REV_LIFT_UNKNOWN);
	assert_true(revoked(s, "h1"));
	/* an answer below the head does not complete the re-read */
	assert_int_equal(sn_kbs_revset_answer_end(s, 2, 1, true, 3), 0);
	assert_true(revoked(s, "h2"));
	/* the rest: h2 revoked again at 3; complete: h1 (lifted while we
	 * were not looking) dropped, h2 kept */
	assert_int_equal(sn_kbs_revset_answer_begin(s, "e1", true, 3), 0);
	assert_int_equal(ev(s, "{\"seq\":3,\"kind\":\"node\",\"value\":\"h2\","
			       "\"reason\":\"\"}"),
			 SN_KBS_REV_REVOKED);
	assert_int_equal(sn_kbs_revset_answer_end(s, 3, 1, true, 3), 2);
	assert_false(revoked(s, "h1"));
	assert_true(revoked(s, "h2"));
	assert_int_equal(sn_kbs_revset_count(s), 1);
	/* another database (epoch): the same; an empty answer completes */
	assert_int_equal(sn_kbs_revset_answer_begin(s, "e2", true, 0), 1);
	assert_true(revoked(s, "h2"));
	assert_int_equal(sn_kbs_revset_answer_begin(s, "e2", true, 0), 0);
	assert_int_equal(sn_kbs_revset_answer_end(s, 0, 0, true, 0), 1);
	assert_false(revoked(s, "h2"));
	/* a KBS that gives no epoch: followed as before */
	assert_int_equal(sn_kbs_revset_answer_begin(s, NULL, false, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_revoke_lift_revoke, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lift_exact, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_resync, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
