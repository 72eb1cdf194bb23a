// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The CNI request: the plugin configuration on stdin (portmap's keys and ours, runtimeConfig, prevResult) checked into a struct cni_req, and the rule names derived from it. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "cni.h"

/* What VERSION reports. 0.3.0 brought prevResult and chaining; CHECK came
 * with 0.4.0, GC and STATUS with 1.1.0 (runtimes only send those with it). */
const char *const cni_versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0", NULL };

bool cni_version_ok(const char *v)
{
	size_t i;

	for (i = 0; cni_versions[i]; i++)
		if (strcmp(v, cni_versions[i]) == 0)
			return true;
	return false;
}

int cni_errf(struct cni_err *e, int code, int err, const char *msg, const char *fmt, ...)
{
	va_list ap;

	if (e->code)
		return err;
	e->code = code;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	va_start(ap, fmt);
	vsnprintf(e->details, sizeof(e->details), fmt, ap);
	va_end(ap);
	return err;
}

/* The spec's rule for network names and container ids: an alphanumeric
 * first, then alphanumerics, '_', '.' or '-'. Both go into rule names. */
bool cni_ident_ok(const char *s)
{
	if (!s || !isalnum((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
			return false;
	return true;
}

/* A network name too long for a rule name keeps its first three characters
 * and gets 24 bits of a hash of the whole name, so two long names that share
 * a start still get different rule names. */
static void net_shorten(const char *name, char *out, size_t len)
{
	__u32 h = 2166136261u; /* FNV-1a */
	const char *p;

	if (strlen(name) <= CNI_NET_SHORT) {
		snprintf(out, len, "%s", name);
		return;
	}
	for (p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(out, len, "%.3s.%06x", name, h & 0xffffff);
}

void cni_rule_name(const struct cni_req *r, unsigned int n, char *buf, size_t len)
{
	snprintf(buf, len, "%s%u", r->owner, n);
}

void cni_rule_owner(const struct cni_req *r, const char *rule, char *id, size_t len)
{
	size_t pl = strlen(r->prefix);
	const char *rest = rule + pl, *dash, *p;

	*id = '\0';
	if (strncmp(rule, r->prefix, pl) != 0 || !(dash = strrchr(rest, '-')) || dash == rest || !dash[1])
		return;
	for (p = dash + 1; *p; p++)
		if (!isdigit((unsigned char)*p))
			return;
	snprintf(id, len, "%.*s", (int)(dash - rest), rest);
}

/* key of obj as a bool (absent: def); -EINVAL with the error set otherwise. */
static int get_bool(json_t *obj, const char *key, bool def, bool *out, struct cni_err *e)
{
	json_t *v = json_object_get(obj, key);

	*out = def;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "invalid network config", "'%s' must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

/* key of obj as a string (absent: NULL). */
static int get_str(json_t *obj, const char *key, const char **out, struct cni_err *e)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "invalid network config", "'%s' must be a string", key);
	*out = json_string_value(v);
	return 0;
}

/* An address in CIDR notation, "ADDR/LEN", into its family and text. */
static int cidr_addr(const char *cidr, int *family, char *out, size_t len)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	struct in6_addr a;

	snprintf(buf, sizeof(buf), "%s", cidr);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, &a) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, buf, &a) == 1)
		*family = AF_INET6;
	else
		return -EINVAL;
	inet_ntop(*family, &a, out, len);
	return 0;
}

/* The container's addresses: the first IPv4 and IPv6 of prevResult.ips on
 * the interface CNI_IFNAME inside the container (an entry without an
 * interface index counts, as portmap counts it). */
static int prev_addrs(struct cni_req *r, struct cni_err *e)
{
	json_t *ips = json_object_get(r->prev, "ips"), *ifs = json_object_get(r->prev, "interfaces"), *ip;
	size_t i;

	if (ips && !json_is_array(ips))
		return cni_errf(e, CNI_E_DECODE, -EINVAL, "invalid prevResult", "prevResult.ips is not an array");
	json_array_foreach(ips, i, ip) {
		json_t *idx = json_object_get(ip, "interface"), *ifc;
		const char *addr = json_string_value(json_object_get(ip, "address"));
		char txt[INET6_ADDRSTRLEN];
		int family;

		if (!addr || cidr_addr(addr, &family, txt, sizeof(txt)))
			return cni_errf(e, CNI_E_DECODE, -EINVAL, "invalid prevResult",
					"prevResult.ips[%zu].address is not an address in CIDR notation", i);
		if (json_is_integer(idx)) {
			ifc = json_array_get(ifs, json_integer_value(idx));
			const char *name = json_string_value(json_object_get(ifc, "name"));
			const char *sandbox = json_string_value(json_object_get(ifc, "sandbox"));

			if (!ifc || !name || strcmp(name, r->ifname ? r->ifname : "") != 0 || !sandbox || !*sandbox)
				continue;
		}
		if (family == AF_INET && !*r->cip4)
			snprintf(r->cip4, sizeof(r->cip4), "%s", txt);
		else if (family == AF_INET6 && !*r->cip6)
			snprintf(r->cip6, sizeof(r->cip6), "%s", txt);
	}
	return 0;
}

