/*
 * method_popularity.c
 *	  The `popularity` method: every user gets the most popular items.
 *
 * The baseline every personalised model must beat, and the fallback for
 * users with no history.  Popularity is the number of distinct users who
 * interacted with an item (by => 'users', the default: one enthusiastic
 * buyer of 500 units does not make a bestseller) or the sum of the
 * interaction values (by => 'sum', e.g. units sold).
 */
#include "postgres.h"

#include "method.h"
#include "model_validate.h"

typedef struct PopState
{
	double	   *pop;
} PopState;

static void
PopTrain(RecpromoTrainState *ts)
{
	static const char *const choices[] = {"users", "sum", NULL};
	const char *by = RecpromoParamChoice(ts, "by", "users", choices);
	const rp_csr *R = &ts->data.R;
	double	   *pop = palloc_extended(Max((Size) R->n_cols, 1) * sizeof(double), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	bool		sum = strcmp(by, "sum") == 0;

	for (int64 k = 0; k < R->nnz; k++)
		pop[R->indices[k]] += sum ? R->values[k] : 1.0;
	RecpromoPartsAdd(&ts->parts, "pop", pop, (Size) R->n_cols * sizeof(double));
}

static void
PopLoad(RecpromoModel *m, const RecpromoParts *parts)
{
	PopState   *st = palloc(sizeof(PopState));

	st->pop = RecpromoModelPartFinite(parts, m->row.name, "pop", m->items.n);
	m->state = st;
}

/* Shared model cache (model_image.c): the scores as they are. */
static void
PopImageSave(const RecpromoModel *m, RecpromoImageSink *sink)
{
	const PopState *st = m->state;

	RecpromoImageAdd(sink, "pop", st->pop, (Size) m->items.n * sizeof(double));
}

static bool
PopImageAttach(RecpromoModel *m)
{
	PopState   *st = palloc(sizeof(PopState));

	/* read-only mapping: PopScore copies out of it */
	st->pop = (double *) RecpromoImageSection(m, "pop", sizeof(double), m->items.n);
	m->state = st;
	return st->pop != NULL;
}

static void
PopScore(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
		 int32 nhist, double *scores)
{
	const PopState *st = m->state;

	memcpy(scores, st->pop, (Size) m->items.n * sizeof(double));
}

const RecpromoMethod RecpromoMethodPopularity = {
	.name = "popularity",
	.description = "most popular items (distinct users, or summed values)",
	.nonneg = false,
	.history_free = true,
	.train = PopTrain,
	.load = PopLoad,
	.score = PopScore,
	.image_save = PopImageSave,
	.image_attach = PopImageAttach,
};
