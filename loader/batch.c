// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Whole-map reads and many-element writes: one BPF_MAP_*_BATCH call where the kernel has it, one syscall an element where not. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "libportredir.h"
#include "internal.h"

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* the kernel's internal "no such map op", which leaks to userspace */
#endif

/* Elements a lookup batch asks for at once: far above any hash bucket's
 * length (the kernel answers ENOSPC when a bucket does not fit). */
#define READ_CHUNK 8192
/* Elements one update or delete batch carries. */
#define BATCH_MAX (1u << 20)

/* What a kernel without the batch command, or a map type without the op, answers. */
static bool batch_unsupported(int err)
{
	return err == -EINVAL || err == -ENOTSUPP || err == -EOPNOTSUPP;
}

/* PORTREDIR_BATCH=0 takes the one-by-one path, as on a kernel without batch
 * ops, so that tests cover it on any kernel. */
static bool batch_off(void)
{
	static int off = -1;

	if (off < 0) {
		const char *e = getenv("PORTREDIR_BATCH");

		off = e && strcmp(e, "0") == 0;
	}
	return off;
}

int pr_map_read_all(int fd, size_t ksz, size_t vsz, void **keys, void **vals, size_t *n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	char token[64], next[64], *k = NULL, *v = NULL, *nk, *nv;
	size_t cap = 0, got = 0;
	bool first = true, batch = !batch_off();
	int err = 0;

	*keys = *vals = NULL;
	*n = 0;
	if (ksz > sizeof(token))
		return -EINVAL;
	for (;;) {
		__u32 count = READ_CHUNK;

		if (got + READ_CHUNK > cap) {
			cap = cap ? cap * 2 : READ_CHUNK;
			nk = realloc(k, cap * ksz);
			if (nk)
				k = nk;
			nv = realloc(v, cap * vsz);
			if (nv)
				v = nv;
			if (!nk || !nv) {
				err = -ENOMEM;
				goto fail;
			}
		}
		if (batch) {
			/* The token is a bucket or index for some maps and a key for
			 * others; a key-sized buffer (at least 8 bytes) fits all. */
			err = bpf_map_lookup_batch(fd, first ? NULL : token, next, k + got * ksz, v + got * vsz,
						   &count, &opts);
			/* count is not written back when the kernel lacks the op */
			if (err && first && batch_unsupported(err)) {
				batch = false;
				continue;
			}
			if (err && err != -ENOENT)
				goto fail;
			got += count;
			if (err == -ENOENT)
				break;
			memcpy(token, next, sizeof(token));
			first = false;
			continue;
		}
		/* One element at a time: next key, then its value. An element
		 * deleted between the two calls is skipped. */
		if (bpf_map_get_next_key(fd, first ? NULL : token, k + got * ksz))
			break;
		memcpy(token, k + got * ksz, ksz);
		first = false;
		if (bpf_map_lookup_elem(fd, k + got * ksz, v + got * vsz) == 0)
			got++;
	}
	*keys = k;
	*vals = v;
	*n = got;
	return 0;
fail:
	free(k);
	free(v);
	return err;
}

int pr_array_read(int fd, size_t vsz, void *vals, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *keys = malloc(READ_CHUNK * sizeof(*keys)), token = 0, next = 0;
	size_t got = 0;
	int err = 0;

	if (!keys)
		return -ENOMEM;
	while (got < n && !batch_off()) {
		__u32 count = n - got > READ_CHUNK ? READ_CHUNK : n - got;

		err = bpf_map_lookup_batch(fd, got ? &token : NULL, &next, keys, (char *)vals + got * vsz, &count,
					   &opts);
		if (err && !got && batch_unsupported(err))
			break;
		if (err && err != -ENOENT)
			goto out;
		got += count;
		if (err == -ENOENT || !count)
			break; /* the array ends here */
		token = next;
	}
	err = 0;
	for (; got < n; got++) {
		__u32 i = got;

		if (bpf_map_lookup_elem(fd, &i, (char *)vals + got * vsz)) {
			err = errno == ENOENT ? 0 : -errno;
			break;
		}
	}
out:
	free(keys);
	return err;
}

int pr_map_update_many(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz, size_t n,
		       __u64 elem_flags, size_t *done)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = elem_flags);
	const char *k = keys, *v = vals;
	size_t i = 0;
	int err;

	*done = 0;
	while (i < n && !batch_off()) {
		__u32 count = n - i > BATCH_MAX ? BATCH_MAX : n - i;

		err = bpf_map_update_batch(fd, k + i * ksz, v + i * vsz, &count, &opts);
		/* Without the op the kernel leaves count as it was: redo this
		 * call's elements one by one (rewriting is harmless). */
		if (err && batch_unsupported(err))
			break;
		i += count;
		*done = i;
		if (err)
			return err;
	}
	for (; i < n; i++) {
		if (bpf_map_update_elem(fd, k + i * ksz, v + i * vsz, elem_flags))
			return -errno;
		*done = i + 1;
	}
	return 0;
}

int pr_map_delete_many(int fd, const void *keys, size_t ksz, size_t n, size_t *deleted)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	const char *k = keys;
	size_t i = 0, gone = 0;
	int err;

	while (i < n && !batch_off()) {
		__u32 count = n - i > BATCH_MAX ? BATCH_MAX : n - i;

		err = bpf_map_delete_batch(fd, k + i * ksz, &count, &opts);
		if (err && batch_unsupported(err))
			break; /* as in pr_map_update_many; deleting twice is harmless */
		i += count;
		gone += count;
		if (err == -ENOENT) /* the batch stops at an absent key: skip it */
			i++;
		else if (err)
			return err;
	}
	for (; i < n; i++) {
		if (bpf_map_delete_elem(fd, k + i * ksz) == 0)
			gone++;
		else if (errno != ENOENT)
			return -errno;
	}
	if (deleted)
		*deleted = gone;
	return 0;
}

int pr_map_walk(int fd, size_t ksz, size_t vsz, pr_walk_fn fn, void *arg)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	char token[64], next[64], *k = malloc(READ_CHUNK * ksz), *v = malloc(READ_CHUNK * vsz);
	bool first = true;
	int err = 0;

	if (!k || !v || ksz > sizeof(token)) {
		err = -ENOMEM;
		goto out;
	}
	while (!batch_off()) {
		__u32 count = READ_CHUNK;

		err = bpf_map_lookup_batch(fd, first ? NULL : token, next, k, v, &count, &opts);
		if (err && first && batch_unsupported(err))
			break;
		if (err && err != -ENOENT)
			goto out;
		if (count)
			fn(k, v, count, arg);
		if (err == -ENOENT) {
			err = 0;
			goto out;
		}
		memcpy(token, next, sizeof(token));
		first = false;
	}
	/* no batch op: one element at a time (one deleted meanwhile is skipped) */
	err = 0;
	for (void *prev = NULL; bpf_map_get_next_key(fd, prev, next) == 0; prev = token) {
		memcpy(token, next, ksz);
		if (bpf_map_lookup_elem(fd, token, v) == 0)
			fn(token, v, 1, arg);
	}
out:
	free(k);
	free(v);
	return err;
}

static void count_chunk(const void *keys, const void *vals, size_t n, void *arg)
{
	*(size_t *)arg += n;
}

int pr_map_count(int fd, size_t ksz, size_t vsz, size_t *n)
{
	*n = 0;
	return pr_map_walk(fd, ksz, vsz, count_chunk, n);
}
