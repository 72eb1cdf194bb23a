// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The interval index: rules' listens as sorted (family, address, protocol, ports) spans, to find a key's rule without expanding ranges. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "libportredir.h"
#include "internal.h"

/* Any total order will do; words beat memcmp calls in a 100,000-rule sort. */
static int span_cmp(const void *x, const void *y)
{
	const struct pr_span *a = x, *b = y;
	int d;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	d = pr_addr_cmp(&a->addr, &b->addr);
	if (d)
		return d;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return (a->lo > b->lo) - (a->lo < b->lo);
}

int pr_spans_build(const struct pr_rule_meta *const *m, size_t n, struct pr_span **out, size_t *cnt)
{
	struct pr_span *v = malloc((2 * n + 1) * sizeof(*v));
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		__u8 protos[2];
		int np = pr_rule_protos(m[i]->key.proto, protos);

		for (int j = 0; j < np; j++) {
			memset(&v[k], 0, sizeof(v[k]));
			v[k].addr = m[i]->key.addr;
			v[k].family = m[i]->key.family;
			v[k].proto = protos[j];
			v[k].lo = ntohs(m[i]->key.port);
			v[k].hi = m[i]->port_last;
			v[k].idx = i;
			k++;
		}
	}
	qsort(v, k, sizeof(*v), span_cmp);
	*out = v;
	*cnt = k;
	return 0;
}

long pr_spans_find(const struct pr_span *v, size_t n, const struct pr_rule_key *k)
{
	struct pr_span probe = { .addr = k->addr, .family = k->family, .proto = k->proto, .lo = ntohs(k->port) };
	size_t lo = 0, hi = n;

	/* the last span not after probe; spans of a valid set never overlap */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (span_cmp(&v[mid], &probe) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -1;
	v += lo - 1;
	if (v->family == probe.family && v->proto == probe.proto &&
	    memcmp(&v->addr, &probe.addr, sizeof(v->addr)) == 0 && probe.lo <= v->hi)
		return v->idx;
	return -1;
}

bool pr_spans_cover(const struct pr_span *v, size_t n, const struct pr_rule_key *k)
{
	return pr_spans_find(v, n, k) >= 0;
}
