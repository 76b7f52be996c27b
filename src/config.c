/* config.c - nginx-style configuration parser.
 *
 * A file is a sequence of "name arg ... ;" statements. What each name means
 * lives in one table (cmds[] below), in the spirit of nginx's ngx_command_t:
 * name, argument count, whether it may repeat, a setter, the field it
 * writes and its default. Adding a directive means adding a row (and a
 * paragraph in man/zcserve.conf.5), not another branch. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "config.h"
#include "config_lex.h"
#include "mime.h"
#include "tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_INCLUDE_DEPTH 16    /* deep enough for any sane layout, stops loops */
#define DUR_MAX_MS (30ull * 24 * 3600 * 1000)  /* 30d: keeps timer maths far from overflow */

struct cmd;
typedef int (*cmd_fn)(struct cfg_parser *ps, const struct cmd *c, struct cfg_tok *a, int n);

#define CF_REPEAT 1u            /* may appear more than once */
#define CF_OFF 2u               /* "off" stores NULL */
#define CF_STDERR 4u            /* "stderr" is kept literally, not resolved */

struct cmd {
	const char *name;
	int min, max;           /* argument count, not counting the name */
	unsigned flags;
	cmd_fn set;
	size_t off, size;       /* field in struct zc_config */
	const void *arg;        /* setter-specific: struct kw[], numspec, strspec */
	const char *def;        /* default, applied as if written "name def;" */
	const char *expect;     /* completes "invalid value ...: expected %s" */
};

struct kw {
	const char *name;
	unsigned value;
};

struct numspec {
	int (*parse)(const char *s, uint64_t *out);
	uint64_t min, max;
};

struct strspec {
	int (*valid)(const char *s);
};

static int bad_value(struct cfg_parser *ps, const struct cmd *c, const struct cfg_tok *t)
{
	return zc_cfg_perr(ps, t->line, "invalid value \"%s\" for \"%s\": expected %s",
			   t->s, c->name, c->expect);
}

/* ---- send strategies ---- */

static const char *const strategy_names[ZC_SEND__COUNT] = {
	[ZC_SEND_AUTO] = "auto", [ZC_SEND_COPY] = "copy", [ZC_SEND_SENDFILE] = "sendfile",
	[ZC_SEND_MMAP] = "mmap", [ZC_SEND_SPLICE] = "splice",
	[ZC_SEND_MSG_ZEROCOPY] = "msg_zerocopy", [ZC_SEND_SEND_ZC] = "send_zc",
};

const char *zc_strategy_name(enum zc_strategy s)
{
	return (unsigned)s < ZC_SEND__COUNT ? strategy_names[s] : NULL;
}

int zc_strategy_parse(const char *s, enum zc_strategy *out)
{
	for (unsigned i = 0; s && i < ZC_SEND__COUNT; i++)
		if (!strcmp(s, strategy_names[i])) {
			*out = (enum zc_strategy)i;
			return 0;
		}
	return -1;
}

/* ---- setters ---- */

static void *field(struct cfg_parser *ps, const struct cmd *c)
{
	return (char *)ps->cfg + c->off;
}

/* Numeric fields are unsigned, uint64_t, size_t, int or int-sized enums:
 * copying the field's width lets one setter serve them all. */
static void store_uint(void *p, size_t size, uint64_t v)
{
	uint32_t v32 = (uint32_t)v;

	if (size == sizeof v)
		memcpy(p, &v, sizeof v);
	else
		memcpy(p, &v32, sizeof v32);
}

/* Takes ownership of s (NULL for "off"); NULL from a failed strdup is
 * told apart by want. */
static int store_str(struct cfg_parser *ps, const struct cmd *c, const struct cfg_tok *t, char *s,
		     int want)
{
	char **f = field(ps, c);

	if (want && !s)
		return zc_cfg_perr(ps, t->line, "out of memory");
	free(*f);
	*f = s;
	return 0;
}

static int set_keyword(struct cfg_parser *ps, const struct cmd *c, struct cfg_tok *a, int n)
{
	for (const struct kw *k = c->arg; k->name; k++)
		if (!strcmp(a[1].s, k->name)) {
			store_uint(field(ps, c), c->size, k->value);
			return 0;
		}
	return bad_value(ps, c, &a[1]);
}

