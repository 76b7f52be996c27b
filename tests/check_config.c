/* check_config.c - unit tests for the configuration parser.
 *
 * Every test runs in a fresh mkdtemp directory holding an empty www/, so
 * "root www;" always works and relative-path results are predictable. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
/* Not "config.h": with automake's -I. that could name the autoconf header. */
#include "../src/config.h"
#include "../src/tls.h"
#include "tlstest.h"
#include "cfgtest.h"
#include "checkmain.h"

#include <arpa/inet.h>
#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void setup(void)
{
	cfgtest_setup("zc-check-config");
}

/* Expect failure with exactly this message; each "%T" in want stands for tmp. */
static void fails(const char *text, const char *want)
{
	ck_assert_str_eq(err, expect_failure(text, want));
}

static char *tmppath(const char *rel)
{
	static char p[PATH_MAX + 64];

	snprintf(p, sizeof p, "%s/%s", tmp, rel);
	return p;
}

/* ---- values ---- */

START_TEST(sizes)
{
	uint64_t v;

	ck_assert_int_eq(zc_parse_size("0", &v), 0); ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(zc_parse_size("100", &v), 0); ck_assert_uint_eq(v, 100);
	ck_assert_int_eq(zc_parse_size("8k", &v), 0); ck_assert_uint_eq(v, 8192);
	ck_assert_int_eq(zc_parse_size("8K", &v), 0); ck_assert_uint_eq(v, 8192);
	ck_assert_int_eq(zc_parse_size("1m", &v), 0); ck_assert_uint_eq(v, 1048576);
	ck_assert_int_eq(zc_parse_size("1M", &v), 0); ck_assert_uint_eq(v, 1048576);
	ck_assert_int_eq(zc_parse_size("2g", &v), 0); ck_assert_uint_eq(v, 2147483648u);
	ck_assert_int_eq(zc_parse_size("18446744073709551615", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(zc_parse_size("17179869183g", &v), 0);
	ck_assert_uint_eq(v, 17179869183ull << 30);
	/* overflow */
	ck_assert_int_eq(zc_parse_size("18446744073709551616", &v), -1);
	ck_assert_int_eq(zc_parse_size("17179869184g", &v), -1);
	ck_assert_int_eq(zc_parse_size("99999999999999999999999k", &v), -1);
	/* syntax */
	const char *bad[] = { "", "k", "-1", "+1", " 1", "1 ", "1.5k", "1kb", "1t", "0x10", "abc" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(zc_parse_size(bad[i], &v) == -1, "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(zc_parse_size(NULL, &v), -1);
}
END_TEST

START_TEST(durations)
{
	uint64_t v;

	ck_assert_int_eq(zc_parse_duration_ms("30", &v), 0); ck_assert_uint_eq(v, 30000);
	ck_assert_int_eq(zc_parse_duration_ms("0", &v), 0); ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(zc_parse_duration_ms("500ms", &v), 0); ck_assert_uint_eq(v, 500);
	ck_assert_int_eq(zc_parse_duration_ms("10s", &v), 0); ck_assert_uint_eq(v, 10000);
	ck_assert_int_eq(zc_parse_duration_ms("2m", &v), 0); ck_assert_uint_eq(v, 120000);
	ck_assert_int_eq(zc_parse_duration_ms("1h", &v), 0); ck_assert_uint_eq(v, 3600000);
	ck_assert_int_eq(zc_parse_duration_ms("1H", &v), 0); ck_assert_uint_eq(v, 3600000);
	ck_assert_int_eq(zc_parse_duration_ms("18446744073709551615ms", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	/* overflow: the number fits, the product does not */
	ck_assert_int_eq(zc_parse_duration_ms("18446744073709551615s", &v), -1);
	ck_assert_int_eq(zc_parse_duration_ms("18446744073709552", &v), -1);
	ck_assert_int_eq(zc_parse_duration_ms("5124095576030432h", &v), -1);
	const char *bad[] = { "", "s", "ms", "-1", "1.5s", "10x", "1d", "1sec", "1 s", "s1" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(zc_parse_duration_ms(bad[i], &v) == -1, "accepted \"%s\"", bad[i]);
}
END_TEST

START_TEST(strategies)
{
	enum zc_strategy s;

	for (int i = 0; i < ZC_SEND__COUNT; i++) {
		const char *name = zc_strategy_name((enum zc_strategy)i);
		ck_assert_ptr_nonnull(name);
		ck_assert_int_eq(zc_strategy_parse(name, &s), 0);
		ck_assert_int_eq(s, i);
	}
	ck_assert_str_eq(zc_strategy_name(ZC_SEND_SENDFILE), "sendfile");
	ck_assert_str_eq(zc_strategy_name(ZC_SEND_MSG_ZEROCOPY), "msg_zerocopy");
	ck_assert_ptr_null(zc_strategy_name(ZC_SEND__COUNT));
	ck_assert_ptr_null(zc_strategy_name((enum zc_strategy)-1));
	ck_assert_int_eq(zc_strategy_parse("Copy", &s), -1);
	ck_assert_int_eq(zc_strategy_parse("", &s), -1);
	ck_assert_int_eq(zc_strategy_parse(NULL, &s), -1);
}
END_TEST

/* ---- good configurations ---- */

START_TEST(defaults)
{
	struct zc_config *cfg = ok("root www;");
	const struct sockaddr_in *a = (const struct sockaddr_in *)&cfg->listen[0].addr;

	ck_assert_str_eq(cfg->file, tmppath("test.conf"));
	ck_assert_str_eq(cfg->dir, tmp);
	ck_assert_int_eq(cfg->nlisten, 1);
	ck_assert_str_eq(cfg->listen[0].text, "127.0.0.1:8080");
	ck_assert_int_eq(a->sin_family, AF_INET);
	ck_assert_int_eq(ntohs(a->sin_port), 8080);
	ck_assert_uint_eq(ntohl(a->sin_addr.s_addr), 0x7f000001);
	ck_assert_int_eq(cfg->listen[0].addrlen, sizeof(struct sockaddr_in));
	ck_assert_int_eq(cfg->listen[0].tls, 0);
	ck_assert_int_eq(cfg->workers, 0);
	ck_assert_str_eq(cfg->root, tmppath("www"));
	ck_assert_int_eq(cfg->nindex, 1);
	ck_assert_str_eq(cfg->index[0], "index.html");
	ck_assert_int_eq(cfg->autoindex, 0);
	ck_assert_ptr_null(cfg->mime_types);
	ck_assert_str_eq(cfg->default_type, "application/octet-stream");
	ck_assert_str_eq(cfg->charset, "utf-8");
	ck_assert_int_eq(cfg->symlinks, ZC_SYMLINKS_INSIDE);
	ck_assert_int_eq(cfg->hidden_files, 0);
	ck_assert_ptr_null(cfg->access_log);
	ck_assert_str_eq(cfg->error_log, "stderr");
	ck_assert_int_eq(cfg->error_level, ZC_LOG_NOTICE);
	ck_assert_uint_eq(cfg->keepalive_timeout_ms, 75000);
	ck_assert_uint_eq(cfg->header_timeout_ms, 10000);
	ck_assert_uint_eq(cfg->send_timeout_ms, 60000);
	ck_assert_uint_eq(cfg->shutdown_timeout_ms, 10000);
	ck_assert_uint_eq(cfg->max_connections, 10000);
	ck_assert_uint_eq(cfg->worker_rlimit_nofile, 0);        /* unset: soft to hard */
	ck_assert_uint_eq(cfg->max_header_size, 8192);
	ck_assert_uint_eq(cfg->max_headers, 100);
	ck_assert_uint_eq(cfg->max_body_size, 0);
	ck_assert_uint_eq(cfg->max_ranges, 64);
	ck_assert_int_eq(cfg->send_strategy, ZC_SEND_AUTO);
	ck_assert_uint_eq(cfg->zerocopy_min_size, 0);
	ck_assert_uint_eq(cfg->open_file_cache_valid_ms, 1000);
	ck_assert_ptr_null(cfg->status_path);
	ck_assert_ptr_null(cfg->user);
	ck_assert_ptr_null(cfg->pid_file);
	ck_assert_ptr_nonnull(cfg->mime);
	ck_assert_int_eq(cfg->tls_ncerts, 0);
	ck_assert_int_eq(cfg->tls_nkeys, 0);
	ck_assert_uint_eq(cfg->tls_protocols, ZC_TLS_V12 | ZC_TLS_V13);
	ck_assert_str_eq(cfg->tls_ciphers, ZC_TLS_DEFAULT_CIPHERS);
	ck_assert_str_eq(cfg->tls_ciphersuites, ZC_TLS_DEFAULT_CIPHERSUITES);
	ck_assert_int_eq(cfg->tls_session_tickets, 1);
	ck_assert_uint_eq(cfg->tls_ticket_rotate_ms, 3600000);
	ck_assert_int_eq(cfg->ktls, 1);
	ck_assert_ptr_null(cfg->tls);
	zc_config_free(cfg);
}
END_TEST

START_TEST(every_directive)
{
	struct zc_config *cfg;

	put("types", "text/x-test tst\n");
	ck_assert_int_eq(testcert_files(tmp, "cert.pem", "key.pem", "localhost", "localhost"), 0);
	cfg = ok("listen 127.0.0.1:8080;\n"
		 "listen *:8443 tls;\n"
		 "workers 4;\n"
		 "root www;\n"
		 "index index.htm default.html;\n"
		 "autoindex on;\n"
		 "mime_types types;\n"
		 "default_type text/plain;\n"
		 "charset iso-8859-1;\n"
		 "symlinks off;\n"
		 "hidden_files on;\n"
		 "access_log /var/log/zc/access.log;\n"
		 "error_log logs/error.log debug;\n"
		 "keepalive_timeout 0;\n"
		 "header_timeout 500ms;\n"
		 "send_timeout 2m;\n"
		 "shutdown_timeout 1h;\n"
		 "max_connections 123;\n"
		 "max_header_size 16k;\n"
		 "max_headers 50;\n"
		 "max_body_size 1g;\n"
		 "max_ranges 1;\n"
		 "send_strategy sendfile;\n"
		 "zerocopy_min_size 64K;\n"
		 "open_file_cache_valid 0;\n"
		 "status_path /zcserve-status;\n"
		 "user www-data;\n"
		 "pid_file run/zcserve.pid;\n"
		 "tls_certificate cert.pem;\n"
		 "tls_certificate_key key.pem;\n"
		 "tls_protocols TLSv1.3;\n"
		 "tls_ciphers ECDHE-RSA-AES128-GCM-SHA256;\n"
		 "tls_ciphersuites TLS_AES_256_GCM_SHA384;\n"
		 "tls_session_tickets off;\n"
		 "tls_session_ticket_rotate 10m;\n"
		 "ktls off;\n"
		 "worker_rlimit_nofile 65536;\n");
	ck_assert_int_eq(cfg->nlisten, 2);
	ck_assert_str_eq(cfg->listen[0].text, "127.0.0.1:8080");
	ck_assert_str_eq(cfg->listen[1].text, "0.0.0.0:8443");
	ck_assert_int_eq(cfg->listen[0].tls, 0);
	ck_assert_int_eq(cfg->listen[1].tls, 1);
	ck_assert_int_eq(cfg->workers, 4);
	ck_assert_int_eq(cfg->nindex, 2);
	ck_assert_str_eq(cfg->index[0], "index.htm");
	ck_assert_str_eq(cfg->index[1], "default.html");
	ck_assert_int_eq(cfg->autoindex, 1);
	ck_assert_str_eq(cfg->mime_types, tmppath("types"));
	ck_assert_str_eq(cfg->default_type, "text/plain");
	ck_assert_str_eq(cfg->charset, "iso-8859-1");
	ck_assert_int_eq(cfg->symlinks, ZC_SYMLINKS_OFF);
	ck_assert_int_eq(cfg->hidden_files, 1);
	ck_assert_str_eq(cfg->access_log, "/var/log/zc/access.log");
	ck_assert_str_eq(cfg->error_log, tmppath("logs/error.log"));
	ck_assert_int_eq(cfg->error_level, ZC_LOG_DEBUG);
	ck_assert_uint_eq(cfg->keepalive_timeout_ms, 0);
	ck_assert_uint_eq(cfg->header_timeout_ms, 500);
	ck_assert_uint_eq(cfg->send_timeout_ms, 120000);
	ck_assert_uint_eq(cfg->shutdown_timeout_ms, 3600000);
	ck_assert_uint_eq(cfg->max_connections, 123);
	ck_assert_uint_eq(cfg->worker_rlimit_nofile, 65536);
	ck_assert_uint_eq(cfg->max_header_size, 16384);
	ck_assert_uint_eq(cfg->max_headers, 50);
	ck_assert_uint_eq(cfg->max_body_size, 1ull << 30);
	ck_assert_uint_eq(cfg->max_ranges, 1);
	ck_assert_int_eq(cfg->send_strategy, ZC_SEND_SENDFILE);
	ck_assert_uint_eq(cfg->zerocopy_min_size, 65536);
	ck_assert_uint_eq(cfg->open_file_cache_valid_ms, 0);
	ck_assert_str_eq(cfg->status_path, "/zcserve-status");
	ck_assert_str_eq(cfg->user, "www-data");
	ck_assert_str_eq(cfg->pid_file, tmppath("run/zcserve.pid"));
	ck_assert_int_eq(cfg->tls_ncerts, 1);
	ck_assert_int_eq(cfg->tls_nkeys, 1);
	ck_assert_str_eq(cfg->tls_pair[0].cert, tmppath("cert.pem"));
	ck_assert_str_eq(cfg->tls_pair[0].key, tmppath("key.pem"));
	ck_assert_str_eq(cfg->tls_pair[0].cert_at, "test.conf:29");
	ck_assert_str_eq(cfg->tls_pair[0].key_at, "test.conf:30");
	ck_assert_uint_eq(cfg->tls_protocols, ZC_TLS_V13);
	ck_assert_str_eq(cfg->tls_ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
	ck_assert_str_eq(cfg->tls_ciphersuites, "TLS_AES_256_GCM_SHA384");
	ck_assert_int_eq(cfg->tls_session_tickets, 0);
	ck_assert_uint_eq(cfg->tls_ticket_rotate_ms, 600000);
	ck_assert_int_eq(cfg->ktls, 0);
	ck_assert_ptr_nonnull(cfg->tls);
	zc_config_free(cfg);
}
END_TEST

START_TEST(off_and_stderr)
{
	struct zc_config *cfg = ok("root www; charset off; access_log stderr;\n"
				   "error_log stderr crit; status_path off; pid_file off;\n"
				   "workers auto; send_strategy send_zc;");

	ck_assert_ptr_null(cfg->charset);
	ck_assert_str_eq(cfg->access_log, "stderr");
	ck_assert_str_eq(cfg->error_log, "stderr");
	ck_assert_int_eq(cfg->error_level, ZC_LOG_CRIT);
	ck_assert_ptr_null(cfg->status_path);
	ck_assert_ptr_null(cfg->pid_file);
	ck_assert_int_eq(cfg->workers, 0);
	ck_assert_int_eq(cfg->send_strategy, ZC_SEND_SEND_ZC);
	zc_config_free(cfg);

	/* a level left out keeps the default */
	cfg = ok("root www; error_log err.log;");
	ck_assert_str_eq(cfg->error_log, tmppath("err.log"));
	ck_assert_int_eq(cfg->error_level, ZC_LOG_NOTICE);
	zc_config_free(cfg);
}
END_TEST

START_TEST(listen_forms)
{
	struct zc_config *cfg;
	const struct sockaddr_in *a4;
	const struct sockaddr_in6 *a6;

	ck_assert_int_eq(testcert_files(tmp, "c.pem", "k.pem", "localhost", NULL), 0);
	cfg = ok("root www;\n"
		 "listen 8081;\n"
		 "listen [::1]:8080;\n"
		 "listen [::]:443 tls;\n"
		 "listen [2001:DB8:0:0::1]:65535;\n"
		 "listen 10.0.0.1:1;\n"
		 "tls_certificate c.pem; tls_certificate_key k.pem;\n");
	a4 = (const struct sockaddr_in *)&cfg->listen[0].addr;
	a6 = (const struct sockaddr_in6 *)&cfg->listen[1].addr;

	ck_assert_int_eq(cfg->nlisten, 5);
	ck_assert_str_eq(cfg->listen[0].text, "0.0.0.0:8081");
	ck_assert_int_eq(a4->sin_family, AF_INET);
	ck_assert_uint_eq(a4->sin_addr.s_addr, htonl(INADDR_ANY));
	ck_assert_int_eq(ntohs(a4->sin_port), 8081);

	ck_assert_str_eq(cfg->listen[1].text, "[::1]:8080");
	ck_assert_int_eq(a6->sin6_family, AF_INET6);
	ck_assert_int_eq(cfg->listen[1].addrlen, sizeof(struct sockaddr_in6));
	ck_assert_int_eq(ntohs(a6->sin6_port), 8080);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr));

	a6 = (const struct sockaddr_in6 *)&cfg->listen[2].addr;
	ck_assert_str_eq(cfg->listen[2].text, "[::]:443");
	ck_assert(IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr));
	ck_assert_int_eq(cfg->listen[2].tls, 1);
	ck_assert_str_eq(cfg->listen[3].text, "[2001:db8::1]:65535");
	ck_assert_str_eq(cfg->listen[4].text, "10.0.0.1:1");
	zc_config_free(cfg);
}
END_TEST

START_TEST(quoting)
{
	struct zc_config *cfg;
	char w[PATH_MAX + 16];

	snprintf(w, sizeof w, "%s/my www", tmp);
	ck_assert_int_eq(mkdir(w, 0755), 0);
	cfg = ok("root \"my www\";\n"
		 "index 'it\\'s.html' \"a;b.html\" \"q\\\"\\\\.html\";\n"
		 "user 'x\"y';\n"
		 "default_type \"text/plain\";\n");
	ck_assert_str_eq(cfg->root, w);
	ck_assert_int_eq(cfg->nindex, 3);
	ck_assert_str_eq(cfg->index[0], "it's.html");
	ck_assert_str_eq(cfg->index[1], "a;b.html");
	ck_assert_str_eq(cfg->index[2], "q\"\\.html");
	ck_assert_str_eq(cfg->user, "x\"y");
	zc_config_free(cfg);
}
END_TEST

START_TEST(comments_and_layout)
{
	struct zc_config *cfg = ok("# leading comment\n"
				   "root www; # trailing comment\n"
				   "\n"
				   "index\n"
				   "\tfirst.html   # a comment inside a statement\n"
				   "\tsecond#not-a-comment.html\n"
				   ";workers 2;autoindex on ;\r\n"
				   "# last line without newline");

	ck_assert_int_eq(cfg->nindex, 2);
	ck_assert_str_eq(cfg->index[0], "first.html");
	ck_assert_str_eq(cfg->index[1], "second#not-a-comment.html");
	ck_assert_int_eq(cfg->workers, 2);
	ck_assert_int_eq(cfg->autoindex, 1);
	zc_config_free(cfg);
}
END_TEST

START_TEST(include_glob)
{
	struct zc_config *cfg;

	put("conf.d/10-workers.conf", "workers 3;\n");
	put("conf.d/20-paths.conf", "root ../www;\npid_file run/z.pid;\ninclude ../more/*.conf;\n");
	put("conf.d/ignored.txt", "this is not a config\n");
	put("more/a.conf", "listen 9001;\n");
	put("more/b.conf", "listen 9002;\n");
	cfg = ok("include conf.d/*.conf;\n"
		 "include empty.d/*.conf;\n"     /* a pattern may match nothing */
		 "listen 9000;\n");
	ck_assert_int_eq(cfg->workers, 3);
	ck_assert_str_eq(cfg->root, tmppath("www"));
	/* relative to the included file's directory, not the main one */
	ck_assert_str_eq(cfg->pid_file, tmppath("conf.d/run/z.pid"));
	ck_assert_int_eq(cfg->nlisten, 3);
	ck_assert_str_eq(cfg->listen[0].text, "0.0.0.0:9001");
	ck_assert_str_eq(cfg->listen[1].text, "0.0.0.0:9002");
	ck_assert_str_eq(cfg->listen[2].text, "0.0.0.0:9000");
	zc_config_free(cfg);
}
END_TEST

START_TEST(relative_paths)
{
	static const char text[] = "root ../www;\nmime_types mime.types;\n"
		"access_log logs/a.log;\nerror_log /abs/e.log;\npid_file ./zc.pid;\n";
	struct zc_config *cfg;
	char sub[PATH_MAX + 16];

	put("etc/mime.types", "text/x-a a\n");
	snprintf(sub, sizeof sub, "%s/etc", tmp);
	cfg = zc_config_parse("zc.conf", sub, text, strlen(text), err, sizeof err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->file, tmppath("etc/zc.conf"));
	ck_assert_str_eq(cfg->dir, sub);
	ck_assert_str_eq(cfg->root, tmppath("www"));      /* resolved: no ".." left */
	ck_assert_str_eq(cfg->mime_types, tmppath("etc/mime.types"));
	ck_assert_str_eq(cfg->access_log, tmppath("etc/logs/a.log"));
	ck_assert_str_eq(cfg->error_log, "/abs/e.log");
	ck_assert_str_eq(cfg->pid_file, tmppath("etc/./zc.pid"));
	zc_config_free(cfg);
}
END_TEST

START_TEST(load_file)
{
	struct zc_config *cfg;
	char path[PATH_MAX + 32], old[PATH_MAX];

	put("conf/zc.conf", "root ../www;\nstatus_path /s;\n");
	snprintf(path, sizeof path, "%s/conf/zc.conf", tmp);
	cfg = zc_config_load(path, err, sizeof err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->file, path);
	ck_assert_str_eq(cfg->dir, tmppath("conf"));
	ck_assert_str_eq(cfg->root, tmppath("www"));
	zc_config_free(cfg);

	/* a relative name is made absolute but kept as written in messages */
	ck_assert_ptr_nonnull(getcwd(old, sizeof old));
	ck_assert_int_eq(chdir(tmp), 0);
	cfg = zc_config_load("conf/zc.conf", err, sizeof err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->file, path);
	zc_config_free(cfg);
	put("conf/bad.conf", "root ../www;\nbogus;\n");
	ck_assert_ptr_null(zc_config_load("conf/bad.conf", err, sizeof err));
	ck_assert_str_eq(err, "conf/bad.conf:2: unknown directive \"bogus\"");
	ck_assert_ptr_null(zc_config_load("conf/none.conf", err, sizeof err));
	ck_assert_str_eq(err, "conf/none.conf: No such file or directory");
	ck_assert_ptr_null(zc_config_load("conf", err, sizeof err));
	ck_assert_str_eq(err, "conf: Is a directory");
	ck_assert_int_eq(chdir(old), 0);
}
END_TEST

/* ---- errors ---- */

START_TEST(err_unknown)
{
	fails("root www;\nworkers 2;\nlisen 8080;\n", "test.conf:3: unknown directive \"lisen\"");
	fails("root www;\nserver {\n", "test.conf:2: unexpected end of file: missing \";\" after \"server\"");
	fails("root www;\n\"\" x;\n", "test.conf:2: unknown directive \"\"");
}
END_TEST

START_TEST(err_arity)
{
	fails("root www;\nworkers;\n",
	      "test.conf:2: wrong number of arguments for \"workers\": got 0, expected 1");
	fails("root www;\nautoindex on off;\n",
	      "test.conf:2: wrong number of arguments for \"autoindex\": got 2, expected 1");
	fails("root www;\nlisten 80 tls extra;\n",
	      "test.conf:2: wrong number of arguments for \"listen\": got 3, expected 1 to 2");
	fails("root www;\nindex 1 2 3 4 5 6 7 8 9;\n",
	      "test.conf:2: wrong number of arguments for \"index\": got 9, expected 1 to 8");
	fails("root www;\nindex 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20;\n",
	      "test.conf:2: wrong number of arguments for \"index\": got 20, expected 1 to 8");
	/* a forgotten ';' swallows the next line */
	fails("root www\nworkers 2;\n", "test.conf:1: wrong number of arguments for \"root\": "
	      "got 3, expected 1 (missing \";\" on line 1?)");
	fails("root www;\n;\n", "test.conf:2: unexpected \";\"");
}
END_TEST

START_TEST(err_values)
{
	fails("root www;\nworkers abc;\n",
	      "test.conf:2: invalid value \"abc\" for \"workers\": expected auto or a number 1..1024");
	fails("root www;\nworkers 0;\n",
	      "test.conf:2: invalid value \"0\" for \"workers\": expected auto or a number 1..1024");
	fails("root www;\nworkers 1025;\n",
	      "test.conf:2: invalid value \"1025\" for \"workers\": expected auto or a number 1..1024");
	fails("root www;\nautoindex yes;\n",
	      "test.conf:2: invalid value \"yes\" for \"autoindex\": expected on or off");
	fails("root www;\nsymlinks on;\n",
	      "test.conf:2: invalid value \"on\" for \"symlinks\": expected inside or off");
	fails("root www;\nsend_strategy zerocopy;\n",
	      "test.conf:2: invalid value \"zerocopy\" for \"send_strategy\": expected auto, copy, "
	      "sendfile, mmap, splice, msg_zerocopy or send_zc");
	fails("root www;\nerror_log stderr loud;\n",
	      "test.conf:2: invalid value \"loud\" for \"error_log\": "
	      "expected debug, info, notice, warn, error or crit");
	fails("root www;\nerror_log off;\n",
	      "test.conf:2: invalid value \"off\" for \"error_log\": expected a file path or stderr");
	fails("root www;\nindex ../x.html;\n",
	      "test.conf:2: invalid value \"../x.html\" for \"index\": expected a file name without \"/\"");
	fails("root www;\nindex a.html '';\n",
	      "test.conf:2: invalid value \"\" for \"index\": expected a file name without \"/\"");
	fails("root www;\nstatus_path status;\n", "test.conf:2: invalid value \"status\" for "
	      "\"status_path\": expected an absolute path like /zcserve-status, or off");
	fails("root www;\nstatus_path /a/../b;\n", "test.conf:2: invalid value \"/a/../b\" for "
	      "\"status_path\": expected an absolute path like /zcserve-status, or off");
	fails("root www;\nmax_connections 0;\n",
	      "test.conf:2: invalid value \"0\" for \"max_connections\": expected a number 1..1048576");
	fails("root www;\nworker_rlimit_nofile 15;\n", "test.conf:2: invalid value \"15\" for "
	      "\"worker_rlimit_nofile\": expected a number 16..1048576");
	fails("root www;\nworker_rlimit_nofile 1048577;\n", "test.conf:2: invalid value \"1048577\" "
	      "for \"worker_rlimit_nofile\": expected a number 16..1048576");
	fails("root www;\nmax_ranges 1025;\n",
	      "test.conf:2: invalid value \"1025\" for \"max_ranges\": expected a number 1..1024");
	fails("root www;\nuser 'a b';\n",
	      "test.conf:2: invalid value \"a b\" for \"user\": expected a user name");
	fails("root www;\nroot '';\n", "test.conf:2: duplicate \"root\" directive");
	fails("root '';\n", "test.conf:1: invalid value \"\" for \"root\": expected a directory path");
}
END_TEST

/* Values that reach a response header must not smuggle CR/LF or spaces. */
START_TEST(err_header_injection)
{
	fails("root www;\ndefault_type \"text/html\\r\\nX: y\";\n",
	      "test.conf:2: invalid escape sequence in quoted string");
	fails("root www;\ndefault_type \"text/html\\nX: y\";\n",
	      "test.conf:2: invalid value \"text/html\nX: y\" for \"default_type\": "
	      "expected a media type like text/plain");
	fails("root www;\ndefault_type text;\n", "test.conf:2: invalid value \"text\" for "
	      "\"default_type\": expected a media type like text/plain");
	fails("root www;\ndefault_type a/b/c;\n", "test.conf:2: invalid value \"a/b/c\" for "
	      "\"default_type\": expected a media type like text/plain");
	fails("root www;\ncharset 'utf-8; x=y';\n", "test.conf:2: invalid value \"utf-8; x=y\" "
	      "for \"charset\": expected a charset name or off");
}
END_TEST

START_TEST(err_size_duration)
{
	fails("root www;\nmax_header_size 8q;\n",
	      "test.conf:2: invalid value \"8q\" for \"max_header_size\": expected a size 1k..1m");
	fails("root www;\nmax_header_size 512;\n",
	      "test.conf:2: invalid value \"512\" for \"max_header_size\": expected a size 1k..1m");
	fails("root www;\nmax_header_size 2m;\n",
	      "test.conf:2: invalid value \"2m\" for \"max_header_size\": expected a size 1k..1m");
	fails("root www;\nmax_body_size 20000000000g;\n",
	      "test.conf:2: invalid value \"20000000000g\" for \"max_body_size\": "
	      "expected a size like 0, 512k or 1m");
	fails("root www;\nkeepalive_timeout 10x;\n",
	      "test.conf:2: invalid value \"10x\" for \"keepalive_timeout\": "
	      "expected a duration like 10s, 500ms, 2m or 1h (at most 30 days)");
	fails("root www;\nsend_timeout 31d;\n",
	      "test.conf:2: invalid value \"31d\" for \"send_timeout\": "
	      "expected a duration like 10s, 500ms, 2m or 1h (not 0, at most 30 days)");
	fails("root www;\nheader_timeout 0;\n",
	      "test.conf:2: invalid value \"0\" for \"header_timeout\": "
	      "expected a duration like 10s, 500ms, 2m or 1h (not 0, at most 30 days)");
	fails("root www;\nshutdown_timeout 721h;\n",
	      "test.conf:2: invalid value \"721h\" for \"shutdown_timeout\": "
	      "expected a duration like 10s, 500ms, 2m or 1h (at most 30 days)");
}
END_TEST

START_TEST(err_listen)
{
	const char *bad[] = {
		"127.0.0.1:70000", "127.0.0.1:0", "0", "65536", "localhost:80", "127.0.0.1",
		"[::1]", "[::1]80", "::1:80", "[::1:80", "[zz]:80", "1.2.3:80", ":80", "*:",
		"127.0.0.1:+80", "127.0.0.1:80x", "[127.0.0.1]:80", "1.2.3.4.5:80",
	};
	char text[128], want[512];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, "root www;\nlisten %s;\n", bad[i]);
		snprintf(want, sizeof want, "test.conf:2: invalid value \"%s\" for \"listen\": "
			 "expected ADDR:PORT, *:PORT, [IPv6]:PORT or PORT, with PORT 1..65535", bad[i]);
		fails(text, want);
	}
	fails("root www;\nlisten 80 tsl;\n",
	      "test.conf:2: invalid value \"tsl\" for \"listen\": expected tls");
	fails("root www;\nlisten 80;\nlisten *:80;\n",
	      "test.conf:3: duplicate listen address \"0.0.0.0:80\"");
}
END_TEST

START_TEST(err_too_many_listen)
{
	char text[4096] = "root www;\n";

	for (int i = 0; i <= ZC_MAX_LISTEN; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text), "listen %d;\n", 1000 + i);
	fails(text, "test.conf:34: too many \"listen\" directives (at most 32)");
}
END_TEST

START_TEST(err_syntax)
{
	fails("root www;\nworkers 2", "test.conf:2: unexpected end of file: missing \";\" after \"workers\"");
	fails("root www;\nuser \"abc;\n\n\n", "test.conf:2: unterminated quoted string");
	fails("root www;\nuser 'abc\\';\n", "test.conf:2: unterminated quoted string");
	fails("root www;\nuser \"a\\qb\";\n", "test.conf:2: invalid escape sequence in quoted string");
	fails("root www;\nuser \"a\"b;\n", "test.conf:2: unexpected \"b\" after quoted string");
	fails("root www;\nuser a\001b;\n", "test.conf:2: unexpected control character 0x01");
	/* the line count survives newlines inside quotes */
	fails("root www;\naccess_log \"a\nb\";\nbad;\n", "test.conf:4: unknown directive \"bad\"");
}
END_TEST

START_TEST(err_nul_byte)
{
	static const char text[] = "root www;\nuser a\0b;\n";
	static const char quoted[] = "root www;\n\nuser \"a\0b\";\n";
	struct zc_config *cfg = zc_config_parse("test.conf", tmp, text, sizeof text - 1,
						err, sizeof err);

	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, "test.conf:2: unexpected control character 0x00");
	cfg = zc_config_parse("test.conf", tmp, quoted, sizeof quoted - 1, err, sizeof err);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, "test.conf:3: unexpected NUL byte");
}
END_TEST

