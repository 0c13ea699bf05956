/*
 * source_rows.c
 *	  The row sink of source reading (see source_int.h): compact key
 *	  dictionaries and flat row arrays, then the CSR.
 *
 * Memory follows the data.  A row costs 16 bytes while reading (two int32
 * provisional ids and a double), a distinct integer key 8 bytes plus 8 of
 * hash table (load at most 1/2 in uint32 slots, plus its hash), a distinct
 * text key its bytes plus 16.  Nothing is allocated per row or per key, and
 * no Datum or tuple outlives its batch.  The arrays grow by half through
 * repalloc_huge; large chunks are the C library's, which moves them with
 * mremap, so growing does not hold two copies.  The CSR is built by two
 * stable counting sorts (rp_coo_bucket_by_col, rp_csr_from_col_buckets:
 * no comparison sort): the first makes a 12-byte-a-row copy bucketed by
 * item, the row arrays are freed, the second scatters into the CSR.  The
 * peak of reading is about 28 bytes a row, against about 60 before (int64
 * key bags, their sorted copies, index arrays, the CSR).
 *
 * Dictionary order is decided at the end: the distinct keys are sorted
 * (numeric order for integers, byte order for text, exactly as keys.c
 * orders them) and each provisional id gets its rank, so a model's indices
 * do not depend on the order rows arrive in.  Hashing is splitmix64's
 * finaliser for integers and hash_bytes for text; open addressing with
 * linear probing.
 */
#include "postgres.h"

#include <math.h>
#include <sys/mman.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "recpromo.h"
#include "source_int.h"

#define SINK_MIN_ROWS 1024
#define HUGE_PAGE ((uintptr_t) 2 * 1024 * 1024)

/*
 * Asks for transparent huge pages on the 2 MB-aligned interior of a large
 * array before it is first touched.  Large arrays are filled once, in a few
 * passes, and fresh 4 kB pages cost a fault each (a noticeable share of
 * reading, training, loading a model or writing its image on a virtual
 * machine: a 51 MB array is 12,500 faults, or 25); with THP in "madvise"
 * mode this is the only way to get 2 MB ones.  Arrays under four huge
 * pages are left alone.  Advice only: failure changes nothing.
 */
