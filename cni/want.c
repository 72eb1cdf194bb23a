// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* What an ADD or CHECK asks for, validated before any change: the rules a container's port mappings make and the host interfaces to attach. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "cni.h"

/* The families of mapping i's rules, in fam: the hostIP's, which must be a
 * family the container has and an address of this host, or without hostIP
 * each of the container's. Returns how many, or -errno with e set. */
static int map_families(const struct cni_req *r, size_t i, int fam[2], struct cni_err *e)
{
	const struct cni_mapping *m = &r->maps[i];
	int nf = 0;

	if (!m->host_family) {
		if (*r->cip4)
			fam[nf++] = AF_INET;
		if (*r->cip6)
			fam[nf++] = AF_INET6;
		return nf;
	}
	if (!*(m->host_family == AF_INET ? r->cip4 : r->cip6))
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "hostIP of another family",
				"portMappings[%zu]: hostIP %s is IPv%c, and the container has no IPv%c address",
				i, m->host_ip[0] ? m->host_ip : (m->host_family == AF_INET ? "0.0.0.0" : "::"),
				m->host_family == AF_INET ? '4' : '6', m->host_family == AF_INET ? '4' : '6');
	if (*m->host_ip && !cni_addr_is_local(m->host_family, m->host_ip))
		return cni_errf(e, CNI_E_HOST_IP, -EADDRNOTAVAIL, "hostIP is not an address of this host",
				"portMappings[%zu]: hostIP %s is not an address of any interface here", i, m->host_ip);
	fam[nf++] = m->host_family;
	return nf;
}

/* Fill x with mapping i's rule in family fam, named as the container's
 * rule n (1-based): the words add takes, parsed as add parses them.
 * Returns 0, or -EINVAL with e set. */
static int map_rule(const struct cni_req *r, size_t i, int fam, size_t n, struct cni_want *x, struct cni_err *e)
{
	const struct cni_mapping *m = &r->maps[i];
	char listen[PR_EP_TEXT_LEN], target[PR_EP_TEXT_LEN], perr[PR_PARSE_ERR_LEN];
	char *argv[9];
	int argc = 0;
	bool v6 = fam == AF_INET6;

	if (*m->host_ip)
		snprintf(listen, sizeof(listen), v6 ? "[%s]:%u" : "%s:%u", m->host_ip, m->host_port);
	else
		snprintf(listen, sizeof(listen), v6 ? "[::]:%u" : ":%u", m->host_port);
	snprintf(target, sizeof(target), v6 ? "[%s]:%u" : "%s:%u", v6 ? r->cip6 : r->cip4, m->container_port);
	cni_rule_name(r, n, x->name, sizeof(x->name));
	argv[argc++] = (char *)m->proto;
	argv[argc++] = listen;
	argv[argc++] = target;
	argv[argc++] = "--name";
	argv[argc++] = x->name;
	if (r->masq_all) {
		argv[argc++] = "--masquerade";
	} else if (!r->hairpin) {
		argv[argc++] = "--hairpin";
		argv[argc++] = "off";
	}
	argv[argc] = NULL;
	snprintf(x->text, sizeof(x->text), "%s %s %s%s", m->proto, listen, target,
		 r->masq_all ? " --masquerade" : !r->hairpin ? " --hairpin off" : "");
	if (pr_spec_parse(argc, argv, &x->spec, NULL, perr, sizeof(perr)))
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "invalid port mapping", "portMappings[%zu]: %s", i, perr);
	x->map = m;
	return 0;
}

int cni_want_rules(struct cni_req *r, struct cni_want **out, size_t *nout, struct cni_err *e)
{
	struct cni_want *w;
	size_t i, n = 0;
	int fam[2], nf, k, err;

	*out = NULL;
	*nout = 0;
	if (!*r->cip4 && !*r->cip6)
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "no container address",
				"prevResult has no IP address on interface %s in the container", r->ifname);
	w = calloc(2 * r->nmaps + 1, sizeof(*w));
	if (!w)
		return cni_errf(e, CNI_E_IO, -ENOMEM, "out of memory", "out of memory");
	for (i = 0; i < r->nmaps; i++) {
		nf = map_families(r, i, fam, e);
		if (nf < 0) {
			err = nf;
			goto fail;
		}
		for (k = 0; k < nf; k++) {
			if (n >= CNI_MAX_RULES) {
				err = cni_errf(e, CNI_E_CONFIG, -E2BIG, "too many port mappings",
					       "at most %d rules a container (mappings times families)", CNI_MAX_RULES);
				goto fail;
			}
			if ((err = map_rule(r, i, fam[k], n + 1, &w[n], e)))
				goto fail;
			n++;
		}
	}
	*out = w;
	*nout = n;
	return 0;
fail:
	free(w);
	return err;
}

int cni_want_ifaces(struct cni_req *r, char (**out)[PR_IFNAME_LEN], size_t *n, struct cni_err *e)
{
	json_t *ifs = r->prev ? json_object_get(r->prev, "interfaces") : NULL, *x;
	char (*v)[PR_IFNAME_LEN];
	size_t i;
	int err;

	if (r->ifaces_given) {
		v = calloc(r->nifaces + 1, sizeof(*v));
		if (!v)
			return cni_errf(e, CNI_E_IO, -ENOMEM, "out of memory", "out of memory");
		memcpy(v, r->ifaces, r->nifaces * sizeof(*v));
		*n = r->nifaces;
	} else {
		err = cni_default_ifaces(&v, n);
		if (err)
			return cni_errf(e, CNI_E_IO, err, "cannot read the host's routes", "/proc/net/route: %s", strerror(-err));
		json_array_foreach(ifs, i, x) {
			const char *name = json_string_value(json_object_get(x, "name"));
			const char *sandbox = json_string_value(json_object_get(x, "sandbox"));

			if (!name || (sandbox && *sandbox) || strlen(name) >= PR_IFNAME_LEN || !cni_is_bridge(name))
				continue;
			if (cni_iface_add(&v, n, name)) {
				free(v);
				return cni_errf(e, CNI_E_IO, -ENOMEM, "out of memory", "out of memory");
			}
		}
		if (!*n) {
			free(v);
			return cni_errf(e, CNI_E_CONFIG, -ENODEV, "no interface to attach",
					"the host has no default route and prevResult names no bridge: set \"interfaces\"");
		}
	}
	for (i = 0; i < *n; i++)
		if (!if_nametoindex(v[i])) {
			cni_errf(e, CNI_E_CONFIG, -ENODEV, "unknown interface", "interface '%s' does not exist on the host", v[i]);
			free(v);
			return -ENODEV;
		}
	*out = v;
	return 0;
}
