# fuzz.mk - libFuzzer targets (tests/fuzz/README.md); included by the main
# Makefile, which provides WARN, MARIADB_CFLAGS, LIB_SRC and LIBS.
#
#   make fuzz                 every target for FUZZ_SECONDS (60) each
#   make fuzz-short           every target for 10 s (make test runs this)
#   make fuzz FUZZ_TARGETS=fuzz_pjson FUZZ_SECONDS=600
#
# The library is built a third time, with clang and coverage
# instrumentation, in build/fuzz; release and sanitizer builds are untouched.

FUZZ_CC ?= clang
FUZZ_DIR := tests/fuzz
FUZZ_BUILD := build/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -O1 -g $(WARN) -Ilib $(MARIADB_CFLAGS) \
	-fsanitize=fuzzer-no-link $(FUZZ_SAN)
FUZZ_TARGETS ?= fuzz_pjson fuzz_config fuzz_sync_config fuzz_slack_decode fuzz_report_csv
FUZZ_SECONDS ?= 60
FUZZ_LIB_OBJ = $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_BINS = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)

$(FUZZ_BUILD)/lib/%.o: lib/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libprovision.a: $(FUZZ_LIB_OBJ)
	ar rcs $@ $^

$(FUZZ_BUILD)/%: $(FUZZ_DIR)/%.c $(FUZZ_BUILD)/libprovision.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)

.PHONY: fuzz-bins
fuzz-bins: $(FUZZ_BINS)

fuzz: fuzz-bins
	@$(FUZZ_DIR)/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-short: fuzz-bins
	@$(FUZZ_DIR)/run.sh 10 $(FUZZ_TARGETS)