START_TEST(err_duplicate)
{
	fails("root www;\nworkers 2;\nworkers 2;\n", "test.conf:3: duplicate \"workers\" directive");
	fails("root www;\nindex a;\nindex b;\n", "test.conf:3: duplicate \"index\" directive");
	put("inc.conf", "workers 1;\n");
	fails("root www;\nworkers 1;\ninclude inc.conf;\n",
	      "%T/inc.conf:1: duplicate \"workers\" directive");
}
END_TEST

START_TEST(err_root)
{
	fails("workers 2;\n", "test.conf: no root configured");
	fails("\nroot nothere;\n", "test.conf:2: root \"%T/nothere\": No such file or directory");
	put("file", "x");
	fails("workers 2;\nroot file;\n", "test.conf:2: root \"%T/file\": Not a directory");
	put("inc.conf", "\n\nroot /nonexistent-zc-root;\n");
	fails("include inc.conf;\n",
	      "%T/inc.conf:3: root \"/nonexistent-zc-root\": No such file or directory");
}
END_TEST

START_TEST(err_include)
{
	fails("root www;\ninclude nope.conf;\n",
	      "test.conf:2: include \"%T/nope.conf\": No such file or directory");
	fails("root www;\ninclude www;\n", "test.conf:2: include \"%T/www\": Is a directory");
	put("sub/inc.conf", "# included\nworkers 2;\nbogus on;\n");
	fails("root www;\ninclude sub/*.conf;\n", "%T/sub/inc.conf:3: unknown directive \"bogus\"");
	put("sub/semi.conf", "workers 2");
	fails("root www;\ninclude sub/semi.conf;\n",
	      "%T/sub/semi.conf:1: unexpected end of file: missing \";\" after \"workers\"");
	/* an include loop ends at the depth limit, not in a stack overflow */
	put("loop.conf", "include loop.conf;\n");
	fails("root www;\ninclude loop.conf;\n",
	      "%T/loop.conf:1: includes nested more than 16 deep: include loop?");
}
END_TEST

