# Maestro - one plain GNU Makefile.
#
#   make            build build/maestro-hub, build/hubctl, build/maestro-listener
#                   and copy the dashboard's npm files into dashboard/vendor/
#   make run        install build dependencies if missing, build, start a demo
#   make test       install test dependencies if missing, build, run every suite
#   make asan       the whole suite under AddressSanitizer + UBSan
#   make fuzz       build the libFuzzer targets (clang)
#   make lint       banned functions and shellcheck
#   make bench      build/swarm, the load generator (bench/README.md)
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean
#   V=1             show the commands
#   VERSION=x.y.z   stamp this version into all three programs

CC       ?= cc
BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
OPT      ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wundef -Wwrite-strings -Werror
CPPFLAGS += -D_GNU_SOURCE -Icommon -MMD -MP
# libpq's header lives in its own directory on Debian (libpq-dev)
PQ_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
CFLAGS   += $(OPT) $(WARN) $(EXTRA_CFLAGS)
LDFLAGS  += $(EXTRA_LDFLAGS)

# The listener is one fully static file; everything else links dynamically.
# listener/static.ld drops the unwind tables (why is in the file), and
# --gc-sections the functions nothing calls.
LISTENER_STATIC ?= -static -Wl,--gc-sections -Wl,-T,listener/static.ld
LISTENER_LIBS := -lwebsockets -lssl -lcrypto -lz -lcap -lstatgrab -lpthread -ldl -lm
HUB_LIBS      := -lcjson -lwebsockets -lsqlite3 -lpq -lcurl -lgit2 -lhiredis -lssl -lcrypto -lpthread -lm
CTL_LIBS      := -lcjson -lcurl -lssl -lcrypto -lm
UNIT_LIBS     := -lcjson -lssl -lcrypto -lm

# make VERSION=x.y.z stamps the version into the three programs; the
# stamp file holds the last one, so a change rebuilds everything.
VERSION       ?=
VERSION_STAMP := $(BUILD)/.version
ifneq ($(VERSION),)
CPPFLAGS += -DMC_VERSION='"$(VERSION)"'
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

