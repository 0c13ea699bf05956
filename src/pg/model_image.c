/*
 * model_image.c
 *	  The shared model cache: one copy of a loaded model per server, in a
 *	  file every backend maps.
 *
 * Without a cache every backend loads every model it serves from
 * recpromo.model_part into its own memory: seconds at 200,000 items, and
 * 50 copies for a pool of 50 connections.  PostgreSQL 15 has no DSM
 * registry, and recpromo is not in shared_preload_libraries, so there is no
 * shared memory a backend could find a model in.  A file can be found by
 * name, though, and a read-only MAP_SHARED mapping of it is served by the
 * page cache: every backend that maps it shares the same physical pages
 * (their PSS splits it), and attaching costs an open, an mmap and a few
 * checks, microseconds.
 *
 * Layout (src/core/rp_image.h): a header (magic, format, identity, sizes,
 * hashes), a table of named sections, the sections.  The identity is the
 * serving cache's (model_cache.c): database oid, installation (the oid of
 * recpromo.model), model id,
 * version token; the file name carries it too:
 *	$PGDATA/pg_recpromo_cache/<db>_<ext>_<name hash>_<id>_<version>.img
 * Sections: the common parts ("users", "items": the key dictionaries in
 * their stored form; "seen_indptr", "seen_indices", "seen_values"; "item_pop"),
 * the method's state (image_save: for als "als_user", "als_item", "als_mean",
 * "als_gram"; for factors "factors_U", "factors_V", "factors_VtV", norms),
 * the prepared item panels of a factor model ("batch_desc",
 * "batch_panels": what serve.c would otherwise build in each backend),
 * and its exact pruning index ("mips_desc": shape and the probe's share
 * of items scored; "mips_index": rp_mips.c's pointer-free buffer, its
 * layout and whole permutation checked at attach by rp_mips_index_check,
 * so no query can read outside the model's arrays; an image without them,
 * written before they existed, still attaches and serves unpruned).
 * Adding data is adding a section (RecpromoImageAdd in image_save, or here
 * for framework data): readers look sections up by name and ignore names
 * they do not know; bump RP_IMAGE_FORMAT only when an existing section
 * changes meaning.
 *
 * Life cycle.
 *	- Attach (RecpromoImageAttach, on every cache miss of model_cache.c):
 *	  open the file of the row's identity, check its size against the
 *	  header before touching anything else, map it, check the envelope
 *	  (rp_image_check: magic, format, size, header hash, sections inside),
 *	  the identity, the row's counts and every section's size, all O(1);
 *	  the model's arrays then point into the mapping.  What serving uses
 *	  as offsets and indices (key offsets, CSR offsets and indices, the
 *	  pruning index's permutation) is walked, O(size), by the writer before
 *	  the file is published, and again at attach only when
 *	  recpromo.shared_cache_verify asks for it.  That walk was three
 *	  quarters of a new backend's attach at 200,000 items (1.3 of 1.7 ms:
 *	  cold pages of the permutation and of the training interactions), for
 *	  bytes this server had already checked.  An image written before the
 *	  server last started (header checked_by: the writer's server start
 *	  time; 0 from libraries before 0.5.0) is not used: it is removed and
 *	  the model loaded again, once per model after a restart.  A crash of
 *	  the machine restarts the server, so a file it tore (no fsync: it is a
 *	  cache) is never read, floating-point bytes included.
 *	  The data hash is computed by the writer from its own mapping of the
 *	  written file (the bytes every reader sees) and checked at every first
 *	  attach with shared_cache_verify = full, which reads the whole image
 *	  (tens of milliseconds per 100 MB).
 *	  Any failure removes the file and falls back to a load from the tables
 *	  (which writes a fresh image): a truncated or torn image costs a
 *	  reload, never a crash (see Safety for a file rewritten in place).  Floating-point contents are not re-checked at
 *	  attach (the writer checked them when it loaded the parts); a damaged
 *	  value can only change scores, and shared_cache_verify = full catches
 *	  it.
 *	- Publish (RecpromoImagePublish, after a load from the tables): under
 *	  an exclusive flock of pg_recpromo_cache/lock, scan the directory,
 *	  remove images of older versions of the same model name (lower id),
 *	  of dropped databases and of other installations of the extension in
 *	  this database; give up if a newer version of the model is there
 *	  already (this backend's snapshot is old; it serves its own copy);
 *	  evict least recently used images (mtime, touched by every attach)
 *	  until the directory will fit recpromo.shared_cache_size, write the
 *	  image to a temporary file (mode 0600), hash it from a mapping, write
 *	  the header, attach the temporary file with the walk, rename it into
 *	  place (atomic: readers see no file or a whole, walked one) and free
 *	  the backend copy.
 *	- Retrain: a new version has a new id and token, so a new file; the
 *	  publish of the new version unlinks the old one.  A backend that still
 *	  has the old file mapped keeps serving it (Linux keeps an unlinked
 *	  file's pages until the last munmap): a statement serves the version
 *	  its snapshot looked up, as before.  The mapping is released when
 *	  model_cache.c replaces the model (its memory context's reset callback).
 *
 * Safety: the files live under the data directory, created by the server's
 * OS user with mode 0600 in a 0700 directory, as trusted as the data files
 * themselves: no role but a superuser can write there.  Every byte of an
 * image was checked before it was used as a size, an offset or an index:
 * its parts when they were read from the tables (model_store.c: that is
 * where a role could tamper with a model), the file's own bytes by its
 * writer before anyone could map it; files from before the last start
 * are not used (a copy by pg_basebackup to a standby neither: the
 * standby's start time differs).  What the default does not catch is a
 * file rewritten in place behind the server's back, during its lifetime,
 * by its OS user or a superuser (lo_export, COPY TO a file): as with the
 * data files, PostgreSQL's own trust boundary; shared_cache_verify =
 * structure or full covers that too.  Nothing here raises an error for a
 * cache problem: a failed write, a full disk or a bad file only means the
 * model is served from backend memory (DEBUG1 messages say why).
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/fd.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "method.h"
#include "model_store.h"
#include "source.h"
#include "rp_batch.h"
#include "rp_image.h"
#include "rp_mips.h"
#include "rp_validate.h"

#define IMAGE_DIR "pg_recpromo_cache"
#define IMAGE_LOCK IMAGE_DIR "/lock"

/* GUCs */
int			recpromo_shared_cache_size_kb = 1024 * 1024;	/* 1 GB */

