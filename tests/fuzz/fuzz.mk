# make fuzz: build the libFuzzer targets with clang and run each briefly
# over its corpus.  FUZZ_SECONDS=60 make fuzz runs longer.
#   fuzz_proto   agent messages: parse, validate, decode, re-encode
#   fuzz_config  config files through the settings table
#   fuzz_json    the JSON reader (scan + cJSON + conversion) and the writer
# cJSON is compiled from Debian's source (.dev/cjson-src.sh fetches it)
# with the same instrumentation, so coverage and AddressSanitizer reach
# inside it.
CC := clang
FUZZ_SECONDS ?= 20
B := build-fuzz
FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icommon -std=c11
COMMON := $(wildcard common/*.c) $(B)/cjson-src/cJSON.c
TARGETS := proto config json

.PHONY: all
all: $(TARGETS:%=$(B)/fuzz_%)
	$(foreach t,$(TARGETS),$(B)/fuzz_$(t) -max_total_time=$(FUZZ_SECONDS) \
		-max_len=4096 $(B)/corpus-$(t) tests/fuzz/corpus/$(t) &&) true

$(B)/cjson-src/cJSON.c:
	.dev/cjson-src.sh $(B)/cjson-src

$(B)/fuzz_%: tests/fuzz/fuzz_%.c $(COMMON)
	@mkdir -p $(B) $(TARGETS:%=$(B)/corpus-%)
	$(CC) $(FLAGS) -o $@ $^ -lssl -lcrypto -lm
