// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Interface records: the pr_ifaces entry of an attachment, what a record asks for, the records with their live programs (status), and the redirect allowlist pr_tx. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "libportredir.h"
#include "internal.h"

__u64 pr_netns_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : st.st_ino;
}

void pr_iface_key_of(struct pr_iface_key *k, __u32 ifindex)
{
	memset(k, 0, sizeof(*k));
	k->netns_ino = pr_netns_ino();
	k->ifindex = ifindex;
}

bool pr_iface_satisfies(const struct pr_iface *rec, enum pr_mode_req req, __u32 flags, enum pr_mode auto_mode)
{
	bool via = flags & PR_ATTACH_VIA_STACK;

	if (via != !!(rec->flags & PR_IF_VIA_STACK) ||
	    !(flags & PR_ATTACH_THREADED_OK) != !(rec->flags & PR_IF_THREADED_OK))
		return false;
	switch (req) {
	case PR_REQ_NATIVE: return rec->mode == PR_MODE_NATIVE;
	case PR_REQ_GENERIC: return rec->mode == PR_MODE_GENERIC;
	case PR_REQ_TC: return rec->mode == PR_MODE_TC;
	default:
		/* generic counts when it is what auto fell back to */
		return rec->mode == auto_mode ||
		       (auto_mode == PR_MODE_NATIVE && rec->mode == PR_MODE_GENERIC && (rec->flags & PR_IF_AUTO));
	}
}

bool pr_iface_live(const struct pr_iface_status *s)
{
	return s->present && s->live_tc_in_id && s->live_tc_eg_id && (s->rec.mode == PR_MODE_TC || s->live_xdp_id);
}

int pr_iface_list(struct pr_ctx *c, struct pr_iface_status **out, size_t *n)
{
	struct pr_iface_key key, next, *prev = NULL;
	struct pr_iface_status *v = NULL, *nv;
	__u64 ino = pr_netns_ino();
	size_t cap = 0;
	char name[IF_NAMESIZE];

	*n = 0;
	while (bpf_map_get_next_key(c->fd_ifaces, prev, &next) == 0) {
		struct pr_iface_status *s;

		key = next;
		prev = &key;
		if (key.netns_ino != ino)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return pr_errf(c, -ENOMEM, "out of memory listing interfaces");
			}
			v = nv;
		}
		s = &v[*n];
		memset(s, 0, sizeof(*s));
		if (bpf_map_lookup_elem(c->fd_ifaces, &key, &s->rec))
			continue;
		s->ifindex = key.ifindex;
		s->present = if_indextoname(key.ifindex, name) && strcmp(name, s->rec.name) == 0;
		if (s->present) {
			s->live_xdp_id = s->rec.mode == PR_MODE_TC ? 0 : pr_xdp_live_id(key.ifindex);
			s->live_tc_in_id = pr_tc_live_id(key.ifindex, false);
			s->live_tc_eg_id = pr_tc_live_id(key.ifindex, true);
			s->other_build = s->live_tc_in_id &&
					 !pr_tc_current(c, key.ifindex, s->rec.flags & PR_IF_VIA_STACK);
			/* threaded after the attach, or allowed by --allow-threaded-napi */
			s->napi_threaded = s->rec.mode == PR_MODE_NATIVE && pr_auto_mode(s->rec.name) == PR_MODE_TC &&
					   pr_napi_threaded(s->rec.name) == 1;
		}
		(*n)++;
	}
	*out = v;
	return 0;
}

int pr_tx_allow(struct pr_ctx *c, __u32 ifindex, bool allow)
{
	if (allow ? bpf_map_update_elem(c->fd_tx, &ifindex, &ifindex, BPF_ANY) :
		    bpf_map_delete_elem(c->fd_tx, &ifindex))
		return pr_errf(c, -errno, "cannot update pr_tx for ifindex %u: %s", ifindex, strerror(errno));
	return 0;
}