/* recpromo.shared_cache_verify: what an attach checks beyond the O(1) */
typedef enum
{
	VERIFY_OFF,					/* walk images this server did not check */
	VERIFY_STRUCTURE,			/* walk every image */
	VERIFY_FULL					/* walk every image and check its data hash */
} VerifyLevel;

static const struct config_enum_entry verify_options[] = {
	{"off", VERIFY_OFF, false},
	{"structure", VERIFY_STRUCTURE, false},
	{"full", VERIFY_FULL, false},
	/* the boolean setting of 0.3.0 and 0.4.0 */
	{"on", VERIFY_FULL, true},
	{"true", VERIFY_FULL, true},
	{"yes", VERIFY_FULL, true},
	{"1", VERIFY_FULL, true},
	{"false", VERIFY_OFF, true},
	{"no", VERIFY_OFF, true},
	{"0", VERIFY_OFF, true},
	{NULL, 0, false}
};

static int	recpromo_shared_cache_verify = VERIFY_OFF;

typedef struct SinkEntry
{
	char		name[RP_IMAGE_NAME_LEN];
	const void *data;
	Size		len;
} SinkEntry;

struct RecpromoImageSink
{
	int			n;
	int			cap;
	SinkEntry  *e;
	bool		failed;			/* a bad name or too many sections */
};

/* Descriptor of the prepared item panels (section "batch_desc"). */
typedef struct ImageBatchDesc
{
	int32		n_items;
	int32		factors;
	int32		fa;
	int32		n_pad;
	int32		avx512;
	int32		half;
	int32		kernel;			/* rp_batch_kernel used to prepare */
	int32		has_bias;
	double		vmax;
	double		qerr;
} ImageBatchDesc;

/*
 * Descriptor of the exact pruning index (section "mips_desc"; the index
 * itself is section "mips_index", rp_mips.c's pointer-free layout).
 */
typedef struct ImageMipsDesc
{
	int32		n_items;
	int32		factors;
	int32		has_bias;
	int32		pad;
	double		share;			/* rp_mips_probe of the model's users */
} ImageMipsDesc;

/* A mapping, released with the model's memory context. */
typedef struct ImageMapping
{
	void	   *addr;
	Size		size;
} ImageMapping;

