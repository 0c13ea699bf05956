/*
 * methods.c
 *	  The registry of training methods: one line per method file.
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "method.h"

extern const RecpromoMethod RecpromoMethodAls;
extern const RecpromoMethod RecpromoMethodAlsExplicit;
extern const RecpromoMethod RecpromoMethodPopularity;
extern const RecpromoMethod RecpromoMethodUserKnn;
extern const RecpromoMethod RecpromoMethodItemKnn;
extern const RecpromoMethod RecpromoMethodEase;
extern const RecpromoMethod RecpromoMethodContent;
extern const RecpromoMethod RecpromoMethodHybrid;
extern const RecpromoMethod RecpromoMethodFactors;
extern const RecpromoMethod RecpromoMethodSessionKnn;
extern const RecpromoMethod RecpromoMethodSparseEase;
extern const RecpromoMethod RecpromoMethodSlist;

static const RecpromoMethod *const methods[] = {
	&RecpromoMethodAls,
	&RecpromoMethodAlsExplicit,
	&RecpromoMethodPopularity,
	&RecpromoMethodUserKnn,
	&RecpromoMethodItemKnn,
	&RecpromoMethodEase,
	&RecpromoMethodContent,
	&RecpromoMethodHybrid,
	&RecpromoMethodFactors,
	&RecpromoMethodSessionKnn,
	&RecpromoMethodSparseEase,
	&RecpromoMethodSlist,
};

const RecpromoMethod *
RecpromoMethodFind(const char *name, bool missing_ok)
{
	for (size_t i = 0; i < lengthof(methods); i++)
		if (strcmp(methods[i]->name, name) == 0)
			return methods[i];
	if (!missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown method \"%s\"", name),
				 errhint("Available methods: %s.", RecpromoMethodNames())));
	return NULL;
}

char *
RecpromoMethodNames(void)
{
	StringInfoData s;

	initStringInfo(&s);
	for (size_t i = 0; i < lengthof(methods); i++)
		appendStringInfo(&s, "%s%s", i ? ", " : "", methods[i]->name);
	return s.data;
}
