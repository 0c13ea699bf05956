# recpromo: PGXS build.
#
# The install script is assembled from src/sql/*.sql (numbered parts, one per
# concern) so that each area owns its own SQL file.  Every C file under
# src/core (pure C, no PostgreSQL headers) and src/pg (the glue) is linked into
# one module.  Tests: `make installcheck` runs pg_regress over sql/*.sql;
# `test/run_all.sh` runs every suite (unit, regress, isolation, TAP).

EXTENSION  = recpromo
EXTVERSION = 0.1.0

MODULE_big = recpromo
CORE_SRCS  = $(sort $(wildcard src/core/*.c))
PG_SRCS    = $(sort $(wildcard src/pg/*.c))
OBJS       = $(CORE_SRCS:.c=.o) $(PG_SRCS:.c=.o)

SQL_PARTS  = $(sort $(wildcard src/sql/*.sql))
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
DATA       = $(wildcard $(EXTENSION)--*--*.sql)

REGRESS      = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=$(EXTENSION)

OPENBLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null || echo -I/usr/include/x86_64-linux-gnu/openblas-pthread)
OPENBLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)

PG_CPPFLAGS = -Isrc -Isrc/core $(OPENBLAS_CFLAGS) -pthread
PG_CFLAGS   = -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare $(if $(NO_WERROR),,-Werror)
SHLIB_LINK  = $(OPENBLAS_LIBS) -lpthread -lm

EXTRA_CLEAN = test/unit/build

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $^ > $@

# Pure-C unit tests of src/core under AddressSanitizer and UBSan (no server).
.PHONY: unit
unit:
	test/unit/run.sh

# Every object depends on every header (PGXS has no automatic dependencies).
$(OBJS): $(wildcard src/core/*.h src/pg/*.h)