/* A port number of a mapping: an integer 1-65535. */
static int map_port(json_t *m, size_t i, const char *key, __u16 *out, struct cni_err *e)
{
	json_t *v = json_object_get(m, key);

	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "invalid port mapping",
				"runtimeConfig.portMappings[%zu].%s must be a port number 1-65535", i, key);
	*out = json_integer_value(v);
	return 0;
}

static int parse_mappings(struct cni_req *r, struct cni_err *e)
{
	json_t *pm = json_object_get(json_object_get(r->root, "runtimeConfig"), "portMappings"), *m;
	size_t i;
	int err;

	if (!pm || json_is_null(pm))
		return 0;
	if (!json_is_array(pm))
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "invalid port mapping", "runtimeConfig.portMappings is not an array");
	r->maps = calloc(json_array_size(pm) + 1, sizeof(*r->maps));
	if (!r->maps)
		return cni_errf(e, CNI_E_IO, -ENOMEM, "out of memory", "out of memory");
	json_array_foreach(pm, i, m) {
		struct cni_mapping *x = &r->maps[r->nmaps];
		const char *proto = json_string_value(json_object_get(m, "protocol"));
		const char *hip = json_string_value(json_object_get(m, "hostIP"));
		struct in6_addr a = {};

		if (!json_is_object(m))
			return cni_errf(e, CNI_E_CONFIG, -EINVAL, "invalid port mapping",
					"runtimeConfig.portMappings[%zu] is not an object", i);
		if ((err = map_port(m, i, "hostPort", &x->host_port, e)) ||
		    (err = map_port(m, i, "containerPort", &x->container_port, e)))
			return err;
		if (!proto || !*proto)
			proto = "tcp";
		if (strcasecmp(proto, "tcp") && strcasecmp(proto, "udp"))
			return cni_errf(e, CNI_E_FIELD, -EINVAL, "unsupported protocol",
					"runtimeConfig.portMappings[%zu].protocol: '%s' (portredir maps tcp and udp)", i, proto);
		x->proto[0] = tolower((unsigned char)proto[0]);
		x->proto[1] = tolower((unsigned char)proto[1]);
		x->proto[2] = tolower((unsigned char)proto[2]);
		if (hip && *hip) {
			if (inet_pton(AF_INET, hip, &a) == 1)
				x->host_family = AF_INET;
			else if (inet_pton(AF_INET6, hip, &a) == 1)
				x->host_family = AF_INET6;
			else
				return cni_errf(e, CNI_E_CONFIG, -EINVAL, "invalid port mapping",
						"runtimeConfig.portMappings[%zu].hostIP: '%s' is not an IP address", i, hip);
			/* 0.0.0.0 and :: are the family's every address (a is zeroed past an IPv4 address) */
			if (!IN6_IS_ADDR_UNSPECIFIED(&a))
				inet_ntop(x->host_family, &a, x->host_ip, sizeof(x->host_ip));
		}
		r->nmaps++;
	}
	return 0;
}

/* "interfaces": the host interfaces to attach, instead of the defaults. */
static int parse_ifaces(struct cni_req *r, struct cni_err *e)
{
	json_t *v = json_object_get(r->root, "interfaces"), *s;
	size_t i;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "invalid network config", "'interfaces' must be a list of interface names");
	r->ifaces = calloc(json_array_size(v) + 1, sizeof(*r->ifaces));
	if (!r->ifaces)
		return cni_errf(e, CNI_E_IO, -ENOMEM, "out of memory", "out of memory");
	json_array_foreach(v, i, s) {
		const char *n = json_string_value(s);

		if (!n || !*n || strlen(n) >= PR_IFNAME_LEN || strchr(n, '/'))
			return cni_errf(e, CNI_E_CONFIG, -EINVAL, "invalid network config",
					"interfaces[%zu] is not an interface name", i);
		snprintf(r->ifaces[r->nifaces++], PR_IFNAME_LEN, "%s", n);
	}
	r->ifaces_given = true;
	return 0;
}

