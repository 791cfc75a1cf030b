# emulator.mk - builds the Slack emulator; included by the main Makefile,
# also usable on its own from the repository root:
#   make -f tests/slack-emulator/emulator.mk \
#        CC=gcc CFLAGS='-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g' \
#        tests/slack-emulator/slack-emulator
# Uses the including Makefile's CC, CFLAGS and LDFLAGS.

EMU_DIR := tests/slack-emulator
EMULATOR_BIN := $(EMU_DIR)/slack-emulator
EMU_SRCS := $(addprefix $(EMU_DIR)/,api.h avatars.c buf.c buf.h company.c company.h control.c \
	faults.c faults.h generate.c generate.h http.c http.h main.c methods.c \
	oauth.c record.c record.h state.c state.h tiers.c tiers.h tokens.c tokens.h util.c util.h \
	workspace.c workspace.h world.c world.h)
EMU_LIBS := -lfcgi -ljson-c -lcrypto -lm

$(EMULATOR_BIN): $(EMU_SRCS) $(EMU_DIR)/emulator.mk
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$(EMU_SRCS)) $(LDFLAGS) $(EMU_LIBS)

.PHONY: emulator-clean
emulator-clean:
	rm -f $(EMULATOR_BIN)