static int set_number(struct cfg_parser *ps, const struct cmd *c, struct cfg_tok *a, int n)
{
	const struct numspec *ns = c->arg;
	uint64_t v;

	if (ns->parse(a[1].s, &v) || v < ns->min || v > ns->max)
		return bad_value(ps, c, &a[1]);
	store_uint(field(ps, c), c->size, v);
	return 0;
}

/* PATH, plus "off" (CF_OFF) and "stderr" (CF_STDERR) where allowed.
 * Relative paths resolve against the directory of the file being read. */
static int set_path(struct cfg_parser *ps, const struct cmd *c, struct cfg_tok *a, int n)
{
	const char *v = a[1].s;

	if ((c->flags & CF_OFF) && !strcmp(v, "off"))
		return store_str(ps, c, &a[1], NULL, 0);
	if (!*v)
		return bad_value(ps, c, &a[1]);
	if ((c->flags & CF_STDERR) && !strcmp(v, "stderr"))
		return store_str(ps, c, &a[1], strdup(v), 1);
	return store_str(ps, c, &a[1], zc_cfg_join(ps->lx->dir, v), 1);
}

/* A string checked by the validator in c->arg; "off" where CF_OFF. */
static int set_string(struct cfg_parser *ps, const struct cmd *c, struct cfg_tok *a, int n)
{
	const struct strspec *ss = c->arg;

	if ((c->flags & CF_OFF) && !strcmp(a[1].s, "off"))
		return store_str(ps, c, &a[1], NULL, 0);
	if (!ss->valid(a[1].s))
		return bad_value(ps, c, &a[1]);
	return store_str(ps, c, &a[1], strdup(a[1].s), 1);
}

/* "FILE:LINE" in the source being read, for errors found after parsing. */
static char *where_at(struct cfg_parser *ps, unsigned line)
{
	char *s;

	return asprintf(&s, "%s:%u", ps->lx->name, line) < 0 ? NULL : s;
}

static int cmd_listen(struct cfg_parser *ps, const struct cmd *c, struct cfg_tok *a, int n)
{
	struct zc_config *cfg = ps->cfg;
	struct zc_listen l;

	if (cfg->nlisten >= ZC_MAX_LISTEN)
		return zc_cfg_perr(ps, a[0].line, "too many \"listen\" directives (at most %d)",
				   ZC_MAX_LISTEN);
	if (zc_cfg_parse_listen(a[1].s, &l))
		return bad_value(ps, c, &a[1]);
	if (n > 2 && strcmp(a[2].s, "tls"))
		return zc_cfg_perr(ps, a[2].line, "invalid value \"%s\" for \"listen\": expected tls",
				   a[2].s);
	l.tls = n > 2;
	for (int i = 0; i < cfg->nlisten; i++)
		if (!strcmp(cfg->listen[i].text, l.text))
			return zc_cfg_perr(ps, a[1].line, "duplicate listen address \"%s\"", l.text);
	/* a TLS listener without certificates is reported at this line */
	if (l.tls && !cfg->tls_listen_at && !(cfg->tls_listen_at = where_at(ps, a[0].line)))
		return zc_cfg_perr(ps, a[0].line, "out of memory");
	cfg->listen[cfg->nlisten++] = l;
	return 0;
}

static int cmd_workers(struct cfg_parser *ps, const struct cmd *c, struct cfg_tok *a, int n)
{
	uint64_t v = 0;

	if (strcmp(a[1].s, "auto") && (zc_cfg_parse_number(a[1].s, &v) || v < 1 || v > 1024))
		return bad_value(ps, c, &a[1]);
	ps->cfg->workers = (int)v;
	return 0;
}

/* Replaces the default list rather than adding to it. */
static int cmd_index(struct cfg_parser *ps, const struct cmd *c, struct cfg_tok *a, int n)
{
	struct zc_config *cfg = ps->cfg;

	while (cfg->nindex > 0)
		free(cfg->index[--cfg->nindex]);
	for (int i = 1; i < n; i++) {
		if (!zc_cfg_valid_index(a[i].s))
			return bad_value(ps, c, &a[i]);
		if (!(cfg->index[cfg->nindex] = strdup(a[i].s)))
			return zc_cfg_perr(ps, a[i].line, "out of memory");
		cfg->nindex++;
	}
	return 0;
}

static const struct kw kw_levels[] = {
	{ "debug", ZC_LOG_DEBUG }, { "info", ZC_LOG_INFO }, { "notice", ZC_LOG_NOTICE },
	{ "warn", ZC_LOG_WARN }, { "error", ZC_LOG_ERROR }, { "crit", ZC_LOG_CRIT },
	{ NULL, 0 },
};

