// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Rule id allocation: free ids lowest first, from one read of the live rules. */
#include <errno.h>
#include <stdlib.h>
#include "libportredir.h"
#include "internal.h"

int pr_ids_init(struct pr_ids *ids, __u32 max_rules)
{
	ids->used = calloc((size_t)max_rules + 1, 1);
	if (!ids->used)
		return -ENOMEM;
	ids->used[0] = 1; /* never a rule's */
	ids->max = max_rules;
	ids->cursor = 1;
	return 0;
}

void pr_ids_mark(struct pr_ids *ids, __u32 id, bool used)
{
	if (id > ids->max)
		return;
	ids->used[id] = used;
	if (!used && id && id < ids->cursor)
		ids->cursor = id;
}

int pr_ids_next(struct pr_ids *ids, __u32 *id)
{
	while (ids->cursor <= ids->max && ids->used[ids->cursor])
		ids->cursor++;
	if (ids->cursor > ids->max)
		return -ENOSPC;
	*id = ids->cursor;
	ids->used[ids->cursor++] = 1;
	return 0;
}

void pr_ids_free(struct pr_ids *ids)
{
	free(ids->used);
	ids->used = NULL;
}
