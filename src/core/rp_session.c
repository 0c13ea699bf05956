/*
 * rp_session.c
 *	  Recency weights of a session and the V-SKNN scorer (rp_session.h has
 *	  the definitions and the references).
 *
 * The scorer touches only the past sessions that share an item with the
 * current one: similarities accumulate in a per-session array that is
 * cleared again, entry by entry, before returning, so a call costs the
 * postings of the session's items plus the items of the kept neighbours,
 * never the number of sessions.  Orders are total (time, then index), so
 * the same model and session always give the same scores.
 */
#include "rp_session.h"

#include <stdlib.h>
#include <string.h>

int32_t
rp_session_weights(const int32_t *seq, int32_t n, int32_t n_items, int32_t *out_idx,
				   double *out_w, unsigned char *work)
{
	int32_t		L = 0;
	int32_t		m = 0;
	int32_t		pos = 0;

	for (int32_t a = 0; a < n; a++)
		if (seq[a] >= 0 && seq[a] < n_items)
			L++;
	if (L == 0)
		return 0;
	/* latest occurrence wins: walk backwards, first sighting keeps its weight */
	pos = L;
	for (int32_t a = n - 1; a >= 0; a--)
	{
		int32_t		i = seq[a];

		if (i < 0 || i >= n_items)
			continue;
		if (!work[i])
		{
			work[i] = 1;
			out_idx[m] = i;
			out_w[m] = (double) pos / (double) L;
			m++;
		}
		pos--;
	}
	for (int32_t q = 0; q < m; q++)
		work[out_idx[q]] = 0;
	rp_sort_pairs(out_idx, out_w, m);
	return m;
}

typedef struct Cand
{
	double		sim;
	double		time;
	int32_t		s;
} Cand;

/* most recent first, then lower index */
static int
ByRecency(const void *a, const void *b)
{
	const Cand *x = a;
	const Cand *y = b;

	if (x->time != y->time)
		return x->time > y->time ? -1 : 1;
	return (x->s > y->s) - (x->s < y->s);
}

/* most similar first, then most recent, then lower index */
static int
BySimilarity(const void *a, const void *b)
{
	const Cand *x = a;
	const Cand *y = b;

	if (x->sim != y->sim)
		return x->sim > y->sim ? -1 : 1;
	return ByRecency(a, b);
}

size_t
rp_sknn_workspace(int32_t n_sessions)
{
	size_t		n = (size_t) (n_sessions > 0 ? n_sessions : 1);

	/* sim, touched (padded to 8 bytes), candidates */
	return n * sizeof(double) + (n + 1) * sizeof(int32_t) + n * sizeof(Cand);
}

rp_status
rp_sknn_score(const rp_csr *sessions, const rp_csr *inverted, const double *session_time,
			  const int32_t *hist, const double *w, int32_t nhist, int32_t exclude,
			  int32_t sample_size, int32_t neighbours, double *scores, void *work)
{
	int32_t		ns = sessions->n_rows;
	int32_t		ni = sessions->n_cols;
	double	   *sim = work;
	int32_t    *touched = (int32_t *) (sim + (ns > 0 ? ns : 1));
	Cand	   *cand = (Cand *) (void *) (touched + (ns > 0 ? ns : 1) + ((ns > 0 ? ns : 1) & 1));
	int32_t		nt = 0;
	int32_t		keep;

	if (sample_size < 1 || neighbours < 1 || inverted->n_rows != ni || inverted->n_cols != ns)
		return RP_EINVAL;
	/* checked before anything is touched: sim[] must stay all zero between calls */
	for (int32_t h = 0; h < nhist; h++)
		if (hist[h] < 0 || hist[h] >= ni)
			return RP_EINVAL;
	for (int32_t j = 0; j < ni; j++)
		scores[j] = 0.0;
	/* similarities of every candidate */
	for (int32_t h = 0; h < nhist; h++)
	{
		int32_t		i = hist[h];

		if (!(w[h] > 0.0))
			continue;			/* no weight: no evidence (and sim > 0 marks a candidate) */
		for (int64_t p = inverted->indptr[i]; p < inverted->indptr[i + 1]; p++)
		{
			int32_t		s = inverted->indices[p];

			if (s == exclude)
				continue;
			if (sim[s] == 0.0)
				touched[nt++] = s;
			sim[s] += w[h];
		}
	}
	for (int32_t t = 0; t < nt; t++)
	{
		cand[t].s = touched[t];
		cand[t].sim = sim[touched[t]];
		cand[t].time = session_time[touched[t]];
		sim[touched[t]] = 0.0;
	}
	/* the sample: the most recent candidates */
	if (nt > sample_size)
	{
		qsort(cand, (size_t) nt, sizeof(Cand), ByRecency);
		nt = sample_size;
	}
	qsort(cand, (size_t) nt, sizeof(Cand), BySimilarity);
	keep = nt < neighbours ? nt : neighbours;
	for (int32_t c = 0; c < keep; c++)
	{
		int32_t		s = cand[c].s;

		for (int64_t p = sessions->indptr[s]; p < sessions->indptr[s + 1]; p++)
			scores[sessions->indices[p]] += cand[c].sim;
	}
	return RP_OK;
}
