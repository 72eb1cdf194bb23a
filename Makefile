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

# CFLAGS, CPPFLAGS and LDFLAGS are the builder's (dpkg-buildflags sets them for the
# package); the warnings are ours and always on.
CFLAGS ?= -O2 -g
WARN_CFLAGS := -Wall -Wextra -Wno-unused-parameter -Werror
# BPF objects see no libc and no UAPI header: -nostdinc, kernel types from the
# checked-in vmlinux.h of the oldest kernel we support (docs/design.md), libbpf's
# bpf/*.h through a one-link include dir, clang's own stddef.h and friends.
BPF_ARCH := $(shell uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')
VMLINUX_DIR ?= bpf/include/$(BPF_ARCH)
LIBBPF_INC ?= /usr/include/bpf
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror -nostdinc \
	-isystem $(shell $(CLANG) -print-resource-dir 2>/dev/null)/include -isystem $(O)/bpf-inc \
	-Iinclude -I$(VMLINUX_DIR) -MMD -MP
USER_CFLAGS := $(CFLAGS) $(CPPFLAGS) $(WARN_CFLAGS) -Iinclude -Iloader -Itests -I$(O) -MMD -MP
LIBS := -lxdp -lbpf -lelf -lz -ljansson
# The command's own: the exporter's HTTP server.
CLI_LIBS := $(LIBS) -lmicrohttpd

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_OBJS := $(O)/bpf/xdp.bpf.o $(O)/bpf/tc.bpf.o $(O)/bpf/maps.bpf.o $(O)/bpf/sock.bpf.o $(O)/bpf/vxmit.bpf.o
SKELS := $(O)/xdp.skel.h $(O)/tc.skel.h $(O)/maps.skel.h $(O)/sock.skel.h $(O)/vxmit.skel.h
LOADER_SRCS := $(wildcard loader/*.c)
LOADER_OBJS := $(LOADER_SRCS:%.c=$(O)/%.o)
CLI := $(O)/portredir
# The CNI plugin (cni/), a second executable over the same library.
CNI := $(O)/cni/portredir
UNIT := $(O)/test_datapath
# The rule parser and model, without root or BPF.
RULES_TEST := $(O)/test_rules
RULES_TEST_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard tests/unit/test_rules*.c tests/unit/rules_*.c))

# libFuzzer (clang -fsanitize=fuzzer) for tests/fuzz/: compiler-rt of clang 14.
FUZZ_PKGS := libclang-rt-14-dev
# Debian 12 packages the build, the tests and the demo need: nftables for the
# --via-stack tests, man-db, groff-base and bash-completion for tests/integration/docs.sh,
# systemd for systemd-analyze verify in tests/integration/service.sh, prometheus for
# promtool (the exporter's output checked by a real parser, tests/integration/redirect.sh),
# strace for the interrupted-change tests (kills and kernel errors injected at
# each map write, tests/integration/apply.sh),
# libFuzzer for the fuzz suite, the CNI plugins (bridge, host-local, portmap) for
# tests/integration/cni.sh and podman with runc and a static busybox (its image)
# for tests/integration/podman.sh. A fresh debootstrap root proves the list
# (.ci/fresh-root.sh).
CNI_TEST_PKGS := containernetworking-plugins podman runc busybox-static
DEPS_PKGS := clang llvm bpftool libbpf-dev libxdp-dev xdp-tools libelf-dev zlib1g-dev \
	libjansson-dev libmicrohttpd-dev linux-libc-dev make gcc iproute2 socat python3 curl procps util-linux \
	nftables iputils-ping man-db groff-base bash-completion systemd jq prometheus strace ethtool \
	$(FUZZ_PKGS) $(CNI_TEST_PKGS)
# What `make deb` needs besides DEPS_PKGS (the rest of debian/control's Build-Depends).
DEB_PKGS := build-essential dpkg-dev debhelper fakeroot lintian

# What `make vmtest` needs besides DEPS_PKGS: qemu, a static busybox for the
# initramfs, and Debian's 6.1 kernel as the second kernel to test on.
# What `make bench` needs besides DEPS_PKGS.
BENCH_PKGS := iperf3 nftables gnuplot-nox wrk nginx-light netsniff-ng ethtool tcpdump
VM_PKGS := qemu-system-x86 busybox-static linux-image-amd64 cpio xz-utils zstd
KERNEL ?=

# Keep objects and skeletons make considers intermediate.
.SECONDARY:

.PHONY: all clean check demo deps vmdeps vmtest unit integration bench install uninstall deb fuzz
# With libFuzzer installed (make deps), all includes the fuzz harness, so a tree
# built by plain `make` holds everything `make check` runs, also where check then
# sees the tree read-only (a VM over 9p: vng, make vmtest).
HAVE_LIBFUZZER := $(wildcard $(shell $(CLANG) -print-resource-dir 2>/dev/null)/lib/linux/libclang_rt.fuzzer-*.a)
all: $(CLI) $(CNI) $(UNIT) $(RULES_TEST) $(if $(HAVE_LIBFUZZER),$(O)/fuzz_datapath) $(O)/tests/bench/xdp_pass.bpf.o

$(O)/bpf/%.bpf.o: bpf/%.bpf.c | $(O)/bpf $(O)/bpf-inc/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(@:.o=.d) -MT $@ -c $< -o $@.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $@.tmp.o
	$(Q)rm -f $@.tmp.o

# libbpf's BPF-side headers, alone in an include dir, so -nostdinc keeps glibc out.
# Order-only: the link is made once (the .d files track the headers behind it). A
# target behind the link took its date from /usr/include, older than any checkout's
# vmlinux.h, so every make remade it, which fails on the read-only tree of make vmtest.
$(O)/bpf-inc/bpf:
	$(Q)mkdir -p $(O)/bpf-inc && ln -sfn $(LIBBPF_INC) $@

$(O)/%.skel.h: $(O)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(O)/loader/%.o: loader/%.c $(SKELS) | $(O)/loader
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(O)/cli/%.o: cli/%.c $(SKELS) | $(O)/cli
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(O)/cni/%.o: cni/%.c $(SKELS) | $(O)/cni
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(O)/tests/%.o: tests/%.c $(SKELS) | $(O)/tests/unit
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(O)/libportredir.a: $(LOADER_OBJS)
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

$(CLI): $(patsubst %.c,$(O)/%.o,$(wildcard cli/*.c)) $(O)/libportredir.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CLI_LIBS)

$(CNI): $(patsubst %.c,$(O)/%.o,$(wildcard cni/*.c)) $(O)/libportredir.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

UNIT_OBJS := $(addprefix $(O)/tests/unit/,test_datapath.o harness.o fixture.o pkt.o) \
	$(patsubst %.c,$(O)/%.o,$(wildcard tests/unit/cases_*.c))
$(UNIT): $(UNIT_OBJS) $(O)/libportredir.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(RULES_TEST): $(RULES_TEST_OBJS) $(O)/libportredir.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# The datapath fuzzer: libFuzzer and ASan on the harness; the library as built.
FUZZER := $(O)/fuzz_datapath
FUZZ_TIME ?= 60
FUZZ_SRCS := $(wildcard tests/fuzz/*.c) tests/unit/pkt.c
$(FUZZER): $(FUZZ_SRCS) $(wildcard tests/fuzz/*.h) tests/unit/pkt.h $(O)/libportredir.a $(SKELS)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address -Wall -Werror -Iinclude -Iloader -Itests -Itests/unit -I$(O) \
		-o $@ $(FUZZ_SRCS) $(O)/libportredir.a $(LIBS)

$(O)/tests/bench/bench_datapath.o: $(O)/tests/bench/floor.skel.h
$(O)/bench_datapath: $(O)/tests/bench/bench_datapath.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# Case 1 (tests/bench/pps.sh): the live-frames generator, and the bare
# forwarder, drop and server counter programs that bpftool loads.
$(O)/tests/bench/%.bpf.o: tests/bench/%.bpf.c | $(O)/tests/bench $(O)/bpf-inc/bpf
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
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# The tap topology (cases 1-3): the reader that stands in for a VM's virtio backend.
$(O)/tap_reader: $(O)/tests/bench/tap_reader.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lpthread

PPS_BINS := $(O)/xdp_gen $(O)/tests/bench/xdp_fwd.bpf.o $(O)/tap_reader

$(O)/tests/bench/%.o: tests/bench/%.c $(SKELS) | $(O)/tests/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(O)/bpf $(O)/loader $(O)/cli $(O)/cni $(O)/tests/unit $(O)/tests/bench:
	$(Q)mkdir -p $@

# Install whatever of DEPS_PKGS (and VM_PKGS with VM=1, BENCH_PKGS with BENCH=1,
# DEB_PKGS with DEB=1) is missing (Debian, as root).
deps:
	@missing=$$(for p in $(DEPS_PKGS) $(if $(VM),$(VM_PKGS)) $(if $(BENCH),$(BENCH_PKGS)) $(if $(DEB),$(DEB_PKGS)); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		[ "$$(id -u)" = 0 ] || { echo "deps: run as root (sudo make ...) to install:" $$missing >&2; exit 1; }; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The previous release: main as it landed on 2026-12-02 (d49d2d8, schema 5; the
# version string was not bumped, both say 0.1.0), built from this repository's
# history for tests/integration/upgrade.sh to attach over. Move it forward at a
# release; a schema change needs the migration issue 12 asks for first.
PREV_COMMIT := d49d2d8
PREV := $(O)/prev/portredir
$(PREV):
	rm -rf $(O)/prev && mkdir -p $(O)/prev/src
	git archive $(PREV_COMMIT) | tar -x -C $(O)/prev/src
	$(MAKE) -s -C $(O)/prev/src O=$(abspath $(O)/prev/out) $(abspath $(O)/prev/out)/portredir
	cp $(O)/prev/out/portredir $@

# The previous map schema: main at e034065 (schema 4, before 6b79542 gave
# conntrack a second rewrite and rules source NAT), for tests/integration/
# migrate.sh to attach and migrate from. Move it at a schema bump, with the
# converter the bump needs (loader/migrate.c).
PREV_SCHEMA_COMMIT := e034065
PREV_SCHEMA := $(O)/prev-schema/portredir
$(PREV_SCHEMA):
	rm -rf $(O)/prev-schema && mkdir -p $(O)/prev-schema/src
	git archive $(PREV_SCHEMA_COMMIT) | tar -x -C $(O)/prev-schema/src
	$(MAKE) -s -C $(O)/prev-schema/src O=$(abspath $(O)/prev-schema/out) $(abspath $(O)/prev-schema/out)/portredir
	cp $(O)/prev-schema/out/portredir $@

check: deps
	$(MAKE) O=$(O) all
	$(MAKE) O=$(O) $(FUZZER) || echo "fuzz harness not built (tests/run.sh reports why)"
	$(MAKE) O=$(O) $(PREV) || echo "previous release not built (the upgrade suite reports why)"
	$(MAKE) O=$(O) $(PREV_SCHEMA) || echo "previous schema not built (the migrate suite reports why)"
	O=$(O) PR_SKIP="$(PR_SKIP)" tests/run.sh

unit: all
	O=$(O) tests/run.sh unit

integration: all
	O=$(O) tests/run.sh integration

demo: deps
	$(MAKE) O=$(O) all
	O=$(O) tests/demo.sh

# Fuzz the datapath for FUZZ_TIME seconds (tests/fuzz/); findings in $(O)/fuzz-findings.
fuzz: deps
	$(MAKE) O=$(O) all $(FUZZER)
	O=$(O) tests/fuzz/run.sh $(FUZZ_TIME)

# Benchmarks against nftables (tests/bench/); QUICK=1 for a short smoke run.
bench:
	$(MAKE) deps BENCH=1
	$(MAKE) O=$(O) all $(O)/bench_datapath $(PPS_BINS)
	O=$(O) QUICK=$(QUICK) tests/bench/run.sh

vmdeps:
	$(MAKE) deps VM=1

# The whole suite inside a VM on KERNEL (default: Debian's 6.1 from vmdeps).
vmtest: vmdeps
	$(MAKE) all $(FUZZER) $(PREV) $(PREV_SCHEMA)
	PR_SKIP="$(PR_SKIP)" tests/vm/vmtest.sh $(KERNEL)

# Install layout. PREFIX=/usr for a distribution package; DESTDIR stages the tree.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR ?= $(PREFIX)/share/doc/portredir
# CNI plugins: $(PREFIX)/lib/cni, so PREFIX=/usr gives Debian's CNI_PATH,
# /usr/lib/cni (podman also searches /usr/local/lib/cni; containerd's
# default is /opt/cni/bin: CNIDIR=/opt/cni/bin).
CNIDIR ?= $(PREFIX)/lib/cni
INSTALL ?= install
# Everything install puts in place, and so everything uninstall removes.
INSTALLED := $(SBINDIR)/portredir $(CNIDIR)/portredir $(MANDIR)/man8/portredir.8 $(MANDIR)/man8/portredir-cni.8 \
	$(MANDIR)/man5/portredir.conf.5 \
	$(BASHCOMPDIR)/portredir $(UNITDIR)/portredir.service $(DOCDIR)/examples/portredir.conf

# The unit's ExecStart names @SBINDIR@/portredir: it is substituted here, so the
# installed unit runs the installed binary whatever PREFIX is. Nothing is
# written to $(O), which may be read-only (make check in a VM runs this).
install: $(CLI) $(CNI)
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(CNIDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)/examples
	$(Q)$(INSTALL) -m 0755 $(CLI) $(DESTDIR)$(SBINDIR)/portredir
	$(Q)$(INSTALL) -m 0755 $(CNI) $(DESTDIR)$(CNIDIR)/portredir
	$(Q)$(INSTALL) -m 0644 docs/man/portredir.8 $(DESTDIR)$(MANDIR)/man8/portredir.8
	$(Q)$(INSTALL) -m 0644 docs/man/portredir-cni.8 $(DESTDIR)$(MANDIR)/man8/portredir-cni.8
	$(Q)$(INSTALL) -m 0644 docs/man/portredir.conf.5 $(DESTDIR)$(MANDIR)/man5/portredir.conf.5
	$(Q)$(INSTALL) -m 0644 cli/completion/portredir $(DESTDIR)$(BASHCOMPDIR)/portredir
	$(Q)$(INSTALL) -m 0644 cli/portredir.conf $(DESTDIR)$(DOCDIR)/examples/portredir.conf
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g' cli/portredir.service > $(DESTDIR)$(UNITDIR)/portredir.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/portredir.service
	$(Q)! grep -n '@[A-Z_]*@' $(DESTDIR)$(UNITDIR)/portredir.service || \
		{ echo "install: cli/portredir.service has a placeholder install does not substitute" >&2; exit 1; }

uninstall:
	$(call msg,UNINST,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	$(Q)rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null || true
	$(Q)rmdir $(DESTDIR)$(CNIDIR) 2>/dev/null || true

# The Debian package (debian/), built in debian/build so build/ is left alone;
# the .deb, its -dbgsym, .buildinfo and .changes land in $(O)/deb/, lintian-checked.
deb:
	$(MAKE) deps DEB=1
	dpkg-buildpackage -us -uc -b
	@v=$$(dpkg-parsechangelog -S Version) a=$$(dpkg-architecture -qDEB_HOST_ARCH) && \
	mkdir -p $(O)/deb && \
	mv ../portredir_$${v}_$$a.deb ../portredir-dbgsym_$${v}_$$a.deb ../portredir_$${v}_$$a.buildinfo \
		../portredir_$${v}_$$a.changes $(O)/deb/ && \
	echo "deb: $(O)/deb/portredir_$${v}_$$a.deb" && \
	lintian --fail-on error,warning $(O)/deb/portredir_$${v}_$$a.changes

clean:
	rm -rf $(O)

-include $(wildcard $(O)/bpf/*.d $(O)/loader/*.d $(O)/cli/*.d $(O)/cni/*.d $(O)/tests/unit/*.d $(O)/tests/bench/*.d)