START_TEST(err_mime)
{
	/* can't open it: told at the directive */
	fails("root www;\nmime_types missing.types;\n",
	      "test.conf:2: mime_types: %T/missing.types: No such file or directory");
	put("inc.conf", "\n\nmime_types www;\n");
	fails("root www;\ninclude inc.conf;\n",
	      "%T/inc.conf:3: mime_types: %T/www: Is a directory");
	/* a bad line inside it: told at that line (the message is mime.c's) */
	put("bad.types", "text/plain txt\nnot-a-type x\n");
	ck_assert_ptr_null(parse("root www;\nmime_types bad.types;\n"));
	ck_assert_msg(!strncmp(err, tmppath("bad.types:2: "), strlen(tmppath("bad.types:2: "))),
		      "%s", err);
}
END_TEST

/* ---- the shipped conf/zcserve.conf ---- */

/* It must load as shipped, and each commented-out example ("# name ...;")
 * must be accepted on its own, so the file can't drift from the parser. */
START_TEST(shipped_config)
{
	const char *src = getenv("ZC_SRCDIR");
	char path[PATH_MAX], line[1024], text[1200];
	struct zc_config *cfg;
	int examples = 0;
	FILE *f;

	if (!src)
		return;         /* run outside "make check": nothing to find it by */
	snprintf(path, sizeof path, "%s/conf/zcserve.conf", src);
	cfg = zc_config_load(path, err, sizeof err);
	ck_assert_msg(cfg != NULL, "%s", err);
	zc_config_free(cfg);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (fgets(line, sizeof line, f)) {
		char name[64];
		size_t len = strcspn(line, "\n");
		line[len] = '\0';
		/* root would have to exist; mime_types names a system file */
		if (sscanf(line, "# %63[a-z_]", name) != 1 || len < 2 || line[len - 1] != ';' ||
		    !strcmp(name, "root") || !strcmp(name, "mime_types"))
			continue;
		snprintf(text, sizeof text, "root www;\n%s\n", line + 1);
		ck_assert_msg((cfg = parse(text)) != NULL, "example \"%s\": %s", line, err);
		zc_config_free(cfg);
		examples++;
	}
	fclose(f);
	ck_assert_int_ge(examples, 20);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *v = tcase_create("values"), *good = tcase_create("good"),
	      *bad = tcase_create("bad");

	tcase_add_test(v, sizes);
	tcase_add_test(v, durations);
	tcase_add_test(v, strategies);
	suite_add_tcase(s, v);

	tcase_add_checked_fixture(good, setup, teardown);
	tcase_add_test(good, defaults);
	tcase_add_test(good, every_directive);
	tcase_add_test(good, off_and_stderr);
	tcase_add_test(good, listen_forms);
	tcase_add_test(good, quoting);
	tcase_add_test(good, comments_and_layout);
	tcase_add_test(good, include_glob);
	tcase_add_test(good, relative_paths);
	tcase_add_test(good, load_file);
	tcase_add_test(good, shipped_config);
	suite_add_tcase(s, good);

	tcase_add_checked_fixture(bad, setup, teardown);
	tcase_add_test(bad, err_unknown);
	tcase_add_test(bad, err_arity);
	tcase_add_test(bad, err_values);
	tcase_add_test(bad, err_header_injection);
	tcase_add_test(bad, err_size_duration);
	tcase_add_test(bad, err_listen);
	tcase_add_test(bad, err_too_many_listen);
	tcase_add_test(bad, err_syntax);
	tcase_add_test(bad, err_nul_byte);
	tcase_add_test(bad, err_duplicate);
	tcase_add_test(bad, err_root);
	tcase_add_test(bad, err_include);
	tcase_add_test(bad, err_mime);
	suite_add_tcase(s, bad);
	return s;
}

CHECK_MAIN(config_suite)