/* portmap's keys without a meaning here: its iptables plumbing is ignored,
 * but conditions narrow which packets are mapped, which portredir cannot
 * honour, so a config that sets them is refused rather than widened. */
static int portmap_keys(struct cni_req *r, struct cni_err *e)
{
	static const char *const narrowing[] = { "conditionsV4", "conditionsV6" };
	size_t i;

	for (i = 0; i < 2; i++) {
		json_t *v = json_object_get(r->root, narrowing[i]);
		char *txt;

		if (!v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
			continue;
		txt = json_dumps(v, JSON_COMPACT);
		cni_errf(e, CNI_E_FIELD, -EINVAL, "unsupported field", "%s: %s (portredir has no packet conditions)",
			 narrowing[i], txt ? txt : "?");
		free(txt);
		return -EINVAL;
	}
	return 0;
}

int cni_req_parse(struct cni_req *r, json_t *root, struct cni_err *e)
{
	const char *mode = NULL;
	json_t *prev;
	int err;

	r->root = root;
	r->mode = PR_REQ_AUTO;
	if (!json_is_object(root))
		return cni_errf(e, CNI_E_DECODE, -EINVAL, "invalid network config", "the configuration is not a JSON object");
	if ((err = get_str(root, "cniVersion", &r->version, e)))
		return err;
	if (!r->version)
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "invalid network config", "cniVersion is missing");
	if (!cni_version_ok(r->version))
		return cni_errf(e, CNI_E_VERSION, -EPROTO, "incompatible CNI version",
				"cniVersion %s: portredir supports 0.3.0, 0.3.1, 0.4.0, 1.0.0 and 1.1.0", r->version);
	if ((err = get_str(root, "name", &r->name, e)))
		return err;
	if (!cni_ident_ok(r->name))
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "invalid network config",
				"name '%s' is not a network name (a letter or digit, then letters, digits, '_', '.', '-')",
				r->name ? r->name : "");
	net_shorten(r->name, r->net_short, sizeof(r->net_short));
	snprintf(r->prefix, sizeof(r->prefix), "cni-%s-", r->net_short);
	if (r->container_id)
		snprintf(r->owner, sizeof(r->owner), "%s%.*s-", r->prefix, CNI_ID_SHORT, r->container_id);
	if ((err = get_str(root, "pinDir", &r->pin_dir, e)))
		return err;
	if (r->pin_dir && r->pin_dir[0] != '/')
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "invalid network config", "pinDir '%s' is not an absolute path",
				r->pin_dir);
	if ((err = get_str(root, "mode", &mode, e)))
		return err;
	if (mode) {
		if (!strcmp(mode, "auto"))
			r->mode = PR_REQ_AUTO;
		else if (!strcmp(mode, "native"))
			r->mode = PR_REQ_NATIVE;
		else if (!strcmp(mode, "generic"))
			r->mode = PR_REQ_GENERIC;
		else if (!strcmp(mode, "tc"))
			r->mode = PR_REQ_TC;
		else
			return cni_errf(e, CNI_E_CONFIG, -EINVAL, "invalid network config",
					"mode '%s': one of auto, native, generic, tc", mode);
	}
	if ((err = get_bool(root, "snat", true, &r->hairpin, e)) || (err = get_bool(root, "masqAll", false, &r->masq_all, e)) ||
	    (err = portmap_keys(r, e)) || (err = parse_ifaces(r, e)) || (err = parse_mappings(r, e)))
		return err;
	prev = json_object_get(root, "prevResult");
	if (prev && !json_is_null(prev)) {
		if (!json_is_object(prev))
			return cni_errf(e, CNI_E_DECODE, -EINVAL, "invalid prevResult", "prevResult is not an object");
		r->prev = prev;
		if ((err = prev_addrs(r, e)))
			return err;
	}
	r->valid = json_object_get(root, "cni.dev/valid-attachments");
	if (r->valid && !json_is_array(r->valid))
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "invalid network config",
				"cni.dev/valid-attachments is not a list");
	return 0;
}

void cni_req_free(struct cni_req *r)
{
	free(r->maps);
	free(r->ifaces);
	r->maps = NULL;
	r->ifaces = NULL;
}
