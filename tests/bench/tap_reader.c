// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The far end of a tap for `make bench`'s tap topology: a userspace stand-in for a VM's virtio backend.
 *
 * tap_reader count --dev TAP --dst IPV4 --ports LO-HI --stats FILE [--secs S]
 *   Reads TAP's frames (IFF_TAP | IFF_NO_PI) as fast as it can, one read()
 *   a frame, and discards them, counting IPv4 UDP to IPV4:LO-HI ("xlated"),
 *   other UDP ("other") and whether each UDP frame's IPv4 and UDP checksums
 *   are right ("csum_ok", "csum_bad"; "csum0": UDP without a checksum).
 *   Case 1 (tests/bench/pps.sh).
 * tap_reader relay --dev TAP --peer-netns PATH --peer-dev TAP2 --stats FILE [--secs S]
 *   Copies frames both ways between TAP (in the calling namespace) and TAP2
 *   (in the network namespace PATH, e.g. /run/netns/NAME), with virtio-net
 *   headers and TSO/checksum offloads on both, as vhost-net does for a guest
 *   with those features; one thread a direction. Cases 2 and 3 (run.sh): the
 *   server's stack sits behind TAP2.
 *
 * The taps must exist (ip tuntap add ... mode tap); the reader attaches to
 * them, so they stay, without carrier, when it exits. FILE gets one line,
 * written whole (a rename) once the taps are open, on SIGUSR1 and at exit:
 * "seq N frames F xlated X other O csum_ok K csum_bad B csum0 Z" (count) or
 * "seq N a_to_b F b_to_a G" (relay); seq counts the writes. SIGTERM or SIGINT
 * end it, and so does S seconds (default 3600): every run is bounded. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include "csum_ref.h"

/* One frame with its virtio-net header: 64 KiB of GSO payload and headers. */
#define BUF_LEN (65536 + 256)

static volatile sig_atomic_t stop, snap;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		snap = 1;
	else
		stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: tap_reader count --dev TAP --dst IPV4 --ports LO-HI --stats FILE [--secs S]\n"
			"       tap_reader relay --dev TAP --peer-netns PATH --peer-dev TAP2 --stats FILE [--secs S]\n");
	exit(2);
}

static void bad(const char *what, const char *tok)
{
	fprintf(stderr, "tap_reader: bad %s '%s'\n", what, tok);
	exit(2);
}

