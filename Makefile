# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# One pipeline: clang -> bpftool gen object -> bpftool gen skeleton -> cc -> link.
# Every tool is overridable: make CLANG=clang-16 BPFTOOL=/opt/bpftool V=1

CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
AR ?= ar
PKG_CONFIG ?= pkg-config
# Debian's interpreter, where make deps installs python3-pytest.
PYTHON ?= /usr/bin/python3
ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BUILD ?= build
prefix ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0
RUN_ARGS ?= --snapshots

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_CFLAGS := -g -O2 -Wall -target bpf -D__TARGET_ARCH_$(ARCH) \
	-Iinclude -Ivmlinux/$(ARCH) -Ibpf
CFLAGS ?= -g -O2
override CFLAGS += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE \
	-iquote include -iquote user -iquote $(BUILD) -MMD -MP -DMEMOBS_VERSION='"$(VERSION)"'
LIBBPF_LIBS := $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
LDLIBS := $(LIBBPF_LIBS) -lelf -lz -lm -lpthread -lncursesw -lmicrohttpd -lcapstone -ldw -liberty

# A BPF object is linked from several units; each object gets one skeleton.
CORE_UNITS := task_iter lifecycle
# The attribution tier (uprobes, mm syscalls, faults): its own object, loaded on demand.
ATTR_UNITS := alloc_trace mm_trace
BPF_OBJS := $(BUILD)/memobs_core.bpf.o $(BUILD)/memobs_attr.bpf.o
SKELS := $(BPF_OBJS:.bpf.o=.skel.h)