void
RecpromoImageInit(void)
{
	DefineCustomIntVariable("recpromo.shared_cache_size",
							"Sets the most disk space the shared model cache may use.",
							"Loaded models are written once per server into files under "
							"$PGDATA/pg_recpromo_cache that every backend maps; the least "
							"recently used are removed beyond this size.  0 turns the cache off: "
							"each backend then loads its own copy of each model.",
							&recpromo_shared_cache_size_kb,
							1024 * 1024, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomEnumVariable("recpromo.shared_cache_verify",
							 "Sets what each backend checks of a shared model image it maps.",
							 "off: the header, the identity and the sizes; every offset and "
							 "index was checked by the backend that wrote the image (images "
							 "written before the server last started are rebuilt).  structure: "
							 "every offset and index too, at every first use in a backend (about "
							 "a millisecond per 200,000 items).  full: also the checksum of the "
							 "whole image (milliseconds per 100 MB).",
							 &recpromo_shared_cache_verify,
							 VERIFY_OFF, verify_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
}

void
RecpromoImageAdd(RecpromoImageSink *sink, const char *name, const void *data, Size len)
{
	if (strlen(name) == 0 || strlen(name) >= RP_IMAGE_NAME_LEN ||
		sink->n >= RP_IMAGE_MAX_SECTIONS)
	{
		sink->failed = true;
		return;
	}
	if (sink->n == sink->cap)
	{
		sink->cap = sink->cap ? sink->cap * 2 : 16;
		sink->e = sink->e ? repalloc(sink->e, sink->cap * sizeof(SinkEntry)) :
			palloc(sink->cap * sizeof(SinkEntry));
	}
	memset(sink->e[sink->n].name, 0, RP_IMAGE_NAME_LEN);
	strlcpy(sink->e[sink->n].name, name, RP_IMAGE_NAME_LEN);
	sink->e[sink->n].data = data;
	sink->e[sink->n].len = len;
	sink->n++;
}

const void *
RecpromoImageSection(const RecpromoModel *m, const char *name, Size elem, int64 count)
{
	uint64		len;
	const void *p;

	if (m->image == NULL || count < 0)
		return NULL;
	p = rp_image_find(m->image, name, &len);
	if (p == NULL || elem == 0 || len / elem != (uint64) count || len % elem != 0)
		return NULL;
	return p;
}

void
RecpromoImageAddCsr(RecpromoImageSink *sink, const char *prefix, const rp_csr *a)
{
	char		name[RP_IMAGE_NAME_LEN];

	snprintf(name, sizeof(name), "%s_indptr", prefix);
	RecpromoImageAdd(sink, name, a->indptr, ((Size) a->n_rows + 1) * sizeof(int64));
	snprintf(name, sizeof(name), "%s_indices", prefix);
	RecpromoImageAdd(sink, name, a->indices, (Size) a->nnz * sizeof(int32));
	if (a->values != NULL)
	{
		snprintf(name, sizeof(name), "%s_values", prefix);
		RecpromoImageAdd(sink, name, a->values, (Size) a->nnz * sizeof(double));
	}
}

bool
RecpromoImageCsr(const RecpromoModel *m, const char *prefix, int32 n_rows, int32 n_cols,
				 bool sorted, bool with_values, rp_csr *out)
{
	char		name[RP_IMAGE_NAME_LEN];
	uint64		len;
	const void *ind;
	const char *reason = NULL;

	if (m->image == NULL || n_rows < 0 || n_cols < 0)
		return false;
	snprintf(name, sizeof(name), "%s_indices", prefix);
	ind = rp_image_find(m->image, name, &len);
	if (ind == NULL || len % sizeof(int32) != 0)
		return false;
	out->n_rows = n_rows;
	out->n_cols = n_cols;
	out->nnz = (int64) (len / sizeof(int32));
	out->indices = (int32 *) ind;
	snprintf(name, sizeof(name), "%s_indptr", prefix);
	out->indptr = (int64 *) RecpromoImageSection(m, name, sizeof(int64), (int64) n_rows + 1);
	snprintf(name, sizeof(name), "%s_values", prefix);
	out->values = (double *) RecpromoImageSection(m, name, sizeof(double), out->nnz);
	if (out->indptr == NULL || (with_values && out->values == NULL))
		return false;
	/* serving indexes with these: walked unless this server checked them */
	if (m->image_checked)
		return true;
	return rp_validate_indptr(out->indptr, n_rows, out->nnz, &reason) &&
		rp_validate_indices(out, sorted, &reason);
}

/* ---------- file names ---------- */

static uint32
NameHash(const char *name)
{
	return (uint32) hash_bytes((const unsigned char *) name, strlen(name));
}

static void
ImagePath(char *buf, Size bufsz, Oid db, Oid ext, const char *name, int64 id,
		  const uint8 *version)
{
	char		hex[33];

	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", version[i]);
	snprintf(buf, bufsz, "%s/%u_%u_%08x_%lld_%s.img", IMAGE_DIR, db, ext, NameHash(name),
			 (long long) id, hex);
}

/* Parses an image file name; false for anything else. */
static bool
ParseImageName(const char *fn, Oid *db, Oid *ext, uint32 *nh, int64 *id)
{
	unsigned int d,
				e,
				h;
	long long	i;
	char		hex[33];
	int			consumed = 0;

	if (sscanf(fn, "%u_%u_%8x_%lld_%32[0-9a-f].img%n", &d, &e, &h, &i, hex, &consumed) != 5 ||
		consumed == 0 || fn[consumed] != '\0')
		return false;
	*db = d;
	*ext = e;
	*nh = h;
	*id = i;
	return true;
}

/* ---------- attach ---------- */

static void
UnmapCallback(void *arg)
{
	ImageMapping *mp = arg;

	if (mp->addr != NULL)
		munmap(mp->addr, mp->size);
	mp->addr = NULL;
}

/*
 * The light structural check of a key dictionary in its stored form; the
 * walk over text keys is skipped when the writer did it (`checked`).
 */
static bool
KeysView(const void *buf, uint64 len, int32 expect_n, RecpromoKeys *keys, Oid type,
		 bool checked)
{
	int32		kclass;
	int32		n;

	if (buf == NULL || len < 8)
		return false;
	kclass = ((const int32 *) buf)[0];
	n = ((const int32 *) buf)[1];
	if (n != expect_n || n < 0)
		return false;
	if (OidIsValid(type) && (int32) RecpromoKeyClassFor(type) != kclass)
		return false;
	keys->kclass = (RecpromoKeyClass) kclass;
	keys->n = n;
	keys->type = type;
	keys->ints = NULL;
	keys->text_off = NULL;
	keys->text_buf = NULL;
	if (kclass == RECPROMO_KEY_INT)
	{
		if (len != 8 + (uint64) n * sizeof(int64))
			return false;
		keys->ints = (int64 *) ((const char *) buf + 8);
		return true;
	}
	if (kclass == RECPROMO_KEY_TEXT)
	{
		const int64 *off = (const int64 *) ((const char *) buf + 8);
		const char *text;
		uint64		tlen;

		if ((len - 8) / sizeof(int64) < (uint64) n + 1)
			return false;
		text = (const char *) (off + n + 1);
		tlen = len - 8 - ((uint64) n + 1) * sizeof(int64);
		if (off[0] != 0 || (uint64) off[n] != tlen)
			return false;
		/* every string inside, non-empty in storage and terminated */
		for (int32 i = 0; !checked && i < n; i++)
			if (off[i + 1] <= off[i] || text[off[i + 1] - 1] != '\0')
				return false;
		keys->text_off = (int64 *) off;
		keys->text_buf = (char *) text;
		return true;
	}
	return false;
}

/* The prepared panels of a factor model, when the image has usable ones. */
static void
AttachBatch(RecpromoModel *m)
{
	const ImageBatchDesc *d = RecpromoImageSection(m, "batch_desc", sizeof(ImageBatchDesc), 1);
	RecpromoFactors fx;
	rp_batch_input in;
	size_t		need;
	const void *panels;
	uint64		plen;
	rp_batch_items *items;

	if (d == NULL || m->method->factors == NULL || !m->method->factors(m, &fx) ||
		fx.factors < 1)
		return;
	if (d->n_items != m->items.n || d->factors != fx.factors ||
		(d->has_bias != 0) != (fx.item_bias != NULL) ||
		(d->avx512 && !rp_batch_have_avx512()) ||
		!(d->vmax >= 0 && d->qerr >= 0) ||
		(d->kernel != RP_BATCH_AUTO && d->kernel != RP_BATCH_AVX512_HALF))
		return;
	memset(&in, 0, sizeof(in));
	in.n_users = m->users.n;
	in.n_items = m->items.n;
	in.factors = fx.factors;
	in.U = fx.U;
	in.V = fx.V;
	in.item_bias = fx.item_bias;
	need = rp_batch_items_size(&in, (rp_batch_kernel) d->kernel);
	panels = rp_image_find(m->image, "batch_panels", &plen);
	if (need <= 64 || panels == NULL)
		return;
	/* the prepared layout: n_pad rows of fa floats (halves), as rp_batch_prepare wrote it */
	if (d->fa != fx.factors + (fx.item_bias != NULL ? 1 : 0) ||
		d->n_pad < d->n_items || d->n_pad < 1 ||
		plen != (uint64) d->n_pad * d->fa * (d->half ? sizeof(uint16) : sizeof(float)) ||
		plen > need - 64)
		return;
	items = MemoryContextAllocZero(m->cxt, sizeof(rp_batch_items));
	items->n_items = d->n_items;
	items->factors = d->factors;
	items->fa = d->fa;
	items->n_pad = d->n_pad;
	items->avx512 = d->avx512;
	items->half = d->half;
	items->Vf = panels;
	items->vmax = d->vmax;
	items->qerr = d->qerr;
	m->batch_items = items;
}

/*
 * When the calls of this model will screen every item (no pruning index,
 * or one that prunes too little for recpromo.exact_pruning = auto), maps
 * the panels' pages in one system call rather than one fault per 64 kB on
 * the first call (page-cache pages, shared, nothing copied).  A model that
 * prunes reads a small part of them: populating all would cost its first
 * call more than it saves.  Best effort: older kernels lack it.
 */
static void
PopulatePanels(RecpromoModel *m)
{
#ifdef MADV_POPULATE_READ
	const rp_batch_items *items = m->batch_items;
	uint64		plen;
	uintptr_t	lo;
	uintptr_t	hi;

	if (items == NULL ||
		(m->mips != NULL && m->mips_share <= RECPROMO_PRUNING_MAX_SHARE))
		return;
	plen = (uint64) items->n_pad * items->fa * (items->half ? sizeof(uint16) : sizeof(float));
	lo = TYPEALIGN_DOWN(4096, (uintptr_t) items->Vf);
	hi = TYPEALIGN(4096, (uintptr_t) items->Vf + plen);
	(void) madvise((void *) lo, hi - lo, MADV_POPULATE_READ);
#endif
}

/*
 * The exact pruning index of a factor model, when the image has one: true
 * with m->mips set, or with none (an image written before the section
 * existed, or a model without factors); false when the section is there
 * but does not fit the model (the image is then rejected).  The layout is
 * checked always; the whole permutation (rp_mips_index_check: a query can
 * then never read outside the model's arrays) unless this server's writer
 * walked it (m->image_checked), 0.2 ms at 200,000 items with warm caches,
 * 0.8 ms in a new backend.
 */
static bool
AttachMips(RecpromoModel *m)
{
	uint64		dlen;
	const ImageMipsDesc *d = rp_image_find(m->image, "mips_desc", &dlen);
	const void *ix;
	uint64		len;
	RecpromoFactors fx;
	unsigned char *seen;
	bool		ok;

	if (d == NULL && rp_image_find(m->image, "mips_index", &len) == NULL)
		return true;
	if (d == NULL || dlen != sizeof(ImageMipsDesc) ||
		m->method->factors == NULL || !m->method->factors(m, &fx) || fx.factors < 1)
		return false;
	ix = rp_image_find(m->image, "mips_index", &len);
	if (ix == NULL || d->n_items != m->items.n || d->factors != fx.factors ||
		(d->has_bias != 0) != (fx.item_bias != NULL) ||
		!(d->share >= 0.0 && d->share <= 1.0))
		return false;
	if (m->image_checked)
		ok = rp_mips_index_valid(ix, (size_t) len, m->items.n, fx.factors,
								 fx.item_bias != NULL);
	else
	{
		seen = palloc(((Size) m->items.n + 7) / 8 + 1);
		ok = rp_mips_index_check(ix, (size_t) len, m->items.n, fx.factors,
								 fx.item_bias != NULL, seen);
		pfree(seen);
	}
	if (!ok)
		return false;
	m->mips = ix;
	m->mips_share = d->share;
	return true;
}

/* Builds the model from a checked mapping; false when something does not fit. */
static bool
AttachModel(RecpromoModel *m)
{
	const RecpromoModelRow *row = &m->row;
	const void *p;
	uint64		len;

	if (row->n_users < 0 || row->n_items < 0 || row->nnz < 0)
		return false;
	p = rp_image_find(m->image, "users", &len);
	if (!KeysView(p, len, row->n_users, &m->users, row->user_type, m->image_checked))
		return false;
	p = rp_image_find(m->image, "items", &len);
	if (!KeysView(p, len, row->n_items, &m->items, row->item_type, m->image_checked))
		return false;
	if (!RecpromoImageCsr(m, "seen", row->n_users, row->n_items, true, false, &m->seen) ||
		m->seen.nnz != row->nnz ||
		(m->seen.values == NULL && rp_image_find(m->image, "seen_values", &len) != NULL))
		return false;
	m->item_pop = (double *) RecpromoImageSection(m, "item_pop", sizeof(double), row->n_items);
	if (m->item_pop == NULL)
		return false;
	if (!m->method->image_attach(m))
		return false;
	AttachBatch(m);
	if (!AttachMips(m))
		return false;
	PopulatePanels(m);
	return true;
}

/*
 * The lifetime an image belongs to: the server's start time, which a
 * restart (and so any crash of the machine) changes, as does a copy to
 * another server (a base backup copies this directory to a standby).
 */
static uint64
ServerLifetime(void)
{
	return (uint64) PgStartTime;
}

/*
 * Maps the image at path for row; the model, or NULL (the file removed when
 * it exists but is unusable, or was written before the server started).
 * With `walk` or recpromo.shared_cache_verify, everything serving uses as
 * an offset or an index is checked (the structure walk: key offsets, CSR
 * offsets and indices, the pruning permutation); otherwise only what is
 * O(1): envelope, identity, sizes (the writer walked the file).
 */
static RecpromoModel *
AttachPath(const char *path, const RecpromoModelRow *row, const RecpromoMethod *method,
		   bool walk)
{
	int			fd;
	struct stat st;
	void	   *addr;
	const char *reason = NULL;
	const rp_image_header *h;
	MemoryContext cxt;
	MemoryContext old;
	ImageMapping *mp;
	RecpromoModel *m = NULL;
	bool		ok = false;

	fd = open(path, O_RDONLY | PG_BINARY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
		(uint64) st.st_size < RP_IMAGE_HEADER_SIZE)
	{
		close(fd);
		ereport(DEBUG1, (errmsg_internal("recpromo: removing image \"%s\": too short", path)));
		unlink(path);
		return NULL;
	}
	addr = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (addr == MAP_FAILED)
	{
		close(fd);
		return NULL;
	}
	/* least recently used: an attach is a use */
	(void) futimens(fd, NULL);
	close(fd);

	/* the mapping belongs to the model's context from here on */
	cxt = AllocSetContextCreate(TopMemoryContext, "recpromo model image",
								ALLOCSET_SMALL_SIZES);
	mp = MemoryContextAllocZero(cxt, sizeof(ImageMapping));
	mp->addr = addr;
	mp->size = (Size) st.st_size;
	{
		MemoryContextCallback *cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));

		cb->func = UnmapCallback;
		cb->arg = mp;
		MemoryContextRegisterResetCallback(cxt, cb);
	}

	old = MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		h = addr;
		if (!rp_image_check(addr, (uint64) st.st_size,
							recpromo_shared_cache_verify == VERIFY_FULL, &reason))
			;
		else if (h->db_oid != MyDatabaseId || h->install_oid != row->install_oid ||
				 h->model_id != row->id || memcmp(h->version, row->version, 16) != 0)
			reason = "belongs to another model version";
		else if (h->checked_by != ServerLifetime())
			reason = "was written before the server started";
		else
		{
			m = RecpromoModelShell(row, method, cxt);
			m->image = addr;
			m->image_checked = !walk && recpromo_shared_cache_verify == VERIFY_OFF;
			if (AttachModel(m))
				ok = true;
			else
				reason = "has sections that do not fit the model";
		}
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	if (!ok)
	{
		ereport(DEBUG1,
				(errmsg_internal("recpromo: removing image \"%s\": %s", path,
								 reason ? reason : "invalid")));
		MemoryContextDelete(cxt);
		unlink(path);
		return NULL;
	}
	return m;
}

