/* config_lex.h - the reading half of the configuration parser, shared by
 * config.c (the directive table and what each directive means) and
 * config_lex.c (tokens, sources, error messages, paths, and the syntax of
 * values: numbers, addresses, names). Internal to those two files. */
#ifndef ZC_CONFIG_LEX_H
#define ZC_CONFIG_LEX_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>

#define CFG_MAX_ARGS 16         /* index FILE x8 is the longest legal statement */
#define CFG_MAX_TOKEN 4096      /* a path can't be longer than PATH_MAX anyway */
#define CFG_MAX_CMDS 64         /* rows of the directive table, at most */

struct cfg_tok {
	char *s;
	unsigned line;
};

/* One source being read: the main text, an included file or the defaults. */
struct cfg_lexer {
	const char *name;       /* for messages */
	const char *dir;        /* relative paths resolve here */
	const char *p, *end;
	unsigned line;
	int depth;              /* include nesting */
};

struct cfg_parser {
	struct zc_config *cfg;
	const char *name;       /* main file, as the user wrote it */
	struct cfg_lexer *lx;   /* current source */
	char *err;
	size_t errlen;
	unsigned seen[CFG_MAX_CMDS];    /* per table row, to reject duplicates */
	char *where[CFG_MAX_CMDS];      /* per row, "FILE:LINE" of its last use, for
					 * checks made after parsing (root, mime_types,
					 * TLS) */
};

/* "NAME:LINE: message", or "NAME: message" for line 0. Returns -1. */
int zc_cfg_errf(struct cfg_parser *ps, const char *name, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Error at a line of the source being read. */
#define zc_cfg_perr(ps, line, ...) zc_cfg_errf((ps), (ps)->lx->name, (line), __VA_ARGS__)

/* ---- tokens ---- */
enum { CFG_T_ERR = -1, CFG_T_EOF = 0, CFG_T_WORD, CFG_T_SEMI };
/* Next token of ps->lx: a word (t->s malloc'ed, t->line set), ";", end of
 * source, or an error already written with zc_cfg_perr(). */
int zc_cfg_lex_next(struct cfg_parser *ps, struct cfg_tok *t);
int zc_cfg_is_ctl(int c);

/* ---- paths and files ---- */
char *zc_cfg_join(const char *dir, const char *path);   /* dir/path, or path if absolute */
char *zc_cfg_absolute(const char *p);                   /* against the working directory */
char *zc_cfg_dir_of(const char *abs);
/* Whole file into memory, NUL-terminated (at most 16 MiB). NULL with errno. */
char *zc_cfg_read_file(const char *path, size_t *len);

/* ---- values ---- */
int zc_cfg_parse_number(const char *s, uint64_t *out);  /* digits only */
/* "1.2.3.4:80", "*:80", "80" or "[v6]:80" into l (tls cleared). */
int zc_cfg_parse_listen(const char *s, struct zc_listen *l);
int zc_cfg_valid_token(const char *s);          /* RFC 9110 token */
int zc_cfg_valid_type(const char *s);           /* type/subtype */
int zc_cfg_valid_user(const char *s);
int zc_cfg_valid_url_path(const char *s);       /* normalised absolute path */
int zc_cfg_valid_index(const char *s);          /* plain file name */
int zc_cfg_valid_text(const char *s);           /* non-empty, no control characters */

#endif