static int cmd_error_log(struct cfg_parser *ps, const struct cmd *c, struct cfg_tok *a, int n)
{
	static const struct cmd level = {
		.name = "error_log", .set = set_keyword,
		.off = offsetof(struct zc_config, error_level), .size = sizeof(enum zc_log_level),
		.arg = kw_levels, .expect = "debug, info, notice, warn, error or crit",
	};

	if (!strcmp(a[1].s, "off"))     /* would silently log to a file named "off" */
		return bad_value(ps, c, &a[1]);
	if (set_path(ps, c, a, 2))
		return -1;
	return n > 2 ? set_keyword(ps, &level, a + 1, 2) : 0;
}

static int cmd_strategy(struct cfg_parser *ps, const struct cmd *c, struct cfg_tok *a, int n)
{
	enum zc_strategy s;

	if (zc_strategy_parse(a[1].s, &s))
		return bad_value(ps, c, &a[1]);
	ps->cfg->send_strategy = s;
	return 0;
}

/* ---- TLS ---- */

/* tls_certificate and tls_certificate_key fill pairs by index: the Nth key
 * belongs to the Nth certificate, whichever comes first in the file. Each
 * remembers where it was written, for the errors found when the files are
 * loaded (tls.c) after parsing. */
static int cmd_tls_file(struct cfg_parser *ps, const struct cmd *c, struct cfg_tok *a, int n)
{
	struct zc_config *cfg = ps->cfg;
	int key = !strcmp(c->name, "tls_certificate_key");
	int *count = key ? &cfg->tls_nkeys : &cfg->tls_ncerts;
	struct zc_tls_pair *p;

	if (*count >= ZC_MAX_TLS_CERTS)
		return zc_cfg_perr(ps, a[0].line, "too many \"%s\" directives (at most %d)",
				   c->name, ZC_MAX_TLS_CERTS);
	if (!a[1].s[0])
		return bad_value(ps, c, &a[1]);
	p = &cfg->tls_pair[*count];
	if (!(*(key ? &p->key : &p->cert) = zc_cfg_join(ps->lx->dir, a[1].s)) ||
	    !(*(key ? &p->key_at : &p->cert_at) = where_at(ps, a[0].line)))
		return zc_cfg_perr(ps, a[0].line, "out of memory");
	++*count;
	return 0;
}

/* Only TLS 1.2 and 1.3: anything older is refused by name, so a config
 * copied from an old server fails loudly instead of being trimmed. */
static int cmd_tls_protocols(struct cfg_parser *ps, const struct cmd *c, struct cfg_tok *a,
			     int n)
{
	static const char *const old[] = { "SSLv2", "SSLv3", "TLSv1", "TLSv1.0", "TLSv1.1" };
	unsigned v = 0;

	for (int i = 1; i < n; i++) {
		for (size_t k = 0; k < sizeof old / sizeof old[0]; k++)
			if (!strcmp(a[i].s, old[k]))
				return zc_cfg_perr(ps, a[i].line, "\"%s\" is not supported by "
						   "\"tls_protocols\": it is insecure; only TLSv1.2 "
						   "and TLSv1.3 can be enabled", a[i].s);
		if (!strcmp(a[i].s, "TLSv1.2"))
			v |= ZC_TLS_V12;
		else if (!strcmp(a[i].s, "TLSv1.3"))
			v |= ZC_TLS_V13;
		else
			return bad_value(ps, c, &a[i]);
	}
	ps->cfg->tls_protocols = v;
	return 0;
}

static int cmd_include(struct cfg_parser *ps, const struct cmd *c, struct cfg_tok *a, int n);

/* ---- the directive table ---- */

#define FIELD(f) offsetof(struct zc_config, f), sizeof(((struct zc_config *)0)->f)

static const struct kw kw_onoff[] = { { "on", 1 }, { "off", 0 }, { NULL, 0 } };
static const struct kw kw_ktls[] = {
	{ "on", ZC_KTLS_ON }, { "off", ZC_KTLS_OFF }, { "force", ZC_KTLS_FORCE }, { NULL, 0 },
};
static const struct kw kw_symlinks[] = {
	{ "inside", ZC_SYMLINKS_INSIDE }, { "off", ZC_SYMLINKS_OFF }, { NULL, 0 },
};
static const struct numspec dur_any = { zc_parse_duration_ms, 0, DUR_MAX_MS };
static const struct numspec dur_pos = { zc_parse_duration_ms, 1, DUR_MAX_MS };
static const struct numspec sz_any = { zc_parse_size, 0, UINT64_MAX };

