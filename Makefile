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

.PHONY: all deps test-deps run stop sync test unit integration lint bench clean install deb package-check \
	san-bins fuzz fuzz-short soak
all: lib/libprovision.a $(BINS) $(EMULATOR_BIN)

deps:
	@scripts/deps.sh $(DEB_PACKAGES)

# What make test and make soak need besides: wrk for the load tests, clang
# for the fuzz targets.  A bare machine has neither.
TEST_PACKAGES = wrk clang:/usr/bin/clang
test-deps: deps
	@scripts/deps.sh $(TEST_PACKAGES)

# -MMD writes each object's real header dependencies next to it.
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# (-type f: the package's staged /etc/logrotate.d is a folder.)
-include $(shell find build -name '*.d' -type f -not -path 'build/deb/*' 2>/dev/null)

# Made anew each time: `ar r` never drops the member of a deleted source.
$(BUILD)/libprovision.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

lib/libprovision.a: $(BUILD)/libprovision.a
	cp $< $@

$(BUILD)/cron/migrations.c: $(MIGRATIONS) scripts/embed-sql.sh
	@mkdir -p $(dir $@)
	scripts/embed-sql.sh $(MIGRATIONS) > $@

$(BUILD)/cron/migrations.o: $(BUILD)/cron/migrations.c
	$(CC) $(CFLAGS) -c $< -o $@

# What each program links, for the release programs and for the sanitizer
# builds below.  The API links the migrations' names too: /readyz compares
# the schema with them.
API_DEPS = $(API_OBJ) $(BUILD)/cron/migrations.o $(BUILD)/libprovision.a
SYNC_DEPS = $(BUILD)/cron/provisioning-sync.o $(BUILD)/libprovision.a
ADMIN_DEPS = $(BUILD)/cron/provisioning-admin.o $(BUILD)/cron/admin_ops.o \
	$(BUILD)/cron/migrations.o $(BUILD)/libprovision.a

cgi-bin/provisioning-api: $(API_DEPS)
	$(CC) $(LDFLAGS) -o $@ $^ $(API_LIBS)