USER_SRCS := $(wildcard user/*/*.c)
USER_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
LIB_OBJS := $(filter-out $(BUILD)/user/cli/main.o,$(USER_OBJS))
LIB := $(BUILD)/libmemobs.a
BIN := $(BUILD)/memobs

# pprof's profile.proto (our subset, proto/): protoc-c generates its C into
# $(BUILD)/gen/proto/, compiled into the library. It is included as
# <proto/profile.pb-c.h> (-I$(BUILD)/gen): generated code, outside user/'s layers.
PROTOC_C ?= protoc-c
PROTO_SRCS := $(wildcard proto/*.proto)
PROTO_GEN_C := $(patsubst %.proto,$(BUILD)/gen/%.pb-c.c,$(PROTO_SRCS))
PROTO_GEN_H := $(PROTO_GEN_C:.c=.h)
LIB_OBJS += $(PROTO_GEN_C:.c=.o)
override CFLAGS += -I$(BUILD)/gen
LDLIBS += -lprotobuf-c

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
WORKLOAD_SRCS := $(wildcard tests/workloads/*.c)
WORKLOAD_CXX_SRCS := $(wildcard tests/workloads/*.cc)
WORKLOAD_GO_SRCS := $(wildcard tests/workloads/*.go)
WORKLOAD_BINS := $(patsubst tests/workloads/%.c,$(BUILD)/workloads/%,$(WORKLOAD_SRCS)) \
	$(patsubst tests/workloads/%.cc,$(BUILD)/workloads/%,$(WORKLOAD_CXX_SRCS)) \
	$(patsubst tests/workloads/%.go,$(BUILD)/workloads/%,$(WORKLOAD_GO_SRCS)) \
	$(patsubst tests/workloads/%.go,$(BUILD)/workloads/%.stripped,$(WORKLOAD_GO_SRCS))
BENCH_SRCS := $(filter-out %.bpf.c,$(wildcard bench/*.c))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

# Fuzzing (issue 14): one libFuzzer harness per parser of untrusted input,
# tests/fuzz/fuzz_<name>.c, seeded from tests/fuzz/corpus/<name>/. The library
# is compiled a second time by clang with the sanitizers (and libFuzzer's
# coverage) into $(BUILD)/fuzz/, apart from the plain objects cc builds.
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_SANITIZERS := address,undefined
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all -Wall -Wextra \
	-Wno-missing-field-initializers \
	-std=gnu11 -D_GNU_SOURCE -iquote include -iquote user -iquote $(BUILD) -MMD -MP \
	-DMEMOBS_VERSION='"$(VERSION)"'
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_LIB_OBJS := $(patsubst $(BUILD)/user/%.o,$(BUILD)/fuzz/user/%.o,$(LIB_OBJS))
FUZZ_LIB := $(BUILD)/fuzz/libmemobs-fuzz.a

.DELETE_ON_ERROR:
# generated BPF objects and skeletons are kept, not deleted as intermediates
.SECONDARY: $(SKELS) $(BPF_OBJS) $(patsubst %,$(BUILD)/bpf/%.bpf.o,$(CORE_UNITS) $(ATTR_UNITS))
.PHONY: all deps run test unit-test e2e-test bench workloads format clean install vmlinux check-layers \
	fuzz fuzz-smoke fuzz-build fuzz-seeds

all: $(BIN)

deps:
	$(Q)scripts/deps.sh

run: deps all
	$(BIN) run $(RUN_ARGS)

test: deps check-layers all $(UNIT_BINS) $(WORKLOAD_BINS) $(FUZZ_BINS)
	$(Q)FUZZ_SMOKE_SECONDS=$(FUZZ_SMOKE_SECONDS) scripts/run-tests.sh $(BUILD) $(PYTHON)

unit-test: $(UNIT_BINS)
	$(Q)scripts/run-tests.sh --unit-only $(BUILD) $(PYTHON)

e2e-test: all $(WORKLOAD_BINS)
	$(Q)scripts/run-tests.sh --e2e-only $(BUILD) $(PYTHON)

workloads: $(WORKLOAD_BINS)

# Which folder of user/ may include which (docs/architecture.md).
check-layers:
	$(Q)scripts/check-layers.sh

bench: all $(WORKLOAD_BINS) $(BENCH_BINS)
	$(Q)bench/run.sh $(BUILD)

$(BUILD) $(BUILD)/bpf $(BUILD)/user $(BUILD)/tests $(BUILD)/workloads $(BUILD)/bench:
	$(Q)mkdir -p $@

# Kernel side
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/memobs_core.bpf.o: $(patsubst %,$(BUILD)/bpf/%.bpf.o,$(CORE_UNITS))
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(BUILD)/memobs_attr.bpf.o: $(patsubst %,$(BUILD)/bpf/%.bpf.o,$(ATTR_UNITS))
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@

# Userspace
$(BUILD)/user/%.o: user/%.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Generated protobuf-c code, and the objects that include it (before -MMD knows).
.SECONDARY: $(PROTO_GEN_C) $(PROTO_GEN_H)
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: %.proto
	$(call msg,PROTOC-C,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(PROTOC_C) --proto_path=. --c_out=$(BUILD)/gen $<

$(BUILD)/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/user/output/pprof.o $(BUILD)/fuzz/user/output/pprof.o $(BUILD)/tests/test_profiles: \
	$(PROTO_GEN_H)
FUZZ_CFLAGS += -I$(BUILD)/gen

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BIN): $(BUILD)/user/cli/main.o $(LIB)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Tests, workloads and benchmarks
$(BUILD)/tests/%: tests/unit/%.c $(LIB) | $(BUILD)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB) -lcmocka $(LDLIBS) $(LDFLAGS) -o $@

# Workloads are the programs under observation: built plainly, frame pointers
# kept so that deeper stack frames can be walked.
WORKLOAD_CFLAGS := -g -O2 -Wall -fno-omit-frame-pointer -pthread
$(BUILD)/workloads/%: tests/workloads/%.c | $(BUILD)/workloads
	$(call msg,WORKLOAD,$@)
	$(Q)$(CC) $(WORKLOAD_CFLAGS) $< -o $@ $(WORKLOAD_LDLIBS_$*)

# The exceptions, as most software is built: nofp_*.c and the C++ workloads
# without frame pointers (the call sites then need the CFI unwinder).
$(BUILD)/workloads/nofp_%: tests/workloads/nofp_%.c | $(BUILD)/workloads
	$(call msg,WORKLOAD,$@)
	$(Q)$(CC) -g -O2 -Wall -fomit-frame-pointer -pthread $< -o $@ $(WORKLOAD_LDLIBS_nofp_$*)

CXX ?= c++
$(BUILD)/workloads/%: tests/workloads/%.cc | $(BUILD)/workloads
	$(call msg,WORKLOAD,$@)
	$(Q)$(CXX) -g -O2 -Wall -fomit-frame-pointer -pthread $< -o $@

# Go workloads, and a stripped copy (no .symtab: names come from .gopclntab).
GO ?= go
$(BUILD)/workloads/%: tests/workloads/%.go | $(BUILD)/workloads
	$(call msg,GO,$@)
	$(Q)GOCACHE=$(abspath $(BUILD))/gocache GOPATH=$(abspath $(BUILD))/gopath GO111MODULE=off \
		$(GO) build -o $@ $<

$(BUILD)/workloads/%.stripped: $(BUILD)/workloads/%
	$(call msg,STRIP,$@)
	$(Q)strip -o $@ $<

# The detector benchmark drives the library's own detector.
$(BUILD)/bench/detector_bench: bench/detector_bench.c $(LIB) | $(BUILD)/bench
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) $(LDFLAGS) -o $@

# The aggregation benchmark drives the library's own aggregation model.
$(BUILD)/bench/agg_bench: bench/agg_bench.c $(LIB) | $(BUILD)/bench
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) $(LDFLAGS) -o $@

# The profile benchmark drives the library's pprof and folded writers.
$(BUILD)/bench/profile_bench: bench/profile_bench.c $(LIB) | $(BUILD)/bench
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) $(LDFLAGS) -o $@

# The unwinding benchmark walks its own stack with the library's unwinder (-ldl: dlopen).
$(BUILD)/bench/unwind_bench: bench/unwind_bench.c $(LIB) | $(BUILD)/bench
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) -ldl $(LDFLAGS) -o $@

# The ring-buffer benchmark feeds memobs's own consumer from a stand-in BPF producer.
$(BUILD)/bench/ringbuf_producer.bpf.o: bench/ringbuf_producer.bpf.c | $(BUILD)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -MF $(@:.o=.d) -MT $@ -c $< -o $@.tmp.o && $(BPFTOOL) gen object $@ $@.tmp.o \
		&& rm -f $@.tmp.o

$(BUILD)/bench/ringbuf_producer.skel.h: $(BUILD)/bench/ringbuf_producer.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name ringbuf_producer_bpf > $@

$(BUILD)/bench/ringbuf_bench: bench/ringbuf_bench.c $(BUILD)/bench/ringbuf_producer.skel.h $(LIB)
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) $(LDFLAGS) -o $@

$(BUILD)/bench/%: bench/%.c | $(BUILD)/bench
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(WORKLOAD_CFLAGS) $< -o $@ -lm

# Fuzzing: `make fuzz` runs each harness FUZZ_SECONDS, `make fuzz-smoke` (part
# of `make test`) FUZZ_SMOKE_SECONDS; both print executions and findings.
fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	$(Q)tests/fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SECONDS)

fuzz-smoke: $(FUZZ_BINS)
	$(Q)tests/fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SMOKE_SECONDS)

# Rewrites the committed snapshot-socket seeds: real frames, from the encoder.
fuzz-seeds: $(BUILD)/fuzz/seedgen
	$(Q)mkdir -p tests/fuzz/corpus/snapsock && $< tests/fuzz/corpus/snapsock

$(BUILD)/fuzz/seedgen: tests/fuzz/seedgen.c $(LIB)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) $(LDFLAGS) -o $@

$(BUILD)/fuzz/user/%.o: user/%.c | $(SKELS)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SANITIZERS) -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer,$(FUZZ_SANITIZERS) $< $(FUZZ_LIB) \
		$(LDLIBS) $(LDFLAGS) -o $@

install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(prefix)/sbin/memobs

format:
	clang-format -i $(wildcard user/*/*.c user/*/*.h include/*.h bpf/*.c bpf/*.h tests/unit/*.c tests/fuzz/*.c tests/workloads/*.c bench/*.c)

# Regenerate the committed vmlinux.h from this machine's kernel.
vmlinux:
	vmlinux/gen-vmlinux.sh $(ARCH)

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/bpf/*.d $(BUILD)/user/*/*.d $(BUILD)/tests/*.d $(BUILD)/bench/*.d \
	$(BUILD)/fuzz/user/*/*.d $(BUILD)/fuzz/*.d)
