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

# OpenBLAS: Debian's pthreads build, linked by exact directory with an rpath
# (libopenblas.so.0 in the default path is an update-alternatives link that
# may point to the serial or OpenMP build).  Not the serial build: it is not
# safe to call from several threads at once (Debian 12 builds it without
# USE_LOCKING; two threads running the Cholesky ALS solver corrupt each
# other's buffers), and the core calls BLAS from its own row-block threads.
# The pthreads build's pool, started when the library loads, is shut down
# in _PG_init (src/pg/recpromo.c).  Elsewhere, pass OPENBLAS_CFLAGS and
# OPENBLAS_LIBS (a pthreads OpenBLAS) on the make command line.
OPENBLAS_LIBDIR ?= $(firstword $(wildcard /usr/lib/*/openblas-pthread))
ifeq ($(origin OPENBLAS_LIBS),undefined)
ifneq ($(OPENBLAS_LIBDIR),)
OPENBLAS_CFLAGS := -I/usr/include/$(notdir $(patsubst %/,%,$(dir $(OPENBLAS_LIBDIR))))/openblas-pthread
OPENBLAS_LIBS   := -L$(OPENBLAS_LIBDIR) -Wl,-rpath,$(OPENBLAS_LIBDIR) -lopenblas
else
OPENBLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
OPENBLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
endif
endif

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