/* Attach to the existing tap NAME; vnet adds virtio-net headers and offloads. */
static int tap_open(const char *name, int vnet)
{
	struct ifreq ifr = {};
	int fd;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "tap_reader: /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "tap_reader: attach to tap %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	/* what the guest would negotiate: checksum offload and TSO both ways */
	if (vnet && ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) {
		fprintf(stderr, "tap_reader: offloads on tap %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* FILE := line, whole: written to FILE.tmp and renamed over it. */
static int write_stats(const char *path, const char *line)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%s\n", line);
	if (fclose(f) || rename(tmp, path)) {
		fprintf(stderr, "tap_reader: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

struct counts {
	unsigned long long frames, xlated, other, ok, bad, csum0;
};

/* Classify one frame and check its checksums (only IPv4 without options and UDP counts as UDP). */
static void classify(const unsigned char *p, size_t len, __be32 dst, unsigned int lo, unsigned int hi,
		     struct counts *c)
{
	const struct ethhdr *eth = (const void *)p;
	const struct iphdr *ip = (const void *)(eth + 1);
	const struct udphdr *uh = (const void *)(ip + 1);
	unsigned int port, ulen;
	__u32 sum;

	c->frames++;
	if (len < sizeof(*eth) + sizeof(*ip) + sizeof(*uh) || eth->h_proto != htons(ETH_P_IP) ||
	    ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return;
	port = ntohs(uh->dest);
	if (ip->daddr == dst && port >= lo && port <= hi)
		c->xlated++;
	else
		c->other++;
	ulen = ntohs(uh->len);
	if (fold(sum16(ip, sizeof(*ip), 0)) != 0xffff || ulen < sizeof(*uh) ||
	    ulen > len - sizeof(*eth) - sizeof(*ip)) {
		c->bad++;
		return;
	}
	if (!uh->check) {
		c->csum0++;
		return;
	}
	sum = sum16(&ip->saddr, 8, IPPROTO_UDP + ulen);
	if (fold(sum16(uh, ulen, sum)) == 0xffff)
		c->ok++;
	else
		c->bad++;
}

static int run_count(const char *dev, const char *dst_s, const char *ports, const char *stats)
{
	static unsigned char buf[BUF_LEN];
	struct counts c = {};
	unsigned long long seq = 0;
	unsigned int lo, hi;
	struct in_addr dst;
	char line[256], end;
	struct pollfd pfd;
	ssize_t n;
	int fd;

	if (inet_pton(AF_INET, dst_s, &dst) != 1)
		bad("--dst", dst_s);
	if (sscanf(ports, "%u-%u%c", &lo, &hi, &end) != 2 || lo > hi || hi > 65535)
		bad("--ports", ports);
	fd = tap_open(dev, 0);
	if (fd < 0)
		return 1;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return 1;
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	for (;;) {
		if (snap || stop || !seq) {
			snap = 0;
			snprintf(line, sizeof(line), "seq %llu frames %llu xlated %llu other %llu csum_ok %llu csum_bad %llu csum0 %llu",
				 seq++, c.frames, c.xlated, c.other, c.ok, c.bad, c.csum0);
			if (write_stats(stats, line))
				return 1;
			if (stop)
				return 0;
		}
		/* back-to-back reads while frames are queued; poll (woken by a
		 * frame, or after 100 ms to see the flags) only once it is empty */
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			classify(buf, n, dst.s_addr, lo, hi, &c);
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			fprintf(stderr, "tap_reader: read %s: %s\n", dev, strerror(errno));
			return 1;
		}
		poll(&pfd, 1, 100);
	}
}

struct pipe_dir {
	int from, to;
	atomic_ullong frames;
	const char *name;
};

/* One direction of the relay: a frame read is a frame written, header and all. */
static void *relay_dir(void *arg)
{
	struct pipe_dir *d = arg;
	unsigned char *buf = malloc(BUF_LEN);
	ssize_t n;

	if (!buf)
		return NULL;
	for (;;) {
		n = read(d->from, buf, BUF_LEN);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "tap_reader: relay %s: read: %s\n", d->name, n ? strerror(errno) : "end of file");
			break;
		}
		/* a write the peer tap refuses (it is down) loses the frame, as a wire would */
		if (write(d->to, buf, n) == n)
			atomic_fetch_add_explicit(&d->frames, 1, memory_order_relaxed);
	}
	free(buf);
	kill(getpid(), SIGTERM);
	return NULL;
}

static int run_relay(const char *dev, const char *netns, const char *peer, const char *stats)
{
	struct pipe_dir ab = { .name = "to peer" }, ba = { .name = "from peer" };
	unsigned long long seq = 0;
	pthread_t t1, t2;
	sigset_t set;
	char line[256];
	int nsfd, sig;

	ab.from = ba.to = tap_open(dev, 1);
	if (ab.from < 0)
		return 1;
	nsfd = open(netns, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		bad("--peer-netns", netns);
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "tap_reader: setns %s: %s\n", netns, strerror(errno));
		return 1;
	}
	close(nsfd);
	ab.to = ba.from = tap_open(peer, 1);
	if (ab.to < 0)
		return 1;
	/* the workers never take a signal: this thread waits for them all */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&t1, NULL, relay_dir, &ab) || pthread_create(&t2, NULL, relay_dir, &ba))
		return 1;
	for (;;) {
		snprintf(line, sizeof(line), "seq %llu a_to_b %llu b_to_a %llu", seq++,
			 atomic_load(&ab.frames), atomic_load(&ba.frames));
		if (write_stats(stats, line))
			return 1;
		if (sigwait(&set, &sig) || sig != SIGUSR1)
			break;
	}
	snprintf(line, sizeof(line), "seq %llu a_to_b %llu b_to_a %llu", seq, atomic_load(&ab.frames),
		 atomic_load(&ba.frames));
	write_stats(stats, line);
	return 0; /* exit ends the workers blocked in read() */
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'd' },   { "dst", required_argument, NULL, 'a' },
		{ "ports", required_argument, NULL, 'p' }, { "stats", required_argument, NULL, 's' },
		{ "secs", required_argument, NULL, 't' },  { "peer-netns", required_argument, NULL, 'n' },
		{ "peer-dev", required_argument, NULL, 'e' }, {},
	};
	const char *dev = NULL, *dst = NULL, *ports = NULL, *stats = NULL, *netns = NULL, *peer = NULL, *mode;
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: a signal ends a poll */
	unsigned long secs = 3600;
	char *end;
	int o;

	if (argc < 2)
		usage();
	mode = argv[1];
	if (strcmp(mode, "count") && strcmp(mode, "relay"))
		bad("mode", mode);
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'd': dev = optarg; break;
		case 'a': dst = optarg; break;
		case 'p': ports = optarg; break;
		case 's': stats = optarg; break;
		case 'n': netns = optarg; break;
		case 'e': peer = optarg; break;
		case 't':
			errno = 0;
			secs = strtoul(optarg, &end, 10);
			if (errno || *end || !secs || secs > 86400)
				bad("--secs", optarg);
			break;
		default: usage();
		}
	}
	if (optind != argc)
		bad("argument", argv[optind]);
	if (!dev || !stats || strlen(dev) >= IFNAMSIZ || (peer && strlen(peer) >= IFNAMSIZ))
		usage();
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	alarm(secs);
	if (!strcmp(mode, "count")) {
		if (!dst || !ports || netns || peer)
			usage();
		return run_count(dev, dst, ports, stats);
	}
	if (!netns || !peer || dst || ports)
		usage();
	return run_relay(dev, netns, peer, stats);
}