/* "auto" (stored as 0: measured at startup) or a size of at least 1. */
static int parse_size_auto(const char *s, uint64_t *out)
{
	if (!strcmp(s, "auto")) {
		*out = 0;
		return 0;
	}
	return zc_parse_size(s, out) || *out == 0 ? -1 : 0;
}
static const struct numspec sz_auto = { parse_size_auto, 0, UINT64_MAX };
static const struct numspec sz_header = { zc_parse_size, 1024, 1024 * 1024 };
static const struct numspec n_conns = { zc_cfg_parse_number, 1, 1u << 20 };
/* fs.nr_open's default is the kernel's upper bound for RLIMIT_NOFILE */
static const struct numspec n_nofile = { zc_cfg_parse_number, 16, 1u << 20 };
static const struct numspec n_headers = { zc_cfg_parse_number, 1, 10000 };
static const struct numspec n_ranges = { zc_cfg_parse_number, 1, 1024 };
static const struct strspec s_type = { zc_cfg_valid_type }, s_token = { zc_cfg_valid_token };
static const struct strspec s_url = { zc_cfg_valid_url_path }, s_user = { zc_cfg_valid_user };
static const struct strspec s_text = { zc_cfg_valid_text };
static const struct numspec dur_rotate = { zc_parse_duration_ms, 1000, 7ull * 24 * 3600 * 1000 };

#define DUR "a duration like 10s, 500ms, 2m or 1h (at most 30 days)"
#define DUR1 "a duration like 10s, 500ms, 2m or 1h (not 0, at most 30 days)"
#define SIZE "a size like 0, 512k or 1m"

/* Keep in step with man/zcserve.conf.5: tests/man-lint.sh checks that every
 * name here has an entry there. */
