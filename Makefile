# Slack user-provisioning service.  `make run` and `make test` are the two
# commands a newcomer needs; see README.md.

CC ?= gcc
SANITIZE ?=
OPT ?= -O2
MARIADB_CFLAGS = $(shell mariadb_config --include 2>/dev/null)
MARIADB_LIBS = $(shell mariadb_config --libs 2>/dev/null)
WARN = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
       -Wno-format-nonliteral
CFLAGS = -std=c11 -D_GNU_SOURCE $(OPT) -g $(WARN) -Ilib $(MARIADB_CFLAGS) \
         $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer)
LDFLAGS = $(if $(SANITIZE),-fsanitize=$(SANITIZE))
# libfcgi only for the FastCGI program: lib/ and the cron binaries know no
# transport (STYLE.md habit 7), and scripts/check-layers.sh proves it.
LIBS = -ljson-c -lcurl -lssl -lcrypto -lcrypt $(MARIADB_LIBS) -lpthread
API_LIBS = -lfcgi $(LIBS)

# Objects of a build live apart from its flavour's other builds.
BUILD = build/$(if $(SANITIZE),san,rel)

DEB_PACKAGES = gcc make pkg-config libfcgi-dev spawn-fcgi libjson-c-dev \
  libcurl4-openssl-dev libmariadb-dev mariadb-server mariadb-client nginx:/usr/sbin/nginx \
  libssl-dev libcmocka-dev libcrypt-dev curl python3:/usr/bin/python3 openssl \
  chromium:/usr/bin/chromium nodejs:/usr/bin/node npm:/usr/bin/npm

# lib/ is in folders by layer (README, Architecture); every .c below it.
LIB_SRC = $(shell find lib -name '*.c' | sort)
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
API_SRC = $(wildcard cgi-bin/*.c)
API_OBJ = $(API_SRC:%.c=$(BUILD)/%.o)
MIGRATIONS = $(sort $(wildcard sql/*.sql))
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

include tests/slack-emulator/emulator.mk
include tests/fuzz/fuzz.mk

BINS = cgi-bin/provisioning-api cron/provisioning-sync cron/provisioning-admin

.PHONY: all deps run stop sync test unit integration lint bench clean san-bins fuzz fuzz-short soak
all: lib/libprovision.a $(BINS) $(EMULATOR_BIN)

deps:
	@scripts/deps.sh $(DEB_PACKAGES)

# -MMD writes each object's real header dependencies next to it.
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

-include $(shell find build -name '*.d' 2>/dev/null)

$(BUILD)/libprovision.a: $(LIB_OBJ)
	ar rcs $@ $^

lib/libprovision.a: $(BUILD)/libprovision.a
	cp $< $@

$(BUILD)/cron/migrations.c: $(MIGRATIONS) scripts/embed-sql.sh
	@mkdir -p $(dir $@)
	scripts/embed-sql.sh $(MIGRATIONS) > $@

$(BUILD)/cron/migrations.o: $(BUILD)/cron/migrations.c
	$(CC) $(CFLAGS) -c $< -o $@

cgi-bin/provisioning-api: $(API_OBJ) $(BUILD)/libprovision.a
	$(CC) $(LDFLAGS) -o $@ $^ $(API_LIBS)

cron/provisioning-sync: $(BUILD)/cron/provisioning-sync.o $(BUILD)/libprovision.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

cron/provisioning-admin: $(BUILD)/cron/provisioning-admin.o $(BUILD)/cron/migrations.o $(BUILD)/libprovision.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libprovision.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka $(LIBS)

# The three programs again with the sanitizers, for the integration and
# browser suites (make test): built in build/san/bin so that the release
# binaries, which `make run` and packages use, stay what they are.
# ($(BUILD)/bin: with SANITIZE set, as make test does, that is build/san/bin.)
FLAVOUR_BINS = $(BUILD)/bin/provisioning-api $(BUILD)/bin/provisioning-sync $(BUILD)/bin/provisioning-admin
$(BUILD)/bin/provisioning-api: $(API_OBJ) $(BUILD)/libprovision.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(API_LIBS)

$(BUILD)/bin/provisioning-sync: $(BUILD)/cron/provisioning-sync.o $(BUILD)/libprovision.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bin/provisioning-admin: $(BUILD)/cron/provisioning-admin.o $(BUILD)/cron/migrations.o $(BUILD)/libprovision.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

san-bins:
	@$(MAKE) --no-print-directory SANITIZE=address,undefined OPT=-O1 flavour-bins

.PHONY: flavour-bins
flavour-bins: $(FLAVOUR_BINS)

# The Slack client's driver for tests/integration/test_slack_client.py.
PROBE = build/rel/slack-client-probe
$(BUILD)/slack-client-probe: tests/slack-client-probe.c $(BUILD)/libprovision.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# The allocation-failure torture fails the library's Nth allocation: its
# calls to the allocator are redirected to the test's wrappers.
$(BUILD)/tests/test_alloc_fail: LDFLAGS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup

# Unit tests are built and run with the sanitizers.
.PHONY: unit-bins
unit-bins: $(UNIT_BIN)

# The layering and banned-function rules of STYLE.md, checked by a script
# (curl's checksrc habit) on the sources and on the built objects.
lint: $(BUILD)/libprovision.a
	@scripts/check-layers.sh $(BUILD)

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/stack.sh run

stop:
	@scripts/stack.sh stop "$(CURDIR)/run"

sync: all
	@PROVISIONING_CONFIG="$(CURDIR)/run/provisioning.conf" cron/provisioning-sync

# playwright-core for the browser tests, from the lockfile (it downloads no
# browser: the tests drive Debian's chromium).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

test: deps node_modules/.package-lock.json
	@$(MAKE) --no-print-directory all $(PROBE)
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory SANITIZE=address,undefined OPT=-O1 unit-bins flavour-bins
	@$(MAKE) --no-print-directory fuzz-bins
	@scripts/test.sh

# The long forms of the reliability tests (tests/RELIABILITY.md): the crash
# matrix with 20 kills, the Slack fault storm on 20,000 people, the load
# test, on the same sanitizer stack as make test.
SOAK_TESTS ?= test_crash_matrix,test_fault_storm,test_concurrency,test_db_faults
soak: deps node_modules/.package-lock.json
	@$(MAKE) --no-print-directory all $(PROBE)
	@$(MAKE) --no-print-directory SANITIZE=address,undefined OPT=-O1 unit-bins flavour-bins
	@$(MAKE) --no-print-directory fuzz-bins
	@SOAK=1 CRASH_POINTS=20 TESTS=$(SOAK_TESTS) scripts/test.sh

bench: deps
	@$(MAKE) --no-print-directory all $(PROBE)
	@bench/run.sh

clean:
	rm -rf build lib/libprovision.a $(BINS) $(EMULATOR_BIN)