static bool
CacheEnabled(const RecpromoMethod *method)
{
	return recpromo_shared_cache_size_kb > 0 && method->image_attach != NULL &&
		method->image_save != NULL;
}

RecpromoModel *
RecpromoImageAttach(const RecpromoModelRow *row)
{
	const RecpromoMethod *method = RecpromoModelMethod(row);
	char		path[MAXPGPATH];

	if (!CacheEnabled(method))
		return NULL;
	ImagePath(path, sizeof(path), MyDatabaseId, row->install_oid, row->name, row->id, row->version);
	{
		instr_time	t0,
					t1;
		RecpromoModel *m;

		INSTR_TIME_SET_CURRENT(t0);
		m = AttachPath(path, row, method, false);
		INSTR_TIME_SET_CURRENT(t1);
		INSTR_TIME_SUBTRACT(t1, t0);
		ereport(DEBUG1,
				(errmsg_internal("recpromo: attach of model \"%s\" %s in %.3f ms%s", row->name,
								 m ? "done" : "failed", INSTR_TIME_GET_MILLISEC(t1),
								 m == NULL ? "" : m->image_checked ?
								 " (checked by its writer)" : " (offsets and indices walked)")));
		return m;
	}
}

/* ---------- publish ---------- */

/* pwrite all of it; false on error */
static bool
WriteAll(int fd, const void *data, Size len, off_t off)
{
	const char *p = data;

	while (len > 0)
	{
		ssize_t		w = pwrite(fd, p, Min(len, (Size) 1 << 30), off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		len -= w;
		off += w;
	}
	return true;
}

typedef struct DirImage
{
	char		fn[MAXPGPATH];
	off_t		size;
	time_t		mtime;
	long		mtime_ns;
} DirImage;

/*
 * The ids of the models of this database's recpromo.model in the
 * statement's snapshot (palloc'd, ascending), for removing the images of
 * dropped models.  Read as the extension owner, like every model access.
 */
static int64 *
LiveModelIds(int *n_out)
{
	RecpromoOwnerScope scope;
	int64	   *ids;
	int			n;
	MemoryContext cxt = CurrentMemoryContext;

	SPI_connect();
	RecpromoOwnerEnter(&scope);
	if (SPI_execute("SELECT m.id FROM recpromo.model m ORDER BY m.id", true, 0) != SPI_OK_SELECT)
		RecpromoSpiError("read recpromo.model");
	n = (int) SPI_processed;
	ids = MemoryContextAlloc(cxt, Max(n, 1) * sizeof(int64));
	for (int i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

		ids[i] = isnull ? -1 : DatumGetInt64(d);
	}
	RecpromoOwnerLeave(&scope);
	SPI_finish();
	*n_out = n;
	return ids;
}

static bool
IdListed(const int64 *ids, int n, int64 id)
{
	int			lo = 0,
				hi = n;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && ids[lo] == id;
}

/*
 * Under the directory lock: removes what is stale (older versions of this
 * model name, dropped models, dropped databases, other installations of
 * the extension in this database, leftover temporary files) and returns the remaining
 * images (palloc'd) and whether a newer version of this model exists.
 */
static DirImage *
ScanDirectory(const RecpromoModelRow *row, int *n_out, bool *newer)
{
	DIR		   *dir;
	struct dirent *de;
	DirImage   *imgs = NULL;
	int			n = 0;
	int			cap = 0;
	uint32		myhash = NameHash(row->name);
	int			n_live;
	int64	   *live = LiveModelIds(&n_live);

	*newer = false;
	dir = AllocateDir(IMAGE_DIR);
	while ((de = ReadDirExtended(dir, IMAGE_DIR, DEBUG1)) != NULL)
	{
		char		path[MAXPGPATH];
		struct stat st;
		Oid			db,
					ext;
		uint32		nh;
		int64		id;
		bool		drop = false;

		if (de->d_name[0] == '.' || strcmp(de->d_name, "lock") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", IMAGE_DIR, de->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (!ParseImageName(de->d_name, &db, &ext, &nh, &id))
		{
			/* a temporary file of a writer that died: an hour is plenty */
			if (strncmp(de->d_name, "tmp.", 4) == 0 && st.st_mtime < time(NULL) - 3600)
				unlink(path);
			continue;
		}
		if (db == MyDatabaseId && ext != row->install_oid)
			drop = true;
		else if (db != MyDatabaseId &&
				 !SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(db)))
			drop = true;
		else if (db == MyDatabaseId && nh == myhash && id < row->id)
			drop = true;
		else if (db == MyDatabaseId && nh == myhash && id > row->id)
			*newer = true;
		/* a dropped model (ids above the snapshot's may be newer models) */
		else if (db == MyDatabaseId && n_live > 0 && id < live[n_live - 1] &&
				 !IdListed(live, n_live, id))
			drop = true;
		if (drop)
		{
			unlink(path);
			continue;
		}
		if (n == cap)
		{
			cap = cap ? cap * 2 : 16;
			imgs = imgs ? repalloc(imgs, cap * sizeof(DirImage)) : palloc(cap * sizeof(DirImage));
		}
		strlcpy(imgs[n].fn, path, MAXPGPATH);
		imgs[n].size = st.st_size;
		imgs[n].mtime = st.st_mtim.tv_sec;
		imgs[n].mtime_ns = st.st_mtim.tv_nsec;
		n++;
	}
	FreeDir(dir);
	*n_out = n;
	return imgs;
}

/* Removes least recently used images until total + incoming fits the limit. */
static void
EvictToFit(DirImage *imgs, int n, uint64 incoming, uint64 limit)
{
	uint64		total = incoming;

	for (int i = 0; i < n; i++)
		total += imgs[i].size;
	while (total > limit)
	{
		int			best = -1;

		for (int i = 0; i < n; i++)
			if (imgs[i].fn[0] != '\0' &&
				(best < 0 || imgs[i].mtime < imgs[best].mtime ||
				 (imgs[i].mtime == imgs[best].mtime && imgs[i].mtime_ns < imgs[best].mtime_ns)))
				best = i;
		if (best < 0)
			break;
		ereport(DEBUG1, (errmsg_internal("recpromo: evicting image \"%s\"", imgs[best].fn)));
		unlink(imgs[best].fn);
		total -= imgs[best].size;
		imgs[best].fn[0] = '\0';
	}
}

/* Adds the framework's sections of m (common parts, prepared panels). */
static void
CommonSections(const RecpromoModel *m, RecpromoImageSink *sink)
{
	Size		len;
	void	   *buf;

	buf = RecpromoKeysSerialize(&m->users, &len);
	RecpromoImageAdd(sink, "users", buf, len);
	buf = RecpromoKeysSerialize(&m->items, &len);
	RecpromoImageAdd(sink, "items", buf, len);
	RecpromoImageAddCsr(sink, "seen", &m->seen);
	RecpromoImageAdd(sink, "item_pop", m->item_pop, (Size) m->items.n * sizeof(double));
}

/* The prepared item panels, as serve.c would build them. */
static void
BatchSections(const RecpromoModel *m, RecpromoImageSink *sink)
{
	RecpromoFactors fx;
	rp_batch_input in;
	rp_batch_kernel kern;
	size_t		sz;
	char	   *buf;
	rp_batch_items items;
	ImageBatchDesc *d;

	if (m->method->factors == NULL || !m->method->factors(m, &fx) || fx.factors < 1)
		return;
	memset(&in, 0, sizeof(in));
	in.n_users = m->users.n;
	in.n_items = m->items.n;
	in.factors = fx.factors;
	in.U = fx.U;
	in.V = fx.V;
	in.item_bias = fx.item_bias;
	kern = rp_batch_have_avx512() ? RP_BATCH_AVX512_HALF : RP_BATCH_AUTO;
	sz = rp_batch_items_size(&in, kern);
	if (sz <= 64)
		return;
	buf = MemoryContextAllocHuge(CurrentMemoryContext, sz);
	RecpromoAdviseHuge(buf, sz);
	if (rp_batch_prepare(&in, kern, buf, sz, &items) != RP_OK)
		return;
	/* Vf sits at the first 64-byte boundary of buf: the section starts at one */
	if ((const char *) items.Vf < buf || (const char *) items.Vf - buf > 64 ||
		(Size) ((const char *) items.Vf - buf) +
		(Size) items.n_pad * items.fa * sizeof(float) > sz)
		return;
	d = palloc0(sizeof(ImageBatchDesc));
	d->n_items = items.n_items;
	d->factors = items.factors;
	d->fa = items.fa;
	d->n_pad = items.n_pad;
	d->avx512 = items.avx512;
	d->half = items.half;
	d->kernel = (int32) kern;
	d->has_bias = fx.item_bias != NULL;
	d->vmax = items.vmax;
	d->qerr = items.qerr;
	RecpromoImageAdd(sink, "batch_desc", d, sizeof(ImageBatchDesc));
	/* half panels use half of the float-sized buffer: only that goes in */
	RecpromoImageAdd(sink, "batch_panels", items.Vf,
					 (Size) items.n_pad * items.fa * (items.half ? sizeof(uint16) : sizeof(float)));
}

/* The exact pruning index, as serve.c would build it, and its probe share. */
static void
MipsSections(const RecpromoModel *m, RecpromoImageSink *sink)
{
	RecpromoFactors fx;
	ImageMipsDesc *d;
	Size		sz;
	double		share;
	void	   *ix;

	if (m->method->factors == NULL || !m->method->factors(m, &fx) || fx.factors < 1)
		return;
	ix = RecpromoBuildMips(&fx, m->users.n, m->items.n, &sz, &share);
	if (ix == NULL)
		return;
	d = palloc0(sizeof(ImageMipsDesc));
	d->n_items = m->items.n;
	d->factors = fx.factors;
	d->has_bias = fx.item_bias != NULL;
	d->share = share;
	RecpromoImageAdd(sink, "mips_desc", d, sizeof(ImageMipsDesc));
	RecpromoImageAdd(sink, "mips_index", ix, sz);
}

/*
 * Writes the image of m into a temporary file, attaches that file with the
 * structure walk (so the bytes checked are the bytes every reader maps)
 * and only then renames it to path: the model attached from it, or NULL
 * (nothing left behind) on any failure.  The header says this server
 * checked it (checked_by), which lets later attaches skip the walk.
 */
static RecpromoModel *
WriteImage(const RecpromoModel *m, const RecpromoImageSink *sink, const char *path)
{
	rp_image_section *secs = palloc0(Max(sink->n, 1) * sizeof(rp_image_section));
	rp_image_header hdr;
	rp_image_header full;
	uint64		total;
	char		tmp[MAXPGPATH];
	static int	counter = 0;
	int			fd;
	void	   *map;
	bool		ok = false;
	RecpromoModel *att = NULL;

	for (int i = 0; i < sink->n; i++)
	{
		memcpy(secs[i].name, sink->e[i].name, RP_IMAGE_NAME_LEN);
		secs[i].length = sink->e[i].len;
	}
	total = rp_image_plan(secs, sink->n);
	if (total == 0 || total > (uint64) recpromo_shared_cache_size_kb * 1024)
		return NULL;
	snprintf(tmp, sizeof(tmp), "%s/tmp.%d.%d", IMAGE_DIR, MyProcPid, counter++);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | PG_BINARY | O_CLOEXEC, S_IRUSR | S_IWUSR);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, (off_t) total) != 0)
		goto done;
	/* no CHECK_FOR_INTERRUPTS in here: an error would leave the file and fd */
	for (int i = 0; i < sink->n; i++)
	{
		if (sink->e[i].len > 0 &&
			!WriteAll(fd, sink->e[i].data, sink->e[i].len, (off_t) secs[i].offset))
			goto done;
	}
	/*
	 * The hash is taken from the file, as every reader will see it.
	 * MAP_POPULATE maps its pages in one call rather than one fault per
	 * 64 kB (they are in the page cache: just written).
	 */
	map = mmap(NULL, (size_t) total, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED)
		goto done;
	memset(&hdr, 0, sizeof(hdr));
	hdr.db_oid = MyDatabaseId;
	hdr.install_oid = m->row.install_oid;
	hdr.model_id = m->row.id;
	memcpy(hdr.version, m->row.version, 16);
	hdr.checked_by = ServerLifetime();
	rp_image_fill_header(&full, &hdr, total, secs, sink->n,
						 rp_image_data_hash(map, total, sink->n));
	munmap(map, (size_t) total);
	if (!WriteAll(fd, &full, sizeof(full), 0) ||
		!WriteAll(fd, secs, (Size) sink->n * sizeof(rp_image_section), RP_IMAGE_HEADER_SIZE))
		goto done;
	if (close(fd) != 0)
	{
		fd = -1;
		goto done;
	}
	fd = -1;
	/* a failed walk (it cannot be: the model was checked) leaves no file */
	att = AttachPath(tmp, &m->row, m->method, true);
	if (att == NULL)
		goto done;
	if (rename(tmp, path) != 0)
	{
		MemoryContextDelete(att->cxt);
		att = NULL;
		goto done;
	}
	ok = true;