static const struct cmd cmds[] = {
	{ "include", 1, 1, CF_REPEAT, cmd_include, 0, 0, NULL, NULL, "a file or glob pattern" },
	{ "listen", 1, 2, CF_REPEAT, cmd_listen, FIELD(listen), NULL, NULL,
	  "ADDR:PORT, *:PORT, [IPv6]:PORT or PORT, with PORT 1..65535" },
	{ "workers", 1, 1, 0, cmd_workers, FIELD(workers), NULL, "auto",
	  "auto or a number 1..1024" },
	{ "root", 1, 1, 0, set_path, FIELD(root), NULL, NULL, "a directory path" },
	{ "index", 1, ZC_MAX_INDEX, 0, cmd_index, FIELD(index), NULL, "index.html",
	  "a file name without \"/\"" },
	{ "autoindex", 1, 1, 0, set_keyword, FIELD(autoindex), kw_onoff, "off", "on or off" },
	{ "mime_types", 1, 1, 0, set_path, FIELD(mime_types), NULL, NULL, "a file path" },
	{ "default_type", 1, 1, 0, set_string, FIELD(default_type), &s_type,
	  "application/octet-stream", "a media type like text/plain" },
	{ "charset", 1, 1, CF_OFF, set_string, FIELD(charset), &s_token, "utf-8",
	  "a charset name or off" },
	{ "symlinks", 1, 1, 0, set_keyword, FIELD(symlinks), kw_symlinks, "inside",
	  "inside or off" },
	{ "hidden_files", 1, 1, 0, set_keyword, FIELD(hidden_files), kw_onoff, "off", "on or off" },
	{ "access_log", 1, 1, CF_OFF | CF_STDERR, set_path, FIELD(access_log), NULL, "off",
	  "a file path, stderr or off" },
	{ "error_log", 1, 2, CF_STDERR, cmd_error_log, FIELD(error_log), NULL, "stderr notice",
	  "a file path or stderr" },
	{ "keepalive_timeout", 1, 1, 0, set_number, FIELD(keepalive_timeout_ms), &dur_any, "75s",
	  DUR },
	{ "header_timeout", 1, 1, 0, set_number, FIELD(header_timeout_ms), &dur_pos, "10s", DUR1 },
	{ "send_timeout", 1, 1, 0, set_number, FIELD(send_timeout_ms), &dur_pos, "60s", DUR1 },
	{ "shutdown_timeout", 1, 1, 0, set_number, FIELD(shutdown_timeout_ms), &dur_any, "10s",
	  DUR },
	{ "max_connections", 1, 1, 0, set_number, FIELD(max_connections), &n_conns, "10000",
	  "a number 1..1048576" },
	{ "worker_rlimit_nofile", 1, 1, 0, set_number, FIELD(worker_rlimit_nofile), &n_nofile, NULL,
	  "a number 16..1048576" },
	{ "max_header_size", 1, 1, 0, set_number, FIELD(max_header_size), &sz_header, "8k",
	  "a size 1k..1m" },
	{ "max_headers", 1, 1, 0, set_number, FIELD(max_headers), &n_headers, "100",
	  "a number 1..10000" },
	{ "max_body_size", 1, 1, 0, set_number, FIELD(max_body_size), &sz_any, "0", SIZE },
	{ "max_ranges", 1, 1, 0, set_number, FIELD(max_ranges), &n_ranges, "64",
	  "a number 1..1024" },
	{ "send_strategy", 1, 1, 0, cmd_strategy, FIELD(send_strategy), NULL, "auto",
	  "auto, copy, sendfile, mmap, splice, msg_zerocopy or send_zc" },
	{ "zerocopy_min_size", 1, 1, 0, set_number, FIELD(zerocopy_min_size), &sz_auto, "auto",
	  "auto or a size of at least 1" },
	{ "open_file_cache_valid", 1, 1, 0, set_number, FIELD(open_file_cache_valid_ms), &dur_any,
	  "1s", DUR },
	{ "file_leases", 1, 1, 0, set_keyword, FIELD(file_leases), kw_onoff, "on", "on or off" },
	{ "status_path", 1, 1, CF_OFF, set_string, FIELD(status_path), &s_url, "off",
	  "an absolute path like /zcserve-status, or off" },
	{ "user", 1, 1, 0, set_string, FIELD(user), &s_user, NULL, "a user name" },
	{ "pid_file", 1, 1, CF_OFF, set_path, FIELD(pid_file), NULL, "off", "a file path or off" },
	{ "tls_certificate", 1, 1, CF_REPEAT, cmd_tls_file, FIELD(tls_pair), NULL, NULL,
	  "a PEM file path" },
	{ "tls_certificate_key", 1, 1, CF_REPEAT, cmd_tls_file, FIELD(tls_pair), NULL, NULL,
	  "a PEM file path" },
	{ "tls_protocols", 1, 2, 0, cmd_tls_protocols, FIELD(tls_protocols), NULL,
	  "TLSv1.2 TLSv1.3", "TLSv1.2 and/or TLSv1.3" },
	{ "tls_ciphers", 1, 1, 0, set_string, FIELD(tls_ciphers), &s_text, ZC_TLS_DEFAULT_CIPHERS,
	  "an OpenSSL cipher list" },
	{ "tls_ciphersuites", 1, 1, 0, set_string, FIELD(tls_ciphersuites), &s_text,
	  ZC_TLS_DEFAULT_CIPHERSUITES, "an OpenSSL TLS 1.3 ciphersuite list" },
	{ "tls_session_tickets", 1, 1, 0, set_keyword, FIELD(tls_session_tickets), kw_onoff, "on",
	  "on or off" },
	{ "tls_session_ticket_rotate", 1, 1, 0, set_number, FIELD(tls_ticket_rotate_ms),
	  &dur_rotate, "1h", "a duration from 1s to 168h" },
	{ "ktls", 1, 1, 0, set_keyword, FIELD(ktls), kw_ktls, "on", "on, off or force" },
};

#define NCMDS (sizeof cmds / sizeof cmds[0])
_Static_assert(NCMDS <= sizeof ((struct cfg_parser *)0)->seen / sizeof(unsigned) &&
	       NCMDS <= sizeof ((struct cfg_parser *)0)->where / sizeof(char *),
	       "parser.seen/where too small for the directive table");
_Static_assert(sizeof(enum zc_symlinks) == 4 && sizeof(enum zc_log_level) == 4 &&
	       sizeof(unsigned) == 4 && sizeof(int) == 4,
	       "store_uint assumes 32-bit ints and enums");

/* ---- statements ---- */

/* Too many arguments spread over lines usually means a forgotten ';': say
 * so, pointing at the line that should have ended the statement. */