void
RecpromoAdviseHuge(void *p, Size len)
{
#ifdef MADV_HUGEPAGE
	uintptr_t	s = ((uintptr_t) p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	uintptr_t	e = ((uintptr_t) p + len) & ~(HUGE_PAGE - 1);

	if (len >= 4 * HUGE_PAGE && e > s)
		(void) madvise((void *) s, e - s, MADV_HUGEPAGE);
#endif
}

/*
 * palloc_extended(len, HUGE) advised for huge pages (large arrays filled
 * once by scattered writes: the CSR built here, its transposes in the
 * methods).
 */
void *
RecpromoAllocLarge(Size len)
{
	void	   *p = palloc_extended(len, MCXT_ALLOC_HUGE);

	RecpromoAdviseHuge(p, len);
	return p;
}
#define DICT_MIN_KEYS 1024

static inline uint32
HashInt64(int64 key)
{
	uint64		x = (uint64) key;

	x ^= x >> 30;
	x *= UINT64CONST(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64CONST(0x94d049bb133111eb);
	x ^= x >> 31;
	return (uint32) x;
}

/* Empty dictionary of the class for `type`, allocated in cxt. */
static void
DictInit(RecpromoKeyDict *d, Oid type, MemoryContext cxt)
{
	memset(d, 0, sizeof(*d));
	d->kclass = RecpromoKeyClassFor(type);
	d->cap = DICT_MIN_KEYS;
	d->hashes = MemoryContextAlloc(cxt, d->cap * sizeof(uint32));
	if (d->kclass == RECPROMO_KEY_INT)
		d->ints = MemoryContextAlloc(cxt, d->cap * sizeof(int64));
	else
	{
		d->off = MemoryContextAlloc(cxt, d->cap * sizeof(int64));
		d->arena_cap = 16 * DICT_MIN_KEYS;
		d->arena = MemoryContextAlloc(cxt, d->arena_cap);
	}
	d->mask = 2 * DICT_MIN_KEYS - 1;
	d->slots = MemoryContextAllocZero(cxt, (Size) (d->mask + 1) * sizeof(uint32));
}

/* Room for one more key: grows the per-id arrays and rehashes at load 1/2. */
static void
DictReserve(RecpromoKeyDict *d)
{
	if (d->n == PG_INT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct keys: %lld", (long long) d->n + 1)));
	if (d->n == d->cap)
	{
		int32		cap = (d->cap > PG_INT32_MAX / 2) ? PG_INT32_MAX : d->cap * 2;

		d->hashes = repalloc_huge(d->hashes, (Size) cap * sizeof(uint32));
		if (d->ints)
			d->ints = repalloc_huge(d->ints, (Size) cap * sizeof(int64));
		else
			d->off = repalloc_huge(d->off, (Size) cap * sizeof(int64));
		d->cap = cap;
	}
	if ((uint64) (d->n + 1) * 2 > (uint64) d->mask + 1)
	{
		uint32		mask = d->mask * 2 + 1;
		uint32	   *slots = MemoryContextAllocExtended(GetMemoryChunkContext(d->hashes),
													   ((Size) mask + 1) * sizeof(uint32),
													   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

		for (int32 id = 0; id < d->n; id++)
		{
			uint32		pos = d->hashes[id] & mask;

			while (slots[pos] != 0)
				pos = (pos + 1) & mask;
			slots[pos] = (uint32) id + 1;
		}
		pfree(d->slots);
		d->slots = slots;
		d->mask = mask;
	}
}

/*
 * Extends the direct map to cover [0, need) when that stays within a few
 * times the key count (shop identifiers are mostly small and dense), and
 * enters the keys already seen that fall in the new range.  Returns
 * whether key `need` - 1 is now covered.
 */
static bool
DictGrowDirect(RecpromoKeyDict *d, int64 need)
{
	int64		limit = 8 * ((int64) d->n + 1) + 65536;
	int64		cap = Max(d->dcap, 4096);

	if (need > limit)
		return false;
	while (cap < need)
		cap *= 2;
	if (d->dmap == NULL)
		d->dmap = MemoryContextAllocExtended(GetMemoryChunkContext(d->hashes),
											 cap * sizeof(int32),
											 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	else
	{
		d->dmap = repalloc_huge(d->dmap, cap * sizeof(int32));
		memset(d->dmap + d->dcap, 0, (cap - d->dcap) * sizeof(int32));
	}
	for (int32 id = 0; id < d->n; id++)
		if (d->ints[id] >= d->dcap && d->ints[id] < cap)
			d->dmap[d->ints[id]] = id + 1;
	d->dcap = cap;
	return true;
}

int32
RecpromoDictInt(RecpromoKeyDict *d, int64 key)
{
	uint32		h;
	uint32		pos;
	uint32		s;

	Assert(d->kclass == RECPROMO_KEY_INT);
	/* small non-negative keys: one array lookup */
	if (likely(key >= 0 && key < d->dcap) || (key >= 0 && DictGrowDirect(d, key + 1)))
	{
		int32		id = d->dmap[key];

		if (likely(id != 0))
			return id - 1;
		if (unlikely(d->n == d->cap))
			DictReserve(d);
		d->ints[d->n] = key;
		d->hashes[d->n] = HashInt64(key);
		d->dmap[key] = d->n + 1;
		return d->n++;
	}
	h = HashInt64(key);
	pos = h & d->mask;
	while ((s = d->slots[pos]) != 0)
	{
		if (d->ints[s - 1] == key)
			return (int32) (s - 1);
		pos = (pos + 1) & d->mask;
	}
	if (unlikely((uint64) (d->n + 1) * 2 > (uint64) d->mask + 1 || d->n == d->cap))
	{
		DictReserve(d);
		pos = h & d->mask;
		while (d->slots[pos] != 0)
			pos = (pos + 1) & d->mask;
	}
	d->ints[d->n] = key;
	d->hashes[d->n] = h;
	d->slots[pos] = (uint32) d->n + 1;
	return d->n++;
}

int32
RecpromoDictText(RecpromoKeyDict *d, const char *str, Size len)
{
	uint32		h = hash_bytes((const unsigned char *) str, (int) len);
	uint32		pos = h & d->mask;
	uint32		s;

	Assert(d->kclass == RECPROMO_KEY_TEXT);
	while ((s = d->slots[pos]) != 0)
	{
		const char *k = d->arena + d->off[s - 1];

		if (d->hashes[s - 1] == h && memcmp(k, str, len) == 0 && k[len] == '\0')
			return (int32) (s - 1);
		pos = (pos + 1) & d->mask;
	}
	if (unlikely((uint64) (d->n + 1) * 2 > (uint64) d->mask + 1 || d->n == d->cap))
	{
		DictReserve(d);
		pos = h & d->mask;
		while (d->slots[pos] != 0)
			pos = (pos + 1) & d->mask;
	}
	if (d->arena_len + len + 1 > d->arena_cap)
	{
		Size		cap = d->arena_cap;

		while (d->arena_len + len + 1 > cap)
			cap *= 2;
		d->arena = repalloc_huge(d->arena, cap);
		d->arena_cap = cap;
	}
	memcpy(d->arena + d->arena_len, str, len);
	d->arena[d->arena_len + len] = '\0';
	d->off[d->n] = (int64) d->arena_len;
	d->arena_len += len + 1;
	d->hashes[d->n] = h;
	d->slots[pos] = (uint32) d->n + 1;
	return d->n++;
}

/* Bytes a dictionary holds while reading (its arrays, hash slots, direct map). */
static double
DictBytes(const RecpromoKeyDict *d)
{
	return (double) d->cap * (sizeof(uint32) + sizeof(int64))
		+ ((double) d->mask + 1.0) * sizeof(uint32)
		+ (double) d->dcap * sizeof(int32) + (double) d->arena_cap;
}

/* Bytes of the sorted keys DictFinish makes of d (the layout of keys.h). */
static double
KeysBytes(const RecpromoKeyDict *d)
{
	if (d->kclass == RECPROMO_KEY_INT)
		return (double) d->n * sizeof(int64);
	return ((double) d->n + 1.0) * sizeof(int64) + (double) d->arena_len;
}

double
RecpromoSinkPeakBytes(double rows, double users, double items, double key_bytes, int threads)
{
	double		keys = Max(users, items) + 1.0;

	/*
	 * Pass 1 holds the rows (16 bytes), their copy bucketed by item (12) and
	 * the bucket bounds; pass 2 the bucketed copy and the CSR (12 + 12) with
	 * its row pointers.  Both hold the sorted keys and the threaded counting
	 * sorts' counts (rp_csr_mt_workspace); this bounds both.
	 */
	return rows * (RECPROMO_SINK_ROW_BYTES + RECPROMO_SINK_COPY_BYTES)
		+ key_bytes + (users + items + 2.0) * sizeof(int64)
		+ (double) rp_csr_mt_workspace((int64) keys, threads);
}

/*
 * Refuses a read whose plan exceeds recpromo.memory_limit, before the
 * allocation that would reach it: 54000 (program_limit_exceeded, as every recpromo.memory_limit refusal) with the plan and the limit.
 */
void
RecpromoSinkCheckMemory(const RecpromoSource *src, double need, double rows,
						RecpromoSinkPlan plan)
{
	double		limit = (double) recpromo_memory_limit_kb * 1024.0;

	if (need <= limit)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("reading %s would need %.0f kB of memory, recpromo.memory_limit is %d kB",
					src->relname, ceil(need / 1024.0), recpromo_memory_limit_kb),
			 plan == RECPROMO_SINK_PLAN_ESTIMATE ?
			 errdetail("The table holds about %.0f rows; reading takes %d bytes a row plus the key dictionaries.",
					   rows, RECPROMO_SINK_ROW_BYTES + RECPROMO_SINK_COPY_BYTES) :
			 plan == RECPROMO_SINK_PLAN_GROW ?
			 errdetail("Room for %.0f rows at %d bytes each is needed while reading, plus the key dictionaries.",
					   rows, RECPROMO_SINK_ROW_BYTES) :
			 errdetail("%.0f rows take %d bytes each, plus the keys and the matrix's row pointers.",
					   rows, RECPROMO_SINK_ROW_BYTES + RECPROMO_SINK_COPY_BYTES),
			 errhint("Raise recpromo.memory_limit, or train on fewer rows.")));
}

void
RecpromoSinkInit(RecpromoRowSink *sink, const RecpromoSource *src, bool nonneg,
				 int64 expected)
{
	MemoryContext cxt = CurrentMemoryContext;

	memset(sink, 0, sizeof(*sink));
	sink->src = src;
	sink->nonneg = nonneg;
	DictInit(&sink->users, src->user_type, cxt);
	DictInit(&sink->items, src->item_type, cxt);
	/* untouched pages of an over-estimate are never resident */
	sink->cap = Max(expected, SINK_MIN_ROWS);
	sink->u = RecpromoAllocLarge(sink->cap * sizeof(int32));
	sink->i = RecpromoAllocLarge(sink->cap * sizeof(int32));
	sink->v = RecpromoAllocLarge(sink->cap * sizeof(double));
}

void
RecpromoSinkGrow(RecpromoRowSink *sink)
{
	int64		cap = sink->cap + sink->cap / 2;

	/* the grown arrays fill up as rows arrive: plan them with the dictionaries */
	RecpromoSinkCheckMemory(sink->src, (double) cap * RECPROMO_SINK_ROW_BYTES +
							DictBytes(&sink->users) + DictBytes(&sink->items),
							(double) cap, RECPROMO_SINK_PLAN_GROW);
	sink->u = repalloc_huge(sink->u, cap * sizeof(int32));
	sink->i = repalloc_huge(sink->i, cap * sizeof(int32));
	sink->v = repalloc_huge(sink->v, cap * sizeof(double));
	sink->cap = cap;
	RecpromoAdviseHuge(sink->u, cap * sizeof(int32));
	RecpromoAdviseHuge(sink->i, cap * sizeof(int32));
	RecpromoAdviseHuge(sink->v, cap * sizeof(double));
}

void
RecpromoRatingError(const RecpromoRowSink *sink, double r, const char *user, const char *item)
{
	const RecpromoSource *src = sink->src;

	if (!isfinite(r))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("rating column \"%s\" contains a non-finite value", src->rating_col),
				 errdetail("User %s, item %s has rating %g.", user, item, r),
				 errhint("Filter out NaN and infinite ratings in a view.")));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("rating column \"%s\" contains a negative value", src->rating_col),
			 errdetail("User %s, item %s has rating %g.", user, item, r),
			 errhint("Implicit-feedback methods take non-negative counts; filter returns out, or use method \"als_explicit\" for ratings.")));
}

