/* privilege.h - dropping root for the configured `user`. */
#ifndef ZC_PRIVILEGE_H
#define ZC_PRIVILEGE_H

/* Switch to user (its groups, group and uid) when running as root,
 * keeping CAP_LEASE alone so that file leases work on files that user
 * does not own (lease.h). Not root: only checks that the user exists.
 * Returns 0, or -1 after telling why on stderr: the server must not start
 * (it would run as root, or with capabilities it should not have). */
int zc_privilege_drop(const char *user);

#endif
