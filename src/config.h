/* config.h - zcserve configuration: an immutable struct parsed from a
 * directive table (nginx-style syntax). A reload parses a new struct; the
 * old one lives until its last reference is dropped. */
#ifndef ZC_CONFIG_H
#define ZC_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ZC_MAX_LISTEN 32
#define ZC_MAX_INDEX 8
#define ZC_MAX_TLS_CERTS 16     /* tls_certificate / tls_certificate_key pairs */

enum zc_symlinks { ZC_SYMLINKS_INSIDE = 0, ZC_SYMLINKS_OFF = 1 };

/* Send strategies. Order is also the index into status counters. */
enum zc_strategy {
	ZC_SEND_AUTO = 0,
	ZC_SEND_COPY,
	ZC_SEND_SENDFILE,
	ZC_SEND_MMAP,
	ZC_SEND_SPLICE,
	ZC_SEND_MSG_ZEROCOPY,
	ZC_SEND_SEND_ZC,
	ZC_SEND__COUNT
};

enum zc_log_level { ZC_LOG_DEBUG = 0, ZC_LOG_INFO, ZC_LOG_NOTICE, ZC_LOG_WARN, ZC_LOG_ERROR, ZC_LOG_CRIT };

struct zc_listen {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char text[80];          /* as written, normalised: "127.0.0.1:8080" or "[::1]:8080" */
	int tls;                /* "listen ADDR:PORT tls" (issue 3) */
};

/* tls_protocols */
enum { ZC_TLS_V12 = 1u, ZC_TLS_V13 = 2u };
/* ktls: force = TLS 1.3 on kernels that cannot rekey too (tls.c) */
enum { ZC_KTLS_OFF = 0, ZC_KTLS_ON = 1, ZC_KTLS_FORCE = 2 };

/* One tls_certificate and the tls_certificate_key with the same index:
 * the first pair is the default, the others are chosen by SNI. */
struct zc_tls_pair {
	char *cert;             /* absolute path: PEM, leaf first, then its chain */
	char *key;              /* absolute path: PEM private key */
	char *cert_at, *key_at; /* "FILE:LINE" of the two directives, for messages */
};

struct zc_mime;                 /* mime.h */
struct zc_tls;                  /* tls.h */

struct zc_config {
	char *file;             /* absolute path of the main config file */
	char *dir;              /* its directory: relative paths resolve here */

	struct zc_listen listen[ZC_MAX_LISTEN];
	int nlisten;
	int workers;            /* 0 = auto (online CPUs) */

	char *root;             /* absolute */
	char *index[ZC_MAX_INDEX];
	int nindex;             /* default: index.html */
	int autoindex;
	char *mime_types;       /* path or NULL (default /etc/mime.types if it exists) */
	char *default_type;     /* default application/octet-stream */
	char *charset;          /* NULL = off; default "utf-8" */
	enum zc_symlinks symlinks;
	int hidden_files;

	char *access_log;       /* NULL = off; "stderr" or a path */
	char *error_log;        /* "stderr" (default) or a path */
	enum zc_log_level error_level;   /* default notice */

	uint64_t keepalive_timeout_ms;   /* 75s */
	uint64_t header_timeout_ms;      /* 10s */
	uint64_t send_timeout_ms;        /* 60s */
	uint64_t shutdown_timeout_ms;    /* 10s: grace period on SIGTERM */
	unsigned max_connections;        /* per worker, default 10000 */
	uint64_t worker_rlimit_nofile;   /* RLIMIT_NOFILE; 0 = unset: soft raised to hard */
	size_t max_header_size;          /* 8k */
	unsigned max_headers;            /* 100 */
	uint64_t max_body_size;          /* 0 */
	unsigned max_ranges;             /* 64: CVE-2011-3192 */

	enum zc_strategy send_strategy;  /* auto */
	uint64_t zerocopy_min_size;      /* auto's break-even: copy below; 0 = measured */
	uint64_t open_file_cache_valid_ms; /* 1s */
	int file_leases;                /* on: read leases on files being sent (lease.h) */

	char *status_path;      /* NULL = off */
	char *user;             /* NULL = don't drop */
	char *pid_file;         /* NULL = none */

	/* TLS, for "listen ... tls" (tls.h) */
	struct zc_tls_pair tls_pair[ZC_MAX_TLS_CERTS];
	int tls_ncerts, tls_nkeys;       /* directives seen; equal after parsing */
	unsigned tls_protocols;          /* ZC_TLS_V12 | ZC_TLS_V13 (both) */
	char *tls_ciphers;               /* TLS 1.2 cipher list (ECDHE + AEAD) */
	char *tls_ciphersuites;          /* TLS 1.3 suites (OpenSSL's default) */
	int tls_session_tickets;         /* on */
	uint64_t tls_ticket_rotate_ms;   /* 1h: a new ticket key this often */
	int ktls;                        /* ZC_KTLS_ON: SSL_OP_ENABLE_KTLS */
	char *tls_listen_at;             /* "FILE:LINE" of the first "listen ... tls" */
	char *tls_protocols_at, *tls_ciphers_at, *tls_ciphersuites_at;

	struct zc_mime *mime;   /* loaded at parse time from mime_types */
	struct zc_tls *tls;     /* tls.h: contexts when any listen has "tls" */
};

/* Parse FILE. On error returns NULL and writes "FILE:LINE: message" (or
 * "FILE: message" when no line applies) into err. */
struct zc_config *zc_config_load(const char *path, char *err, size_t errlen);
/* Parse from a string; name is used in messages, relative paths resolve
 * against dir. Used by tests and the fuzzer. */
struct zc_config *zc_config_parse(const char *name, const char *dir,
				  const char *text, size_t len,
				  char *err, size_t errlen);
void zc_config_free(struct zc_config *cfg);

/* "auto", "copy", ... ; NULL for out of range */
const char *zc_strategy_name(enum zc_strategy s);
int zc_strategy_parse(const char *s, enum zc_strategy *out);

/* Size "8k", "1m", "2g", "100"; duration "10s", "500ms", "2m", "1h", "30" (s).
 * Return 0 on success, -1 on syntax error or overflow. */
int zc_parse_size(const char *s, uint64_t *out);
int zc_parse_duration_ms(const char *s, uint64_t *out);

#endif
