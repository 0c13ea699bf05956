# recpromo: PGXS build.
#
# The install script is assembled from src/sql/*.sql (numbered parts, one per
# concern) so that each area owns its own SQL file; the update script from the
# previous release is assembled too (see "Update script" below).  Every C file under
# src/core (pure C, no PostgreSQL headers) and src/pg (the glue) is linked into
# one module.  Tests: `make installcheck` runs pg_regress over sql/*.sql;
# `test/run_all.sh` runs every suite (unit, regress, isolation, TAP).

EXTENSION  = recpromo
EXTVERSION = 0.5.0
# The previous release, and its install script frozen as it shipped (a test
# fixture, never installed: test/ref/test_upgrade.py installs it temporarily).
PREV_VERSION = 0.4.0
PREV_INSTALL = test/upgrade/$(EXTENSION)--$(PREV_VERSION).sql

MODULE_big = recpromo
CORE_SRCS  = $(sort $(wildcard src/core/*.c))
PG_SRCS    = $(sort $(wildcard src/pg/*.c))
OBJS       = $(CORE_SRCS:.c=.o) $(PG_SRCS:.c=.o)

SQL_PARTS  = $(sort $(wildcard src/sql/*.sql))
UPDATE_PARTS = $(sort $(wildcard src/update/$(PREV_VERSION)--$(EXTVERSION).*.sql))
UPDATE_SCRIPT = $(EXTENSION)--$(PREV_VERSION)--$(EXTVERSION).sql
DATA_built = $(EXTENSION)--$(EXTVERSION).sql $(UPDATE_SCRIPT)
# Released (frozen, committed) update scripts of older steps, if any.
DATA       = $(filter-out $(DATA_built),$(wildcard $(EXTENSION)--*--*.sql))

REGRESS      = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=$(EXTENSION)

# OpenBLAS: Debian's pthreads build, linked by exact directory with an rpath
# (libopenblas.so.0 in the default path is an update-alternatives link that
# may point to the serial or OpenMP build).  Not the serial build: it is not
# safe to call from several threads at once (Debian 12 builds it without
# USE_LOCKING; two threads running the Cholesky ALS solver corrupt each
# other's buffers), and the core calls BLAS from its own row-block threads.
# The pthreads build's pool, started when the library loads, is shut down
# by the loader (src/core/rp_blas.c).  Elsewhere, pass OPENBLAS_CFLAGS and
# OPENBLAS_DLOPEN (the path of a pthreads OpenBLAS) on the make command line;
# the module links no OpenBLAS (OPENBLAS_LIBS is unused; the unit tests and
# benchmarks link it through test/openblas_flags.sh).
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

# The module does not link OpenBLAS: src/core/rp_blas.c loads it on first use
# (a new backend's first recommend() need not pay its load), from this path
# when the directory is known, else by its soname.
OPENBLAS_DLOPEN ?= $(if $(OPENBLAS_LIBDIR),$(OPENBLAS_LIBDIR)/libopenblas.so.0)

PG_CPPFLAGS = -Isrc -Isrc/core $(OPENBLAS_CFLAGS) -pthread $(if $(OPENBLAS_DLOPEN),-DRP_OPENBLAS_PATH='"$(OPENBLAS_DLOPEN)"')
PG_CFLAGS   = -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare $(if $(NO_WERROR),,-Werror)
# -Bsymbolic-functions: calls between the module's own files bind at link
# time, not through 330 PLT relocations that every backend's dlopen resolved
# by searching the postgres executable and each loaded library first.
SHLIB_LINK  = -lpthread -lm -Wl,-Bsymbolic-functions

EXTRA_CLEAN = test/unit/build

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $^ > $@

# Update script.  recpromo--$(PREV_VERSION)--$(EXTVERSION).sql is, in order:
#  1. src/update/$(PREV_VERSION)--$(EXTVERSION).*.sql in name order: the
#     hand-written fragments.  00_header.sql opens the script (\echo guard,
#     posture) and drops functions whose signature cannot be replaced (renamed
#     parameter, dropped default, new return type); each area adds its own
#     fragment for what cannot be derived from the install script: new
#     columns and constraints of existing tables, data migrations, drops of
#     objects that no longer exist (models.sql: the model store).
#  2. what src/update/replaceable.pl derives from the new install script:
#     every CREATE FUNCTION / AGGREGATE / VIEW as CREATE OR REPLACE, every
#     COMMENT, GRANT and REVOKE, and every non-replaceable object (type,
#     table, sequence, index, operator, cast) that $(PREV_INSTALL) does not
#     create.  Non-replaceable objects that already existed are skipped: a
#     change to them belongs in a fragment.  A statement it cannot classify
#     (DO, INSERT...) stops the build until marked "-- @install-only" or
#     "-- @update-too" (see the script).
# So a new or changed function in any src/sql part reaches the update script
# by itself.  test/ref/test_upgrade.py checks that $(PREV_VERSION) + ALTER
# EXTENSION UPDATE gives the same catalog as a fresh install.  When
# $(EXTVERSION) is released, commit the built script as it is (released
# update scripts never change) and point PREV_VERSION at $(EXTVERSION).
$(UPDATE_SCRIPT): $(UPDATE_PARTS) $(EXTENSION)--$(EXTVERSION).sql $(PREV_INSTALL) src/update/replaceable.pl
	{ cat $(UPDATE_PARTS) && perl src/update/replaceable.pl $(PREV_INSTALL) $(EXTENSION)--$(EXTVERSION).sql; } > $@.tmp
	mv $@.tmp $@

# Pure-C unit tests of src/core under AddressSanitizer and UBSan (no server).
.PHONY: unit
unit:
	test/unit/run.sh

# Every object depends on every header (PGXS has no automatic dependencies).
$(OBJS): $(wildcard src/core/*.h src/pg/*.h)