cron/provisioning-sync: $(SYNC_DEPS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

cron/provisioning-admin: $(ADMIN_DEPS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libprovision.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka $(LIBS)

# The three programs again with the sanitizers, for the integration and
# browser suites (make test): built in build/san/bin so that the release
# binaries, which `make run` and packages use, stay what they are.
# ($(BUILD)/bin: with SANITIZE set, as make test does, that is build/san/bin.)
FLAVOUR_BINS = $(BUILD)/bin/provisioning-api $(BUILD)/bin/provisioning-sync $(BUILD)/bin/provisioning-admin
$(BUILD)/bin/provisioning-api: $(API_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(API_LIBS)

$(BUILD)/bin/provisioning-sync: $(SYNC_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bin/provisioning-admin: $(ADMIN_DEPS)
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

# The driver of lib/'s fidelity modules (e-mail folding, pictures) for
# tests/integration/test_fidelity.py.
PROBE += build/rel/fidelity-probe
$(BUILD)/fidelity-probe: tests/fidelity-probe.c $(BUILD)/libprovision.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# lib/db's driver for tests/integration/test_database_retry.py (deadlocks).
DB_PROBE = build/rel/db-probe
$(BUILD)/db-probe: tests/db-probe.c $(BUILD)/libprovision.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# The directory snapshot's driver for tests/integration/test_directory_snapshot.py.
DIRPROBE = build/rel/directory-snapshot-probe
$(BUILD)/directory-snapshot-probe: tests/directory-snapshot-probe.c $(BUILD)/libprovision.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# The allocation-failure torture fails the library's Nth allocation: its
# calls to the allocator are redirected to the test's wrappers.
$(BUILD)/tests/test_alloc_fail: LDFLAGS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup

# The whole-stack allocation-failure torture's shim (tests/alloc-fault/,
# tests/integration/test_alloc_torture.py): preloaded into the sanitizer
# programs, so built without the sanitizers itself.
ALLOC_FAULT = build/alloc-fault/alloc_fault.so
$(ALLOC_FAULT): tests/alloc-fault/alloc_fault.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -g $(WARN) -fPIC -shared -o $@ $< -ldl

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

test: test-deps node_modules/.package-lock.json
	@$(MAKE) --no-print-directory all $(PROBE) $(DB_PROBE) $(DIRPROBE) $(ALLOC_FAULT)
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory SANITIZE=address,undefined OPT=-O1 unit-bins flavour-bins
	@$(MAKE) --no-print-directory fuzz-bins
	@scripts/test.sh

# The long forms of the reliability tests (tests/RELIABILITY.md): the crash
# matrix with 20 kills, the Slack fault storm on 20,000 people, the load
# test, on the same sanitizer stack as make test.
SOAK_TESTS ?= test_crash_matrix,test_fault_storm,test_concurrency,test_db_faults,test_alloc_torture
soak: test-deps node_modules/.package-lock.json
	@$(MAKE) --no-print-directory all $(PROBE) $(DB_PROBE) $(DIRPROBE) $(ALLOC_FAULT)
	@$(MAKE) --no-print-directory SANITIZE=address,undefined OPT=-O1 unit-bins flavour-bins
	@$(MAKE) --no-print-directory fuzz-bins
	@SOAK=1 CRASH_POINTS=20 TESTS=$(SOAK_TESTS) scripts/test.sh

# make bench: the sync at scale and the API's throughput (bench/run.sh;
# BENCH_USERS, BENCH_GROUPS, BENCH_MAPPINGS size it, BENCH_PERF=1 profiles).
BENCH_PACKAGES = wrk linux-perf:/usr/bin/perf mariadb-client:/usr/bin/mariadb-dump
NOOP = build/rel/bench-noop
$(NOOP): bench/noop.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -lfcgi

bench:
	@scripts/deps.sh $(DEB_PACKAGES) $(BENCH_PACKAGES)
	@$(MAKE) --no-print-directory all $(PROBE) $(NOOP)
	@bench/run.sh

# --- Installing and packaging (README, Operating) --------------------------
# FHS paths under PREFIX; DESTDIR stages them (the package, a chroot).
# /etc and /var stay absolute whatever PREFIX is, as FHS wants.
PREFIX ?= /usr/local
LIBEXEC = $(PREFIX)/lib/provisioning
SHARE = $(PREFIX)/share/provisioning
SYSTEMD_DIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)

install: all
	install -d $(DESTDIR)$(LIBEXEC) $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(SHARE) \
		$(DESTDIR)$(PREFIX)/share/doc/provisioning $(DESTDIR)/etc/provisioning \
		$(DESTDIR)/etc/nginx/sites-available $(DESTDIR)/etc/logrotate.d $(DESTDIR)$(SYSTEMD_DIR)
	install -m 0755 $(BINS) $(DESTDIR)$(LIBEXEC)/
	ln -sf ../lib/provisioning/provisioning-admin $(DESTDIR)$(PREFIX)/sbin/provisioning-admin
	cp -R web $(DESTDIR)$(SHARE)/
	find $(DESTDIR)$(SHARE)/web -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
	install -m 0644 cgi-bin/openapi.json slack/manifest.json $(DESTDIR)$(SHARE)/
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/provisioning/
	install -m 0640 packaging/provisioning.conf.example $(DESTDIR)/etc/provisioning/
	install -d $(DESTDIR)$(SHARE)/errors
	install -m 0644 nginx/errors/*.json $(DESTDIR)$(SHARE)/errors/
	sed -e 's|@ROOT@/web|$(SHARE)/web|g' -e 's|@ROOT@/cgi-bin/openapi.json|$(SHARE)/openapi.json|g' \
	    -e 's|@ROOT@/nginx/errors/|$(SHARE)/errors/|g' -e 's|@PICTURES@|/var/lib/provisioning/pictures|g' \
	    -e 's|@RUN@|/run/provisioning|g' -e 's|@LISTEN@|127.0.0.1:8080|g' \
	    -e 's|@ACCESS_LOG@|/var/log/nginx/provisioning-access.log|g' \
	    nginx/site.conf.in > $(DESTDIR)/etc/nginx/sites-available/provisioning
	chmod 0644 $(DESTDIR)/etc/nginx/sites-available/provisioning
	install -m 0644 packaging/logrotate $(DESTDIR)/etc/logrotate.d/provisioning
	for u in packaging/systemd/*; do \
		sed -e 's|/usr/lib/provisioning/|$(LIBEXEC)/|g' $$u > $(DESTDIR)$(SYSTEMD_DIR)/$${u##*/}; \
		chmod 0644 $(DESTDIR)$(SYSTEMD_DIR)/$${u##*/}; \
	done

# make deb: a binary package built with dpkg-deb from a staged install
# under PREFIX=/usr; dependencies from dpkg-shlibdeps.
DEB_VERSION ?= 1.0.$(shell git rev-list --count HEAD 2>/dev/null || echo 0)
DEB_ARCH = $(shell dpkg --print-architecture)
DEB_OUT ?= build
DEB_STAGE = build/deb/stage
DEB_FILE = $(DEB_OUT)/provisioning_$(DEB_VERSION)_$(DEB_ARCH).deb

deb: all
	rm -rf build/deb
	@$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(DEB_STAGE) PREFIX=/usr
	install -d -m 0755 $(DEB_STAGE)/DEBIAN build/deb/debian
	printf 'Source: provisioning\n\nPackage: provisioning\nArchitecture: any\n' > build/deb/debian/control
	cd build/deb && dpkg-shlibdeps -O $(addprefix stage/usr/lib/provisioning/,$(notdir $(BINS))) \
		| sed -n 's/^shlibs:Depends=//p' > shlibs
	sed -e 's|@VERSION@|$(DEB_VERSION)|' -e 's|@ARCH@|$(DEB_ARCH)|' \
	    -e "s|@DEPENDS@|$$(cat build/deb/shlibs)|" packaging/debian/control.in > $(DEB_STAGE)/DEBIAN/control
	install -m 0644 packaging/debian/conffiles $(DEB_STAGE)/DEBIAN/
	install -m 0755 packaging/debian/preinst packaging/debian/postinst packaging/debian/prerm \
		packaging/debian/postrm $(DEB_STAGE)/DEBIAN/
	@mkdir -p $(DEB_OUT)
	dpkg-deb --root-owner-group -Zxz --build $(DEB_STAGE) $(DEB_FILE)
	@echo "package: $(DEB_FILE)"

# The longer check: the package unpacked into a throwaway root, its API
# and its nginx site started from there, /healthz asked (README, Operating).
package-check: deb
	@scripts/package-check.sh $(DEB_FILE)

clean:
	rm -rf build lib/libprovision.a $(BINS) $(EMULATOR_BIN)
