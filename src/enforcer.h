/*-------------------------------------------------------------------------
 *
 * enforcer.h
 *	  The enforcer worker's duty.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_ENFORCER_H
#define GOV_ENFORCER_H

#include "utils/uuid.h"

/* gov_security_event() and its queue live in events.c */
#include "events.h"

extern void gov_enforcer_define_gucs(void);
extern void gov_enforcer_duty(void);

#endif							/* GOV_ENFORCER_H */
