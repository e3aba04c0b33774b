# make fuzz: build the libFuzzer targets with clang and run each briefly
# over its corpus.  FUZZ_SECONDS=60 make fuzz runs longer.
# cJSON is compiled from listener/cjson (Debian's source) with the same
# instrumentation, so coverage and AddressSanitizer reach inside it.
CC := clang
FUZZ_SECONDS ?= 20
B := build-fuzz
FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icommon -std=c11
COMMON := $(wildcard common/*.c) listener/cjson/cJSON.c

.PHONY: all
all: $(B)/fuzz_proto $(B)/fuzz_config
	$(B)/fuzz_proto -max_total_time=$(FUZZ_SECONDS) -max_len=4096 $(B)/corpus-proto tests/fuzz/corpus/proto
	$(B)/fuzz_config -max_total_time=$(FUZZ_SECONDS) -max_len=4096 $(B)/corpus-config tests/fuzz/corpus/config

$(B)/fuzz_%: tests/fuzz/fuzz_%.c $(COMMON)
	@mkdir -p $(B) $(B)/corpus-proto $(B)/corpus-config
	$(CC) $(FLAGS) -o $@ $^ -lssl -lcrypto -lm
