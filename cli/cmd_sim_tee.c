// SPDX-License-Identifier: Apache-2.0
/* sealnet sim-tee init DIR: create a simulated SEV-SNP platform. */
#include <stdio.h>
#include <string.h>

#include "sealnet/evidence.h"
#include "sealnet/util.h"
#include "args.h"
#include "commands.h"

static const struct sn_cli_spec spec = {
	.cmd = "sealnet sim-tee",
	.args = "init DIR",
	.about =
		"Create a simulated SEV-SNP platform in DIR (created with mode 0700 if\n"
		"missing; refused if DIR already holds one):\n"
		"  ark.pem ark.key    simulated AMD Root Key, RSA-4096, self-signed\n"
		"  ask.pem ask.key    simulated AMD SEV Key, RSA-4096, signed by the ARK\n"
		"  vcek.pem vcek.key  simulated VCEK, ECDSA P-384, signed by the ASK,\n"
		"                     with the TCB (OIDs 1.3.6.1.4.1.3704.1.3.x) and\n"
		"                     hwID (…1.4) extensions as AMD encodes them\n"
		"  chip_id            the simulated chip id (64 bytes)\n"
		"Certificates are signed with RSASSA-PSS, SHA-384, salt 48, like AMD's.\n"
		"Private keys are written with mode 0600.\n"
		"\n"
		"'sealnet evidence make --backend sim --platform DIR' then produces\n"
		"signed reports.  Simulated evidence is accepted only by an appraisal\n"
		"policy naming this ARK; the command prints the value for the policy's\n"
		"\"sim_ark_spki_sha256\" list.\n",
	.after = "Exit status: 0 created, 1 creation failed, 2 bad usage.\n",
};

int cmd_sim_tee(int argc, char **argv)
{
	uint8_t h[SN_SHA256_LEN];
	char hex[2 * SN_SHA256_LEN + 1];

	struct sn_cli_args a;
	const char *dir;
	int c = sn_cli_parse_plain(&a, &spec, argc, argv, 2, 2);

	if (c)
		return sn_cli_exit(c);
	if (strcmp(argv[a.optind], "init"))
		return sn_cli_exit(sn_cli_usage_error(
			&a, "unknown subcommand '%s' (only 'init DIR')",
			argv[a.optind]));
	dir = argv[a.optind + 1];
	if (sn_sim_platform_init(dir)) {
		fprintf(stderr,
			"sealnet sim-tee: could not create a platform in %s "
			"(see the message above)\n",
			dir);
		return 1;
	}
	if (sn_sim_ark_spki(dir, h))
		return 1;
	sn_hex_encode(h, sizeof(h), hex);
	printf("simulated platform created in %s\n"
	       "ARK SPKI SHA-256 (for a policy's \"sim_ark_spki_sha256\"): "
	       "%s\n",
	       dir, hex);
	return 0;
}