typedef struct IntId
{
	int64		key;
	int32		id;
} IntId;

static int
CmpIntId(const void *a, const void *b)
{
	int64		x = ((const IntId *) a)->key;
	int64		y = ((const IntId *) b)->key;

	return (x > y) - (x < y);
}

static int
CmpTextId(const void *a, const void *b, void *arg)
{
	const RecpromoKeyDict *d = arg;

	return strcmp(d->arena + d->off[*(const int32 *) a], d->arena + d->off[*(const int32 *) b]);
}

/*
 * Sorts the dictionary's keys into keys (palloc'd in CurrentMemoryContext,
 * the layout of keys.h) and returns rank[id], each provisional id's index
 * in that order.  Frees the dictionary.
 */
static int32 *
DictFinish(RecpromoKeyDict *d, Oid type, RecpromoKeys *keys)
{
	int32	   *rank = palloc_extended(Max((Size) d->n, 1) * sizeof(int32), MCXT_ALLOC_HUGE);

	keys->kclass = d->kclass;
	keys->type = type;
	keys->n = d->n;
	keys->ints = NULL;
	keys->text_buf = NULL;
	keys->text_off = NULL;
	if (d->kclass == RECPROMO_KEY_INT)
	{
		IntId	   *pairs = palloc_extended(Max((Size) d->n, 1) * sizeof(IntId), MCXT_ALLOC_HUGE);

		for (int32 id = 0; id < d->n; id++)
		{
			pairs[id].key = d->ints[id];
			pairs[id].id = id;
		}
		qsort(pairs, d->n, sizeof(IntId), CmpIntId);
		keys->ints = palloc_extended(Max((Size) d->n, 1) * sizeof(int64), MCXT_ALLOC_HUGE);
		for (int32 r = 0; r < d->n; r++)
		{
			keys->ints[r] = pairs[r].key;
			rank[pairs[r].id] = r;
		}
		pfree(pairs);
		pfree(d->ints);
	}
	else
	{
		int32	   *order = palloc_extended(Max((Size) d->n, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
		char	   *p;

		for (int32 id = 0; id < d->n; id++)
			order[id] = id;
		qsort_arg(order, d->n, sizeof(int32), CmpTextId, d);
		keys->text_buf = palloc_extended(Max(d->arena_len, 1), MCXT_ALLOC_HUGE);
		keys->text_off = palloc_extended(((Size) d->n + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
		p = keys->text_buf;
		for (int32 r = 0; r < d->n; r++)
		{
			const char *k = d->arena + d->off[order[r]];
			Size		l = strlen(k) + 1;

			keys->text_off[r] = p - keys->text_buf;
			memcpy(p, k, l);
			p += l;
			rank[order[r]] = r;
		}
		keys->text_off[d->n] = p - keys->text_buf;
		pfree(order);
		pfree(d->arena);
		pfree(d->off);
	}
	pfree(d->hashes);
	pfree(d->slots);
	if (d->dmap)
		pfree(d->dmap);
	return rank;
}

void
RecpromoSinkFinish(RecpromoRowSink *sink, RecpromoInteractions *out)
{
	const RecpromoSource *src = sink->src;
	int64		n = sink->n;
	int32	   *urank;
	int32	   *irank;
	int64	   *colptr;
	int32	   *rows_by_col;
	double	   *vals_by_col;
	void	   *work;
	int			threads = RecpromoThreads();

	if (sink->skipped > 0)
		ereport(NOTICE,
				(errmsg("skipped %lld rows with a NULL user, item or rating",
						(long long) sink->skipped)));
	out->rows_read = n + sink->folded;
	out->rows_skipped = sink->skipped;

	/* the exact peak, now that the rows and keys are known */
	RecpromoSinkCheckMemory(src, RecpromoSinkPeakBytes((double) n, (double) sink->users.n,
													   (double) sink->items.n,
													   KeysBytes(&sink->users) + KeysBytes(&sink->items),
													   threads),
							(double) n, RECPROMO_SINK_PLAN_EXACT);

	urank = DictFinish(&sink->users, src->user_type, &out->users);
	irank = DictFinish(&sink->items, src->item_type, &out->items);
	for (int64 r = 0; r < n; r++)
	{
		sink->u[r] = urank[sink->u[r]];
		sink->i[r] = irank[sink->i[r]];
	}
	pfree(urank);
	pfree(irank);

	/* pass 1: bucket by item; the rows are then freed before the CSR exists */
	colptr = palloc_extended(((Size) out->items.n + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
	rows_by_col = RecpromoAllocLarge(Max(n, 1) * sizeof(int32));
	vals_by_col = RecpromoAllocLarge(Max(n, 1) * sizeof(double));
	work = palloc_extended(rp_csr_mt_workspace(out->items.n, threads), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_coo_bucket_by_col_mt(out->users.n, out->items.n, n, sink->u, sink->i,
												sink->v, colptr, rows_by_col, vals_by_col,
												threads, work),
						"building the interaction matrix");
	pfree(work);
	pfree(sink->u);
	pfree(sink->i);
	pfree(sink->v);
	CHECK_FOR_INTERRUPTS();

	/* pass 2: scatter by user, each row's items come out sorted */
	out->R.indptr = palloc_extended(((Size) out->users.n + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
	out->R.indices = RecpromoAllocLarge(Max(n, 1) * sizeof(int32));
	out->R.values = RecpromoAllocLarge(Max(n, 1) * sizeof(double));
	work = palloc_extended(rp_csr_mt_workspace(out->users.n, threads), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_csr_from_col_buckets_mt(out->users.n, out->items.n, colptr,
												   rows_by_col, vals_by_col, &out->R,
												   threads, work),
						"building the interaction matrix");
	pfree(work);
	pfree(colptr);
	pfree(rows_by_col);
	pfree(vals_by_col);
	sink->u = sink->i = NULL;
	sink->v = NULL;
}
