/*
 * als.h
 *	  What forget.c shares with method_als.c: the stored form of the user
 *	  factor rows.
 *
 * Since 0.5.0 the user rows are stored in single precision, as the part
 * "als_user_f4" (n_users x dim float32, row-major); models saved by 0.4.0
 * and earlier hold "als_user" (the same rows in float64) and keep loading
 * from it unchanged.  Every writer (train, forget's rewrite) stores the
 * float32 part and rounds its in-memory rows to it; every reader goes
 * through RecpromoAlsUserFactors, which takes either form.  The item rows
 * ("als_item") and the mean ("als_mean") stay float64.
 */
#ifndef RECPROMO_ALS_H
#define RECPROMO_ALS_H

#include "postgres.h"

#include "model_store.h"
#include "rp_als.h"

#define RECPROMO_ALS_USER_F4 "als_user_f4"
#define RECPROMO_ALS_USER_F8 "als_user"	/* 0.4.0 and earlier */

/*
 * The user factor rows of model `model`, n_users x rp_als_dim(p) doubles:
 * from "als_user_f4" widened into a new array palloc'd in
 * CurrentMemoryContext, or from a 0.4.0 model's "als_user" as stored (a
 * pointer into parts, as RecpromoModelPartFactors).  Either way the length
 * must be exact and every value finite and within +-RP_VALIDATE_MAX_FACTOR;
 * for als_explicit (p->method) the rows' constant column must be 1.  A
 * model holding both parts, or neither, is corrupt.  Every failure is
 * XX001 naming the model and the part (model_validate.h).
 */
extern double *RecpromoAlsUserFactors(const RecpromoParts *parts, const char *model,
									  const rp_als_params *p, int32 n_users);

/*
 * The bytes of part "als_user_f4" for the n values of U (palloc'd in
 * CurrentMemoryContext, n * sizeof(float) bytes).  Rounds U to them in
 * place, so that whatever uses U afterwards sees exactly what is stored.
 * A value no float can hold fails with the numeric-instability error of
 * `what` (training or forgetting).
 */
extern float *RecpromoAlsUserFactorsF4(double *U, int64 n, const char *what);

#endif							/* RECPROMO_ALS_H */
