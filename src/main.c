/* main.c - command line, startup, signals, reload and shutdown.
 *
 * The main thread owns configuration and listening sockets; workers own
 * everything else. Signals are blocked in every thread and taken here
 * with sigwaitinfo(), so no handler ever runs inside a worker. */
#include "calibrate.h"
#include "config.h"
#include "listen.h"
#include "lease.h"
#include "log.h"
#include "privilege.h"
#include "probe.h"
#include "send.h"
#include "tls.h"
#include "worker.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define DEFAULT_CONF ZC_SYSCONFDIR "/zcserve/zcserve.conf"

struct listen_set {             /* per worker, parallel to cfg->listen[] */
	struct zc_lfd fd[ZC_MAX_LISTEN];
};

static struct zc_cfg *cur_cfg;
static struct listen_set *sets;
static const char *conf_path = DEFAULT_CONF;

static void usage(FILE *out)
{
	fprintf(out, "usage: zcserve [-htV] [-c file]\n"
		"  -c file  configuration file (default %s)\n"
		"  -t       test the configuration and exit\n"
		"  -V       print version and available send paths\n"
		"  --calibrate  measure the copy/zero-copy break-even, print the table\n"
		"  -h       this help\n", DEFAULT_CONF);
}

/* Errors go to stderr before the logs exist, and to the error log once
 * the server runs (a reload's FILE:LINE must reach the operator there). */
static struct zc_config *load(const char *path, int running)
{
	char err[1024];
	struct zc_config *c = zc_config_load(path, err, sizeof(err));
	if (!c && running)
		zc_log_error("%s", err);
	else if (!c)
		fprintf(stderr, "%s\n", err);
	return c;
}

static int worker_count(const struct zc_config *c)
{
	if (c->workers > 0)
		return c->workers;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

/* A listen error, told once: at start on stderr (and in the error log
 * when that is a file), on reload in the error log. */
static void listen_error(const struct zc_config *c, const char *err, int running)
{
	if (!running)
		fprintf(stderr, "%s: %s\n", c->file, err);
	if (running || (c->error_log && strcmp(c->error_log, "stderr")))
		zc_log_error("%s: %s", c->file, err);
}

/* A failed reload closes what build_sets opened so far (every fd before
 * worker w, address j) and keeps what it reused: a leaked socket would
 * hold its address, and the next reload's probe would find it in use. */
static void close_new(const struct zc_config *prev, const struct zc_config *next,
		      const struct listen_set *old, const struct listen_set *out, int w, int j)
{
	for (int v = 0; v <= w; v++) {
		for (int i = 0; i < (v < w ? next->nlisten : j); i++) {
			int reused = 0;
			for (int k = 0; prev && k < prev->nlisten; k++)
				reused |= out[v].fd[i].fd == old[v].fd[k].fd;
			if (!reused)
				close(out[v].fd[i].fd);
		}
	}
}

/* Listening fds for `next`, reusing those of `prev` for addresses present
 * in both, so a reload never closes a socket that keeps serving. A new
 * address is probed first (zc_listen_probe): a second instance must fail
 * to start rather than share the port with SO_REUSEPORT. */
static int build_sets(const struct zc_config *prev, const struct zc_config *next,
		      struct listen_set *old, struct listen_set *out, int nw, int running)
{
	char err[512];
	for (int w = 0; w < nw; w++) {
		for (int j = 0; j < next->nlisten; j++) {
			struct zc_lfd *lf = &out[w].fd[j];
			lf->fd = -1;
			lf->tls = next->listen[j].tls;
			for (int k = 0; prev && k < prev->nlisten; k++)
				if (!strcmp(prev->listen[k].text, next->listen[j].text) &&
				    prev->listen[k].tls == next->listen[j].tls)
					lf->fd = old[w].fd[k].fd;
			if (lf->fd >= 0)
				continue;
			if ((w == 0 && zc_listen_probe(&next->listen[j], err, sizeof(err)) < 0) ||
			    (lf->fd = zc_listen_socket(&next->listen[j], err, sizeof(err))) < 0) {
				listen_error(next, err, running);
				close_new(prev, next, old, out, w, j);
				return -1;
			}
		}
	}
	return 0;
}

static int write_pid(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "pid_file \"%s\": %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f);
}

/* fs.nr_open: the most RLIMIT_NOFILE may be (an unlimited hard limit
 * cannot be the soft one: setrlimit(2) EPERM above it). */
static rlim_t nr_open(void)
{
	unsigned long long v = 1048576;
	FILE *f = fopen("/proc/sys/fs/nr_open", "r");
	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 1048576;
		fclose(f);
	}
	return (rlim_t)v;
}

