/*-------------------------------------------------------------------------
 *
 * uid.h
 *	  Entity uids as SQL functions take them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_UID_H
#define GOV_UID_H

#define GOV_UID_MAX				256 /* bytes, terminator included */

/* Is uid a well-formed entity uid, Type::"id"? */
extern bool gov_valid_uid(const char *uid);

/* An action argument as a uid: x means Action::"x"; errors for bad ones. */
extern char *gov_normalize_action(const char *action);

/* what must be a uid of at most GOV_UID_MAX - 1 bytes, or an error */
extern void gov_check_uid(const char *what, const char *uid);

#endif							/* GOV_UID_H */
