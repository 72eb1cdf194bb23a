// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The exporter command: serves the counters on /metrics over HTTP (libmicrohttpd), reading the pinned maps afresh on every scrape, until SIGTERM or SIGINT. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>
#include "cli.h"
#include "prometheus.h"

struct exporter_cfg {
	const char *listen;
};

/* ADDR:PORT, [ADDR6]:PORT or :PORT (every address, IPv6 and IPv4) into sa. */
static int parse_listen(const char *tok, struct sockaddr_storage *sa, socklen_t *salen)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
	const char *colon = strrchr(tok, ':'), *p;
	char addr[INET6_ADDRSTRLEN + 2];
	size_t alen = colon ? (size_t)(colon - tok) : 0;
	unsigned long port = 0;

	memset(sa, 0, sizeof(*sa));
	if (!colon || !colon[1] || alen >= sizeof(addr))
		return -EINVAL;
	for (p = colon + 1; *p >= '0' && *p <= '9' && port <= 65535; p++)
		port = port * 10 + (*p - '0');
	if (*p || port < 1 || port > 65535)
		return -EINVAL;
	memcpy(addr, tok, alen);
	addr[alen] = 0;
	if (alen == 0 || (alen >= 2 && addr[0] == '[' && addr[alen - 1] == ']')) {
		if (alen) {
			addr[alen - 1] = 0;
			if (inet_pton(AF_INET6, addr + 1, &s6->sin6_addr) != 1)
				return -EINVAL;
		} else {
			s6->sin6_addr = in6addr_any;
		}
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*salen = sizeof(*s6);
		return 0;
	}
	if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
		return -EINVAL;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	*salen = sizeof(*s4);
	return 0;
}

static int check_listen(const char *tok, char *err, size_t len)
{
	struct sockaddr_storage sa;
	socklen_t salen;

	if (parse_listen(tok, &sa, &salen) == 0)
		return 0;
	snprintf(err, len, "bad --listen '%s' (expected ADDR:PORT, [ADDR6]:PORT or :PORT, port 1-65535)", tok);
	return -EINVAL;
}

static const struct opt exporter_opts[] = {
	{ "--listen", OPT_STRING, offsetof(struct exporter_cfg, listen), OPT_REQ, .metavar = "ADDR:PORT",
	  .check = check_listen,
	  .help = "where to serve /metrics: ADDR:PORT, [ADDR6]:PORT, or :PORT\nfor every address" },
	{ .type = OPT_END },
};

/* A listening socket on what --listen names; -errno. ":PORT" takes IPv6 and
 * IPv4 on one socket, or IPv4 alone where the host has no IPv6. */
static int listen_on(const char *tok)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	int fd, one = 1, zero = 0, err;

	parse_listen(tok, &sa, &salen);
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 && errno == EAFNOSUPPORT && tok[0] == ':') {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
		__be16 port = ((struct sockaddr_in6 *)&sa)->sin6_port;

		memset(&sa, 0, sizeof(sa));
		s4->sin_family = AF_INET;
		s4->sin_port = port;
		salen = sizeof(*s4);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa.ss_family == AF_INET6 && tok[0] == ':')
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&sa, salen) || listen(fd, 64)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, char *body, size_t len,
			     enum MHD_ResponseMemoryMode mode, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

#define TEXT "text/plain; charset=utf-8"

/* One scrape: the maps are opened, read and closed for each, so rules,
 * interfaces and even the pin dir may come and go while the exporter runs. */
static enum MHD_Result serve_metrics(struct MHD_Connection *conn)
{
	char *buf = NULL, err[PR_ERR_LEN] = "", msg[PR_ERR_LEN + 8];
	struct pr_ctx c;
	size_t len = 0;
	int open, ret;
	FILE *f;

	open = pr_open(&c, cli.pin_dir, 0, 0);
	if (open && open != -ENOENT) {
		snprintf(msg, sizeof(msg), "%s\n", c.err);
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, msg, strlen(msg), MHD_RESPMEM_MUST_COPY, TEXT);
	}
	f = open_memstream(&buf, &len);
	ret = f ? prom_write(f, open ? NULL : &c, err, sizeof(err)) : -ENOMEM;
	if (f)
		fclose(f);
	if (!open)
		pr_close(&c);
	if (ret) {
		free(buf);
		snprintf(msg, sizeof(msg), "%s\n", f ? err : "out of memory");
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, msg, strlen(msg), MHD_RESPMEM_MUST_COPY, TEXT);
	}
	return reply(conn, MHD_HTTP_OK, buf, len, MHD_RESPMEM_MUST_FREE, PROM_CONTENT_TYPE);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **req)
{
	static char not_found[] = "not found: the metrics are at /metrics\n";
	static char not_allowed[] = "method not allowed: GET or HEAD\n";

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed, strlen(not_allowed),
			     MHD_RESPMEM_PERSISTENT, TEXT);
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, not_found, strlen(not_found), MHD_RESPMEM_PERSISTENT, TEXT);
	return serve_metrics(conn);
}

static int do_exporter(const void *cfg, struct pr_ctx *unused)
{
	const struct exporter_cfg *a = cfg;
	struct MHD_Daemon *d;
	sigset_t stop;
	int fd, sig;

	/* blocked before the server's thread starts, so it inherits the mask
	 * and the signals wait for sigwait() below */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	fd = listen_on(a->listen);
	if (fd < 0)
		return out_err(EXIT_FAIL, "cannot listen on %s: %s", a->listen, strerror(-fd));
	d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, NULL,
			     MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
			     MHD_OPTION_END);
	if (!d) {
		close(fd);
		return out_err(EXIT_FAIL, "cannot start the HTTP server on %s", a->listen);
	}
	out_note("serving http://%s/metrics from %s until SIGTERM or SIGINT", a->listen, cli_pin_dir());
	while (sigwait(&stop, &sig))
		;
	MHD_stop_daemon(d); /* closes fd */
	return EXIT_OK;
}

const struct cmd cmd_exporter = {
	"exporter", do_exporter, exporter_opts, sizeof(struct exporter_cfg), CMD_MAPS_OWN,
	"Serves what 'stats --prometheus' prints on http://ADDR:PORT/metrics (GET or HEAD;\n"
	"other paths are 404), reading the pinned maps on every scrape, until SIGTERM or\n"
	"SIGINT, which end it with status 0.",
};