done:
	if (fd >= 0)
		close(fd);
	if (!ok)
		unlink(tmp);
	return att;
}

/*
 * Removes every image of model `id` of this database's installation
 * `install_oid` (model_store.h),
 * whatever its version.  Called by an erasure (forget.c: the image of the
 * version before it holds the erased key) and by drop_model, so that what
 * a model held leaves the cache directory with it instead of at the next
 * image write.  A backend that has such a file mapped keeps serving its
 * statement from it (Linux keeps an unlinked file alive until unmapped);
 * its next statement looks up the new version.  If the transaction aborts,
 * the old version stays current and its image is simply written again by
 * the next backend that loads it.  A backend that loaded the old version
 * just before, and writes its image just after, is caught by the next
 * image write on the server (ScanDirectory removes images of ids that are
 * no longer models).
 */
void
RecpromoImageRemoveModel(Oid install_oid, int64 id)
{
	int			lockfd = open(IMAGE_LOCK, O_RDWR | PG_BINARY | O_CLOEXEC);
	DIR		   *dir;
	struct dirent *de;

	if (lockfd < 0)
		return;					/* no cache directory: no image was ever written */
	if (flock(lockfd, LOCK_EX) == 0)
	{
		dir = AllocateDir(IMAGE_DIR);
		while ((de = ReadDirExtended(dir, IMAGE_DIR, DEBUG1)) != NULL)
		{
			Oid			db,
						ext;
			uint32		nh;
			int64		iid;
			char		path[MAXPGPATH];

			if (!ParseImageName(de->d_name, &db, &ext, &nh, &iid) ||
				db != MyDatabaseId || ext != install_oid || iid != id)
				continue;
			snprintf(path, sizeof(path), "%s/%s", IMAGE_DIR, de->d_name);
			(void) unlink(path);
		}
		FreeDir(dir);
	}
	close(lockfd);				/* releases the flock */
}

