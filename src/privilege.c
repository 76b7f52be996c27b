/* privilege.c - the user switch, keeping CAP_LEASE (see privilege.h). */
#include "privilege.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int keep_cap_begin(void)
{
	return prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
}

/* After setuid(): the permitted set survived (PR_SET_KEEPCAPS) but the
 * effective one was cleared. Keep CAP_LEASE alone, in both, if it was
 * permitted at all (a container may have withheld it); otherwise keep
 * nothing. Either way the result is read back: a server that dropped root
 * must never run on with any other capability. Returns 1 when CAP_LEASE
 * is kept, 0 when none is, -1 when the sets could not be cleared (the
 * caller must not go on). */
static int keep_cap_end(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	const unsigned w = CAP_LEASE / 32, bit = 1u << (CAP_LEASE % 32);
	memset(d, 0, sizeof(d));
	int had = syscall(SYS_capget, &h, d) == 0 && (d[w].permitted & bit);
	memset(d, 0, sizeof(d));
	if (had)
		d[w].permitted = d[w].effective = bit;
	if (syscall(SYS_capset, &h, d) < 0) {
		memset(d, 0, sizeof(d));
		had = 0;
		syscall(SYS_capset, &h, d);
	}
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	for (unsigned i = 0; i < 2; i++) {
		unsigned keep = i == w && had ? bit : 0;
		if ((d[i].permitted | d[i].effective | d[i].inheritable) & ~keep)
			return -1;
	}
	return had;
}

int zc_privilege_drop(const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		fprintf(stderr, "user \"%s\": no such user\n", user);
		return -1;
	}
	if (getuid() != 0)
		return 0;       /* not root: nothing to drop */
	/* CAP_LEASE is kept: leases on files that user does not own */
	if (setgroups(0, NULL) < 0 || initgroups(pw->pw_name, pw->pw_gid) < 0 ||
	    setgid(pw->pw_gid) < 0 || keep_cap_begin() < 0 || setuid(pw->pw_uid) < 0) {
		fprintf(stderr, "dropping privileges to \"%s\": %s\n", user, strerror(errno));
		return -1;
	}
	int kept = keep_cap_end();
	if (kept < 0) {
		fprintf(stderr, "dropping privileges to \"%s\": capabilities remain after setuid\n",
			user);
		return -1;
	}
	if (!kept)
		fprintf(stderr, "user \"%s\": CAP_LEASE is not permitted here; file leases need "
			"file ownership\n", user);
	return 0;
}
