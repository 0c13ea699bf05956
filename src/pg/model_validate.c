/*
 * model_validate.c
 *	  Checked access to a stored model's parts (see model_validate.h).
 *
 * The pure checks live in src/core/rp_validate.c; this file finds the
 * parts, converts byte lengths to element counts, calls the checks in an
 * order where every count is trusted only after it has been compared with
 * the bytes that back it, and turns a failure into one error message shape
 * that names the model and the part.
 */
#include "postgres.h"

#include <math.h>

#include "method.h"
#include "model_validate.h"

void
RecpromoModelCorrupt(const char *model, const char *part, const char *reason)
{
	if (part != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" is corrupt: part \"%s\" %s", model, part, reason),
				 errhint("Train the model again.")));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("model \"%s\" is corrupt: %s", model, reason),
			 errhint("Train the model again.")));
	pg_unreachable();
}

void *
RecpromoModelPart(const RecpromoParts *parts, const char *model, const char *part,
				  Size elem, int64 expected, int64 *count)
{
	Size		len;
	void	   *data = RecpromoPartsGet(parts, part, 0, true, &len);
	int64		n;
	const char *reason = NULL;

	if (data == NULL)
	{
		if (expected == 0)
		{
			if (count)
				*count = 0;
			return NULL;
		}
		RecpromoModelCorrupt(model, part, "is missing");
	}
	RecpromoModelCheck(rp_validate_array_len(len, elem, &n, &reason), model, part, reason);
	if (expected >= 0 && n != expected)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" is corrupt: part \"%s\" has the wrong length", model, part),
				 errdetail("It holds %lld elements, the model's sizes call for %lld.",
						   (long long) n, (long long) expected),
				 errhint("Train the model again.")));
	if (count)
		*count = n;
	return data;
}

double *
RecpromoModelPartFinite(const RecpromoParts *parts, const char *model, const char *part,
						int64 expected)
{
	int64		n;
	double	   *x = RecpromoModelPart(parts, model, part, sizeof(double), expected, &n);
	const char *reason = NULL;

	RecpromoModelCheck(rp_validate_finite(x, n, &reason), model, part, reason);
	return x;
}

double *
RecpromoModelPartFactors(const RecpromoParts *parts, const char *model, const char *part,
						 int64 expected)
{
	int64		n;
	double	   *x = RecpromoModelPart(parts, model, part, sizeof(double), expected, &n);
	const char *reason = NULL;

	RecpromoModelCheck(rp_validate_range(x, n, -RP_VALIDATE_MAX_FACTOR, RP_VALIDATE_MAX_FACTOR,
										 &reason), model, part, reason);
	return x;
}

void
RecpromoModelCsr(const RecpromoParts *parts, const char *model, const char *prefix,
				 int32 n_rows, int32 n_cols, bool sorted, rp_csr *out)
{
	char	   *p_indptr = psprintf("%s_indptr", prefix);
	char	   *p_indices = psprintf("%s_indices", prefix);
	char	   *p_values = psprintf("%s_values", prefix);
	const char *reason = NULL;
	int64		nnz;

	if (n_rows < 0 || n_cols < 0)
		RecpromoModelCorrupt(model, p_indptr, "has a negative size");
	out->n_rows = n_rows;
	out->n_cols = n_cols;
	out->indptr = RecpromoModelPart(parts, model, p_indptr, sizeof(int64), (int64) n_rows + 1, NULL);
	out->indices = RecpromoModelPart(parts, model, p_indices, sizeof(int32), -1, &nnz);
	out->nnz = nnz;
	RecpromoModelCheck(rp_validate_indptr(out->indptr, n_rows, nnz, &reason), model, p_indptr, reason);
	RecpromoModelCheck(rp_validate_indices(out, sorted, &reason),
					   model, p_indices, reason);
	out->values = RecpromoModelPartFinite(parts, model, p_values, nnz);
}

double
RecpromoModelParamChecked(const RecpromoModel *m, const char *name, double def,
						  double min, double max)
{
	double		v = RecpromoModelParamFloat(m, name, def);

	if (!(v >= min && v <= max))
		RecpromoModelCorrupt(m->row.name, NULL,
							 psprintf("hyper-parameter \"%s\" is out of range", name));
	return v;
}
