# governance -- PGXS build, plus the project's own targets:
#   make test   install what is missing, build with -Werror, start a throwaway
#               preloaded cluster and run every suite (see test/run.sh)
#   make demo   same set-up, then a guided tour (see test/demo.sh)
#   make fuzz   libFuzzer harnesses (see contrib/fuzz)
#   make bench  pgbench side-by-side benchmarks (see test/bench)
#   make check-layers  no include runs up a layer of src/ (docs/DESIGN.md)
#   make indent        lay out the C sources as pgindent does (test/indent.py;
#                      needs pg_bsd_indent: apt-get install pg-bsd-indent)
#   make check-indent  change nothing: print the diff and fail if make indent
#                      would change a file (not part of make test)
#   make conformance   the policy language against the reference Cedar, at
#               length (test/cedar; make test runs 20,000 decisions of it)

EXTENSION = governance
EXTVERSION = 0.2
MODULE_big = governance
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# The install script of the current version is assembled from one part per
# subsystem, in name order (sql/install/NN_name.sql).  Released versions'
# scripts are frozen in sql/released/ (never edited; a version whose
# placement differs from governance.control's has its secondary control file
# there too), and each version is
# reached from the one before by sql/upgrade/governance--A--B.sql
# (ALTER EXTENSION governance UPDATE; test/system/upgrade.sh).
INSTALL_PARTS = $(sort $(wildcard sql/install/*.sql))
DATA_built = governance--$(EXTVERSION).sql
DATA = $(wildcard sql/released/governance--*.sql) $(wildcard sql/released/governance--*.control) \
	$(wildcard sql/upgrade/governance--*--*.sql)
DOCS = README.md

PG_CPPFLAGS = -I$(srcdir)/src -DGOV_LIBRARY_VERSION='"$(EXTVERSION)"'
SHLIB_LINK = -lsodium -lcrypto

# Debian installs one pg_config per major version; prefer 15, the target.
ifeq ($(origin PG_CONFIG), undefined)
PG_CONFIG := $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
endif

# Regression tests for "make installcheck": self-contained, in a temporary
# instance (installed binaries, the library preloaded by test/regress.conf),
# as pg_cron's are.  make test runs the same files against its own cluster.
REGRESS = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --temp-instance=./tmp_check --temp-config=$(srcdir)/test/regress.conf
EXTRA_CLEAN = tmp_check

PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifeq ($(PGXS),)
# No server development files yet: only the bootstrap targets below work.
all install installcheck:
	@echo "PostgreSQL server development files not found; run 'make test' (as root it installs them)" >&2; exit 1
else
include $(PGXS)

# contrib/governance-verify, the offline verifier (issue 12): built, installed
# into `pg_config --bindir` and cleaned with the extension.
VERIFY_MAKE = $(MAKE) -C $(srcdir)/contrib/governance-verify PG_CONFIG='$(PG_CONFIG)'
all: governance-verify
install: install-governance-verify
clean: clean-governance-verify
governance-verify:
	+@$(VERIFY_MAKE) all
install-governance-verify: governance-verify
	+@$(VERIFY_MAKE) install
clean-governance-verify:
	+@$(VERIFY_MAKE) clean
.PHONY: governance-verify install-governance-verify clean-governance-verify

# contrib/governance-run, the supervisor of agent processes (issue 13):
# the same way (libpq from Debian's libpq-dev, test/deps.sh)
RUN_MAKE = $(MAKE) -C $(srcdir)/contrib/governance-run PG_CONFIG='$(PG_CONFIG)'
all: governance-run
install: install-governance-run
clean: clean-governance-run
governance-run:
	+@$(RUN_MAKE) all
install-governance-run: governance-run
	+@$(RUN_MAKE) install
clean-governance-run:
	+@$(RUN_MAKE) clean
.PHONY: governance-run install-governance-run clean-governance-run
endif

governance--$(EXTVERSION).sql: $(INSTALL_PARTS)
	@{ echo '/* $@ -- assembled from sql/install/ by the Makefile; do not edit */'; \
	   echo; \
	   echo '\\echo Use "CREATE EXTENSION governance" to load this file. \\quit'; \
	   for f in $(INSTALL_PARTS); do echo; echo "-- $$f"; cat $$f; done; } > $@

.PHONY: test demo fuzz bench deps print-regress check-layers indent check-indent conformance

deps:
	@sh test/deps.sh

test:
	@sh test/run.sh

demo:
	@sh test/demo.sh

print-regress:
	@echo $(REGRESS)

# src/ is layered: no include runs up a layer, no circle (docs/DESIGN.md)
check-layers:
	@python3 test/check_layers.py

# PostgreSQL's layout: pg_bsd_indent with pgindent's options and a typedefs
# list from the server headers and our sources (test/indent.py)
PG_BSD_INDENT ?= pg_bsd_indent
INDENT_RUN = command -v $(PG_BSD_INDENT) >/dev/null 2>&1 || { \
		echo "$(PG_BSD_INDENT) not found; install it: apt-get install pg-bsd-indent" >&2; exit 1; }; \
	PG_CONFIG='$(PG_CONFIG)' PG_BSD_INDENT='$(PG_BSD_INDENT)' python3 test/indent.py

indent:
	@$(INDENT_RUN)

check-indent:
	@$(INDENT_RUN) --check

bench:
	@sh test/deps.sh && sh test/bench/run.sh

# issue 17: CONFORMANCE_DECISIONS (default 500000) decisions against Cedar
conformance:
	@GOV_TEST_ONLY=cedar GOV_CEDAR_DECISIONS=$${CONFORMANCE_DECISIONS:-500000} sh test/run.sh

fuzz:
	@GOV_DEPS_EXTRA="clang libclang-rt-14-dev" sh test/deps.sh && sh contrib/fuzz/run.sh
