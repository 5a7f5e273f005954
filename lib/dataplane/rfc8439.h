/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The test vectors of RFC 8439 (ChaCha20 and Poly1305 for IETF
 * Protocols), hex strings transcribed once: the kernel AEAD's known-answer
 * self-test (selftest.c) and the kernel AEAD's tests
 * (tests/bpf/test_aead.c) check against these.  The 2.3.2 and 2.4.2 key
 * is the bytes 00 01 .. 1f.
 */
#ifndef SEALNET_DATAPLANE_RFC8439_H
#define SEALNET_DATAPLANE_RFC8439_H

/* RFC 8439 2.4.2 and 2.8.2: the plaintext */
static const char rfc_sunscreen[] =
	"Ladies and Gentlemen of the class of '99: If I could offer you only "
	"one tip for the future, sunscreen would be it.";

/* RFC 8439 2.8.2 */
static const char k282_key[] =
	"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
static const char k282_nonce[] = "070000004041424344454647";
static const char k282_aad[] = "50515253c0c1c2c3c4c5c6c7";
static const char k282_ct[] =
	"d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
	"3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
	"92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
	"3ff4def08e4b7a9de576d26586cec64b6116";
static const char k282_tag[] = "1ae10b594f09e26a7e902ecbd0600691";

/* RFC 8439 A.5 (decryption) */
static const char ka5_key[] =
	"1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0";
static const char ka5_nonce[] = "000000000102030405060708";
static const char ka5_aad[] = "f33388860000000000004e91";
static const char ka5_tag[] = "eead9d67890cbb22392336fea1851f38";
static const char ka5_ct[] =
	"64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
	"4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
	"332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
	"9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
	"b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
	"af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
	"0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
	"49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
	"a6ad5cb4022b02709b";
static const char ka5_pt[] =
	"Internet-Drafts are draft documents valid for a maximum of six "
	"months and may be updated, replaced, or obsoleted by other documents "
	"at any time. It is inappropriate to use Internet-Drafts as reference "
	"material or to cite them other than as /\xe2\x80\x9cwork in "
	"progress./\xe2\x80\x9d";

/* RFC 8439 2.3.2 (block, counter 1) and 2.4.2 (encryption, counter 1) */
static const char k232_nonce[] = "000000090000004a00000000";
static const char k232_block[] =
	"10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
	"d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e";
static const char k242_nonce[] = "000000000000004a00000000";
static const char k242_ct[] =
	"6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
	"f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
	"07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
	"5af90bbf74a35be6b40b8eedf2785e42874d";

/* RFC 8439 2.5.2 */
static const char k252_key[] =
	"85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b";
static const char k252_msg[] = "Cryptographic Forum Research Group";
static const char k252_tag[] = "a8061dc1305136c6c22b8baf0c0127a9";

#endif