static int bad_arity(struct cfg_parser *ps, const struct cmd *c, struct cfg_tok *a, int n)
{
	char range[32], hint[64] = "";
	int last = n <= CFG_MAX_ARGS ? n - 1 : CFG_MAX_ARGS;

	snprintf(range, sizeof range, c->min == c->max ? "%d" : "%d to %d", c->min, c->max);
	for (int i = 1; n - 1 > c->max && i <= last && !hint[0]; i++)
		if (a[i].line != a[0].line)
			snprintf(hint, sizeof hint, " (missing \";\" on line %u?)", a[i - 1].line);
	return zc_cfg_perr(ps, a[0].line, "wrong number of arguments for \"%s\": got %d, expected %s%s",
			   c->name, n - 1, range, hint);
}

static const struct cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (!strcmp(name, cmds[i].name))
			return &cmds[i];
	return NULL;
}

static int run_directive(struct cfg_parser *ps, struct cfg_tok *a, int n)
{
	const struct cmd *c = find_cmd(a[0].s);
	char **where;

	if (!c)
		return zc_cfg_perr(ps, a[0].line, "unknown directive \"%s\"", a[0].s);
	if (n - 1 < c->min || n - 1 > c->max)
		return bad_arity(ps, c, a, n);
	if (ps->seen[c - cmds]++ && !(c->flags & CF_REPEAT))
		return zc_cfg_perr(ps, a[0].line, "duplicate \"%s\" directive", c->name);
	where = &ps->where[c - cmds];
	free(*where);
	if (asprintf(where, "%s:%u", ps->lx->name, a[0].line) < 0) {
		*where = NULL;
		return zc_cfg_perr(ps, a[0].line, "out of memory");
	}
	return c->set(ps, c, a, n);
}

/* Read statements from lx until its end. */
static int parse_source(struct cfg_parser *ps, struct cfg_lexer *lx)
{
	struct cfg_lexer *outer = ps->lx;
	struct cfg_tok a[CFG_MAX_ARGS + 1], t;
	int n = 0, kept = 0, k, r = -1;

	ps->lx = lx;
	for (;;) {
		if ((k = zc_cfg_lex_next(ps, &t)) == CFG_T_WORD) {
			if (kept <= CFG_MAX_ARGS)
				a[kept++] = t;
			else
				free(t.s);      /* over-long: only the count matters now */
			n++;
			continue;
		}
		if (k != CFG_T_SEMI || n == 0 || run_directive(ps, a, n))
			break;
		while (kept > 0)
			free(a[--kept].s);
		n = 0;
	}
	if (k == CFG_T_SEMI && n == 0)
		zc_cfg_perr(ps, t.line, "unexpected \";\"");
	else if (k == CFG_T_EOF && n > 0)
		zc_cfg_perr(ps, a[0].line, "unexpected end of file: missing \";\" after \"%s\"", a[0].s);
	else if (k == CFG_T_EOF)
		r = 0;
	while (kept > 0)
		free(a[--kept].s);
	ps->lx = outer;
	return r;
}

static int include_file(struct cfg_parser *ps, const char *path, unsigned line)
{
	struct cfg_lexer lx = { .name = path, .line = 1, .depth = ps->lx->depth + 1 };
	size_t len;
	char *text, *dir;
	int r = -1;

	if (!(text = zc_cfg_read_file(path, &len)))
		return zc_cfg_perr(ps, line, "include \"%s\": %s", path, strerror(errno));
	if (!(lx.dir = dir = zc_cfg_dir_of(path))) {
		zc_cfg_perr(ps, line, "out of memory");
	} else {
		lx.p = text;
		lx.end = text + len;
		r = parse_source(ps, &lx);
	}
	free(dir);
	free(text);
	return r;
}

/* A plain name must exist; a pattern may match nothing (like nginx), so a
 * conf.d/ directory can be empty. Matches are read in glob's sorted order. */
