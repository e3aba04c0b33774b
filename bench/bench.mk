# bench/bench.mk - build the load generator and the round-trip client:
# make -f bench/bench.mk
#
#   make -f bench/bench.mk               build/swarm, build/rtt, build/jsonbench
#   make -f bench/bench.mk BUILD=/tmp/b  /tmp/b/swarm
#   make -f bench/bench.mk clean-bench
#   V=1                                  show the commands
#
# It compiles common/*.c itself into $(BUILD)/bench-obj/, so it needs
# nothing from the main Makefile and never races with its objects.  From
# the main Makefile: bench: ; $(Q)$(MAKE) --no-print-directory -f bench/bench.mk BUILD=$(BUILD)

CC       ?= cc
BUILD    ?= build
OPT      ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wundef -Wwrite-strings -Werror
BENCH_CPPFLAGS := -D_GNU_SOURCE -Icommon -Ibench -MMD -MP
BENCH_CFLAGS   := $(OPT) $(WARN) $(EXTRA_CFLAGS)
BENCH_LIBS     := -lcjson -lwebsockets -lcurl -lssl -lcrypto -lm -lpthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

BENCH_SRC := $(wildcard bench/swarm*.c) $(wildcard common/*.c)
JSONBENCH_OBJ := $(BUILD)/bench-obj/bench/jsonbench.o
SIGBENCH_OBJ := $(BUILD)/bench-obj/bench/sigbench.o
BENCH_OBJ := $(patsubst %.c,$(BUILD)/bench-obj/%.o,$(BENCH_SRC))
COMMON_OBJ := $(patsubst %.c,$(BUILD)/bench-obj/%.o,$(wildcard common/*.c))
RTT_OBJ := $(BUILD)/bench-obj/bench/rtt.o $(COMMON_OBJ)

.PHONY: all clean-bench
all: $(BUILD)/swarm $(BUILD)/rtt $(BUILD)/jsonbench $(BUILD)/sigbench

$(BUILD)/bench-obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BENCH_CPPFLAGS) $(BENCH_CFLAGS) -c -o $@ $<

$(BUILD)/swarm: $(BENCH_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(BENCH_CFLAGS) $(EXTRA_LDFLAGS) -o $@ $(BENCH_OBJ) $(BENCH_LIBS)

# the REST round-trip client (bench/run's command figures)
$(BUILD)/rtt: $(RTT_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(BENCH_CFLAGS) $(EXTRA_LDFLAGS) -o $@ $(RTT_OBJ) -lcjson -lssl -lcrypto -lm

# the JSON code's cost per heartbeat (bench/jsonbench.c)
$(BUILD)/jsonbench: $(JSONBENCH_OBJ) $(COMMON_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(BENCH_CFLAGS) $(EXTRA_LDFLAGS) -o $@ $(JSONBENCH_OBJ) $(COMMON_OBJ) -lcjson -lssl -lcrypto -lm

# a signed command's check on the listener (bench/sigbench.c)
$(BUILD)/sigbench: $(SIGBENCH_OBJ) $(COMMON_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(BENCH_CFLAGS) $(EXTRA_LDFLAGS) -o $@ $(SIGBENCH_OBJ) $(COMMON_OBJ) -lcjson -lssl -lcrypto -lm

clean-bench:
	rm -rf $(BUILD)/bench-obj $(BUILD)/swarm $(BUILD)/rtt $(BUILD)/jsonbench \
	    $(BUILD)/sigbench

-include $(shell find $(BUILD)/bench-obj -name '*.d' 2>/dev/null)