COMMON_SRC   := $(wildcard common/*.c)
HUB_SRC      := $(wildcard hub/*.c)
CTL_SRC      := $(wildcard hub/ctl/*.c)
LISTENER_SRC := $(wildcard listener/*.c)
UNIT_SRC     := $(wildcard tests/unit/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

COMMON_OBJ   := $(call obj,$(COMMON_SRC))
HUB_OBJ      := $(call obj,$(HUB_SRC))
CTL_OBJ      := $(call obj,$(CTL_SRC))
LISTENER_OBJ := $(call obj,$(LISTENER_SRC))
UNIT_OBJ     := $(call obj,$(UNIT_SRC))
LIBMC        := $(BUILD)/libmaestro-common.a

# Debian's libcjson-dev has only the shared library; the static listener
# links the same cJSON built from Debian's source package, which
# .dev/cjson-src.sh fetches (apt-get source) into the build tree.
CJSON_SRC    := $(BUILD)/cjson-src
CJSON_OBJ    := $(BUILD)/obj/cjson/cJSON.o
CJSON_A      := $(BUILD)/libcjson.a
CJSON_DEBVER := $(shell dpkg-query -W -f='$${Version}' libcjson-dev 2>/dev/null)

PROGRAMS := $(BUILD)/maestro-hub $(BUILD)/hubctl $(BUILD)/maestro-listener

# The dashboard's charting library (uPlot) and its terminal (xterm.js and
# its fit addon) come from npm, pinned in package.json and
# package-lock.json; `npm ci` installs them (and the test's playwright-core)
# once, and the build copies their files, licences included, into
# dashboard/vendor/, which the hub serves like the rest of the dashboard.
NPM_STAMP  := node_modules/.maestro-installed
VENDOR     := dashboard/vendor
VENDOR_OUT := $(VENDOR)/uPlot.iife.min.js $(VENDOR)/uPlot.min.css \
              $(VENDOR)/uPlot.LICENSE.txt \
              $(VENDOR)/xterm.mjs $(VENDOR)/xterm.css $(VENDOR)/xterm.LICENSE.txt \
              $(VENDOR)/addon-fit.mjs $(VENDOR)/addon-fit.LICENSE.txt

.PHONY: all run test asan fuzz lint install clean deps deps-test unit bench \
	FORCE

all: $(PROGRAMS) $(BUILD)/unit-tests $(VENDOR_OUT)

$(NPM_STAMP): package.json package-lock.json
	@$(if $(Q),echo "  NPM     ci")
	$(Q)npm ci --no-audit --no-fund --loglevel=error >/dev/null
	$(Q)touch $@

$(VENDOR)/uPlot.%: $(NPM_STAMP)
	@mkdir -p $(VENDOR)
	@$(if $(Q),echo "  COPY    $@")
	$(Q)cp node_modules/uplot/dist/uPlot.$* $@

$(VENDOR)/uPlot.LICENSE.txt: $(NPM_STAMP)
	@mkdir -p $(VENDOR)
	$(Q)cp node_modules/uplot/LICENSE $@

# xterm.js as an ES module (the dashboard imports it when a terminal is
# first shown) and the stylesheet it needs, linked from index.html
$(VENDOR)/xterm.mjs: $(NPM_STAMP)
	@mkdir -p $(VENDOR)
	@$(if $(Q),echo "  COPY    $@")
	$(Q)cp node_modules/@xterm/xterm/lib/xterm.mjs $@

$(VENDOR)/xterm.css: $(NPM_STAMP)
	@mkdir -p $(VENDOR)
	@$(if $(Q),echo "  COPY    $@")
	$(Q)cp node_modules/@xterm/xterm/css/xterm.css $@

$(VENDOR)/xterm.LICENSE.txt: $(NPM_STAMP)
	@mkdir -p $(VENDOR)
	$(Q)cp node_modules/@xterm/xterm/LICENSE $@

$(VENDOR)/addon-fit.mjs: $(NPM_STAMP)
	@mkdir -p $(VENDOR)
	@$(if $(Q),echo "  COPY    $@")
	$(Q)cp node_modules/@xterm/addon-fit/lib/addon-fit.mjs $@

$(VENDOR)/addon-fit.LICENSE.txt: $(NPM_STAMP)
	@mkdir -p $(VENDOR)
	$(Q)cp node_modules/@xterm/addon-fit/LICENSE $@

$(VERSION_STAMP): FORCE
	$(Q)if [ -n '$(VERSION)' ] && ! printf '%s\n' '$(VERSION)' | grep -Eqx \
		'[0-9A-Za-z][0-9A-Za-z.+~-]{0,30}'; then echo "VERSION=$(VERSION):" \
		"1 to 31 of 0-9 A-Z a-z . + ~ -, starting with a letter or" \
		"digit" >&2; exit 2; fi
	@mkdir -p $(BUILD)
	$(Q)printf '%s\n' '$(VERSION)' | cmp -s - $@ || \
		printf '%s\n' '$(VERSION)' > $@

$(BUILD)/obj/%.o: %.c $(VERSION_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(HUB_OBJ): CPPFLAGS += $(PQ_CFLAGS)

$(LIBMC): $(COMMON_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# common/ is compiled against the installed cJSON.h and linked with this
# build of the same version in the listener (the script checks that the two
# headers are one file).  A section per function lets --gc-sections drop
# what the listener never calls (cJSON's printer, its tree editing).
$(CJSON_SRC)/cJSON.c: $(CJSON_SRC)/.version-$(CJSON_DEBVER)
$(CJSON_SRC)/.version-$(CJSON_DEBVER):
	$(Q).dev/cjson-src.sh $(CJSON_SRC)
	$(Q)touch $@

$(CJSON_OBJ): $(CJSON_SRC)/cJSON.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(OPT) -std=c99 -ffunction-sections \
		-fdata-sections $(EXTRA_CFLAGS) -c -o $@ $<

$(CJSON_A): $(CJSON_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/maestro-hub: $(HUB_OBJ) $(LIBMC)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(HUB_OBJ) $(LIBMC) $(HUB_LIBS)

$(BUILD)/hubctl: $(CTL_OBJ) $(LIBMC)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CTL_OBJ) $(LIBMC) $(CTL_LIBS)

# glibc 2.36 has the files and dns resolvers built in, so the static
# getaddrinfo() needs no NSS module at run time; ld still warns about it and
# about the NSS and dlopen calls in libwebsockets and libcrypto that the
# listener never makes.  .dev/ld-quiet.awk drops exactly those warnings.
# Without unwind tables an unwinder would abort the process, so the static link
# fails if anything that starts one made it into the static image.
STATIC_EXPECTED := dlopen|initgroups|getgrgid|getgrnam|getpwnam|getpwuid|getaddrinfo|gethostbyname
UNWINDERS := pthread_exit|pthread_cancel|thrd_exit|__pthread_unwind|backtrace|__cxa_throw
$(BUILD)/maestro-listener: $(LISTENER_OBJ) $(LIBMC) $(CJSON_A) listener/static.ld
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(LISTENER_STATIC) -o $@ \
		$(LISTENER_OBJ) $(LIBMC) $(CJSON_A) $(LISTENER_LIBS) 2>$@.ld-log; \
		rc=$$?; awk -v ok='$(STATIC_EXPECTED)' -f .dev/ld-quiet.awk \
		$@.ld-log >&2; rm -f $@.ld-log; exit $$rc
	$(if $(findstring static.ld,$(LISTENER_STATIC)),$(Q)if nm $@ | \
		grep -Ew '$(UNWINDERS)'; then echo "$@: links an unwinder" \
		"but has no unwind tables (listener/static.ld)" >&2; \
		rm -f $@; exit 1; fi)

# the listener's files that need no lws, tested on their own
UNIT_LST_OBJ := $(call obj,listener/lst_seen.c listener/lst_hubs.c)
$(call obj,tests/unit/t_seen.c tests/unit/t_hubs.c): CPPFLAGS += -Ilistener

$(BUILD)/unit-tests: $(UNIT_OBJ) $(UNIT_LST_OBJ) $(LIBMC)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(UNIT_OBJ) $(UNIT_LST_OBJ) $(LIBMC) $(UNIT_LIBS)

deps:
	$(Q).dev/deps.sh build

deps-test:
	$(Q).dev/deps.sh test

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)MAESTRO_BUILD=$(BUILD) .dev/demo.sh

test: deps-test
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run.sh

# The sanitizer build lives in its own tree; the listener is linked
# dynamically there because ASan does not support static executables.
asan: deps-test
	$(Q)$(MAKE) --no-print-directory all BUILD=build-asan CC=clang \
		OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		LISTENER_STATIC=
	$(Q)MAESTRO_BUILD=build-asan MAESTRO_ASAN=1 \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run.sh

fuzz:
	$(Q)$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk

# bench/swarm, the load generator (bench/README.md)
bench:
	$(Q)$(MAKE) --no-print-directory -f bench/bench.mk BUILD=$(BUILD)

lint:
	$(Q)tests/lint.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/maestro/dashboard
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	cp -R dashboard/. $(DESTDIR)$(PREFIX)/share/maestro/dashboard/
	# what the hub serves to workstations: install.sh and a stripped listener
	install -m 0755 install.sh $(DESTDIR)$(PREFIX)/share/maestro/install.sh
	strip -o $(DESTDIR)$(PREFIX)/share/maestro/maestro-listener $(BUILD)/maestro-listener
	chmod 0755 $(DESTDIR)$(PREFIX)/share/maestro/maestro-listener
	# the docs the hub unit's Documentation= names
	install -d $(DESTDIR)$(PREFIX)/share/doc/maestro
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/maestro/
	# the units are templates: their paths follow PREFIX
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	for u in systemd/*.service.in; do \
		out=$(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$u .in); \
		sed 's|@PREFIX@|$(PREFIX)|g' $$u >$$out && chmod 0644 $$out || exit 1; \
	done

clean:
	rm -rf build build-asan $(VENDOR)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