static int cmd_include(struct cfg_parser *ps, const struct cmd *c, struct cfg_tok *a, int n)
{
	char *pat;
	glob_t g;
	int r = 0, gr;

	if (ps->lx->depth >= MAX_INCLUDE_DEPTH)
		return zc_cfg_perr(ps, a[0].line, "includes nested more than %d deep: include loop?",
				   MAX_INCLUDE_DEPTH);
	if (!a[1].s[0])
		return bad_value(ps, c, &a[1]);
	if (!(pat = zc_cfg_join(ps->lx->dir, a[1].s)))
		return zc_cfg_perr(ps, a[1].line, "out of memory");
	if (!strpbrk(a[1].s, "*?[")) {
		r = include_file(ps, pat, a[0].line);
	} else if ((gr = glob(pat, 0, NULL, &g)) == 0) {
		for (size_t i = 0; !r && i < g.gl_pathc; i++)
			r = include_file(ps, g.gl_pathv[i], a[0].line);
		globfree(&g);
	} else if (gr != GLOB_NOMATCH) {
		r = zc_cfg_perr(ps, a[0].line, "include \"%s\": %s", pat,
				gr == GLOB_NOSPACE ? "out of memory" : "read error");
	}
	free(pat);
	return r;
}

/* ---- whole configuration ---- */

/* Each row's default goes through its own setter, so a default can never
 * be something the parser would reject. The rows then count as unseen. */
static int apply_defaults(struct cfg_parser *ps)
{
	struct cfg_lexer lx = { .name = "(defaults)", .dir = ps->cfg->dir, .line = 1 };
	char *text;
	int r = 0;

	for (size_t i = 0; i < NCMDS && !r; i++) {
		if (!cmds[i].def)
			continue;
		if (asprintf(&text, "%s %s;", cmds[i].name, cmds[i].def) < 0)
			return zc_cfg_errf(ps, lx.name, 0, "out of memory");
		lx.p = text;
		lx.end = text + strlen(text);
		r = parse_source(ps, &lx);
		free(text);
	}
	memset(ps->seen, 0, sizeof ps->seen);
	return r;
}

/* Root must exist now (a typo should fail -t, not every request later);
 * it is stored resolved so the symlinks-inside check compares real paths. */
static int check_root(struct cfg_parser *ps)
{
	struct zc_config *cfg = ps->cfg;
	struct stat st;
	char *real = NULL;
	int e = 0;

	if (!cfg->root)
		return zc_cfg_errf(ps, ps->name, 0, "no root configured");
	if (stat(cfg->root, &st) < 0 || !(real = realpath(cfg->root, NULL)))
		e = errno;
	else if (!S_ISDIR(st.st_mode))
		e = ENOTDIR;
	if (e) {
		free(real);
		return zc_cfg_errf(ps, ps->where[find_cmd("root") - cmds], 0, "root \"%s\": %s",
				   cfg->root, strerror(e));
	}
	free(cfg->root);
	cfg->root = real;
	return 0;
}

/* An error inside the types file already names that file and line: keep
 * it. One without a line (can't open or read it) is told at the mime_types
 * directive instead, so the user sees which line to fix. */
static int mime_error(struct cfg_parser *ps)
{
	const char *mt = ps->cfg->mime_types;
	size_t len = mt ? strlen(mt) : 0;
	char msg[1024];

	if (!mt || !ps->err || !ps->errlen)
		return -1;
	if (!strncmp(ps->err, mt, len) && ps->err[len] == ':' &&
	    isdigit((unsigned char)ps->err[len + 1]))
		return -1;
	snprintf(msg, sizeof msg, "%s", ps->err);
	return zc_cfg_errf(ps, ps->where[find_cmd("mime_types") - cmds], 0, "mime_types: %s", msg);
}

/* The TLS directives matter only when a listener uses TLS (as in nginx):
 * then certificates and keys must pair up, and tls.c loads the files and
 * builds the contexts, reporting problems at the directive's line. */
static int check_tls(struct cfg_parser *ps)
{
	struct zc_config *cfg = ps->cfg;
	int tls = 0, i = cfg->tls_nkeys < cfg->tls_ncerts ? cfg->tls_nkeys : cfg->tls_ncerts;

	for (int k = 0; k < cfg->nlisten; k++)
		tls |= cfg->listen[k].tls;
	if (!tls)
		return 0;
	if (cfg->tls_ncerts == 0 && cfg->tls_nkeys == 0)
		return zc_cfg_errf(ps, cfg->tls_listen_at, 0, "listen with \"tls\" but no "
				   "tls_certificate and tls_certificate_key configured");
	if (cfg->tls_ncerts > cfg->tls_nkeys)
		return zc_cfg_errf(ps, cfg->tls_pair[i].cert_at, 0, "tls_certificate \"%s\" has "
				   "no tls_certificate_key (the Nth key goes with the Nth "
				   "certificate)", cfg->tls_pair[i].cert);
	if (cfg->tls_nkeys > cfg->tls_ncerts)
		return zc_cfg_errf(ps, cfg->tls_pair[i].key_at, 0, "tls_certificate_key \"%s\" "
				   "has no tls_certificate (the Nth key goes with the Nth "
				   "certificate)", cfg->tls_pair[i].key);
	if (!(cfg->tls_protocols_at = strdup(ps->where[find_cmd("tls_protocols") - cmds])) ||
	    !(cfg->tls_ciphers_at = strdup(ps->where[find_cmd("tls_ciphers") - cmds])) ||
	    !(cfg->tls_ciphersuites_at = strdup(ps->where[find_cmd("tls_ciphersuites") - cmds])))
		return zc_cfg_errf(ps, ps->name, 0, "out of memory");
	return zc_tls_configure(cfg, ps->err, ps->errlen);
}

