/*
 * test_image.c
 *	  Unit tests of rp_image.c (model image envelope) under ASan/UBSan:
 *	  a sealed image checks and its sections are found; every truncation,
 *	  every single-byte flip of the header and table, random flips of the
 *	  data (with the full check) and random buffers are rejected without
 *	  reading out of bounds (buffers are malloc'd at their exact size).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rp_image.h"
#include "unit.h"

static uint64_t rs = 99;

static uint64_t
rnd(void)
{
	uint64_t	z = (rs += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* builds a 3-section image; returns the malloc'd buffer and its size */
static void *
make_image(uint64_t *size)
{
	rp_image_section secs[3];
	rp_image_header hdr;
	uint64_t	total;
	char	   *buf;

	memset(secs, 0, sizeof(secs));
	strcpy(secs[0].name, "alpha");
	secs[0].length = 10;
	strcpy(secs[1].name, "beta");
	secs[1].length = 0;
	strcpy(secs[2].name, "gamma");
	secs[2].length = 1000;
	total = rp_image_plan(secs, 3);
	buf = calloc(1, total);
	memcpy(buf + secs[0].offset, "0123456789", 10);
	for (int i = 0; i < 1000; i++)
		buf[secs[2].offset + i] = (char) (i * 7);
	memset(&hdr, 0, sizeof(hdr));
	hdr.db_oid = 5;
	hdr.install_oid = 16384;
	hdr.model_id = 42;
	hdr.checked_by = UINT64_C(0x0002F1A5C0DE1234);
	memset(hdr.version, 0xAB, 16);
	rp_image_seal(buf, total, &hdr, secs, 3);
	*size = total;
	return buf;
}

static void
test_roundtrip(void)
{
	uint64_t	size;
	char	   *buf = make_image(&size);
	const char *reason = NULL;
	uint64_t	len;
	const char *p;
	const rp_image_header *h = (const rp_image_header *) buf;

	CHECK(rp_image_check(buf, size, true, &reason));
	CHECK(h->model_id == 42 && h->db_oid == 5 && h->n_sections == 3);
	/* the writer's lifetime stamp is kept, and covered by the header hash */
	CHECK(h->checked_by == UINT64_C(0x0002F1A5C0DE1234) && h->install_oid == 16384);
	((rp_image_header *) buf)->checked_by ^= 1;
	CHECK(!rp_image_check(buf, size, false, &reason));
	((rp_image_header *) buf)->checked_by ^= 1;
	CHECK(rp_image_check(buf, size, false, &reason));
	p = rp_image_find(buf, "alpha", &len);
	CHECK(p != NULL && len == 10 && memcmp(p, "0123456789", 10) == 0);
	CHECK(((uintptr_t) p) % 8 == 0 || ((p - buf) % RP_IMAGE_ALIGN) == 0);
	p = rp_image_find(buf, "beta", &len);
	CHECK(p != NULL && len == 0);
	CHECK(rp_image_find(buf, "delta", &len) == NULL);
	free(buf);
}

static void
test_plan_rejects(void)
{
	rp_image_section s[2];

	memset(s, 0, sizeof(s));
	CHECK(rp_image_plan(s, 1) == 0);	/* empty name */
	memset(s[0].name, 'x', RP_IMAGE_NAME_LEN);
	CHECK(rp_image_plan(s, 1) == 0);	/* unterminated */
	strcpy(s[0].name, "ok");
	s[0].length = UINT64_MAX - 10;
	CHECK(rp_image_plan(s, 1) == 0);	/* overflow */
	CHECK(rp_image_plan(s, RP_IMAGE_MAX_SECTIONS + 1) == 0);
}

static void
test_truncations(void)
{
	uint64_t	size;
	char	   *img = make_image(&size);
	int			bad = 0;

	for (uint64_t l = 0; l < size; l++)
	{
		char	   *b = malloc(l ? l : 1);
		const char *reason = NULL;

		memcpy(b, img, l);
		if (rp_image_check(b, l, false, &reason))
			bad++;
		free(b);
	}
	CHECK(bad == 0);
	free(img);
}

static void
test_header_flips(void)
{
	uint64_t	size;
	char	   *img = make_image(&size);
	uint64_t	start = rp_image_data_start(3);
	int			bad = 0;

	for (uint64_t i = 0; i < start; i++)
	{
		char	   *b = malloc(size);
		const char *reason = NULL;

		memcpy(b, img, size);
		b[i] ^= (char) (1 + rnd() % 255);
		/* padding after the table is neither hashed nor read: may pass */
		if (i < RP_IMAGE_HEADER_SIZE + 3 * sizeof(rp_image_section) &&
			rp_image_check(b, size, false, &reason))
			bad++;
		free(b);
	}
	CHECK(bad == 0);
	free(img);
}

static void
test_data_flips(void)
{
	uint64_t	size;
	char	   *img = make_image(&size);
	uint64_t	start = rp_image_data_start(3);
	int			bad = 0;
	int			light_ok = 0;

	for (int t = 0; t < 500; t++)
	{
		char	   *b = malloc(size);
		const char *reason = NULL;
		uint64_t	i = start + rnd() % (size - start);

		memcpy(b, img, size);
		b[i] ^= (char) (1 + rnd() % 255);
		if (rp_image_check(b, size, true, &reason))
			bad++;
		/* without the full check the data is not read */
		if (rp_image_check(b, size, false, &reason))
			light_ok++;
		free(b);
	}
	CHECK(bad == 0);
	CHECK(light_ok == 500);
	free(img);
}

static void
test_random_buffers(void)
{
	int			bad = 0;

	for (int t = 0; t < 2000; t++)
	{
		uint64_t	l = rnd() % 2048;
		uint64_t   *b = malloc(l ? (l + 7) / 8 * 8 : 8);
		const char *reason = NULL;

		for (uint64_t i = 0; i < (l + 7) / 8; i++)
			b[i] = rnd();
		if (t % 2 == 0 && l >= 8)
			memcpy(b, RP_IMAGE_MAGIC, 8);
		if (rp_image_check(b, l, t % 3 == 0, &reason))
			bad++;
		free(b);
	}
	CHECK(bad == 0);
}

static void
test_hash(void)
{
	unsigned char a[100];

	for (int i = 0; i < 100; i++)
		a[i] = (unsigned char) i;
	CHECK(rp_image_hash(a, 100, 0) == rp_image_hash(a, 100, 0));
	CHECK(rp_image_hash(a, 100, 0) != rp_image_hash(a, 100, 1));
	CHECK(rp_image_hash(a, 100, 0) != rp_image_hash(a, 99, 0));
	/* unaligned start */
	CHECK(rp_image_hash(a + 1, 64, 0) != rp_image_hash(a, 64, 0));
}

int
main(void)
{
	RUN(test_roundtrip);
	RUN(test_plan_rejects);
	RUN(test_truncations);
	RUN(test_header_flips);
	RUN(test_data_flips);
	RUN(test_random_buffers);
	RUN(test_hash);
	UNIT_DONE();
}
