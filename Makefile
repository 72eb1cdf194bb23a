# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# portredir: build out of tree into $(O) (default build/); V=1 shows commands.

# Out of tree into $(O). In a VM the source tree is often the host's, read-only
# over 9p: then reuse a prebuilt build/ if there is one, else build in /tmp.
ifeq ($(origin O),undefined)
ifneq ($(shell test -w . && echo rw),rw)
ifneq ($(wildcard build/portredir build/test_datapath),)
O := build
$(info portredir: source tree is read-only; using the prebuilt build/)
else
O := /tmp/portredir-build
$(info portredir: source tree is read-only; building in $(O))
endif
endif
endif
O ?= build
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc

CFLAGS ?= -O2 -g -Wall -Wextra -Wno-unused-parameter -Werror
# BPF objects see no libc and no UAPI header: -nostdinc, kernel types from the
# checked-in vmlinux.h of the oldest kernel we support (docs/design.md), libbpf's
# bpf/*.h through a one-link include dir, clang's own stddef.h and friends.
BPF_ARCH := $(shell uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')
VMLINUX_DIR ?= bpf/include/$(BPF_ARCH)
LIBBPF_INC ?= /usr/include/bpf
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror -nostdinc \
	-isystem $(shell $(CLANG) -print-resource-dir)/include -isystem $(O)/bpf-inc \
	-Iinclude -I$(VMLINUX_DIR) -MMD -MP
USER_CFLAGS := $(CFLAGS) -Iinclude -Iloader -Itests -I$(O) -MMD -MP
LIBS := -lxdp -lbpf -lelf -lz -ljansson

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_OBJS := $(O)/bpf/xdp.bpf.o $(O)/bpf/tc.bpf.o $(O)/bpf/maps.bpf.o
SKELS := $(O)/xdp.skel.h $(O)/tc.skel.h $(O)/maps.skel.h
LOADER_SRCS := $(wildcard loader/*.c)
LOADER_OBJS := $(LOADER_SRCS:%.c=$(O)/%.o)
CLI := $(O)/portredir
UNIT := $(O)/test_datapath

# Debian 12 packages the build, the tests and the demo need (systemd for
# systemd-analyze verify on the unit; it is not started).
DEPS_PKGS := clang llvm bpftool libbpf-dev libxdp-dev xdp-tools libelf-dev zlib1g-dev \
	libjansson-dev linux-libc-dev make gcc iproute2 socat python3 curl procps util-linux \
	nftables systemd jq

# What `make vmtest` needs besides DEPS_PKGS: qemu, a static busybox for the
# initramfs, and Debian's 6.1 kernel as the second kernel to test on.
# What `make bench` needs besides DEPS_PKGS.
BENCH_PKGS := iperf3 nftables gnuplot-nox wrk nginx-light netsniff-ng ethtool tcpdump
VM_PKGS := qemu-system-x86 busybox-static linux-image-amd64 cpio xz-utils zstd
KERNEL ?=

# Keep objects and skeletons make considers intermediate.
.SECONDARY:

.PHONY: all clean check demo deps vmdeps vmtest unit integration bench
all: $(CLI) $(UNIT)

$(O)/bpf/%.bpf.o: bpf/%.bpf.c $(O)/bpf-inc/bpf/bpf_helpers.h | $(O)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(@:.o=.d) -MT $@ -c $< -o $@.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $@.tmp.o
	$(Q)rm -f $@.tmp.o

# libbpf's BPF-side headers, alone in an include dir, so -nostdinc keeps glibc out.
# The target resolves through the link to its own prerequisite, so it is never
# newer or older than it: a prerequisite from the tree (vmlinux.h, whose changes
# the objects' .d files track) would remake it on every run, which fails on a
# read-only tree (a VM's 9p root).
$(O)/bpf-inc/bpf/bpf_helpers.h: $(LIBBPF_INC)/bpf_helpers.h
	$(Q)mkdir -p $(O)/bpf-inc && ln -sfn $(LIBBPF_INC) $(O)/bpf-inc/bpf

$(O)/%.skel.h: $(O)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(O)/loader/%.o: loader/%.c $(SKELS) | $(O)/loader
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(O)/cli/%.o: cli/%.c $(SKELS) | $(O)/cli
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(O)/tests/%.o: tests/%.c $(SKELS) | $(O)/tests/unit
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(O)/libportredir.a: $(LOADER_OBJS)
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

$(CLI): $(O)/cli/portredir.o $(O)/libportredir.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(UNIT): $(O)/tests/unit/test_datapath.o $(O)/libportredir.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(O)/bench_datapath: $(O)/tests/bench/bench_datapath.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

# Case 1 (tests/bench/pps.sh): the live-frames generator, and the bare
# forwarder, drop and server counter programs that bpftool loads.
$(O)/tests/bench/%.bpf.o: tests/bench/%.bpf.c $(O)/bpf-inc/bpf/bpf_helpers.h | $(O)/tests/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(@:.o=.d) -MT $@ -c $< -o $@.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $@.tmp.o
	$(Q)rm -f $@.tmp.o

$(O)/tests/bench/%.skel.h: $(O)/tests/bench/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(O)/tests/bench/xdp_gen.o: tests/bench/xdp_gen.c $(O)/tests/bench/xdp_gen.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -I$(O)/tests/bench -c $< -o $@

$(O)/xdp_gen: $(O)/tests/bench/xdp_gen.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

PPS_BINS := $(O)/xdp_gen $(O)/tests/bench/xdp_fwd.bpf.o

$(O)/tests/bench/%.o: tests/bench/%.c $(SKELS) | $(O)/tests/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(O)/bpf $(O)/loader $(O)/cli $(O)/tests/unit $(O)/tests/bench:
	$(Q)mkdir -p $@

# Install whatever of DEPS_PKGS (and VM_PKGS with VM=1) is missing (Debian, as root).
deps:
	@missing=$$(for p in $(DEPS_PKGS) $(if $(VM),$(VM_PKGS)) $(if $(BENCH),$(BENCH_PKGS)); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		[ "$$(id -u)" = 0 ] || { echo "deps: run as root (sudo make ...) to install:" $$missing >&2; exit 1; }; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# tests/integration/docs.sh: man --warnings, and the completion with bash-completion loaded
DEPS_PKGS += man-db groff-base bash-completion

check: deps
	$(MAKE) O=$(O) all
	O=$(O) tests/run.sh

unit: all
	O=$(O) tests/run.sh unit

integration: all
	O=$(O) tests/run.sh integration

demo: deps
	$(MAKE) O=$(O) all
	O=$(O) tests/demo.sh

# Benchmarks against nftables (tests/bench/); QUICK=1 for a short smoke run.
bench:
	$(MAKE) deps BENCH=1
	$(MAKE) O=$(O) all $(O)/bench_datapath $(PPS_BINS)
	O=$(O) QUICK=$(QUICK) tests/bench/run.sh

vmdeps:
	$(MAKE) deps VM=1

# The whole suite inside a VM on KERNEL (default: Debian's 6.1 from vmdeps).
vmtest: vmdeps
	$(MAKE) all
	tests/vm/vmtest.sh $(KERNEL)

clean:
	rm -rf $(O)

-include $(wildcard $(O)/bpf/*.d $(O)/loader/*.d $(O)/cli/*.d $(O)/tests/unit/*.d $(O)/tests/bench/*.d)