static int finish(struct cfg_parser *ps)
{
	struct zc_config *cfg = ps->cfg;
	const char *mt = cfg->mime_types;

	if (cfg->nlisten == 0)          /* like nginx's *:80, but not exposed */
		zc_cfg_parse_listen("127.0.0.1:8080", &cfg->listen[cfg->nlisten++]);
	if (check_root(ps))
		return -1;
	if (!mt && access("/etc/mime.types", R_OK) == 0)
		mt = "/etc/mime.types";
	if (!(cfg->mime = zc_mime_load(mt, ps->err, ps->errlen)))
		return mime_error(ps);
	return check_tls(ps);
}

/* name: for messages; file and dir: absolute, owned by the result. */
static struct zc_config *parse(const char *name, char *file, char *dir,
			       const char *text, size_t len, char *err, size_t errlen)
{
	struct zc_config *cfg = calloc(1, sizeof *cfg);
	struct cfg_parser ps = { .cfg = cfg, .name = name, .err = err, .errlen = errlen };
	struct cfg_lexer lx = { .name = name, .dir = dir, .p = text, .end = text + len, .line = 1 };
	int r = -1;

	if (err && errlen)
		err[0] = '\0';
	ps.lx = &lx;
	if (!cfg || !file || !dir) {
		zc_cfg_errf(&ps, name, 0, "out of memory");
		free(file);
		free(dir);
	} else {
		cfg->file = file;
		cfg->dir = dir;
		if (apply_defaults(&ps) == 0 && parse_source(&ps, &lx) == 0)
			r = finish(&ps);
	}
	for (size_t i = 0; i < NCMDS; i++)
		free(ps.where[i]);
	if (r) {
		zc_config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct zc_config *zc_config_parse(const char *name, const char *dir,
				  const char *text, size_t len,
				  char *err, size_t errlen)
{
	char *adir = zc_cfg_absolute(dir ? dir : ".");

	return parse(name, adir ? zc_cfg_join(adir, name) : NULL, adir, text, len, err, errlen);
}

/* Messages name the file as the user wrote it; cfg->file is absolute. */
struct zc_config *zc_config_load(const char *path, char *err, size_t errlen)
{
	struct zc_config *cfg;
	size_t len;
	char *text = zc_cfg_read_file(path, &len), *file;

	if (!text) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	file = zc_cfg_absolute(path);
	cfg = parse(path, file, file ? zc_cfg_dir_of(file) : NULL, text, len, err, errlen);
	free(text);
	return cfg;
}

void zc_config_free(struct zc_config *cfg)
{
	if (!cfg)
		return;
	while (cfg->nindex > 0)
		free(cfg->index[--cfg->nindex]);
	if (cfg->mime)
		zc_mime_free(cfg->mime);
	zc_tls_free(cfg->tls);
	for (int i = 0; i < ZC_MAX_TLS_CERTS; i++) {
		struct zc_tls_pair *p = &cfg->tls_pair[i];
		free(p->cert);
		free(p->key);
		free(p->cert_at);
		free(p->key_at);
	}
	free(cfg->tls_listen_at);
	free(cfg->tls_protocols_at);
	free(cfg->tls_ciphers_at);
	free(cfg->tls_ciphersuites_at);
	/* Every string field is owned by a row with one of these setters, so
	 * a new string directive is freed without touching this function. */
	for (size_t i = 0; i < NCMDS; i++)
		if (cmds[i].set == set_path || cmds[i].set == set_string ||
		    cmds[i].set == cmd_error_log)
			free(*(char **)((char *)cfg + cmds[i].off));
	free(cfg->file);
	free(cfg->dir);
	free(cfg);
}
