/*
 * rp_image.h
 *	  The layout of a model image: a loaded model serialised without
 *	  pointers, so that every backend of a server can map one file and serve
 *	  from it (the shared model cache, src/pg/model_image.c).
 *
 * An image is one contiguous byte range:
 *
 *	+-------------------------+  offset 0
 *	| rp_image_header         |  magic, format, sizes, identity, hashes
 *	+-------------------------+  RP_IMAGE_HEADER_SIZE
 *	| rp_image_section[n]     |  the table of sections: name, offset, length
 *	+-------------------------+  (zero padding to RP_IMAGE_ALIGN)
 *	| section data            |  each section starts RP_IMAGE_ALIGN-aligned,
 *	| ...                     |  zero padding between sections
 *	+-------------------------+  total_size
 *
 * Sections are named byte arrays ("users", "seen_indices", "als_item",
 * "batch_items"...): what a section holds is the business of the code that
 * wrote it; this file only guarantees the envelope.  A reader looks
 * sections up by name, so a new kind of data is a new section, and readers
 * that do not know it ignore it (the format version changes only when the
 * envelope or the meaning of an existing section changes).
 *
 * Integrity: header_hash covers the header (with itself zero) and
 * the section table; data_hash covers everything after the table up to
 * total_size.  rp_image_check() validates the envelope of a buffer of
 * `size` bytes before anything in it is used: magic, format, the header
 * size, total_size == size, the table inside the buffer, the header hash,
 * every section aligned, inside the data area and NUL-terminated in name;
 * with `full`, the data hash too.  It never reads outside [buf, buf+size),
 * so a truncated or random file is rejected, never trusted (unit test:
 * test/unit/test_image.c).
 *
 * The hash is not cryptographic: it finds torn writes, truncation and
 * stray bytes, like a CRC.  It is 64-bit, word-wise over four independent
 * lanes (so it runs near memory speed), and deterministic across
 * platforms of the same endianness (an image never leaves its server).
 */
#ifndef RP_IMAGE_H
#define RP_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RP_IMAGE_MAGIC "RPMODIMG"	/* 8 bytes, no terminator stored */
#define RP_IMAGE_FORMAT 1
#define RP_IMAGE_ALIGN 64
#define RP_IMAGE_NAME_LEN 32
#define RP_IMAGE_MAX_SECTIONS 256

typedef struct rp_image_header
{
	char		magic[8];
	uint32_t	format;			/* RP_IMAGE_FORMAT */
	uint32_t	header_size;	/* sizeof(rp_image_header) */
	uint64_t	total_size;		/* bytes of the whole image */
	uint32_t	db_oid;			/* identity of the model version */
	uint32_t	install_oid;	/* oid of recpromo.model: the installation */
	int64_t		model_id;
	uint8_t		version[16];
	uint32_t	n_sections;
	uint32_t	flags;			/* 0; for the writer's use */
	uint64_t	header_hash;	/* header (this field zeroed) + section table */
	uint64_t	data_hash;		/* bytes [data start, total_size) */
	uint64_t	checked_by;		/* the writer's: the lifetime of the server
								 * that checked the data (model_image.c) */
	uint64_t	reserved[3];	/* 0 */
} rp_image_header;

#define RP_IMAGE_HEADER_SIZE sizeof(rp_image_header)

typedef struct rp_image_section
{
	char		name[RP_IMAGE_NAME_LEN];	/* NUL-terminated */
	uint64_t	offset;			/* from the image start, RP_IMAGE_ALIGN-aligned */
	uint64_t	length;			/* bytes */
} rp_image_section;

/* The 64-bit hash of n bytes (any alignment), seeded. */
extern uint64_t rp_image_hash(const void *buf, size_t n, uint64_t seed);

/*
 * Lays out n sections (names and lengths set by the caller): sets each
 * offset and returns the image's total size, or 0 when n is out of range,
 * a name is empty or too long, or the size would overflow.
 */
extern uint64_t rp_image_plan(rp_image_section *secs, uint32_t n);

/* Offset where section data starts for n sections. */
extern uint64_t rp_image_data_start(uint32_t n);

/*
 * Writes the header and the table at the start of buf (total bytes, data
 * already in place at the planned offsets, padding zero) and computes both
 * hashes.  `hdr` supplies the identity fields; the rest is set here.
 */
extern void rp_image_seal(void *buf, uint64_t total, const rp_image_header *hdr,
						  const rp_image_section *secs, uint32_t n);

/* Same, for a writer that streams the data: hashes over the data only. */
extern uint64_t rp_image_data_hash(const void *buf, uint64_t total, uint32_t n);
extern void rp_image_fill_header(rp_image_header *out, const rp_image_header *hdr,
								 uint64_t total, const rp_image_section *secs, uint32_t n,
								 uint64_t data_hash);

/*
 * Validates the envelope of the size bytes at buf (8-byte aligned), as the
 * file comment says; with `full` also the data hash.  true when valid;
 * otherwise false with *reason a static lowercase phrase.
 */
extern bool rp_image_check(const void *buf, uint64_t size, bool full, const char **reason);

/*
 * The section named `name` of a checked image: its data and length, or
 * NULL when there is none.
 */
extern const void *rp_image_find(const void *buf, const char *name, uint64_t *length);

#endif							/* RP_IMAGE_H */
