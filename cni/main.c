// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* portredir as a chained CNI plugin (type "portredir", in portmap's place): the CNI_* environment and the config on stdin in, a result or the spec's error object on stdout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cni.h"

#ifndef PR_VERSION
#define PR_VERSION "0.1.0"
#endif
#define CNI_NEWEST "1.1.0"

/* Versions as numbers, for the commands that came later: 0.4.0 -> 400. */
static int version_num(const char *v)
{
	int a = 0, b = 0, c = 0;

	sscanf(v, "%d.%d.%d", &a, &b, &c);
	return a * 10000 + b * 100 + c;
}

static void print_error(const char *version, const struct cni_err *e)
{
	json_t *o = json_pack("{s:s, s:i, s:s, s:s}", "cniVersion", version, "code", e->code, "msg", e->msg,
			      "details", e->details);

	json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(o);
}

static int do_version(json_t *root)
{
	const char *v = json_string_value(json_object_get(root, "cniVersion"));
	json_t *list = json_array(), *o;
	size_t i;

	for (i = 0; cni_versions[i]; i++)
		json_array_append_new(list, json_string(cni_versions[i]));
	o = json_pack("{s:s, s:o}", "cniVersion", v ? v : CNI_NEWEST, "supportedVersions", list);
	json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(o);
	return 0;
}

/* The environment a command needs (SPEC.md, "CNI operations"). */
static int need_env(struct cni_req *r, struct cni_err *e)
{
	bool attach = !strcmp(r->command, "ADD") || !strcmp(r->command, "DEL") || !strcmp(r->command, "CHECK");
	bool netns = strcmp(r->command, "DEL") != 0;

	if (!attach)
		return 0;
	if (!r->container_id || !cni_ident_ok(r->container_id))
		return cni_errf(e, CNI_E_ENV, -EINVAL, "invalid CNI_CONTAINERID",
				"CNI_CONTAINERID '%s' is not a container id (a letter or digit, then letters, digits, '_', '.', '-')",
				r->container_id ? r->container_id : "");
	if (!r->ifname || !*r->ifname)
		return cni_errf(e, CNI_E_ENV, -EINVAL, "CNI_IFNAME is missing", "CNI_IFNAME must name the container's interface");
	if (netns && (!r->netns || !*r->netns))
		return cni_errf(e, CNI_E_ENV, -EINVAL, "CNI_NETNS is missing",
				"CNI_NETNS must name the container's network namespace for %s", r->command);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct cni_req *, struct cni_err *);
		int since; /* the spec version that brought it */
	} cmds[] = {
		{ "ADD", cni_add, 0 }, { "DEL", cni_del, 0 }, { "CHECK", cni_check, 400 },
		{ "GC", cni_gc, 10100 }, { "STATUS", cni_status, 10100 },
	};
	struct cni_req r = {};
	struct cni_err e = {};
	json_error_t jerr;
	json_t *root = NULL;
	const char *version = CNI_NEWEST;
	size_t i;
	int err = 0;

	if (argc > 1) {
		/* a person at a terminal, not a runtime */
		if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
			printf("portredir CNI plugin %s, CNI spec %s\n", PR_VERSION, CNI_NEWEST);
			return 0;
		}
		fprintf(stderr, "%s: a CNI plugin, run by a container runtime: CNI_COMMAND and the others in the "
				"environment, the network config on stdin (see portredir-cni(8)); unknown argument '%s'\n",
			argv[0], argv[1]);
		return 2;
	}
	pr_set_verbose(0);
	r.command = getenv("CNI_COMMAND");
	r.container_id = getenv("CNI_CONTAINERID");
	r.ifname = getenv("CNI_IFNAME");
	r.netns = getenv("CNI_NETNS");
	if (!r.command || !*r.command) {
		err = cni_errf(&e, CNI_E_ENV, -EINVAL, "CNI_COMMAND is missing",
			       "CNI_COMMAND must be ADD, DEL, CHECK, GC, STATUS or VERSION");
		goto out;
	}
	root = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
	if (!strcmp(r.command, "VERSION"))
		return do_version(root);
	if (!root) {
		err = cni_errf(&e, CNI_E_DECODE, -EINVAL, "cannot decode the network config", "stdin, line %d: %s",
			       jerr.line, jerr.text);
		goto out;
	}
	if (json_is_string(json_object_get(root, "cniVersion")))
		version = json_string_value(json_object_get(root, "cniVersion"));
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]) && strcmp(cmds[i].name, r.command); i++)
		;
	if (i == sizeof(cmds) / sizeof(cmds[0])) {
		err = cni_errf(&e, CNI_E_ENV, -EINVAL, "unknown CNI_COMMAND",
			       "CNI_COMMAND '%s': one of ADD, DEL, CHECK, GC, STATUS, VERSION", r.command);
		goto out;
	}
	if ((err = need_env(&r, &e)) || (err = cni_req_parse(&r, root, &e)))
		goto out;
	if (version_num(r.version) < cmds[i].since) {
		err = cni_errf(&e, CNI_E_VERSION, -EPROTO, "incompatible CNI version", "%s needs cniVersion %s or later, not %s",
			       r.command, cmds[i].since == 400 ? "0.4.0" : "1.1.0", r.version);
		goto out;
	}
	err = cmds[i].run(&r, &e);
out:
	if (err) {
		if (!e.code)
			cni_errf(&e, CNI_E_DATAPATH, err, "failed", "%s", strerror(-err));
		print_error(version, &e);
	}
	fflush(stdout);
	cni_req_free(&r);
	json_decref(root);
	return err ? 1 : 0;
}
