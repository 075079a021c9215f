/*-------------------------------------------------------------------------
 *
 * gv_root.h
 *	  governance-verify root-keygen / root-seal / root-verify (gv_root.c,
 *	  docs/FORMAT.md section 19).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GV_ROOT_H
#define GV_ROOT_H

/* argv[1] is the root-* command; returns the exit status */
extern int	gv_root_main(int argc, char **argv);

#endif							/* GV_ROOT_H */