/* Descriptors: each connection and each cached file takes one, and the
 * usual soft limit of 1024 would refuse work at about a thousand
 * connections. Raise the soft limit to the hard one (what a service
 * manager's LimitNOFILE= sets), or set worker_rlimit_nofile as nginx
 * does; then tell the operator what the budget covers. */
static void set_nofile(const struct zc_config *c, int nw)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rlim_t max = rl.rlim_max == RLIM_INFINITY ? nr_open() : rl.rlim_max;
	struct rlimit want = { max, rl.rlim_max };
	if (c->worker_rlimit_nofile) {
		want.rlim_cur = (rlim_t)c->worker_rlimit_nofile;
		if (want.rlim_cur > max)
			want.rlim_max = want.rlim_cur;  /* needs CAP_SYS_RESOURCE */
	}
	if (setrlimit(RLIMIT_NOFILE, &want) < 0) {
		zc_log_warn("worker_rlimit_nofile %llu: %s; using the hard limit %llu",
			    (unsigned long long)want.rlim_cur, strerror(errno),
			    (unsigned long long)max);
		want.rlim_cur = max;
		want.rlim_max = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &want);
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	unsigned long long need = (unsigned long long)nw * (c->max_connections + ZC_FCACHE_MAX) + 64;
	if (rl.rlim_cur < need)
		zc_log_warn("descriptors: limit %llu, below the %llu that %d worker%s may use "
			    "(max_connections %u + %d cached files each); at the limit, idle "
			    "cached files are closed first, then connections wait in the backlog",
			    (unsigned long long)rl.rlim_cur, need, nw, nw == 1 ? "" : "s",
			    c->max_connections, ZC_FCACHE_MAX);
	else
		zc_log_notice("descriptors: limit %llu (%d worker%s: max_connections %u + %d "
			      "cached files each)", (unsigned long long)rl.rlim_cur, nw,
			      nw == 1 ? "" : "s", c->max_connections, ZC_FCACHE_MAX);
}

static void reload(void)
{
	struct zc_config *nc = load(conf_path, 1);
	if (!nc) {
		zc_log_error("reload failed, keeping the running configuration");
		return;
	}
	char err[1024];
	if (zc_log_configure(nc, err, sizeof(err)) < 0) {
		zc_log_error("%s; reload failed, keeping the running configuration", err);
		zc_config_free(nc);
		return;
	}
	int nw = zc_server.nworkers;
	if (worker_count(nc) != nw)
		zc_log_warn("reload: changing the number of workers needs a restart; keeping %d", nw);
	struct listen_set *ns = calloc((size_t)nw, sizeof(*ns));
	if (!ns || build_sets(cur_cfg->c, nc, sets, ns, nw, 1) < 0) {
		zc_log_error("reload failed, keeping the running configuration");
		free(ns);
		zc_config_free(nc);
		return;
	}
	if (nc->worker_rlimit_nofile != cur_cfg->c->worker_rlimit_nofile ||
	    nc->max_connections != cur_cfg->c->max_connections)
		set_nofile(nc, nw);
	struct zc_cfg *cfg = zc_cfg_new(nc);
	for (int w = 0; w < nw; w++)
		zc_worker_post_reload(&zc_server.workers[w], cfg, ns[w].fd, nc->nlisten);
	zc_cfg_release(cur_cfg);
	cur_cfg = cfg;
	free(sets);
	sets = ns;
	zc_log_notice("configuration reloaded from %s", conf_path);
}

static int serve(void)
{
	sigset_t set;
	sigemptyset(&set);
	int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&set, sigs[i]);
	for (;;) {
		int sig = sigwaitinfo(&set, NULL);
		if (sig == SIGHUP) {
			reload();
		} else if (sig == SIGUSR1) {
			zc_log_reopen();
		} else if (sig == SIGTERM || sig == SIGINT) {
			zc_log_notice("signal %d: stopping (grace %llu ms)", sig,
				      (unsigned long long)cur_cfg->c->shutdown_timeout_ms);
			break;
		}
	}
	for (int w = 0; w < zc_server.nworkers; w++)
		zc_worker_post_stop(&zc_server.workers[w]);
	for (int w = 0; w < zc_server.nworkers; w++)
		pthread_join(zc_server.workers[w].thread, NULL);
	zc_log_notice("stopped");
	return 0;
}

static struct zc_probe probe;

