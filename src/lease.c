/* lease.c - taking and giving back read leases on served files, for the
 * file cache (see lease.h); the breaks are watched in lease_break.c. */
#include "lease.h"
#include "file.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

int zc_lease_signal(void)
{
	return SIGRTMIN + 2;
}

void zc_lease_sigset(sigset_t *set)
{
	sigaddset(set, zc_lease_signal());
	/* the kernel sends SIGIO instead when the real-time queue is full */
	sigaddset(set, SIGIO);
}

/* ---- taking and giving back (for the file cache) --------------------- */

/* After a break the lease is retaken this long after it was given back,
 * so that a writer that opens with O_NONBLOCK (and gets EAGAIN from a
 * held lease) gets its turn; meanwhile responses are copied. */
#define ZC_LEASE_RETRY_MS 2000

/* Take a read lease on fd. F_SETSIG before the lease so its break comes
 * as a queued real-time signal carrying the descriptor (si_fd), and
 * F_SETOWN_EX after it: taking a lease makes the whole process the owner,
 * and the break must reach the worker whose signalfd reads it (fcntl(2),
 * "Leases"; fs/locks.c). */
static enum zc_lease_state lease_fd(struct zc_fcache *fc, int fd, const char *key)
{
	struct f_owner_ex own = { .type = F_OWNER_TID, .pid = fc->lease_tid };
	if (fcntl(fd, F_SETSIG, fc->lease_sig) < 0 || fcntl(fd, F_SETLEASE, F_RDLCK) < 0) {
		if (errno == EAGAIN || errno == EBUSY) {
			fc->lease_busy++;
			return ZC_LEASE_BUSY;   /* someone has it open for writing */
		}
		if (!fc->lease_denied++)
			zc_log_warn("file_leases: cannot lease %s (%s): files changed in place "
				    "while being sent may reach clients with stale bytes",
				    key, strerror(errno));
		return ZC_LEASE_DENIED;
	}
	if (fcntl(fd, F_SETOWN_EX, &own) < 0) {
		fcntl(fd, F_SETLEASE, F_UNLCK);
		return ZC_LEASE_DENIED;
	}
	/* A break that came between F_SETLEASE and F_SETOWN_EX went to the
	 * process, not to us: a writer is opening the file right now. Nothing
	 * was sent under this lease yet, so give it back at once. */
	if (fcntl(fd, F_GETLEASE) != F_RDLCK) {
		fcntl(fd, F_SETLEASE, F_UNLCK);
		return ZC_LEASE_BUSY;
	}
	return ZC_LEASE_HELD;
}

enum zc_lease_state zc_lease_take(struct zc_fcache *fc, int fd, const char *key, mode_t mode)
{
	if (!fc->lease_on || !S_ISREG(mode))
		return ZC_LEASE_NONE;
	return lease_fd(fc, fd, key);
}

void zc_lease_set(struct zc_file *f, enum zc_lease_state st)
{
	struct zc_fcache *fc = f->fc;
	f->lease = st;
	if (st != ZC_LEASE_HELD)
		return;
	f->lease_prev = NULL;
	f->lease_next = fc->leased;
	if (fc->leased)
		fc->leased->lease_prev = f;
	fc->leased = f;
}

int zc_lease_retake(struct zc_file *f, uint64_t now_ms)
{
	struct zc_fcache *fc = f->fc;
	if (!fc->lease_on || f->lease == ZC_LEASE_HELD || f->lease == ZC_LEASE_DENIED ||
	    f->lease == ZC_LEASE_BREAKING || !S_ISREG(f->st.st_mode) || now_ms < f->lease_retry_ms)
		return 0;
	zc_lease_set(f, lease_fd(fc, f->fd, f->key));
	return f->lease == ZC_LEASE_HELD;
}

void zc_lease_forget(struct zc_file *f)
{
	if (f->lease_prev)
		f->lease_prev->lease_next = f->lease_next;
	else if (f->fc && f->fc->leased == f)
		f->fc->leased = f->lease_next;
	if (f->lease_next)
		f->lease_next->lease_prev = f->lease_prev;
	f->lease_prev = f->lease_next = NULL;
}

void zc_lease_release(struct zc_file *f)
{
	if (f->lease != ZC_LEASE_HELD && f->lease != ZC_LEASE_BREAKING)
		return;
	fcntl(f->fd, F_SETLEASE, F_UNLCK);
	zc_lease_forget(f);
	f->lease = ZC_LEASE_RELEASED;
	f->lease_retry_ms = zc_now_ms() + ZC_LEASE_RETRY_MS;
}