RecpromoModel *
RecpromoImagePublish(RecpromoModel *m)
{
	RecpromoImageSink sink;
	char		path[MAXPGPATH];
	MemoryContext work;
	MemoryContext old;
	RecpromoModel *volatile att = NULL;
	volatile int lockfd = -1;

	instr_time	t0,
				t1;

	if (!CacheEnabled(m->method))
		return m;
	if (MakePGDirectory(IMAGE_DIR) != 0 && errno != EEXIST)
		return m;
	INSTR_TIME_SET_CURRENT(t0);
	ImagePath(path, sizeof(path), MyDatabaseId, m->row.install_oid, m->row.name, m->row.id,
			  m->row.version);

	work = AllocSetContextCreate(CurrentMemoryContext, "recpromo image write",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	PG_TRY();
	{
		DirImage   *imgs;
		int			n;
		bool		newer;

		lockfd = open(IMAGE_LOCK, O_RDWR | O_CREAT | PG_BINARY | O_CLOEXEC, S_IRUSR | S_IWUSR);
		if (lockfd >= 0 && flock(lockfd, LOCK_EX) == 0)
		{
			imgs = ScanDirectory(&m->row, &n, &newer);
			/* another backend may have written it meanwhile */
			att = AttachPath(path, &m->row, m->method, false);
			if (att == NULL && !newer)
			{
				memset(&sink, 0, sizeof(sink));
				CommonSections(m, &sink);
				m->method->image_save(m, &sink);
				BatchSections(m, &sink);
				MipsSections(m, &sink);
				if (!sink.failed)
				{
					uint64		limit = (uint64) recpromo_shared_cache_size_kb * 1024;
					uint64		est = rp_image_data_start(sink.n);

					for (int i = 0; i < sink.n; i++)
						est += TYPEALIGN(RP_IMAGE_ALIGN, sink.e[i].len);
					if (est <= limit)
					{
						EvictToFit(imgs, n, est, limit);
						/* WriteImage hashed and walked the file's own bytes */
						att = WriteImage(m, &sink, path);
					}
				}
			}
		}
		if (lockfd >= 0)
			close(lockfd);		/* releases the flock */
		lockfd = -1;
	}
	PG_CATCH();
	{
		if (lockfd >= 0)
			close(lockfd);
		if (att != NULL)
			MemoryContextDelete(att->cxt);
		MemoryContextSwitchTo(old);
		MemoryContextDelete(work);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	INSTR_TIME_SET_CURRENT(t1);
	INSTR_TIME_SUBTRACT(t1, t0);
	ereport(DEBUG1,
			(errmsg_internal("recpromo: publish of model \"%s\" %s in %.3f ms", m->row.name,
							 att ? "done" : "failed", INSTR_TIME_GET_MILLISEC(t1))));
	if (att == NULL)
		return m;
	MemoryContextDelete(m->cxt);
	return att;
}