/* The break-even in force: zerocopy_min_size, or measured now. */
static void set_break_even(const struct zc_config *c)
{
	if (c->zerocopy_min_size) {
		zc_server.zc_min_size = c->zerocopy_min_size;
		zc_server.zc_min_size_source = "config";
		zc_log_notice("zero-copy break-even %llu bytes (configured)",
			      (unsigned long long)c->zerocopy_min_size);
		return;
	}
	struct zc_calib cal;
	int r = zc_calibrate(&cal);
	zc_server.zc_min_size_source = "measured";
	if (r < 0) {
		zc_server.zc_min_size = ZC_BREAK_EVEN_FALLBACK;
		zc_log_warn("break-even measurement failed (%s); using %d bytes", strerror(-r),
			    ZC_BREAK_EVEN_FALLBACK);
		return;
	}
	zc_server.zc_min_size = cal.break_even;
	for (int i = 0; i < cal.nrows; i++)
		zc_log_info("calibrate: %llu bytes: copy %.0f ns, sendfile %.0f ns, zero-copy %.0f ns",
			    (unsigned long long)cal.rows[i].size, cal.rows[i].copy_ns,
			    cal.rows[i].sendfile_ns, cal.rows[i].zerocopy_ns);
	zc_log_notice("zero-copy break-even measured: %llu bytes (zero-copy fixed cost %.0f ns; %.1f ms)",
		      (unsigned long long)cal.break_even, cal.zc_fixed_ns, cal.elapsed_ms);
}

static int start(struct zc_config *c)
{
	char err[1024];
	if (zc_log_configure(c, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		goto fail;
	}
	zc_probe_run(&probe);
	zc_server.probe = &probe;
	zc_tls_report_kernel(probe.ktls);
	set_break_even(c);
	int nw = worker_count(c);
	set_nofile(c, nw);
	sets = calloc((size_t)nw, sizeof(*sets));
	zc_server.workers = calloc((size_t)nw, sizeof(*zc_server.workers));
	if (!sets || !zc_server.workers || build_sets(NULL, c, NULL, sets, nw, 0) < 0)
		goto fail;
	if (c->pid_file && write_pid(c->pid_file) < 0)
		goto fail;
	if (c->user && zc_privilege_drop(c->user) < 0)
		goto fail;
	cur_cfg = zc_cfg_new(c);
	zc_server.start_ms = zc_now_ms();
	zc_server.nworkers = nw;
	for (int w = 0; w < nw; w++) {
		if (zc_worker_start(&zc_server.workers[w], w, cur_cfg, sets[w].fd, c->nlisten) < 0) {
			fprintf(stderr, "cannot start worker %d\n", w);
			return 1;
		}
	}
	zc_log_notice("zcserve %s started: %d worker%s, root %s", PACKAGE_VERSION, nw,
		      nw == 1 ? "" : "s", c->root);
	for (int j = 0; j < c->nlisten; j++)
		zc_log_notice("listening on %s", c->listen[j].text);
	int rc = serve();
	if (cur_cfg->c->pid_file)
		unlink(cur_cfg->c->pid_file);
	return rc;
fail:
	/* A start that fails (an address already served, a bad user, ...)
	 * still frees what it loaded: LeakSanitizer runs at this exit too. */
	free(sets);
	sets = NULL;
	free(zc_server.workers);
	zc_server.workers = NULL;
	zc_config_free(c);
	return 1;
}

int main(int argc, char **argv)
{
	int test = 0, opt;
	static const struct option longopts[] = {
		{ "calibrate", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	while ((opt = getopt_long(argc, argv, "c:thV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'C': {
			struct zc_calib cal;
			int r = zc_calibrate(&cal);
			if (r < 0) {
				fprintf(stderr, "calibration failed: %s\n", strerror(-r));
				return 1;
			}
			zc_calib_print(stdout, &cal);
			return 0;
		}
		case 'c': conf_path = optarg; break;
		case 't': test = 1; break;
		case 'V': {
			struct zc_probe p;
			zc_probe_run(&p);
			printf("zcserve %s\n", PACKAGE_VERSION);
			zc_send_print_paths(stdout, &p);
			zc_probe_print(stdout, &p);
			return 0;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	/* Block before any thread exists: every thread inherits the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	zc_lease_sigset(&set);  /* read by the workers' signalfds */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct zc_config *c = load(conf_path, 0);
	if (!c)
		return 1;
	if (test) {
		printf("configuration OK\n");
		zc_config_free(c);
		return 0;
	}
	return start(c);
}
