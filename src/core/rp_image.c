/*
 * rp_image.c
 *	  Layout, sealing and envelope checks of model images (see rp_image.h).
 *
 * Pure C: no allocation, no I/O.  The glue (src/pg/model_image.c) writes
 * the sections into a file, maps it and calls rp_image_check() before it
 * trusts a single offset.  Every count read from a buffer is checked
 * against the buffer's size before it is used as a bound, and sizes are
 * added with overflow checks, so that random bytes are rejected (the unit
 * test feeds truncated, flipped and random buffers under ASan).
 */
#include "rp_image.h"

#include <string.h>

#define P1 0x9E3779B97F4A7C15ULL
#define P2 0xC2B2AE3D27D4EB4FULL

static inline uint64_t
rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t
mix(uint64_t h, uint64_t w)
{
	/* xxhash64's round: good avalanche, one multiply per word and lane */
	h += w * P2;
	h = rotl(h, 31);
	return h * P1;
}

uint64_t
rp_image_hash(const void *buf, size_t n, uint64_t seed)
{
	const unsigned char *p = buf;
	uint64_t	a = seed + P1 + P2,
				b = seed + P2,
				c = seed,
				d = seed - P1;
	size_t		i = 0;
	uint64_t	h;

	/* four lanes: the multiplies of one word do not wait for the previous */
	for (; i + 32 <= n; i += 32)
	{
		uint64_t	w[4];

		memcpy(w, p + i, 32);
		a = mix(a, w[0]);
		b = mix(b, w[1]);
		c = mix(c, w[2]);
		d = mix(d, w[3]);
	}
	h = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18) + (uint64_t) n;
	for (; i + 8 <= n; i += 8)
	{
		uint64_t	w;

		memcpy(&w, p + i, 8);
		h = mix(h, w);
	}
	for (; i < n; i++)
		h = mix(h, p[i]);
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	return h;
}

uint64_t
rp_image_data_start(uint32_t n)
{
	uint64_t	s = RP_IMAGE_HEADER_SIZE + (uint64_t) n * sizeof(rp_image_section);

	return (s + RP_IMAGE_ALIGN - 1) / RP_IMAGE_ALIGN * RP_IMAGE_ALIGN;
}

uint64_t
rp_image_plan(rp_image_section *secs, uint32_t n)
{
	uint64_t	off;

	if (n > RP_IMAGE_MAX_SECTIONS)
		return 0;
	off = rp_image_data_start(n);
	for (uint32_t s = 0; s < n; s++)
	{
		size_t		l = strnlen(secs[s].name, RP_IMAGE_NAME_LEN);

		if (l == 0 || l >= RP_IMAGE_NAME_LEN)
			return 0;
		if (secs[s].length > UINT64_MAX / 2 - off)
			return 0;
		secs[s].offset = off;
		off += secs[s].length;
		off = (off + RP_IMAGE_ALIGN - 1) / RP_IMAGE_ALIGN * RP_IMAGE_ALIGN;
	}
	return off;
}

/* hash of the header with header_hash zero (data_hash included), then the table */
static uint64_t
header_hash(const rp_image_header *h, const rp_image_section *secs, uint32_t n)
{
	rp_image_header tmp = *h;

	tmp.header_hash = 0;
	return rp_image_hash(secs, (size_t) n * sizeof(rp_image_section),
						 rp_image_hash(&tmp, sizeof(tmp), 0));
}

uint64_t
rp_image_data_hash(const void *buf, uint64_t total, uint32_t n)
{
	uint64_t	start = rp_image_data_start(n);

	return rp_image_hash((const char *) buf + start, (size_t) (total - start), 1);
}

void
rp_image_fill_header(rp_image_header *out, const rp_image_header *hdr, uint64_t total,
					 const rp_image_section *secs, uint32_t n, uint64_t data_hash)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->magic, RP_IMAGE_MAGIC, 8);
	out->format = RP_IMAGE_FORMAT;
	out->header_size = RP_IMAGE_HEADER_SIZE;
	out->total_size = total;
	out->db_oid = hdr->db_oid;
	out->install_oid = hdr->install_oid;
	out->model_id = hdr->model_id;
	memcpy(out->version, hdr->version, 16);
	out->n_sections = n;
	out->flags = hdr->flags;
	out->checked_by = hdr->checked_by;
	out->data_hash = data_hash;
	out->header_hash = header_hash(out, secs, n);
}

void
rp_image_seal(void *buf, uint64_t total, const rp_image_header *hdr,
			  const rp_image_section *secs, uint32_t n)
{
	rp_image_header h;
	uint64_t	start = rp_image_data_start(n);

	memset(buf, 0, start);
	memcpy((char *) buf + RP_IMAGE_HEADER_SIZE, secs, (size_t) n * sizeof(rp_image_section));
	rp_image_fill_header(&h, hdr, total, secs, n, rp_image_data_hash(buf, total, n));
	memcpy(buf, &h, sizeof(h));
}

bool
rp_image_check(const void *buf, uint64_t size, bool full, const char **reason)
{
	rp_image_header h;
	const rp_image_section *secs;
	uint64_t	start;

	if (size < RP_IMAGE_HEADER_SIZE)
	{
		*reason = "is shorter than its header";
		return false;
	}
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, RP_IMAGE_MAGIC, 8) != 0)
	{
		*reason = "is not a model image";
		return false;
	}
	if (h.format != RP_IMAGE_FORMAT || h.header_size != RP_IMAGE_HEADER_SIZE)
	{
		*reason = "has another format version";
		return false;
	}
	if (h.total_size != size)
	{
		*reason = "does not have the size its header gives";
		return false;
	}
	if (h.n_sections > RP_IMAGE_MAX_SECTIONS)
	{
		*reason = "has too many sections";
		return false;
	}
	start = rp_image_data_start(h.n_sections);
	if (start > size)
	{
		*reason = "is shorter than its section table";
		return false;
	}
	secs = (const rp_image_section *) ((const char *) buf + RP_IMAGE_HEADER_SIZE);
	if (header_hash(&h, secs, h.n_sections) != h.header_hash)
	{
		*reason = "fails its header checksum";
		return false;
	}
	for (uint32_t s = 0; s < h.n_sections; s++)
	{
		const rp_image_section *x = &secs[s];

		if (strnlen(x->name, RP_IMAGE_NAME_LEN) == RP_IMAGE_NAME_LEN || x->name[0] == '\0')
		{
			*reason = "has a section with an invalid name";
			return false;
		}
		if (x->offset % RP_IMAGE_ALIGN != 0 || x->offset < start || x->offset > size ||
			x->length > size - x->offset)
		{
			*reason = "has a section outside the image";
			return false;
		}
	}
	if (full && rp_image_data_hash(buf, size, h.n_sections) != h.data_hash)
	{
		*reason = "fails its data checksum";
		return false;
	}
	return true;
}

const void *
rp_image_find(const void *buf, const char *name, uint64_t *length)
{
	const rp_image_header *h = buf;
	const rp_image_section *secs =
		(const rp_image_section *) ((const char *) buf + RP_IMAGE_HEADER_SIZE);

	for (uint32_t s = 0; s < h->n_sections; s++)
		if (strncmp(secs[s].name, name, RP_IMAGE_NAME_LEN) == 0)
		{
			*length = secs[s].length;
			return (const char *) buf + secs[s].offset;
		}
	return NULL;
}
