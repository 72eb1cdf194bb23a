/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the CNI plugin's files share: its request (environment and stdin config), its error, and the operations main dispatches to. */
#ifndef PR_CNI_H
#define PR_CNI_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <jansson.h>
#include <netinet/in.h>
#include "libportredir.h"

/* The spec's reserved error codes (SPEC.md, "Error"), and ours from 100. */
enum cni_code {
	CNI_E_VERSION = 1,    /* incompatible CNI version */
	CNI_E_FIELD = 2,      /* unsupported field in the network configuration */
	CNI_E_ENV = 4,        /* invalid necessary environment variable */
	CNI_E_IO = 5,         /* I/O failure (stdin) */
	CNI_E_DECODE = 6,     /* failed to decode content */
	CNI_E_CONFIG = 7,     /* invalid network configuration */
	CNI_E_AGAIN = 11,     /* try again later */
	CNI_E_UNAVAIL = 50,   /* STATUS: cannot service ADD */
	CNI_E_LIMITED = 51,   /* STATUS: and existing containers may have limited connectivity */
	CNI_E_PORT_TAKEN = 100, /* a hostPort is another container's or another rule's */
	CNI_E_HOST_IP = 101,    /* a hostIP is not an address of this host */
	CNI_E_DATAPATH = 102,   /* the loader failed: maps, rules or attachment */
	CNI_E_CHECK = 103,      /* CHECK: a rule or an attachment is missing or differs */
};

/* The one error a request ends with, printed as the spec's error object. */
struct cni_err {
	int code;          /* 0: none */
	char msg[96];      /* short, as the spec's "msg" */
	char details[PR_ERR_LEN + 512];
};
/* Record an error (the first one wins) and return err, a -errno. */
int cni_errf(struct cni_err *e, int code, int err, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* One entry of runtimeConfig.portMappings. */
struct cni_mapping {
	__u16 host_port, container_port;
	char proto[4];            /* "tcp" or "udp" */
	char host_ip[INET6_ADDRSTRLEN]; /* "" when not given or unspecified */
	int host_family;          /* AF_INET, AF_INET6, or 0 when not given */
};

#define CNI_NET_SHORT 10  /* the network's part of a rule name */
#define CNI_ID_SHORT 12   /* the container id's, as runtimes show it */
#define CNI_MAX_RULES 999 /* rules of one container: the name's counter has three digits */

struct cni_req {
	/* environment */
	const char *command, *container_id, *ifname, *netns;
	/* stdin */
	json_t *root;
	const char *version;  /* cniVersion */
	const char *name;     /* the network's */
	char net_short[CNI_NET_SHORT + 1];
	char prefix[24];      /* "cni-NET-": every rule of the network */
	char owner[48];       /* "cni-NET-ID12-": every rule of this container (28 at most) */
	const char *pin_dir;
	enum pr_mode_req mode;
	bool hairpin;         /* "snat", portmap's key: hairpin auto (true) or off */
	bool masq_all;        /* "masqAll": full NAT (--masquerade) for every flow */
	char (*ifaces)[PR_IFNAME_LEN];
	size_t nifaces;
	bool ifaces_given;    /* the config's "interfaces" (else the defaults) */
	json_t *prev;         /* prevResult, or NULL */
	struct cni_mapping *maps;
	size_t nmaps;
	char cip4[INET6_ADDRSTRLEN], cip6[INET6_ADDRSTRLEN]; /* the container's, "" if none */
	json_t *valid;        /* GC: cni.dev/valid-attachments, or NULL */
};

/* conf.c */
int cni_req_parse(struct cni_req *r, json_t *root, struct cni_err *e);
void cni_req_free(struct cni_req *r);
/* The rule name of this container's n-th rule (1-based). */
void cni_rule_name(const struct cni_req *r, unsigned int n, char *buf, size_t len);
/* The container id part of a rule name of this network ("" if it is not one). */
void cni_rule_owner(const struct cni_req *r, const char *rule, char *id, size_t len);
bool cni_version_ok(const char *v);
/* The spec's network names and container ids: an alphanumeric, then alphanumerics, '_', '.' or '-'. */
bool cni_ident_ok(const char *s);
extern const char *const cni_versions[];

/* host.c: facts about the host's (the caller's) network namespace */
/* The interfaces carrying a default route (IPv4 or IPv6, main table), each once. */
int cni_default_ifaces(char (**out)[PR_IFNAME_LEN], size_t *n);
/* Whether ifname is a bridge. */
bool cni_is_bridge(const char *ifname);
/* Whether addr (of family) is an address of an interface of this host. */
bool cni_addr_is_local(int family, const char *addr);
/* Append name to the list (realloc'd) unless it is there: 0 or -ENOMEM, the list kept. */
int cni_iface_add(char (**out)[PR_IFNAME_LEN], size_t *n, const char *name);

static inline bool cni_starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* maps.c: portredir's maps as every command holds them */
/* The config's pin dir, else $PORTREDIR_PIN_DIR, else the default. */
const char *cni_pin_dir(const struct cni_req *r);
/* Open the maps with the pin dir's lock held (pr_lock) for the whole
 * operation; with create, absent maps are created. -ENOENT without create
 * when there are no maps (the error is then not recorded in e). */
int cni_open_locked(const struct cni_req *r, struct pr_ctx *c, bool create, struct cni_err *e);
/* Every rule, or NULL with the error set; caller frees. */
struct pr_rule_meta *cni_rules(struct pr_ctx *c, size_t *n, struct cni_err *e);
/* Delete every rule whose name starts with prefix (and, for GC, is not
 * kept), flushing its flows. A rule already gone is not an error. */
int cni_del_rules(struct cni_req *r, struct pr_ctx *c, const char *prefix,
		  bool (*keep)(const struct cni_req *, const char *), size_t *deleted, struct cni_err *e);
/* After rules of the network went: when none is left, the network gives up
 * its interfaces (cni_release), which detaches those no other network holds
 * unless rules outside the CNI networks remain. */
int cni_settle(struct cni_req *r, struct pr_ctx *c, struct cni_err *e);

/* want.c: what an ADD or CHECK asks for */
/* One rule a mapping makes in one family. */
struct cni_want {
	struct pr_rule_spec spec;
	char name[PR_NAME_LEN];
	char text[160]; /* add's words, for messages */
	const struct cni_mapping *map;
};
/* One rule per mapping and family: both of the container's families for a
 * mapping without hostIP, the hostIP's otherwise. Validated before any
 * change: hostIP local, the container has that family, the words parse.
 * Caller frees *out. */
int cni_want_rules(struct cni_req *r, struct cni_want **out, size_t *nout, struct cni_err *e);
/* The host interfaces for this network: the config's "interfaces", or
 * those carrying the host's default routes and the bridges prevResult
 * names on the host (no sandbox). Each must exist. Caller frees *out. */
int cni_want_ifaces(struct cni_req *r, char (**out)[PR_IFNAME_LEN], size_t *n, struct cni_err *e);

/* ops.c: the commands */
int cni_add(struct cni_req *r, struct cni_err *e);
int cni_del(struct cni_req *r, struct cni_err *e);
int cni_check(struct cni_req *r, struct cni_err *e);
int cni_gc(struct cni_req *r, struct cni_err *e);
int cni_status(struct cni_req *r, struct cni_err *e);

/* claims.c: which networks hold an interface portredir attached for them,
 * recorded in the pin dir as directories cni/if/IFACE/NETWORK (bpffs holds
 * no files), so the records go when the maps and attachments go. */
/* Record that network holds ifname, which portredir attached (created: we
 * attached it now) or already holds a record. */
int cni_claim(struct pr_ctx *c, const char *ifname, const char *network);
/* Whether ifname has a record (portredir attached it for some network). */
bool cni_claimed(struct pr_ctx *c, const char *ifname);
/* Whether some network holds ifname (its record is not empty). */
bool cni_claim_held(struct pr_ctx *c, const char *ifname);
/* Drop network's claims; detach each interface no network claims any more
 * unless a rule outside every CNI network exists (keep_all). */
int cni_release(struct pr_ctx *c, const char *network, bool keep_all, struct cni_err *e);
/* The interfaces with a record, for STATUS; caller frees *out. */
int cni_claimed_list(struct pr_ctx *c, char (**out)[PR_IFNAME_LEN], size_t *n);

#endif
